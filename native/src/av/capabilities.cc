#include "capabilities.h"

#include "encoder.h"
#include "ffmpeg.h"
#include "log.h"
#include "resources.h"

namespace fw::av {
namespace {

std::string Version(unsigned version) {
  return std::to_string(AV_VERSION_MAJOR(version)) + "." + std::to_string(AV_VERSION_MINOR(version)) + "." +
         std::to_string(AV_VERSION_MICRO(version));
}

constexpr const char* kCandidateEncoders[] = {"libx264", "libx265", "libvpx-vp9", "aac", "libopus", "libmp3lame"};
// AV1: libaom first. SVT-AV1 is only tried when libaom is missing, because it prints a banner
// straight to stderr (bypassing av_log) and its older releases can hang on close.
constexpr const char* kAv1Encoders[] = {"libaom-av1", "libsvtav1"};
constexpr const char* kCandidateDevices[] = {"cuda", "vaapi", "qsv"};

bool DeviceOpens(const char* name) {
  AVHWDeviceType type = av_hwdevice_find_type_by_name(name);
  if (type == AV_HWDEVICE_TYPE_NONE) return false;  // not compiled into this libavutil
  AVBufferRef* raw = nullptr;
  int ret = av_hwdevice_ctx_create(&raw, type, nullptr, nullptr, 0);
  BufferRefPtr device(raw);
  return ret >= 0;
}

}  // namespace

CapabilityReport ProbeCapabilities() noexcept {
  CapabilityReport report;
  try {
    report.versions = {
        {"ffmpeg", av_version_info()},
        {"libavformat", Version(avformat_version())},
        {"libavcodec", Version(avcodec_version())},
        {"libavfilter", Version(avfilter_version())},
        {"libswscale", Version(swscale_version())},
        {"libswresample", Version(swresample_version())},
        {"libavutil", Version(avutil_version())},
    };
    for (const char* name : kCandidateEncoders) {
      if (EncoderOpens(name)) report.encoders.emplace_back(name);
    }
    for (const char* name : kAv1Encoders) {
      if (EncoderOpens(name)) {
        report.encoders.emplace_back(name);
        break;
      }
    }
    for (const char* name : kCandidateDevices) {
      if (DeviceOpens(name)) report.hardware.emplace_back(name);
    }
  } catch (...) {
    // Only allocation failures can land here; report what was gathered so far.
  }
  TakeLastLogLine();  // failed opens log errors on purpose; do not let them leak into a later job
  return report;
}

}  // namespace fw::av
