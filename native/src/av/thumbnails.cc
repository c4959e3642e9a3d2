#include "thumbnails.h"

#include <algorithm>
#include <cstdio>

#include "encoder.h"
#include "status.h"

namespace fw::av {

ThumbnailSet::ThumbnailSet(const ThumbnailSettings& settings, const AVCodecParameters* input, AVRational time_base,
                           AVRational frame_rate, int rotation, double duration_sec, const RunControl* control)
    : settings_(settings), control_(control), duration_sec_(duration_sec), last_(MakeFrame()) {
  VideoChain chain;
  chain.rotation = rotation;
  chain.max_width = settings.max_width;
  chain.max_height = settings.max_height;
  chain.pix_fmt = Encoder::ImagePixelFormat(settings.encoder);
  graph_ = FilterGraph::ForVideo(input, time_base, frame_rate, chain);
  targets_ = settings.at_sec;
  if (settings.count > 0) {
    if (duration_sec <= 0) Fail(ErrorCode::kUnsupported, "evenly spaced thumbnails need an input of known duration");
    // Centred in N equal slices: never the (often black) first frame, never past the end.
    for (int i = 0; i < settings.count; i++) targets_.push_back((i + 0.5) * duration_sec / settings.count);
  }
  std::sort(targets_.begin(), targets_.end());
}

bool ThumbnailSet::NextTarget(double* target) const {
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

void ThumbnailSet::Push(AVFrame* frame) {
  if (frame == nullptr) {
    graph_->Push(nullptr, [this](AVFrame* filtered) { OnFiltered(filtered); });
    // Explicit times past the last frame (an offset beyond the end) get the last frame.
    while (settings_.every_sec <= 0 && next_ < targets_.size() && last_time_ >= 0) {
      Take(last_.get(), last_time_);
      next_++;
    }
    return;
  }
  graph_->Push(frame, [this](AVFrame* filtered) { OnFiltered(filtered); });
}

void ThumbnailSet::OnFiltered(AVFrame* filtered) {
  {
    double time_sec = filtered->pts == AV_NOPTS_VALUE ? 0 : filtered->pts * av_q2d(graph_->output_time_base());
    double target;
    // Half a millisecond of slack absorbs time-base rounding (a frame "at" 2.0 s stored as 1.9996).
    while (NextTarget(&target) && target <= time_sec + 0.0005) {
      Take(filtered, time_sec);
      if (settings_.every_sec > 0) {
        every_index_++;
      } else {
        next_++;
      }
    }
    av_frame_unref(last_.get());
    if (av_frame_ref(last_.get(), filtered) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
    last_time_ = time_sec;
  }
}

void ThumbnailSet::Take(AVFrame* frame, double time_sec) {
  char suffix[32];
  snprintf(suffix, sizeof(suffix), "%04zu.", report_.files.size() + 1);
  std::string path = settings_.path_prefix + suffix + settings_.extension;

  // One short-lived encoder per image: stills have no inter-frame state, and draining it fully
  // guarantees the whole image is out.
  std::unique_ptr<Encoder> encoder = Encoder::ForImage(*graph_, settings_.encoder);
  std::string bytes;
  auto collect = [&bytes](AVPacket* packet) { bytes.append(reinterpret_cast<const char*>(packet->data), packet->size); };
  // The encoder may rewrite pts/pict_type; give it a reference of its own.
  FramePtr copy = MakeFrame();
  if (av_frame_ref(copy.get(), frame) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  encoder->Encode(copy.get(), graph_->output_time_base(), collect);
  encoder->Encode(nullptr, graph_->output_time_base(), collect);
  if (bytes.empty()) Fail(ErrorCode::kEngineFailure, "the " + settings_.encoder + " encoder produced no image");

  AVIOInterruptCB interrupt = InterruptCallback(control_);
  AVIOContext* io = nullptr;
  int ret = avio_open2(&io, path.c_str(), AVIO_FLAG_WRITE, &interrupt, nullptr);
  if (ret < 0) Fail(ErrorCode::kOutputWriteFailed, "could not create " + path, ret);
  avio_write(io, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  ret = avio_closep(&io);
  if (ret < 0) Fail(ErrorCode::kOutputWriteFailed, "could not write " + path, ret);
  report_.files.push_back(path);
  report_.times_sec.push_back(time_sec);
}

}  // namespace fw::av
