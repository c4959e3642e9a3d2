// RAII owners for libav objects: each one is freed exactly once, on every path, by its
// unique_ptr, whatever exception unwinds past it.
#pragma once

#include <atomic>
#include <memory>

#include "ffmpeg.h"
#include "status.h"

namespace fw::av {

struct InputFormatDeleter {
  void operator()(AVFormatContext* ctx) const { avformat_close_input(&ctx); }
};
// Output contexts own their AVIOContext only once avio_open2 succeeded; OutputFile closes pb
// itself (it also has to delete the partial file), so this just frees the context.
struct OutputFormatDeleter {
  void operator()(AVFormatContext* ctx) const { avformat_free_context(ctx); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* ctx) const { avcodec_free_context(&ctx); }
};
struct FrameDeleter {
  void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct PacketDeleter {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
struct FilterGraphDeleter {
  void operator()(AVFilterGraph* graph) const { avfilter_graph_free(&graph); }
};
struct BufferRefDeleter {
  void operator()(AVBufferRef* ref) const { av_buffer_unref(&ref); }
};
struct CodecParametersDeleter {
  void operator()(AVCodecParameters* par) const { avcodec_parameters_free(&par); }
};
struct AvFreeDeleter {
  void operator()(void* ptr) const { av_free(ptr); }
};

using InputFormatPtr = std::unique_ptr<AVFormatContext, InputFormatDeleter>;
using OutputFormatPtr = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using FilterGraphPtr = std::unique_ptr<AVFilterGraph, FilterGraphDeleter>;
using BufferRefPtr = std::unique_ptr<AVBufferRef, BufferRefDeleter>;
using CodecParametersPtr = std::unique_ptr<AVCodecParameters, CodecParametersDeleter>;

// Throw kEngineFailure on allocation failure.
inline FramePtr MakeFrame() {
  FramePtr frame(av_frame_alloc());
  if (!frame) Fail(ErrorCode::kEngineFailure, "could not allocate a frame", AVERROR(ENOMEM));
  return frame;
}
inline PacketPtr MakePacket() {
  PacketPtr packet(av_packet_alloc());
  if (!packet) Fail(ErrorCode::kEngineFailure, "could not allocate a packet", AVERROR(ENOMEM));
  return packet;
}

// Unrefs a frame/packet when the scope that filled it ends, so a throw mid-loop leaks nothing.
class FrameUnref {
 public:
  explicit FrameUnref(AVFrame* frame) : frame_(frame) {}
  ~FrameUnref() { av_frame_unref(frame_); }
  FrameUnref(const FrameUnref&) = delete;
  FrameUnref& operator=(const FrameUnref&) = delete;

 private:
  AVFrame* frame_;
};
class PacketUnref {
 public:
  explicit PacketUnref(AVPacket* packet) : packet_(packet) {}
  ~PacketUnref() { av_packet_unref(packet_); }
  PacketUnref(const PacketUnref&) = delete;
  PacketUnref& operator=(const PacketUnref&) = delete;

 private:
  AVPacket* packet_;
};

// An AVIOInterruptCB that stops blocking libavformat I/O once the run is canceled or stalled.
// `control` may be null (never interrupts) and must outlive every context it is installed on.
inline AVIOInterruptCB InterruptCallback(const RunControl* control) {
  AVIOInterruptCB cb;
  cb.callback = [](void* opaque) -> int {
    return opaque != nullptr && static_cast<const RunControl*>(opaque)->ShouldStop() ? 1 : 0;
  };
  cb.opaque = const_cast<RunControl*>(control);
  return cb;
}

}  // namespace fw::av
