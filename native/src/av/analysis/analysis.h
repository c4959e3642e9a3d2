// Analyses of the input, run inside the shared decode beside every transcode output: each analysis
// output gets the decoded (timeline-repaired) frames of the streams it needs and measures them, with
// FFmpeg's own filters where they do the measurement (ebur128, silencedetect, scdet, blackdetect,
// freezedetect; the chromaprint muxer) and our own DSP for tempo, key and perceptual hashes.
// What each measured is reported as plain numbers; the TypeScript side turns them into the API's
// documents (native/lib/analysis.ts), ranks highlights and writes the JSON.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../filter_graph.h"
#include "../resources.h"

namespace fw::av {

// One analysis output's options, already validated (native/lib/plan-check.ts); unused fields stay 0.
struct AnalysisSettings {
  std::string kind;  // loudness | silence | scenes | black | freeze | tempo | key | fingerprint | highlights
  double noise_db = 0;           // silence, freeze
  double min_duration_sec = 0;   // silence, black, freeze
  double threshold = 0;          // scenes
  double pixel_threshold = 0;    // black
  double picture_ratio = 0;      // black
  double min_bpm = 0, max_bpm = 0;  // tempo
  double audio_sec = 0;          // fingerprint: seconds of audio fingerprinted
  double frame_interval_sec = 0;  // fingerprint: seconds between hashed frames
  // waveform: the resolution asked for, as points over the whole input or points a second (one
  // of them); the buckets kept are several times finer, so any column lands within a fraction.
  double points = 0;
  double points_per_sec = 0;
};

struct TimeValue {
  double time_sec;
  double value;
};

struct TimeSpan {
  double start_sec;
  double end_sec;
};

struct FrameHashValue {
  double time_sec;
  uint64_t hash;
};

// What an analysis measured; only the fields of its kind are set. Numbers that could not be
// measured carry a reason instead (never a made-up value).
struct AnalysisReport {
  double duration_sec = 0;  // media analysed (the later end of the streams it read)
  // loudness
  bool has_loudness = false;
  double integrated_lufs = -70;
  double loudness_range_lu = 0;
  double true_peak_dbtp = -1e9;  // -1e9: digital silence (no peak)
  std::vector<TimeValue> momentary;  // every 100 ms, LUFS (floored at -120)
  // silence, black, freeze
  std::vector<TimeSpan> intervals;
  // scenes
  std::vector<TimeValue> cuts;  // time of the first frame of the new scene, scdet score
  int64_t frames = 0;
  // tempo
  double bpm = 0;  // <= 0: no steady beat (see reason)
  double tempo_confidence = 0;
  std::vector<double> beats_sec;
  // key
  int tonic = -1;  // pitch class 0 (C) .. 11 (B); -1: none (see reason)
  bool minor = false;
  double key_confidence = 0;
  std::array<double, 12> chroma{};
  // fingerprint
  std::string chromaprint;  // empty: none (see reason)
  double chromaprint_duration_sec = 0;
  std::vector<FrameHashValue> frame_hashes;
  // highlights: the feature series the ranking reads (native/lib/highlights.ts)
  double feature_step_sec = 0;
  std::vector<double> feature_loudness;  // momentary loudness per step (LUFS, floored at -120); empty: no audio
  std::vector<double> feature_rms_db;    // RMS level per step (dBFS, floored at -120): pauses between words
  std::vector<double> feature_motion;    // mean scdet mafd of the frames in each step (-1: no frame); empty: no video
  // waveform: the mono down-mix's lowest and highest sample in each bucket of bucket_sec, from
  // start_sec on (-1..1 for float audio; integer formats are scaled into that range)
  double bucket_sec = 0;
  double waveform_start_sec = 0;
  int waveform_sample_rate = 0;
  std::vector<float> bucket_min;
  std::vector<float> bucket_max;
  std::string reason;
};

// What an analysis is handed about the input's streams when it opens.
struct AnalysisInput {
  const AVCodecContext* audio = nullptr;  // the audio decoder, or null when the input has no audio
  AVRational audio_time_base{1, 1};
  const AVCodecParameters* video = nullptr;  // the video stream, or null when it has none
  AVRational video_time_base{1, 1};
  AVRational video_frame_rate{0, 1};
  Orientation orientation;
  double duration_sec = -1;  // the container's, negative when unknown
};

class Analysis {
 public:
  virtual ~Analysis() = default;
  // Decoded frames on the repaired timeline (pts in the stream's time base); borrowed for the call.
  virtual void PushVideo(AVFrame* frame) = 0;
  virtual void PushAudio(AVFrame* frame) = 0;
  // Decoded audio as the decoder gave it, before the timeline repair places it (no silence filled
  // in, no second copy dropped): what a tool that reads the file naively hears (fpcalc).
  virtual void PushDecodedAudio(AVFrame*) {}
  // The input has no more packets; decoders are about to hand out what they held back.
  virtual void EndOfPackets() {}
  // Whether it needs nothing more of the input (the run may stop reading when every output is).
  virtual bool done() const { return false; }
  // End of input: flush, close what is still open at the media's end, fill the report.
  virtual void Finish(double video_end_sec, double audio_end_sec) = 0;
  virtual bool wants_video() const = 0;
  virtual bool wants_audio() const = 0;
  const AnalysisReport& report() const { return report_; }
  // The latest input time this analysis has measured (its progress).
  double reached_sec() const { return reached_sec_; }

 protected:
  AnalysisReport report_;
  double reached_sec_ = 0;
};

// Which streams an analysis kind can use; `needs_*` say which it cannot do without.
struct AnalysisNeeds {
  bool audio = false;
  bool video = false;
  bool either = false;  // audio or video, whichever the input has (fingerprint, highlights)
};
AnalysisNeeds NeedsOf(const std::string& kind);

// Throws kInputNoStreams naming the missing stream, kUnsupported for an unknown kind.
std::unique_ptr<Analysis> MakeAnalysis(const AnalysisSettings& settings, const AnalysisInput& input,
                                       const RunControl* control);

}  // namespace fw::av
