// One consumer of decoded pictures on a thread of its own. The run's one pipeline thread decodes
// and filters for every output; an output that shares nothing with the others but those pictures
// (a silent preview: a GIF's palette filters and encoder, an animated WebP) takes them from a
// short queue instead, so its filtering and encoding never hold up the encoders of the rest.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "resources.h"

namespace fw::av {

class FrameWorker {
 public:
  // Called on the worker's thread with each frame in order, then once with nullptr (the end of
  // stream). May throw: the failure reaches the pipeline thread at its next Push or at Finish.
  using Handler = std::function<void(AVFrame*)>;

  // `capacity` frames may wait; Push blocks while that many do.
  FrameWorker(Handler handler, size_t capacity);
  // Stops: frames still waiting are dropped, and the handler's current call is waited for (the
  // handler should end it early once its owner is going; Run's does at its next picture).
  ~FrameWorker();
  FrameWorker(const FrameWorker&) = delete;
  FrameWorker& operator=(const FrameWorker&) = delete;

  // Hands over a new reference to `frame`, or the end of stream (nullptr). Throws the handler's
  // failure, if it has failed.
  void Push(const AVFrame* frame);
  // Waits until the handler has taken the end of stream; throws its failure, if it failed.
  void Finish();
  // Throws the handler's failure, if it has failed, without waiting: a worker done with its window
  // gets no more Push calls, and its failure must not wait for the end of the input.
  void ThrowIfFailed();

 private:
  void Loop();

  Handler handler_;
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<FramePtr> waiting_;  // a null entry is the end of stream
  bool stopping_ = false;         // the destructor's: drop everything, end the thread
  bool done_ = false;             // the handler took the end of stream, or failed
  std::exception_ptr failure_;
  std::atomic<bool> failed_{false};  // failure_ is set: lets ThrowIfFailed skip the lock
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace fw::av
