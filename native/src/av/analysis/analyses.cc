// One Analysis per kind, composed from the meters (FFmpeg's filters), the estimators (our DSP) and
// the fingerprinters.
#include <algorithm>
#include <cmath>

#include "analysis.h"
#include "fingerprint.h"
#include "key.h"
#include "meters.h"
#include "mono.h"
#include "tempo.h"

namespace fw::av {
namespace {

double TimeOf(const AVFrame* frame, AVRational time_base) {
  return frame->pts == AV_NOPTS_VALUE ? 0 : static_cast<double>(frame->pts) * av_q2d(time_base);
}

double EndOf(const AVFrame* frame, AVRational time_base) {
  double start = TimeOf(frame, time_base);
  if (frame->nb_samples > 0 && frame->sample_rate > 0) return start + static_cast<double>(frame->nb_samples) / frame->sample_rate;
  return start;
}

class LoudnessAnalysis final : public Analysis {
 public:
  explicit LoudnessAnalysis(const AnalysisInput& input)
      : time_base_(input.audio_time_base), meter_(input.audio, input.audio_time_base, true) {}
  bool wants_video() const override { return false; }
  bool wants_audio() const override { return true; }
  void PushVideo(AVFrame*) override {}
  void PushAudio(AVFrame* frame) override {
    meter_.Push(frame);
    reached_sec_ = std::max(reached_sec_, EndOf(frame, time_base_));
  }
  void Finish(double, double audio_end_sec) override {
    meter_.Push(nullptr);
    report_.has_loudness = true;
    report_.integrated_lufs = meter_.integrated_lufs();
    report_.loudness_range_lu = meter_.loudness_range_lu();
    double peak = meter_.true_peak_linear();
    report_.true_peak_dbtp = peak > 0 ? 20 * std::log10(peak) : -1e9;
    report_.momentary = meter_.momentary();
    report_.duration_sec = std::max(0.0, audio_end_sec);
    if (report_.integrated_lufs <= -69.95) report_.reason = "silent: every block is under the -70 LUFS gate";
  }

 private:
  AVRational time_base_;
  LoudnessMeter meter_;
};

class IntervalAnalysis final : public Analysis {
 public:
  IntervalAnalysis(const AnalysisSettings& s, const AnalysisInput& input) {
    if (s.kind == "silence") {
      audio_ = true;
      time_base_ = input.audio_time_base;
      meter_ = IntervalMeter::ForAudio(input.audio, input.audio_time_base, s.noise_db, s.min_duration_sec);
    } else {
      time_base_ = input.video_time_base;
      meter_ = IntervalMeter::ForVideo(s.kind == "black" ? IntervalMeter::Kind::kBlack : IntervalMeter::Kind::kFreeze,
                                       input, s.min_duration_sec, s.noise_db, s.pixel_threshold, s.picture_ratio);
    }
  }
  bool wants_video() const override { return !audio_; }
  bool wants_audio() const override { return audio_; }
  void PushVideo(AVFrame* frame) override {
    if (audio_) return;
    meter_->Push(frame);
    reached_sec_ = std::max(reached_sec_, TimeOf(frame, time_base_));
  }
  void PushAudio(AVFrame* frame) override {
    if (!audio_) return;
    meter_->Push(frame);
    reached_sec_ = std::max(reached_sec_, EndOf(frame, time_base_));
  }
  void Finish(double video_end_sec, double audio_end_sec) override {
    double end = std::max(0.0, audio_ ? audio_end_sec : video_end_sec);
    report_.intervals = meter_->Finish(end);
    report_.duration_sec = end;
  }

 private:
  bool audio_ = false;
  AVRational time_base_{1, 1};
  std::unique_ptr<IntervalMeter> meter_;
};

class ScenesAnalysis final : public Analysis {
 public:
  ScenesAnalysis(const AnalysisSettings& s, const AnalysisInput& input)
      : time_base_(input.video_time_base), meter_(input, s.threshold) {}
  bool wants_video() const override { return true; }
  bool wants_audio() const override { return false; }
  void PushVideo(AVFrame* frame) override {
    meter_.Push(frame);
    reached_sec_ = std::max(reached_sec_, TimeOf(frame, time_base_));
  }
  void PushAudio(AVFrame*) override {}
  void Finish(double video_end_sec, double) override {
    meter_.Push(nullptr);
    report_.cuts = meter_.cuts();
    report_.frames = meter_.frames();
    report_.duration_sec = std::max(0.0, video_end_sec);
  }

