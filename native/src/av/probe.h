// Reads a file's container and stream facts (no decoding beyond what find_stream_info does).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace fw::av {

// Unknown numbers are 0 (counts, rates) or negative (durations, sizes).
struct StreamInfo {
  int index = 0;
  std::string type;  // video | audio | subtitle | data | other
  std::string codec;
  int width = 0;
  int height = 0;
  double fps = 0;
  int sample_rate = 0;
  int channels = 0;
  int64_t bit_rate = 0;
  double duration_sec = -1;
  int rotation = 0;          // clockwise degrees a player applies (display matrix)
  double sample_aspect_ratio = 0;  // 0 when unknown (square pixels assumed)
  std::string pixel_format;  // video
  std::string profile;       // codec profile name, e.g. "High"
  int level = 0;             // codec level as coded (H.264: 31 for 3.1)
  std::string sample_format; // audio
};

struct MediaInfo {
  std::string format_name;
  double duration_sec = -1;
  int64_t bit_rate = 0;
  int64_t size_bytes = -1;
  std::vector<StreamInfo> streams;
};

// kInputUnreadable when the file does not open as media.
Failure Probe(const std::string& path, MediaInfo* out) noexcept;

}  // namespace fw::av
