#include "loudness.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>

#include "decoder.h"
#include "filter_graph.h"
#include "input_file.h"
#include "limiter.h"
#include "timeline.h"

namespace fw::av {
namespace {

bool ReadMeta(const AVFrame* frame, const char* key, double* value) {
  const AVDictionaryEntry* entry = av_dict_get(frame->metadata, key, nullptr, 0);
  if (entry == nullptr) return false;
  *value = std::strtod(entry->value, nullptr);
  return true;
}

struct Meter {
  std::unique_ptr<FilterGraph> graph;
  Loudness result;
  double peak_linear = 0;
  void Read(AVFrame* measured) {
    ReadMeta(measured, "lavfi.r128.I", &result.integrated_lufs);
    double peak;
    if (ReadMeta(measured, "lavfi.r128.true_peak", &peak)) peak_linear = std::max(peak_linear, peak);
  }
};

}  // namespace

namespace {

// Decodes the input's audio on the repaired timeline (timeline.h) and hands every frame to `sink`,
// stopping once every window (`last_end` > 0) has been passed.
void DecodeAudio(const std::string& path, RunControl* control, double last_end, int stream_index,
                 const std::function<void(const Decoder&)>& ready, const std::function<void(AVFrame*)>& sink) {
  InputFile input(path, control);
  int index = stream_index >= 0 && static_cast<unsigned>(stream_index) < input.ctx()->nb_streams &&
                      input.stream(stream_index)->codecpar->codec_type == AVMEDIA_TYPE_AUDIO
                  ? stream_index
                  : input.BestStream(AVMEDIA_TYPE_AUDIO);
  if (index < 0) Fail(ErrorCode::kInputNoStreams, "loudness normalization needs an audio stream");
  // The same repaired timeline as the run's (timeline.h), so windows cut the same audio.
  int clock = input.BestStream(AVMEDIA_TYPE_VIDEO);
  input.KeepOnly(clock, index);
  VideoClock video;
  video.present = clock >= 0;
  AudioTimeline timeline((input.ctx()->iformat->flags & AVFMT_TS_DISCONT) != 0);
  Decoder decoder(input.ctx(), input.stream(index));
  ready(decoder);
  AVRational tb = decoder.time_base();
  auto place = [&](AVFrame* frame) {
    double raw = frame->pts != AV_NOPTS_VALUE ? frame->pts * av_q2d(tb) : -1;
    double duration = frame->sample_rate > 0 ? static_cast<double>(frame->nb_samples) / frame->sample_rate : 0;
    AudioTimeline::Verdict verdict = timeline.Place(raw, duration, video);
    if (!verdict.keep) return;
    frame->pts = std::llround(verdict.start_sec / av_q2d(tb));
    sink(frame);
  };
  PacketPtr packet = MakePacket();
  while (input.Read(packet.get())) {
    PacketUnref unref(packet.get());
    if (control != nullptr && control->ShouldStop()) Fail(ErrorCode::kCanceled, "stopped");
    if (control != nullptr) control->Touch();
    const AVStream* stream = input.stream(packet->stream_index);
    if (packet->stream_index == clock) {
      int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
      if (ts != AV_NOPTS_VALUE) video.reached_sec = std::max(video.reached_sec, ts * av_q2d(stream->time_base));
    } else if (packet->stream_index == index) {
      decoder.Decode(packet.get(), place);
    }
    // Every window ends before what was read: the rest of the input is not needed.
    if (last_end > 0 && timeline.end_sec() > last_end + 1) break;
  }
  decoder.Decode(nullptr, place);
}

}  // namespace

std::vector<Loudness> MeasureLoudness(const std::string& path, const std::vector<LoudnessWindow>& windows,
                                      RunControl* control) {
  std::vector<Meter> meters(windows.size());
  double last_end = 0;
  for (const LoudnessWindow& w : windows) last_end = w.trim_end > 0 && last_end >= 0 ? std::max(last_end, w.trim_end) : -1;
  auto ready = [&](const Decoder& decoder) {
    for (size_t i = 0; i < windows.size(); i++) {
      const LoudnessWindow& w = windows[i];
      meters[i].graph = FilterGraph::ForLoudness(decoder.ctx(), decoder.time_base(), w.trim_start, w.trim_end,
                                                 w.channels, w.sample_rate);
    }
  };
  int stream_index = windows.empty() ? -1 : windows.front().stream_index;
  DecodeAudio(path, control, last_end, stream_index, ready, [&](AVFrame* frame) {
    for (Meter& meter : meters) meter.graph->Push(frame, [&](AVFrame* measured) { meter.Read(measured); });
  });
  std::vector<Loudness> results;
  for (Meter& meter : meters) {
    meter.graph->Push(nullptr, [&](AVFrame* measured) { meter.Read(measured); });
    if (meter.peak_linear > 0) meter.result.true_peak_dbtp = 20 * std::log10(meter.peak_linear);
    results.push_back(meter.result);
  }
  return results;
}

double LimiterCeilingDbtp(const std::string& encoder) {
  if (encoder == "aac") return -2.3;
  if (encoder == "libopus") return -2.5;
  if (encoder == "libmp3lame") return -1.8;
  return -1.3;  // flac, pcm
}

double RehearseLimitedLoudness(const std::string& path, const LoudnessWindow& window, double gain_db,
                               double ceiling_dbtp, RunControl* control) {
  std::unique_ptr<FilterGraph> shape;
  std::unique_ptr<TruePeakLimiter> limiter;
  std::unique_ptr<FilterGraph> meter;
  double integrated = -70;
  auto read = [&](AVFrame* measured) { ReadMeta(measured, "lavfi.r128.I", &integrated); };
  auto ready = [&](const Decoder& decoder) {
    shape = FilterGraph::ForLoudness(decoder.ctx(), decoder.time_base(), window.trim_start, window.trim_end,
                                     window.channels, window.sample_rate, gain_db, false);
    AVChannelLayout layout = {};
    av_channel_layout_default(&layout, window.channels > 0 ? window.channels : decoder.ctx()->ch_layout.nb_channels);
    int rate = window.sample_rate > 0 ? window.sample_rate : decoder.ctx()->sample_rate;
    limiter = std::make_unique<TruePeakLimiter>(layout.nb_channels, rate, layout, ceiling_dbtp);
    meter = FilterGraph::ForMeter(rate, layout, shape->output_time_base());
    av_channel_layout_uninit(&layout);
  };
  auto limited = [&](AVFrame* frame) { meter->Push(frame, read); };
  auto shaped = [&](AVFrame* frame) { limiter->Push(frame, shape->output_time_base(), limited); };
  DecodeAudio(path, control, window.trim_end, window.stream_index, ready, [&](AVFrame* frame) { shape->Push(frame, shaped); });
  shape->Push(nullptr, shaped);
  limiter->Push(nullptr, shape->output_time_base(), limited);
  meter->Push(nullptr, read);
  return integrated;
}

Normalization PlanNormalization(const Loudness& measured, double target_lufs, double ceiling_dbtp) {
  Normalization plan;
  plan.ceiling_dbtp = ceiling_dbtp;
  if (measured.integrated_lufs <= -69.9) return plan;
  plan.gain_db = target_lufs - measured.integrated_lufs;
  plan.limit = measured.true_peak_dbtp + plan.gain_db > ceiling_dbtp;
  return plan;
}

}  // namespace fw::av
