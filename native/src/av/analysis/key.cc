#include "key.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fw::av {
namespace {

constexpr int kFrameSize = 8192;  // 0.74 s: 1.35 Hz bins, a semitone apart even at 55 Hz
constexpr int kHop = 4096;
constexpr double kLowHz = 55;
constexpr double kHighHz = 2000;
constexpr double kFloor = 0.01;         // peaks under 1 % of the frame's loudest are leakage and noise
constexpr double kSilentAmplitude = 1e-3;  // -60 dBFS
constexpr double kMinCorrelation = 0.7;    // under this no key profile fits: no tonal centre

// Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
constexpr std::array<double, 12> kMajor = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr std::array<double, 12> kMinor = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};

double Correlation(const std::array<double, 12>& chroma, const std::array<double, 12>& profile, int tonic) {
  double mc = std::accumulate(chroma.begin(), chroma.end(), 0.0) / 12;
  double mp = std::accumulate(profile.begin(), profile.end(), 0.0) / 12;
  double num = 0, dc = 0, dp = 0;
  for (int pc = 0; pc < 12; pc++) {
    double c = chroma[static_cast<size_t>(pc)] - mc;
    double p = profile[static_cast<size_t>((pc - tonic + 12) % 12)] - mp;
    num += c * p;
    dc += c * c;
    dp += p * p;
  }
  return dc > 0 && dp > 0 ? num / std::sqrt(dc * dp) : 0;
}

}  // namespace

KeyEstimator::KeyEstimator()
    : framer_(kFrameSize, kHop, [this](const std::vector<float>& m, const float* hop, size_t n) { OnFrame(m, hop, n); }) {}

void KeyEstimator::OnFrame(const std::vector<float>& magnitudes, const float*, size_t) {
  double bin_hz = static_cast<double>(kRate) / kFrameSize;
  size_t lo = static_cast<size_t>(kLowHz / bin_hz);
  size_t hi = std::min(magnitudes.size() - 2, static_cast<size_t>(kHighHz / bin_hz));
  float loudest = 0;
  for (size_t k = lo; k <= hi; k++) loudest = std::max(loudest, magnitudes[k]);
  loudest_ = std::max(loudest_, static_cast<double>(loudest));
  if (loudest < kSilentAmplitude) return;
  float floor = static_cast<float>(kFloor) * loudest;
  for (size_t k = std::max<size_t>(lo, 1); k <= hi; k++) {
    float a = magnitudes[k - 1], b = magnitudes[k], c = magnitudes[k + 1];
    if (b < floor || b <= a || b < c) continue;
    double denom = a - 2.0 * b + c;
    double delta = denom < 0 ? std::clamp(0.5 * (a - c) / denom, -0.5, 0.5) : 0.0;
    double hz = (static_cast<double>(k) + delta) * bin_hz;
    partials_.push_back({static_cast<float>(69 + 12 * std::log2(hz / 440)), b});
  }
}

KeyResult KeyEstimator::Finish() {
  KeyResult result;
  if (partials_.empty() || loudest_ < kSilentAmplitude) {
    result.reason = "no key: the audio is silent";
    return result;
  }
  // Tuning: the weighted circular mean of how far partials sit from equal-tempered pitches.
  double sx = 0, sy = 0;
  for (const Partial& p : partials_) {
    double angle = 2 * M_PI * (p.pitch - std::round(p.pitch));
    sx += p.weight * std::cos(angle);
    sy += p.weight * std::sin(angle);
  }
  double tuning = std::atan2(sy, sx) / (2 * M_PI);
  std::array<double, 12> chroma{};
  for (const Partial& p : partials_) {
    int pitch = static_cast<int>(std::lround(p.pitch - tuning));
    chroma[static_cast<size_t>(((pitch % 12) + 12) % 12)] += p.weight;
  }
  double top = *std::max_element(chroma.begin(), chroma.end());
  if (!(top > 0)) {
    result.reason = "no key: no pitched content";
    return result;
  }
  for (double& c : chroma) c /= top;
  result.chroma = chroma;
  double best = -2, second = -2;
  int best_key = 0;
  for (int key = 0; key < 24; key++) {
    double r = Correlation(chroma, key < 12 ? kMajor : kMinor, key % 12);
    if (r > best) {
      second = best;
      best = r;
      best_key = key;
    } else if (r > second) {
      second = r;
    }
  }
  result.confidence = best > second && best < 1 ? std::clamp((best - second) / (1 - second), 0.0, 1.0) : 0;
  if (best < kMinCorrelation) {
    result.reason = "no clear key: no major or minor key profile fits the pitches";
    return result;
  }
  result.tonic = best_key % 12;
  result.minor = best_key >= 12;
  return result;
}

}  // namespace fw::av
