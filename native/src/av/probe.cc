#include "probe.h"

#include <algorithm>
#include <cmath>

#include "input_file.h"
#include "log.h"
#include "still_image.h"

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
  // Tags are text from the file: kept short, and only as data (never an option or a path).
  auto tag = [stream](const char* key) {
    const AVDictionaryEntry* entry = av_dict_get(stream->metadata, key, nullptr, 0);
    return entry != nullptr && entry->value != nullptr ? std::string(entry->value).substr(0, 200) : std::string();
  };
  info.language = tag("language");
  if (info.language == "und") info.language.clear();
  info.title = tag("title");
  info.is_default = (stream->disposition & AV_DISPOSITION_DEFAULT) != 0;
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
    if (par->color_trc != AVCOL_TRC_UNSPECIFIED && par->color_trc != AVCOL_TRC_RESERVED0 &&
        par->color_trc != AVCOL_TRC_RESERVED) {
      const char* trc = av_color_transfer_name(par->color_trc);
      if (trc != nullptr) info.color_transfer = trc;
    }
    switch (par->field_order) {
      case AV_FIELD_PROGRESSIVE: info.field_order = "progressive"; break;
      case AV_FIELD_TT: info.field_order = "tt"; break;
      case AV_FIELD_BB: info.field_order = "bb"; break;
      case AV_FIELD_TB: info.field_order = "tb"; break;
      case AV_FIELD_BT: info.field_order = "bt"; break;
      default: break;
    }
    const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(par->format));
    // VP8/VP9 in WebM keep alpha in a side channel the container flags (alpha_mode), not in the
    // stream's pixel format.
    const AVDictionaryEntry* alpha_mode = av_dict_get(stream->metadata, "alpha_mode", nullptr, 0);
    info.alpha = (desc != nullptr && (desc->flags & AV_PIX_FMT_FLAG_ALPHA) != 0) ||
                 (alpha_mode != nullptr && std::string(alpha_mode->value) == "1");
    info.attached_picture = (stream->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
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

constexpr int kDeepPackets = 300;
constexpr double kDeepSeconds = 10;

// The first packets of the main video stream: how many (an animated image has more than one) and
// whether their durations vary (a frame duration more than 25 % off the median in over 5 % of
// them: phones drop and stretch frames; a constant-rate file has none).
void ReadVideoPackets(InputFile& input, StreamInfo* info) {
  int index = info->index;
  input.KeepOnly(index, -1);
  const AVStream* stream = input.stream(index);
  PacketPtr packet = MakePacket();
  std::vector<int64_t> times;
  int packets = 0;
  while (packets < kDeepPackets && input.Read(packet.get())) {
    PacketUnref unref(packet.get());
    if (packet->stream_index != index) continue;
    packets++;
    int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
    if (ts == AV_NOPTS_VALUE) continue;
    times.push_back(ts);
    if (static_cast<double>(ts - times.front()) * av_q2d(stream->time_base) > kDeepSeconds) break;
  }
  info->packets = packets;
  std::sort(times.begin(), times.end());
  std::vector<int64_t> deltas;
  for (size_t i = 1; i < times.size(); i++) {
    if (times[i] > times[i - 1]) deltas.push_back(times[i] - times[i - 1]);
  }
  if (deltas.size() < 8) return;
  std::vector<int64_t> sorted = deltas;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
  double median = static_cast<double>(sorted[sorted.size() / 2]);
  size_t off = 0;
  for (int64_t d : deltas) off += std::fabs(static_cast<double>(d) - median) > 0.25 * median ? 1 : 0;
  info->variable_frame_rate = static_cast<double>(off) > 0.05 * static_cast<double>(deltas.size());
}

}  // namespace

Failure Probe(const std::string& path, MediaInfo* out, bool deep) noexcept {
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
    std::string format = ctx->iformat->name;
    info.image = input.IsStillImage() || format == "gif" || format == "apng";
    int video = input.BestStream(AVMEDIA_TYPE_VIDEO);
    if (deep && video >= 0) ReadVideoPackets(input, &info.streams[static_cast<size_t>(video)]);
    if (deep && video >= 0 && input.IsStillImage()) {
      // A still's orientation is in its EXIF data, which FFmpeg's decoder turns into a display
      // matrix on the decoded picture (the stream has none).
      StreamInfo& still = info.streams[static_cast<size_t>(video)];
      Failure decoded = Guard(nullptr, [&] {
        FramePtr frame = DecodeStill(path, nullptr);
        const AVFrameSideData* side = av_frame_get_side_data(frame.get(), AV_FRAME_DATA_DISPLAYMATRIX);
        if (side == nullptr || side->size < 9 * sizeof(int32_t)) return;
        double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(side->data));
        if (std::isnan(ccw)) return;
        long clockwise = ((std::lround(-ccw) % 360) + 360) % 360;
        still.rotation = static_cast<int>(((clockwise + 45) / 90 * 90) % 360);
      });
      (void)decoded;  // an undecodable still keeps rotation 0; the run reports what is wrong with it
    }
    *out = std::move(info);
  });
}

}  // namespace fw::av
