#include "filter_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <tuple>
#include <utility>

#include "status.h"

namespace fw::av {
namespace {

using Options = std::initializer_list<std::pair<const char*, std::string>>;

AVFilterContext* AllocFilter(AVFilterGraph* graph, const char* name, const char* label) {
  const AVFilter* filter = avfilter_get_by_name(name);
  if (filter == nullptr) Fail(ErrorCode::kUnsupported, std::string("filter ") + name + " is not available");
  AVFilterContext* ctx = avfilter_graph_alloc_filter(graph, filter, label);
  if (ctx == nullptr) Fail(ErrorCode::kEngineFailure, std::string("could not allocate filter ") + name, AVERROR(ENOMEM));
  return ctx;
}

void InitFilter(AVFilterContext* ctx, const char* name) {
  int ret = avfilter_init_str(ctx, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, std::string("could not initialise filter ") + name, ret);
}

AVFilterContext* AddFilter(AVFilterGraph* graph, const char* name, const char* label, Options options) {
  AVFilterContext* ctx = AllocFilter(graph, name, label);
  for (const auto& [key, value] : options) {
    int ret = av_opt_set(ctx, key, value.c_str(), AV_OPT_SEARCH_CHILDREN);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, std::string("could not set ") + name + " option " + key, ret);
  }
  InitFilter(ctx, name);
  return ctx;
}

// av_buffersrc_parameters_alloc's struct, freed (with its channel layout) when the scope ends.
struct SourceParameters {
  SourceParameters() : params(av_buffersrc_parameters_alloc()) {
    if (params == nullptr) Fail(ErrorCode::kEngineFailure, "could not allocate source parameters", AVERROR(ENOMEM));
  }
  ~SourceParameters() {
    av_channel_layout_uninit(&params->ch_layout);
    av_free(params);
  }
  SourceParameters(const SourceParameters&) = delete;
  SourceParameters& operator=(const SourceParameters&) = delete;
  AVBufferSrcParameters* params;
};

void SetSourceParameters(AVFilterContext* source, const SourceParameters& parameters) {
  int ret = av_buffersrc_parameters_set(source, parameters.params);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the filter source", ret);
}

void Link(AVFilterContext* from, AVFilterContext* to) {
  int ret = avfilter_link(from, 0, to, 0);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not link filters", ret);
}

}  // namespace

Orientation OrientationFromMatrix(const int32_t* m) {
  Orientation o;
  if (m == nullptr) return o;
  double ccw = av_display_rotation_get(m);
  if (std::isnan(ccw)) return o;
  // Clockwise degrees, as FFmpeg's CLI reads them for its autorotation; the signs of the matrix
  // entries tell a mirrored picture from a rotated one.
  double theta = std::fmod(-std::round(ccw), 360.0);
  if (theta < 0) theta += 360;
  if (std::fabs(theta - 90) < 1.0) {
    o.transpose = m[3] > 0 ? 0 : 1;
  } else if (std::fabs(theta - 180) < 1.0) {
    o.hflip = m[0] < 0;
    o.vflip = m[4] < 0;
  } else if (std::fabs(theta - 270) < 1.0) {
    o.transpose = m[3] < 0 ? 3 : 2;
  } else if (std::fabs(theta) < 1.0 || std::fabs(theta - 360) < 1.0) {
    o.vflip = m[4] < 0;
  }
  return o;
}

static std::string Seconds(double value) {
  char text[32];
  snprintf(text, sizeof(text), "%.6f", value);
  return text;
}

Size FitSize(int width, int height, AVRational sample_aspect_ratio, int max_width, int max_height) {
  double sar = sample_aspect_ratio.num > 0 && sample_aspect_ratio.den > 0 ? av_q2d(sample_aspect_ratio) : 1.0;
  double display_width = static_cast<double>(width) * sar;
  double factor = 1.0;
  if (max_width > 0) factor = std::min(factor, max_width / display_width);
  if (max_height > 0) factor = std::min(factor, static_cast<double>(max_height) / height);
  auto even = [](double v) {
    long n = std::lround(v / 2.0) * 2;
    return n < 2 ? 2 : static_cast<int>(n);
  };
  return Size{even(display_width * factor), even(height * factor)};
}

