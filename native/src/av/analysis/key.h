// The musical key, our own DSP: a 12-bin chroma profile from the spectral peaks of 0.74 s frames
// (11025 Hz mono, 55 Hz–2 kHz, tuning estimated from the peaks themselves), matched against the 24
// major and minor key profiles of Krumhansl and Kessler (the Krumhansl–Schmuckler method): the key
// is the one whose profile correlates best.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "onset.h"

namespace fw::av {

struct KeyResult {
  int tonic = -1;  // 0 (C) .. 11 (B); -1: none (see reason)
  bool minor = false;
  double confidence = 0;
  std::array<double, 12> chroma{};  // C..B, largest 1
  std::string reason;
};

class KeyEstimator {
 public:
  static constexpr int kRate = 11025;
  KeyEstimator();
  void Push(const float* samples, size_t count) { framer_.Push(samples, count); }
  KeyResult Finish();

 private:
  void OnFrame(const std::vector<float>& magnitudes, const float* hop, size_t hop_size);

  Framer framer_;
  struct Partial {
    float pitch;   // MIDI pitch (fractional)
    float weight;  // amplitude
  };
  std::vector<Partial> partials_;
  double loudest_ = 0;  // largest peak amplitude seen
};

}  // namespace fw::av
