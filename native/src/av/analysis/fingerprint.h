// Fingerprints: the audio's Chromaprint through libavformat's chromaprint muxer (FFmpeg links
// libchromaprint), fed exactly what fpcalc feeds it, so the string is fpcalc's; and 64-bit DCT
// perceptual hashes (pHash) of upright frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analysis.h"
#include "mono.h"

namespace fw::av {

class ChromaprintWriter {
 public:
  static constexpr int kRate = 11025;  // chromaprint_get_sample_rate(): what fpcalc resamples to
  // Fingerprints the first `max_sec` seconds of the decoder's audio.
  ChromaprintWriter(const AVCodecContext* decoder, double max_sec);
  ~ChromaprintWriter();
  ChromaprintWriter(const ChromaprintWriter&) = delete;
  ChromaprintWriter& operator=(const ChromaprintWriter&) = delete;

  void Push(const AVFrame* frame);
  bool Full() const { return fed_ >= limit_; }
  // The compressed, base64-encoded fingerprint ("" when the audio was too short for one) and the
  // seconds of audio it covers.
  std::string Finish(double* seconds);

 private:
  void Feed(const int16_t* samples, size_t count);

  MonoResampler resampler_;
  OutputFormatPtr muxer_;
  bool header_ = false;
  bool finished_ = false;
  size_t limit_;
  size_t fed_ = 0;
  std::vector<int16_t> samples_;
  PacketPtr packet_;
};

// The 64-bit pHash of a picture: 32×32 grey, 2-D DCT-II, the 8×8 lowest frequencies against their
// median (as imagehash's phash), most significant bit first.
class FrameHasher {
 public:
  explicit FrameHasher(const AnalysisInput& input);
  // The frame's hash (through the upright 32×32 grey graph).
  uint64_t Hash(AVFrame* frame);

 private:
  std::unique_ptr<FilterGraph> graph_;
  uint64_t last_ = 0;
  bool got_ = false;
};

// A 16×16 grey thumbnail of a frame (not upright: only compared with others of the same input), to
// tell a scene's typical picture from its fades and flashes.
class PictureSignature {
 public:
  static constexpr int kSide = 16;
  explicit PictureSignature(const AnalysisInput& input);
  std::vector<uint8_t> Of(AVFrame* frame);

 private:
  std::unique_ptr<FilterGraph> graph_;
};

}  // namespace fw::av
