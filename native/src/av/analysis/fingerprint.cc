#include "fingerprint.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace fw::av {

ChromaprintWriter::ChromaprintWriter(const AVCodecContext* decoder, double max_sec)
    : resampler_(decoder, kRate, MonoResampler::Mode::kChromaprint),
      limit_(static_cast<size_t>(max_sec * kRate)),
      packet_(MakePacket()) {
  AVFormatContext* raw = nullptr;
  int ret = avformat_alloc_output_context2(&raw, nullptr, "chromaprint", nullptr);
  if (ret < 0 || raw == nullptr) Fail(ErrorCode::kUnsupported, "this FFmpeg has no chromaprint muxer", ret);
  muxer_.reset(raw);
  ret = avio_open_dyn_buf(&muxer_->pb);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not allocate the fingerprint buffer", ret);
  AVStream* stream = avformat_new_stream(muxer_.get(), nullptr);
  if (stream == nullptr) Fail(ErrorCode::kEngineFailure, "could not add the fingerprint stream", AVERROR(ENOMEM));
  stream->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
  stream->codecpar->codec_id = AV_CODEC_ID_PCM_S16LE;
  stream->codecpar->sample_rate = kRate;
  stream->codecpar->format = AV_SAMPLE_FMT_S16;
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  ret = av_channel_layout_copy(&stream->codecpar->ch_layout, &mono);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not set the fingerprint layout", ret);
  stream->time_base = AVRational{1, kRate};
  AVDictionary* options = nullptr;
  // fpcalc's output: the compressed fingerprint, base64 (URL-safe, unpadded); algorithm 2 is the
  // muxer's default (CHROMAPRINT_ALGORITHM_TEST2), as it is fpcalc's.
  av_dict_set(&options, "fp_format", "base64", 0);
  ret = avformat_write_header(muxer_.get(), &options);
  av_dict_free(&options);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not start the fingerprint", ret);
  header_ = true;
}

ChromaprintWriter::~ChromaprintWriter() {
  if (muxer_ && muxer_->pb != nullptr) {
    if (header_ && !finished_) av_write_trailer(muxer_.get());
    uint8_t* bytes = nullptr;
    avio_close_dyn_buf(muxer_->pb, &bytes);
    av_free(bytes);
    muxer_->pb = nullptr;
  }
}

void ChromaprintWriter::Push(const AVFrame* frame) {
  if (Full() || finished_) return;
  samples_.clear();
  resampler_.Convert(frame, nullptr, &samples_);
  Feed(samples_.data(), samples_.size());
}

void ChromaprintWriter::Feed(const int16_t* samples, size_t count) {
  count = std::min(count, limit_ - fed_);
  if (count == 0) return;
  int ret = av_new_packet(packet_.get(), static_cast<int>(count * sizeof(int16_t)));
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not allocate a fingerprint packet", ret);
  PacketUnref unref(packet_.get());
  std::memcpy(packet_->data, samples, count * sizeof(int16_t));
  packet_->pts = static_cast<int64_t>(fed_);
  packet_->dts = packet_->pts;
  packet_->duration = static_cast<int64_t>(count);
  packet_->stream_index = 0;
  ret = av_write_frame(muxer_.get(), packet_.get());
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not fingerprint the audio", ret);
  fed_ += count;
}

std::string ChromaprintWriter::Finish(double* seconds) {
  // The resampler's last few samples are not drained: fpcalc 1.5 never drains them either.
  finished_ = true;
  *seconds = static_cast<double>(fed_) / kRate;
  // With too little audio the muxer has no fingerprint to write and says so.
  int ret = av_write_trailer(muxer_.get());
  uint8_t* bytes = nullptr;
  int size = avio_close_dyn_buf(muxer_->pb, &bytes);
  muxer_->pb = nullptr;
  std::string text(reinterpret_cast<const char*>(bytes), size > 0 ? static_cast<size_t>(size) : 0);
  av_free(bytes);
  if (ret < 0) return "";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0' || text.back() == ' ')) text.pop_back();
  return text;
}

