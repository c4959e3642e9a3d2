#include "transcode.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "decoder.h"
#include "encoder.h"
#include "filter_graph.h"
#include "input_file.h"
#include "log.h"
#include "output_file.h"

namespace fw::av {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kProgressInterval = std::chrono::milliseconds(200);

// One stream of one output: its own filter graph and encoder, muxed into out_stream.
struct StreamPipeline {
  std::unique_ptr<FilterGraph> filter;
  std::unique_ptr<Encoder> encoder;
  int out_stream = -1;
};

struct OutputPipeline {
  // Declared first so it is destroyed last, after the encoders that feed it.
  std::unique_ptr<OutputFile> file;
  std::unique_ptr<StreamPipeline> video;
  std::unique_ptr<StreamPipeline> audio;
  int64_t video_packets = 0;
  double end_time_sec = 0;
};

class Run {
 public:
  Run(const TranscodeSettings& settings, const std::atomic<bool>& cancel, const ProgressFn& on_progress)
      : settings_(settings), cancel_(cancel), on_progress_(on_progress) {}

  void Execute() {
    started_ = Clock::now();
    OpenInput();
    for (const OutputSettings& output : settings_.outputs) OpenOutput(output);
    Pump();
    Flush();
    for (OutputPipeline& output : outputs_) output.file->Finish();
    Report(true);
  }

 private:
  void OpenInput() {
    input_ = std::make_unique<InputFile>(settings_.input_path, &cancel_);
    bool wants_video = false;
    bool wants_audio = false;
    for (const OutputSettings& output : settings_.outputs) {
      wants_video = wants_video || output.video.has_value();
      wants_audio = wants_audio || output.audio.has_value();
    }
    video_index_ = wants_video ? input_->BestStream(AVMEDIA_TYPE_VIDEO) : -1;
    audio_index_ = wants_audio ? input_->BestStream(AVMEDIA_TYPE_AUDIO) : -1;
    if (video_index_ < 0 && audio_index_ < 0) {
      Fail(ErrorCode::kInputNoStreams, "the input has no video or audio stream the plan can use");
    }
    input_->KeepOnly(video_index_, audio_index_);
    if (video_index_ >= 0) video_decoder_ = std::make_unique<Decoder>(input_->ctx(), input_->stream(video_index_));
    if (audio_index_ >= 0) audio_decoder_ = std::make_unique<Decoder>(input_->ctx(), input_->stream(audio_index_));
    packet_ = MakePacket();
  }

  // Filters and encoders are opened before the header is written, since the muxer needs every
  // encoder's extradata (global headers) up front.
  void OpenOutput(const OutputSettings& settings) {
    OutputPipeline output;
    output.file = std::make_unique<OutputFile>(settings.path, settings.container, &cancel_);
    bool global_header = output.file->NeedsGlobalHeader();
    if (settings.video && video_decoder_) {
      auto pipeline = std::make_unique<StreamPipeline>();
      const AVStream* stream = input_->stream(video_index_);
      pipeline->filter = FilterGraph::ForVideo(stream->codecpar, video_decoder_->time_base(),
                                               video_decoder_->frame_rate(), settings.video->height);
      VideoEncodeSettings encode{settings.video->crf, settings.video->preset};
      pipeline->encoder =
          Encoder::ForVideo(*pipeline->filter, video_decoder_->frame_rate(), encode, global_header);
      pipeline->out_stream = output.file->AddStream(pipeline->encoder->ctx());
      output.video = std::move(pipeline);
    }
    if (settings.audio && audio_decoder_) {
      auto pipeline = std::make_unique<StreamPipeline>();
      pipeline->encoder =
          Encoder::ForAudio(audio_decoder_->ctx(), settings.audio->bitrate_kbps, global_header);
      pipeline->filter = FilterGraph::ForAudio(audio_decoder_->ctx(), audio_decoder_->time_base(),
                                               pipeline->encoder->ctx());
      pipeline->out_stream = output.file->AddStream(pipeline->encoder->ctx());
      output.audio = std::move(pipeline);
    }
    if (!output.video && !output.audio) {
      Fail(ErrorCode::kInputNoStreams, "the input has none of the streams output " + settings.path + " needs");
    }
    output.file->Open();
    outputs_.push_back(std::move(output));
  }

