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
  std::string color_transfer;  // video: av_color_transfer_name, "" when unspecified
  std::string field_order;     // video: progressive | tt | bb | tb | bt, "" when unknown
  bool alpha = false;          // video: a pixel format with alpha, or WebM's alpha_mode
  bool attached_picture = false;  // video: cover art
  // Deep probe only: frame durations vary over the first packets; packets seen (capped).
  bool variable_frame_rate = false;
  int packets = -1;  // -1: not read
  // The container's tags and dispositions: an ISO 639 language ("und" and empty: unknown), a title
  // (commentary, director's cut, an angle), and whether players pick this track by default.
  std::string language;
  std::string title;
  bool is_default = false;
};

struct MediaInfo {
  std::string format_name;
  double duration_sec = -1;
  int64_t bit_rate = 0;
  int64_t size_bytes = -1;
  std::vector<StreamInfo> streams;
  bool image = false;  // read by an image demuxer (image2, *_pipe, gif, apng)
};

// kInputUnreadable when the file does not open as media. `deep` also reads the main video
// stream's first packets (up to ~10 s or kDeepPackets), for variable frame rate and animation.
Failure Probe(const std::string& path, MediaInfo* out, bool deep = false) noexcept;

}  // namespace fw::av
