#include "spectrum.h"

#include <cmath>

#include "../status.h"

namespace fw::av {

Spectrum::Spectrum(int size) : size_(size), window_(static_cast<size_t>(size)) {
  in_ = static_cast<AVComplexFloat*>(av_malloc(sizeof(AVComplexFloat) * static_cast<size_t>(size)));
  out_ = static_cast<AVComplexFloat*>(av_malloc(sizeof(AVComplexFloat) * static_cast<size_t>(size)));
  if (in_ == nullptr || out_ == nullptr) {
    av_freep(&in_);
    av_freep(&out_);
    Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  }
  float unit = 1.0f;
  int ret = av_tx_init(&tx_, &fn_, AV_TX_FLOAT_FFT, 0, size, &unit, 0);
  if (ret < 0) {
    av_freep(&in_);
    av_freep(&out_);
  }
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not set up an FFT", ret);
  double sum = 0;
  for (int i = 0; i < size; i++) {
    window_[static_cast<size_t>(i)] = static_cast<float>(0.5 - 0.5 * std::cos(2 * M_PI * i / size));
    sum += window_[static_cast<size_t>(i)];
  }
  scale_ = static_cast<float>(2.0 / sum);
}

Spectrum::~Spectrum() {
  av_tx_uninit(&tx_);
  av_freep(&in_);
  av_freep(&out_);
}

void Spectrum::Magnitudes(const float* samples, std::vector<float>* magnitudes) {
  for (int i = 0; i < size_; i++) {
    in_[i].re = samples[i] * window_[static_cast<size_t>(i)];
    in_[i].im = 0;
  }
  fn_(tx_, out_, in_, sizeof(AVComplexFloat));
  magnitudes->resize(static_cast<size_t>(size_ / 2 + 1));
  for (int k = 0; k <= size_ / 2; k++) {
    const AVComplexFloat& c = out_[k];
    (*magnitudes)[static_cast<size_t>(k)] = std::sqrt(c.re * c.re + c.im * c.im) * scale_;
  }
}

}  // namespace fw::av
