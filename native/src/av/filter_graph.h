// Filter side: one graph per (output, stream). Every filter argument is set from validated
// numbers through AVOptions; no filter string from outside ever reaches libavfilter.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "decoder.h"
#include "palette_mapper.h"
#include "resources.h"

namespace fw::av {

// How to make a picture upright, from a display matrix: an optional transpose (FFmpeg's transpose
// filter direction: 0 cclock_flip, 1 clock, 2 cclock, 3 clock_flip), else flips. Covers the eight
// EXIF orientations and every 90° rotation, mirrored or not.
struct Orientation {
  int transpose = -1;  // -1: none
  bool hflip = false;
  bool vflip = false;
  bool identity() const { return transpose < 0 && !hflip && !vflip; }
  bool swaps_sides() const { return transpose >= 0; }
};

// The orientation a player applies for a 3x3 display matrix (nullptr: none), as FFmpeg's own
// autorotation reads it.
Orientation OrientationFromMatrix(const int32_t* matrix);

// What one output does to the decoded picture, in this order. Zero/negative values mean "off".
struct VideoChain {
  double trim_start = 0;  // seconds of input timeline; frames before are dropped (frame-accurate)
  double trim_end = -1;   // seconds; frames at or after are dropped
  Orientation orientation;  // from the input's display matrix (or a still image's EXIF): made upright
  int crop_x = 0, crop_y = 0, crop_width = 0, crop_height = 0;  // in the rotated picture
  int max_width = 0, max_height = 0;  // fit inside, aspect kept, never upscaled
  // > 0: scale to exactly this size instead (a picture already upright, cropped and trimmed by the
  // graph of a larger output, scaled on to the size this output computed from the input).
  int exact_width = 0, exact_height = 0;
  AVRational fps{0, 1};
  AVPixelFormat pix_fmt = AV_PIX_FMT_YUV420P;
  // Watermark, composited after scaling: a decoded picture (borrowed for the call), where it goes
  // and how opaque it is. The overlay's position expression is built here from these numbers.
  const AVFrame* watermark = nullptr;
  int watermark_corner = 0;  // 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right, 4 centre
  int watermark_margin = 0;  // pixels from the edges
  double watermark_opacity = 1.0;
  double watermark_width_fraction = 0;  // > 0: scale the image to this share of the output width
  // Burned subtitles, drawn after the watermark: an ASS script the caller wrote (from cues it parsed
  // and a style it made from typed fields) rendered by libass, with the fonts in `fonts_dir`.
  std::string subtitles_path;  // "": none
  std::string fonts_dir;
  // A palette computed for the clip (GIF): the graph ends in RGB32 pictures and a palettegen branch,
  // and PaletteMapper maps the held pictures once the palette is known, handing out PAL8. Needs
  // fps and trim_end, which bound the frames held until then.
  bool palette = false;
};

// The most memory a palette graph may hold in frames (RGB32) while it waits for its palette.
constexpr int64_t kMaxPaletteBytes = int64_t{768} << 20;

struct AudioChain {
  double trim_start = 0;
  double trim_end = -1;
  double gain_db = 0;  // static gain (loudness normalization's second pass)
  // The true-peak limiter follows (loudness normalization): the graph then ends in planar float at
  // the encoder's rate and layout, and ForEncoderInput() converts the limited frames for the encoder.
  bool for_limiter = false;
};

// Output size for a (display-aspect) picture fitted into max_width x max_height (0: unbounded),
// never upscaled, both sides even.
struct Size {
  int width;
  int height;
};
Size FitSize(int width, int height, AVRational sample_aspect_ratio, int max_width, int max_height);

// The size of the pictures a ForVideo graph with this chain hands out for this input.
Size ChainOutputSize(const AVCodecParameters* input, const VideoChain& chain);

// One filter of an analysis chain: a libavfilter filter name (a constant in our code) and its
// options, every value formatted from a validated number.
struct FilterStep {
  const char* name;
  std::vector<std::pair<const char*, std::string>> options;
};

class FilterGraph {
 public:
  // buffer -> steps... -> buffersink: an analysis chain over decoded pictures (the graph converts
  // the pixel format where a step needs another); its frames carry the steps' metadata.
  static std::unique_ptr<FilterGraph> ForVideoSteps(const AVCodecParameters* input, AVRational time_base,
                                                    AVRational frame_rate, const std::vector<FilterStep>& steps);

  // abuffer -> steps... -> abuffersink: an analysis chain over decoded audio.
  static std::unique_ptr<FilterGraph> ForAudioSteps(const AVCodecContext* decoder, AVRational time_base,
                                                    const std::vector<FilterStep>& steps);

