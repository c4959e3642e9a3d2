#include "encoder.h"

#include <algorithm>
#include <string>

#include "log.h"
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

namespace {



void SetOption(AVCodecContext* ctx, const char* key, const std::string& value, const std::string& encoder) {
  int ret = av_opt_set(ctx->priv_data, key, value.c_str(), 0);
  if (ret < 0) Fail(ErrorCode::kUnsupported, encoder + " rejected " + key + "=" + value, ret);
}

// Maps the x264-style preset and the rate control onto each encoder family's own options.
void ConfigureVideo(AVCodecContext* ctx, const VideoEncodeSettings& s) {
  const std::string& name = s.encoder;
  // Animations: GIF has no rate control (its size follows the palette and the picture); animated
  // WebP takes a quality.
  if (name == "gif") return;
  if (name == "libwebp_anim") {
    if (s.quality >= 0) SetOption(ctx, "quality", std::to_string(std::clamp(s.quality, 0, 100)), name);
    // libwebp's method 1 instead of its default 4: half the CPU time for ~15 % more bytes, which
    // keeps a preview within a few percent of the transcode it rides along with.
    ctx->compression_level = 1;
    return;
  }
  int speed = std::clamp(s.speed, 0, 8);  // 0 fastest .. 8 slowest
  bool crf = s.crf >= 0;
  if (!crf && s.bitrate_kbps <= 0) Fail(ErrorCode::kUnsupported, "encoder " + name + " needs a crf or a bitrate");
  if (!crf) {
    // Constrained VBR: the average is the target and peaks stay within a two-second buffer, as
    // streaming (HLS) needs; plain ABR overshoots badly on short or complex clips.
    ctx->bit_rate = static_cast<int64_t>(s.bitrate_kbps) * 1000;
    ctx->rc_max_rate = ctx->bit_rate;
    ctx->rc_buffer_size = static_cast<int>(std::min<int64_t>(ctx->bit_rate * 2, INT32_MAX));
  }
  if (name == "libx264" || name == "libx265") {
    SetOption(ctx, "preset", s.preset, name);
    if (crf) SetOption(ctx, "crf", std::to_string(s.crf), name);
    if (s.forced_keyframes) SetOption(ctx, "forced-idr", "1", name);
    // x265 prints its banner and stats straight to stderr, bypassing av_log.
    if (name == "libx265") SetOption(ctx, "x265-params", "log-level=none", name);
  } else if (name == "libvpx-vp9") {
    // ultrafast and superfast take libvpx's realtime mode: "good" at its fastest (cpu-used 5) ran
    // 4.2 s for a 7 s DVD clip at 240p, realtime cpu-used 8 0.6 s at the same PSNR and 50 % more
    // bytes, the trade those presets promise with x264 too.
    static const int kCpuUsed[] = {8, 6, 4, 4, 3, 2, 1, 1, 0};
    SetOption(ctx, "deadline", speed <= 1 ? "realtime" : "good", name);
    SetOption(ctx, "cpu-used", std::to_string(kCpuUsed[speed]), name);
    SetOption(ctx, "row-mt", "1", name);
    if (crf) {
      SetOption(ctx, "crf", std::to_string(s.crf), name);
      ctx->bit_rate = 0;  // constant quality
    }
  } else if (name == "libaom-av1") {
    static const int kCpuUsed[] = {8, 8, 7, 6, 5, 4, 3, 2, 1};
    SetOption(ctx, "cpu-used", std::to_string(kCpuUsed[speed]), name);
    SetOption(ctx, "row-mt", "1", name);
    if (crf) {
      SetOption(ctx, "crf", std::to_string(s.crf), name);
      ctx->bit_rate = 0;
    }
  } else if (name == "libsvtav1") {
    static const int kPreset[] = {12, 11, 10, 9, 8, 7, 6, 5, 4};
    SetOption(ctx, "preset", std::to_string(kPreset[speed]), name);
    if (crf) SetOption(ctx, "crf", std::to_string(s.crf), name);
  } else if (name.find("_nvenc") != std::string::npos) {
    SetOption(ctx, "preset", "p" + std::to_string(1 + speed * 6 / 8), name);
    if (crf) {
      SetOption(ctx, "rc", "vbr", name);
      SetOption(ctx, "cq", std::to_string(s.crf), name);
    }
    if (s.forced_keyframes) SetOption(ctx, "forced-idr", "1", name);
  } else if (name.find("_qsv") != std::string::npos) {
    // QSV knows x264's names from veryfast on; the two faster ones become its fastest.
    SetOption(ctx, "preset", speed <= 2 ? std::string("veryfast") : s.preset, name);
    if (crf) ctx->global_quality = s.crf;
  } else if (crf) {
    Fail(ErrorCode::kUnsupported, "encoder " + name + " has no constant-quality mode here; ask for a bitrate");
  }
}

}  // namespace

