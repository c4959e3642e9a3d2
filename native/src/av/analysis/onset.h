// A mono signal cut into overlapping Hann-windowed frames, one magnitude spectrum per hop: the
// framing shared by the tempo and key estimators.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "spectrum.h"

namespace fw::av {

class Framer {
 public:
  // `on_frame(magnitudes, hop_samples)` once per hop once `size` samples are in; `hop_samples`
  // are the hop's newest samples (for level measures).
  using FrameFn = std::function<void(const std::vector<float>& magnitudes, const float* hop, size_t hop_size)>;
  Framer(int size, int hop, FrameFn on_frame);
  void Push(const float* samples, size_t count);

 private:
  Spectrum spectrum_;
  int hop_;
  FrameFn on_frame_;
  std::vector<float> pending_;
  size_t start_ = 0;  // first unconsumed sample in pending_
  std::vector<float> magnitudes_;
};

}  // namespace fw::av
