#include "composition.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "decoder.h"
#include "encoder.h"
#include "ffmpeg.h"
#include "input_file.h"
#include "log.h"
#include "output_file.h"
#include "resources.h"

namespace fw::av {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kProgressInterval = std::chrono::milliseconds(200);
// A packet this far past an instance's end is past every frame its clips use (reordering and
// interleaving put a few earlier frames after later packets).
constexpr double kEndMarginSec = 1.0;

const std::set<std::string>& AllowedFilters() {
  static const std::set<std::string> allowed = {
      "adelay", "aformat", "afade",  "amix",    "anullsrc", "aresample", "asetpts",   "asplit",
      "atrim",  "color",   "crop",   "drawtext", "fade",    "format",    "fps",       "hflip",
      "loop",   "lut",     "overlay", "pad",     "scale",   "setpts",    "setsar",    "sidechaingate",
      "split",  "tpad",    "transpose", "trim",  "vflip",   "volume",    "xfade",
  };
  return allowed;
}

// One decode of one input: its demuxer, decoders and the graph's sources they feed.
struct Instance {
  const ComposeInstance* settings = nullptr;
  std::unique_ptr<InputFile> input;
  int video_index = -1;
  int audio_index = -1;
  std::unique_ptr<Decoder> video_decoder;
  std::unique_ptr<Decoder> audio_decoder;
  AVFilterContext* video_src = nullptr;  // owned by the graph
  AVFilterContext* audio_src = nullptr;
  bool video_past_end = false;
  bool audio_past_end = false;
  bool finished = false;
  int64_t last_video_pts = AV_NOPTS_VALUE;
  int64_t next_audio_pts = AV_NOPTS_VALUE;  // in 1/sample_rate
};

class Composer {
 public:
  Composer(const ComposeSettings& settings, RunControl& control, const ProgressFn& on_progress)
      : settings_(settings),
        control_(control),
        on_progress_(on_progress),
        started_(Clock::now()),
        last_tick_(started_) {}

  void Run(ComposeResult* result) {
    OpenInputs();
    BuildGraph();
    OpenOutput();
    Pump();
    Finish();
    result->video_encoder = settings_.video.encoder;
    result->video_sec = video_sec_;
    result->frames = frames_;
  }

 private:
  void OpenInputs() {
    instances_.resize(settings_.instances.size());
    for (size_t i = 0; i < settings_.instances.size(); i++) {
      const ComposeInstance& s = settings_.instances[i];
      Instance& in = instances_[i];
      in.settings = &s;
      in.input = std::make_unique<InputFile>(s.path, &control_);
      if (s.video) {
        in.video_index = in.input->BestStream(AVMEDIA_TYPE_VIDEO);
        if (in.video_index < 0) Fail(ErrorCode::kInputNoStreams, "an input of the composition has no video stream");
      }
      if (s.audio) {
        in.audio_index = in.input->BestStream(AVMEDIA_TYPE_AUDIO);
        if (in.audio_index < 0) Fail(ErrorCode::kInputNoStreams, "an input of the composition has no audio stream");
      }
      in.input->KeepOnly(in.video_index, in.audio_index);
      if (in.video_index >= 0)
        in.video_decoder = std::make_unique<Decoder>(in.input->ctx(), in.input->stream(in.video_index));
      if (in.audio_index >= 0)
        in.audio_decoder = std::make_unique<Decoder>(in.input->ctx(), in.input->stream(in.audio_index));
      in.video_past_end = in.video_index < 0;
      in.audio_past_end = in.audio_index < 0;
      if (s.seek_sec > 0) in.input->SeekTo(s.seek_sec, in.video_index >= 0 ? in.video_index : in.audio_index);
    }
  }

