#include "loudness.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "decoder.h"
#include "filter_graph.h"
#include "input_file.h"

namespace fw::av {
namespace {

bool ReadMeta(const AVFrame* frame, const char* key, double* value) {
  const AVDictionaryEntry* entry = av_dict_get(frame->metadata, key, nullptr, 0);
  if (entry == nullptr) return false;
  *value = std::strtod(entry->value, nullptr);
  return true;
}

}  // namespace

Loudness MeasureLoudness(const std::string& path, RunControl* control) {
  InputFile input(path, control);
  int index = input.BestStream(AVMEDIA_TYPE_AUDIO);
  if (index < 0) Fail(ErrorCode::kInputNoStreams, "loudness normalization needs an audio stream");
  input.KeepOnly(-1, index);
  Decoder decoder(input.ctx(), input.stream(index));
  std::unique_ptr<FilterGraph> graph = FilterGraph::ForLoudness(decoder.ctx(), decoder.time_base());
  Loudness result;
  double peak_linear = 0;
  auto sink = [&](AVFrame* frame) {
    graph->Push(frame, [&](AVFrame* measured) {
      ReadMeta(measured, "lavfi.r128.I", &result.integrated_lufs);
      double peak;
      if (ReadMeta(measured, "lavfi.r128.true_peak", &peak)) peak_linear = std::max(peak_linear, peak);
    });
  };
  PacketPtr packet = MakePacket();
  while (input.Read(packet.get())) {
    PacketUnref unref(packet.get());
    if (control != nullptr && control->ShouldStop()) Fail(ErrorCode::kCanceled, "stopped");
    if (packet->stream_index == index) decoder.Decode(packet.get(), sink);
  }
  decoder.Decode(nullptr, sink);
  graph->Push(nullptr, [&](AVFrame* measured) { ReadMeta(measured, "lavfi.r128.I", &result.integrated_lufs); });
  if (peak_linear > 0) result.true_peak_dbtp = 20 * std::log10(peak_linear);
  return result;
}

double NormalizationGainDb(const Loudness& measured, double target_lufs) {
  if (measured.integrated_lufs <= -69.9) return 0;
  double gain = target_lufs - measured.integrated_lufs;
  return std::min(gain, -1.0 - measured.true_peak_dbtp);
}

}  // namespace fw::av
