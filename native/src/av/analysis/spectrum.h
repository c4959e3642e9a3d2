// Magnitude spectra of Hann-windowed frames of a mono signal, over libavutil's FFT (av_tx).
#pragma once

#include <memory>
#include <vector>

extern "C" {
#include <libavutil/mem.h>
#include <libavutil/tx.h>
}

namespace fw::av {

class Spectrum {
 public:
  // `size` a power of two.
  explicit Spectrum(int size);
  ~Spectrum();
  Spectrum(const Spectrum&) = delete;
  Spectrum& operator=(const Spectrum&) = delete;

  int size() const { return size_; }
  // |X[k]| for k in 0..size/2 of samples[0..size) (windowed), scaled so that a full-scale sine
  // gives about 1 at its bin.
  void Magnitudes(const float* samples, std::vector<float>* magnitudes);

 private:
  int size_;
  AVTXContext* tx_ = nullptr;
  av_tx_fn fn_ = nullptr;
  std::vector<float> window_;
  // av_malloc'd: the FFT's SIMD code wants buffers aligned as av_malloc aligns them.
  AVComplexFloat* in_ = nullptr;
  AVComplexFloat* out_ = nullptr;
  float scale_ = 1;
};

}  // namespace fw::av
