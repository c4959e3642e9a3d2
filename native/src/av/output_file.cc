#include "output_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "status.h"

namespace fw::av {

OutputFile::OutputFile(const std::string& path, const std::string& container, const RunControl* control,
                       Options options)
    : path_(path), options_(std::move(options)), interrupt_(InterruptCallback(control)) {
  AVFormatContext* raw = nullptr;
  int ret = avformat_alloc_output_context2(&raw, nullptr, container.c_str(), path.c_str());
  if (ret < 0 || raw == nullptr) Fail(ErrorCode::kUnsupported, "no muxer for container " + container, ret);
  ctx_.reset(raw);
  ctx_->interrupt_callback = interrupt_;
}

OutputFile::~OutputFile() {
  // FFmpeg 5.1's GIF muxer holds each packet back until the next one times it, and frees the held
  // packet only in its trailer (it has no deinit): a GIF that failed or was canceled is ended
  // anyway, into the file removed below, or the packet leaks.
  // Never a second trailer: av_write_trailer frees the muxer's private state even when it fails.
  if (wrote_ && !trailer_tried_ && ctx_ && std::strcmp(ctx_->oformat->name, "gif") == 0) {
    av_write_trailer(ctx_.get());
  }
  if (ctx_ && ctx_->pb != nullptr) avio_closep(&ctx_->pb);
  if (created_ && !finished_) std::remove(path_.c_str());
}

int OutputFile::AddStream(const AVCodecContext* encoder, const AVStream* source) {
  AVStream* stream = avformat_new_stream(ctx_.get(), nullptr);
  if (stream == nullptr) Fail(ErrorCode::kEngineFailure, "could not add an output stream", AVERROR(ENOMEM));
  int ret = avcodec_parameters_from_context(stream->codecpar, encoder);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not copy encoder parameters to the output", ret);
  if (source != nullptr) {
    for (const char* key : {"language", "title"}) {
      const AVDictionaryEntry* tag = av_dict_get(source->metadata, key, nullptr, 0);
      if (tag != nullptr && av_dict_set(&stream->metadata, key, tag->value, 0) < 0) {
        Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
      }
    }
  }
  stream->time_base = encoder->time_base;
  if (encoder->codec_type == AVMEDIA_TYPE_VIDEO) stream->avg_frame_rate = encoder->framerate;
  return stream->index;
}

void OutputFile::SetTag(int stream, const char* key, const std::string& value) {
  if (stream < 0 || static_cast<unsigned>(stream) >= ctx_->nb_streams) Fail(ErrorCode::kEngineFailure, "no such output stream");
  if (av_dict_set(&ctx_->streams[stream]->metadata, key, value.c_str(), 0) < 0) {
    Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  }
}

int OutputFile::AddCopyStream(const AVStream* input) {
  AVStream* stream = avformat_new_stream(ctx_.get(), nullptr);
  if (stream == nullptr) Fail(ErrorCode::kEngineFailure, "could not add an output stream", AVERROR(ENOMEM));
  int ret = avcodec_parameters_copy(stream->codecpar, input->codecpar);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not copy stream parameters to the output", ret);
  stream->codecpar->codec_tag = 0;  // let the muxer pick its own tag for the codec
  stream->time_base = input->time_base;
  return stream->index;
}

void OutputFile::SetStreamTags(int stream_index, const std::string& language, const std::string& title,
                               bool is_default) {
  AVStream* stream = ctx_->streams[stream_index];
  for (const auto& [key, value] : {std::pair{"language", &language}, std::pair{"title", &title}}) {
    if (!value->empty() && av_dict_set(&stream->metadata, key, value->c_str(), 0) < 0) {
      Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
    }
  }
  if (is_default) stream->disposition |= AV_DISPOSITION_DEFAULT;
}

void OutputFile::Open() {
  if (!(ctx_->oformat->flags & AVFMT_NOFILE)) {
    int ret = avio_open2(&ctx_->pb, path_.c_str(), AVIO_FLAG_WRITE, &interrupt_, nullptr);
    if (ret < 0) Fail(ErrorCode::kOutputWriteFailed, "could not create the output file", ret);
    created_ = true;
  }
  AVDictionary* options = nullptr;
  std::string muxer = ctx_->oformat->name;
  if (muxer == "mp4" || muxer == "mov") av_dict_set(&options, "movflags", "+faststart", 0);
  // The two muxers count differently: GIF's loop is the number of repeats (-1: no loop extension,
  // shown once), WebP's the number of plays; 0 is forever in both.
  if (muxer == "gif" && options_.loop >= 0) av_dict_set(&options, "loop", options_.loop ? "0" : "-1", 0);
  if (muxer == "webp" && options_.loop >= 0) av_dict_set(&options, "loop", options_.loop ? "0" : "1", 0);
  if (muxer == "hls") {
    av_dict_set(&options, "hls_time", std::to_string(options_.hls_segment_sec).c_str(), 0);
    av_dict_set(&options, "hls_list_size", "0", 0);
    av_dict_set(&options, "hls_playlist_type", "vod", 0);
    av_dict_set(&options, "hls_segment_type", options_.hls_fmp4 ? "fmp4" : "mpegts", 0);
    av_dict_set(&options, "hls_flags", "independent_segments", 0);
    av_dict_set(&options, "hls_segment_filename", options_.hls_segment_pattern.c_str(), 0);
    if (options_.hls_fmp4) {
      av_dict_set(&options, "hls_fmp4_init_filename", "init.mp4", 0);
      av_dict_set(&options, "hls_segment_options", "movflags=+frag_discont+negative_cts_offsets:use_editlist=0", 0);
      ctx_->output_ts_offset = static_cast<int64_t>(options_.timeline_offset_sec * AV_TIME_BASE);
    }
  }
  int ret = avformat_write_header(ctx_.get(), &options);
  av_dict_free(&options);
  // The file (if any) was created above, so a refusal here is the muxer's: a codec the container
  // cannot carry (e.g. copied AAC into WebM).
  if (ret < 0) {
    Fail(ErrorCode::kUnsupported, std::string("the ") + ctx_->oformat->name + " muxer refused these streams", ret);
  }
}

void OutputFile::Write(AVPacket* packet, AVRational from, int stream_index) {
  packet->stream_index = stream_index;
  av_packet_rescale_ts(packet, from, ctx_->streams[stream_index]->time_base);
  // Last line of defence for what timeline repair upstream cannot see (rounding into a coarser
  // muxer time base): dts strictly increasing per stream and pts never before dts, as every muxer
  // requires; a repeated dts moves one tick on instead of failing the run.
  if (last_dts_.size() <= static_cast<size_t>(stream_index)) last_dts_.resize(stream_index + 1, INT64_MIN);
  int64_t& last = last_dts_[stream_index];
  if (packet->dts == AV_NOPTS_VALUE) packet->dts = packet->pts;
  if (packet->dts != AV_NOPTS_VALUE) {
    if (last != INT64_MIN && packet->dts <= last) packet->dts = last + 1;
    if (packet->pts != AV_NOPTS_VALUE && packet->pts < packet->dts) packet->pts = packet->dts;
    last = packet->dts;
  }
  wrote_ = true;
  int ret = av_interleaved_write_frame(ctx_.get(), packet);
  // A refused write of buffered bytes only sets the I/O context's error, which the muxer reports
  // at the trailer: a full disk would otherwise be found after the whole encode.
  if (ret >= 0 && ctx_->pb != nullptr && ctx_->pb->error < 0) ret = ctx_->pb->error;
  if (ret < 0) Fail(FailureOf(ret), "could not write to the output", ret);
}

ErrorCode OutputFile::FailureOf(int ret) const {
  // The storage refused the bytes (a full disk, a quota, a read-only or failing device): the
  // output could not be written, which is not the engine's fault. Anything else is the muxer's.
  bool io = ctx_->pb != nullptr && ctx_->pb->error < 0;
  for (int code : {ENOSPC, EDQUOT, EFBIG, EIO, EROFS, EPIPE}) io = io || ret == AVERROR(code);
  return io ? ErrorCode::kOutputWriteFailed : ErrorCode::kEngineFailure;
}

void OutputFile::Finish() {
  trailer_tried_ = true;
  int ret = av_write_trailer(ctx_.get());
  if (ret < 0) Fail(FailureOf(ret), "could not finish the output", ret);
  if (ctx_->pb != nullptr && !(ctx_->oformat->flags & AVFMT_NOFILE)) {
    ret = avio_closep(&ctx_->pb);
    if (ret < 0) Fail(ErrorCode::kOutputWriteFailed, "could not close the output file", ret);
  }
  finished_ = true;
}

}  // namespace fw::av