  AVFilterContext* NewFilter(const char* filter_name, const std::string& id) {
    const AVFilter* filter = avfilter_get_by_name(filter_name);
    if (filter == nullptr) Fail(ErrorCode::kUnsupported, std::string("this FFmpeg has no ") + filter_name + " filter");
    AVFilterContext* ctx = avfilter_graph_alloc_filter(graph_.get(), filter, id.c_str());
    if (ctx == nullptr) Fail(ErrorCode::kEngineFailure, "could not allocate a filter", AVERROR(ENOMEM));
    return ctx;
  }

  void Init(AVFilterContext* ctx, const std::string& what) {
    int ret = avfilter_init_str(ctx, nullptr);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not set up " + what, ret);
  }

  void AddSources(size_t index) {
    Instance& in = instances_[index];
    if (in.video_decoder) {
      const AVStream* stream = in.input->stream(in.video_index);
      const AVCodecParameters* par = stream->codecpar;
      AVFilterContext* src = NewFilter("buffer", "src" + std::to_string(index) + "v");
      AVBufferSrcParameters* params = av_buffersrc_parameters_alloc();
      if (params == nullptr) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
      params->format = in.video_decoder->ctx()->pix_fmt != AV_PIX_FMT_NONE ? in.video_decoder->ctx()->pix_fmt
                                                                          : static_cast<AVPixelFormat>(par->format);
      params->width = par->width;
      params->height = par->height;
      params->sample_aspect_ratio = par->sample_aspect_ratio.num > 0 ? par->sample_aspect_ratio : AVRational{1, 1};
      params->time_base = stream->time_base;
      params->frame_rate = in.video_decoder->frame_rate();
      int ret = av_buffersrc_parameters_set(src, params);
      av_free(params);
      if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not set up a video source", ret);
      Init(src, "a video source");
      in.video_src = src;
      sources_["src:" + std::to_string(index) + ":v"] = src;
    }
    if (in.audio_decoder) {
      const AVCodecContext* dec = in.audio_decoder->ctx();
      AVFilterContext* src = NewFilter("abuffer", "src" + std::to_string(index) + "a");
      AVBufferSrcParameters* params = av_buffersrc_parameters_alloc();
      if (params == nullptr) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
      params->format = dec->sample_fmt;
      params->sample_rate = dec->sample_rate;
      params->time_base = AVRational{1, dec->sample_rate};
      int ret = av_channel_layout_copy(&params->ch_layout, &dec->ch_layout);
      if (ret >= 0) ret = av_buffersrc_parameters_set(src, params);
      av_channel_layout_uninit(&params->ch_layout);
      av_free(params);
      if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not set up an audio source", ret);
      Init(src, "an audio source");
      in.audio_src = src;
      sources_["src:" + std::to_string(index) + ":a"] = src;
    }
  }

  // "node" or "node#pad" or "src:i:v" -> the filter and its output pad.
  std::pair<AVFilterContext*, unsigned> Resolve(const std::string& ref) {
    auto source = sources_.find(ref);
    if (source != sources_.end()) return {source->second, 0};
    std::string id = ref;
    unsigned pad = 0;
    size_t hash = ref.find('#');
    if (hash != std::string::npos) {
      id = ref.substr(0, hash);
      pad = static_cast<unsigned>(std::stoul(ref.substr(hash + 1)));
    }
    auto node = nodes_.find(id);
    if (node == nodes_.end()) Fail(ErrorCode::kEngineFailure, "composition graph: no node " + ref);
    if (pad >= node->second->nb_outputs) Fail(ErrorCode::kEngineFailure, "composition graph: no pad " + ref);
    return {node->second, pad};
  }

  void Link(const std::string& ref, AVFilterContext* to, unsigned to_pad) {
    auto [from, pad] = Resolve(ref);
    if (linked_.count(from->name + std::string("#") + std::to_string(pad)) != 0)
      Fail(ErrorCode::kEngineFailure, "composition graph: pad " + ref + " is used twice");
    linked_.insert(from->name + std::string("#") + std::to_string(pad));
    int ret = avfilter_link(from, pad, to, to_pad);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "composition graph: could not link " + ref, ret);
  }

