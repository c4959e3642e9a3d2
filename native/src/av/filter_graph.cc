#include "filter_graph.h"

#include <cmath>
#include <initializer_list>
#include <string>
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

int ScaledWidth(int width, int height, AVRational sample_aspect_ratio, int target_height) {
  double sar = sample_aspect_ratio.num > 0 && sample_aspect_ratio.den > 0 ? av_q2d(sample_aspect_ratio) : 1.0;
  double display_aspect = static_cast<double>(width) * sar / static_cast<double>(height);
  long even = std::lround(target_height * display_aspect / 2.0) * 2;
  return even < 2 ? 2 : static_cast<int>(even);
}

FilterGraph::FilterGraph() : graph_(avfilter_graph_alloc()), filtered_(MakeFrame()) {
  if (!graph_) Fail(ErrorCode::kEngineFailure, "could not allocate a filter graph", AVERROR(ENOMEM));
}

std::unique_ptr<FilterGraph> FilterGraph::ForVideo(const AVCodecParameters* input, AVRational time_base,
                                                   AVRational frame_rate, int height) {
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

  int width = ScaledWidth(input->width, input->height, input->sample_aspect_ratio, height);
  AVFilterContext* scale =
      AddFilter(graph, "scale", "scale", {{"w", std::to_string(width)}, {"h", std::to_string(height)}});
  AVFilterContext* setsar = AddFilter(graph, "setsar", "setsar", {{"sar", "1"}});
  AVFilterContext* format = AddFilter(graph, "format", "format", {{"pix_fmts", "yuv420p"}});
  fg->sink_ = AddFilter(graph, "buffersink", "out", {});

  Link(fg->source_, scale);
  Link(scale, setsar);
  Link(setsar, format);
  Link(format, fg->sink_);
  int ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the video filter graph", ret);
  return fg;
}

std::unique_ptr<FilterGraph> FilterGraph::ForAudio(const AVCodecContext* decoder, AVRational time_base,
                                                   const AVCodecContext* encoder) {
  std::unique_ptr<FilterGraph> fg(new FilterGraph());
  AVFilterGraph* graph = fg->graph_.get();

  fg->source_ = AllocFilter(graph, "abuffer", "in");
  SourceParameters parameters;
  parameters.params->format = decoder->sample_fmt;
  parameters.params->sample_rate = decoder->sample_rate;
  parameters.params->time_base = time_base;
  int ret = decoder->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC
                ? (av_channel_layout_default(&parameters.params->ch_layout, decoder->ch_layout.nb_channels), 0)
                : av_channel_layout_copy(&parameters.params->ch_layout, &decoder->ch_layout);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not copy the channel layout", ret);
  SetSourceParameters(fg->source_, parameters);
  InitFilter(fg->source_, "abuffer");

  char layout[64] = {0};
  ret = av_channel_layout_describe(&encoder->ch_layout, layout, sizeof(layout));
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not describe the channel layout", ret);
  const char* sample_format = av_get_sample_fmt_name(encoder->sample_fmt);
  if (sample_format == nullptr) Fail(ErrorCode::kEngineFailure, "the encoder has no sample format");
  AVFilterContext* format = AddFilter(graph, "aformat", "aformat",
                                      {{"sample_fmts", sample_format},
                                       {"sample_rates", std::to_string(encoder->sample_rate)},
                                       {"channel_layouts", layout}});
  fg->sink_ = AddFilter(graph, "abuffersink", "out", {});

  Link(fg->source_, format);
  Link(format, fg->sink_);
  ret = avfilter_graph_config(graph, nullptr);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not configure the audio filter graph", ret);
  if (!(encoder->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) && encoder->frame_size > 0) {
    av_buffersink_set_frame_size(fg->sink_, static_cast<unsigned>(encoder->frame_size));
  }
  return fg;
}

AVRational FilterGraph::output_time_base() const { return av_buffersink_get_time_base(sink_); }

void FilterGraph::Push(AVFrame* frame, const FrameSink& sink) {
  int ret = av_buffersrc_add_frame_flags(source_, frame, frame != nullptr ? AV_BUFFERSRC_FLAG_KEEP_REF : 0);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not feed the filter graph", ret);
  for (;;) {
    ret = av_buffersink_get_frame(sink_, filtered_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) Fail(ErrorCode::kEngineFailure, "filtering failed", ret);
    FrameUnref unref(filtered_.get());
    sink(filtered_.get());
  }
}

}  // namespace fw::av
