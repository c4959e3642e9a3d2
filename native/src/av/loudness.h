// Loudness normalization: the first pass measures integrated loudness and true peak (EBU R128) of
// each normalized output's own audio (its trim window, at its channel count and sample rate, on the
// repaired timeline), and the third reads back what was written; the second pass (transcode.cc)
// applies one static gain and, where that gain alone would put true peaks above the ceiling, the
// look-ahead true-peak limiter (limiter.h).
#pragma once

#include <string>
#include <vector>

#include "status.h"

namespace fw::av {

struct Loudness {
  double integrated_lufs = -70;  // ebur128 reports -70 for silence
  double true_peak_dbtp = -70;
};

// One measurement: a window of the input timeline (trim_end < 0: to the end) and the output's
// channel count and sample rate (0: the input's).
struct LoudnessWindow {
  double trim_start = 0;
  double trim_end = -1;
  int channels = 0;
  int sample_rate = 0;
  int stream_index = -1;  // the audio stream measured; -1: the input's best (every window of a call: the same)
};

// The integrated loudness of a window after `gain_db` and the true-peak limiter at `ceiling_dbtp`:
// the limiter's rehearsal, so the gain can make up for the loudness that limiting takes away
// (heavily limited speech would otherwise land 1–3 LU under its target).
double RehearseLimitedLoudness(const std::string& path, const LoudnessWindow& window, double gain_db,
                               double ceiling_dbtp, RunControl* control);

// Every window in one decode of the input's audio. Throws like the run does (kInputUnreadable,
// kInputNoStreams, kCanceled/kStalled through the control).
std::vector<Loudness> MeasureLoudness(const std::string& path, const std::vector<LoudnessWindow>& windows,
                                      RunControl* control);

// The true peak the second pass lets through before encoding (dBTP), per encoder: under the
// -1 dBTP every delivery spec asks for by what that encoder's overshoot needs (measured here on
// mastered music at 128 kb/s: FFmpeg's AAC adds ~0.7 dB of inter-sample peak, Opus up to ~1 dB;
// LAME's low-pass takes some off; lossless codecs add nothing, leaving the limiter's own error).
double LimiterCeilingDbtp(const std::string& encoder);

struct Normalization {
  double gain_db = 0;
  bool limit = false;  // the gain alone would put true peaks above the ceiling
  double ceiling_dbtp = -1;
};

// Reach the target with one gain; limit only where that gain would pass the ceiling. Silence
// (<= -70 LUFS) is left alone.
Normalization PlanNormalization(const Loudness& measured, double target_lufs, double ceiling_dbtp);

}  // namespace fw::av