 private:
  AVRational time_base_;
  SceneMeter meter_;
};

// Tempo or key: the audio as mono 11025 Hz floats into our estimator.
template <typename Estimator>
class MusicAnalysis final : public Analysis {
 public:
  // The estimator is built in place: its framer calls back into it.
  template <typename... Args>
  explicit MusicAnalysis(const AnalysisInput& input, Args... args)
      : time_base_(input.audio_time_base),
        resampler_(input.audio, Estimator::kRate, MonoResampler::Mode::kFloat),
        estimator_(args...) {}
  bool wants_video() const override { return false; }
  bool wants_audio() const override { return true; }
  void PushVideo(AVFrame*) override {}
  void PushAudio(AVFrame* frame) override {
    if (start_sec_ < 0) start_sec_ = TimeOf(frame, time_base_);
    samples_.clear();
    resampler_.Convert(frame, &samples_, nullptr);
    estimator_.Push(samples_.data(), samples_.size());
    reached_sec_ = std::max(reached_sec_, EndOf(frame, time_base_));
  }
  void Finish(double, double audio_end_sec) override {
    samples_.clear();
    resampler_.Convert(nullptr, &samples_, nullptr);
    estimator_.Push(samples_.data(), samples_.size());
    Fill(estimator_.Finish(), std::max(0.0, start_sec_));
    report_.duration_sec = std::max(0.0, audio_end_sec);
  }

 private:
  void Fill(TempoResult result, double offset) {
    report_.bpm = result.bpm;
    report_.tempo_confidence = result.confidence;
    for (double t : result.beats_sec) report_.beats_sec.push_back(t + offset);
    report_.reason = result.reason;
  }
  void Fill(KeyResult result, double) {
    report_.tonic = result.tonic;
    report_.minor = result.minor;
    report_.key_confidence = result.confidence;
    report_.chroma = result.chroma;
    report_.reason = result.reason;
  }

  AVRational time_base_;
  MonoResampler resampler_;
  Estimator estimator_;
  std::vector<float> samples_;
  double start_sec_ = -1;
};

// Frames to hash: one at or after every multiple of the interval; at most kMaxHashes (the interval
// doubles, keeping every other hash, when a long input of unknown length passes it).
constexpr size_t kMaxHashes = 1000;

class FingerprintAnalysis final : public Analysis {
 public:
  FingerprintAnalysis(const AnalysisSettings& s, const AnalysisInput& input)
      : audio_time_base_(input.audio_time_base), video_time_base_(input.video_time_base) {
    if (input.audio != nullptr) chromaprint_ = std::make_unique<ChromaprintWriter>(input.audio, s.audio_sec);
    if (input.video != nullptr) {
      hasher_ = std::make_unique<FrameHasher>(input);
      interval_ = s.frame_interval_sec;
      if (input.duration_sec > 0) interval_ = std::max(interval_, input.duration_sec / kMaxHashes);
    }
  }
  bool wants_video() const override { return hasher_ != nullptr; }
  bool wants_audio() const override { return chromaprint_ != nullptr; }
  void PushVideo(AVFrame* frame) override {
    if (!hasher_) return;
    double time = TimeOf(frame, video_time_base_);
    reached_sec_ = std::max(reached_sec_, time);
    if (time + 0.0005 < next_hash_sec_) return;
    report_.frame_hashes.push_back({time, hasher_->Hash(frame)});
    next_hash_sec_ = (std::floor((time + 0.0005) / interval_) + 1) * interval_;
    if (report_.frame_hashes.size() >= kMaxHashes) {
      std::vector<FrameHashValue> kept;
      for (size_t i = 0; i < report_.frame_hashes.size(); i += 2) kept.push_back(report_.frame_hashes[i]);
      report_.frame_hashes = std::move(kept);
      interval_ *= 2;
      next_hash_sec_ = (std::floor((time + 0.0005) / interval_) + 1) * interval_;
    }
  }
  void PushAudio(AVFrame* frame) override {
    if (chromaprint_) reached_sec_ = std::max(reached_sec_, EndOf(frame, audio_time_base_));
  }
  // Chromaprint hears the decoded audio as fpcalc does (not the repaired timeline: no silence filled
  // in, no second copy dropped), so the strings are the same.
  void PushDecodedAudio(AVFrame* frame) override {
    // Debian's fpcalc (1.5.1 with its FFmpeg 5 patch) never drains the decoder: frames a decoder
    // holds back until the end of input are not in its fingerprint, so they are not in ours.
    if (chromaprint_ && !drained_) chromaprint_->Push(frame);
  }
  void EndOfPackets() override { drained_ = true; }
  bool done() const override { return hasher_ == nullptr && chromaprint_ != nullptr && chromaprint_->Full(); }
  void Finish(double video_end_sec, double audio_end_sec) override {
    if (chromaprint_) {
      report_.chromaprint = chromaprint_->Finish(&report_.chromaprint_duration_sec);

      if (report_.chromaprint.empty()) report_.reason = "the audio is too short to fingerprint";
    } else {
      report_.reason = "the input has no audio to fingerprint";
    }
    report_.duration_sec = std::max({0.0, video_end_sec, audio_end_sec});
  }

