#include "transcode.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "decoder.h"
#include "encoder.h"
#include "filter_graph.h"
#include "input_file.h"
#include "log.h"
#include "limiter.h"
#include "loudness.h"
#include "output_file.h"
#include "still_image.h"
#include "subtitles.h"
#include "thumbnails.h"
#include "timeline.h"

namespace fw::av {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kProgressInterval = std::chrono::milliseconds(200);
// How far past the last trim end the demuxer reads before stopping: B-frame reordering and
// interleaving put packets of earlier frames after later ones.
constexpr double kTrimReadMarginSec = 2.0;
// Loudness normalization with limiting: rehearsals of the limited gain, and when to stop.
constexpr int kMaxRehearsals = 2;
constexpr double kRehearsalToleranceLu = 0.25;
constexpr double kMaxMakeupDb = 6.0;
// The true peak a normalized output may have once encoded, and how far under it a second encode aims.
constexpr double kMaxTruePeakDbtp = -1.0;
// A still image counts as one frame at 25 fps (image demuxers' default rate).
constexpr double kStillDurationSec = 0.04;
constexpr double kOvershootMarginDb = 0.3;

// One decoded audio stream of the input: its decoder and repaired timeline, shared by every output
// (and analysis) that takes it.
struct AudioTrack {
  int index = -1;
  std::unique_ptr<Decoder> decoder;
  AudioTimeline timeline;
  struct {
    int format = -1;
    int sample_rate = 0;
    int channels = 0;
  } format;  // what the track's audio graphs were configured for
};

// One stream of one output: its own filter graph and encoder, muxed into out_stream.
struct StreamPipeline {
  AudioTrack* track = nullptr;  // audio: the decoded stream it takes
  std::unique_ptr<FilterGraph> filter;
  // Loudness normalization past the ceiling: the limiter, then the conversion to the encoder's format.
  std::unique_ptr<TruePeakLimiter> limiter;
  std::unique_ptr<FilterGraph> post;
  std::unique_ptr<Encoder> encoder;
  int out_stream = -1;
  double keyframe_interval_sec = 0;
  double next_keyframe_sec = 0;
};

struct OutputPipeline {
  const OutputSettings* settings = nullptr;
  // Declared first so it is destroyed last, after the encoders that feed it.
  std::unique_ptr<OutputFile> file;
  std::unique_ptr<StreamPipeline> video;
  std::unique_ptr<StreamPipeline> audio;
  std::vector<std::unique_ptr<StreamPipeline>> more_audio;  // the further tracks it keeps
  std::vector<std::unique_ptr<SubtitleTrackWriter>> subtitle_tracks;  // cues written as the media passes them
  int audio_copy_stream = -1;  // >= 0: the input's audio packets go here unchanged
  int64_t video_packets = 0;
  double end_time_sec = 0;
};

class Run {
 public:
  Run(const TranscodeSettings& settings, const std::atomic<bool>& cancel, const ProgressFn& on_progress,
      TranscodeResult* result)
      : settings_(settings),
        control_(&cancel, settings.stall_timeout_ms),
        on_progress_(on_progress),
        result_(result) {}

  const RunControl& control() const { return control_; }

  void Execute() {
    started_ = Clock::now();
    result_->outputs.assign(settings_.outputs.size(), OutputReport{});
    OpenInput();
    MeasureLoudnessIfAsked();
    for (size_t i = 0; i < settings_.outputs.size(); i++) OpenOutput(settings_.outputs[i], &result_->outputs[i]);
    for (const ThumbnailSettings& thumbnails : settings_.thumbnails) OpenThumbnails(thumbnails);
    OpenAnalyses();
    for (const SubtitleExtractSettings& extract : settings_.subtitles) {
      extracts_.push_back(std::make_unique<SubtitleExtract>(extract, *input_, &control_));
    }
    Pump();
    Flush();
    RequireDecodedStreams();
    FinishAnalyses();
    for (auto& extract : extracts_) {
      extract->Finish();
      result_->subtitles.push_back(extract->report());
    }
    for (OutputPipeline& output : outputs_) output.file->Finish();
    for (size_t i = 0; i < outputs_.size(); i++) Expect(outputs_[i], &result_->outputs[i]);
    MeasureWrittenLoudness();
    for (const auto& set : thumbnail_sets_) result_->thumbnails.push_back(set->report());
    Report(true);
  }

 private:
  static bool Normalized(const OutputSettings& output) {
    return output.audio && !output.audio->copy && output.audio->loudness_target_lufs < 0;
  }

  static AudioEncodeSettings EncodeSettings(const AudioSettings& a) {
    return AudioEncodeSettings{a.encoder, a.bitrate_kbps, a.channels, a.sample_rate};
  }

