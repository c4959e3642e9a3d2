// Demux side: opens one input and hands out its packets with timestamps shifted so the file
// starts at zero (as ffmpeg does by default), so every output starts at 0 whatever the input's
// start_time.
//
// The file is read through our own AVIOContext over a non-blocking descriptor, polled in short
// slices: a read that would block (a pipe, a stalled network mount) keeps checking the run's
// interrupt callback, so cancel and the no-progress watchdog stop even a run stuck in I/O.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "resources.h"

namespace fw::av {

class InputFile {
 public:
  // Opens and reads stream info; throws kInputUnreadable (kCanceled/kStalled through Guard when
  // interrupted). `control` may be null; otherwise it must outlive this object.
  InputFile(const std::string& path, RunControl* control);
  ~InputFile();  // defined where Source is complete
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  AVFormatContext* ctx() const { return ctx_.get(); }
  AVStream* stream(int index) const { return ctx_->streams[index]; }

  // The best stream of a type, or -1. Cover art (an attached picture) never counts as video.
  int BestStream(AVMediaType type) const;

  // Marks every stream except the given ones as discarded, so the demuxer skips their packets.
  void KeepOnly(int video_index, int audio_index);
  void KeepOnly(const std::vector<int>& indices);

  // Seeks to the keyframe at or before `seconds` (input timeline, starting at 0), then checks where
  // it landed by reading ahead to the first packet of `check_stream`: a seek that failed or landed
  // after the target (Matroska without cues, some MPEG-PS and Ogg files) falls back to the start of
  // the input (seek to 0, else reopen it), and the trim filters drop what comes before the target.
  // Returns false when it had to fall back.
  bool SeekTo(double seconds, int check_stream);

  // Reads the next packet into `packet` (packets read ahead by SeekTo come first). Returns false at
  // end of input. A read error part-way
  // through (a truncated file) also ends the input, as the ffmpeg CLI does: what was read is kept.
  bool Read(AVPacket* packet);

  // Container duration in seconds, or a negative number when unknown.
  double DurationSec() const;

  // The media's duration when the container does not say (Matroska written to a pipe, a still
  // image): reads every packet, decodes nothing; the latest end of an audio or video packet, or a
  // negative number when no packet has a time.
  static double ScanDurationSec(const std::string& path, RunControl* control);

  // Clockwise rotation (0, 90, 180 or 270) a player applies from the stream's display matrix.
  static int Rotation(const AVStream* stream);

  // Whether the input is a still image (an image demuxer: jpeg_pipe, png_pipe, image2, ...).
  bool IsStillImage() const;

 private:
  struct Source;  // the descriptor behind our AVIOContext
  // Ours (AVFMT_FLAG_CUSTOM_IO), with whatever buffer avio holds at the end. Members, not cleanup
  // in the destructor: a constructor that throws half-way still frees them. Declared in this
  // order so the demuxer (ctx_) is closed before the reader it reads through, then the descriptor.
  struct AvioDeleter {
    void operator()(AVIOContext* io) const {
      av_freep(&io->buffer);
      avio_context_free(&io);
    }
  };
  void Open();
  // First timestamp (seconds, input timeline) of `stream` after a seek, reading ahead into
  // pending_; negative when none came within a bounded number of packets.
  double PeekTime(int stream);
  void ClearPending();
  bool ReadRaw(AVPacket* packet);

  std::string path_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<AVIOContext, AvioDeleter> io_;
  InputFormatPtr ctx_;
  RunControl* control_;
  int64_t start_time_ = 0;  // AV_TIME_BASE units
  std::deque<PacketPtr> pending_;  // read ahead by SeekTo, handed out first by Read
  std::vector<AVDiscard> discard_;  // per stream, re-applied after a reopen
};

}  // namespace fw::av
