#include "status.h"

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
  }
  return "ENGINE_FAILURE";
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
