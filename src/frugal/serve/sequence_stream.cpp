#include "frugal/serve/sequence_stream.h"

namespace frugal::serve {

void SequenceStream::push(SequenceEvent event) {
  event.emitted = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (event.kind != SequenceEvent::Kind::Token) ended_ = true;
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
}

bool SequenceStream::wait(std::vector<SequenceEvent>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return !events_.empty(); });
  bool ended = false;
  while (!events_.empty()) {
    ended = ended || events_.front().kind != SequenceEvent::Kind::Token;
    out.push_back(std::move(events_.front()));
    events_.pop_front();
  }
  return ended;
}

}  // namespace frugal::serve
