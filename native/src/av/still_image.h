// Decodes the first picture of an image (or video) file, for overlays such as a watermark.
#pragma once

#include <string>

#include "resources.h"

namespace fw::av {

// Throws kInputUnreadable when the file holds no decodable picture.
FramePtr DecodeStill(const std::string& path, RunControl* control);

}  // namespace fw::av