  // buffer -> [trim -> setpts] -> [transpose/flip] -> [crop] -> scale -> setsar=1 -> [watermark]
  //   -> [ass] -> [fps] -> format -> buffersink
  static std::unique_ptr<FilterGraph> ForVideo(const AVCodecParameters* input, AVRational time_base,
                                               AVRational frame_rate, const VideoChain& chain);

  // abuffer -> [atrim -> asetpts] -> [volume] -> aformat(the encoder's sample format, rate and
  // layout) -> abuffersink, which hands out frames of exactly the encoder's frame_size when the
  // encoder needs fixed-size frames.
  static std::unique_ptr<FilterGraph> ForAudio(const AVCodecContext* decoder, AVRational time_base,
                                               const AVCodecContext* encoder, const AudioChain& chain);

  // Several decoded tracks mixed into one (input i is fed with PushInput(i, ...)):
  //   abuffer_i -> aresample(the encoder's rate; padded or cut to start at chain.trim_start)
  //   -> aformat(fltp, the encoder's rate and layout) -> amix(average, longest)
  //   -> [atrim -> asetpts] -> aformat(the encoder's) -> abuffersink
  // amix lines its inputs up by sample count from their first frames, not by timestamps, so each
  // input is first made to start at the same instant. Averaging (amix's normalize): each of N
  // inputs at 1/N, so the mix cannot clip where no input does; when an input ends, the others come
  // back up over amix's 2 s dropout transition. The chain's gain and limiter are not used.
  static std::unique_ptr<FilterGraph> ForAudioMix(const std::vector<const Decoder*>& inputs,
                                                  const AVCodecContext* encoder, const AudioChain& chain);

  // abuffer -> [atrim -> asetpts] -> [aformat(channels, rate)] -> ebur128(metadata, true peak)
  // -> abuffersink: loudness analysis of one output's audio (channels/sample_rate 0: the input's).
  // With `meter` false the graph ends in planar float after [volume(gain_db)] instead (the limiter
  // rehearsal), and ForMeter() measures what the limiter lets through.
  static std::unique_ptr<FilterGraph> ForLoudness(const AVCodecContext* decoder, AVRational time_base,
                                                  double trim_start, double trim_end, int channels,
                                                  int sample_rate, double gain_db = 0, bool meter = true);

  // abuffer(fltp) -> ebur128(metadata, integrated only) -> abuffersink.
  static std::unique_ptr<FilterGraph> ForMeter(int sample_rate, const AVChannelLayout& layout, AVRational time_base);

  // abuffer(fltp at the encoder's rate and layout) -> aformat(the encoder's) -> abuffersink with the
  // encoder's frame size: after the limiter.
  static std::unique_ptr<FilterGraph> ForEncoderInput(AVRational time_base, const AVCodecContext* encoder);

  // Pushes one decoded frame (nullptr signals end of stream) and hands every filtered frame to
  // sink. The input frame is not consumed (the graph keeps its own reference), so the same
  // decoded frame can be pushed into several graphs.
  void Push(AVFrame* frame, const FrameSink& sink) { PushInput(0, frame, sink); }
  // The same into input `input` of a graph with several (ForAudioMix).
  void PushInput(size_t input, AVFrame* frame, const FrameSink& sink);

  const AVFilterContext* sink() const { return sink_; }
  AVRational output_time_base() const;
  // The pixel format of the frames handed out: the sink's, or PAL8 for a palette graph.
  AVPixelFormat output_format() const;

 private:
  FilterGraph();
  void AddWatermark(const VideoChain& chain, Size size, AVFilterContext** last);
  void FeedWatermark();
  void AddPalette(const VideoChain& chain, Size size, AVFilterContext** last);
  // A palette graph: holds the sink's pictures until the palette arrives, then maps them.
  void HandOutPaletted(const FrameSink& sink);

  FilterGraphPtr graph_;
  const AVFrame* watermark_ = nullptr;  // borrowed until FeedWatermark()
  AVFilterContext* source_ = nullptr;  // owned by graph_
  std::vector<AVFilterContext*> more_sources_;  // owned by graph_: inputs 1.. of a mix
  // Where the last picture pushed into input 0 ends (its pts plus its duration), for the end of
  // stream; AV_NOPTS_VALUE while unknown.
  int64_t pictures_end_pts_ = AV_NOPTS_VALUE;
  AVFilterContext* overlay_source_ = nullptr;  // owned by graph_; fed once with the watermark
  AVFilterContext* sink_ = nullptr;    // owned by graph_
  FramePtr filtered_;
  AVFilterContext* palette_sink_ = nullptr;  // owned by graph_; palette graphs only
  std::unique_ptr<PaletteMapper> mapper_;    // once the palette is known
  std::deque<FramePtr> held_;                // pictures waiting for the palette, in order
  FramePtr mapped_;
};


}  // namespace fw::av