  // First pass: each normalized output's own audio (trim window, channels, rate), one decode for all.
  void MeasureLoudnessIfAsked() {
    std::vector<LoudnessWindow> windows;
    std::vector<size_t> owners;
    for (size_t i = 0; i < settings_.outputs.size(); i++) {
      const OutputSettings& output = settings_.outputs[i];
      if (!Normalized(output)) continue;
      AudioTrack* track = TrackFor(*output.audio);
      if (track == nullptr) Fail(ErrorCode::kInputNoStreams, "loudness normalization needs an audio stream");
      Encoder::AudioTarget target = Encoder::AudioTargetFor(track->decoder->ctx(), EncodeSettings(*output.audio));
      windows.push_back(
          LoudnessWindow{output.trim_start, output.trim_end, target.channels, target.sample_rate, track->index});
      owners.push_back(i);
    }
    if (windows.empty()) return;
    // One measuring decode per audio stream, for every window cut from it.
    std::vector<Loudness> measured(windows.size());
    std::vector<bool> done(windows.size(), false);
    for (size_t i = 0; i < windows.size(); i++) {
      if (done[i]) continue;
      std::vector<size_t> group;
      std::vector<LoudnessWindow> same;
      for (size_t j = i; j < windows.size(); j++) {
        if (windows[j].stream_index != windows[i].stream_index) continue;
        group.push_back(j);
        same.push_back(windows[j]);
        done[j] = true;
      }
      std::vector<Loudness> got = MeasureLoudness(settings_.input_path, same, &control_);
      for (size_t k = 0; k < group.size(); k++) measured[group[k]] = got[k];
    }
    loudness_.assign(settings_.outputs.size(), Loudness{});
    normalization_.assign(settings_.outputs.size(), Normalization{});
    for (size_t i = 0; i < owners.size(); i++) {
      const AudioSettings& a = *settings_.outputs[owners[i]].audio;
      loudness_[owners[i]] = measured[i];
      double ceiling = a.ceiling_override_dbtp < 0 ? a.ceiling_override_dbtp : LimiterCeilingDbtp(a.encoder);
      Normalization plan = PlanNormalization(measured[i], a.loudness_target_lufs, ceiling);
      // Limiting takes loudness away (much of it on peaky speech): rehearse the limited gain and
      // make up the difference, at most twice.
      for (int attempt = 0; plan.limit && attempt < kMaxRehearsals; attempt++) {
        double got = RehearseLimitedLoudness(settings_.input_path, windows[i], plan.gain_db, plan.ceiling_dbtp, &control_);
        double deficit = a.loudness_target_lufs - got;
        if (std::fabs(deficit) < kRehearsalToleranceLu || got <= -69.9) break;
        plan.gain_db += std::clamp(deficit, -kMaxMakeupDb, kMaxMakeupDb);
      }
      normalization_[owners[i]] = plan;
    }
  }

  // Third pass: what was written, read back for the output's facts.
  void MeasureWrittenLoudness() {
    for (size_t i = 0; i < settings_.outputs.size(); i++) {
      if (!Normalized(settings_.outputs[i])) continue;
      OutputReport& report = result_->outputs[i];
      for (const OutputPipeline& output : outputs_) {
        if (output.settings == &settings_.outputs[i] && output.audio && output.audio->limiter) {
          report.limited = output.audio->limiter->limited();
        }
      }
      Loudness written = MeasureLoudness(settings_.outputs[i].path, {LoudnessWindow{}}, &control_).front();
      report.loudness_output_lufs = written.integrated_lufs;
      report.true_peak_dbtp = written.true_peak_dbtp;
    }
  }

  void OpenInput() {
    input_ = std::make_unique<InputFile>(settings_.input_path, &control_);
    bool wants_video = !settings_.thumbnails.empty();
    bool decodes_audio = false;
    bool wants_audio = false;
    for (const OutputSettings& output : settings_.outputs) {
      wants_video = wants_video || output.video.has_value();
      wants_audio = wants_audio || output.audio.has_value();
      decodes_audio = decodes_audio || (output.audio && !output.audio->copy && output.audio->stream_index < 0);
    }
    for (const AnalysisSettings& analysis : settings_.analyses) {
      AnalysisNeeds needs = NeedsOf(analysis.kind);
      wants_video = wants_video || needs.video || needs.either;
      wants_audio = wants_audio || needs.audio || needs.either;
      decodes_audio = decodes_audio || needs.audio || needs.either;
    }
    video_index_ = wants_video ? input_->BestStream(AVMEDIA_TYPE_VIDEO) : -1;
    audio_index_ = wants_audio ? input_->BestStream(AVMEDIA_TYPE_AUDIO) : -1;
    if (video_index_ < 0 && audio_index_ < 0 && settings_.analyses.empty() && settings_.subtitles.empty()) {
      Fail(ErrorCode::kInputNoStreams, "the input has no video or audio stream the plan can use");
    }
    if (!settings_.thumbnails.empty() && video_index_ < 0) {
      Fail(ErrorCode::kInputNoStreams, "thumbnails need a video stream and the input has none");
    }
    // The input's video is read even when no output decodes it: its packet times are the clock
    // that tells real audio gaps from bogus audio timestamps (timeline.h).
    clock_index_ = video_index_ >= 0 ? video_index_ : input_->BestStream(AVMEDIA_TYPE_VIDEO);
    bool resets = (input_->ctx()->iformat->flags & AVFMT_TS_DISCONT) != 0;
    copy_timeline_ = AudioTimeline(resets);
    video_timeline_ = VideoTimeline(resets);
    video_clock_.present = clock_index_ >= 0;
    // The audio streams decoded: the best one when an output or analysis takes it, and each stream
    // an output chose (validated here, so a bad choice fails before anything is written).
    std::vector<int> decoded;
    if (audio_index_ >= 0 && decodes_audio) decoded.push_back(audio_index_);
    for (const OutputSettings& output : settings_.outputs) {
      if (!output.audio || output.audio->copy) continue;
      std::vector<int> chosen = output.audio->more_streams;
      if (output.audio->stream_index >= 0) chosen.insert(chosen.begin(), output.audio->stream_index);
      if (!output.audio->more_streams.empty() && Normalized(output)) {
        Fail(ErrorCode::kUnsupported, "loudness normalization takes one audio track");
      }
      for (int index : chosen) {
        if (static_cast<unsigned>(index) >= input_->ctx()->nb_streams ||
            input_->stream(index)->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) {
          Fail(ErrorCode::kInputNoStreams, "the input has no audio stream at index " + std::to_string(index));
        }
        if (std::find(decoded.begin(), decoded.end(), index) == decoded.end()) decoded.push_back(index);
      }
    }
    std::vector<int> kept = {clock_index_, audio_index_};
    kept.insert(kept.end(), decoded.begin(), decoded.end());
    for (const SubtitleExtractSettings& extract : settings_.subtitles) kept.push_back(extract.stream_index);
    input_->KeepOnly(kept);
    if (video_index_ >= 0) {
      const AVStream* stream = input_->stream(video_index_);
      video_decoder_ = std::make_unique<Decoder>(input_->ctx(), input_->stream(video_index_));
      size_t size = 0;
      const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
      orientation_ = OrientationFromMatrix(size >= 9 * sizeof(int32_t) ? reinterpret_cast<const int32_t*>(matrix)
                                                                        : nullptr);
      // A still image's orientation lives in its EXIF data, which FFmpeg's decoder turns into a
      // display matrix on the decoded frame: decode it once up front so every graph knows it.
      if (orientation_.identity() && input_->IsStillImage()) {
        orientation_ = StillOrientation(settings_.input_path, &control_);
      }
    }
    for (int index : decoded) {
      auto track = std::make_unique<AudioTrack>();
      track->index = index;
      track->decoder = std::make_unique<Decoder>(input_->ctx(), input_->stream(index));
      track->timeline = AudioTimeline(resets);
      // The decoder updates its context when damage changes the stream; the graphs keep these.
      const AVCodecContext* a = track->decoder->ctx();
      track->format = {a->sample_fmt, a->sample_rate, a->ch_layout.nb_channels};
      if (index == audio_index_ && decodes_audio) main_audio_ = track.get();
      audio_tracks_.push_back(std::move(track));
    }
    packet_ = MakePacket();

    // Trimmed outputs only: start reading at the earliest trim start, stop a little after the
    // latest trim end. Thumbnails read the whole input.
    double earliest_start = 1e18;
    double latest_end = 0;
    // Thumbnails, analyses and subtitle extractions read the whole input.
    bool all_end = settings_.thumbnails.empty() && settings_.analyses.empty() && settings_.subtitles.empty();
    for (const OutputSettings& output : settings_.outputs) {
      earliest_start = std::min(earliest_start, output.trim_start);
      if (output.trim_end > 0) latest_end = std::max(latest_end, output.trim_end);
      else all_end = false;
    }
    if (all_end && earliest_start > 0 && earliest_start < 1e18) {
      input_->SeekTo(earliest_start, video_index_ >= 0  ? video_index_
                                     : audio_index_ >= 0 ? audio_index_
                                                         : (decoded.empty() ? -1 : decoded.front()));
    }
    stop_after_sec_ = all_end && latest_end > 0 ? latest_end + kTrimReadMarginSec : -1;
  }

