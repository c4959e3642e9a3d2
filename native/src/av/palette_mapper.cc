#include "palette_mapper.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "status.h"

namespace fw::av {
namespace {

// 7 bits a channel: a 4 MiB table, and GIFs of the real-media corpus 0.00-0.12 dB (PSNR against
// the source) under paletteuse's exact search; 6 bits cost 0.2 dB on a 720p clip.
constexpr int kCellBits = 7;
constexpr int kCellShift = 8 - kCellBits;
constexpr uint32_t kCellMask = (1u << kCellBits) - 1;
// Regions for the candidate lists: 16 levels a channel, 4096 in all.
constexpr int kBoxBits = 4;
constexpr int kBoxShift = kCellBits - kBoxBits;
constexpr uint32_t kBoxMask = (1u << kBoxBits) - 1;

// The 8x8 ordered-dither (Bayer) threshold matrix, 0..63.
constexpr uint8_t kBayer[8][8] = {
    {0, 32, 8, 40, 2, 34, 10, 42},  {48, 16, 56, 24, 50, 18, 58, 26}, {12, 44, 4, 36, 14, 46, 6, 38},
    {60, 28, 52, 20, 62, 30, 54, 22}, {3, 35, 11, 43, 1, 33, 9, 41},  {51, 19, 59, 27, 49, 17, 57, 25},
    {15, 47, 7, 39, 13, 45, 5, 37},  {63, 31, 55, 23, 61, 29, 53, 21},
};

// A threshold as an offset of -4..3 added to every channel: a gentle pattern (paletteuse's
// bayer_scale 3, which this replaces) that moves a colour between neighbouring palette entries
// only near their border, so flat areas stay flat and the GIF encoder's unchanged-pixel
// transparency keeps working from frame to frame.
constexpr int kDitherBias = 4;
constexpr int DitherOffset(int threshold) { return (threshold >> 3) - kDitherBias; }

// channel value + offset + kDitherBias (0..262) -> the clamped value's table cell coordinate.
struct Quantizer {
  uint8_t cell[256 + 2 * kDitherBias];
  constexpr Quantizer() : cell{} {
    for (int i = 0; i < 256 + 2 * kDitherBias; i++) {
      int v = std::clamp(i - kDitherBias, 0, 255);
      cell[i] = static_cast<uint8_t>(v >> kCellShift);
    }
  }
};
constexpr Quantizer kQuantizer;

}  // namespace

PaletteMapper::PaletteMapper(const AVFrame* palette)
    : cells_(size_t{1} << (3 * kCellBits), 0), candidates_(size_t{1} << (3 * kBoxBits)) {
  if (palette == nullptr || palette->format != AV_PIX_FMT_RGB32 || palette->width * palette->height < 1) {
    Fail(ErrorCode::kEngineFailure, "the GIF's palette is not an RGB32 picture");
  }
  int count = std::min(256, palette->width * palette->height);
  for (int i = 0; i < count; i++) {
    const uint8_t* row = palette->data[0] + static_cast<ptrdiff_t>(i / palette->width) * palette->linesize[0];
    uint32_t colour;
    memcpy(&colour, row + static_cast<ptrdiff_t>(i % palette->width) * 4, sizeof(colour));
    palette_[i] = colour;
    // A transparent entry (a palette that reserves one) is never a pixel's colour. palettegen, as
    // used here, reserves none and pads a short palette with copies of an opaque colour.
    if ((colour >> 24) < 0x80) continue;
    red_.push_back(static_cast<int32_t>((colour >> 16) & 0xff));
    green_.push_back(static_cast<int32_t>((colour >> 8) & 0xff));
    blue_.push_back(static_cast<int32_t>(colour & 0xff));
    index_.push_back(static_cast<uint8_t>(i));
  }
  if (index_.empty()) Fail(ErrorCode::kEngineFailure, "the GIF's palette has no colour");
}

// Distances are taken at twice the scale so that cell centres stay whole numbers.
const std::vector<uint8_t>& PaletteMapper::Candidates(uint32_t box) {
  std::vector<uint8_t>& list = candidates_[box];
  if (!list.empty()) return list;
  // The region's colour range on each channel, doubled: [low, high].
  constexpr int32_t kBoxSpan = 1 << (8 - kBoxBits);
  const uint32_t corner[3] = {box >> (2 * kBoxBits), (box >> kBoxBits) & kBoxMask, box & kBoxMask};
  int32_t low[3], high[3];
  for (int c = 0; c < 3; c++) {
    low[c] = static_cast<int32_t>(corner[c]) * kBoxSpan * 2;
    high[c] = low[c] + (kBoxSpan - 1) * 2;
  }
  // A colour can only be nearest somewhere in the region if its nearest approach to the region is
  // no farther than the colour whose farthest point of the region is the nearest of all.
  const size_t n = index_.size();
  std::vector<int32_t> nearest(n);
  int32_t bound = std::numeric_limits<int32_t>::max();
  for (size_t i = 0; i < n; i++) {
    const int32_t value[3] = {2 * red_[i], 2 * green_[i], 2 * blue_[i]};
    int32_t near = 0, far = 0;
    for (int c = 0; c < 3; c++) {
      int32_t below = low[c] - value[c], above = value[c] - high[c];
      int32_t gap = std::max({below, above, 0});
      int32_t reach = std::max(std::abs(value[c] - low[c]), std::abs(value[c] - high[c]));
      near += gap * gap;
      far += reach * reach;
    }
    nearest[i] = near;
    bound = std::min(bound, far);
  }
  for (size_t i = 0; i < n; i++) {
    if (nearest[i] <= bound) list.push_back(static_cast<uint8_t>(i));
  }
  return list;
}

uint16_t PaletteMapper::Fill(uint32_t cell) {
  constexpr int32_t kSpan = 1 << kCellShift;
  const uint32_t at[3] = {cell >> (2 * kCellBits), (cell >> kCellBits) & kCellMask, cell & kCellMask};
  // The cell's centre, doubled: values c*span .. c*span+span-1 centre on c*2*span + span-1.
  const int32_t r = static_cast<int32_t>(at[0]) * 2 * kSpan + kSpan - 1;
  const int32_t g = static_cast<int32_t>(at[1]) * 2 * kSpan + kSpan - 1;
  const int32_t b = static_cast<int32_t>(at[2]) * 2 * kSpan + kSpan - 1;
  const uint32_t box = (at[0] >> kBoxShift) << (2 * kBoxBits) | (at[1] >> kBoxShift) << kBoxBits | (at[2] >> kBoxShift);
  int32_t best = std::numeric_limits<int32_t>::max();
  size_t nearest = 0;
  for (uint8_t i : Candidates(box)) {
    int32_t dr = 2 * red_[i] - r;
    int32_t dg = 2 * green_[i] - g;
    int32_t db = 2 * blue_[i] - b;
    int32_t distance = dr * dr + dg * dg + db * db;
    if (distance < best) {
      best = distance;
      nearest = i;
    }
  }
  uint16_t entry = static_cast<uint16_t>(index_[nearest] + 1);
  cells_[cell] = entry;
  return entry;
}

void PaletteMapper::Map(const AVFrame* picture, AVFrame* out) {
  if (picture->format != AV_PIX_FMT_RGB32) Fail(ErrorCode::kEngineFailure, "a GIF picture is not RGB32");
  av_frame_unref(out);
  out->format = AV_PIX_FMT_PAL8;
  out->width = picture->width;
  out->height = picture->height;
  int ret = av_frame_get_buffer(out, 0);
  if (ret >= 0) ret = av_frame_copy_props(out, picture);
  if (ret < 0) Fail(ErrorCode::kEngineFailure, "out of memory", ret);
  memcpy(out->data[1], palette_, sizeof(palette_));

  uint16_t* cells = cells_.data();
  for (int y = 0; y < picture->height; y++) {
    const uint8_t* src = picture->data[0] + static_cast<ptrdiff_t>(y) * picture->linesize[0];
    uint8_t* dst = out->data[0] + static_cast<ptrdiff_t>(y) * out->linesize[0];
    int biased[8];
    for (int x = 0; x < 8; x++) biased[x] = DitherOffset(kBayer[y & 7][x]) + kDitherBias;
    for (int x = 0; x < picture->width; x++) {
      uint32_t pixel;
      memcpy(&pixel, src + static_cast<ptrdiff_t>(x) * 4, sizeof(pixel));
      const int o = biased[x & 7];
      const uint32_t cell = static_cast<uint32_t>(kQuantizer.cell[((pixel >> 16) & 0xff) + o]) << (2 * kCellBits) |
                            static_cast<uint32_t>(kQuantizer.cell[((pixel >> 8) & 0xff) + o]) << kCellBits |
                            kQuantizer.cell[(pixel & 0xff) + o];
      uint16_t entry = cells[cell];
      if (entry == 0) entry = Fill(cell);
      dst[x] = static_cast<uint8_t>(entry - 1);
    }
  }
}

}  // namespace fw::av
