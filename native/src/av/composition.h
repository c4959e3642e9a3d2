// A composition: several inputs, each decoded once per run of clips that read it in order, feeding
// one filter graph whose nodes come from the TypeScript side (native/lib/composition-graph.ts) as
// filter names and option values. Every filter is created by name from an allowlist and every
// option set through AVOptions: no graph text is parsed, so no value can add a filter or an option.
// The graph is pulled from its sinks; the input whose source the graph asked for most is read next
// (FFmpeg's own scheduling), so only frames that are due are decoded and nothing piles up.
#pragma once

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "encoder.h"
#include "status.h"
#include "transcode.h"

namespace fw::av {

struct ComposeInstance {
  std::string path;
  bool video = false;
  bool audio = false;
  double seek_sec = 0;  // > 0: seek to the keyframe at or before this first
  double end_sec = -1;  // >= 0: stop reading once both streams are past it
};

struct ComposeNode {
  std::string id;
  std::string filter;
  std::vector<std::pair<std::string, std::string>> options;
  // "src:<instance>:v|a", "<node id>" (pad 0) or "<node id>#<pad>".
  std::vector<std::string> inputs;
};

struct ComposeSettings {
  std::vector<ComposeInstance> instances;
  std::vector<ComposeNode> nodes;
  std::string video_out;
  std::string audio_out;  // "": no audio
  std::string path;
  std::string container;  // libavformat muxer name
  VideoEncodeSettings video;
  AudioEncodeSettings audio;
  int channels = 2;
  int sample_rate = 48000;
  int fps_num = 30;
  int fps_den = 1;
  double duration_sec = 0;
  int64_t stall_timeout_ms = 0;
};

struct ComposeResult {
  std::string video_encoder;
  double video_sec = 0;  // media time written
  int64_t frames = 0;
};

// Runs on the calling thread; progress (one output) at most every ~200 ms. The output file is
// deleted on failure. noexcept: failures come back as the Failure.
Failure Compose(const ComposeSettings& settings, const std::atomic<bool>& cancel, const ProgressFn& on_progress,
                ComposeResult* result) noexcept;

// Whether a filter name may appear in a composition graph.
bool ComposeFilterAllowed(const std::string& name);

}  // namespace fw::av
