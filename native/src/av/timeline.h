// Timestamp repair for real files, per decoded (or copied) stream, before anything is filtered,
// encoded or muxed. Real inputs carry disordered, duplicated, reset or bogus timestamps (a Matroska
// file whose audio restarts at 0 half-way, an Ogg file whose audio pages jump a minute ahead, a
// bit-flipped block time); the muxer refuses non-increasing dts and a bogus jump makes a file many
// times longer than its media. The rules, in input-timeline seconds:
//
// Audio is timed by its sample count: each frame starts where the previous one ended unless the
// container's timestamp says otherwise by more than kAudioSnapSec (jitter, small disorder and
// rounding are absorbed without clicks or drift). A larger jump is believed only when the video
// makes the same jump (a splice or a paused recording: both streams move together, and the gap is
// filled with silence so A/V stay aligned); an audio jump the video does not make is bogus and the
// audio stays sample-contiguous; without video, audio is purely sample-timed.
//
// Video keeps its own timestamps (variable frame rate is real), made strictly increasing: a frame
// at or before the previous one within kVideoReorderSec is a duplicate or out of order and is
// dropped. A forward jump of more than kMaxVideoLeadSec past the audio (or, without audio, past the
// previous frame) is bogus and closed.
//
// A larger step back (both streams going back to an earlier time) depends on the container. Where
// timestamps may legitimately restart (MPEG-TS/PS: AVFMT_TS_DISCONT, concatenated recordings,
// clock wraps), it is a reset and the media continues after what came before. Elsewhere timestamps
// are absolute, so media stamped with a time already covered is a second copy of that stretch (a
// Matroska file whose streams restart at 0 half-way) and is dropped until it passes the covered
// time, up to kMaxOverlapSec of overlap; a longer step back is taken as a reset after all.
#pragma once

#include <cstdint>

namespace fw::av {

constexpr double kAudioSnapSec = 0.2;
constexpr double kMaxOverlapSec = 5.0;
constexpr double kMaxAudioGapSec = 10.0;
constexpr double kVideoReorderSec = 0.5;
constexpr double kMaxVideoLeadSec = 10.0;
// Interleaving puts audio up to about this far ahead of or behind the video in file order.
constexpr double kInterleaveSec = 0.75;

// What the video of the input has reached, read from its packets in file order (the video stream
// is read even when no output decodes it, so audio-only outputs judge audio jumps the same way).
struct VideoClock {
  bool present = false;
  double reached_sec = -1;  // the latest video packet time seen (input timeline)
};

class AudioTimeline {
 public:
  struct Verdict {
    bool keep = true;
    double start_sec = 0;    // where the frame goes on the repaired timeline
    double silence_sec = 0;  // silence to insert before it (a gap the video confirms)
  };

  // `resets_continue`: the container's timestamps may restart (AVFMT_TS_DISCONT).
  explicit AudioTimeline(bool resets_continue = false) : resets_continue_(resets_continue) {}

  // `raw_sec`: the frame's own timestamp (negative when it has none); `duration_sec`: its length.
  Verdict Place(double raw_sec, double duration_sec, const VideoClock& video);

  // The end of the audio placed so far; negative before the first frame.
  double end_sec() const { return started_ ? next_sec_ : -1; }

 private:
  bool resets_continue_;
  bool started_ = false;
  bool overlapping_ = false;  // dropping a second copy of a stretch
  double next_sec_ = 0;
};

class VideoTimeline {
 public:
  struct Verdict {
    bool keep = true;
    double time_sec = 0;
  };

  explicit VideoTimeline(bool resets_continue = false) : resets_continue_(resets_continue) {}

  // `raw_sec` negative when the frame has no timestamp; `audio_sec` negative without audio.
  Verdict Place(double raw_sec, double duration_sec, double audio_sec);

  double end_sec() const { return started_ ? last_sec_ + last_duration_sec_ : -1; }
  // Where the last picture starts; -1 before any.
  double last_start_sec() const { return started_ ? last_sec_ : -1; }

 private:
  bool resets_continue_;
  bool started_ = false;
  double offset_sec_ = 0;
  double last_sec_ = 0;
  double last_duration_sec_ = 0;
};

}  // namespace fw::av
