#include "thumbnails.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ffmpeg.h"

#include "encoder.h"
#include "status.h"

namespace fw::av {

ThumbnailSet::ThumbnailSet(const ThumbnailSettings& settings, const AVCodecParameters* input, AVRational time_base,
                           AVRational frame_rate, Orientation orientation, double duration_sec, const RunControl* control)
    : settings_(settings),
      control_(control),
      input_time_base_(time_base),
      duration_sec_(duration_sec),
      last_(MakeFrame()) {
  VideoChain chain;
  chain.orientation = orientation;
  chain.max_width = settings.max_width;
  chain.max_height = settings.max_height;
  chain.pix_fmt = Encoder::ImagePixelFormat(settings.encoder);
  graph_ = FilterGraph::ForVideo(input, time_base, frame_rate, chain);
  if (settings.scenes) {
    AnalysisInput analysis;
    analysis.video = input;
    analysis.video_time_base = time_base;
    analysis.video_frame_rate = frame_rate;
    scenes_ = std::make_unique<SceneMeter>(analysis, settings.scene_threshold);
    signature_ = std::make_unique<PictureSignature>(analysis);
  }
  targets_ = settings.at_sec;
  if (settings.count > 0) {
    if (duration_sec <= 0) Fail(ErrorCode::kUnsupported, "evenly spaced thumbnails need an input of known duration");
    // Centred in N equal slices: never the (often black) first frame, never past the end.
    for (int i = 0; i < settings.count; i++) targets_.push_back((i + 0.5) * duration_sec / settings.count);
  }
  std::sort(targets_.begin(), targets_.end());
}

bool ThumbnailSet::NextTarget(double* target) const {
  if (settings_.scenes) {
    // Scenes are known only as the input is read: never done before its end.
    *target = 0;
    return report_.files.size() < kMaxSceneStills;
  }
  if (settings_.every_sec > 0) {
    double t = static_cast<double>(every_index_) * settings_.every_sec;
    if (duration_sec_ > 0 && t >= duration_sec_) return false;
    *target = t;
    return true;
  }
  if (next_ >= targets_.size()) return false;
  *target = targets_[next_];
  return true;
}

bool ThumbnailSet::Done() const {
  double unused;
  return !NextTarget(&unused);
}

// Only frames that answer a wanted time go through the graph (scaling every decoded frame would
// cost more than decoding it); the graph has no timing filters, so a frame's time is the same on
// both sides. The last decoded frame is kept (a reference, no copy) for offsets past the end.
void ThumbnailSet::Push(AVFrame* frame) {
  if (settings_.scenes) {
    PushForScenes(frame);
    return;
  }
  if (frame == nullptr) {
    bool pending = settings_.every_sec <= 0 && next_ < targets_.size();
    if (pending && last_time_ >= 0) {
      take_all_ = true;
      graph_->Push(last_.get(), [this](AVFrame* filtered) { OnFiltered(filtered); });
    }
    graph_->Push(nullptr, [this](AVFrame* filtered) { OnFiltered(filtered); });
    if (settings_.sprite_columns > 0 && !tiles_.empty()) WriteSprite();
    return;
  }
  double time_sec = frame->pts == AV_NOPTS_VALUE ? 0 : frame->pts * av_q2d(input_time_base_);
  av_frame_unref(last_.get());
  if (av_frame_ref(last_.get(), frame) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  last_time_ = time_sec;
  double target;
  // Half a millisecond of slack absorbs time-base rounding (a frame "at" 2.0 s stored as 1.9996).
  if (!NextTarget(&target) || target > time_sec + 0.0005) return;
  graph_->Push(frame, [this](AVFrame* filtered) { OnFiltered(filtered); });
}

void ThumbnailSet::OnFiltered(AVFrame* filtered) {
  double time_sec = filtered->pts == AV_NOPTS_VALUE ? 0 : filtered->pts * av_q2d(graph_->output_time_base());
  double target;
  while (NextTarget(&target) && (take_all_ || target <= time_sec + 0.0005)) {
    Take(filtered, time_sec);
    if (settings_.every_sec > 0) {
      every_index_++;
    } else {
      next_++;
    }
  }
}

namespace {
// A sprite sheet holds at most this many tiles (a 2-hour film every 10 s is 720).
constexpr size_t kMaxTiles = 1000;
// Candidates kept per scene; when a long scene passes it, every other one goes and the step doubles.
constexpr size_t kMaxCandidates = 12;
constexpr double kFirstCandidateStepSec = 0.2;
// A candidate this flat (luma standard deviation out of 255) is a fade, a flash or black: the
// scene's still is one of the others when there are others.
constexpr double kFlatSignature = 6;

double Deviation(const std::vector<uint8_t>& signature) {
  double mean = 0;
  for (uint8_t v : signature) mean += v;
  mean /= static_cast<double>(signature.size());
  double var = 0;
  for (uint8_t v : signature) var += (v - mean) * (v - mean);
  return std::sqrt(var / static_cast<double>(signature.size()));
}
}  // namespace

void ThumbnailSet::PushForScenes(AVFrame* frame) {
  if (frame == nullptr) {
    scenes_->Push(nullptr);
    EndScene();
    if (settings_.sprite_columns > 0 && !tiles_.empty()) WriteSprite();
    return;
  }
  if (report_.files.size() >= kMaxSceneStills) return;
  double time_sec = frame->pts == AV_NOPTS_VALUE ? 0 : frame->pts * av_q2d(input_time_base_);
  size_t cuts = scenes_->cuts().size();
  scenes_->Push(frame);
  if (scenes_->cuts().size() > cuts || scene_start_sec_ < 0) {
    EndScene();
    if (report_.files.size() >= kMaxSceneStills) return;
    scene_start_sec_ = time_sec;
    candidate_step_sec_ = kFirstCandidateStepSec;
    next_candidate_sec_ = time_sec;
  }
  if (time_sec + 0.0005 < next_candidate_sec_) return;
  next_candidate_sec_ = time_sec + candidate_step_sec_;
  Candidate candidate{nullptr, time_sec, signature_->Of(frame)};
  graph_->Push(frame, [&](AVFrame* filtered) {
    candidate.frame.reset(av_frame_clone(filtered));
    if (!candidate.frame) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  });
  if (!candidate.frame) return;
  candidates_.push_back(std::move(candidate));
  if (candidates_.size() > kMaxCandidates) {
    std::vector<Candidate> kept;
    for (size_t i = 0; i < candidates_.size(); i += 2) kept.push_back(std::move(candidates_[i]));
    candidates_ = std::move(kept);
    candidate_step_sec_ *= 2;
  }
}

// The scene's most representative still: the candidate nearest the scene's median picture, leaving
// out flat ones (black, flashes) when the scene has others.
void ThumbnailSet::EndScene() {
  if (candidates_.empty()) return;
  std::vector<size_t> usable;
  for (size_t i = 0; i < candidates_.size(); i++) {
    if (Deviation(candidates_[i].signature) >= kFlatSignature) usable.push_back(i);
  }
  if (usable.empty()) {
    for (size_t i = 0; i < candidates_.size(); i++) usable.push_back(i);
  }
  // The scene's typical picture: the per-pixel median over its candidates (a fade or a flash moves
  // a mean, not a median).
  size_t length = candidates_[usable.front()].signature.size();
  std::vector<double> mean(length, 0.0);
  std::vector<uint8_t> values;
  for (size_t p = 0; p < length; p++) {
    values.clear();
    for (size_t i : usable) values.push_back(candidates_[i].signature[p]);
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
    mean[p] = values[values.size() / 2];
  }
  size_t best = usable.front();
  double best_distance = -1;
  for (size_t i : usable) {
    double distance = 0;
    for (size_t p = 0; p < length; p++) distance += std::fabs(candidates_[i].signature[p] - mean[p]);
    if (best_distance < 0 || distance < best_distance) {
      best_distance = distance;
      best = i;
    }
  }
  Take(candidates_[best].frame.get(), candidates_[best].time_sec);
  candidates_.clear();
}

void ThumbnailSet::Take(AVFrame* frame, double time_sec) {
  char suffix[32];
  snprintf(suffix, sizeof(suffix), "%04zu.", report_.files.size() + 1);
  std::string path = settings_.path_prefix + suffix + settings_.extension;
  WriteImage(frame, path, graph_->output_time_base());
  report_.files.push_back(path);
  report_.times_sec.push_back(time_sec);
  if (settings_.sprite_columns > 0) {
    if (tiles_.size() >= kMaxTiles) {
      Fail(ErrorCode::kUnsupported, "a sprite sheet holds at most " + std::to_string(kMaxTiles) + " thumbnails");
    }
    FramePtr tile(av_frame_clone(frame));
    if (!tile) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
    tiles_.push_back(std::move(tile));
  }
}

void ThumbnailSet::WriteImage(const AVFrame* frame, const std::string& path, AVRational time_base) {
  // One short-lived encoder per image: stills have no inter-frame state, and draining it fully
  // guarantees the whole image is out.
  std::unique_ptr<Encoder> encoder =
      Encoder::ForImage(frame->width, frame->height, static_cast<AVPixelFormat>(frame->format), time_base,
                        settings_.encoder);
  std::string bytes;
  auto collect = [&bytes](AVPacket* packet) { bytes.append(reinterpret_cast<const char*>(packet->data), packet->size); };
  // The encoder may rewrite pts/pict_type; give it a reference of its own.
  FramePtr copy = MakeFrame();
  if (av_frame_ref(copy.get(), frame) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  encoder->Encode(copy.get(), time_base, collect);
  encoder->Encode(nullptr, time_base, collect);
  if (bytes.empty()) Fail(ErrorCode::kEngineFailure, "the " + settings_.encoder + " encoder produced no image");

  AVIOInterruptCB interrupt = InterruptCallback(control_);
  AVIOContext* io = nullptr;
  int ret = avio_open2(&io, path.c_str(), AVIO_FLAG_WRITE, &interrupt, nullptr);
  if (ret < 0) Fail(ErrorCode::kOutputWriteFailed, "could not create " + path, ret);
  avio_write(io, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  ret = avio_closep(&io);
  if (ret < 0) Fail(ErrorCode::kOutputWriteFailed, "could not write " + path, ret);
}

// Tiles the kept thumbnails row by row into one picture (black where the last row is short).
void ThumbnailSet::WriteSprite() {
  const AVFrame* first = tiles_.front().get();
  int tile_w = first->width;
  int tile_h = first->height;
  auto format = static_cast<AVPixelFormat>(first->format);
  int columns = std::min<int>(settings_.sprite_columns, static_cast<int>(tiles_.size()));
  int rows = static_cast<int>((tiles_.size() + columns - 1) / columns);
  FramePtr sheet = MakeFrame();
  sheet->format = format;
  sheet->width = tile_w * columns;
  sheet->height = tile_h * rows;
  sheet->color_range = first->color_range;
  int ret = av_frame_get_buffer(sheet.get(), 0);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not allocate the sprite sheet", ret);
  ptrdiff_t linesizes[4];
  for (int p = 0; p < 4; p++) linesizes[p] = sheet->linesize[p];
  av_image_fill_black(sheet->data, linesizes, format, first->color_range, sheet->width, sheet->height);

  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
  int planes = av_pix_fmt_count_planes(format);
  for (size_t i = 0; i < tiles_.size(); i++) {
    const AVFrame* tile = tiles_[i].get();
    int x = static_cast<int>(i % columns) * tile_w;
    int y = static_cast<int>(i / columns) * tile_h;
    for (int p = 0; p < planes; p++) {
      bool chroma = (p == 1 || p == 2) && !(desc->flags & AV_PIX_FMT_FLAG_RGB);
      int shift_h = chroma ? desc->log2_chroma_h : 0;
      int x_bytes = x > 0 ? av_image_get_linesize(format, x, p) : 0;
      int row_bytes = av_image_get_linesize(format, tile_w, p);
      int plane_rows = AV_CEIL_RSHIFT(tile_h, shift_h);
      uint8_t* dst = sheet->data[p] + static_cast<ptrdiff_t>(y >> shift_h) * sheet->linesize[p] + x_bytes;
      av_image_copy_plane(dst, sheet->linesize[p], tile->data[p], tile->linesize[p], row_bytes, plane_rows);
    }
  }
  std::string path = settings_.path_prefix + "sprite." + settings_.extension;
  WriteImage(sheet.get(), path, graph_->output_time_base());
  report_.sprite = path;
  report_.tile_width = tile_w;
  report_.tile_height = tile_h;
  tiles_.clear();
}

}  // namespace fw::av
