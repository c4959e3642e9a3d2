#include "limiter.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "status.h"

namespace fw::av {
namespace {

constexpr int kPhases = 4;
constexpr int kTapsPerPhase = 12;
// Interpolated points come from up to this many samples back (the filter's group delay, rounded up).
constexpr int kPeakSpread = 8;
constexpr double kLookaheadSec = 0.005;
constexpr double kReleaseSec = 0.1;

// The 4x interpolation filter, split into its phases: a 48-tap Hann-windowed sinc cut at the input's
// Nyquist frequency, each phase normalized to unity gain at DC.
struct Interpolator {
  float taps[kPhases][kTapsPerPhase];
  Interpolator() {
    constexpr int n = kPhases * kTapsPerPhase;
    const double pi = std::acos(-1.0);
    for (int p = 0; p < kPhases; p++) {
      double sum = 0;
      double raw[kTapsPerPhase];
      for (int k = 0; k < kTapsPerPhase; k++) {
        int i = k * kPhases + p;
        double t = (i - (n - 1) / 2.0) / kPhases;
        double sinc = std::fabs(t) < 1e-9 ? 1.0 : std::sin(pi * t) / (pi * t);
        double window = 0.5 - 0.5 * std::cos(2 * pi * (i + 0.5) / n);
        raw[k] = sinc * window;
        sum += raw[k];
      }
      for (int k = 0; k < kTapsPerPhase; k++) taps[p][k] = static_cast<float>(raw[k] / sum);
    }
  }
};

const Interpolator& Filter() {
  static const Interpolator filter;
  return filter;
}

}  // namespace

TruePeakLimiter::TruePeakLimiter(int channels, int sample_rate, const AVChannelLayout& layout, double ceiling_dbtp)
    : channels_(channels),
      sample_rate_(sample_rate),
      ceiling_(std::pow(10.0, ceiling_dbtp / 20.0)),
      lookahead_(std::max(8, static_cast<int>(std::lround(kLookaheadSec * sample_rate)))),
      release_(1.0 - std::exp(-1.0 / (kReleaseSec * sample_rate))),
      history_(channels, std::vector<float>(kTapsPerPhase, 0.0f)),
      pending_(channels) {
  layout_ = {};
  if (av_channel_layout_copy(&layout_, &layout) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  latency_ = lookahead_ + kPeakSpread - 1;
  delay_.assign(static_cast<size_t>(latency_ + 1) * channels_, 0.0f);
  for (int i = 0; i < lookahead_; i++) smoothed_in_.push_back(1.0);
  smoothed_sum_ = lookahead_;
}

TruePeakLimiter::~TruePeakLimiter() { av_channel_layout_uninit(&layout_); }

// One input sample (all channels) in; possibly one output sample (all channels) out, `latency_`
// samples later.
void TruePeakLimiter::Step(const float* in, float* out, bool* produced) {
  const Interpolator& filter = Filter();
  double peak = 0;
  for (int c = 0; c < channels_; c++) {
    std::vector<float>& h = history_[c];
    h[history_pos_] = in[c];
    peak = std::max(peak, static_cast<double>(std::fabs(in[c])));
    for (int p = 0; p < kPhases; p++) {
      double acc = 0;
      for (int k = 0; k < kTapsPerPhase; k++) {
        int at = history_pos_ - k;
        if (at < 0) at += kTapsPerPhase;
        acc += filter.taps[p][k] * h[at];
      }
      peak = std::max(peak, std::fabs(acc));
    }
  }
  history_pos_ = (history_pos_ + 1) % kTapsPerPhase;
  double need = peak > ceiling_ ? ceiling_ / peak : 1.0;

  // Sliding minimum of the needed gain over the window [j, j + lookahead + spread).
  int64_t n = in_index_++;
  while (!window_min_.empty() && window_min_.back().second >= need) window_min_.pop_back();
  window_min_.emplace_back(n, need);
  int64_t window = lookahead_ + kPeakSpread;
  while (window_min_.front().first <= n - window) window_min_.pop_front();
  size_t ring = static_cast<size_t>(latency_ + 1);
  std::copy(in, in + channels_, delay_.begin() + static_cast<ptrdiff_t>((n % ring) * channels_));
  *produced = false;
  if (n < latency_) return;
  // Average the minima over the look-ahead: the gain glides down to each peak's gain in time.
  double h = window_min_.front().second;
  smoothed_sum_ += h - smoothed_in_.front();
  smoothed_in_.pop_front();
  smoothed_in_.push_back(h);
  double target = std::min(1.0, smoothed_sum_ / lookahead_);
  gain_ = target <= gain_ ? target : gain_ + (target - gain_) * release_;
  min_gain_ = std::min(min_gain_, gain_);
  const float* x = delay_.data() + ((n - latency_) % ring) * channels_;
  for (int c = 0; c < channels_; c++) out[c] = static_cast<float>(x[c] * gain_);
  *produced = true;
}

void TruePeakLimiter::Push(const AVFrame* frame, AVRational time_base, const std::function<void(AVFrame*)>& sink) {
  std::vector<float> in(channels_);
  std::vector<float> out(channels_);
  bool produced = false;
  auto collect = [&] {
    if (!produced) return;
    for (int c = 0; c < channels_; c++) pending_[c].push_back(out[c]);
  };
  if (frame != nullptr) {
    if (first_pts_ == AV_NOPTS_VALUE) first_pts_ = frame->pts != AV_NOPTS_VALUE ? frame->pts : 0;
    if (frame->ch_layout.nb_channels != channels_ || frame->format != AV_SAMPLE_FMT_FLTP) {
      Fail(ErrorCode::kEngineFailure, "the limiter was fed an unexpected audio format");
    }
    for (int i = 0; i < frame->nb_samples; i++) {
      for (int c = 0; c < channels_; c++) in[c] = reinterpret_cast<const float*>(frame->extended_data[c])[i];
      Step(in.data(), out.data(), &produced);
      collect();
    }
    Emit(time_base, sink);
    return;
  }
  // End of stream: push silence through to bring out the samples still held.
  std::fill(in.begin(), in.end(), 0.0f);
  int64_t held = std::min<int64_t>(latency_, in_index_);
  for (int64_t i = 0; i < held; i++) {
    Step(in.data(), out.data(), &produced);
    collect();
  }
  Emit(time_base, sink);
}

void TruePeakLimiter::Emit(AVRational time_base, const std::function<void(AVFrame*)>& sink) {
  size_t count = pending_.empty() ? 0 : pending_[0].size();
  if (count == 0) return;
  FramePtr frame = MakeFrame();
  frame->format = AV_SAMPLE_FMT_FLTP;
  frame->sample_rate = sample_rate_;
  frame->nb_samples = static_cast<int>(count);
  int ret = av_channel_layout_copy(&frame->ch_layout, &layout_);
  if (ret >= 0) ret = av_frame_get_buffer(frame.get(), 0);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not allocate a limiter frame", ret);
  for (int c = 0; c < channels_; c++) {
    std::copy(pending_[c].begin(), pending_[c].end(), reinterpret_cast<float*>(frame->extended_data[c]));
    pending_[c].clear();
  }
  frame->pts = first_pts_ + av_rescale_q(out_samples_, AVRational{1, sample_rate_}, time_base);
  out_samples_ += static_cast<int64_t>(count);
  sink(frame.get());
}

}  // namespace fw::av
