#include "tempo.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fw::av {
namespace {

constexpr int kFrameSize = 512;  // 46 ms at 11025 Hz
constexpr int kHop = 64;         // 5.8 ms: 172 onset values a second
constexpr double kFps = static_cast<double>(TempoEstimator::kRate) / kHop;
constexpr int kMaxBin = 232;  // ~5 kHz: kicks, snares, hats' lower partials, note attacks
constexpr double kSilentDb = -55;  // hops under this are not "sound" (leading/trailing silence)
constexpr double kPriorCentreBpm = 120;
constexpr double kPriorOctaves = 1.2;  // a broad prior: a factor of 2 from the centre costs ~30 %
constexpr double kSubdivisionShare = 0.7;  // half a lag with this share of its peak is the beat itself
constexpr double kFastBpm = 160;      // above this, an alternating fast pulse is read as eighths...
constexpr double kSlowerShare = 0.6;  // ...when twice its lag holds this share of its peak...
constexpr double kUniformShare = 0.9;  // ...but not this much (identical pulses: a metronome)
constexpr double kMinPeriodicity = 0.2;    // under this the envelope has no steady beat
constexpr double kTightness = 100;          // Ellis' DP: how strongly beats keep to the period
// The flux of a frame centred at t peaks while an onset is still entering its window: measured on
// click tracks and drum loops, 12 ms before the onset itself.
constexpr double kOnsetLatencySec = 0.012;

double Prior(double bpm) {
  double octaves = std::log2(bpm / kPriorCentreBpm) / kPriorOctaves;
  return std::exp(-0.5 * octaves * octaves);
}

// Value and refined position of the local maximum of r nearest `lag` within ±`span` lags.
struct Peak {
  double lag = 0;
  double value = 0;
};
Peak PeakNear(const std::vector<double>& r, double lag, double span) {
  int lo = std::max(1, static_cast<int>(std::floor(lag - span)));
  int hi = std::min(static_cast<int>(r.size()) - 2, static_cast<int>(std::ceil(lag + span)));
  Peak best;
  for (int l = lo; l <= hi; l++) {
    if (r[l] > best.value || best.lag == 0) best = Peak{static_cast<double>(l), r[l]};
  }
  int l = static_cast<int>(best.lag);
  if (l > 0 && l + 1 < static_cast<int>(r.size())) {
    double a = r[l - 1], b = r[l], c = r[l + 1];
    double denom = a - 2 * b + c;
    if (denom < 0) {
      double delta = 0.5 * (a - c) / denom;
      if (std::fabs(delta) <= 0.5) {
        best.lag = l + delta;
        best.value = b - 0.25 * (a - c) * delta;
      }
    }
  }
  return best;
}

}  // namespace

TempoEstimator::TempoEstimator(double min_bpm, double max_bpm)
    : min_bpm_(min_bpm),
      max_bpm_(max_bpm),
      framer_(kFrameSize, kHop, [this](const std::vector<float>& m, const float* hop, size_t n) { OnFrame(m, hop, n); }) {}

void TempoEstimator::OnFrame(const std::vector<float>& magnitudes, const float* hop, size_t hop_size) {
  size_t bins = std::min<size_t>(kMaxBin, magnitudes.size());
  if (previous_.size() != bins) previous_.assign(bins, 0.0f);
  double flux = 0;
  for (size_t k = 1; k < bins; k++) {
    float compressed = std::log1p(1000.0f * magnitudes[k]);
    float rise = compressed - previous_[k];
    if (rise > 0) flux += rise;
    previous_[k] = compressed;
  }
  flux_.push_back(static_cast<float>(flux));
  double energy = 0;
  for (size_t i = 0; i < hop_size; i++) energy += static_cast<double>(hop[i]) * hop[i];
  double rms = std::sqrt(energy / std::max<size_t>(1, hop_size));
  level_db_.push_back(static_cast<float>(rms > 1e-9 ? 20 * std::log10(rms) : -180));
}