Size ChainOutputSize(const AVCodecParameters* input, const VideoChain& chain) {
  if (chain.exact_width > 0 && chain.exact_height > 0) return Size{chain.exact_width, chain.exact_height};
  int width = input->width;
  int height = input->height;
  AVRational sar = input->sample_aspect_ratio;
  if (chain.orientation.swaps_sides()) {
    std::swap(width, height);
    if (sar.num > 0 && sar.den > 0) sar = AVRational{sar.den, sar.num};
  }
  if (chain.crop_width > 0 && chain.crop_height > 0) {
    width = chain.crop_width;
    height = chain.crop_height;
  }
  return FitSize(width, height, sar, chain.max_width, chain.max_height);
}

FilterGraph::FilterGraph() : graph_(avfilter_graph_alloc()), filtered_(MakeFrame()) {
  if (!graph_) Fail(ErrorCode::kEngineFailure, "could not allocate a filter graph", AVERROR(ENOMEM));
}

std::unique_ptr<FilterGraph> FilterGraph::ForVideo(const AVCodecParameters* input, AVRational time_base,
                                                   AVRational frame_rate, const VideoChain& chain) {
  if (input->width <= 0 || input->height <= 0 || input->format < 0) {
    Fail(ErrorCode::kInputUnreadable, "the video stream has no known size or pixel format");
  }
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();

  fg->source_ = AllocFilter(graph, "buffer", "in");
  SourceParameters parameters;
  parameters.params->format = input->format;
  parameters.params->width = input->width;
  parameters.params->height = input->height;
  parameters.params->sample_aspect_ratio = input->sample_aspect_ratio;
  parameters.params->time_base = time_base;
  parameters.params->frame_rate = frame_rate;
  SetSourceParameters(fg->source_, parameters);
  InitFilter(fg->source_, "buffer");

  AVFilterContext* last = fg->source_;
  auto append = [&](AVFilterContext* next) {
    Link(last, next);
    last = next;
  };
  if (chain.trim_start > 0 || chain.trim_end > 0) {
    if (chain.trim_start > 0) {
      append(AddFilter(graph, "trim", "trim", {{"start", Seconds(chain.trim_start)}}));
    }
    if (chain.trim_end > 0) append(AddFilter(graph, "trim", "trim_end", {{"end", Seconds(chain.trim_end)}}));
    append(AddFilter(graph, "setpts", "setpts", {{"expr", "PTS-STARTPTS"}}));
  }
  // The frame rate first: every step after it (rotation, scaling, compositing) then works only on
  // the frames that are kept. A 15 fps preview of a 30 fps source scales half as many pictures.
  if (chain.fps.num > 0 && chain.fps.den > 0) {
    append(AddFilter(graph, "fps", "fps",
                     {{"fps", std::to_string(chain.fps.num) + "/" + std::to_string(chain.fps.den)}}));
  }

  int width = input->width;
  int height = input->height;
  const Orientation& o = chain.orientation;
  if (o.transpose >= 0) {
    static const char* kDirections[] = {"cclock_flip", "clock", "cclock", "clock_flip"};
    append(AddFilter(graph, "transpose", "rotate", {{"dir", kDirections[std::clamp(o.transpose, 0, 3)]}}));
    std::swap(width, height);
  }
  if (o.hflip) append(AddFilter(graph, "hflip", "hflip", {}));
  if (o.vflip) append(AddFilter(graph, "vflip", "vflip", {}));

  if (chain.crop_width > 0 && chain.crop_height > 0) {
    if (chain.crop_x < 0 || chain.crop_y < 0 || chain.crop_x + chain.crop_width > width ||
        chain.crop_y + chain.crop_height > height) {
      Fail(ErrorCode::kUnsupported, "the crop rectangle " + std::to_string(chain.crop_width) + "x" +
                                        std::to_string(chain.crop_height) + "+" + std::to_string(chain.crop_x) + "+" +
                                        std::to_string(chain.crop_y) + " does not fit the " + std::to_string(width) +
                                        "x" + std::to_string(height) + " picture");
    }
    append(AddFilter(graph, "crop", "crop",
                     {{"out_w", std::to_string(chain.crop_width)},
                      {"out_h", std::to_string(chain.crop_height)},
                      {"x", std::to_string(chain.crop_x)},
                      {"y", std::to_string(chain.crop_y)},
                      {"exact", "1"}}));
  }

  Size size = ChainOutputSize(input, chain);
  append(AddFilter(graph, "scale", "scale", {{"w", std::to_string(size.width)}, {"h", std::to_string(size.height)}}));
  append(AddFilter(graph, "setsar", "setsar", {{"sar", "1"}}));
  if (chain.watermark != nullptr) fg->AddWatermark(chain, size, &last);
  if (!chain.subtitles_path.empty()) {
    // Shaping "complex": HarfBuzz shapes Arabic and other joined scripts; FriBidi orders each line.
    append(AddFilter(graph, "ass", "subtitles",
                     {{"filename", chain.subtitles_path}, {"fontsdir", chain.fonts_dir}, {"shaping", "complex"}}));
  }
  if (chain.palette) {
    fg->AddPalette(chain, size, &last);
  } else {
    const char* pix_fmt = av_get_pix_fmt_name(chain.pix_fmt);
    if (pix_fmt == nullptr) Fail(ErrorCode::kEngineFailure, "no pixel format for the encoder");
    append(AddFilter(graph, "format", "format", {{"pix_fmts", pix_fmt}}));
  }
  fg->sink_ = AddFilter(graph, "buffersink", "out", {});
  append(fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the video filter graph", ret);
  fg->FeedWatermark();
  return fg;
}

// split -> [0] the pictures, held by HandOutPaletted; [1] every other frame at half size ->
// palettegen -> its own sink. palettegen emits its palette (256 colours from the clip's histogram,
// none reserved for transparency) at the end of its input, which the trim at the clip's end
// brings; until then the pictures wait, which is why the clip's size is bounded here.
//
// The histogram is sampled, not taken over every pixel: on real footage counting every colour of
// every frame was a large part of a GIF's cost (a 5 s DVD clip through the CLI: 7.4 s of CPU, 4.3 s
// sampled, 3.3 s sampled and with ordered dithering), and a sample of a clip's own pixels (nearest
// neighbour, so no blended colours enter it) gives nearly the same palette. Ordered (Bayer)
// dithering instead of error diffusion: the pattern stays put from frame to frame, so the GIF
// encoder's unchanged-pixel transparency keeps working, and it is cheaper. Together, against
// every-frame sierra2_4a: files 12-17 % smaller, PSNR against the source 0.8 dB lower on testsrc2
// and 0.5 dB higher on a real 640x360 clip.
void FilterGraph::AddPalette(const VideoChain& chain, Size size, AVFilterContext** last) {
  if (chain.fps.num <= 0 || chain.fps.den <= 0 || chain.trim_end <= chain.trim_start) {
    Fail(ErrorCode::kUnsupported, "a palette is computed for a clip: it needs a frame rate and an end");
  }
  double frames = std::ceil((chain.trim_end - chain.trim_start) * av_q2d(chain.fps)) + 1;
  double bytes = frames * size.width * size.height * 4.0;
  if (bytes > static_cast<double>(kMaxPaletteBytes)) {
    char text[200];
    snprintf(text, sizeof(text),
             "a %dx%d GIF of %.0f frames holds %.0f MiB while its palette is computed (at most %lld MiB): "
             "ask for a smaller size, a lower fps or a shorter clip",
             size.width, size.height, frames, bytes / (1 << 20), static_cast<long long>(kMaxPaletteBytes >> 20));
    Fail(ErrorCode::kUnsupported, text);
  }
  AVFilterGraph* graph = graph_.get();
  const char* rgb32 = av_get_pix_fmt_name(AV_PIX_FMT_RGB32);
  AVFilterContext* split = AddFilter(graph, "split", "palette_split", {{"outputs", "2"}});
  AVFilterContext* sample = AddFilter(graph, "select", "palette_sample", {{"expr", "not(mod(n,2))"}});
  AVFilterContext* shrink =
      AddFilter(graph, "scale", "palette_shrink",
                {{"w", std::to_string(std::max(1, size.width / 2))},
                 {"h", std::to_string(std::max(1, size.height / 2))},
                 {"flags", "neighbor"}});
  AVFilterContext* gen = AddFilter(graph, "palettegen", "palettegen",
                                   {{"max_colors", "256"}, {"reserve_transparent", "0"}, {"stats_mode", "full"}});
  palette_sink_ = AddFilter(graph, "buffersink", "palette", {});
  AVFilterContext* pictures = AddFilter(graph, "format", "palette_pictures", {{"pix_fmts", rgb32}});
  Link(*last, split);
  Link(sample, shrink);
  Link(shrink, gen);
  Link(gen, palette_sink_);
  for (auto [from, from_pad, to, to_pad] : {std::tuple{split, 0u, pictures, 0u}, std::tuple{split, 1u, sample, 0u}}) {
    int ret = avfilter_link(from, from_pad, to, to_pad);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not link the palette filters", ret);
  }
  *last = pictures;
  mapped_ = MakeFrame();
}

void FilterGraph::HandOutPaletted(const FrameSink& sink) {
  // No pictures, no palette needed: a window with no frames in it makes an empty palette.
  if (held_.empty()) return;
  if (!mapper_) {
    int ret = av_buffersink_get_frame(palette_sink_, filtered_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "computing the GIF's palette failed", ret);
    FrameUnref unref(filtered_.get());
    mapper_ = std::make_unique<PaletteMapper>(filtered_.get());
  }
  // Taken off the queue before it goes on, so a sink that throws leaves only pictures not yet sent.
  while (!held_.empty()) {
    FramePtr picture = std::move(held_.front());
    held_.pop_front();
    mapper_->Map(picture.get(), mapped_.get());
    picture.reset();
    FrameUnref unref(mapped_.get());
    sink(mapped_.get());
  }
}

namespace {
AVFilterContext* AddStep(AVFilterGraph* graph, const FilterStep& step, int index) {
  std::string label = std::string(step.name) + "_" + std::to_string(index);
  AVFilterContext* ctx = AllocFilter(graph, step.name, label.c_str());
  for (const auto& [key, value] : step.options) {
    int ret = av_opt_set(ctx, key, value.c_str(), AV_OPT_SEARCH_CHILDREN);
    if (ret < 0) Fail(ErrorCode::kEngineFailure, std::string("could not set ") + step.name + " option " + key, ret);
  }
  InitFilter(ctx, step.name);
  return ctx;
}
}  // namespace

std::unique_ptr<FilterGraph> FilterGraph::ForVideoSteps(const AVCodecParameters* input, AVRational time_base,
                                                        AVRational frame_rate, const std::vector<FilterStep>& steps) {
  if (input->width <= 0 || input->height <= 0 || input->format < 0) {
    Fail(ErrorCode::kInputUnreadable, "the video stream has no known size or pixel format");
  }
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();
  // Analysis graphs run beside the output graphs on the same thread; one filter thread each keeps
  // them from competing with the encoders' threads.
  graph->nb_threads = 1;
  fg->source_ = AllocFilter(graph, "buffer", "in");
  SourceParameters parameters;
  parameters.params->format = input->format;
  parameters.params->width = input->width;
  parameters.params->height = input->height;
  parameters.params->sample_aspect_ratio = input->sample_aspect_ratio;
  parameters.params->time_base = time_base;
  parameters.params->frame_rate = frame_rate;
  SetSourceParameters(fg->source_, parameters);
  InitFilter(fg->source_, "buffer");
  AVFilterContext* last = fg->source_;
  for (size_t i = 0; i < steps.size(); i++) {
    AVFilterContext* next = AddStep(graph, steps[i], static_cast<int>(i));
    Link(last, next);
    last = next;
  }
  fg->sink_ = AddFilter(graph, "buffersink", "out", {});
  Link(last, fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure a video analysis graph", ret);
  return fg;
}

namespace {
void SetAudioSourceFormat(AVFilterContext* source, int format, int sample_rate, const AVChannelLayout& layout,
                          AVRational time_base) {
  SourceParameters parameters;
  parameters.params->format = format;
  parameters.params->sample_rate = sample_rate;
  parameters.params->time_base = time_base;
  int ret = layout.order == AV_CHANNEL_ORDER_UNSPEC
                ? (av_channel_layout_default(&parameters.params->ch_layout, layout.nb_channels), 0)
                : av_channel_layout_copy(&parameters.params->ch_layout, &layout);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not copy the channel layout", ret);
  SetSourceParameters(source, parameters);
  InitFilter(source, "abuffer");
}

void SetAudioSource(AVFilterContext* source, const AVCodecContext* decoder, AVRational time_base) {
  SetAudioSourceFormat(source, decoder->sample_fmt, decoder->sample_rate, decoder->ch_layout, time_base);
}

std::string Describe(const AVChannelLayout& layout) {
  char text[64] = {0};
  int ret = av_channel_layout_describe(&layout, text, sizeof(text));
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not describe the channel layout", ret);
  return text;
}
}  // namespace

std::unique_ptr<FilterGraph> FilterGraph::ForAudioSteps(const AVCodecContext* decoder, AVRational time_base,
                                                        const std::vector<FilterStep>& steps) {
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();
  graph->nb_threads = 1;
  fg->source_ = AllocFilter(graph, "abuffer", "in");
  SetAudioSource(fg->source_, decoder, time_base);
  AVFilterContext* last = fg->source_;
  for (size_t i = 0; i < steps.size(); i++) {
    AVFilterContext* next = AddStep(graph, steps[i], static_cast<int>(i));
    Link(last, next);
    last = next;
  }
  fg->sink_ = AddFilter(graph, "abuffersink", "out", {});
  Link(last, fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure an audio analysis graph", ret);
  return fg;
}

std::unique_ptr<FilterGraph> FilterGraph::ForMeter(int sample_rate, const AVChannelLayout& layout,
                                                   AVRational time_base) {
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();
  fg->source_ = AllocFilter(graph, "abuffer", "in");
  SetAudioSourceFormat(fg->source_, AV_SAMPLE_FMT_FLTP, sample_rate, layout, time_base);
  AVFilterContext* meter = AddFilter(graph, "ebur128", "ebur128", {{"metadata", "1"}});
  fg->sink_ = AddFilter(graph, "abuffersink", "out", {});
  Link(fg->source_, meter);
  Link(meter, fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the meter graph", ret);
  return fg;
}

std::unique_ptr<FilterGraph> FilterGraph::ForLoudness(const AVCodecContext* decoder, AVRational time_base,
                                                      double trim_start, double trim_end, int channels,
                                                      int sample_rate, double gain_db, bool meter) {
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();
  fg->source_ = AllocFilter(graph, "abuffer", "in");
  SetAudioSource(fg->source_, decoder, time_base);
  AVFilterContext* last = fg->source_;
  auto append = [&](AVFilterContext* next) {
    Link(last, next);
    last = next;
  };
  if (trim_start > 0) append(AddFilter(graph, "atrim", "atrim", {{"start", Seconds(trim_start)}}));
  if (trim_end > 0) append(AddFilter(graph, "atrim", "atrim_end", {{"end", Seconds(trim_end)}}));
  if (gain_db != 0) {
    char linear[32];
    snprintf(linear, sizeof(linear), "%.9f", std::pow(10.0, gain_db / 20.0));
    append(AddFilter(graph, "volume", "gain", {{"volume", linear}, {"precision", "double"}}));
  }
  if (channels > 0 || sample_rate > 0 || !meter) {
    // Measured as it will be encoded: a 5.1 source normalized into stereo is measured as stereo.
    AVChannelLayout layout = {};
    av_channel_layout_default(&layout, channels > 0 ? channels : std::max(1, decoder->ch_layout.nb_channels));
    append(AddFilter(graph, "aformat", "aformat",
                     {{"sample_fmts", "fltp"},
                      {"sample_rates", std::to_string(sample_rate > 0 ? sample_rate : decoder->sample_rate)},
                      {"channel_layouts", Describe(layout)}}));
    av_channel_layout_uninit(&layout);
  }
  if (meter) append(AddFilter(graph, "ebur128", "ebur128", {{"metadata", "1"}, {"peak", "true"}}));
  fg->sink_ = AddFilter(graph, "abuffersink", "out", {});
  append(fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the loudness graph", ret);
  return fg;
}

std::unique_ptr<FilterGraph> FilterGraph::ForEncoderInput(AVRational time_base, const AVCodecContext* encoder) {
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();
  fg->source_ = AllocFilter(graph, "abuffer", "in");
  SetAudioSourceFormat(fg->source_, AV_SAMPLE_FMT_FLTP, encoder->sample_rate, encoder->ch_layout, time_base);
  const char* sample_format = av_get_sample_fmt_name(encoder->sample_fmt);
  if (sample_format == nullptr) Fail(ErrorCode::kEngineFailure, "the encoder has no sample format");
  AVFilterContext* format = AddFilter(graph, "aformat", "aformat",
                                      {{"sample_fmts", sample_format},
                                       {"sample_rates", std::to_string(encoder->sample_rate)},
                                       {"channel_layouts", Describe(encoder->ch_layout)}});
  fg->sink_ = AddFilter(graph, "abuffersink", "out", {});
  Link(fg->source_, format);
  Link(format, fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the encoder input graph", ret);
  if (!(encoder->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) && encoder->frame_size > 0) {
    av_buffersink_set_frame_size(fg->sink_, static_cast<unsigned>(encoder->frame_size));
  }
  return fg;
}

std::unique_ptr<FilterGraph> FilterGraph::ForAudio(const AVCodecContext* decoder, AVRational time_base,
                                                   const AVCodecContext* encoder, const AudioChain& chain) {
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();

  fg->source_ = AllocFilter(graph, "abuffer", "in");
  SetAudioSource(fg->source_, decoder, time_base);
  AVFilterContext* last = fg->source_;
  auto append = [&](AVFilterContext* next) {
    Link(last, next);
    last = next;
  };
  if (chain.trim_start > 0) append(AddFilter(graph, "atrim", "atrim", {{"start", Seconds(chain.trim_start)}}));
  if (chain.trim_end > 0) append(AddFilter(graph, "atrim", "atrim_end", {{"end", Seconds(chain.trim_end)}}));
  if (chain.trim_start > 0 || chain.trim_end > 0) {
    append(AddFilter(graph, "asetpts", "asetpts", {{"expr", "PTS-STARTPTS"}}));
  }
  if (chain.gain_db != 0) {
    char linear[32];
    snprintf(linear, sizeof(linear), "%.9f", std::pow(10.0, chain.gain_db / 20.0));
    append(AddFilter(graph, "volume", "gain", {{"volume", linear}, {"precision", "double"}}));
  }
  const char* sample_format =
      chain.for_limiter ? av_get_sample_fmt_name(AV_SAMPLE_FMT_FLTP) : av_get_sample_fmt_name(encoder->sample_fmt);
  if (sample_format == nullptr) Fail(ErrorCode::kEngineFailure, "the encoder has no sample format");
  AVFilterContext* format = AddFilter(graph, "aformat", "aformat",
                                      {{"sample_fmts", sample_format},
                                       {"sample_rates", std::to_string(encoder->sample_rate)},
                                       {"channel_layouts", Describe(encoder->ch_layout)}});
  append(format);
  fg->sink_ = AddFilter(graph, "abuffersink", "out", {});
  append(fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the audio filter graph", ret);
  if (!chain.for_limiter && !(encoder->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) &&
      encoder->frame_size > 0) {
    av_buffersink_set_frame_size(fg->sink_, static_cast<unsigned>(encoder->frame_size));
  }
  return fg;
}

std::unique_ptr<FilterGraph> FilterGraph::ForAudioMix(const std::vector<const Decoder*>& inputs,
                                                      const AVCodecContext* encoder, const AudioChain& chain) {
  if (inputs.size() < 2) Fail(ErrorCode::kEngineFailure, "a mix needs two inputs or more");
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();
  const std::string rate = std::to_string(encoder->sample_rate);
  const std::string layout = Describe(encoder->ch_layout);
  // In samples at the output rate: aresample pads a later-starting input with silence up to its
  // first frame, and drops what an earlier-starting one has before this instant.
  const std::string first_pts = std::to_string(std::llround(std::max(0.0, chain.trim_start) * encoder->sample_rate));
  AVFilterContext* mix = AddFilter(graph, "amix", "amix",
                                   {{"inputs", std::to_string(inputs.size())},
                                    {"duration", "longest"},
                                    {"normalize", "1"}});
  for (size_t i = 0; i < inputs.size(); i++) {
    const std::string n = std::to_string(i);
    AVFilterContext* source = AllocFilter(graph, "abuffer", ("in" + n).c_str());
    SetAudioSource(source, inputs[i]->ctx(), inputs[i]->time_base());
    if (i == 0) fg->source_ = source;
    else fg->more_sources_.push_back(source);
    AVFilterContext* align =
        AddFilter(graph, "aresample", ("align" + n).c_str(), {{"osr", rate}, {"first_pts", first_pts}});
    AVFilterContext* format = AddFilter(graph, "aformat", ("format" + n).c_str(),
                                        {{"sample_fmts", "fltp"}, {"sample_rates", rate}, {"channel_layouts", layout}});
    Link(source, align);
    Link(align, format);
    int ret = avfilter_link(format, 0, mix, static_cast<unsigned>(i));
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not link a mix input", ret);
  }
  AVFilterContext* last = mix;
  auto append = [&](AVFilterContext* next) {
    Link(last, next);
    last = next;
  };
  if (chain.trim_start > 0) append(AddFilter(graph, "atrim", "atrim", {{"start", Seconds(chain.trim_start)}}));
  if (chain.trim_end > 0) append(AddFilter(graph, "atrim", "atrim_end", {{"end", Seconds(chain.trim_end)}}));
  if (chain.trim_start > 0 || chain.trim_end > 0) {
    append(AddFilter(graph, "asetpts", "asetpts", {{"expr", "PTS-STARTPTS"}}));
  }
  const char* sample_format = av_get_sample_fmt_name(encoder->sample_fmt);
  if (sample_format == nullptr) Fail(ErrorCode::kEngineFailure, "the encoder has no sample format");
  append(AddFilter(graph, "aformat", "aformat",
                   {{"sample_fmts", sample_format}, {"sample_rates", rate}, {"channel_layouts", layout}}));
  fg->sink_ = AddFilter(graph, "abuffersink", "out", {});
  append(fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the audio mix graph", ret);
  if (!(encoder->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) && encoder->frame_size > 0) {
    av_buffersink_set_frame_size(fg->sink_, static_cast<unsigned>(encoder->frame_size));
  }
  return fg;
}

void FilterGraph::AddWatermark(const VideoChain& chain, Size size, AVFilterContext** last) {
  AVFilterGraph* graph = graph_.get();
  const AVFrame* image = chain.watermark;
  overlay_source_ = AllocFilter(graph, "buffer", "watermark");
  SourceParameters parameters;
  parameters.params->format = image->format;
  parameters.params->width = image->width;
  parameters.params->height = image->height;
  parameters.params->sample_aspect_ratio = AVRational{1, 1};
  parameters.params->time_base = AVRational{1, 1};
  SetSourceParameters(overlay_source_, parameters);
  InitFilter(overlay_source_, "buffer");

  AVFilterContext* branch = overlay_source_;
  auto chain_to = [&](AVFilterContext* next) {
    Link(branch, next);
    branch = next;
  };
  chain_to(AddFilter(graph, "format", "watermark_rgba", {{"pix_fmts", "rgba"}}));
  if (chain.watermark_width_fraction > 0) {
    int width = std::max(2, static_cast<int>(std::lround(size.width * chain.watermark_width_fraction / 2.0)) * 2);
    chain_to(AddFilter(graph, "scale", "watermark_scale", {{"w", std::to_string(width)}, {"h", "-2"}}));
  }
  if (chain.watermark_opacity < 1.0) {
    char alpha[32];
    snprintf(alpha, sizeof(alpha), "%.4f", std::clamp(chain.watermark_opacity, 0.0, 1.0));
    chain_to(AddFilter(graph, "colorchannelmixer", "watermark_opacity", {{"aa", alpha}}));
  }
  // Position from an enum and a number only: W/H are the video's, w/h the watermark's.
  std::string m = std::to_string(chain.watermark_margin);
  static const char* kX[] = {"%s", "W-w-%s", "%s", "W-w-%s", "(W-w)/2"};
  static const char* kY[] = {"%s", "%s", "H-h-%s", "H-h-%s", "(H-h)/2"};
  int corner = std::clamp(chain.watermark_corner, 0, 4);
  auto place = [&](const char* pattern) {
    std::string text(pattern);
    size_t at = text.find("%s");
    if (at != std::string::npos) text.replace(at, 2, m);
    return text;
  };
  // eof_action=repeat (the default) keeps the single watermark frame on every video frame.
  AVFilterContext* overlay =
      AddFilter(graph, "overlay", "watermark", {{"x", place(kX[corner])}, {"y", place(kY[corner])}, {"format", "auto"}});
  int ret = avfilter_link(*last, 0, overlay, 0);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not link the overlay", ret);
  ret = avfilter_link(branch, 0, overlay, 1);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not link the watermark", ret);
  *last = overlay;
  watermark_ = chain.watermark;
}

void FilterGraph::FeedWatermark() {
  if (overlay_source_ == nullptr || watermark_ == nullptr) return;
  FramePtr copy = MakeFrame();
  if (av_frame_ref(copy.get(), watermark_) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  int ret = av_buffersrc_add_frame(overlay_source_, copy.get());
  if (ret >= 0) ret = av_buffersrc_add_frame(overlay_source_, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not feed the watermark", ret);
  watermark_ = nullptr;
}

AVRational FilterGraph::output_time_base() const { return av_buffersink_get_time_base(sink_); }

AVPixelFormat FilterGraph::output_format() const {
  if (palette_sink_ != nullptr) return AV_PIX_FMT_PAL8;
  return static_cast<AVPixelFormat>(av_buffersink_get_format(sink_));
}

void FilterGraph::PushInput(size_t input, AVFrame* frame, const FrameSink& sink) {
  if (input > more_sources_.size()) Fail(ErrorCode::kEngineFailure, "no such filter graph input");
  AVFilterContext* source = input == 0 ? source_ : more_sources_[input - 1];
  int ret;
  if (frame != nullptr) {
    if (input == 0 && frame->width > 0 && frame->pts != AV_NOPTS_VALUE) {
      pictures_end_pts_ = frame->pts + std::max<int64_t>(0, frame->pkt_duration);
    }
    ret = av_buffersrc_add_frame_flags(source, frame, AV_BUFFERSRC_FLAG_KEEP_REF);
  } else if (pictures_end_pts_ != AV_NOPTS_VALUE) {
    // The end of the stream is where the last picture ends, not where it starts (the CLI does the
    // same): the fps filter then keeps the last picture for its display time, so a window holding
    // only that picture still has a frame, and a same-rate output does not lose its last one.
    ret = av_buffersrc_close(source, pictures_end_pts_, 0);
  } else {
    ret = av_buffersrc_add_frame_flags(source, nullptr, 0);
  }
  if (ret < 0) {
    Fail(ErrorCode::kEngineFailure,
         std::string("could not feed the ") + (frame != nullptr && frame->nb_samples > 0 ? "audio" : "video") +
             " filter graph",
         ret);
  }
  for (;;) {
    ret = av_buffersink_get_frame(sink_, filtered_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "filtering failed", ret);
    if (palette_sink_ != nullptr) {
      held_.push_back(MakeFrame());
      av_frame_move_ref(held_.back().get(), filtered_.get());
      continue;
    }
    FrameUnref unref(filtered_.get());
    sink(filtered_.get());
  }
  if (palette_sink_ == nullptr) return;
  HandOutPaletted(sink);
  // At the end of the input palettegen has had all it will get: pictures still held would be lost.
  if (frame == nullptr && !held_.empty()) Fail(ErrorCode::kEngineFailure, "the GIF's palette was never computed");
}

}  // namespace fw::av
