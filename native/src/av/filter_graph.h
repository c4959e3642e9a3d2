// Filter side: one graph per (output, stream). Every filter argument is set from validated
// numbers through AVOptions; no filter string from outside ever reaches libavfilter.
#pragma once

#include <memory>

#include "decoder.h"
#include "resources.h"

namespace fw::av {

class FilterGraph {
 public:
  // buffer -> scale(to `height`, width from the display aspect ratio, even) -> setsar=1
  //   -> format=yuv420p -> buffersink
  static std::unique_ptr<FilterGraph> ForVideo(const AVCodecParameters* input, AVRational time_base,
                                               AVRational frame_rate, int height);

  // abuffer -> aformat(the encoder's sample format, rate and layout) -> abuffersink, which hands
  // out frames of exactly the encoder's frame_size when the encoder needs fixed-size frames.
  static std::unique_ptr<FilterGraph> ForAudio(const AVCodecContext* decoder, AVRational time_base,
                                               const AVCodecContext* encoder);

  // Pushes one decoded frame (nullptr signals end of stream) and hands every filtered frame to
  // sink. The input frame is not consumed (the graph keeps its own reference), so the same
  // decoded frame can be pushed into several graphs.
  void Push(AVFrame* frame, const FrameSink& sink);

  const AVFilterContext* sink() const { return sink_; }
  AVRational output_time_base() const;

 private:
  FilterGraph();

  FilterGraphPtr graph_;
  AVFilterContext* source_ = nullptr;  // owned by graph_
  AVFilterContext* sink_ = nullptr;    // owned by graph_
  FramePtr filtered_;
};

// Output width for a target height, keeping the display aspect ratio, rounded to an even number.
int ScaledWidth(int width, int height, AVRational sample_aspect_ratio, int target_height);

}  // namespace fw::av