  void BuildGraph() {
    graph_.reset(avfilter_graph_alloc());
    if (!graph_) Fail(ErrorCode::kEngineFailure, "could not allocate a filter graph", AVERROR(ENOMEM));
    // Slice threads as the CLI uses them (scale, overlay, fade and xfade split frames across cores).
    for (size_t i = 0; i < instances_.size(); i++) AddSources(i);
    for (const ComposeNode& node : settings_.nodes) {
      if (!ComposeFilterAllowed(node.filter))
        Fail(ErrorCode::kUnsupported, "composition graph: filter " + node.filter + " is not allowed");
      if (nodes_.count(node.id) != 0 || node.id.rfind("src", 0) == 0)
        Fail(ErrorCode::kEngineFailure, "composition graph: node id " + node.id + " repeats");
      AVFilterContext* ctx = NewFilter(node.filter.c_str(), node.id);
      for (const auto& [key, value] : node.options) {
        int ret = av_opt_set(ctx, key.c_str(), value.c_str(), AV_OPT_SEARCH_CHILDREN);
        if (ret < 0) Fail(ErrorCode::kEngineFailure, "composition graph: " + node.filter + " option " + key, ret);
      }
      Init(ctx, "filter " + node.filter);
      nodes_[node.id] = ctx;
    }
    for (const ComposeNode& node : settings_.nodes) {
      AVFilterContext* ctx = nodes_[node.id];
      if (node.inputs.size() != ctx->nb_inputs)
        Fail(ErrorCode::kEngineFailure, "composition graph: " + node.id + " has " + std::to_string(ctx->nb_inputs) +
                                            " inputs, " + std::to_string(node.inputs.size()) + " given");
      for (size_t k = 0; k < node.inputs.size(); k++) Link(node.inputs[k], ctx, static_cast<unsigned>(k));
    }
    // Sinks: the encoders' formats are fixed here, so the graph converts once at its end.
    video_encoder_format_ = Encoder::VideoPixelFormat(settings_.video.encoder);
    AVFilterContext* vformat = NewFilter("format", "out_vformat");
    av_opt_set(vformat, "pix_fmts", av_get_pix_fmt_name(video_encoder_format_), AV_OPT_SEARCH_CHILDREN);
    Init(vformat, "the output format");
    Link(settings_.video_out, vformat, 0);
    video_sink_ = NewFilter("buffersink", "out_video");
    Init(video_sink_, "the video sink");
    int ret = avfilter_link(vformat, 0, video_sink_, 0);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not link the video sink", ret);
    if (!settings_.audio_out.empty()) {
      const AVCodec* codec = avcodec_find_encoder_by_name(settings_.audio.encoder.c_str());
      if (codec == nullptr) Fail(ErrorCode::kUnsupported, "encoder " + settings_.audio.encoder + " is not available");
      AVSampleFormat sample_format = codec->sample_fmts != nullptr ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
      AVFilterContext* aformat = NewFilter("aformat", "out_aformat");
      av_opt_set(aformat, "sample_fmts", av_get_sample_fmt_name(sample_format), AV_OPT_SEARCH_CHILDREN);
      av_opt_set(aformat, "sample_rates", std::to_string(settings_.sample_rate).c_str(), AV_OPT_SEARCH_CHILDREN);
      AVChannelLayout layout;
      av_channel_layout_default(&layout, settings_.channels);
      char name[64];
      av_channel_layout_describe(&layout, name, sizeof(name));
      av_channel_layout_uninit(&layout);
      av_opt_set(aformat, "channel_layouts", name, AV_OPT_SEARCH_CHILDREN);
      Init(aformat, "the output audio format");
      Link(settings_.audio_out, aformat, 0);
      audio_sink_ = NewFilter("abuffersink", "out_audio");
      Init(audio_sink_, "the audio sink");
      ret = avfilter_link(aformat, 0, audio_sink_, 0);
      if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not link the audio sink", ret);
    }
    ret = avfilter_graph_config(graph_.get(), nullptr);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "the composition's filter graph did not configure", ret);
  }

  void OpenOutput() {
    file_ = std::make_unique<OutputFile>(settings_.path, settings_.container, &control_, OutputFile::Options{});
    AVRational rate{settings_.fps_num, settings_.fps_den};
    video_encoder_ = Encoder::ForVideoSink(video_sink_, rate, settings_.video, file_->NeedsGlobalHeader());
    video_stream_ = file_->AddStream(video_encoder_->ctx());
    if (audio_sink_ != nullptr) {
      // Encoder::ForAudio reads the rate and channels it is to keep from a decoder context.
      CodecContextPtr shape(avcodec_alloc_context3(nullptr));
      if (!shape) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
      shape->sample_rate = settings_.sample_rate;
      av_channel_layout_uninit(&shape->ch_layout);
      av_channel_layout_default(&shape->ch_layout, settings_.channels);
      AudioEncodeSettings audio = settings_.audio;
      audio.channels = settings_.channels;
      audio.sample_rate = settings_.sample_rate;
      audio_encoder_ = Encoder::ForAudio(shape.get(), audio, file_->NeedsGlobalHeader());
      if (audio_encoder_->ctx()->sample_rate != settings_.sample_rate)
        Fail(ErrorCode::kUnsupported, "encoder " + settings_.audio.encoder + " does not take " +
                                          std::to_string(settings_.sample_rate) + " Hz");
      audio_stream_ = file_->AddStream(audio_encoder_->ctx());
      if (!(audio_encoder_->ctx()->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) &&
          audio_encoder_->ctx()->frame_size > 0)
        av_buffersink_set_frame_size(audio_sink_, static_cast<unsigned>(audio_encoder_->ctx()->frame_size));
    }
    file_->Open();
    filtered_ = MakeFrame();
    packet_ = MakePacket();
  }

  // Takes what the sinks hold; returns whether both have ended.
  bool Drain() {
    DrainSink(video_sink_, &video_done_, true);
    if (audio_sink_ != nullptr) DrainSink(audio_sink_, &audio_done_, false);
    else audio_done_ = true;
    return video_done_ && audio_done_;
  }

  void DrainSink(AVFilterContext* sink, bool* done, bool video) {
    while (!*done) {
      int ret = av_buffersink_get_frame_flags(sink, filtered_.get(), AV_BUFFERSINK_FLAG_NO_REQUEST);
      if (ret == AVERROR(EAGAIN)) return;
      if (ret == AVERROR_EOF) {
        *done = true;
        Encoder& encoder = video ? *video_encoder_ : *audio_encoder_;
        encoder.Encode(nullptr, av_buffersink_get_time_base(sink),
                       [&](AVPacket* p) { Mux(p, encoder, video ? video_stream_ : audio_stream_); });
        return;
      }
      if (ret < 0) Fail(ErrorCode::kEngineFailure, "the composition's filter graph failed", ret);
      FrameUnref unref(filtered_.get());
      AVRational tb = av_buffersink_get_time_base(sink);
      if (video) {
        if (filtered_->pts != AV_NOPTS_VALUE) video_sec_ = std::max(video_sec_, filtered_->pts * av_q2d(tb));
        filtered_->pict_type = AV_PICTURE_TYPE_NONE;
        frames_ += 1;
        video_encoder_->Encode(filtered_.get(), tb, [&](AVPacket* p) { Mux(p, *video_encoder_, video_stream_); });
      } else {
        audio_encoder_->Encode(filtered_.get(), tb, [&](AVPacket* p) { Mux(p, *audio_encoder_, audio_stream_); });
      }
      Tick();
    }
  }

  void Mux(AVPacket* packet, Encoder& encoder, int stream) {
    control_.Touch();
    file_->Write(packet, encoder.time_base(), stream);
  }

  void Tick() {
    if (!on_progress_) return;
    auto now = Clock::now();
    if (now - last_tick_ < kProgressInterval) return;
    last_tick_ = now;
    Progress progress;
    OutputProgress output;
    output.frames = frames_;
    output.out_time_sec = std::min(video_sec_, settings_.duration_sec);
    output.duration_sec = settings_.duration_sec;
    progress.outputs.push_back(output);
    progress.elapsed_sec = std::chrono::duration<double>(now - started_).count();
    on_progress_(progress);
  }

  void Pump() {
    while (true) {
      if (control_.ShouldStop()) Fail(ErrorCode::kCanceled, "stopped");
      if (Drain()) return;
      int ret = avfilter_graph_request_oldest(graph_.get());
      if (ret >= 0) continue;
      if (ret == AVERROR_EOF) {
        // Every sink has seen its end: take the last frames (and flush the encoders).
        Drain();
        return;
      }
      if (ret != AVERROR(EAGAIN)) Fail(ErrorCode::kEngineFailure, "the composition's filter graph failed", ret);
      Instance* next = Wanted();
      if (next == nullptr) Fail(ErrorCode::kEngineFailure, "the composition's filter graph waits on no input");
      Feed(*next);
    }
  }

  // The unfinished input whose sources the graph asked for most.
  Instance* Wanted() {
    Instance* best = nullptr;
    unsigned most = 0;
    for (Instance& in : instances_) {
      if (in.finished) continue;
      unsigned asked = 0;
      if (in.video_src != nullptr) asked += av_buffersrc_get_nb_failed_requests(in.video_src);
      if (in.audio_src != nullptr) asked += av_buffersrc_get_nb_failed_requests(in.audio_src);
      if (best == nullptr || asked > most) {
        best = &in;
        most = asked;
      }
    }
    return best;
  }

  void Feed(Instance& in) {
    if (!in.input->Read(packet_.get())) {
      Close(in);
      return;
    }
    control_.Touch();
    PacketUnref unref(packet_.get());
    const AVStream* stream = in.input->stream(packet_->stream_index);
    int64_t ts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
    double at = ts != AV_NOPTS_VALUE ? ts * av_q2d(stream->time_base) : -1;
    bool past = in.settings->end_sec >= 0 && at > in.settings->end_sec + kEndMarginSec;
    if (packet_->stream_index == in.video_index && !in.video_past_end) {
      in.video_decoder->Decode(packet_.get(), [&](AVFrame* frame) { PushVideo(in, frame); });
      if (past) in.video_past_end = true;
    } else if (packet_->stream_index == in.audio_index && !in.audio_past_end) {
      in.audio_decoder->Decode(packet_.get(), [&](AVFrame* frame) { PushAudio(in, frame); });
      if (past) in.audio_past_end = true;
    }
    if (in.video_past_end && in.audio_past_end) Close(in);
  }

  // Flushes the decoders and ends the input's sources.
  void Close(Instance& in) {
    if (in.finished) return;
    in.finished = true;
    if (in.video_decoder) in.video_decoder->Decode(nullptr, [&](AVFrame* frame) { PushVideo(in, frame); });
    if (in.audio_decoder) in.audio_decoder->Decode(nullptr, [&](AVFrame* frame) { PushAudio(in, frame); });
    if (in.video_src != nullptr) End(in.video_src);
    if (in.audio_src != nullptr) End(in.audio_src);
  }

  static void End(AVFilterContext* src) {
    int ret = av_buffersrc_add_frame_flags(src, nullptr, 0);
    if (ret < 0 && ret != AVERROR_EOF) Fail(ErrorCode::kEngineFailure, "could not end an input of the graph", ret);
  }

  // Video keeps its own timestamps, made strictly increasing (a duplicate or disordered frame is
  // dropped), so the trims and the frame-rate conversion see a clean clock.
  void PushVideo(Instance& in, AVFrame* frame) {
    if (in.video_src == nullptr) return;
    int64_t pts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp : frame->pts;
    if (pts == AV_NOPTS_VALUE) pts = in.last_video_pts == AV_NOPTS_VALUE ? 0 : in.last_video_pts + 1;
    if (in.last_video_pts != AV_NOPTS_VALUE && pts <= in.last_video_pts) return;
    const AVCodecParameters* par = in.input->stream(in.video_index)->codecpar;
    if (frame->width != par->width || frame->height != par->height) {
      // A mid-stream size change the graph was not built for: drop it, counted as damage.
      in.video_decoder->CountError();
      return;
    }
    in.last_video_pts = pts;
    frame->pts = pts;
    int ret = av_buffersrc_add_frame_flags(in.video_src, frame, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not feed a picture into the graph", ret);
  }

  // Audio is timed by its samples: each frame follows the previous one, so mixing stays exact to
  // the sample whatever the container's timestamps say.
  void PushAudio(Instance& in, AVFrame* frame) {
    if (in.audio_src == nullptr) return;
    const AVCodecContext* dec = in.audio_decoder->ctx();
    if (frame->sample_rate != dec->sample_rate || frame->format != dec->sample_fmt ||
        av_channel_layout_compare(&frame->ch_layout, &dec->ch_layout) != 0) {
      in.audio_decoder->CountError();
      return;
    }
    if (in.next_audio_pts == AV_NOPTS_VALUE) {
      int64_t pts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp : frame->pts;
      AVRational tb = in.input->stream(in.audio_index)->time_base;
      in.next_audio_pts = pts == AV_NOPTS_VALUE ? 0 : av_rescale_q(pts, tb, AVRational{1, frame->sample_rate});
    }
    frame->pts = in.next_audio_pts;
    in.next_audio_pts += frame->nb_samples;
    int ret = av_buffersrc_add_frame_flags(in.audio_src, frame, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not feed sound into the graph", ret);
  }

  void Finish() {
    file_->Finish();
    Tick();
  }

  const ComposeSettings& settings_;
  RunControl& control_;
  ProgressFn on_progress_;
  Clock::time_point started_;
  Clock::time_point last_tick_;
  // Declaration order is destruction order reversed: the file outlives the encoders that feed it,
  // the graph outlives nothing it points into (sources are owned by it).
  std::unique_ptr<OutputFile> file_;
  std::vector<Instance> instances_;
  FilterGraphPtr graph_;
  std::map<std::string, AVFilterContext*> sources_;
  std::map<std::string, AVFilterContext*> nodes_;
  std::set<std::string> linked_;
  AVFilterContext* video_sink_ = nullptr;
  AVFilterContext* audio_sink_ = nullptr;
  AVPixelFormat video_encoder_format_ = AV_PIX_FMT_YUV420P;
  std::unique_ptr<Encoder> video_encoder_;
  std::unique_ptr<Encoder> audio_encoder_;
  int video_stream_ = -1;
  int audio_stream_ = -1;
  FramePtr filtered_;
  PacketPtr packet_;
  bool video_done_ = false;
  bool audio_done_ = false;
  double video_sec_ = 0;
  int64_t frames_ = 0;
};

}  // namespace

bool ComposeFilterAllowed(const std::string& name) { return AllowedFilters().count(name) != 0; }

Failure Compose(const ComposeSettings& settings, const std::atomic<bool>& cancel, const ProgressFn& on_progress,
                ComposeResult* result) noexcept {
  TakeLastLogLine();  // a pool thread may carry a line from an earlier job
  RunControl control(&cancel, settings.stall_timeout_ms);
  // The composer (its files, decoders, graph and encoders) is gone by the time Guard returns.
  return Guard(&control, [&] {
    Composer composer(settings, control, on_progress);
    composer.Run(result);
  });
}

}  // namespace fw::av
