// Decode side: one decoder per used input stream. Frames are handed to a sink that only borrows
// them for the call, so one decoded frame can feed several outputs' filter graphs.
#pragma once

#include <functional>

#include "resources.h"

namespace fw::av {

using FrameSink = std::function<void(AVFrame*)>;

class Decoder {
 public:
  // Throws kUnsupported when no decoder exists for the stream's codec or it will not open.
  Decoder(const AVFormatContext* format, AVStream* stream);

  const AVCodecContext* ctx() const { return ctx_.get(); }
  AVRational time_base() const { return time_base_; }
  AVRational frame_rate() const { return frame_rate_; }

  // Decodes one packet (nullptr drains the decoder at end of input). A corrupt packet is skipped,
  // as ffmpeg does, rather than failing the run, and damaged pictures are concealed (the decoder's
  // error concealment, corrupt frames still output) so a file with a few flipped bits keeps its
  // timeline. Past an error budget (more than kMaxDecodeErrors errors that are also more than half
  // of the packets) the input counts as damaged beyond use: kInputUnreadable, said at once rather
  // than after decoding the rest. Frame pts are best-effort timestamps in the stream's time base.
  void Decode(const AVPacket* packet, const FrameSink& sink);

  int64_t errors() const { return errors_; }

  // A decoded frame the run cannot use (damage that changed an audio frame's format, rate or
  // channels mid-stream): counted against the same error budget.
  void CountError();

 private:

  int64_t packets_ = 0;
  int64_t errors_ = 0;
  CodecContextPtr ctx_;
  FramePtr frame_;
  AVRational time_base_;
  AVRational frame_rate_{0, 1};
};

}  // namespace fw::av
