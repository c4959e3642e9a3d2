// One input, decoded once, feeding every output's own filter graphs and encoders:
//   demux (InputFile) -> decode (Decoder) -> filter (FilterGraph) -> encode (Encoder) -> mux (OutputFile)
// After FFmpeg's doc/examples/transcode.c. Outputs share the decoders: each decoded frame is pushed
// (by reference, no copy) into every output's graph, which is what a `split` in one filtergraph
// would do. An HLS ladder is several outputs; thumbnails are image sinks on the same frames.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "status.h"
#include "subtitles.h"

namespace fw::av {

struct VideoSettings {
  std::string encoder = "libx264";
  std::string hw_device;  // "" (software), or the device type a hardware encoder runs on
  int max_width = 0;      // 0: unbounded
  int max_height = 0;
  int crf = 23;           // < 0: bitrate mode
  int bitrate_kbps = 0;
  std::string preset = "medium";  // an x264 preset name (x264 and x265 take it as it is)
  int speed = 5;                  // the preset's place, 0 (ultrafast) .. 8 (veryslow), for other encoders
  int fps_num = 0;                // 0: keep the input's
  int fps_den = 1;
  int crop_x = 0, crop_y = 0, crop_width = 0, crop_height = 0;  // crop_width 0: no crop
  bool auto_rotate = true;               // apply the input's display-matrix rotation
  double keyframe_interval_sec = 0;      // > 0: a keyframe at every multiple (HLS alignment)
  std::string watermark_path;            // "": none
  int watermark_corner = 0;              // 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right, 4 centre
  int watermark_margin = 0;
  double watermark_opacity = 1.0;
  double watermark_width_fraction = 0;
  // GIF: a palette computed for this output's frames (palettegen over a sample of the whole clip,
  // then PaletteMapper with ordered dithering), not a fixed one. The clip's frames wait until the
  // palette is known, so ForVideo bounds their memory.
  bool palette = false;
  int quality = -1;  // libwebp_anim: 0-100 (lossy quality); -1: the encoder's default
  // The input's video stream this output takes (its own decoder, shared by every output and
  // thumbnail set taking it); -1: the input's best video stream.
  int stream_index = -1;
  // Burned subtitles: an ASS script the caller wrote, rendered after scaling and the watermark.
  std::string subtitles_path;  // "": none
  std::string fonts_dir;
};

struct AudioSettings {
  bool copy = false;  // pass the input's packets through
  // The input's audio stream this output takes (its own decoder, shared by every output taking
  // it); -1: the input's best audio stream. Copy always passes the best stream through.
  int stream_index = -1;
  // Further input audio streams the output also carries, each its own output track encoded with
  // the same settings after the first (keeping every track); never normalized.
  std::vector<int> more_streams;
  // Instead: stream_index and more_streams averaged into one output track (amix, each of N at 1/N:
  // a mix cannot clip where no track does), in the widest track's layout at the highest rate among
  // them unless channels/sample_rate say otherwise; never normalized.
  bool mix = false;
  std::string encoder = "aac";
  int bitrate_kbps = 0;
  int channels = 0;
  int sample_rate = 0;
  double loudness_target_lufs = 0;  // < 0: two-pass normalization to this integrated loudness
  double ceiling_override_dbtp = 0;  // < 0: the limiter's ceiling (a second encode after an overshoot)
};

struct OutputSettings {
  std::string path;
  std::string container;  // a libavformat muxer name: mp4, mov, matroska, webm, mp3, ogg, flac, wav, hls
  double trim_start = 0;
  double trim_end = -1;  // < 0: to the end
  double hls_segment_sec = 0;
  std::string hls_segment_pattern;
  bool hls_fmp4 = false;            // CMAF segments (see OutputFile::Options)
  double timeline_offset_sec = 0;   // with hls_fmp4: where the shared timeline starts
  int loop = -1;  // gif/webp muxers: 1 loops forever, 0 plays once; -1: not an animation
  std::optional<VideoSettings> video;
  std::optional<AudioSettings> audio;
  std::vector<SubtitleTrackSettings> subtitle_tracks;  // cues on the output's timeline (after its trim)
};

struct ThumbnailSettings {
  std::string path_prefix;  // files are <prefix><index, 4 digits from 1>.<extension>
  std::string extension;    // jpg | png | webp
  std::string encoder;      // mjpeg | png | libwebp
  int max_width = 0;
  int max_height = 0;
  std::vector<double> at_sec;  // explicit times
  double every_sec = 0;        // > 0: one every N seconds from 0
  int count = 0;               // > 0: N evenly spaced (needs a known duration)
  int sprite_columns = 0;      // > 0: also a sprite sheet <prefix>sprite.<extension>, tiles in this many columns
  // One per scene (scdet cuts at scene_threshold), at the scene's most representative frame.
  bool scenes = false;
  double scene_threshold = 10;
  int stream_index = -1;  // the input's video stream the stills come from; -1: the best one
};

struct TranscodeSettings {
  std::string input_path;
  std::vector<OutputSettings> outputs;
  std::vector<ThumbnailSettings> thumbnails;
  std::vector<AnalysisSettings> analyses;  // each reads the whole input (no trim)
  std::vector<SubtitleExtractSettings> subtitles;  // input subtitle streams written as WebVTT (whole input)
  int64_t stall_timeout_ms = 0;  // 0: no watchdog
};

struct OutputReport {
  // Loudness normalization (set when normalized): the input's integrated loudness, the gain, the
  // written file's loudness and true peak read back, and whether the limiter had to act.
  double loudness_input_lufs = 0;
  double gain_db = 0;
  double loudness_output_lufs = 0;
  double true_peak_dbtp = 0;
  bool limited = false;
  double limiter_ceiling_dbtp = 0;  // the ceiling the gain and limiter aimed under
  std::string video_encoder;
  // What the written file must hold, from what was actually decoded (repaired timelines), for the
  // caller's post-write check: its duration (the trim window within the media) and its streams.
  double expected_duration_sec = -1;  // negative when nothing was placed
  bool expects_video = false;
  bool expects_audio = false;
  int64_t video_frames = 0;  // video packets written
};

struct ThumbnailReport {
  std::vector<std::string> files;
  std::vector<double> times_sec;
  std::string sprite;  // path of the sprite sheet, when asked for
  int tile_width = 0;
  int tile_height = 0;
};

struct TranscodeResult {
  std::vector<OutputReport> outputs;
  std::vector<ThumbnailReport> thumbnails;
  std::vector<AnalysisReport> analyses;
  std::vector<SubtitleExtractReport> subtitles;
};

// How far one output (or one thumbnail set) has got.
struct OutputProgress {
  int64_t frames = 0;        // video packets written (thumbnail sets: images written)
  double out_time_sec = 0;   // media time written, on the output's own timeline (trimmed: from 0)
  double duration_sec = -1;  // the duration this output will have (its trim window); negative when unknown
};

// Latest state of a run: one entry per output, thumbnail set, analysis and subtitle extraction, in
// settings order.
struct Progress {
  std::vector<OutputProgress> outputs;
  std::vector<OutputProgress> thumbnails;
  std::vector<OutputProgress> analyses;
  std::vector<OutputProgress> subtitles;
  double elapsed_sec = 0;  // wall-clock time since the run started
};

using ProgressFn = std::function<void(const Progress&)>;

// Runs on the calling thread until done, failed, canceled or stalled. `on_progress` is called on
// the same thread at most every ~200 ms. `cancel` is polled per packet and by every I/O call; once
// set the run stops and reports kCanceled. With a stall timeout, a run that reads or writes nothing
// for that long stops with kStalled. On any failure, partial single-file outputs are deleted
// (multi-file outputs live in folders the caller removes).
Failure Transcode(const TranscodeSettings& settings, const std::atomic<bool>& cancel,
                  const ProgressFn& on_progress, TranscodeResult* result) noexcept;

}  // namespace fw::av
