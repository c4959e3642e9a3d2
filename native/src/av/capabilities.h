// What this build of libav* can actually do: library versions, encoders that open, hardware
// devices that open.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fw::av {

struct CapabilityReport {
  std::vector<std::pair<std::string, std::string>> versions;
  std::vector<std::string> encoders;
  std::vector<std::string> hardware;
  // Hardware encoders that opened on their device, as "device:encoder" (e.g. "cuda:h264_nvenc").
  std::vector<std::string> hardware_encoders;
  // Why each hardware device type did not open, and why each encoder on a device that did open
  // failed ("cuda:h264_nvenc"), for the node's heartbeat.
  std::vector<std::pair<std::string, std::string>> hardware_errors;
};

// Opens each candidate encoder with a tiny configuration and each hardware device type with its
// defaults; slow-ish (tens to hundreds of ms), so call it off the JS thread and cache the result.
CapabilityReport ProbeCapabilities() noexcept;

}  // namespace fw::av
