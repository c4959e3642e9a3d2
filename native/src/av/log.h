// Keeps libav quiet: nothing is printed. The last error-level line of each thread is kept so a
// failure can carry FFmpeg's own explanation as its detail, and every warning and error line is
// collected (bounded) for the run's log, which the job's tenant can read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fw::av {

// Installs the log callback once per process (idempotent, thread-safe).
void InstallQuietLog();

// Returns and clears the last error line logged on the calling thread ("" if none).
std::string TakeLastLogLine();

struct LogLine {
  int64_t at_ms = 0;  // wall clock, milliseconds since the epoch
  bool error = false;  // error (or worse); otherwise a warning
  std::string text;
};

struct LogBatch {
  std::vector<LogLine> lines;
  int64_t dropped = 0;
};

// Returns and clears every warning and error line logged in this process since the last call,
// from any thread (codec threads included). Bounded: the first kLogHead and the last kLogTail
// lines are kept and the ones between are counted in `dropped`, so a flood of per-frame warnings
// neither grows memory nor hides the first warning or the final error. Lines are per process,
// not per run: a slot process runs one job at a time, which makes them the run's.
LogBatch TakeLogBatch();

}  // namespace fw::av
