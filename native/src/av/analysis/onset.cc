#include "onset.h"

namespace fw::av {

Framer::Framer(int size, int hop, FrameFn on_frame) : spectrum_(size), hop_(hop), on_frame_(std::move(on_frame)) {
  // The first frame is centred on the first sample: half a window of silence before it.
  pending_.assign(static_cast<size_t>(size / 2), 0.0f);
}

void Framer::Push(const float* samples, size_t count) {
  pending_.insert(pending_.end(), samples, samples + count);
  size_t size = static_cast<size_t>(spectrum_.size());
  size_t hop = static_cast<size_t>(hop_);
  while (pending_.size() - start_ >= size) {
    spectrum_.Magnitudes(pending_.data() + start_, &magnitudes_);
    // The hop's newest samples: the last `hop` samples of the window's first half, so the level
    // belongs to the window's centre.
    on_frame_(magnitudes_, pending_.data() + start_ + size / 2 - hop, hop);
    start_ += hop;
  }
  // Keep the buffer from growing: drop what every later frame is past.
  if (start_ > (1u << 16)) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
}

}  // namespace fw::av
