// LoopTurn: work that code running on the event loop wants done once the loop
// has run the handlers already queued, rather than at once (internal to the
// server library).
//
// After one epoll_wait the loop runs the completions of every socket that
// became ready, one handler each. A frame read in one of them may hand a send
// or an ack to the queue writer; waking the writer right there (a futex wake)
// lets it start a commit with that one message while the frames of the other
// ready sockets wait their turn (with one core for both threads, the writer
// usually runs first). While a LoopTurn is open on a thread, such a wake is
// instead posted to the loop once, behind the handlers queued so far, and the
// writer's next commit takes what the whole turn handed in.
#pragma once

#include <functional>

namespace parley::server {

class LoopTurn {
 public:
  // Queues a handler on the event loop (behind those already queued).
  using Post = std::function<void(std::function<void()>)>;

  // Becomes the thread's current turn until destroyed; `post` must stay
  // callable meanwhile.
  explicit LoopTurn(Post post);
  ~LoopTurn();
  LoopTurn(const LoopTurn&) = delete;
  LoopTurn& operator=(const LoopTurn&) = delete;

  // The turn open on this thread, or nullptr.
  static LoopTurn* Current();

  // Runs `handler` on the loop after the handlers queued so far.
  void Defer(std::function<void()> handler) { post_(std::move(handler)); }

 private:
  LoopTurn* previous_;
  Post post_;
};

}  // namespace parley::server