TempoResult TempoEstimator::Finish() {
  TempoResult result;
  size_t n = flux_.size();
  // The stretch with sound: leading and trailing silence take no part (and get no beats).
  size_t first = 0;
  while (first < n && level_db_[first] < kSilentDb) first++;
  size_t last = n;
  while (last > first && level_db_[last - 1] < kSilentDb) last--;
  if (first >= last) {
    result.reason = "no beat: the audio is silent";
    return result;
  }
  size_t length = last - first;
  if (length < static_cast<size_t>(4 * kFps)) {
    result.reason = "too short to find a beat (under 4 s of sound)";
    return result;
  }

  // Detrended onset envelope: what rises above its own half-second neighbourhood.
  std::vector<double> onset(length);
  std::vector<double> strength(length);  // for the beat tracker: rectified, in units of its deviation
  {
    size_t half = static_cast<size_t>(0.25 * kFps);
    std::vector<double> prefix(length + 1, 0);
    for (size_t t = 0; t < length; t++) prefix[t + 1] = prefix[t] + flux_[first + t];
    for (size_t t = 0; t < length; t++) {
      size_t lo = t > half ? t - half : 0;
      size_t hi = std::min(length, t + half + 1);
      double mean = (prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo);
      onset[t] = std::max(0.0, flux_[first + t] - mean);
    }
    // Zero mean and unit variance: the autocorrelation is then a correlation coefficient, ~0 for
    // noise at every lag and ~1 for a metronome at its period.
    double mean = std::accumulate(onset.begin(), onset.end(), 0.0) / static_cast<double>(length);
    double var = 0;
    for (double v : onset) var += (v - mean) * (v - mean);
    double sd = std::sqrt(var / static_cast<double>(length));
    if (!(sd > 1e-9)) {
      result.reason = "no beat: the audio has no onsets";
      return result;
    }
    for (size_t t = 0; t < length; t++) {
      strength[t] = onset[t] / sd;
      onset[t] = (onset[t] - mean) / sd;
    }
  }

  // Autocorrelation over lags from a third of the fastest tempo's period to the slowest's.
  double min_lag = 60.0 * kFps / max_bpm_;
  double max_lag = 60.0 * kFps / min_bpm_;
  size_t top = std::min(length - 1, static_cast<size_t>(std::ceil(max_lag)) + 2);
  std::vector<double> r(top + 1, 0.0);
  double zero = 0;
  for (double v : onset) zero += v * v;
  for (size_t lag = 1; lag <= top; lag++) {
    double sum = 0;
    const double* a = onset.data();
    const double* b = onset.data() + lag;
    size_t count = length - lag;
    for (size_t t = 0; t < count; t++) sum += a[t] * b[t];
    r[lag] = sum / zero * static_cast<double>(length) / static_cast<double>(count);
  }

  // The best peak under the prior.
  Peak best;
  double best_score = -1;
  int lo = std::max(2, static_cast<int>(std::floor(min_lag)));
  int hi = std::min(static_cast<int>(top) - 1, static_cast<int>(std::ceil(max_lag)));
  for (int l = lo; l <= hi; l++) {
    if (!(r[l] >= r[l - 1] && r[l] > r[l + 1])) continue;
    Peak peak = PeakNear(r, l, 1);
    double score = peak.value * Prior(60.0 * kFps / peak.lag);
    if (score > best_score) {
      best_score = score;
      best = peak;
    }
  }
  if (best.lag <= 0 || best.value < kMinPeriodicity) {
    result.reason = "no steady beat";
    return result;
  }
  // A subdivision heard as the beat: the faster tempo when half the lag holds nearly the same peak.
  for (;;) {
    double half = best.lag / 2;
    if (half < min_lag * 0.97) break;
    Peak faster = PeakNear(r, half, std::max(1.0, half * 0.04));
    if (faster.value < kSubdivisionShare * best.value) break;
    best = faster;
  }
  // Very fast pulses with every other one unlike the rest (stride piano's bass and chord, a
  // shuffle's long and short notes) are eighths: the beat is the slower pulse, which holds most of
  // their periodicity. Identical pulses (a metronome) stay the beat.
  if (60.0 * kFps / best.lag > kFastBpm) {
    double twice = best.lag * 2;
    if (twice <= max_lag * 1.03) {
      Peak slower = PeakNear(r, twice, std::max(1.0, twice * 0.04));
      double share = slower.value / best.value;
      if (share >= kSlowerShare && share < kUniformShare) best = slower;
    }
  }
  result.confidence = std::clamp((best.value - kMinPeriodicity) / (0.7 - kMinPeriodicity), 0.0, 1.0);

  // Ellis' dynamic-programming beat tracker at that period.
  double period = best.lag;
  std::vector<double> score(length);
  std::vector<int64_t> from(length, -1);
  int64_t reach_lo = static_cast<int64_t>(std::round(period / 2));
  int64_t reach_hi = static_cast<int64_t>(std::round(period * 2));
  for (size_t t = 0; t < length; t++) {
    double best_prev = 0;
    int64_t arg = -1;
    for (int64_t back = reach_lo; back <= reach_hi; back++) {
      int64_t tau = static_cast<int64_t>(t) - back;
      if (tau < 0) break;
      double d = std::log(static_cast<double>(back) / period);
      double candidate = score[static_cast<size_t>(tau)] - kTightness * d * d;
      if (arg < 0 || candidate > best_prev) {
        best_prev = candidate;
        arg = tau;
      }
    }
    score[t] = strength[t] + (arg >= 0 ? std::max(0.0, best_prev) : 0.0);
    from[t] = arg >= 0 && best_prev > 0 ? arg : -1;
  }
  size_t tail = static_cast<size_t>(std::ceil(period));
  size_t end = length - 1;
  for (size_t t = length > tail ? length - tail : 0; t < length; t++) {
    if (score[t] > score[end]) end = t;
  }
  std::vector<size_t> beats;
  for (int64_t t = static_cast<int64_t>(end); t >= 0; t = from[static_cast<size_t>(t)]) beats.push_back(static_cast<size_t>(t));
  std::reverse(beats.begin(), beats.end());
  // Each beat on its onset's peak (sub-frame), in seconds of the input.
  std::vector<double> times;
  for (size_t b : beats) {
    double delta = 0;
    if (b > 0 && b + 1 < length) {
      double a = flux_[first + b - 1], c = flux_[first + b], d = flux_[first + b + 1];
      double denom = a - 2 * c + d;
      if (denom < 0) delta = std::clamp(0.5 * (a - d) / denom, -0.5, 0.5);
    }
    times.push_back((static_cast<double>(first + b) + delta) / kFps);
  }
  if (times.size() < 4) {
    result.reason = "no steady beat";
    return result;
  }
  // Tempo: least-squares slope of beat time over beat number.
  double count = static_cast<double>(times.size());
  double mean_i = (count - 1) / 2;
  double mean_t = std::accumulate(times.begin(), times.end(), 0.0) / count;
  double cov = 0, var = 0;
  for (size_t i = 0; i < times.size(); i++) {
    cov += (static_cast<double>(i) - mean_i) * (times[i] - mean_t);
    var += (static_cast<double>(i) - mean_i) * (static_cast<double>(i) - mean_i);
  }
  double slope = cov / var;
  if (!(slope > 0)) {
    result.reason = "no steady beat";
    return result;
  }
  result.bpm = 60.0 / slope;
  result.beats_sec = std::move(times);
  return result;
}

}  // namespace fw::av
