#include "frame_worker.h"

#include <utility>

namespace fw::av {

FrameWorker::FrameWorker(Handler handler, size_t capacity)
    : handler_(std::move(handler)), capacity_(capacity < 1 ? 1 : capacity), thread_([this] { Loop(); }) {}

FrameWorker::~FrameWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    waiting_.clear();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FrameWorker::Push(const AVFrame* frame) {
  FramePtr ref;
  if (frame != nullptr) {
    ref.reset(av_frame_clone(frame));
    if (!ref) Fail(ErrorCode::kEngineFailure, "out of memory", AVERROR(ENOMEM));
  }
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return waiting_.size() < capacity_ || done_; });
  if (failure_) std::rethrow_exception(failure_);
  if (done_) return;  // nothing more is taken after the end of stream
  waiting_.push_back(std::move(ref));
  lock.unlock();
  changed_.notify_all();
}

void FrameWorker::Finish() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return done_; });
  if (failure_) std::rethrow_exception(failure_);
}

void FrameWorker::ThrowIfFailed() {
  if (!failed_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  std::rethrow_exception(failure_);
}

void FrameWorker::Loop() {
  while (true) {
    FramePtr frame;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return !waiting_.empty() || stopping_; });
      if (stopping_) return;
      frame = std::move(waiting_.front());
      waiting_.pop_front();
    }
    changed_.notify_all();  // room for the next Push
    bool end = frame == nullptr;
    try {
      handler_(frame.get());
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      failure_ = std::current_exception();
      failed_.store(true, std::memory_order_release);
      waiting_.clear();
      end = true;
    }
    frame.reset();
    if (end) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = true;
      }
      changed_.notify_all();
      return;
    }
  }
}

}  // namespace fw::av
