#include "transcode.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>

#include "decoder.h"
#include "encoder.h"
#include "filter_graph.h"
#include "frame_worker.h"
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

// One decoded video stream of the input (an angle): its decoder, repaired timeline and the
// orientation its display matrix asks for, shared by every output and thumbnail set that takes it.
struct VideoTrack {
  int index = -1;
  std::unique_ptr<Decoder> decoder;
  VideoTimeline timeline;
  Orientation orientation;
};

// A value one thread writes and another reads without ordering anything else by it (progress
// counters); copyable, so the struct holding it stays movable.
template <typename T>
class Relaxed {
 public:
  explicit Relaxed(T value) : value_(value) {}
  Relaxed(const Relaxed& other) : value_(other.load()) {}
  Relaxed& operator=(const Relaxed& other) {
    store(other.load());
    return *this;
  }
  T load() const { return value_.load(std::memory_order_relaxed); }
  void store(T value) { value_.store(value, std::memory_order_relaxed); }
  // Only its one writer calls these, so load-then-store loses nothing.
  void Raise(T value) { store(std::max(load(), value)); }
  void Increment() { store(load() + 1); }

 private:
  std::atomic<T> value_;
};

// One stream of one output: its own filter graph and encoder, muxed into out_stream.
struct StreamPipeline {
  AudioTrack* track = nullptr;  // audio: the decoded stream it takes
  // Audio mix: the tracks it averages, track i into graph input i (track is the first).
  std::vector<AudioTrack*> mixed;
  VideoTrack* video_track = nullptr;  // video: the decoded stream it takes
  std::unique_ptr<FilterGraph> filter;
  // Loudness normalization past the ceiling: the limiter, then the conversion to the encoder's format.
  std::unique_ptr<TruePeakLimiter> limiter;
  std::unique_ptr<FilterGraph> post;
  std::unique_ptr<Encoder> encoder;
  int out_stream = -1;
  double keyframe_interval_sec = 0;
  double next_keyframe_sec = 0;
  // Video: outputs (indices in the run's outputs) whose graphs take this one's filtered pictures
  // instead of decoded ones, being smaller versions of the same picture (a ladder's renditions).
  std::vector<size_t> scaled_on_to;
  bool fed_by_larger = false;
  // Audio: further outputs muxing this encoder's packets (output index, stream there), their audio
  // being the same encode; and, on those outputs, the pipeline that only receives (no encoder).
  std::vector<std::pair<size_t, int>> shared_with;
  bool receives_shared = false;
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
  bool global_header = false;  // its muxer wants codec headers out of band (shared encodes must agree)
  // Written by whichever thread muxes this output, read by progress reports on the pipeline thread.
  Relaxed<int64_t> video_packets{0};
  Relaxed<double> end_time_sec{0};
  bool sent_past_end = false;  // on a worker: its window's end has been handed over (the trim ends there)
  // A silent output outside the scale cascade filters, encodes and muxes on a thread of its own
  // (frame_worker.h, StartWorkers), fed the decoded pictures of its window; null: on the pipeline
  // thread. Last, so it is destroyed first: its thread stops before the pipelines it uses go.
  std::unique_ptr<FrameWorker> worker;
};

class Run {
 public:
  Run(const TranscodeSettings& settings, const std::atomic<bool>& cancel, const ProgressFn& on_progress,
      TranscodeResult* result)
      : settings_(settings),
        control_(&cancel, settings.stall_timeout_ms),
        on_progress_(on_progress),
        result_(result) {}

  // The body runs before any member goes: outputs on their own threads stop at their next picture
  // instead of finishing a long drain (a GIF's held clip) for a run that is being abandoned.
  ~Run() { abandoned_.store(true, std::memory_order_relaxed); }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  const RunControl& control() const { return control_; }