  AVBufferRef* Device(const std::string& type) {
    if (type.empty()) return nullptr;
    auto found = devices_.find(type);
    if (found != devices_.end()) return found->second.get();
    AVHWDeviceType device_type = av_hwdevice_find_type_by_name(type.c_str());
    if (device_type == AV_HWDEVICE_TYPE_NONE) Fail(ErrorCode::kUnsupported, "no " + type + " support in this FFmpeg");
    AVBufferRef* raw = nullptr;
    int ret = av_hwdevice_ctx_create(&raw, device_type, nullptr, nullptr, 0);
    if (ret < 0) Fail(ErrorCode::kUnsupported, "could not open the " + type + " device", ret);
    devices_[type] = BufferRefPtr(raw);
    return raw;
  }

  // Filters and encoders are opened before the header is written, since the muxer needs every
  // encoder's extradata (global headers) up front.
  void OpenOutput(const OutputSettings& settings, OutputReport* report) {
    OutputPipeline output;
    output.settings = &settings;
    if (settings.container == "hls" && !video_decoder_) {
      Fail(ErrorCode::kInputNoStreams,
           "an HLS ladder is cut by picture height and needs a video stream; the input has none (ask for an audio output)");
    }
    OutputFile::Options options{settings.hls_segment_sec, settings.hls_segment_pattern, settings.loop};
    output.file = std::make_unique<OutputFile>(settings.path, settings.container, &control_, options);
    bool global_header = output.file->NeedsGlobalHeader();
    if (settings.video && video_decoder_) {
      const VideoSettings& v = *settings.video;
      auto pipeline = std::make_unique<StreamPipeline>();
      const AVStream* stream = input_->stream(video_index_);
      VideoChain chain;
      chain.trim_start = settings.trim_start;
      chain.trim_end = settings.trim_end;
      chain.orientation = v.auto_rotate ? orientation_ : Orientation{};
      chain.crop_x = v.crop_x;
      chain.crop_y = v.crop_y;
      chain.crop_width = v.crop_width;
      chain.crop_height = v.crop_height;
      chain.max_width = v.max_width;
      chain.max_height = v.max_height;
      chain.fps = AVRational{v.fps_num, v.fps_den};
      chain.pix_fmt = Encoder::VideoPixelFormat(v.encoder);
      chain.palette = v.palette;
      FramePtr watermark;
      if (!v.watermark_path.empty()) {
        watermark = DecodeStill(v.watermark_path, &control_);
        chain.watermark = watermark.get();
        chain.watermark_corner = v.watermark_corner;
        chain.watermark_margin = v.watermark_margin;
        chain.watermark_opacity = v.watermark_opacity;
        chain.watermark_width_fraction = v.watermark_width_fraction;
      }
      chain.subtitles_path = v.subtitles_path;
      chain.fonts_dir = v.fonts_dir;
      pipeline->filter =
          FilterGraph::ForVideo(stream->codecpar, video_decoder_->time_base(), video_decoder_->frame_rate(), chain);
      VideoEncodeSettings encode;
      encode.encoder = v.encoder;
      encode.crf = v.crf;
      encode.bitrate_kbps = v.bitrate_kbps;
      encode.preset = v.preset;
      encode.speed = v.speed;
      encode.forced_keyframes = v.keyframe_interval_sec > 0;
      encode.hw_device = Device(v.hw_device);
      encode.quality = v.quality;
      pipeline->encoder = Encoder::ForVideo(*pipeline->filter, video_decoder_->frame_rate(), encode, global_header);
      pipeline->keyframe_interval_sec = v.keyframe_interval_sec;
      pipeline->out_stream = output.file->AddStream(pipeline->encoder->ctx());
      output.video = std::move(pipeline);
      report->video_encoder = v.encoder;
    }
    AudioTrack* track = settings.audio && !settings.audio->copy ? TrackFor(*settings.audio) : nullptr;
    if (settings.audio && (track != nullptr || (settings.audio->copy && audio_index_ >= 0))) {
      const AudioSettings& a = *settings.audio;
      if (a.copy) {
        has_copy_outputs_ = true;
        output.audio_copy_stream = output.file->AddCopyStream(input_->stream(audio_index_));
      } else {
        auto pipeline = std::make_unique<StreamPipeline>();
        pipeline->track = track;
        pipeline->encoder = Encoder::ForAudio(track->decoder->ctx(), EncodeSettings(a), global_header);
        const AVCodecContext* encoder = pipeline->encoder->ctx();
        AudioChain chain;
        chain.trim_start = settings.trim_start;
        chain.trim_end = settings.trim_end;
        double ceiling_dbtp = 0;
        if (Normalized(settings)) {
          const Loudness& measured = loudness_.at(static_cast<size_t>(report - result_->outputs.data()));
          const Normalization& plan = normalization_.at(static_cast<size_t>(report - result_->outputs.data()));
          chain.gain_db = plan.gain_db;
          chain.for_limiter = plan.limit;
          ceiling_dbtp = plan.ceiling_dbtp;
          report->limiter_ceiling_dbtp = plan.ceiling_dbtp;
          report->loudness_input_lufs = measured.integrated_lufs;
          report->gain_db = plan.gain_db;
        }
        pipeline->filter =
            FilterGraph::ForAudio(track->decoder->ctx(), track->decoder->time_base(), encoder, chain);
        if (chain.for_limiter) {
          pipeline->limiter = std::make_unique<TruePeakLimiter>(encoder->ch_layout.nb_channels, encoder->sample_rate,
                                                                encoder->ch_layout, ceiling_dbtp);
          pipeline->post = FilterGraph::ForEncoderInput(pipeline->filter->output_time_base(), encoder);
        }
        pipeline->out_stream = output.file->AddStream(pipeline->encoder->ctx(), input_->stream(track->index));
        output.audio = std::move(pipeline);
        // The further tracks kept: each its own graph and encoder, the same settings, untouched level.
        for (int index : a.more_streams) {
          AudioTrack* more = FindTrack(index);
          auto extra = std::make_unique<StreamPipeline>();
          extra->track = more;
          extra->encoder = Encoder::ForAudio(more->decoder->ctx(), EncodeSettings(a), global_header);
          AudioChain plain;
          plain.trim_start = settings.trim_start;
          plain.trim_end = settings.trim_end;
          extra->filter = FilterGraph::ForAudio(more->decoder->ctx(), more->decoder->time_base(),
                                                extra->encoder->ctx(), plain);
          extra->out_stream = output.file->AddStream(extra->encoder->ctx(), input_->stream(index));
          output.more_audio.push_back(std::move(extra));
        }
      }
    }
    if (!output.video && !output.audio && output.audio_copy_stream < 0) {
      Fail(ErrorCode::kInputNoStreams, "the input has none of the streams output " + settings.path + " needs");
    }
    for (const SubtitleTrackSettings& track : settings.subtitle_tracks) {
      output.subtitle_tracks.push_back(
          std::make_unique<SubtitleTrackWriter>(track, output.file.get(), PlannedDurationSec(settings)));
    }
    output.file->Open();
    outputs_.push_back(std::move(output));
  }

