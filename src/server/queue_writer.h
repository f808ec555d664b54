// QueueWriter: group commit of message-queue writes across connections.
//
// Every send must be durable before it is answered, and every commit waits
// for the disk (an fsync on SQLite, a WAL flush on PostgreSQL). One commit per
// send bounds the relay by the disk's flush rate, however many connections
// send. The writer's thread instead takes everything that was handed in while
// the previous commit ran and commits it in one transaction
// (CommitQueueBatch): the sends of all connections and their
// acknowledgements.
// There is no timer: an idle writer commits a lone send at once, and a busy
// one batches exactly what the disk's latency let accumulate.
//
// Handed in on a thread with a LoopTurn open (the event loop), work wakes an
// idle writer only once the loop has run the handlers queued so far
// (server/loop_turn.h), so that one commit takes what a whole turn of the
// loop handed in; elsewhere it wakes the writer at once.
//
// Sends are committed in the order they were handed in, so one connection's
// sends (handed in by its task sequence, in order) keep their order in every
// recipient queue. Completions run on the writer's thread after the commit,
// in the same order; they should be short (answer, notify) and must not call
// back into the writer synchronously waiting for it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "server/metrics.h"
#include "store/message_queue_store.h"

namespace parley::server {

class QueueWriter {
 public:
  // One result per send handed in, in order; the completion may move them out.
  using SendsDone = std::function<void(std::span<store::StoreResult<store::EnqueueResult>> results)>;
  // Whether the message was still queued, or the store's error.
  using DeleteDone = std::function<void(store::StoreResult<bool> found)>;

  // `store` and `registry` must outlive the writer. Starts the thread.
  QueueWriter(store::MessageQueueStore& store, MetricsRegistry& registry);
  // Stop(), if not done yet.
  ~QueueWriter();
  QueueWriter(const QueueWriter&) = delete;
  QueueWriter& operator=(const QueueWriter&) = delete;

  // Queues `sends` (1..store::kMaxEnqueueBatch) in a coming commit, together;
  // then calls `done`. What the requests' spans point at must stay valid
  // until `done` runs (the completion usually owns it). After Stop(), `done`
  // runs at once with kUnavailable.
  void Enqueue(std::vector<store::EnqueueRequest> sends, SendsDone done);
  // Deletes one acknowledged message in a coming commit; then calls `done`.
  void Delete(const store::QueuedCopy& message, DeleteDone done);

  // Times the thread went to sleep for lack of work (tests, diagnostics).
  std::uint64_t sleeps() const { return sleeps_.load(std::memory_order_relaxed); }

  // Commits what was handed in so far, then joins the thread. Idempotent.
  // Must not run on the writer's thread (a completion).
  void Stop();

 private:
  struct PendingSends {
    std::vector<store::EnqueueRequest> sends;
    SendsDone done;
  };
  struct PendingDelete {
    store::QueuedCopy message;
    DeleteDone done;
  };

  void Run();
  // Wakes the thread, at once or at the end of the current LoopTurn.
  void Wake();
  // One store transaction for both (CommitQueueBatch), then the completions.
  void Commit(std::vector<PendingSends>& sends, std::vector<PendingDelete>& deletes);

  store::MessageQueueStore& store_;
  Counter& commits_;
  Histogram& commit_seconds_;
  Histogram& commit_sends_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PendingSends> sends_;
  std::size_t pending_send_count_ = 0;
  std::deque<PendingDelete> deletes_;
  bool stopping_ = false;
  // A wake is posted to the loop and has not run yet.
  std::atomic<bool> wake_deferred_{false};
  std::atomic<std::uint64_t> sleeps_{0};
  std::thread thread_;
};

}  // namespace parley::server