  void Execute() {
    started_ = Clock::now();
    result_->outputs.assign(settings_.outputs.size(), OutputReport{});
    OpenInput();
    MeasureLoudnessIfAsked();
    PlanScaleCascade();
    outputs_.resize(settings_.outputs.size());
    for (size_t i : open_order_) OpenOutput(i);
    StartWorkers();
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
    // The main (best) video stream is decoded for whatever names no video track.
    bool wants_video = false;
    for (const ThumbnailSettings& thumbnails : settings_.thumbnails) wants_video = wants_video || thumbnails.stream_index < 0;
    bool decodes_audio = false;
    bool wants_audio = false;
    for (const OutputSettings& output : settings_.outputs) {
      wants_video = wants_video || (output.video.has_value() && output.video->stream_index < 0);
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
    std::vector<int> videos = ChosenVideoStreams();
    if (video_index_ < 0 && videos.empty() && audio_index_ < 0 && settings_.analyses.empty() &&
        settings_.subtitles.empty()) {
      Fail(ErrorCode::kInputNoStreams, "the input has no video or audio stream the plan can use");
    }
    for (const ThumbnailSettings& thumbnails : settings_.thumbnails) {
      if (thumbnails.stream_index < 0 && video_index_ < 0) {
        Fail(ErrorCode::kInputNoStreams, "thumbnails need a video stream and the input has none");
      }
    }
    if (video_index_ >= 0 && std::find(videos.begin(), videos.end(), video_index_) == videos.end()) {
      videos.insert(videos.begin(), video_index_);
    }
    // The input's video is read even when no output decodes it: its packet times are the clock
    // that tells real audio gaps from bogus audio timestamps (timeline.h).
    clock_index_ = video_index_ >= 0 ? video_index_ : input_->BestStream(AVMEDIA_TYPE_VIDEO);
    bool resets = (input_->ctx()->iformat->flags & AVFMT_TS_DISCONT) != 0;
    copy_timeline_ = AudioTimeline(resets);
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
    kept.insert(kept.end(), videos.begin(), videos.end());
    for (const SubtitleExtractSettings& extract : settings_.subtitles) kept.push_back(extract.stream_index);
    input_->KeepOnly(kept);
    for (int index : videos) {
      const AVStream* stream = input_->stream(index);
      auto track = std::make_unique<VideoTrack>();
      track->index = index;
      track->decoder = std::make_unique<Decoder>(input_->ctx(), input_->stream(index));
      track->timeline = VideoTimeline(resets);
      size_t size = 0;
      const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
      track->orientation = OrientationFromMatrix(size >= 9 * sizeof(int32_t) ? reinterpret_cast<const int32_t*>(matrix)
                                                                              : nullptr);
      // A still image's orientation lives in its EXIF data, which FFmpeg's decoder turns into a
      // display matrix on the decoded frame: decode it once up front so every graph knows it.
      if (track->orientation.identity() && input_->IsStillImage()) {
        track->orientation = StillOrientation(settings_.input_path, &control_);
      }
      if (index == video_index_) main_video_ = track.get();
      video_tracks_.push_back(std::move(track));
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
      input_->SeekTo(earliest_start, !videos.empty()    ? videos.front()
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
  void OpenOutput(size_t index) {
    const OutputSettings& settings = settings_.outputs[index];
    OutputReport* report = &result_->outputs[index];
    OutputPipeline output;
    output.settings = &settings;
    if (settings.container == "hls" && main_video_ == nullptr) {
      Fail(ErrorCode::kInputNoStreams,
           "an HLS or DASH ladder is cut by picture height and needs a video stream; the input has none (ask for an audio output)");
    }
    OutputFile::Options options{settings.hls_segment_sec, settings.hls_segment_pattern, settings.loop,
                                settings.hls_fmp4, settings.timeline_offset_sec};
    output.file = std::make_unique<OutputFile>(settings.path, settings.container, &control_, options);
    bool global_header = output.file->NeedsGlobalHeader();
    VideoTrack* video = settings.video ? VideoTrackFor(settings.video->stream_index) : nullptr;
    if (video != nullptr) {
      const VideoSettings& v = *settings.video;
      const Decoder* decoder = video->decoder.get();
      auto pipeline = std::make_unique<StreamPipeline>();
      pipeline->video_track = video;
      const AVStream* stream = input_->stream(video->index);
      VideoChain chain = ChainOf(settings, video->orientation);
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
      int larger = larger_of_[index];
      if (larger >= 0) {
        // Scaled on from the larger output's pictures, which are already upright, cropped and
        // trimmed: only the size this output computed from the input remains to be made.
        StreamPipeline& from = *outputs_[static_cast<size_t>(larger)].video;
        Size size = ChainOutputSize(stream->codecpar, chain);
        VideoChain rest;
        rest.exact_width = size.width;
        rest.exact_height = size.height;
        rest.pix_fmt = chain.pix_fmt;
        const AVFilterContext* sink = from.filter->sink();
        CodecParametersPtr pictures(avcodec_parameters_alloc());
        if (!pictures) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
        pictures->width = av_buffersink_get_w(sink);
        pictures->height = av_buffersink_get_h(sink);
        pictures->format = av_buffersink_get_format(sink);
        pictures->sample_aspect_ratio = av_buffersink_get_sample_aspect_ratio(sink);
        pipeline->filter = FilterGraph::ForVideo(pictures.get(), from.filter->output_time_base(),
                                                 av_buffersink_get_frame_rate(sink), rest);
        pipeline->fed_by_larger = true;
        from.scaled_on_to.push_back(index);
      } else {
        pipeline->filter = FilterGraph::ForVideo(stream->codecpar, decoder->time_base(), decoder->frame_rate(), chain);
      }
      VideoEncodeSettings encode;
      encode.encoder = v.encoder;
      encode.crf = v.crf;
      encode.bitrate_kbps = v.bitrate_kbps;
      encode.preset = v.preset;
      encode.speed = v.speed;
      encode.forced_keyframes = v.keyframe_interval_sec > 0;
      encode.hw_device = Device(v.hw_device);
      encode.quality = v.quality;
      encode.threads = v.hw_device.empty() ? EncoderThreads() : 0;
      pipeline->encoder = Encoder::ForVideo(*pipeline->filter, decoder->frame_rate(), encode, global_header);
      pipeline->keyframe_interval_sec = v.keyframe_interval_sec;
      // A chosen angle keeps its language and title tags, as a chosen audio track does.
      pipeline->out_stream =
          output.file->AddStream(pipeline->encoder->ctx(), v.stream_index >= 0 ? stream : nullptr);
      output.video = std::move(pipeline);
      report->video_encoder = v.encoder;
    }
    AudioTrack* track = settings.audio && !settings.audio->copy ? TrackFor(*settings.audio) : nullptr;
    if (settings.audio && (track != nullptr || (settings.audio->copy && audio_index_ >= 0))) {
      const AudioSettings& a = *settings.audio;
      if (a.copy) {
        has_copy_outputs_ = true;
        output.audio_copy_stream = output.file->AddCopyStream(input_->stream(audio_index_));
      } else if (a.mix) {
        output.audio = OpenMix(settings, global_header, output.file.get());
      } else if (StreamPipeline* same = SameAudioEncode(index, global_header)) {
        // The same encode as an output opened earlier: its packets are muxed here too.
        auto pipeline = std::make_unique<StreamPipeline>();
        pipeline->track = track;
        pipeline->receives_shared = true;
        pipeline->out_stream = output.file->AddStream(same->encoder->ctx(), input_->stream(track->index));
        same->shared_with.emplace_back(index, pipeline->out_stream);
        output.audio = std::move(pipeline);
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
    output.global_header = global_header;
    outputs_[index] = std::move(output);
  }

  // Outputs whose pictures differ only in size: each takes the smallest larger one's filtered
  // pictures instead of the decoded ones, so a 1080p source is scaled once to 720p, and 720p on
  // to 480p, rather than every rendition scaling the full picture (scaling cost grows with the
  // source size). Sets larger_of_ and an opening order with every larger output first.
  void PlanScaleCascade() {
    size_t n = settings_.outputs.size();
    larger_of_.assign(n, -1);
    std::vector<Size> sizes(n, Size{0, 0});
    std::vector<bool> eligible(n, false);
    for (size_t i = 0; i < n; i++) {
      const std::optional<VideoSettings>& v = settings_.outputs[i].video;
      if (!v || !v->watermark_path.empty() || !v->subtitles_path.empty() || v->palette || v->fps_num > 0 ||
          Encoder::VideoPixelFormat(v->encoder) != AV_PIX_FMT_YUV420P) {
        continue;
      }
      const VideoTrack* track = VideoTrackFor(v->stream_index);
      if (track == nullptr) continue;
      eligible[i] = true;
      sizes[i] = ChainOutputSize(input_->stream(track->index)->codecpar, ChainOf(settings_.outputs[i], track->orientation));
    }
    auto area = [&](size_t i) { return static_cast<int64_t>(sizes[i].width) * sizes[i].height; };
    for (size_t i = 0; i < n; i++) {
      if (!eligible[i]) continue;
      int best = -1;
      for (size_t j = 0; j < n; j++) {
        if (j == i || !eligible[j] || !SamePictureBesidesSize(settings_.outputs[i], settings_.outputs[j])) continue;
        bool contains = sizes[j].width >= sizes[i].width && sizes[j].height >= sizes[i].height;
        bool before = area(j) > area(i) || (area(j) == area(i) && j < i);  // never a cycle
        if (!contains || !before) continue;
        if (best < 0 || area(j) < area(static_cast<size_t>(best))) best = static_cast<int>(j);
      }
      larger_of_[i] = best;
    }
    // Parents open (and flush) before the outputs they feed: depth in the cascade, then plan order.
    std::vector<int> depth(n, 0);
    for (size_t i = 0; i < n; i++) {
      for (int at = larger_of_[i]; at >= 0; at = larger_of_[static_cast<size_t>(at)]) depth[i]++;
    }
    open_order_.resize(n);
    for (size_t i = 0; i < n; i++) open_order_[i] = i;
    std::stable_sort(open_order_.begin(), open_order_.end(), [&](size_t a, size_t b) { return depth[a] < depth[b]; });
  }

  // Frame threads per software video encoder. Alone, an encoder takes 1.5 per core (x264's own
  // default); a 4-rendition ladder then ran 12 frame threads on 2 cores, each holding frames in
  // flight: memory for no speed (its slot peaked at 620 MB, 575 MB with 2 each). Several encoders
  // share a budget of 3 per core, two each at least so none blocks the one thread that decodes and
  // filters for all; two encoders keep the default (fewer threads cost them CPU time, measured).
  int EncoderThreads() const {
    int encoders = 0;
    for (const OutputSettings& output : settings_.outputs) encoders += output.video ? 1 : 0;
    int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int share = (cores * 3 + encoders - 1) / std::max(1, encoders);
    if (encoders < 2 || share >= cores * 3 / 2) return 0;
    return std::max(2, share);
  }

  VideoChain ChainOf(const OutputSettings& s, const Orientation& orientation) const {
    const VideoSettings& v = *s.video;
    VideoChain chain;
    chain.trim_start = s.trim_start;
    chain.trim_end = s.trim_end;
    chain.orientation = v.auto_rotate ? orientation : Orientation{};
    chain.crop_x = v.crop_x;
    chain.crop_y = v.crop_y;
    chain.crop_width = v.crop_width;
    chain.crop_height = v.crop_height;
    chain.max_width = v.max_width;
    chain.max_height = v.max_height;
    return chain;
  }

  // Whether two outputs' pictures are the same apart from their size: same video track, window,
  // orientation and crop, nothing composited.
  static bool SamePictureBesidesSize(const OutputSettings& a, const OutputSettings& b) {
    const VideoSettings& x = *a.video;
    const VideoSettings& y = *b.video;
    return x.stream_index == y.stream_index && a.trim_start == b.trim_start && a.trim_end == b.trim_end && x.auto_rotate == y.auto_rotate &&
           x.crop_x == y.crop_x && x.crop_y == y.crop_y && x.crop_width == y.crop_width &&
           x.crop_height == y.crop_height;
  }

  // An output opened earlier whose audio is the very encode `index` asks for (same track, codec,
  // bitrate, channels, rate and window, no normalization, one track), or null. A ladder whose
  // renditions share an audio bitrate encodes it once.
  StreamPipeline* SameAudioEncode(size_t index, bool global_header) {
    const OutputSettings& s = settings_.outputs[index];
    const AudioSettings& a = *s.audio;
    if (Normalized(s) || a.mix || !a.more_streams.empty()) return nullptr;
    for (size_t j = 0; j < outputs_.size(); j++) {
      OutputPipeline& other = outputs_[j];
      if (j == index || !other.file || !other.audio || other.audio->receives_shared) continue;
      const OutputSettings& o = settings_.outputs[j];
      const AudioSettings& b = *o.audio;
      if (Normalized(o) || b.mix || !b.more_streams.empty() || other.global_header != global_header) continue;
      if (TrackFor(a) != TrackFor(b) || a.encoder != b.encoder || a.bitrate_kbps != b.bitrate_kbps ||
          a.channels != b.channels || a.sample_rate != b.sample_rate || s.trim_start != o.trim_start ||
          s.trim_end != o.trim_end) {
        continue;
      }
      return other.audio.get();
    }
    return nullptr;
  }

  // Outputs that share nothing with the others but the decoded pictures (silent, no subtitle
  // track, outside the scale cascade, a software encoder) go to threads of their own: previews
  // such as a GIF, whose palette filters and encoder would otherwise run on the one thread that
  // decodes and filters for every output, holding up the transcode's encoders meanwhile.
  // At most one such thread per core, in plan order: more would only add queued pictures (four
  // 4K frames, 48 MiB, per thread) and no speed; the rest stay on the pipeline thread.
  void StartWorkers() {
    std::vector<bool> feeds_another(outputs_.size(), false);
    for (int larger : larger_of_) {
      if (larger >= 0) feeds_another[static_cast<size_t>(larger)] = true;
    }
    size_t slots = std::max(1u, std::thread::hardware_concurrency());
    for (size_t i = 0; i < outputs_.size() && slots > 0; i++) {
      OutputPipeline& output = outputs_[i];
      const OutputSettings& s = *output.settings;
      if (!output.video || output.audio || !output.more_audio.empty() || output.audio_copy_stream >= 0 ||
          !output.subtitle_tracks.empty() || larger_of_[i] >= 0 || feeds_another[i] || !s.video->hw_device.empty()) {
        continue;
      }
      // A few pictures wait: enough to even out the two threads' pace, few enough to hold little.
      constexpr size_t kWaitingPictures = 4;
      output.worker = std::make_unique<FrameWorker>(
          [this, &output](AVFrame* frame) {
            if (frame != nullptr) {
              Filter(output, *output.video, frame);
            } else {
              EndStream(output, *output.video);
            }
          },
          kWaitingPictures);
      slots--;
    }
  }

  void OpenThumbnails(const ThumbnailSettings& settings) {
    VideoTrack* track = VideoTrackFor(settings.stream_index);
    const AVStream* stream = input_->stream(track->index);
    double duration = input_->DurationSec();
    if (duration <= 0 && settings.count > 0) {
      // Evenly spaced thumbnails need the length the container does not give: measure it.
      duration = input_->IsStillImage() ? kStillDurationSec : InputFile::ScanDurationSec(settings_.input_path, &control_);
    }
    thumbnail_sets_.push_back(std::make_unique<ThumbnailSet>(settings, stream->codecpar, track->decoder->time_base(),
                                                             track->decoder->frame_rate(), track->orientation, duration,
                                                             &control_));
    thumbnail_tracks_.push_back(track);
    thumbnail_reached_sec_.push_back(0);
  }

  void Pump() {
    while (true) {
      if (control_.ShouldStop()) Fail(ErrorCode::kCanceled, "stopped");
      for (OutputPipeline& output : outputs_) {
        if (output.worker) output.worker->ThrowIfFailed();
      }
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
      bool video = false;
      for (auto& track : video_tracks_) {
        if (track->index != packet_->stream_index) continue;
        VideoTrack* t = track.get();
        t->decoder->Decode(packet_.get(), [this, t](AVFrame* frame) { OnVideoFrame(*t, frame); });
        video = true;
      }
      if (!video) {
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
    for (const auto& track : video_tracks_) {
      if (!past(true, track->timeline.end_sec())) return false;
    }
    return past(has_copy_outputs_, copy_timeline_.end_sec());
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
    if (main_video_ != nullptr) {
      input.video = input_->stream(main_video_->index)->codecpar;
      input.video_time_base = main_video_->decoder->time_base();
      input.video_frame_rate = main_video_->decoder->frame_rate();
      input.orientation = main_video_->orientation;
    }
    input.duration_sec = input_->DurationSec();
    for (const AnalysisSettings& settings : settings_.analyses) analyses_.push_back(MakeAnalysis(settings, input, &control_));
  }

  void FinishAnalyses() {
    if (analyses_.empty()) return;
    // A still image lasts one frame (its packet has no duration).
    double video_end = main_video_ != nullptr ? std::max(main_video_->timeline.end_sec(),
                                                         input_->IsStillImage() ? kStillDurationSec : 0.0)
                                              : -1;
    double audio_end = MainAudioEndSec();
    for (auto& analysis : analyses_) {
      analysis->Finish(video_end, audio_end);
      result_->analyses.push_back(analysis->report());
    }
  }

  // A decoded video frame, its timestamp repaired (timeline.h), to every output that takes video.
  void OnVideoFrame(VideoTrack& track, AVFrame* frame) {
    AVRational tb = track.decoder->time_base();
    double raw = frame->pts != AV_NOPTS_VALUE ? frame->pts * av_q2d(tb) : -1;
    AVRational rate = track.decoder->frame_rate();
    double duration = frame->pkt_duration > 0 ? frame->pkt_duration * av_q2d(tb)
                      : rate.num > 0 && rate.den > 0 ? av_q2d(av_inv_q(rate))
                                                     : 0;
    VideoTimeline::Verdict verdict = track.timeline.Place(raw, duration, MainAudioEndSec());
    if (!verdict.keep) return;
    frame->pts = std::llround(verdict.time_sec / av_q2d(tb));
    DistributeVideo(frame, track);
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
    DistributeAudio(frame, &track);
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

  // The decoded video an output or thumbnail set takes (-1: the input's best), or null when the
  // input has no video.
  VideoTrack* VideoTrackFor(int stream_index) const {
    if (stream_index < 0) return main_video_;
    for (const auto& track : video_tracks_) {
      if (track->index == stream_index) return track.get();
    }
    Fail(ErrorCode::kEngineFailure, "video stream " + std::to_string(stream_index) + " was not opened");
  }

  // The input video streams outputs and thumbnail sets chose, checked: a moving picture each (an
  // attached picture such as cover art is not a video track).
  std::vector<int> ChosenVideoStreams() const {
    std::vector<int> chosen;
    auto add = [&](int index) {
      if (index < 0) return;
      if (static_cast<unsigned>(index) >= input_->ctx()->nb_streams ||
          input_->stream(index)->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
          (input_->stream(index)->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) {
        Fail(ErrorCode::kInputNoStreams, "the input has no video track at stream index " + std::to_string(index));
      }
      if (std::find(chosen.begin(), chosen.end(), index) == chosen.end()) chosen.push_back(index);
    };
    for (const OutputSettings& output : settings_.outputs) {
      if (output.video) add(output.video->stream_index);
    }
    for (const ThumbnailSettings& thumbnails : settings_.thumbnails) add(thumbnails.stream_index);
    return chosen;
  }

  // Several audio tracks averaged into one output track (AudioSettings::mix), as wide as the
  // widest and at the highest rate among them (as one track: capped at stereo, the encoder's rates).
  std::unique_ptr<StreamPipeline> OpenMix(const OutputSettings& settings, bool global_header, OutputFile* file) {
    const AudioSettings& a = *settings.audio;
    auto pipeline = std::make_unique<StreamPipeline>();
    std::vector<int> indices = {a.stream_index};
    indices.insert(indices.end(), a.more_streams.begin(), a.more_streams.end());
    std::vector<const Decoder*> decoders;
    int widest = 1;
    int fastest = 0;
    for (int index : indices) {
      AudioTrack* track = FindTrack(index);
      pipeline->mixed.push_back(track);
      decoders.push_back(track->decoder.get());
      widest = std::max(widest, track->decoder->ctx()->ch_layout.nb_channels);
      fastest = std::max(fastest, track->decoder->ctx()->sample_rate);
    }
    AudioEncodeSettings encode = EncodeSettings(a);
    if (encode.channels <= 0) encode.channels = std::min(2, widest);
    if (encode.sample_rate <= 0) encode.sample_rate = fastest;
    pipeline->track = pipeline->mixed.front();
    pipeline->encoder = Encoder::ForAudio(pipeline->track->decoder->ctx(), encode, global_header);
    AudioChain chain;
    chain.trim_start = settings.trim_start;
    chain.trim_end = settings.trim_end;
    pipeline->filter = FilterGraph::ForAudioMix(decoders, pipeline->encoder->ctx(), chain);
    pipeline->out_stream = file->AddStream(pipeline->encoder->ctx());
    std::string language = MixLanguage(pipeline->mixed);
    if (!language.empty()) file->SetTag(pipeline->out_stream, "language", language);
    return pipeline;
  }

  // A mix of tracks in one language is in that language; of several, "mul" (ISO 639-2's code for
  // multiple languages); of untagged tracks, untagged. Titles name one track, so a mix has none.
  std::string MixLanguage(const std::vector<AudioTrack*>& tracks) const {
    std::string language;
    for (const AudioTrack* track : tracks) {
      const AVDictionaryEntry* tag = av_dict_get(input_->stream(track->index)->metadata, "language", nullptr, 0);
      std::string value = tag != nullptr ? tag->value : "";
      if (value.empty() || value == "und") continue;
      if (!language.empty() && language != value) return "mul";
      language = value;
    }
    return language;
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
      DistributeAudio(silence.get(), &track);
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
    output.end_time_sec.Raise(end);
    WriteCues(output, (copy->dts != AV_NOPTS_VALUE ? copy->dts : copy->pts) * av_q2d(stream->time_base));
    output.file->Write(copy.get(), stream->time_base, output.audio_copy_stream);
  }

  // End of input: drain decoders, then close each graph, then drain each encoder.
  void Flush() {
    for (auto& analysis : analyses_) analysis->EndOfPackets();
    for (auto& track : video_tracks_) {
      VideoTrack* t = track.get();
      t->decoder->Decode(nullptr, [this, t](AVFrame* frame) { OnVideoFrame(*t, frame); });
    }
    for (auto& track : audio_tracks_) {
      AudioTrack* t = track.get();
      t->decoder->Decode(nullptr, [this, t](AVFrame* frame) { OnAudioFrame(*t, frame); });
    }
    // Every decoded frame is on its timeline now: before any encoder is drained (libwebp_anim
    // fails on a drain with no frames), an output whose window the media never reached is refused.
    for (const OutputPipeline& output : outputs_) RequireMediaInWindow(output);
    for (auto& set : thumbnail_sets_) set->Push(nullptr);
    // Outputs on their own threads end first, so they finish while the rest flush here.
    for (OutputPipeline& output : outputs_) {
      if (output.worker) output.worker->Push(nullptr);
    }
    // Larger outputs first: their last pictures reach the outputs scaled on from them before those end.
    for (size_t i : open_order_) {
      OutputPipeline& output = outputs_[i];
      if (output.worker) continue;
      std::vector<StreamPipeline*> pipelines = {output.video.get(), output.audio.get()};
      for (const auto& extra : output.more_audio) pipelines.push_back(extra.get());
      for (StreamPipeline* pipeline : pipelines) {
        if (pipeline != nullptr && !pipeline->receives_shared) EndStream(output, *pipeline);
      }
      // Cues past the media's end are cut there: the file lasts as long as its media.
      for (auto& track : output.subtitle_tracks) track->Finish(output.end_time_sec.load());
    }
    for (OutputPipeline& output : outputs_) {
      if (output.worker) output.worker->Finish();
    }
  }

  // Each subtitle track's cues the media has passed at `time_sec` go in beside a media packet at
  // that time (subtitles.h: when, and why the muxer still puts them in order).
  static void WriteCues(OutputPipeline& output, double time_sec) {
    for (auto& track : output.subtitle_tracks) track->WriteUntil(time_sec);
  }

  // The cues due before a media packet of this output (none when it carries no subtitle track).
  static void CuesBefore(OutputPipeline& output, const AVPacket* packet, AVRational time_base) {
    if (output.subtitle_tracks.empty()) return;
    int64_t ts = packet->dts != AV_NOPTS_VALUE ? packet->dts : packet->pts;
    if (ts != AV_NOPTS_VALUE) WriteCues(output, static_cast<double>(ts) * av_q2d(time_base));
  }

  // One decoded picture of a video track goes to every output and thumbnail set taking that track
  // (and, from the main track, to every analysis).
  void DistributeVideo(AVFrame* frame, const VideoTrack& track) {
    if (&track == main_video_) {
      for (auto& analysis : analyses_) analysis->PushVideo(frame);
    }
    double at = frame->pts != AV_NOPTS_VALUE ? frame->pts * av_q2d(track.decoder->time_base()) : -1;
    for (OutputPipeline& output : outputs_) {
      if (!output.video || output.video->fed_by_larger || output.video->video_track != &track) continue;
      if (output.worker) {
        HandOver(output, frame, at);
      } else if (!PastWindow(output, at)) {
        Filter(output, *output.video, frame);
      }
    }
    double time = frame->best_effort_timestamp != AV_NOPTS_VALUE
                      ? frame->best_effort_timestamp * av_q2d(track.decoder->time_base())
                      : -1;
    for (size_t i = 0; i < thumbnail_sets_.size(); i++) {
      if (thumbnail_tracks_[i] != &track || thumbnail_sets_[i]->Done()) continue;
      thumbnail_sets_[i]->Push(frame);
      if (time >= 0) thumbnail_reached_sec_[i] = std::max(thumbnail_reached_sec_[i], time);
    }
  }

  // One decoded audio frame goes to every output stream taking its track (a mix: into the graph
  // input of that track), and from the main track to every analysis.
  void DistributeAudio(AVFrame* frame, const AudioTrack* track) {
    if (track == main_audio_) {
      for (auto& analysis : analyses_) analysis->PushAudio(frame);
    }
    double at = frame->pts != AV_NOPTS_VALUE ? frame->pts * av_q2d(track->decoder->time_base()) : -1;
    for (OutputPipeline& output : outputs_) {
      if (PastWindow(output, at)) continue;
      StreamPipeline* pipeline = output.audio.get();
      if (pipeline != nullptr && !pipeline->mixed.empty()) {
        for (size_t input = 0; input < pipeline->mixed.size(); input++) {
          if (pipeline->mixed[input] == track) Filter(output, *pipeline, frame, input);
        }
      } else if (pipeline != nullptr && !pipeline->receives_shared && pipeline->track == track) {
        Filter(output, *pipeline, frame);
      }
      for (const auto& extra : output.more_audio) {
        if (extra->track == track) Filter(output, *extra, frame);
      }
    }
  }

  // Whether a decoded frame at `time_sec` lies past the output's trim window (and a margin): its
  // graph has ended there (trim), and frames pushed into an ended graph are never taken out but
  // queue in it. A 5 s preview of a 30 s 720p input held the other 23 s of pictures: 1 GB.
  static bool PastWindow(const OutputPipeline& output, double time_sec) {
    constexpr double kMarginSec = 0.5;
    double end = output.settings->trim_end;
    return end > 0 && time_sec >= end + kMarginSec;
  }

  void Filter(OutputPipeline& output, StreamPipeline& pipeline, AVFrame* frame, size_t input = 0) {
    pipeline.filter->PushInput(input, frame, [&](AVFrame* filtered) { Filtered(output, pipeline, filtered); });
  }

  // A picture for an output on its own thread: those of its window, and the first one at or past
  // the window's end, which ends its trim (a graph that has ended takes nothing more). The margin
  // the pipeline thread keeps (PastWindow) would only fill the queue while the worker drains a
  // GIF's held clip, and hold this thread up waiting for room.
  void HandOver(OutputPipeline& output, AVFrame* frame, double at) {
    // The end as the trim filter was given it (to the microsecond), so both agree on the last frame.
    double end = std::round(output.settings->trim_end * 1e6) / 1e6;
    if (end > 0 && at >= end) {
      if (output.sent_past_end) return;
      output.sent_past_end = true;
    }
    output.worker->Push(frame);
  }

  // End of stream for one stream of an output: its graph (each input of a mix), the limiter, the encoder.
  void EndStream(OutputPipeline& output, StreamPipeline& pipeline) {
    for (size_t input = 0; input < std::max<size_t>(1, pipeline.mixed.size()); input++) {
      Filter(output, pipeline, nullptr, input);
    }
    Limit(output, pipeline, nullptr);
    pipeline.encoder->Encode(nullptr, pipeline.filter->output_time_base(),
                             [&](AVPacket* packet) { Mux(output, pipeline, packet); });
  }

  void Filtered(OutputPipeline& output, StreamPipeline& pipeline, AVFrame* filtered) {
    if (abandoned_.load(std::memory_order_relaxed)) Fail(ErrorCode::kCanceled, "stopped");
    // Before this output's encoder sees the picture (it retimes it and may force its type).
    for (size_t smaller : pipeline.scaled_on_to) Filter(outputs_[smaller], *outputs_[smaller].video, filtered);
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
    if (&pipeline == output.video.get()) output.video_packets.Increment();
    double end = packet->pts != AV_NOPTS_VALUE ? static_cast<double>(packet->pts + packet->duration) * av_q2d(time_base)
                                               : -1;
    // Copies first: writing hands the packet to the muxer, which takes its data.
    for (const auto& [index, stream] : pipeline.shared_with) {
      OutputPipeline& other = outputs_[index];
      PacketPtr copy = MakePacket();
      if (av_packet_ref(copy.get(), packet) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
      other.end_time_sec.Raise(end);
      CuesBefore(other, packet, time_base);
      other.file->Write(copy.get(), time_base, stream);
    }
    output.end_time_sec.Raise(end);
    CuesBefore(output, packet, time_base);
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
    for (const auto& track : video_tracks_) check(track->decoder.get(), track->timeline.end_sec(), "video");
    for (const auto& track : audio_tracks_) check(track->decoder.get(), track->timeline.end_sec(), "audio");
  }

  // A window that starts where the input's media has already ended holds nothing: the file would
  // be empty (a GIF's muxer refuses to end one at all). Judged by the media actually decoded, not
  // by the container's stated duration, which can be wrong. The media reaches the window when a
  // picture starts at or after its start (the trim keeps whole pictures by their start) or sound
  // runs past it (the trim cuts inside audio frames).
  void RequireMediaInWindow(const OutputPipeline& output) const {
    const OutputSettings& s = *output.settings;
    if (s.trim_start <= 0) return;
    constexpr double kRounding = 1e-6;  // the trim compares in microseconds
    double reach = -1;
    if (output.video) {
      double last = output.video->video_track->timeline.last_start_sec();
      if (last >= 0 && last >= s.trim_start - kRounding) return;
      reach = last;
    }
    double audio_end = AudioEndSec(output);
    if (audio_end > s.trim_start + kRounding) return;
    reach = std::max(reach, audio_end);
    // Nothing decoded at all (a seek past the end): the container's duration is all there is.
    if (reach < 0) reach = input_->DurationSec();
    if (reach <= 0 || reach > s.trim_start + kRounding) return;
    char text[300];
    snprintf(text, sizeof(text), "the output %s starts at %.3f s, but the input's media ends at %.3f s: it would be empty",
             std::filesystem::path(s.path).filename().c_str(), s.trim_start, reach);
    Fail(ErrorCode::kWindowEmpty, text);
  }

  // The end of the sound an output takes on the input's timeline, seconds; negative when none.
  double AudioEndSec(const OutputPipeline& output) const {
    double end = -1;
    if (output.audio) {
      end = std::max(end, output.audio->track->timeline.end_sec());
      for (const AudioTrack* mixed : output.audio->mixed) end = std::max(end, mixed->timeline.end_sec());
    }
    for (const auto& extra : output.more_audio) end = std::max(end, extra->track->timeline.end_sec());
    if (output.audio_copy_stream >= 0) end = std::max(end, copy_timeline_.end_sec());
    return end;
  }

  // The end of the media an output takes on the input's timeline, seconds; negative when none was
  // decoded.
  double MediaEndSec(const OutputPipeline& output) const {
    double end = AudioEndSec(output);
    if (output.video) end = std::max(end, output.video->video_track->timeline.end_sec());
    return end;
  }

  // What the written output must hold: the trim window within the media actually placed on the
  // repaired timelines of the streams it takes.
  void Expect(const OutputPipeline& output, OutputReport* report) const {
    const OutputSettings& s = *output.settings;
    report->expects_video = output.video != nullptr;
    report->expects_audio = output.audio != nullptr || output.audio_copy_stream >= 0;
    report->video_frames = output.video_packets.load();
    double end = MediaEndSec(output);
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
      entry.frames = output.video_packets.load();
      entry.out_time_sec = output.end_time_sec.load();
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
  std::atomic<bool> abandoned_{false};  // set by the destructor, read by outputs' threads
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
  std::vector<std::unique_ptr<VideoTrack>> video_tracks_;  // every video stream decoded
  VideoTrack* main_video_ = nullptr;  // the best video stream, when decoded: analyses, HLS, the default
  std::vector<std::unique_ptr<AudioTrack>> audio_tracks_;  // every audio stream decoded
  AudioTrack* main_audio_ = nullptr;  // the best audio stream, when decoded: analyses and the video timeline
  PacketPtr packet_;
  int video_index_ = -1;
  int audio_index_ = -1;
  int clock_index_ = -1;  // the input's video stream, read for its packet times (timeline.h)
  VideoClock video_clock_;
  AudioTimeline copy_timeline_;
  bool has_copy_outputs_ = false;
  double stop_after_sec_ = -1;
  std::vector<OutputPipeline> outputs_;  // in plan order
  std::vector<int> larger_of_;  // per output: the output whose pictures it scales on from, or -1
  std::vector<size_t> open_order_;  // outputs feeding others come before them
  std::vector<std::unique_ptr<ThumbnailSet>> thumbnail_sets_;
  std::vector<std::unique_ptr<Analysis>> analyses_;
  std::vector<std::unique_ptr<SubtitleExtract>> extracts_;
  double read_sec_ = 0;  // the latest packet time read (input timeline)
  std::vector<double> thumbnail_reached_sec_;  // per set: the latest input time decoded for it
  std::vector<VideoTrack*> thumbnail_tracks_;  // per set: the video track its stills come from
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