  void OpenThumbnails(const ThumbnailSettings& settings) {
    const AVStream* stream = input_->stream(video_index_);
    double duration = input_->DurationSec();
    if (duration <= 0 && settings.count > 0) {
      // Evenly spaced thumbnails need the length the container does not give: measure it.
      duration = input_->IsStillImage() ? kStillDurationSec : InputFile::ScanDurationSec(settings_.input_path, &control_);
    }
    thumbnail_sets_.push_back(std::make_unique<ThumbnailSet>(settings, stream->codecpar, video_decoder_->time_base(),
                                                             video_decoder_->frame_rate(), orientation_, duration,
                                                             &control_));
    thumbnail_reached_sec_.push_back(0);
  }

  void Pump() {
    while (true) {
      if (control_.ShouldStop()) Fail(ErrorCode::kCanceled, "stopped");
      if (!input_->Read(packet_.get())) return;
      control_.Touch();
      PacketUnref unref(packet_.get());
      const AVStream* stream = input_->stream(packet_->stream_index);
      if (PastTrimEnds()) return;
      int64_t read_ts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
      if (read_ts != AV_NOPTS_VALUE) read_sec_ = std::max(read_sec_, read_ts * av_q2d(stream->time_base));
      for (auto& extract : extracts_) {
        if (extract->stream_index() == packet_->stream_index) extract->Push(packet_.get());
      }
      if (packet_->stream_index == clock_index_) {
        int64_t ts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
        if (ts != AV_NOPTS_VALUE) video_clock_.reached_sec = std::max(video_clock_.reached_sec, ts * av_q2d(stream->time_base));
      }
      if (packet_->stream_index == video_index_) {
        video_decoder_->Decode(packet_.get(), [this](AVFrame* frame) { OnVideoFrame(frame); });
      } else {
        if (packet_->stream_index == audio_index_ && has_copy_outputs_) CopyAudio(stream);
        for (auto& track : audio_tracks_) {
          if (track->index != packet_->stream_index) continue;
          AudioTrack* t = track.get();
          t->decoder->Decode(packet_.get(), [this, t](AVFrame* frame) { OnAudioFrame(*t, frame); });
        }
      }
      if (outputs_.empty() && ThumbnailsDone() && AnalysesDone() && extracts_.empty()) return;
      Report(false);
    }
  }

