// QueueWriter: group commit of message-queue writes across connections.
//
// Every send must be durable before it is answered, and every commit waits
// for the disk (an fsync on SQLite, a WAL flush on PostgreSQL). One commit per
// send bounds the relay by the disk's flush rate, however many connections
// send. The writer's thread instead takes everything that was handed in while
// the previous commit ran and commits it in one transaction
// (CommitQueueBatch): the sends of all connections and their
// acknowledgements.
// An idle writer commits a lone send at once; a busy one batches what the
// disk's latency let accumulate and, with a commit window, also waits until
// that long after the previous commit started: fewer, larger commits (one
// fsync, one wake, a few shared pages each) for up to the window's latency,
// as PostgreSQL's commit_delay does.
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
#include <chrono>
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

  // `store` and `registry` must outlive the writer. Starts the thread. A
  // commit starts no sooner than `commit_window` after the previous one
  // started, unless a full batch is waiting; zero commits as soon as the
  // previous commit is done.
  QueueWriter(store::MessageQueueStore& store, MetricsRegistry& registry,
              std::chrono::microseconds commit_window = std::chrono::microseconds(0));
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
  // Whether the waiting work fills a commit (no reason to wait for more).
  // Called with mutex_ held.
  bool BatchFull() const;
  // Wakes the thread: at once when the batch is full, else at the end of
  // the current LoopTurn, or not at all while it waits out a commit window.
  void Wake(bool batch_full);
  // One store transaction for both (CommitQueueBatch), then the completions.
  void Commit(std::vector<PendingSends>& sends, std::vector<PendingDelete>& deletes);

  store::MessageQueueStore& store_;
  const std::chrono::microseconds commit_window_;
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
  // The thread is waiting out a commit window: hand-ins need not wake it
  // (it wakes by itself) unless they fill a batch.
  std::atomic<bool> gathering_{false};
  std::atomic<std::uint64_t> sleeps_{0};
  std::thread thread_;
};

}  // namespace parley::server
