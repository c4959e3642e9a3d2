#include "meters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fw::av {
namespace {

bool Meta(const AVFrame* frame, const char* key, double* value) {
  const AVDictionaryEntry* entry = av_dict_get(frame->metadata, key, nullptr, 0);
  if (entry == nullptr) return false;
  char* end = nullptr;
  double parsed = std::strtod(entry->value, &end);
  if (end == entry->value) return false;
  *value = parsed;
  return true;
}

std::string Number(double value) {
  char text[40];
  snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

double FrameTime(const AVFrame* frame, AVRational time_base) {
  return frame->pts == AV_NOPTS_VALUE ? 0 : static_cast<double>(frame->pts) * av_q2d(time_base);
}

}  // namespace

LoudnessMeter::LoudnessMeter(const AVCodecContext* decoder, AVRational time_base, bool true_peak) {
  FilterStep meter{"ebur128", {{"metadata", "1"}}};
  if (true_peak) meter.options.push_back({"peak", "true"});
  graph_ = FilterGraph::ForAudioSteps(decoder, time_base, {meter});
}

void LoudnessMeter::Push(AVFrame* frame) {
  graph_->Push(frame, [this](AVFrame* measured) { Read(measured); });
}

void LoudnessMeter::Read(AVFrame* measured) {
  double value;
  if (Meta(measured, "lavfi.r128.I", &value)) integrated_ = value;
  if (Meta(measured, "lavfi.r128.LRA", &value)) range_ = value;
  if (Meta(measured, "lavfi.r128.true_peak", &value)) peak_ = std::max(peak_, value);
  if (Meta(measured, "lavfi.r128.M", &value)) {
    // The momentary window ends with this 100 ms block (the time ffmpeg's ebur128 prints).
    AVRational tb = graph_->output_time_base();
    double end = FrameTime(measured, tb) +
                 (measured->sample_rate > 0 ? static_cast<double>(measured->nb_samples) / measured->sample_rate : 0.1);
    momentary_.push_back({end, std::isfinite(value) ? std::max(value, -120.0) : -120.0});
  }
}

std::unique_ptr<IntervalMeter> IntervalMeter::ForAudio(const AVCodecContext* decoder, AVRational time_base,
                                                       double noise_db, double min_duration_sec) {
  std::unique_ptr<IntervalMeter> meter(new IntervalMeter(Kind::kSilence, min_duration_sec));
  meter->graph_ = FilterGraph::ForAudioSteps(
      decoder, time_base,
      {{"silencedetect", {{"noise", Number(std::pow(10.0, noise_db / 20.0))}, {"duration", Number(min_duration_sec)}}}});
  return meter;
}

std::unique_ptr<IntervalMeter> IntervalMeter::ForVideo(Kind kind, const AnalysisInput& input, double min_duration_sec,
                                                       double noise_db, double pixel_threshold, double picture_ratio) {
  std::unique_ptr<IntervalMeter> meter(new IntervalMeter(kind, min_duration_sec));
  FilterStep step = kind == Kind::kBlack
                        ? FilterStep{"blackdetect",
                                     {{"d", Number(min_duration_sec)},
                                      {"pix_th", Number(pixel_threshold)},
                                      {"pic_th", Number(picture_ratio)}}}
                        : FilterStep{"freezedetect", {{"n", Number(std::pow(10.0, noise_db / 20.0))}, {"d", Number(min_duration_sec)}}};
  meter->graph_ = FilterGraph::ForVideoSteps(input.video, input.video_time_base, input.video_frame_rate, {step});
  return meter;
}

void IntervalMeter::Push(AVFrame* frame) {
  graph_->Push(frame, [this](AVFrame* measured) { Read(measured); });
}

void IntervalMeter::Read(AVFrame* measured) {
  const char* start_key = kind_ == Kind::kSilence ? "lavfi.silence_start"
                          : kind_ == Kind::kBlack ? "lavfi.black_start"
                                                  : "lavfi.freezedetect.freeze_start";
  const char* end_key = kind_ == Kind::kSilence ? "lavfi.silence_end"
                        : kind_ == Kind::kBlack ? "lavfi.black_end"
                                                : "lavfi.freezedetect.freeze_end";
  double value;
  // An end and the next start can come on one frame (a stretch ends, another begins): end first.
  if (Meta(measured, end_key, &value) && open_start_ >= 0) Close(value);
  if (Meta(measured, start_key, &value) && open_start_ < 0) open_start_ = std::max(0.0, value);
}

void IntervalMeter::Close(double end_sec) {
  // blackdetect reports every black stretch it saw, however short; the minimum is ours to apply.
  if (end_sec - open_start_ >= min_duration_sec_ - 1e-6) spans_.push_back({open_start_, end_sec});
  open_start_ = -1;
}

std::vector<TimeSpan> IntervalMeter::Finish(double end_sec) {
  graph_->Push(nullptr, [this](AVFrame* measured) { Read(measured); });
  if (open_start_ >= 0 && end_sec > open_start_) Close(end_sec);
  open_start_ = -1;
  return spans_;
}

SceneMeter::SceneMeter(const AnalysisInput& input, double threshold) {
  graph_ = FilterGraph::ForVideoSteps(input.video, input.video_time_base, input.video_frame_rate,
                                      {{"scdet", {{"threshold", Number(threshold)}}}});
}

void SceneMeter::Push(AVFrame* frame) {
  graph_->Push(frame, [this](AVFrame* measured) { Read(measured); });
}

void SceneMeter::Read(AVFrame* measured) {
  frames_++;
  Sample sample{FrameTime(measured, graph_->output_time_base()), 0, 0};
  Meta(measured, "lavfi.scd.score", &sample.score);
  Meta(measured, "lavfi.scd.mafd", &sample.mafd);
  // scdet marks a cut with lavfi.scd.time; the first frame has nothing to differ from.
  double unused;
  if (frames_ > 1 && Meta(measured, "lavfi.scd.time", &unused)) cuts_.push_back({sample.time_sec, sample.score});
  if (on_sample_) on_sample_(sample);
}

}  // namespace fw::av
