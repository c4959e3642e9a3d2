#include "encoder.h"

#include <string>

#include "status.h"

namespace fw::av {
namespace {

struct DictionaryOwner {
  ~DictionaryOwner() { av_dict_free(&dict); }
  AVDictionary* dict = nullptr;
};

int PickSampleRate(const AVCodec* codec, int wanted) {
  if (codec->supported_samplerates == nullptr) return wanted > 0 ? wanted : 48000;
  for (const int* rate = codec->supported_samplerates; *rate != 0; rate++) {
    if (*rate == wanted) return wanted;
  }
  return 48000;
}

}  // namespace

Encoder::Encoder(const char* name, AVMediaType type) : packet_(MakePacket()) {
  codec_ = avcodec_find_encoder_by_name(name);
  if (codec_ == nullptr || codec_->type != type) {
    Fail(ErrorCode::kUnsupported, std::string("encoder ") + name + " is not available");
  }
  ctx_.reset(avcodec_alloc_context3(codec_));
  if (!ctx_) Fail(ErrorCode::kEngineFailure, "could not allocate an encoder", AVERROR(ENOMEM));
}

void Encoder::Open(AVDictionary** options) {
  int ret = avcodec_open2(ctx_.get(), codec_, options);
  if (ret < 0) Fail(ErrorCode::kUnsupported, std::string("could not open the ") + codec_->name + " encoder", ret);
}

std::unique_ptr<Encoder> Encoder::ForVideo(const FilterGraph& graph, AVRational frame_rate,
                                           const VideoEncodeSettings& settings, bool global_header) {
  std::unique_ptr<Encoder> encoder(new Encoder("libx264", AVMEDIA_TYPE_VIDEO));
  AVCodecContext* ctx = encoder->ctx_.get();
  const AVFilterContext* sink = graph.sink();
  ctx->width = av_buffersink_get_w(sink);
  ctx->height = av_buffersink_get_h(sink);
  ctx->sample_aspect_ratio = av_buffersink_get_sample_aspect_ratio(sink);
  ctx->pix_fmt = static_cast<AVPixelFormat>(av_buffersink_get_format(sink));
  // Keep the stream's own time base: exact for variable frame rate input too.
  ctx->time_base = av_buffersink_get_time_base(sink);
  if (frame_rate.num > 0 && frame_rate.den > 0) ctx->framerate = frame_rate;
  ctx->thread_count = 0;
  if (global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  int ret = av_opt_set(ctx->priv_data, "preset", settings.preset.c_str(), 0);
  if (ret < 0) Fail(ErrorCode::kUnsupported, "libx264 rejected preset " + settings.preset, ret);
  ret = av_opt_set_double(ctx->priv_data, "crf", settings.crf, 0);
  if (ret < 0) Fail(ErrorCode::kUnsupported, "libx264 rejected crf " + std::to_string(settings.crf), ret);
  encoder->Open(nullptr);
  return encoder;
}

std::unique_ptr<Encoder> Encoder::ForAudio(const AVCodecContext* decoder, int bitrate_kbps, bool global_header) {
  std::unique_ptr<Encoder> encoder(new Encoder("aac", AVMEDIA_TYPE_AUDIO));
  AVCodecContext* ctx = encoder->ctx_.get();
  const AVCodec* codec = encoder->codec_;
  ctx->sample_fmt = codec->sample_fmts != nullptr ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
  ctx->sample_rate = PickSampleRate(codec, decoder->sample_rate);
  int channels = decoder->ch_layout.nb_channels;
  av_channel_layout_default(&ctx->ch_layout, channels >= 1 && channels <= 2 ? channels : 2);
  ctx->bit_rate = static_cast<int64_t>(bitrate_kbps) * 1000;
  ctx->time_base = AVRational{1, ctx->sample_rate};
  if (global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  encoder->Open(nullptr);
  return encoder;
}

void Encoder::Encode(AVFrame* frame, AVRational from, const PacketSink& sink) {
  if (frame != nullptr) {
    if (frame->pts != AV_NOPTS_VALUE) frame->pts = av_rescale_q(frame->pts, from, ctx_->time_base);
    frame->pict_type = AV_PICTURE_TYPE_NONE;  // let the encoder choose
  }
  int ret = avcodec_send_frame(ctx_.get(), frame);
  if (ret < 0 && ret != AVERROR_EOF) Fail(ErrorCode::kEngineFailure, std::string(codec_->name) + " encoding failed", ret);
  for (;;) {
    ret = avcodec_receive_packet(ctx_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) Fail(ErrorCode::kEngineFailure, std::string(codec_->name) + " encoding failed", ret);
    PacketUnref unref(packet_.get());
    sink(packet_.get());
  }
}

bool EncoderOpens(const char* name) {
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (codec == nullptr) return false;
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) return false;
  DictionaryOwner options;
  ctx->thread_count = 1;
  if (codec->type == AVMEDIA_TYPE_VIDEO) {
    ctx->width = 64;
    ctx->height = 64;
    ctx->pix_fmt = codec->pix_fmts != nullptr ? codec->pix_fmts[0] : AV_PIX_FMT_YUV420P;
    ctx->time_base = AVRational{1, 25};
    ctx->framerate = AVRational{25, 1};
    ctx->bit_rate = 200000;
    // x265 prints its banner straight to stderr, bypassing av_log: ask it to stay quiet.
    if (std::string(name) == "libx265") av_dict_set(&options.dict, "x265-params", "log-level=none", 0);
  } else if (codec->type == AVMEDIA_TYPE_AUDIO) {
    ctx->sample_fmt = codec->sample_fmts != nullptr ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    ctx->sample_rate = PickSampleRate(codec, 48000);
    av_channel_layout_default(&ctx->ch_layout, 2);
    ctx->time_base = AVRational{1, ctx->sample_rate};
    ctx->bit_rate = 64000;
  } else {
    return false;
  }
  if (avcodec_open2(ctx.get(), codec, &options.dict) < 0) return false;
  // Close the way a real run does (end of stream, then drain): some encoders' worker threads only
  // shut down cleanly after EOS.
  PacketPtr packet(av_packet_alloc());
  if (packet && avcodec_send_frame(ctx.get(), nullptr) >= 0) {
    while (avcodec_receive_packet(ctx.get(), packet.get()) >= 0) av_packet_unref(packet.get());
  }
  return true;
}

}  // namespace fw::av
