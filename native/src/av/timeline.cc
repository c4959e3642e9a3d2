#include "timeline.h"

#include <algorithm>

namespace fw::av {

AudioTimeline::Verdict AudioTimeline::Place(double raw_sec, double duration_sec, const VideoClock& video) {
  Verdict verdict;
  if (!started_) {
    started_ = true;
    next_sec_ = raw_sec >= 0 ? raw_sec : 0;
    verdict.start_sec = next_sec_;
    next_sec_ += duration_sec;
    return verdict;
  }
  double delta = raw_sec >= 0 ? raw_sec - next_sec_ : 0;
  if (delta > kAudioSnapSec && video.present) {
    // A gap is real when the video went there too (it may reach it a little later in file order:
    // until then the audio stays contiguous, then the remaining gap becomes silence).
    bool video_there = video.reached_sec >= raw_sec - kInterleaveSec;
    if (video_there && delta <= kMaxAudioGapSec) verdict.silence_sec = delta;
  } else if (raw_sec >= 0 && (overlapping_ || (delta < -kAudioSnapSec && !resets_continue_ && delta >= -kMaxOverlapSec))) {
    // Audio going back over time already placed: a second copy of a stretch. Drop it until it
    // reaches the end of what was placed.
    overlapping_ = raw_sec + duration_sec <= next_sec_;
    if (overlapping_) {
      verdict.keep = false;
      return verdict;
    }
  }
  verdict.start_sec = next_sec_ + verdict.silence_sec;
  next_sec_ = verdict.start_sec + duration_sec;
  return verdict;
}

VideoTimeline::Verdict VideoTimeline::Place(double raw_sec, double duration_sec, double audio_sec) {
  Verdict verdict;
  if (duration_sec <= 0) duration_sec = 1.0 / 25;
  if (!started_) {
    started_ = true;
    last_sec_ = raw_sec >= 0 ? raw_sec : 0;
    last_duration_sec_ = duration_sec;
    verdict.time_sec = last_sec_;
    return verdict;
  }
  double time = raw_sec >= 0 ? raw_sec + offset_sec_ : last_sec_ + last_duration_sec_;
  if (time <= last_sec_ + 1e-6) {
    double back = last_sec_ - time;
    if (back <= kVideoReorderSec || (!resets_continue_ && back <= kMaxOverlapSec)) {
      verdict.keep = false;  // a duplicate, a frame out of order, or a second copy of a stretch
      return verdict;
    }
    // A reset: continue from the previous frame.
    offset_sec_ += last_sec_ + last_duration_sec_ - time;
    time = last_sec_ + last_duration_sec_;
  } else {
    double reference = audio_sec >= 0 ? std::max(audio_sec, last_sec_) : last_sec_;
    if (time - reference > kMaxVideoLeadSec) {
      offset_sec_ += last_sec_ + last_duration_sec_ - time;
      time = last_sec_ + last_duration_sec_;
    }
  }
  last_sec_ = time;
  last_duration_sec_ = duration_sec;
  verdict.time_sec = time;
  return verdict;
}

}  // namespace fw::av
