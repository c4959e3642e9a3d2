// Mux side: one output file. Until Finish() succeeds the file is provisional: destroying the
// object (a failure or a cancel unwinding) closes and deletes whatever was written.
#pragma once

#include <string>
#include <vector>

#include "resources.h"

namespace fw::av {

class OutputFile {
 public:
  // Muxer options we set ourselves (never from a user string): HLS segmenting.
  struct Options {
    double hls_segment_sec = 0;       // > 0 with the hls muxer
    std::string hls_segment_pattern;  // absolute path with one %05d
    int loop = -1;                    // gif/webp: 1 loops forever, 0 plays once; -1: leave the muxer's default
    // hls muxer: CMAF (fragmented MP4: init.mp4 + .m4s) instead of MPEG-TS segments. Such outputs
    // are one track each (a ladder's video renditions and its audio apart), so they must share one
    // timeline: every packet moves `timeline_offset_sec` on (more than any encoder's negative
    // start: B-frame delay, AAC priming), the muxer shifts none of them on its own, and the
    // fragments carry their real decode times (tfdt, first frame's composition offset 0: trun v1
    // negative offsets) with no edit list, so a player needs nothing but the samples' own times.
    bool hls_fmp4 = false;
    double timeline_offset_sec = 0;
  };

  // Throws kUnsupported when the container has no muxer. `control` must outlive this object.
  OutputFile(const std::string& path, const std::string& container, const RunControl* control,
             Options options);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  bool NeedsGlobalHeader() const { return (ctx_->oformat->flags & AVFMT_GLOBALHEADER) != 0; }

  // Adds a stream carrying an opened encoder's parameters; returns its index.
  // `source`, when given: the input stream it comes from, whose language and title tags it keeps.
  int AddStream(const AVCodecContext* encoder, const AVStream* source = nullptr);
  // Sets a metadata tag (language, title) of an added stream, before Open().
  void SetTag(int stream, const char* key, const std::string& value);
  // Adds a stream that carries the input's packets unchanged (stream copy); returns its index.
  int AddCopyStream(const AVStream* input);

  // Tags a stream added above: its language (ISO 639-2; "" leaves it untagged), title ("": none)
  // and whether players pick it unless told otherwise (the default disposition).
  void SetStreamTags(int stream_index, const std::string& language, const std::string& title, bool is_default);

  // Creates the file and writes the header (mp4: +faststart). Throws kOutputWriteFailed.
  void Open();

  // Writes one encoded packet whose timestamps are in `from` (it is rescaled to the stream's time
  // base, which the muxer may have changed in Open()). The packet's contents are consumed.
  void Write(AVPacket* packet, AVRational from, int stream_index);

  // Writes the trailer and closes the file; from here on the file is kept.
  void Finish();

  AVRational stream_time_base(int stream_index) const { return ctx_->streams[stream_index]->time_base; }

 private:
  // How a failed write or trailer is reported: OUTPUT_WRITE_FAILED when the storage refused it.
  ErrorCode FailureOf(int ret) const;
  std::string path_;
  Options options_;
  AVIOInterruptCB interrupt_;
  OutputFormatPtr ctx_;
  bool created_ = false;
  bool finished_ = false;
  bool wrote_ = false;          // a packet went to the muxer
  bool trailer_tried_ = false;  // Finish called av_write_trailer (whatever it returned)
  std::vector<int64_t> last_dts_;  // per stream, in the stream's time base; INT64_MIN before the first
};

}  // namespace fw::av
