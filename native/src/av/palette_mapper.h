// A GIF's pictures mapped onto the palette computed for its clip, with ordered dithering.
//
// This does paletteuse's job (dither=bayer) in our own code because paletteuse was most of a GIF
// preview's cost (about 23 ns a pixel, a hashed colour cache probed for every pixel), and a
// preview beside a transcode may add at most 5 % to its time. Here a pixel costs one lookup
// in a table from colour (7 bits a channel) to palette index, each entry found the first time a
// colour shows up, by a search of the few palette colours that can be nearest in its region. A
// 5 s 480x270 GIF at 15 fps: 0.22 s in paletteuse, 0.04-0.06 s here.
#pragma once

#include <cstdint>
#include <vector>

#include "ffmpeg.h"

namespace fw::av {

class PaletteMapper {
 public:
  // `palette`: palettegen's picture, up to 256 RGB32 colours (alpha 0 entries are unused slots).
  explicit PaletteMapper(const AVFrame* palette);

  // `picture` (RGB32) as a PAL8 frame in `out` (allocated here; the palette in data[1]), its
  // timestamps and properties kept.
  void Map(const AVFrame* picture, AVFrame* out);

 private:
  // The index of the palette colour nearest to a table cell's centre, plus one.
  uint16_t Fill(uint32_t cell);
  // The palette colours (positions in red_/green_/blue_) that can be nearest to some colour in
  // region `box` (4 bits a channel), found the first time the region is needed.
  const std::vector<uint8_t>& Candidates(uint32_t box);

  uint32_t palette_[256] = {};
  // The colours a pixel may take (opaque entries), channel by channel so the search vectorises.
  std::vector<int32_t> red_, green_, blue_;
  std::vector<uint8_t> index_;
  // Colour (7 bits a channel, red highest) -> palette index + 1; 0 until first needed.
  std::vector<uint16_t> cells_;
  std::vector<std::vector<uint8_t>> candidates_;  // by region; empty until first needed
};

}  // namespace fw::av
