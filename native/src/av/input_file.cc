#include "input_file.h"

#include "status.h"

namespace fw::av {

InputFile::InputFile(const std::string& path, const std::atomic<bool>* cancel) {
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) Fail(ErrorCode::kEngineFailure, "could not allocate the input context", AVERROR(ENOMEM));
  raw->interrupt_callback = InterruptCallback(cancel);
  // On failure avformat_open_input frees the context and nulls the pointer.
  int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (ret < 0) Fail(ErrorCode::kInputUnreadable, "could not open the input", ret);
  ctx_.reset(raw);
  ret = avformat_find_stream_info(ctx_.get(), nullptr);
  if (ret < 0) Fail(ErrorCode::kInputUnreadable, "could not read the input's stream info", ret);
  if (ctx_->start_time != AV_NOPTS_VALUE) start_time_ = ctx_->start_time;
}

int InputFile::BestStream(AVMediaType type) const {
  int index = av_find_best_stream(ctx_.get(), type, -1, -1, nullptr, 0);
  if (index < 0) return -1;
  if (type == AVMEDIA_TYPE_VIDEO && (ctx_->streams[index]->disposition & AV_DISPOSITION_ATTACHED_PIC)) return -1;
  return index;
}

void InputFile::KeepOnly(int video_index, int audio_index) {
  for (unsigned i = 0; i < ctx_->nb_streams; i++) {
    int index = static_cast<int>(i);
    if (index != video_index && index != audio_index) ctx_->streams[i]->discard = AVDISCARD_ALL;
  }
}

bool InputFile::Read(AVPacket* packet) {
  int ret = av_read_frame(ctx_.get(), packet);
  if (ret == AVERROR_EXIT) Fail(ErrorCode::kCanceled, "canceled", ret);
  if (ret < 0) return false;
  if (start_time_ != 0) {
    int64_t offset = av_rescale_q(start_time_, AV_TIME_BASE_Q, ctx_->streams[packet->stream_index]->time_base);
    if (packet->pts != AV_NOPTS_VALUE) packet->pts -= offset;
    if (packet->dts != AV_NOPTS_VALUE) packet->dts -= offset;
  }
  return true;
}

double InputFile::DurationSec() const {
  if (ctx_->duration == AV_NOPTS_VALUE || ctx_->duration <= 0) return -1;
  return static_cast<double>(ctx_->duration) / AV_TIME_BASE;
}

}  // namespace fw::av