  // Every trimmed output is complete once each stream it is cut from has been placed (repaired
  // timeline, not raw packet times: a bogus timestamp must not end the read early) past its end.
  bool PastTrimEnds() const {
    if (stop_after_sec_ <= 0) return false;
    auto past = [this](bool used, double end) { return !used || end > stop_after_sec_; };
    for (const auto& track : audio_tracks_) {
      if (!past(true, track->timeline.end_sec())) return false;
    }
    return past(video_decoder_ != nullptr, video_timeline_.end_sec()) && past(has_copy_outputs_, copy_timeline_.end_sec());
  }

  bool AnalysesDone() const {
    for (const auto& analysis : analyses_) {
      if (!analysis->done()) return false;
    }
    return true;
  }

  bool ThumbnailsDone() const {
    for (const auto& set : thumbnail_sets_) {
      if (!set->Done()) return false;
    }
    return true;
  }

  // Every analysis output, in the decode: each gets the decoded streams it uses.
  void OpenAnalyses() {
    if (settings_.analyses.empty()) return;
    AnalysisInput input;
    if (main_audio_ != nullptr) {
      input.audio = main_audio_->decoder->ctx();
      input.audio_time_base = main_audio_->decoder->time_base();
    }
    if (video_decoder_) {
      input.video = input_->stream(video_index_)->codecpar;
      input.video_time_base = video_decoder_->time_base();
      input.video_frame_rate = video_decoder_->frame_rate();
      input.orientation = orientation_;
    }
    input.duration_sec = input_->DurationSec();
    for (const AnalysisSettings& settings : settings_.analyses) analyses_.push_back(MakeAnalysis(settings, input, &control_));
  }

  void FinishAnalyses() {
    if (analyses_.empty()) return;
    // A still image lasts one frame (its packet has no duration).
    double video_end = video_decoder_ ? std::max(video_timeline_.end_sec(), input_->IsStillImage() ? kStillDurationSec : 0.0)
                                      : -1;
    double audio_end = MainAudioEndSec();
    for (auto& analysis : analyses_) {
      analysis->Finish(video_end, audio_end);
      result_->analyses.push_back(analysis->report());
    }
  }

  // A decoded video frame, its timestamp repaired (timeline.h), to every output that takes video.
  void OnVideoFrame(AVFrame* frame) {
    AVRational tb = video_decoder_->time_base();
    double raw = frame->pts != AV_NOPTS_VALUE ? frame->pts * av_q2d(tb) : -1;
    AVRational rate = video_decoder_->frame_rate();
    double duration = frame->pkt_duration > 0 ? frame->pkt_duration * av_q2d(tb)
                      : rate.num > 0 && rate.den > 0 ? av_q2d(av_inv_q(rate))
                                                     : 0;
    VideoTimeline::Verdict verdict = video_timeline_.Place(raw, duration, MainAudioEndSec());
    if (!verdict.keep) return;
    frame->pts = std::llround(verdict.time_sec / av_q2d(tb));
    Distribute(frame, true);
  }

  // A decoded audio frame, timed by its samples (timeline.h); a gap the video confirms becomes silence.
  void OnAudioFrame(AudioTrack& track, AVFrame* frame) {
    // The audio graphs were configured from the stream's parameters; a frame that changed them
    // (damage in a codec header) cannot go through them: dropped, and counted as damage.
    if (frame->format != track.format.format || frame->sample_rate != track.format.sample_rate ||
        frame->ch_layout.nb_channels != track.format.channels) {
      track.decoder->CountError();
      return;
    }
    if (&track == main_audio_) {
      for (auto& analysis : analyses_) analysis->PushDecodedAudio(frame);
    }
    AVRational tb = track.decoder->time_base();
    double raw = frame->pts != AV_NOPTS_VALUE ? frame->pts * av_q2d(tb) : -1;
    double duration = frame->sample_rate > 0 ? static_cast<double>(frame->nb_samples) / frame->sample_rate : 0;
    AudioTimeline::Verdict verdict = track.timeline.Place(raw, duration, video_clock_);
    if (!verdict.keep) return;
    if (verdict.silence_sec > 0) {
      InsertSilence(track, frame, verdict.start_sec - verdict.silence_sec, verdict.silence_sec);
    }
    frame->pts = std::llround(verdict.start_sec / av_q2d(tb));
    Distribute(frame, false, &track);
  }

  // The decoded audio an output takes when it names no stream (the input's best), or null.
  AudioTrack* TrackFor(const AudioSettings& a) const {
    return a.stream_index < 0 ? main_audio_ : FindTrack(a.stream_index);
  }

  AudioTrack* FindTrack(int index) const {
    for (const auto& track : audio_tracks_) {
      if (track->index == index) return track.get();
    }
    Fail(ErrorCode::kEngineFailure, "audio stream " + std::to_string(index) + " was not opened");
  }

  // How far the best audio stream has been placed (the video timeline's reference), or -1.
  double MainAudioEndSec() const { return main_audio_ != nullptr ? main_audio_->timeline.end_sec() : -1; }