 private:
  AVRational audio_time_base_;
  AVRational video_time_base_;
  std::unique_ptr<ChromaprintWriter> chromaprint_;
  std::unique_ptr<FrameHasher> hasher_;
  bool drained_ = false;  // past the last packet: the decoder is handing out what it held back
  double interval_ = 1;
  double next_hash_sec_ = 0;
};

// Highlights: the features the ranking reads, per 100 ms step (native/lib/highlights.ts ranks).
constexpr double kStepSec = 0.1;
constexpr int kQuietRate = 11025;
constexpr int kQuietBlock = 276;  // 25 ms

class HighlightsAnalysis final : public Analysis {
 public:
  explicit HighlightsAnalysis(const AnalysisInput& input)
      : audio_time_base_(input.audio_time_base), video_time_base_(input.video_time_base) {
    report_.feature_step_sec = kStepSec;
    if (input.audio != nullptr) {
      loudness_ = std::make_unique<LoudnessMeter>(input.audio, input.audio_time_base, false);
      resampler_ = std::make_unique<MonoResampler>(input.audio, kQuietRate, MonoResampler::Mode::kFloat);
    }
    if (input.video != nullptr) {
      scenes_ = std::make_unique<SceneMeter>(input, 10.0);
      scenes_->set_on_sample([this](const SceneMeter::Sample& sample) {
        size_t step = static_cast<size_t>(std::max(0.0, sample.time_sec) / kStepSec);
        if (motion_sum_.size() <= step) {
          motion_sum_.resize(step + 1, 0);
          motion_count_.resize(step + 1, 0);
        }
        motion_sum_[step] += sample.mafd;
        motion_count_[step]++;
      });
    }
  }
  bool wants_video() const override { return scenes_ != nullptr; }
  bool wants_audio() const override { return loudness_ != nullptr; }
  void PushVideo(AVFrame* frame) override {
    if (!scenes_) return;
    scenes_->Push(frame);
    reached_sec_ = std::max(reached_sec_, TimeOf(frame, video_time_base_));
  }
  void PushAudio(AVFrame* frame) override {
    if (!loudness_) return;
    if (audio_start_sec_ < 0) audio_start_sec_ = TimeOf(frame, audio_time_base_);
    loudness_->Push(frame);
    samples_.clear();
    resampler_->Convert(frame, &samples_, nullptr);
    Quiet(samples_);
    reached_sec_ = std::max(reached_sec_, EndOf(frame, audio_time_base_));
  }
  void Finish(double video_end_sec, double audio_end_sec) override {
    double end = std::max({0.0, video_end_sec, audio_end_sec});
    size_t steps = static_cast<size_t>(std::ceil(end / kStepSec));
    if (loudness_) {
      loudness_->Push(nullptr);
      samples_.clear();
      resampler_->Convert(nullptr, &samples_, nullptr);
      Quiet(samples_);
      report_.feature_loudness.assign(steps, -120);
      for (const TimeValue& m : loudness_->momentary()) {
        // The 100 ms block that ends at m.time_sec.
        double start = m.time_sec - kStepSec;
        size_t step = static_cast<size_t>(std::max(0.0, std::round(start / kStepSec)));
        if (step < steps) report_.feature_loudness[step] = m.value;
      }
      // The quietest 25 ms of each step: a pause between words shows even inside a 100 ms step.
      constexpr double kUnset = 1e9;
      report_.feature_rms_db.assign(steps, kUnset);
      double offset = std::max(0.0, audio_start_sec_);
      for (size_t i = 0; i < quiet_db_.size(); i++) {
        double t = offset + static_cast<double>(i) * kQuietBlock / kQuietRate;
        size_t step = static_cast<size_t>(t / kStepSec);
        if (step >= steps) break;
        report_.feature_rms_db[step] = std::min(report_.feature_rms_db[step], quiet_db_[i]);
      }
      for (double& db : report_.feature_rms_db) {
        if (db >= kUnset) db = -120;
      }
    }
    if (scenes_) {
      scenes_->Push(nullptr);
      report_.cuts = scenes_->cuts();
      report_.frames = scenes_->frames();
      report_.feature_motion.assign(steps, -1);
      for (size_t i = 0; i < motion_sum_.size() && i < steps; i++) {
        if (motion_count_[i] > 0) report_.feature_motion[i] = motion_sum_[i] / motion_count_[i];
      }
    }
    report_.duration_sec = end;
  }

