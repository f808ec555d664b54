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

QueueWriter::QueueWriter(store::MessageQueueStore& store, MetricsRegistry& registry)
    : store_(store),
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
    }
  }
  if (refused) {
    std::vector<store::StoreResult<store::EnqueueResult>> results(sends.size(), tl::unexpected(*refused));
    done(results);
    return;
  }
  Wake();
}

void QueueWriter::Delete(const store::QueuedCopy& message, DeleteDone done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      deletes_.push_back({message, std::move(done)});
      done = nullptr;
    }
  }
  if (done) {
    done(tl::unexpected(store::StoreError{store::StoreErrc::kUnavailable, "the server is stopping"}));
    return;
  }
  Wake();
}

void QueueWriter::Wake() {
  LoopTurn* turn = LoopTurn::Current();
  if (turn == nullptr) {
    wake_.notify_one();
    return;
  }
  // One posted wake per turn: later hand-ins of the turn find it pending.
  if (wake_deferred_.exchange(true, std::memory_order_acq_rel)) return;
  turn->Defer([this] {
    wake_deferred_.store(false, std::memory_order_release);
    wake_.notify_one();
  });
}

void QueueWriter::Run() {
  std::vector<PendingSends> sends;
  std::vector<PendingDelete> deletes;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
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
