#include "probe.h"

#include "input_file.h"
#include "log.h"

namespace fw::av {
namespace {

const char* TypeName(AVMediaType type) {
  switch (type) {
    case AVMEDIA_TYPE_VIDEO:
      return "video";
    case AVMEDIA_TYPE_AUDIO:
      return "audio";
    case AVMEDIA_TYPE_SUBTITLE:
      return "subtitle";
    case AVMEDIA_TYPE_DATA:
      return "data";
    default:
      return "other";
  }
}

StreamInfo DescribeStream(const AVStream* stream) {
  const AVCodecParameters* par = stream->codecpar;
  StreamInfo info;
  info.index = stream->index;
  info.type = TypeName(par->codec_type);
  info.codec = avcodec_get_name(par->codec_id);
  info.bit_rate = par->bit_rate;
  if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
    info.width = par->width;
    info.height = par->height;
    if (stream->avg_frame_rate.num > 0 && stream->avg_frame_rate.den > 0) info.fps = av_q2d(stream->avg_frame_rate);
    info.rotation = InputFile::Rotation(stream);
    if (par->sample_aspect_ratio.num > 0 && par->sample_aspect_ratio.den > 0) {
      info.sample_aspect_ratio = av_q2d(par->sample_aspect_ratio);
    }
    const char* pix_fmt = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
    if (pix_fmt != nullptr) info.pixel_format = pix_fmt;
    if (par->level > 0) info.level = par->level;
  } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
    info.sample_rate = par->sample_rate;
    info.channels = par->ch_layout.nb_channels;
    const char* sample_fmt = av_get_sample_fmt_name(static_cast<AVSampleFormat>(par->format));
    if (sample_fmt != nullptr) info.sample_format = sample_fmt;
  }
  const char* profile = avcodec_profile_name(par->codec_id, par->profile);
  if (profile != nullptr) info.profile = profile;
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    info.duration_sec = static_cast<double>(stream->duration) * av_q2d(stream->time_base);
  }
  return info;
}

}  // namespace

Failure Probe(const std::string& path, MediaInfo* out) noexcept {
  TakeLastLogLine();  // a pool thread may carry a line from an earlier job
  return Guard(nullptr, [&] {
    InputFile input(path, nullptr);
    AVFormatContext* ctx = input.ctx();
    MediaInfo info;
    info.format_name = ctx->iformat->name;
    info.duration_sec = input.DurationSec();
    info.bit_rate = ctx->bit_rate;
    info.size_bytes = ctx->pb != nullptr ? avio_size(ctx->pb) : -1;
    for (unsigned i = 0; i < ctx->nb_streams; i++) info.streams.push_back(DescribeStream(ctx->streams[i]));
    *out = std::move(info);
  });
}

}  // namespace fw::av
