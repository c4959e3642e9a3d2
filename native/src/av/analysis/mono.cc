#include "mono.h"

#include <algorithm>
#include <cstring>

namespace fw::av {

MonoResampler::MonoResampler(const AVCodecContext* decoder, int rate, Mode mode)
    : rate_(rate), mode_(mode), in_rate_(decoder->sample_rate) {
  AVChannelLayout in_layout = {};
  if (decoder->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || decoder->ch_layout.nb_channels <= 0) {
    av_channel_layout_default(&in_layout, std::max(1, decoder->ch_layout.nb_channels));
  } else if (av_channel_layout_copy(&in_layout, &decoder->ch_layout) < 0) {
    Fail(ErrorCode::kEngineFailure, "could not copy the channel layout", AVERROR(ENOMEM));
  }
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  SwrContext* raw = nullptr;
  AVSampleFormat out_format = mode == Mode::kFloat ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_S16;
  int ret = swr_alloc_set_opts2(&raw, &mono, out_format, rate, &in_layout, decoder->sample_fmt, decoder->sample_rate,
                                0, nullptr);
  av_channel_layout_uninit(&in_layout);
  swr_.reset(raw);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not set up the analysis resampler", ret);
  if (mode == Mode::kChromaprint) {
    // fpcalc's FFmpegAudioProcessor::SetCompatibleMode(): the settings of the resampler Chromaprint
    // was tuned with. The same samples in give the same fingerprint out.
    av_opt_set_int(swr_.get(), "resampler", SWR_ENGINE_SWR, 0);
    av_opt_set_int(swr_.get(), "filter_size", 16, 0);
    av_opt_set_int(swr_.get(), "phase_shift", 8, 0);
    av_opt_set_int(swr_.get(), "linear_interp", 1, 0);
    av_opt_set_double(swr_.get(), "cutoff", 0.8, 0);
  }
  ret = swr_init(swr_.get());
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "could not start the analysis resampler", ret);
}

void MonoResampler::Convert(const AVFrame* frame, std::vector<float>* out, std::vector<int16_t>* out16) {
  int in_samples = frame != nullptr ? frame->nb_samples : 0;
  int capacity = swr_get_out_samples(swr_.get(), in_samples);
  if (capacity < 0) Fail(ErrorCode::kEngineFailure, "the analysis resampler failed", capacity);
  if (capacity == 0) return;
  size_t bytes_per_sample = mode_ == Mode::kFloat ? sizeof(float) : sizeof(int16_t);
  buffer_.resize(static_cast<size_t>(capacity) * bytes_per_sample);
  uint8_t* planes[1] = {buffer_.data()};
  int got = swr_convert(swr_.get(), planes, capacity, frame != nullptr ? const_cast<const uint8_t**>(frame->extended_data) : nullptr,
                        in_samples);
  if (got < 0) Fail(ErrorCode::kEngineFailure, "the analysis resampler failed", got);
  if (mode_ == Mode::kFloat) {
    const float* samples = reinterpret_cast<const float*>(buffer_.data());
    out->insert(out->end(), samples, samples + got);
  } else {
    const int16_t* samples = reinterpret_cast<const int16_t*>(buffer_.data());
    out16->insert(out16->end(), samples, samples + got);
  }
}

}  // namespace fw::av