  // Silence in the decoded format, in frames of at most 4096 samples, from `start_sec` on.
  void InsertSilence(AudioTrack& track, const AVFrame* like, double start_sec, double seconds) {
    AVRational tb = track.decoder->time_base();
    int64_t total = std::llround(seconds * like->sample_rate);
    int64_t done = 0;
    while (done < total) {
      FramePtr silence = MakeFrame();
      silence->format = like->format;
      silence->sample_rate = like->sample_rate;
      silence->nb_samples = static_cast<int>(std::min<int64_t>(4096, total - done));
      int ret = av_channel_layout_copy(&silence->ch_layout, &like->ch_layout);
      if (ret >= 0) ret = av_frame_get_buffer(silence.get(), 0);
      if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not allocate silence", ret);
      av_samples_set_silence(silence->extended_data, 0, silence->nb_samples, silence->ch_layout.nb_channels,
                             static_cast<AVSampleFormat>(silence->format));
      silence->pts = std::llround((start_sec + static_cast<double>(done) / like->sample_rate) / av_q2d(tb));
      Distribute(silence.get(), false, &track);
      done += silence->nb_samples;
    }
  }

  // The input's audio packets as they are, to every output that copies audio: timed like decoded
  // audio (timeline.h), but a confirmed gap stays a gap (no silence can be made without decoding).
  void CopyAudio(const AVStream* stream) {
    AVRational tb = stream->time_base;
    double raw = packet_->pts != AV_NOPTS_VALUE ? packet_->pts * av_q2d(tb) : -1;
    double duration = packet_->duration > 0 ? packet_->duration * av_q2d(tb) : 0;
    AudioTimeline::Verdict verdict = copy_timeline_.Place(raw, duration, video_clock_);
    if (!verdict.keep) return;
    packet_->pts = std::llround(verdict.start_sec / av_q2d(tb));
    packet_->dts = packet_->pts;
    for (OutputPipeline& output : outputs_) {
      if (output.audio_copy_stream >= 0) Copy(output, stream);
    }
  }

