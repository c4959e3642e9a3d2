// One input, decoded once, feeding each output's own filter graphs and encoders:
//   demux (InputFile) -> decode (Decoder) -> filter (FilterGraph) -> encode (Encoder) -> mux (OutputFile)
// After FFmpeg's doc/examples/transcode.c. Several outputs share the decoders (each decoded frame
// is pushed into every output's graph), so fan-out to several renditions needs no restructuring.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "status.h"

namespace fw::av {

struct VideoSettings {
  int height = 0;  // even
  int crf = 23;
  std::string preset;  // an x264 preset name
};

struct AudioSettings {
  int bitrate_kbps = 128;
};

struct OutputSettings {
  std::string path;
  std::string container;  // a libavformat muxer name, e.g. "mp4"
  std::optional<VideoSettings> video;
  std::optional<AudioSettings> audio;
};

struct TranscodeSettings {
  std::string input_path;
  std::vector<OutputSettings> outputs;
};

// Latest state of a run, as seen on the first output.
struct Progress {
  int64_t frames = 0;         // video packets written
  double out_time_sec = 0;    // media time written
  double duration_sec = -1;   // input duration; negative when unknown
  double fps = 0;             // frames per wall-clock second
  double speed = 0;           // media seconds per wall-clock second
};

using ProgressFn = std::function<void(const Progress&)>;

// Runs on the calling thread until done, failed or canceled. `on_progress` is called on the same
// thread at most every ~200 ms. `cancel` is polled per packet and by every I/O call; once set the
// run stops and reports kCanceled. On any failure, partial outputs are deleted.
Failure Transcode(const TranscodeSettings& settings, const std::atomic<bool>& cancel,
                  const ProgressFn& on_progress) noexcept;

}  // namespace fw::av
