// The input's audio as one channel at a fixed rate, for the analyses that do their own DSP (tempo,
// key, highlights' pause finder) and for Chromaprint (s16 at 11025 Hz, resampled exactly as fpcalc
// resamples: swresample in chromaprint's "compatible mode").
#pragma once

#include <cstdint>
#include <vector>

#include "../resources.h"

namespace fw::av {

struct SwrDeleter {
  void operator()(SwrContext* swr) const { swr_free(&swr); }
};
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

class MonoResampler {
 public:
  enum class Mode { kFloat, kChromaprint };
  // From the decoder's sample format, rate and channel layout to mono at `rate`.
  MonoResampler(const AVCodecContext* decoder, int rate, Mode mode);

  // Converts one decoded frame (nullptr: drain the resampler's delay). Appends to `out` (kFloat) or
  // `out16` (kChromaprint); the other stays untouched.
  void Convert(const AVFrame* frame, std::vector<float>* out, std::vector<int16_t>* out16);

  int rate() const { return rate_; }

 private:
  SwrPtr swr_;
  int rate_;
  Mode mode_;
  int in_rate_;
  std::vector<uint8_t> buffer_;
};

}  // namespace fw::av
