// A look-ahead true-peak limiter for loudness normalization's second pass (what loudnorm's dynamic
// mode, broadcast tools and MediaConvert do where a static gain alone would clip): the gain is
// lowered ahead of every inter-sample peak that would pass the ceiling and recovers smoothly after.
//
// Peaks are measured as true peaks: each channel is interpolated at 4x (a 48-tap windowed-sinc
// polyphase filter, as ITU-R BS.1770's true-peak meter does) and the largest absolute value over
// the channels sets the gain needed at that instant. The gain curve is the minimum of the needed
// gain over a look-ahead window, averaged over that same window (so it reaches every peak's gain by
// the time the peak arrives, never steps), then released with a 100 ms time constant. Channels are
// linked (one gain for all), so the stereo image does not move.
//
// Works on planar float (fltp) frames of any size; the output has exactly the input's samples and
// timestamps (the look-ahead delay is absorbed inside).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "resources.h"

namespace fw::av {

class TruePeakLimiter {
 public:
  // `ceiling_dbtp`: the highest true peak let through (dBTP).
  TruePeakLimiter(int channels, int sample_rate, const AVChannelLayout& layout, double ceiling_dbtp);
  ~TruePeakLimiter();
  TruePeakLimiter(const TruePeakLimiter&) = delete;
  TruePeakLimiter& operator=(const TruePeakLimiter&) = delete;

  // One fltp frame in (nullptr: end of stream, flushes what is held); limited frames out to sink,
  // with pts in `time_base` continuing from the first frame's.
  void Push(const AVFrame* frame, AVRational time_base, const std::function<void(AVFrame*)>& sink);

  // Whether the gain ever went below 1 (limiting happened).
  bool limited() const { return min_gain_ < 0.9999; }

 private:
  void Step(const float* in, float* out, bool* produced);
  void Emit(AVRational time_base, const std::function<void(AVFrame*)>& sink);

  int channels_;
  int sample_rate_;
  AVChannelLayout layout_;
  double ceiling_;
  int lookahead_;        // samples
  int latency_;          // samples from input to output
  double release_;       // per-sample release coefficient
  std::vector<std::vector<float>> history_;  // per channel, the last kTaps samples (FIR state)
  int history_pos_ = 0;
  std::vector<float> delay_;  // ring of latency_ + 1 samples (interleaved) waiting for their gain
  std::deque<std::pair<int64_t, double>> window_min_;  // monotonic deque over needed gains
  std::deque<double> smoothed_in_;           // the last lookahead_ window minima (for the average)
  double smoothed_sum_ = 0;
  double gain_ = 1.0;
  double min_gain_ = 1.0;
  int64_t in_index_ = 0;
  int64_t first_pts_ = AV_NOPTS_VALUE;
  int64_t out_samples_ = 0;
  std::vector<std::vector<float>> pending_;  // output samples not yet framed, per channel
};

}  // namespace fw::av
