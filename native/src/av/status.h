// Failures inside src/av: thrown as AvException within a run, caught at the public entry points
// (Probe, Transcode, Capabilities are noexcept) and handed back as a plain Failure value.
#pragma once

#include <atomic>
#include <exception>
#include <new>
#include <string>

namespace fw::av {

enum class ErrorCode {
  kNone,
  kInputUnreadable,
  kInputNoStreams,
  kUnsupported,
  kCanceled,
  kEngineFailure,
  kOutputWriteFailed,
};

// The stable code string shared with the TypeScript EngineErrorCode union.
const char* ErrorCodeName(ErrorCode code);

struct Failure {
  ErrorCode code = ErrorCode::kNone;
  std::string message;
  // FFmpeg's own words: av_strerror text, plus the last error line libav logged on this thread.
  std::string detail;

  bool ok() const { return code == ErrorCode::kNone; }
};

class AvException : public std::exception {
 public:
  explicit AvException(Failure failure) : failure_(std::move(failure)) {}
  const char* what() const noexcept override { return failure_.message.c_str(); }
  const Failure& failure() const { return failure_; }

 private:
  Failure failure_;
};

// av_strerror text for an AVERROR code.
std::string ErrorText(int averror);

// Throws AvException. With averror != 0 the message gets ": <av_strerror text>" appended and the
// detail carries the text plus the last logged error line.
[[noreturn]] void Fail(ErrorCode code, const std::string& message, int averror = 0);

// Runs fn, turning any exception into a Failure; by the time it returns, every RAII owner fn
// created has been destroyed. A canceled run always reports kCanceled, since libav reports an
// interrupted read or write as a plain I/O error.
template <typename Fn>
Failure Guard(const std::atomic<bool>* cancel, Fn&& fn) noexcept {
  Failure failure;
  try {
    fn();
  } catch (const AvException& e) {
    failure = e.failure();
  } catch (const std::bad_alloc&) {
    failure = Failure{ErrorCode::kEngineFailure, "out of memory", ""};
  } catch (const std::exception& e) {
    failure = Failure{ErrorCode::kEngineFailure, e.what(), ""};
  } catch (...) {
    failure = Failure{ErrorCode::kEngineFailure, "unknown native failure", ""};
  }
  if (!failure.ok() && cancel != nullptr && cancel->load()) {
    failure.code = ErrorCode::kCanceled;
    failure.message = "canceled";
  }
  return failure;
}

}  // namespace fw::av
