#include "server/queue_writer.h"

#include <chrono>
#include <optional>
#include <utility>

#include "server/loop_turn.h"
#include "server/send_batch.h"
#include "store/limits.h"

namespace parley::server {
namespace {

std::vector<double> BatchSizeBuckets() {
  std::vector<double> bounds;
  for (std::size_t size = 1; size <= store::kMaxEnqueueBatch; size *= 2) bounds.push_back(double(size));
  return bounds;
}

}  // namespace

QueueWriter::QueueWriter(store::MessageQueueStore& store, MetricsRegistry& registry,
                         std::chrono::microseconds commit_window)
    : store_(store),
      commit_window_(commit_window),
      commits_(registry.AddCounter("parley_queue_commits_total",
                                   "Group commits of queued sends or acknowledgements")),
      commit_seconds_(registry.AddHistogram(
          "parley_queue_commit_seconds", "Time one group commit took in the store", LatencyBucketsSeconds())),
      commit_sends_(registry.AddHistogram("parley_queue_commit_sends", "Sends queued by one group commit",
                                          BatchSizeBuckets())) {
  thread_ = std::thread([this] { Run(); });
}

QueueWriter::~QueueWriter() { Stop(); }

void QueueWriter::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void QueueWriter::Enqueue(std::vector<store::EnqueueRequest> sends, SendsDone done) {
  std::optional<store::StoreError> refused;
  bool batch_full = false;
  if (sends.empty() || sends.size() > store::kMaxEnqueueBatch) {
    refused = store::StoreError{store::StoreErrc::kInvalidArgument, "too many sends in one group"};
  }
  {
    std::lock_guard lock(mutex_);
    if (!refused && stopping_) {
      refused = store::StoreError{store::StoreErrc::kUnavailable, "the server is stopping"};
    }
    if (!refused) {
      pending_send_count_ += sends.size();
      sends_.push_back({std::move(sends), std::move(done)});
      batch_full = BatchFull();
    }
  }
  if (refused) {
    std::vector<store::StoreResult<store::EnqueueResult>> results(sends.size(), tl::unexpected(*refused));
    done(results);
    return;
  }
  Wake(batch_full);
}

void QueueWriter::Delete(const store::QueuedCopy& message, DeleteDone done) {
  bool batch_full = false;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      deletes_.push_back({message, std::move(done)});
      done = nullptr;
      batch_full = BatchFull();
    }
  }
  if (done) {
    done(tl::unexpected(store::StoreError{store::StoreErrc::kUnavailable, "the server is stopping"}));
    return;
  }
  Wake(batch_full);
}

bool QueueWriter::BatchFull() const {
  return pending_send_count_ >= store::kMaxEnqueueBatch || deletes_.size() >= store::kMaxDeleteBatch;
}

void QueueWriter::Wake(bool batch_full) {
  if (batch_full) {
    wake_.notify_one();
    return;
  }
  // A thread waiting out a commit window wakes by itself; a wake would only
  // cost it a context switch.
  if (gathering_.load(std::memory_order_acquire)) return;
  LoopTurn* turn = LoopTurn::Current();
  if (turn == nullptr) {
    wake_.notify_one();
    return;
  }
  // One posted wake per turn: later hand-ins of the turn find it pending.
  if (wake_deferred_.exchange(true, std::memory_order_acq_rel)) return;
  turn->Defer([this] {
    wake_deferred_.store(false, std::memory_order_release);
    if (!gathering_.load(std::memory_order_acquire)) wake_.notify_one();
  });
}

void QueueWriter::Run() {
  std::vector<PendingSends> sends;
  std::vector<PendingDelete> deletes;
  // The clock's epoch (boot): the first commit is not held back.
  std::chrono::steady_clock::time_point last_commit_start{};
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // Until the window of the previous commit ends, what is handed in
      // waits, gathering more, and needs no wake; after a quiet spell a
      // send finds the thread asleep without a window and commits at once.
      if (commit_window_.count() > 0) {
        const auto window_end = last_commit_start + commit_window_;
        gathering_.store(true, std::memory_order_release);
        while (!stopping_ && !BatchFull() && std::chrono::steady_clock::now() < window_end) {
          wake_.wait_until(lock, window_end);
        }
        gathering_.store(false, std::memory_order_release);
      }
      while (!stopping_ && sends_.empty() && deletes_.empty()) {
        sleeps_.fetch_add(1, std::memory_order_relaxed);
        wake_.wait(lock);
      }
      // Stopping ends the loop only once everything handed in is committed.
      if (sends_.empty() && deletes_.empty()) return;
      std::size_t taken = 0;
      while (!sends_.empty() && taken + sends_.front().sends.size() <= store::kMaxEnqueueBatch) {
        taken += sends_.front().sends.size();
        sends.push_back(std::move(sends_.front()));
        sends_.pop_front();
      }
      pending_send_count_ -= taken;
      while (!deletes_.empty() && deletes.size() < store::kMaxDeleteBatch) {
        deletes.push_back(std::move(deletes_.front()));
        deletes_.pop_front();
      }
    }
    last_commit_start = std::chrono::steady_clock::now();
    Commit(sends, deletes);
    sends.clear();
    deletes.clear();
  }
}

void QueueWriter::Commit(std::vector<PendingSends>& sends, std::vector<PendingDelete>& deletes) {
  std::vector<store::EnqueueRequest> requests;
  for (const PendingSends& group : sends)
    requests.insert(requests.end(), group.sends.begin(), group.sends.end());
  std::vector<store::QueuedCopy> messages;
  messages.reserve(deletes.size());
  for (const PendingDelete& pending : deletes) messages.push_back(pending.message);

  const auto started = std::chrono::steady_clock::now();
  auto committed = store_.CommitQueueBatch(requests, messages);
  commit_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  commits_.Increment();
  if (!requests.empty()) commit_sends_.Observe(double(requests.size()));
  // The completions' answers and pushes reach the event loop in one post.
  SendBatch frames;
  if (!committed) {
    // Nothing of the batch was done: every send and ack gets the store's error.
    store::MessageQueueStore::QueueBatchResult failed;
    failed.sends.assign(requests.size(), tl::unexpected(committed.error()));
    std::size_t offset = 0;
    for (PendingSends& group : sends) {
      group.done(std::span(failed.sends.data() + offset, group.sends.size()));
      offset += group.sends.size();
    }
    for (PendingDelete& pending : deletes) pending.done(tl::unexpected(committed.error()));
    return;
  }
  std::size_t offset = 0;
  for (PendingSends& group : sends) {
    group.done(std::span(committed->sends.data() + offset, group.sends.size()));
    offset += group.sends.size();
  }
  for (std::size_t i = 0; i < deletes.size(); ++i) deletes[i].done(bool(committed->deleted[i]));
}

}  // namespace parley::server
