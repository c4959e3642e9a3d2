#include "log.h"

#include <cstdarg>
#include <mutex>

#include "ffmpeg.h"

namespace fw::av {
namespace {

// libav logs from whichever thread does the work (demux/mux on the run's worker thread, codec
// threads for some decoders). Thread-local storage keeps concurrent runs from mixing lines.
thread_local std::string last_line;

void QuietLogCallback(void* avcl, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_ERROR) return;
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
  if (!text.empty()) last_line = std::move(text);
}

}  // namespace

void InstallQuietLog() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(QuietLogCallback);
  });
}

std::string TakeLastLogLine() {
  std::string line;
  line.swap(last_line);
  return line;
}

}  // namespace fw::av