 private:
  void Quiet(const std::vector<float>& samples) {
    for (float s : samples) {
      block_energy_ += static_cast<double>(s) * s;
      if (++block_count_ == kQuietBlock) {
        double rms = std::sqrt(block_energy_ / kQuietBlock);
        quiet_db_.push_back(rms > 1e-6 ? 20 * std::log10(rms) : -120);
        block_energy_ = 0;
        block_count_ = 0;
      }
    }
  }

  AVRational audio_time_base_;
  AVRational video_time_base_;
  std::unique_ptr<LoudnessMeter> loudness_;
  std::unique_ptr<MonoResampler> resampler_;
  std::unique_ptr<SceneMeter> scenes_;
  std::vector<float> samples_;
  std::vector<double> quiet_db_;
  double block_energy_ = 0;
  int block_count_ = 0;
  double audio_start_sec_ = -1;
  std::vector<double> motion_sum_;
  std::vector<int> motion_count_;
};

// The waveform: the audio as one channel at its own rate (the down-mix a mono player draws), kept
// as the lowest and highest sample per bucket. Buckets are 8 to a point of the resolution asked for
// (from the container's duration when it is given in points), at least one sample; an input much
// longer than its header said doubles them (pairs merged) past kMaxBuckets, so memory stays bounded.
constexpr size_t kMaxBuckets = size_t{1} << 22;
constexpr int kBucketsPerPoint = 8;

class WaveformAnalysis final : public Analysis {
 public:
  WaveformAnalysis(const AnalysisSettings& s, const AnalysisInput& input)
      : time_base_(input.audio_time_base),
        resampler_(input.audio, std::max(1, input.audio->sample_rate), MonoResampler::Mode::kFloat) {
    double rate = resampler_.rate();
    double bucket_sec = 0.005;
    if (s.points_per_sec > 0) {
      bucket_sec = 1.0 / (s.points_per_sec * kBucketsPerPoint);
    } else if (s.points > 0 && input.duration_sec > 0) {
      bucket_sec = input.duration_sec / (s.points * kBucketsPerPoint);
    }
    bucket_samples_ = std::max<int64_t>(1, static_cast<int64_t>(std::floor(bucket_sec * rate)));
  }
  bool wants_video() const override { return false; }
  bool wants_audio() const override { return true; }
  void PushVideo(AVFrame*) override {}
  void PushAudio(AVFrame* frame) override {
    if (start_sec_ < 0) start_sec_ = TimeOf(frame, time_base_);
    samples_.clear();
    resampler_.Convert(frame, &samples_, nullptr);
    Add();
    reached_sec_ = std::max(reached_sec_, EndOf(frame, time_base_));
  }
  void Finish(double, double audio_end_sec) override {
    samples_.clear();
    resampler_.Convert(nullptr, &samples_, nullptr);
    Add();
    report_.bucket_sec = static_cast<double>(bucket_samples_) / resampler_.rate();
    report_.waveform_start_sec = std::max(0.0, start_sec_);
    report_.waveform_sample_rate = resampler_.rate();
    report_.bucket_min = std::move(min_);
    report_.bucket_max = std::move(max_);
    report_.duration_sec = std::max(0.0, audio_end_sec);
  }

