#include "status.h"

#include <chrono>

#include "ffmpeg.h"
#include "log.h"

namespace fw::av {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone:
      return "OK";
    case ErrorCode::kInputUnreadable:
      return "INPUT_UNREADABLE";
    case ErrorCode::kInputNoStreams:
      return "INPUT_NO_STREAMS";
    case ErrorCode::kUnsupported:
      return "UNSUPPORTED";
    case ErrorCode::kCanceled:
      return "CANCELED";
    case ErrorCode::kEngineFailure:
      return "ENGINE_FAILURE";
    case ErrorCode::kOutputWriteFailed:
      return "OUTPUT_WRITE_FAILED";
    case ErrorCode::kStalled:
      return "STALLED";
    case ErrorCode::kWindowEmpty:
      return "WINDOW_EMPTY";
  }
  return "ENGINE_FAILURE";
}

namespace {
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

RunControl::RunControl(const std::atomic<bool>* cancel, int64_t stall_ms)
    : cancel_(cancel), stall_ms_(stall_ms), last_progress_ns_(NowNs()) {}

void RunControl::Touch() { last_progress_ns_.store(NowNs(), std::memory_order_relaxed); }

bool RunControl::Stalled() const {
  if (stalled_.load(std::memory_order_relaxed)) return true;
  if (stall_ms_ <= 0) return false;
  if (NowNs() - last_progress_ns_.load(std::memory_order_relaxed) < stall_ms_ * 1000000) return false;
  stalled_.store(true, std::memory_order_relaxed);
  return true;
}

std::string ErrorText(int averror) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  if (av_strerror(averror, buf, sizeof(buf)) < 0) return "error " + std::to_string(averror);
  return buf;
}

void Fail(ErrorCode code, const std::string& message, int averror) {
  Failure failure;
  failure.code = code;
  failure.message = message;
  std::string logged = TakeLastLogLine();
  if (averror != 0) {
    std::string text = ErrorText(averror);
    failure.message += ": " + text;
    failure.detail = text;
  }
  if (!logged.empty()) failure.detail += failure.detail.empty() ? logged : " (" + logged + ")";
  throw AvException(std::move(failure));
}

}  // namespace fw::av
