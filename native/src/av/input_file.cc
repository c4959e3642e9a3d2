#include "input_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cmath>

#include "status.h"

namespace fw::av {

namespace {
constexpr int kIoBufferSize = 1 << 16;
constexpr int kPollSliceMs = 50;

// The input is one local file the node fetched (through its SSRF guard) or downloaded from
// storage. Some formats name *other* resources inside the file — an HLS playlist's segments, a
// concat list, a DASH manifest — and the demuxer would open them itself: http://169.254.169.254/…,
// file:///another/tenant/out.mp4. Every nested open is refused, so such inputs fail as unreadable.
int RefuseNestedOpen(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) {
  return AVERROR(EPERM);
}
}  // namespace

struct InputFile::Source {
  int fd = -1;
  RunControl* control = nullptr;
  ~Source() {
    if (fd >= 0) close(fd);
  }

  static int ReadPacket(void* opaque, uint8_t* buf, int size) {
    auto* self = static_cast<Source*>(opaque);
    for (;;) {
      ssize_t n = read(self->fd, buf, static_cast<size_t>(size));
      if (n > 0) {
        if (self->control != nullptr) self->control->Touch();
        return static_cast<int>(n);
      }
      if (n == 0) return AVERROR_EOF;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return AVERROR(errno);
      // Nothing to read yet (a pipe or slow mount): wait in slices, checking cancel and the watchdog.
      if (self->control != nullptr && self->control->ShouldStop()) return AVERROR_EXIT;
      struct pollfd p = {self->fd, POLLIN, 0};
      poll(&p, 1, kPollSliceMs);
    }
  }

  static int64_t Seek(void* opaque, int64_t offset, int whence) {
    auto* self = static_cast<Source*>(opaque);
    if (whence & AVSEEK_SIZE) {
      struct stat st;
      if (fstat(self->fd, &st) < 0 || !S_ISREG(st.st_mode)) return AVERROR(ENOSYS);
      return st.st_size;
    }
    off_t pos = lseek(self->fd, offset, whence & ~AVSEEK_FORCE);
    return pos < 0 ? AVERROR(errno) : pos;
  }
};

InputFile::InputFile(const std::string& path, RunControl* control) : path_(path), control_(control) { Open(); }

void InputFile::Open() {
  const std::string& path = path_;
  RunControl* control = control_;
  ctx_.reset();
  io_.reset();
  source_ = std::make_unique<Source>();
  source_->control = control;
  source_->fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (source_->fd < 0) Fail(ErrorCode::kInputUnreadable, "could not open the input", AVERROR(errno));
  struct stat st;
  if (fstat(source_->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    Fail(ErrorCode::kInputUnreadable, "could not open the input", AVERROR(EISDIR));
  }
  bool seekable = S_ISREG(st.st_mode);

  auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBufferSize));
  if (buffer == nullptr) Fail(ErrorCode::kEngineFailure, "could not allocate the input buffer", AVERROR(ENOMEM));
  io_.reset(avio_alloc_context(buffer, kIoBufferSize, 0, source_.get(), &Source::ReadPacket, nullptr,
                               seekable ? &Source::Seek : nullptr));
  if (!io_) {
    av_free(buffer);
    Fail(ErrorCode::kEngineFailure, "could not allocate the input reader", AVERROR(ENOMEM));
  }
  if (!seekable) io_->seekable = 0;

  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) Fail(ErrorCode::kEngineFailure, "could not allocate the input context", AVERROR(ENOMEM));
  raw->interrupt_callback = InterruptCallback(control);
  raw->pb = io_.get();
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  raw->io_open = &RefuseNestedOpen;
  // Belt and braces for demuxers that open nested inputs through a context of their own (they copy
  // the parent's protocol lists): no protocol is on the list.
  raw->protocol_whitelist = av_strdup("none");
  // On failure avformat_open_input frees the context (not our AVIOContext) and nulls the pointer.
  // The path only serves as a format hint (its extension).
  int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  // Owned before anything else can fail: a cancel that lands just as the open succeeds must not
  // leak the context (found by the ASan job's composition cancel).
  if (ret >= 0) ctx_.reset(raw);
  if (control != nullptr && control->ShouldStop()) Fail(ErrorCode::kCanceled, "stopped", AVERROR_EXIT);
  if (ret < 0) Fail(ErrorCode::kInputUnreadable, "could not open the input", ret);
  ret = avformat_find_stream_info(ctx_.get(), nullptr);
  // An interrupted read looks like end of input to the demuxer; never mistake it for one.
  if (control != nullptr && control->ShouldStop()) Fail(ErrorCode::kCanceled, "stopped", AVERROR_EXIT);
  if (ret < 0) Fail(ErrorCode::kInputUnreadable, "could not read the input's stream info", ret);
  if (ctx_->start_time != AV_NOPTS_VALUE) start_time_ = ctx_->start_time;
  for (size_t i = 0; i < discard_.size() && i < ctx_->nb_streams; i++) ctx_->streams[i]->discard = discard_[i];
}

InputFile::~InputFile() = default;