 private:
  void Add() {
    for (float sample : samples_) {
      if (filled_ == 0) {
        min_.push_back(sample);
        max_.push_back(sample);
      } else {
        min_.back() = std::min(min_.back(), sample);
        max_.back() = std::max(max_.back(), sample);
      }
      if (++filled_ == bucket_samples_) filled_ = 0;
      if (filled_ == 0 && min_.size() >= kMaxBuckets) Coarsen();
    }
  }
  // Every two buckets become one, twice as long.
  void Coarsen() {
    size_t half = min_.size() / 2;
    for (size_t i = 0; i < half; i++) {
      min_[i] = std::min(min_[2 * i], min_[2 * i + 1]);
      max_[i] = std::max(max_[2 * i], max_[2 * i + 1]);
    }
    min_.resize(half);
    max_.resize(half);
    bucket_samples_ *= 2;
  }

  AVRational time_base_;
  MonoResampler resampler_;
  std::vector<float> samples_;
  std::vector<float> min_;
  std::vector<float> max_;
  int64_t bucket_samples_ = 1;
  int64_t filled_ = 0;  // samples in the last bucket (0: the next sample opens a new one)
  double start_sec_ = -1;
};

}  // namespace

AnalysisNeeds NeedsOf(const std::string& kind) {
  if (kind == "loudness" || kind == "silence" || kind == "tempo" || kind == "key" || kind == "waveform") {
    return {true, false, false};
  }
  if (kind == "scenes" || kind == "black" || kind == "freeze") return {false, true, false};
  return {false, false, true};
}

std::unique_ptr<Analysis> MakeAnalysis(const AnalysisSettings& s, const AnalysisInput& input, const RunControl*) {
  AnalysisNeeds needs = NeedsOf(s.kind);
  if (needs.audio && input.audio == nullptr) {
    Fail(ErrorCode::kInputNoStreams, "a " + s.kind + " analysis needs an audio stream; the input has none");
  }
  if (needs.video && input.video == nullptr) {
    Fail(ErrorCode::kInputNoStreams, "a " + s.kind + " analysis needs a video stream; the input has none");
  }
  if (needs.either && input.audio == nullptr && input.video == nullptr) {
    Fail(ErrorCode::kInputNoStreams, "a " + s.kind + " analysis needs an audio or video stream; the input has neither");
  }
  if (s.kind == "loudness") return std::make_unique<LoudnessAnalysis>(input);
  if (s.kind == "silence" || s.kind == "black" || s.kind == "freeze") return std::make_unique<IntervalAnalysis>(s, input);
  if (s.kind == "scenes") return std::make_unique<ScenesAnalysis>(s, input);
  if (s.kind == "tempo") return std::make_unique<MusicAnalysis<TempoEstimator>>(input, s.min_bpm, s.max_bpm);
  if (s.kind == "key") return std::make_unique<MusicAnalysis<KeyEstimator>>(input);
  if (s.kind == "fingerprint") return std::make_unique<FingerprintAnalysis>(s, input);
  if (s.kind == "highlights") return std::make_unique<HighlightsAnalysis>(input);
  if (s.kind == "waveform") return std::make_unique<WaveformAnalysis>(s, input);
  Fail(ErrorCode::kUnsupported, "unknown analysis kind " + s.kind);
}

}  // namespace fw::av
