#include "still_image.h"

#include "decoder.h"
#include "input_file.h"
#include "status.h"

namespace fw::av {

FramePtr DecodeStill(const std::string& path, RunControl* control) {
  InputFile input(path, control);
  int index = input.BestStream(AVMEDIA_TYPE_VIDEO);
  if (index < 0) Fail(ErrorCode::kInputUnreadable, "the watermark image has no picture");
  input.KeepOnly(index, -1);
  Decoder decoder(input.ctx(), input.stream(index));
  FramePtr still = MakeFrame();
  bool have = false;
  auto keep = [&](AVFrame* frame) {
    if (have) return;
    if (av_frame_ref(still.get(), frame) < 0) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
    have = true;
  };
  PacketPtr packet = MakePacket();
  while (!have && input.Read(packet.get())) {
    PacketUnref unref(packet.get());
    if (packet->stream_index == index) decoder.Decode(packet.get(), keep);
  }
  if (!have) decoder.Decode(nullptr, keep);
  if (!have) Fail(ErrorCode::kInputUnreadable, "the watermark image could not be decoded");
  still->pts = 0;
  return still;
}

Orientation StillOrientation(const std::string& path, RunControl* control) {
  FramePtr still = DecodeStill(path, control);
  const AVFrameSideData* side = av_frame_get_side_data(still.get(), AV_FRAME_DATA_DISPLAYMATRIX);
  if (side == nullptr || side->size < 9 * sizeof(int32_t)) return Orientation{};
  return OrientationFromMatrix(reinterpret_cast<const int32_t*>(side->data));
}

}  // namespace fw::av