int InputFile::BestStream(AVMediaType type) const {
  int index = av_find_best_stream(ctx_.get(), type, -1, -1, nullptr, 0);
  if (index < 0) return -1;
  if (type == AVMEDIA_TYPE_VIDEO && (ctx_->streams[index]->disposition & AV_DISPOSITION_ATTACHED_PIC)) return -1;
  return index;
}

void InputFile::KeepOnly(int video_index, int audio_index) { KeepOnly(std::vector<int>{video_index, audio_index}); }

void InputFile::KeepOnly(const std::vector<int>& indices) {
  discard_.assign(ctx_->nb_streams, AVDISCARD_DEFAULT);
  for (unsigned i = 0; i < ctx_->nb_streams; i++) {
    int index = static_cast<int>(i);
    if (std::find(indices.begin(), indices.end(), index) == indices.end()) {
      ctx_->streams[i]->discard = AVDISCARD_ALL;
      discard_[i] = AVDISCARD_ALL;
    }
  }
}

namespace {
// How many packets SeekTo reads ahead looking for the checked stream, and how far past the target
// that stream's first packet may start (timestamp rounding) before the landing counts as wrong.
constexpr int kMaxPeekPackets = 2000;
constexpr double kSeekSlackSec = 0.002;
}  // namespace

void InputFile::ClearPending() { pending_.clear(); }

double InputFile::PeekTime(int stream) {
  for (int i = 0; i < kMaxPeekPackets; i++) {
    PacketPtr packet = MakePacket();
    if (!ReadRaw(packet.get())) return -1;
    int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
    bool found = packet->stream_index == stream && ts != AV_NOPTS_VALUE;
    double time = found ? ts * av_q2d(ctx_->streams[stream]->time_base) : -1;
    pending_.push_back(std::move(packet));
    if (found) return time;
  }
  return -1;
}

bool InputFile::SeekTo(double seconds, int check_stream) {
  if (seconds <= 0) return true;
  int64_t target = start_time_ + static_cast<int64_t>(seconds * AV_TIME_BASE);
  ClearPending();
  // Any keyframe at or before the target; the trim filters drop what comes before it exactly.
  if (avformat_seek_file(ctx_.get(), -1, INT64_MIN, target, target, 0) >= 0) {
    double landed = check_stream >= 0 ? PeekTime(check_stream) : 0;
    if (landed >= 0 && landed <= seconds + kSeekSlackSec) return true;
  }
  // Failed or landed after the target: decode from the start instead (slower, always right).
  ClearPending();
  if (avformat_seek_file(ctx_.get(), -1, INT64_MIN, start_time_, start_time_, 0) >= 0) {
    double landed = check_stream >= 0 ? PeekTime(check_stream) : 0;
    if (landed >= 0 && landed <= kSeekSlackSec + 0.5) return false;
  }
  ClearPending();
  Open();
  return false;
}

bool InputFile::Read(AVPacket* packet) {
  if (!pending_.empty()) {
    av_packet_move_ref(packet, pending_.front().get());
    pending_.pop_front();
    return true;
  }
  return ReadRaw(packet);
}

bool InputFile::ReadRaw(AVPacket* packet) {
  int ret = av_read_frame(ctx_.get(), packet);
  if (ret == AVERROR_EXIT || (ret < 0 && control_ != nullptr && control_->ShouldStop())) {
    Fail(ErrorCode::kCanceled, "stopped", AVERROR_EXIT);
  }
  if (ret < 0) return false;
  if (start_time_ != 0) {
    int64_t offset = av_rescale_q(start_time_, AV_TIME_BASE_Q, ctx_->streams[packet->stream_index]->time_base);
    if (packet->pts != AV_NOPTS_VALUE) packet->pts -= offset;
    if (packet->dts != AV_NOPTS_VALUE) packet->dts -= offset;
  }
  return true;
}

double InputFile::ScanDurationSec(const std::string& path, RunControl* control) {
  InputFile input(path, control);
  PacketPtr packet = MakePacket();
  double end = -1;
  while (input.Read(packet.get())) {
    PacketUnref unref(packet.get());
    const AVStream* stream = input.stream(packet->stream_index);
    AVMediaType type = stream->codecpar->codec_type;
    if (type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO) continue;
    int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
    if (ts == AV_NOPTS_VALUE) continue;
    end = std::max(end, (ts + std::max<int64_t>(packet->duration, 0)) * av_q2d(stream->time_base));
  }
  return end;
}

double InputFile::DurationSec() const {
  if (ctx_->duration == AV_NOPTS_VALUE || ctx_->duration <= 0) return -1;
  return static_cast<double>(ctx_->duration) / AV_TIME_BASE;
}

bool InputFile::IsStillImage() const {
  std::string name = ctx_->iformat->name;
  return name == "image2" || (name.size() > 5 && name.compare(name.size() - 5, 5, "_pipe") == 0);
}

int InputFile::Rotation(const AVStream* stream) {
  size_t size = 0;
  const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (matrix == nullptr || size < 9 * sizeof(int32_t)) return 0;
  double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  // The matrix gives counter-clockwise degrees; players rotate clockwise by its negation.
  long clockwise = std::lround(-ccw) % 360;
  if (clockwise < 0) clockwise += 360;
  long snapped = ((clockwise + 45) / 90 * 90) % 360;
  return static_cast<int>(snapped);
}

}  // namespace fw::av
