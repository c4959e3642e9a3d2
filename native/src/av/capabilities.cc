#include "capabilities.h"

#include "encoder.h"
#include "ffmpeg.h"
#include "log.h"
#include "resources.h"
#include "status.h"

namespace fw::av {
namespace {

std::string Version(unsigned version) {
  return std::to_string(AV_VERSION_MAJOR(version)) + "." + std::to_string(AV_VERSION_MINOR(version)) + "." +
         std::to_string(AV_VERSION_MICRO(version));
}

constexpr const char* kCandidateEncoders[] = {"libx264", "libx265",   "libvpx-vp9", "aac",  "libopus", "libmp3lame",
                                             "flac",    "pcm_s16le", "mjpeg",      "png", "libwebp"};
// AV1: libaom first. SVT-AV1 is only tried when libaom is missing, because it prints a banner
// straight to stderr (bypassing av_log) and its older releases can hang on close.
constexpr const char* kAv1Encoders[] = {"libaom-av1", "libsvtav1"};
struct DeviceCandidate {
  const char* device;
  const char* encoders[4];
};
// Only encoders the run path can feed with system-memory frames (NVENC and QSV upload them
// themselves). VAAPI encoders need frames in VAAPI surfaces (hwupload), which the pipeline does not
// build yet, so a VAAPI device is reported but offers no encoder.
constexpr DeviceCandidate kCandidateDevices[] = {
    {"cuda", {"h264_nvenc", "hevc_nvenc", "av1_nvenc", nullptr}},
    {"qsv", {"h264_qsv", "hevc_qsv", "vp9_qsv", "av1_qsv"}},
    {"vaapi", {nullptr, nullptr, nullptr, nullptr}},
};

BufferRefPtr OpenDevice(const char* name, std::string* error) {
  AVHWDeviceType type = av_hwdevice_find_type_by_name(name);
  if (type == AV_HWDEVICE_TYPE_NONE) {
    *error = "not compiled into this FFmpeg";
    return nullptr;
  }
  AVBufferRef* raw = nullptr;
  int ret = av_hwdevice_ctx_create(&raw, type, nullptr, nullptr, 0);
  BufferRefPtr device(raw);
  if (ret < 0) {
    *error = ErrorText(ret);
    std::string logged = TakeLastLogLine();
    if (!logged.empty()) *error += " (" + logged + ")";
    return nullptr;
  }
  return device;
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
    // Opening the device and then an encoder on it is the only honest test: names are compiled in
    // whether or not a GPU, a driver or a free encoder session exists.
    for (const DeviceCandidate& candidate : kCandidateDevices) {
      std::string error;
      BufferRefPtr device = OpenDevice(candidate.device, &error);
      if (!device) {
        report.hardware_errors.emplace_back(candidate.device, error);
        continue;
      }
      report.hardware.emplace_back(candidate.device);
      for (const char* encoder : candidate.encoders) {
        if (encoder == nullptr) continue;
        std::string name = std::string(candidate.device) + ":" + encoder;
        std::string why;
        if (EncoderOpens(encoder, device.get(), &why)) {
          report.hardware_encoders.push_back(name);
        } else {
          // The device opened but this encoder did not (no NVENC on the card, sessions exhausted...).
          report.hardware_errors.emplace_back(name, why);
        }
      }
    }
  } catch (...) {
    // Only allocation failures can land here; report what was gathered so far.
  }
  TakeLastLogLine();  // failed opens log errors on purpose; do not let them leak into a later job
  return report;
}

}  // namespace fw::av