AVPixelFormat Encoder::VideoPixelFormat(const std::string& encoder) {
  // QSV takes NV12 system-memory frames; GIF a palette; everything else here takes yuv420p.
  if (encoder == "gif") return AV_PIX_FMT_PAL8;
  return encoder.find("_qsv") != std::string::npos ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P;
}

std::unique_ptr<Encoder> Encoder::ForVideo(const FilterGraph& graph, AVRational frame_rate,
                                           const VideoEncodeSettings& settings, bool global_header) {
  return ForVideoSink(graph.sink(), frame_rate, settings, global_header, graph.output_format());
}

std::unique_ptr<Encoder> Encoder::ForVideoSink(const AVFilterContext* sink, AVRational frame_rate,
                                               const VideoEncodeSettings& settings, bool global_header,
                                               AVPixelFormat pix_fmt) {
  std::unique_ptr<Encoder> encoder(new Encoder(settings.encoder.c_str(), AVMEDIA_TYPE_VIDEO));
  AVCodecContext* ctx = encoder->ctx_.get();
  ctx->width = av_buffersink_get_w(sink);
  ctx->height = av_buffersink_get_h(sink);
  ctx->sample_aspect_ratio = av_buffersink_get_sample_aspect_ratio(sink);
  ctx->pix_fmt = pix_fmt != AV_PIX_FMT_NONE ? pix_fmt : static_cast<AVPixelFormat>(av_buffersink_get_format(sink));
  // Keep the stream's own time base: exact for variable frame rate input too.
  ctx->time_base = av_buffersink_get_time_base(sink);
  AVRational sink_rate = av_buffersink_get_frame_rate(sink);
  if (sink_rate.num > 0 && sink_rate.den > 0) frame_rate = sink_rate;
  if (frame_rate.num > 0 && frame_rate.den > 0) ctx->framerate = frame_rate;
  ctx->thread_count = settings.threads;
  if (global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (settings.hw_device != nullptr) {
    ctx->hw_device_ctx = av_buffer_ref(settings.hw_device);
    if (ctx->hw_device_ctx == nullptr) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  }
  ConfigureVideo(ctx, settings);
  encoder->Open(nullptr);
  return encoder;
}

Encoder::AudioTarget Encoder::AudioTargetFor(const AVCodecContext* decoder, const AudioEncodeSettings& settings) {
  const AVCodec* codec = avcodec_find_encoder_by_name(settings.encoder.c_str());
  if (codec == nullptr) Fail(ErrorCode::kUnsupported, "encoder " + settings.encoder + " is not available");
  AudioTarget target;
  target.sample_rate = PickSampleRate(codec, settings.sample_rate > 0 ? settings.sample_rate : decoder->sample_rate);
  target.channels = settings.channels > 0 ? settings.channels : std::min(2, std::max(1, decoder->ch_layout.nb_channels));
  return target;
}

std::unique_ptr<Encoder> Encoder::ForAudio(const AVCodecContext* decoder, const AudioEncodeSettings& settings,
                                           bool global_header) {
  std::unique_ptr<Encoder> encoder(new Encoder(settings.encoder.c_str(), AVMEDIA_TYPE_AUDIO));
  AVCodecContext* ctx = encoder->ctx_.get();
  const AVCodec* codec = encoder->codec_;
  ctx->sample_fmt = codec->sample_fmts != nullptr ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
  AudioTarget target = AudioTargetFor(decoder, settings);
  ctx->sample_rate = target.sample_rate;
  av_channel_layout_default(&ctx->ch_layout, target.channels);
  if (settings.bitrate_kbps > 0) ctx->bit_rate = static_cast<int64_t>(settings.bitrate_kbps) * 1000;
  ctx->time_base = AVRational{1, ctx->sample_rate};
  if (global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  encoder->Open(nullptr);
  return encoder;
}

AVPixelFormat Encoder::ImagePixelFormat(const std::string& encoder) {
  if (encoder == "mjpeg") return AV_PIX_FMT_YUVJ420P;
  if (encoder == "png") return AV_PIX_FMT_RGB24;
  return AV_PIX_FMT_YUV420P;  // libwebp
}

std::unique_ptr<Encoder> Encoder::ForImage(int width, int height, AVPixelFormat format, AVRational time_base,
                                           const std::string& name) {
  std::unique_ptr<Encoder> encoder(new Encoder(name.c_str(), AVMEDIA_TYPE_VIDEO));
  AVCodecContext* ctx = encoder->ctx_.get();
  ctx->width = width;
  ctx->height = height;
  ctx->sample_aspect_ratio = AVRational{1, 1};
  ctx->pix_fmt = format;
  ctx->time_base = time_base;
  ctx->thread_count = 1;
  if (name == "mjpeg") {
    // Fixed quality (like the CLI's -q:v 3) rather than a bitrate target, which stills lack.
    ctx->flags |= AV_CODEC_FLAG_QSCALE;
    ctx->global_quality = FF_QP2LAMBDA * 3;
  } else if (name == "libwebp") {
    SetOption(ctx, "quality", "80", name);
  }
  encoder->Open(nullptr);
  return encoder;
}

void Encoder::Encode(AVFrame* frame, AVRational from, const PacketSink& sink) {
  if (frame != nullptr) {
    if (frame->pts != AV_NOPTS_VALUE) frame->pts = av_rescale_q(frame->pts, from, ctx_->time_base);
    // Decoders leave their own picture types behind; only a caller's forced I survives.
    if (frame->pict_type != AV_PICTURE_TYPE_I) frame->pict_type = AV_PICTURE_TYPE_NONE;
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

bool EncoderOpens(const char* name, AVBufferRef* device, std::string* why) {
  auto fail = [why](const std::string& reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (codec == nullptr) return fail("not compiled into this FFmpeg");
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) return fail("out of memory");
  DictionaryOwner options;
  ctx->thread_count = 1;
  if (device != nullptr) {
    ctx->hw_device_ctx = av_buffer_ref(device);
    if (ctx->hw_device_ctx == nullptr) return fail("out of memory");
  }
  if (codec->type == AVMEDIA_TYPE_VIDEO) {
    ctx->width = 256;  // hardware encoders refuse tiny frames
    ctx->height = 256;
    ctx->pix_fmt = device != nullptr ? Encoder::VideoPixelFormat(name)
                   : codec->pix_fmts != nullptr ? codec->pix_fmts[0]
                                                : AV_PIX_FMT_YUV420P;
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
    return fail("not an audio or video encoder");
  }
  int ret = avcodec_open2(ctx.get(), codec, &options.dict);
  if (ret < 0) {
    std::string logged = TakeLastLogLine();
    return fail(ErrorText(ret) + (logged.empty() ? "" : " (" + logged + ")"));
  }
  // Close the way a real run does (end of stream, then drain): some encoders' worker threads only
  // shut down cleanly after EOS.
  PacketPtr packet(av_packet_alloc());
  if (packet && avcodec_send_frame(ctx.get(), nullptr) >= 0) {
    while (avcodec_receive_packet(ctx.get(), packet.get()) >= 0) av_packet_unref(packet.get());
  }
  return true;
}

}  // namespace fw::av
