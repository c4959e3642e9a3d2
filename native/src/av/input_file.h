// Demux side: opens one input and hands out its packets with timestamps shifted so the file
// starts at zero (as ffmpeg does by default), so every output starts at 0 whatever the input's
// start_time.
#pragma once

#include <atomic>
#include <string>

#include "resources.h"

namespace fw::av {

class InputFile {
 public:
  // Opens and reads stream info; throws kInputUnreadable (kCanceled through Guard when interrupted).
  // `cancel` may be null; otherwise it must outlive this object.
  InputFile(const std::string& path, const std::atomic<bool>* cancel);

  AVFormatContext* ctx() const { return ctx_.get(); }
  AVStream* stream(int index) const { return ctx_->streams[index]; }

  // The best stream of a type, or -1. Cover art (an attached picture) never counts as video.
  int BestStream(AVMediaType type) const;

  // Marks every stream except the given ones as discarded, so the demuxer skips their packets.
  void KeepOnly(int video_index, int audio_index);

  // Reads the next packet into `packet`. Returns false at end of input. A read error part-way
  // through (a truncated file) also ends the input, as the ffmpeg CLI does: what was read is kept.
  bool Read(AVPacket* packet);

  // Container duration in seconds, or a negative number when unknown.
  double DurationSec() const;

 private:
  InputFormatPtr ctx_;
  int64_t start_time_ = 0;  // AV_TIME_BASE units
};

}  // namespace fw::av