namespace {
constexpr int kHashSide = 32;
constexpr int kLow = 8;

// cos((2x + 1) u π / 2N), N = 32
const std::array<double, kHashSide * kHashSide>& CosineTable() {
  static const std::array<double, kHashSide * kHashSide> table = [] {
    std::array<double, kHashSide * kHashSide> t{};
    for (int u = 0; u < kHashSide; u++) {
      for (int x = 0; x < kHashSide; x++) t[static_cast<size_t>(u * kHashSide + x)] = std::cos((2 * x + 1) * u * M_PI / (2 * kHashSide));
    }
    return t;
  }();
  return table;
}
}  // namespace

FrameHasher::FrameHasher(const AnalysisInput& input) {
  std::vector<FilterStep> steps;
  const Orientation& o = input.orientation;
  if (o.transpose >= 0) {
    static const char* kDirections[] = {"cclock_flip", "clock", "cclock", "clock_flip"};
    steps.push_back({"transpose", {{"dir", kDirections[std::clamp(o.transpose, 0, 3)]}}});
  }
  if (o.hflip) steps.push_back({"hflip", {}});
  if (o.vflip) steps.push_back({"vflip", {}});
  steps.push_back({"scale", {{"w", "32"}, {"h", "32"}, {"flags", "area"}}});
  steps.push_back({"format", {{"pix_fmts", "gray"}}});
  graph_ = FilterGraph::ForVideoSteps(input.video, input.video_time_base, input.video_frame_rate, steps);
}

uint64_t FrameHasher::Hash(AVFrame* frame) {
  got_ = false;
  graph_->Push(frame, [this](AVFrame* grey) {
    const auto& cosine = CosineTable();
    std::array<double, kHashSide * kHashSide> pixels{};
    for (int y = 0; y < kHashSide; y++) {
      for (int x = 0; x < kHashSide; x++) {
        pixels[static_cast<size_t>(y * kHashSide + x)] = grey->data[0][y * grey->linesize[0] + x];
      }
    }
    // Rows, then columns; only the lowest 8×8 coefficients are needed.
    std::array<double, kHashSide * kLow> rows{};
    for (int y = 0; y < kHashSide; y++) {
      for (int u = 0; u < kLow; u++) {
        double sum = 0;
        for (int x = 0; x < kHashSide; x++) sum += pixels[static_cast<size_t>(y * kHashSide + x)] * cosine[static_cast<size_t>(u * kHashSide + x)];
        rows[static_cast<size_t>(y * kLow + u)] = sum;
      }
    }
    std::array<double, kLow * kLow> low{};
    for (int v = 0; v < kLow; v++) {
      for (int u = 0; u < kLow; u++) {
        double sum = 0;
        for (int y = 0; y < kHashSide; y++) sum += rows[static_cast<size_t>(y * kLow + u)] * cosine[static_cast<size_t>(v * kHashSide + y)];
        low[static_cast<size_t>(v * kLow + u)] = sum;
      }
    }
    std::array<double, kLow * kLow> sorted = low;
    std::sort(sorted.begin(), sorted.end());
    double median = (sorted[31] + sorted[32]) / 2;
    uint64_t hash = 0;
    for (size_t i = 0; i < low.size(); i++) hash = (hash << 1) | (low[i] > median ? 1u : 0u);
    last_ = hash;
    got_ = true;
  });
  if (!got_) Fail(ErrorCode::kEngineFailure, "the picture hash graph gave no frame");
  return last_;
}

PictureSignature::PictureSignature(const AnalysisInput& input) {
  std::string side = std::to_string(kSide);
  graph_ = FilterGraph::ForVideoSteps(input.video, input.video_time_base, input.video_frame_rate,
                                      {{"scale", {{"w", side}, {"h", side}, {"flags", "area"}}},
                                       {"format", {{"pix_fmts", "gray"}}}});
}

std::vector<uint8_t> PictureSignature::Of(AVFrame* frame) {
  std::vector<uint8_t> signature;
  graph_->Push(frame, [&](AVFrame* grey) {
    signature.resize(kSide * kSide);
    for (int y = 0; y < kSide; y++) {
      for (int x = 0; x < kSide; x++) signature[static_cast<size_t>(y * kSide + x)] = grey->data[0][y * grey->linesize[0] + x];
    }
  });
  if (signature.empty()) Fail(ErrorCode::kEngineFailure, "the picture signature graph gave no frame");
  return signature;
}

}  // namespace fw::av
