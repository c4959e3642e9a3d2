// Decodes the first picture of an image (or video) file, for overlays such as a watermark.
#pragma once

#include <string>

#include "filter_graph.h"
#include "resources.h"

namespace fw::av {

// Throws kInputUnreadable when the file holds no decodable picture.
FramePtr DecodeStill(const std::string& path, RunControl* control);

// How to make a still image upright: its decoder's display matrix (JPEG EXIF Orientation, parsed by
// FFmpeg's own decoder); identity when it has none or cannot be decoded.
Orientation StillOrientation(const std::string& path, RunControl* control);

}  // namespace fw::av
