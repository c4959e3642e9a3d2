// Still images from the shared decode: each thumbnail set has its own small filter graph (rotate,
// fit, pixel format) and writes the first frame at or after each wanted time as one image file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "analysis/fingerprint.h"
#include "analysis/meters.h"
#include "filter_graph.h"
#include "resources.h"
#include "transcode.h"

namespace fw::av {

class ThumbnailSet {
 public:
  // select "scenes" writes at most this many stills (the first scenes).
  static constexpr size_t kMaxSceneStills = 100;

  // `duration_sec` (negative when unknown) places `count` evenly spaced times; it fails with
  // kUnsupported when a count is asked of an input of unknown duration.
  ThumbnailSet(const ThumbnailSettings& settings, const AVCodecParameters* input, AVRational time_base,
               AVRational frame_rate, Orientation orientation, double duration_sec, const RunControl* control);

  // One decoded frame (nullptr at end of input: pending explicit times get the last frame).
  void Push(AVFrame* frame);

  // Whether every wanted time has been written (the run may stop reading early).
  bool Done() const;

  const ThumbnailReport& report() const { return report_; }

 private:
  void OnFiltered(AVFrame* filtered);
  // select "scenes": cut detection on every frame, a few candidate stills per scene, and the
  // scene's still chosen when it ends.
  void PushForScenes(AVFrame* frame);
  void EndScene();
  void WriteImage(const AVFrame* frame, const std::string& path, AVRational time_base);
  void WriteSprite();
  void Take(AVFrame* frame, double time_sec);
  bool NextTarget(double* target) const;

  ThumbnailSettings settings_;
  const RunControl* control_;
  std::unique_ptr<FilterGraph> graph_;
  AVRational input_time_base_;
  bool take_all_ = false;  // end of input: the last frame answers every pending explicit time
  std::vector<double> targets_;  // sorted; for count/at modes
  size_t next_ = 0;
  int64_t every_index_ = 0;
  double duration_sec_;
  FramePtr last_;
  double last_time_ = -1;
  ThumbnailReport report_;
  std::vector<FramePtr> tiles_;  // scaled frames kept for the sprite sheet

  struct Candidate {
    FramePtr frame;  // through graph_ (upright, fitted), ready to write
    double time_sec;
    std::vector<uint8_t> signature;
  };
  std::unique_ptr<SceneMeter> scenes_;
  std::unique_ptr<PictureSignature> signature_;
  std::vector<Candidate> candidates_;  // of the current scene
  double scene_start_sec_ = -1;
  double candidate_step_sec_ = 0;
  double next_candidate_sec_ = 0;
};

}  // namespace fw::av
