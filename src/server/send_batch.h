// SendBatch: frames given to connections on one thread, handed to the event
// loop together (internal to the server library).
//
// The queue writer answers every send of a group commit and pushes each new
// envelope to its online recipient from its own thread. One post to the event
// loop per frame costs a lock of the loop's queue, an allocation and often a
// wake-up of the network thread (an epoll_ctl); while a SendBatch lives on a
// thread, connections that can (see BatchedSender) collect their frames in it
// instead, and its end posts them all at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace parley::server {

class BatchedSender;

class SendBatch {
 public:
  struct Entry {
    std::shared_ptr<BatchedSender> sender;
    std::vector<std::uint8_t> frame;
    std::optional<std::chrono::steady_clock::time_point> answer_to;
  };

  // Becomes the thread's current batch until it ends.
  SendBatch();
  // Hands the collected frames to the event loop.
  ~SendBatch();
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  // The batch open on this thread, or nullptr.
  static SendBatch* Current();

  void Add(Entry entry) { entries_.push_back(std::move(entry)); }

 private:
  SendBatch* previous_;
  std::vector<Entry> entries_;
};

// A connection whose frames may wait in a SendBatch: all such connections
// share one event loop thread and no strand, so one handler may deliver the
// frames of many of them, in the order they were added.
class BatchedSender {
 public:
  virtual ~BatchedSender() = default;
  // Any thread: posts one handler to the event loop that delivers `entries`
  // (each to its own sender) in order.
  virtual void PostBatch(std::vector<SendBatch::Entry> entries) = 0;
  // On the event loop: one frame of a batch.
  virtual void DeliverBatched(std::vector<std::uint8_t> frame,
                              std::optional<std::chrono::steady_clock::time_point> answer_to) = 0;
};

}  // namespace parley::server
