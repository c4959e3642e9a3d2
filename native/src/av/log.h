// Keeps libav quiet: nothing is printed; the last error-level line of each thread is kept so a
// failure can carry FFmpeg's own explanation as its detail.
#pragma once

#include <string>

namespace fw::av {

// Installs the log callback once per process (idempotent, thread-safe).
void InstallQuietLog();

// Returns and clears the last error line logged on the calling thread ("" if none).
std::string TakeLastLogLine();

}  // namespace fw::av
