#include "decoder.h"

#include "status.h"

namespace fw::av {

Decoder::Decoder(const AVFormatContext* format, AVStream* stream) : frame_(MakeFrame()), time_base_(stream->time_base) {
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  if (codec == nullptr) {
    Fail(ErrorCode::kUnsupported, std::string("no decoder for codec ") + avcodec_get_name(stream->codecpar->codec_id));
  }
  ctx_.reset(avcodec_alloc_context3(codec));
  if (!ctx_) Fail(ErrorCode::kEngineFailure, "could not allocate a decoder", AVERROR(ENOMEM));
  int ret = avcodec_parameters_to_context(ctx_.get(), stream->codecpar);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the decoder", ret);
  ctx_->pkt_timebase = stream->time_base;
  ctx_->thread_count = 0;  // auto
  // Keep concealed pictures of damaged packets rather than dropping them (the timeline stays whole).
  ctx_->flags |= AV_CODEC_FLAG_OUTPUT_CORRUPT;
  ctx_->error_concealment = FF_EC_GUESS_MVS | FF_EC_DEBLOCK;
  if (stream->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
    frame_rate_ = av_guess_frame_rate(const_cast<AVFormatContext*>(format), stream, nullptr);
    ctx_->framerate = frame_rate_;
  }
  ret = avcodec_open2(ctx_.get(), codec, nullptr);
  if (ret < 0) Fail(ErrorCode::kUnsupported, std::string("could not open the ") + codec->name + " decoder", ret);
}

namespace {
constexpr int64_t kMaxDecodeErrors = 100;
}  // namespace

void Decoder::CountError() {
  errors_++;
  if (errors_ > kMaxDecodeErrors && errors_ * 2 > packets_) {
    const char* type = av_get_media_type_string(ctx_->codec_type);
    Fail(ErrorCode::kInputUnreadable, std::string("the input's ") + (type != nullptr ? type : "media") +
                                          " stream is damaged beyond use: " + std::to_string(errors_) + " of " +
                                          std::to_string(packets_) + " packets could not be decoded");
  }
}

void Decoder::Decode(const AVPacket* packet, const FrameSink& sink) {
  if (packet != nullptr) packets_++;
  int ret = avcodec_send_packet(ctx_.get(), packet);
  if (ret == AVERROR(ENOMEM)) Fail(ErrorCode::kEngineFailure, "decoder out of memory", ret);
  // Any other send error is a bad packet (or a decoder already drained): skip it.
  if (ret < 0 && packet != nullptr) {
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) CountError();
    return;
  }
  for (;;) {
    ret = avcodec_receive_frame(ctx_.get(), frame_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret == AVERROR(ENOMEM)) Fail(ErrorCode::kEngineFailure, "decoder out of memory", ret);
    if (ret < 0) {  // a frame that failed to decode; carry on with the next packet
      CountError();
      return;
    }
    FrameUnref unref(frame_.get());
    frame_->pts = frame_->best_effort_timestamp;
    sink(frame_.get());
  }
}

}  // namespace fw::av