  void Pump() {
    while (true) {
      if (cancel_.load()) Fail(ErrorCode::kCanceled, "canceled");
      if (!input_->Read(packet_.get())) return;
      PacketUnref unref(packet_.get());
      if (packet_->stream_index == video_index_) {
        video_decoder_->Decode(packet_.get(), [this](AVFrame* frame) { Distribute(frame, true); });
      } else if (packet_->stream_index == audio_index_) {
        audio_decoder_->Decode(packet_.get(), [this](AVFrame* frame) { Distribute(frame, false); });
      }
      Report(false);
    }
  }

  // End of input: drain decoders, then close each graph, then drain each encoder.
  void Flush() {
    if (video_decoder_) video_decoder_->Decode(nullptr, [this](AVFrame* frame) { Distribute(frame, true); });
    if (audio_decoder_) audio_decoder_->Decode(nullptr, [this](AVFrame* frame) { Distribute(frame, false); });
    for (OutputPipeline& output : outputs_) {
      for (StreamPipeline* pipeline : {output.video.get(), output.audio.get()}) {
        if (pipeline == nullptr) continue;
        Filter(output, *pipeline, nullptr);
        pipeline->encoder->Encode(nullptr, pipeline->filter->output_time_base(),
                                  [&](AVPacket* packet) { Mux(output, *pipeline, packet); });
      }
    }
  }

  // One decoded frame goes to the matching stream of every output.
  void Distribute(AVFrame* frame, bool video) {
    for (OutputPipeline& output : outputs_) {
      StreamPipeline* pipeline = video ? output.video.get() : output.audio.get();
      if (pipeline != nullptr) Filter(output, *pipeline, frame);
    }
  }

  void Filter(OutputPipeline& output, StreamPipeline& pipeline, AVFrame* frame) {
    pipeline.filter->Push(frame, [&](AVFrame* filtered) {
      pipeline.encoder->Encode(filtered, pipeline.filter->output_time_base(),
                               [&](AVPacket* packet) { Mux(output, pipeline, packet); });
    });
  }

  void Mux(OutputPipeline& output, StreamPipeline& pipeline, AVPacket* packet) {
    AVRational time_base = pipeline.encoder->time_base();
    if (&pipeline == output.video.get()) output.video_packets++;
    if (packet->pts != AV_NOPTS_VALUE) {
      double end = static_cast<double>(packet->pts + packet->duration) * av_q2d(time_base);
      output.end_time_sec = std::max(output.end_time_sec, end);
    }
    output.file->Write(packet, time_base, pipeline.out_stream);
  }

  void Report(bool final) {
    if (!on_progress_ || outputs_.empty()) return;
    Clock::time_point now = Clock::now();
    if (!final && now - last_report_ < kProgressInterval) return;
    last_report_ = now;
    const OutputPipeline& first = outputs_.front();
    double elapsed = std::chrono::duration<double>(now - started_).count();
    Progress progress;
    progress.frames = first.video_packets;
    progress.out_time_sec = first.end_time_sec;
    progress.duration_sec = input_->DurationSec();
    progress.fps = elapsed > 0 ? static_cast<double>(first.video_packets) / elapsed : 0;
    progress.speed = elapsed > 0 ? first.end_time_sec / elapsed : 0;
    on_progress_(progress);
  }

  const TranscodeSettings& settings_;
  const std::atomic<bool>& cancel_;
  const ProgressFn& on_progress_;
  Clock::time_point started_;
  Clock::time_point last_report_;

  // Destroyed in reverse: outputs (deleting unfinished files) first, then decoders, then input.
  std::unique_ptr<InputFile> input_;
  std::unique_ptr<Decoder> video_decoder_;
  std::unique_ptr<Decoder> audio_decoder_;
  PacketPtr packet_;
  int video_index_ = -1;
  int audio_index_ = -1;
  std::vector<OutputPipeline> outputs_;
};

}  // namespace

Failure Transcode(const TranscodeSettings& settings, const std::atomic<bool>& cancel,
                  const ProgressFn& on_progress) noexcept {
  TakeLastLogLine();  // a pool thread may carry a line from an earlier job
  return Guard(&cancel, [&] {
    Run run(settings, cancel, on_progress);
    run.Execute();
  });
}

}  // namespace fw::av
