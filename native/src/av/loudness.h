// First pass of loudness normalization: decodes the input's audio once through ebur128 and
// returns its integrated loudness (EBU R128) and true peak.
#pragma once

#include <string>

#include "status.h"

namespace fw::av {

struct Loudness {
  double integrated_lufs = -70;  // ebur128 reports -70 for silence
  double true_peak_dbtp = -70;
};

// Throws like the run does (kInputUnreadable, kCanceled/kStalled through the control).
Loudness MeasureLoudness(const std::string& path, RunControl* control);

// The second pass's static gain: reach the target, but keep true peaks at or below -1 dBTP (as
// loudnorm's linear mode does); silence (<= -70 LUFS) is left alone.
double NormalizationGainDb(const Loudness& measured, double target_lufs);

}  // namespace fw::av