  // Stream copy, trimmed at packet granularity (audio packets are all keyframes, a few ms long).
  void Copy(OutputPipeline& output, const AVStream* stream) {
    const OutputSettings& s = *output.settings;
    if (packet_->pts == AV_NOPTS_VALUE) return;
    double time = packet_->pts * av_q2d(stream->time_base);
    if (time < s.trim_start - 1e-6 || (s.trim_end > 0 && time >= s.trim_end)) return;
    PacketPtr copy = MakePacket();
    if (av_packet_ref(copy.get(), packet_.get()) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
    int64_t offset = static_cast<int64_t>(std::llround(s.trim_start / av_q2d(stream->time_base)));
    copy->pts -= offset;
    if (copy->dts != AV_NOPTS_VALUE) copy->dts -= offset;
    copy->pos = -1;
    double end = (copy->pts + copy->duration) * av_q2d(stream->time_base);
    output.end_time_sec = std::max(output.end_time_sec, end);
    WriteCues(output, (copy->dts != AV_NOPTS_VALUE ? copy->dts : copy->pts) * av_q2d(stream->time_base));
    output.file->Write(copy.get(), stream->time_base, output.audio_copy_stream);
  }

  // End of input: drain decoders, then close each graph, then drain each encoder.
  void Flush() {
    for (auto& analysis : analyses_) analysis->EndOfPackets();
    if (video_decoder_) video_decoder_->Decode(nullptr, [this](AVFrame* frame) { OnVideoFrame(frame); });
    for (auto& track : audio_tracks_) {
      AudioTrack* t = track.get();
      t->decoder->Decode(nullptr, [this, t](AVFrame* frame) { OnAudioFrame(*t, frame); });
    }
    for (auto& set : thumbnail_sets_) set->Push(nullptr);
    for (OutputPipeline& output : outputs_) {
      std::vector<StreamPipeline*> pipelines = {output.video.get(), output.audio.get()};
      for (const auto& extra : output.more_audio) pipelines.push_back(extra.get());
      for (StreamPipeline* pipeline : pipelines) {
        if (pipeline == nullptr) continue;
        Filter(output, *pipeline, nullptr);
        Limit(output, *pipeline, nullptr);
        pipeline->encoder->Encode(nullptr, pipeline->filter->output_time_base(),
                                  [&](AVPacket* packet) { Mux(output, *pipeline, packet); });
      }
      // Cues past the media's end are cut there: the file lasts as long as its media.
      for (auto& track : output.subtitle_tracks) track->Finish(output.end_time_sec);
    }
  }

  // Each subtitle track's cues the media has passed at `time_sec` go in beside a media packet at
  // that time (subtitles.h: when, and why the muxer still puts them in order).
  static void WriteCues(OutputPipeline& output, double time_sec) {
    for (auto& track : output.subtitle_tracks) track->WriteUntil(time_sec);
  }

  // One decoded frame goes to the matching stream of every output (and every thumbnail set and
  // analysis).
  void Distribute(AVFrame* frame, bool video, const AudioTrack* track = nullptr) {
    for (auto& analysis : analyses_) {
      if (video) {
        analysis->PushVideo(frame);
      } else if (track == main_audio_) {
        analysis->PushAudio(frame);
      }
    }
    for (OutputPipeline& output : outputs_) {
      StreamPipeline* pipeline = video ? output.video.get() : output.audio.get();
      if (pipeline != nullptr && (video || pipeline->track == track)) Filter(output, *pipeline, frame);
      if (video) continue;
      for (const auto& extra : output.more_audio) {
        if (extra->track == track) Filter(output, *extra, frame);
      }
    }
    if (video) {
      double time = frame->best_effort_timestamp != AV_NOPTS_VALUE
                        ? frame->best_effort_timestamp * av_q2d(video_decoder_->time_base())
                        : -1;
      for (size_t i = 0; i < thumbnail_sets_.size(); i++) {
        if (thumbnail_sets_[i]->Done()) continue;
        thumbnail_sets_[i]->Push(frame);
        if (time >= 0) thumbnail_reached_sec_[i] = std::max(thumbnail_reached_sec_[i], time);
      }
    }
  }

  void Filter(OutputPipeline& output, StreamPipeline& pipeline, AVFrame* frame) {
    pipeline.filter->Push(frame, [&](AVFrame* filtered) {
      if (pipeline.keyframe_interval_sec > 0 && filtered->pts != AV_NOPTS_VALUE) {
        // Force a keyframe on the first frame at or after each multiple of the interval. Every
        // rendition sees the same frame times, so their segments cut at the same instants.
        double time = filtered->pts * av_q2d(pipeline.filter->output_time_base());
        if (time + 1e-4 >= pipeline.next_keyframe_sec) {
          filtered->pict_type = AV_PICTURE_TYPE_I;
          pipeline.next_keyframe_sec =
              (std::floor((time + 1e-4) / pipeline.keyframe_interval_sec) + 1) * pipeline.keyframe_interval_sec;
        } else {
          filtered->pict_type = AV_PICTURE_TYPE_NONE;
        }
      }
      Limit(output, pipeline, filtered);
    });
  }

  // Filtered frames to the encoder, through the limiter when the output has one (nullptr: end of
  // stream, which flushes the limiter and its conversion graph).
  void Limit(OutputPipeline& output, StreamPipeline& pipeline, AVFrame* frame) {
    auto encode = [&](AVFrame* ready, AVRational time_base) {
      pipeline.encoder->Encode(ready, time_base, [&](AVPacket* packet) { Mux(output, pipeline, packet); });
    };
    if (!pipeline.limiter) {
      if (frame != nullptr) encode(frame, pipeline.filter->output_time_base());
      return;
    }
    auto convert = [&](AVFrame* limited) {
      pipeline.post->Push(limited, [&](AVFrame* ready) { encode(ready, pipeline.post->output_time_base()); });
    };
    pipeline.limiter->Push(frame, pipeline.filter->output_time_base(), convert);
    if (frame == nullptr) convert(nullptr);
  }

  void Mux(OutputPipeline& output, StreamPipeline& pipeline, AVPacket* packet) {
    control_.Touch();
    AVRational time_base = pipeline.encoder->time_base();
    if (&pipeline == output.video.get()) output.video_packets++;
    if (packet->pts != AV_NOPTS_VALUE) {
      double end = static_cast<double>(packet->pts + packet->duration) * av_q2d(time_base);
      output.end_time_sec = std::max(output.end_time_sec, end);
    }
    if (!output.subtitle_tracks.empty()) {
      int64_t ts = packet->dts != AV_NOPTS_VALUE ? packet->dts : packet->pts;
      if (ts != AV_NOPTS_VALUE) WriteCues(output, static_cast<double>(ts) * av_q2d(time_base));
    }
    output.file->Write(packet, time_base, pipeline.out_stream);
  }

  // A stream that decoded to nothing at all, with damage counted, is an input problem, said as such
  // (not an output that silently lacks the stream).
  void RequireDecodedStreams() const {
    auto check = [](const Decoder* decoder, double end, const char* type) {
      if (decoder == nullptr || end >= 0 || decoder->errors() == 0) return;
      Fail(ErrorCode::kInputUnreadable, std::string("the input's ") + type + " stream is damaged beyond use: none of its " +
                                            std::to_string(decoder->errors()) + " damaged packets could be decoded");
    };
    check(video_decoder_.get(), video_timeline_.end_sec(), "video");
    for (const auto& track : audio_tracks_) check(track->decoder.get(), track->timeline.end_sec(), "audio");
  }

  // What the written output must hold: the trim window within the media actually placed on the
  // repaired timelines of the streams it takes.
  void Expect(const OutputPipeline& output, OutputReport* report) const {
    const OutputSettings& s = *output.settings;
    report->expects_video = output.video != nullptr;
    report->expects_audio = output.audio != nullptr || output.audio_copy_stream >= 0;
    report->video_frames = output.video_packets;
    double end = -1;
    if (report->expects_video) end = std::max(end, video_timeline_.end_sec());
    if (output.audio) end = std::max(end, output.audio->track->timeline.end_sec());
    for (const auto& extra : output.more_audio) end = std::max(end, extra->track->timeline.end_sec());
    if (output.audio_copy_stream >= 0) end = std::max(end, copy_timeline_.end_sec());
    if (end < 0) return;
    double stop = s.trim_end > 0 ? std::min(s.trim_end, end) : end;
    report->expected_duration_sec = std::max(0.0, stop - s.trim_start);
  }

  // The duration an output will have: its trim window within the input; negative when unknown.
  double PlannedDurationSec(const OutputSettings& s) const {
    double input = input_->DurationSec();
    double end = s.trim_end > 0 ? (input > 0 ? std::min(input, s.trim_end) : s.trim_end) : input;
    if (end <= 0) return -1;
    return std::max(0.0, end - s.trim_start);
  }

  void Report(bool final) {
    if (!on_progress_) return;
    Clock::time_point now = Clock::now();
    if (!final && now - last_report_ < kProgressInterval) return;
    last_report_ = now;
    Progress progress;
    progress.elapsed_sec = std::chrono::duration<double>(now - started_).count();
    progress.outputs.reserve(outputs_.size());
    for (const OutputPipeline& output : outputs_) {
      OutputProgress entry;
      entry.frames = output.video_packets;
      entry.out_time_sec = output.end_time_sec;
      entry.duration_sec = PlannedDurationSec(*output.settings);
      progress.outputs.push_back(entry);
    }
    double input_duration = input_->DurationSec();
    progress.thumbnails.reserve(thumbnail_sets_.size());
    for (size_t i = 0; i < thumbnail_sets_.size(); i++) {
      // A thumbnail set advances with the decode position over the input; a finished set is whole.
      OutputProgress entry;
      entry.frames = static_cast<int64_t>(thumbnail_sets_[i]->report().files.size());
      entry.duration_sec = input_duration > 0 ? input_duration : -1;
      bool done = thumbnail_sets_[i]->Done();
      entry.out_time_sec = done && input_duration > 0 ? input_duration : thumbnail_reached_sec_[i];
      progress.thumbnails.push_back(entry);
    }
    // An analysis advances with the decode position of the streams it reads.
    progress.analyses.reserve(analyses_.size());
    for (const auto& analysis : analyses_) {
      OutputProgress entry;
      entry.duration_sec = input_duration > 0 ? input_duration : -1;
      entry.out_time_sec = final && input_duration > 0 ? input_duration : analysis->reached_sec();
      progress.analyses.push_back(entry);
    }
    // A subtitle extraction advances with the read position over the input (its stream is sparse).
    progress.subtitles.reserve(extracts_.size());
    for (const auto& extract : extracts_) {
      OutputProgress entry;
      entry.frames = extract->report().cues;
      entry.duration_sec = input_duration > 0 ? input_duration : -1;
      entry.out_time_sec = final && input_duration > 0 ? input_duration
                           : input_duration > 0        ? std::min(read_sec_, input_duration)
                                                       : read_sec_;
      progress.subtitles.push_back(entry);
    }
    on_progress_(progress);
  }

  const TranscodeSettings& settings_;
  RunControl control_;
  const ProgressFn& on_progress_;
  TranscodeResult* result_;
  Clock::time_point started_;
  Clock::time_point last_report_;
  std::vector<Loudness> loudness_;  // per output (normalized ones), from the first pass
  std::vector<Normalization> normalization_;  // per output: the gain and whether to limit

  // Destroyed in reverse: outputs (deleting unfinished files) first, then decoders, then input.
  std::map<std::string, BufferRefPtr> devices_;
  std::unique_ptr<InputFile> input_;
  std::unique_ptr<Decoder> video_decoder_;
  std::vector<std::unique_ptr<AudioTrack>> audio_tracks_;  // every audio stream decoded
  AudioTrack* main_audio_ = nullptr;  // the best audio stream, when decoded: analyses and the video timeline
  PacketPtr packet_;
  int video_index_ = -1;
  int audio_index_ = -1;
  Orientation orientation_;
  int clock_index_ = -1;  // the input's video stream, read for its packet times (timeline.h)
  VideoClock video_clock_;
  AudioTimeline copy_timeline_;
  VideoTimeline video_timeline_;
  bool has_copy_outputs_ = false;
  double stop_after_sec_ = -1;
  std::vector<OutputPipeline> outputs_;
  std::vector<std::unique_ptr<ThumbnailSet>> thumbnail_sets_;
  std::vector<std::unique_ptr<Analysis>> analyses_;
  std::vector<std::unique_ptr<SubtitleExtract>> extracts_;
  double read_sec_ = 0;  // the latest packet time read (input timeline)
  std::vector<double> thumbnail_reached_sec_;  // per set: the latest input time decoded for it
};

}  // namespace

namespace {

Failure RunOnce(const TranscodeSettings& settings, const std::atomic<bool>& cancel, const ProgressFn& on_progress,
                TranscodeResult* result) noexcept {
  // The run owns the watchdog; Guard only sees cancel, and the stall verdict is read from the run
  // before its objects are gone.
  RunControl control(&cancel, 0);
  bool stalled = false;
  Failure failure = Guard(&control, [&] {
    Run run(settings, cancel, on_progress, result);
    try {
      run.Execute();
    } catch (...) {
      stalled = run.control().Stalled();
      throw;
    }
  });
  if (!failure.ok() && stalled && !cancel.load()) {
    failure.code = ErrorCode::kStalled;
    failure.message = "no progress for " + std::to_string(settings.stall_timeout_ms) + " ms: the run was stopped";
  }
  return failure;
}

}  // namespace

Failure Transcode(const TranscodeSettings& settings, const std::atomic<bool>& cancel,
                  const ProgressFn& on_progress, TranscodeResult* result) noexcept {
  TakeLastLogLine();  // a pool thread may carry a line from an earlier job
  Failure failure = RunOnce(settings, cancel, on_progress, result);
  if (!failure.ok()) return failure;
  // A lossy encoder can still push a true peak over the limit (FFmpeg's AAC on dense masters adds
  // up to ~1.5 dB): those outputs are encoded once more with the ceiling lowered by the overshoot.
  TranscodeSettings again = settings;
  again.outputs.clear();
  again.thumbnails.clear();
  again.subtitles.clear();
  std::vector<size_t> redone;
  for (size_t i = 0; i < settings.outputs.size() && i < result->outputs.size(); i++) {
    const OutputSettings& output = settings.outputs[i];
    const OutputReport& report = result->outputs[i];
    if (!output.audio || output.audio->copy || output.audio->loudness_target_lufs >= 0) continue;
    if (report.true_peak_dbtp <= kMaxTruePeakDbtp) continue;
    OutputSettings lowered = output;
    lowered.audio->ceiling_override_dbtp =
        report.limiter_ceiling_dbtp - (report.true_peak_dbtp - kMaxTruePeakDbtp) - kOvershootMarginDb;
    again.outputs.push_back(lowered);
    redone.push_back(i);
  }
  if (redone.empty()) return failure;
  TranscodeResult second;
  failure = RunOnce(again, cancel, ProgressFn(), &second);
  if (!failure.ok()) return failure;
  for (size_t k = 0; k < redone.size() && k < second.outputs.size(); k++) result->outputs[redone[k]] = second.outputs[k];
  return failure;
}

}  // namespace fw::av
