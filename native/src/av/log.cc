#include "log.h"

#include <chrono>
#include <cstdarg>
#include <deque>
#include <mutex>

#include "ffmpeg.h"

namespace fw::av {
namespace {

constexpr size_t kLogHead = 100;
constexpr size_t kLogTail = 100;
constexpr size_t kLineChars = 1000;

// libav logs from whichever thread does the work (demux/mux on the run's worker thread, codec
// threads for some decoders). Thread-local storage keeps concurrent runs from mixing lines.
thread_local std::string last_line;

// The process's collected lines (see TakeLogBatch): written from any libav thread.
std::mutex batch_mutex;
std::vector<LogLine> head;
std::deque<LogLine> tail;
int64_t dropped = 0;

void Collect(bool error, const std::string& text) {
  LogLine line;
  line.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  line.error = error;
  line.text = text.size() > kLineChars ? text.substr(0, kLineChars) : text;
  std::lock_guard<std::mutex> lock(batch_mutex);
  if (head.size() < kLogHead) {
    head.push_back(std::move(line));
    return;
  }
  tail.push_back(std::move(line));
  if (tail.size() > kLogTail) {
    tail.pop_front();
    dropped++;
  }
}

void QuietLogCallback(void* avcl, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_WARNING) return;
  char line[1024];
  // No libav prefix: it carries the context's heap address, noise in a job's error detail.
  int print_prefix = 0;
  va_list copy;
  va_copy(copy, args);
  av_log_format_line2(avcl, level, fmt, copy, line, sizeof(line), &print_prefix);
  va_end(copy);
  std::string text(line);
  const AVClass* cls = avcl != nullptr ? *static_cast<const AVClass* const*>(avcl) : nullptr;
  if (cls != nullptr && cls->item_name != nullptr) text = std::string(cls->item_name(avcl)) + ": " + text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return;
  Collect(level <= AV_LOG_ERROR, text);
  if (level <= AV_LOG_ERROR) last_line = std::move(text);
}

}  // namespace

void InstallQuietLog() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(QuietLogCallback);
  });
}

std::string TakeLastLogLine() {
  std::string line;
  line.swap(last_line);
  return line;
}

LogBatch TakeLogBatch() {
  LogBatch batch;
  std::lock_guard<std::mutex> lock(batch_mutex);
  batch.lines.swap(head);
  batch.lines.insert(batch.lines.end(), std::make_move_iterator(tail.begin()), std::make_move_iterator(tail.end()));
  tail.clear();
  batch.dropped = dropped;
  dropped = 0;
  return batch;
}

}  // namespace fw::av
