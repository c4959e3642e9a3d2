// Encode side: libx264 for video, FFmpeg's native aac for audio, opened from the settings the
// filter graph (video) or the input (audio) dictate.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "filter_graph.h"
#include "resources.h"

namespace fw::av {

using PacketSink = std::function<void(AVPacket*)>;

struct VideoEncodeSettings {
  int crf = 23;
  std::string preset = "medium";
};

class Encoder {
 public:
  // libx264 at the graph's output size, pixel format and time base. Throws kUnsupported when the
  // encoder is missing or will not open.
  static std::unique_ptr<Encoder> ForVideo(const FilterGraph& graph, AVRational frame_rate,
                                           const VideoEncodeSettings& settings, bool global_header);

  // aac at the input's sample rate when aac supports it (else 48 kHz), mono or stereo.
  static std::unique_ptr<Encoder> ForAudio(const AVCodecContext* decoder, int bitrate_kbps, bool global_header);

  const AVCodecContext* ctx() const { return ctx_.get(); }
  AVRational time_base() const { return ctx_->time_base; }

  // Encodes one frame whose pts is in `from` (nullptr drains the encoder at end of stream) and
  // hands every packet, in the encoder's time base, to sink.
  void Encode(AVFrame* frame, AVRational from, const PacketSink& sink);

 private:
  Encoder(const char* name, AVMediaType type);
  void Open(AVDictionary** options);

  const AVCodec* codec_ = nullptr;
  CodecContextPtr ctx_;
  PacketPtr packet_;
};

// Whether a named encoder opens with a tiny dummy configuration (used by capabilities()).
bool EncoderOpens(const char* name);

}  // namespace fw::av
