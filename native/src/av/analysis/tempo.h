// Tempo and beats of music, our own DSP (no library: aubio is GPL-3, essentia AGPL; both are
// incompatible with shipping inside an Apache-2.0 addon, and the method fits in one file):
//   1. onset strength: log-compressed spectral flux of 46 ms frames every 5.8 ms (11025 Hz mono);
//   2. periodicity: autocorrelation (a correlation coefficient: ~0 for noise) of the detrended onset
//      envelope over the asked tempo range, peaks weighted by a broad prior centred on 120 BPM (an
//      octave away costs ~30 %);
//   3. octave errors: a lag whose half also carries most of its autocorrelation is a subdivision
//      heard as the beat, so the faster tempo is taken (a 180 BPM click track has the same peaks at
//      90 and 60 BPM); above 160 BPM, pulses that alternate (stride piano's bass and chord) are
//      eighths, and the slower pulse is the beat, unless they are all alike (a metronome);
//   4. beats: dynamic-programming beat tracking (Ellis 2007) at that period over the stretch that
//      has sound, each beat refined to its onset peak;
//   5. tempo: the least-squares slope of beat time over beat number (1 % needs sub-frame precision,
//      which one lag cannot give).
// Speech, noise and silence have no autocorrelation peak that stands out: bpm is then withheld
// with the reason.
#pragma once

#include <string>
#include <vector>

#include "onset.h"

namespace fw::av {

struct TempoResult {
  double bpm = 0;  // <= 0: none (see reason)
  double confidence = 0;
  std::vector<double> beats_sec;
  std::string reason;
};

class TempoEstimator {
 public:
  static constexpr int kRate = 11025;
  TempoEstimator(double min_bpm, double max_bpm);
  // Mono samples at kRate, in order.
  void Push(const float* samples, size_t count) { framer_.Push(samples, count); }
  TempoResult Finish();

 private:
  void OnFrame(const std::vector<float>& magnitudes, const float* hop, size_t hop_size);

  double min_bpm_;
  double max_bpm_;
  Framer framer_;
  std::vector<float> previous_;  // log-compressed magnitudes of the previous frame
  std::vector<float> flux_;      // onset strength per frame
  std::vector<float> level_db_;  // level of each hop, dBFS
};

}  // namespace fw::av
