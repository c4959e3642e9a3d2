// Subtitle streams of a run: tracks an output carries (cues the caller parsed and validated from a
// subtitle file, on the output's timeline) and extraction of an input's text subtitle stream to a
// WebVTT file. Burned subtitles are a filter of the video chain (filter_graph.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "resources.h"

namespace fw::av {

class InputFile;
class OutputFile;

struct SubtitleCue {
  double start_sec = 0;
  double end_sec = 0;
  // The cue's payload in the track's codec (mov_text: plain UTF-8; webvtt: WebVTT cue text;
  // subrip: SubRip text), made by the caller from parsed cues, never markup it passed on unread.
  std::string text;
};

struct SubtitleTrackSettings {
  std::string codec;     // mov_text | webvtt | subrip
  std::string language;  // ISO 639-2, or "" (untagged)
  std::string title;     // "" for none
  bool is_default = false;
  std::vector<SubtitleCue> cues;  // in time order, on the output's timeline
};

// One subtitle track of an output file. The codec's encoder is opened only for the stream's
// parameters (3GPP timed text's sample description, with its default style); each cue becomes one
// packet written by hand (mov_text: its 16-bit length, then the text), timed in milliseconds.
//
// A cue is written once the media has passed its end, so one that outlasts the media is cut at the
// media's real end at the flush (a file lasts as long as its media), or, if it is long, once the
// media is kSubtitleHoldSec past its start (cut at the output's planned end). The muxer holds media
// up to 10 s (max_interleave_delta) while a subtitle stream has nothing queued, so a cue that late
// still lands in order.
constexpr double kSubtitleHoldSec = 8.0;

class SubtitleTrackWriter {
 public:
  // Adds the stream to `file`, which must not be open yet. Both must outlive this object.
  // `planned_end_sec`: the output's duration as planned (its trim window of the container's
  // duration), negative when unknown.
  SubtitleTrackWriter(const SubtitleTrackSettings& settings, OutputFile* file, double planned_end_sec);

  // Writes, in order, the cues the media at `media_sec` has passed (see above).
  void WriteUntil(double media_sec);

  // At the end of the media (`end_sec`, what was really written): the cues left, cut there; those
  // starting at or after it are dropped.
  void Finish(double end_sec);

 private:
  void Write(const SubtitleCue& cue, double end_sec);

  const SubtitleTrackSettings& settings_;
  OutputFile* file_;
  double planned_end_sec_;
  int stream_ = -1;
  size_t next_ = 0;
  PacketPtr packet_;
};

struct SubtitleExtractSettings {
  std::string path;       // the WebVTT file to write
  int stream_index = -1;  // the input's subtitle stream
};

struct SubtitleExtractReport {
  int64_t cues = 0;
};

// An input subtitle stream decoded (libavcodec's text subtitle decoders give ASS events) and
// encoded as WebVTT into its own file, in the run's one read of the input.
class SubtitleExtract {
 public:
  // Throws kInputNoStreams when the stream is not a subtitle stream, kUnsupported when it is
  // picture-based (DVD, PGS, DVB: no text to write). `control` must outlive this object.
  SubtitleExtract(const SubtitleExtractSettings& settings, const InputFile& input, const RunControl* control);
  ~SubtitleExtract();
  SubtitleExtract(const SubtitleExtract&) = delete;
  SubtitleExtract& operator=(const SubtitleExtract&) = delete;

  int stream_index() const { return settings_.stream_index; }

  // One packet of the stream (timestamps on the input's timeline); a damaged one is skipped.
  void Push(const AVPacket* packet);

  // Drains the decoder and finishes the file; from here on it is kept.
  void Finish();

  const SubtitleExtractReport& report() const { return report_; }

 private:
  void Write(AVSubtitle* subtitle, int64_t packet_pts, int64_t packet_duration);

  const SubtitleExtractSettings& settings_;
  AVRational time_base_;
  CodecContextPtr decoder_;
  CodecContextPtr encoder_;
  std::unique_ptr<OutputFile> file_;
  int stream_ = -1;
  PacketPtr packet_;
  SubtitleExtractReport report_;
};

// The ASS header text decoders and encoders of text subtitles read their default style from.
const char* DefaultSubtitleHeader();

}  // namespace fw::av
