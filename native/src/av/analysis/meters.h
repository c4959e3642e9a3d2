// Measurements FFmpeg's own filters make, driven in-process over the shared decode: the filter
// graph is built from validated numbers only, and its findings are read from the frame metadata
// the filters attach (lavfi.r128.*, lavfi.silence_*, lavfi.black_*, lavfi.freezedetect.*,
// lavfi.scd.*).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "analysis.h"

namespace fw::av {

// ebur128 (metadata=1): one frame per 100 ms carrying momentary loudness and the running
// integrated loudness and loudness range; with `true_peak`, the 4×-oversampled peak too.
class LoudnessMeter {
 public:
  LoudnessMeter(const AVCodecContext* decoder, AVRational time_base, bool true_peak);
  void Push(AVFrame* frame);  // nullptr: end of stream
  double integrated_lufs() const { return integrated_; }
  double loudness_range_lu() const { return range_; }
  double true_peak_linear() const { return peak_; }
  const std::vector<TimeValue>& momentary() const { return momentary_; }

 private:
  void Read(AVFrame* measured);
  std::unique_ptr<FilterGraph> graph_;
  double integrated_ = -70;
  double range_ = 0;
  double peak_ = 0;
  std::vector<TimeValue> momentary_;
};

// silencedetect, blackdetect or freezedetect: stretches of silence, black or frozen picture of at
// least the minimum duration. One still open at the end of input is closed at the media's end.
class IntervalMeter {
 public:
  enum class Kind { kSilence, kBlack, kFreeze };
  static std::unique_ptr<IntervalMeter> ForAudio(const AVCodecContext* decoder, AVRational time_base, double noise_db,
                                                 double min_duration_sec);
  static std::unique_ptr<IntervalMeter> ForVideo(Kind kind, const AnalysisInput& input, double min_duration_sec,
                                                 double noise_db, double pixel_threshold, double picture_ratio);
  void Push(AVFrame* frame);
  // Flushes and closes an open stretch at `end_sec`.
  std::vector<TimeSpan> Finish(double end_sec);

 private:
  IntervalMeter(Kind kind, double min_duration_sec) : kind_(kind), min_duration_sec_(min_duration_sec) {}
  void Read(AVFrame* measured);
  void Close(double end_sec);

  Kind kind_;
  double min_duration_sec_;
  std::unique_ptr<FilterGraph> graph_;
  double open_start_ = -1;
  std::vector<TimeSpan> spans_;
};

// scdet: every frame's scene score and mean absolute frame difference (mafd, i.e. motion); cuts
// are the frames whose score reaches the threshold.
class SceneMeter {
 public:
  SceneMeter(const AnalysisInput& input, double threshold);
  void Push(AVFrame* frame);
  struct Sample {
    double time_sec;
    double score;
    double mafd;
  };
  const std::vector<TimeValue>& cuts() const { return cuts_; }
  int64_t frames() const { return frames_; }
  // Called with every measured frame (highlights keep motion per step).
  void set_on_sample(std::function<void(const Sample&)> fn) { on_sample_ = std::move(fn); }

 private:
  void Read(AVFrame* measured);
  std::unique_ptr<FilterGraph> graph_;
  std::vector<TimeValue> cuts_;
  int64_t frames_ = 0;
  std::function<void(const Sample&)> on_sample_;
};

}  // namespace fw::av
