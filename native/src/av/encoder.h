// Encode side: one encoder per output stream, chosen by name (libx264, libx265, libvpx-vp9,
// libaom-av1, libsvtav1, h264_nvenc, ... for video; aac, libopus, libmp3lame, flac, pcm_s16le for
// audio; mjpeg, png, libwebp for stills), opened from the settings the filter graph dictates.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "filter_graph.h"
#include "resources.h"

namespace fw::av {

using PacketSink = std::function<void(AVPacket*)>;

struct VideoEncodeSettings {
  std::string encoder = "libx264";
  int crf = 23;           // < 0: bitrate mode
  int bitrate_kbps = 0;   // used when crf < 0
  std::string preset = "medium";  // x264's preset name, for the encoders that take it (x264, x265, QSV)
  int speed = 5;                  // the preset's place, 0 (ultrafast) .. 8 (veryslow), for the others' knobs
  bool forced_keyframes = false;  // the caller marks frames as I; make them IDR/keyframes
  AVBufferRef* hw_device = nullptr;  // borrowed; for hardware encoders fed system-memory frames
  int quality = -1;  // libwebp_anim: lossy quality 0-100; -1: its default
  int threads = 0;   // 0: the encoder's own choice (x264: 1.5 per core)
};

struct AudioEncodeSettings {
  std::string encoder = "aac";
  int bitrate_kbps = 0;  // 0: the encoder's default (lossless encoders ignore it)
  int channels = 0;      // 0: the input's, capped at 2
  int sample_rate = 0;   // 0: the input's when the encoder supports it
};

class Encoder {
 public:
  // The pixel format a video encoder is fed (yuv420p where it takes it).
  static AVPixelFormat VideoPixelFormat(const std::string& encoder);

  // At the graph's output size, pixel format and time base. Throws kUnsupported when the encoder
  // is missing or will not open with these settings.
  static std::unique_ptr<Encoder> ForVideo(const FilterGraph& graph, AVRational frame_rate,
                                           const VideoEncodeSettings& settings, bool global_header);
  // The same, at a configured buffersink's size, format and time base (a composition's graph);
  // `pix_fmt`, where given, instead of the sink's format (a palette graph maps its own frames).
  static std::unique_ptr<Encoder> ForVideoSink(const AVFilterContext* sink, AVRational frame_rate,
                                               const VideoEncodeSettings& settings, bool global_header,
                                               AVPixelFormat pix_fmt = AV_PIX_FMT_NONE);

  static std::unique_ptr<Encoder> ForAudio(const AVCodecContext* decoder, const AudioEncodeSettings& settings,
                                           bool global_header);

  // The channel count and sample rate ForAudio will open the encoder with.
  struct AudioTarget {
    int channels;
    int sample_rate;
  };
  static AudioTarget AudioTargetFor(const AVCodecContext* decoder, const AudioEncodeSettings& settings);

  // A still-image encoder (mjpeg, png, libwebp) for pictures of this size and format.
  static std::unique_ptr<Encoder> ForImage(int width, int height, AVPixelFormat format, AVRational time_base,
                                           const std::string& encoder);
  static AVPixelFormat ImagePixelFormat(const std::string& encoder);

  const AVCodecContext* ctx() const { return ctx_.get(); }
  AVRational time_base() const { return ctx_->time_base; }

  // Encodes one frame whose pts is in `from` (nullptr drains the encoder at end of stream) and
  // hands every packet, in the encoder's time base, to sink. A frame whose pict_type is I on entry
  // is forced to be a keyframe; otherwise the encoder chooses.
  void Encode(AVFrame* frame, AVRational from, const PacketSink& sink);

 private:
  Encoder(const char* name, AVMediaType type);
  void Open(AVDictionary** options);

  const AVCodec* codec_ = nullptr;
  CodecContextPtr ctx_;
  PacketPtr packet_;
};

// Whether a named encoder opens with a tiny dummy configuration (used by capabilities()). With a
// device, the encoder is opened on it (hardware encoders). When it does not open and `why` is given,
// the reason goes there (FFmpeg's error text and its last log line).
bool EncoderOpens(const char* name, AVBufferRef* device = nullptr, std::string* why = nullptr);

}  // namespace fw::av
