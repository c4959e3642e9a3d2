// Failures inside src/av: thrown as AvException within a run, caught at the public entry points
// (Probe, Transcode, Capabilities are noexcept) and handed back as a plain Failure value.
#pragma once

#include <atomic>
#include <cstdint>
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
  kStalled,
  kWindowEmpty,  // an output's window starts after the media's end
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

// What may stop a run from outside: the caller's cancel flag and the no-progress watchdog. Polled
// per packet by the run and by libav's interrupt callback during blocking I/O; shared between the
// worker thread (Touch, Stalled) and nothing else, except `cancel`, which the JS thread sets.
class RunControl {
 public:
  // `cancel` may be null and must outlive this object; stall_ms <= 0 disables the watchdog.
  RunControl(const std::atomic<bool>* cancel, int64_t stall_ms);

  // Records that the run made progress (a packet read or written).
  void Touch();
  bool Canceled() const { return cancel_ != nullptr && cancel_->load(std::memory_order_relaxed); }
  // True once no progress was recorded for stall_ms; stays true (latched) so every later check
  // and the final error agree.
  bool Stalled() const;
  bool ShouldStop() const { return Canceled() || Stalled(); }
  int64_t stall_ms() const { return stall_ms_; }

 private:
  const std::atomic<bool>* cancel_;
  int64_t stall_ms_;
  std::atomic<int64_t> last_progress_ns_;
  mutable std::atomic<bool> stalled_{false};
};

// Runs fn, turning any exception into a Failure; by the time it returns, every RAII owner fn
// created has been destroyed. A canceled or stalled run always reports kCanceled or kStalled,
// since libav reports an interrupted read or write as a plain I/O error.
template <typename Fn>
Failure Guard(const RunControl* control, Fn&& fn) noexcept {
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
  if (!failure.ok() && control != nullptr && control->Canceled()) {
    failure.code = ErrorCode::kCanceled;
    failure.message = "canceled";
  } else if (!failure.ok() && control != nullptr && control->Stalled()) {
    failure.code = ErrorCode::kStalled;
    failure.message = "no progress for " + std::to_string(control->stall_ms()) + " ms: the run was stopped";
  }
  return failure;
}

}  // namespace fw::av
