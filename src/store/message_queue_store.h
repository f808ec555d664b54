// MessageQueueStore: the durable, ordered, bounded queue of each device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "store/error.h"
#include "store/limits.h"
#include "store/records.h"

namespace parley::store {

class MessageQueueStore {
 public:
  virtual ~MessageQueueStore() = default;

  // Queues every envelope of one send in one transaction and returns where
  // each copy went. Each copy gets the next server id of its recipient's
  // queue (strictly increasing per queue, also across restarts); all copies
  // share one server timestamp from the clock. When the store returns, the
  // copies are durable (committed with the backend's durability settings).
  //
  // Idempotent on (sender, client_message_id): if that send was already queued
  // (and its record not yet purged), nothing is queued again and the result
  // has duplicate = true with the first enqueue's timestamp and copies, even
  // if the retry's envelopes differ.
  //
  // kQueueFull: a recipient queue holds StoreOptions::max_queue_depth messages
  // (nothing is queued). kNotFound: a recipient device does not exist (nothing
  // is queued). kInvalidArgument: no envelopes, more than
  // kMaxEnvelopesPerEnqueue, the same device twice, or content over
  // kMaxEnvelopeContentBytes.
  virtual StoreResult<EnqueueResult> Enqueue(const EnqueueRequest& request) = 0;

  // Group commit: queues several independent sends in ONE transaction (one
  // disk flush), each as if by Enqueue, in order. A send that fails with a
  // send-level error (kQueueFull, kNotFound, kInvalidArgument) leaves nothing
  // behind and does not affect the others; its slot in the returned vector
  // holds the error. A retry of a send earlier in the same batch is a
  // duplicate of it. The outer error (kUnavailable, kCorrupt, kInternal, or
  // kInvalidArgument for more than kMaxEnqueueBatch sends) means nothing of
  // the batch was queued.
  //
  // Each commit waits for the disk (SQLite synchronous=FULL: an fsync), so
  // one-send-per-transaction is bounded by the disk's flush rate; the server
  // collects the sends that arrive while a flush is in progress and commits
  // them together here.
  virtual StoreResult<std::vector<StoreResult<EnqueueResult>>> EnqueueBatch(
      std::span<const EnqueueRequest> requests) = 0;

  // Both group commits at once: EnqueueBatch(sends) then
  // DeleteMessages(deletes), in one transaction where the backend can (one
  // disk flush instead of two). Each part's results are as those calls
  // define them; the outer error means nothing of either was done. The
  // default runs the two calls one after the other (two transactions).
  struct QueueBatchResult {
    std::vector<StoreResult<EnqueueResult>> sends;
    std::vector<bool> deleted;
  };
  virtual StoreResult<QueueBatchResult> CommitQueueBatch(std::span<const EnqueueRequest> sends,
                                                         std::span<const QueuedCopy> deletes) {
    if (auto size = CheckQueueBatchSize(sends.size(), deletes.size()); !size)
      return tl::unexpected(size.error());
    QueueBatchResult result;
    if (!sends.empty()) {
      auto queued = EnqueueBatch(sends);
      if (!queued) return tl::unexpected(queued.error());
      result.sends = std::move(*queued);
    }
    if (!deletes.empty()) {
      auto deleted = DeleteMessages(deletes);
      if (!deleted) return tl::unexpected(deleted.error());
      result.deleted = std::move(*deleted);
    }
    return result;
  }

 protected:
  // CommitQueueBatch's outer refusal of a group over kMaxEnqueueBatch sends
  // or kMaxDeleteBatch deletes.
  static StoreStatus CheckQueueBatchSize(std::size_t sends, std::size_t deletes) {
    if (sends > kMaxEnqueueBatch) return Fail(StoreErrc::kInvalidArgument, "too many sends in one batch");
    if (deletes > kMaxDeleteBatch) return Fail(StoreErrc::kInvalidArgument, "too many messages in one batch");
    return Ok<StoreErrc>();
  }

 public:
  // Up to `max_count` envelopes of the device's queue with server_id >
  // `after_server_id`, in server-id order, bounded by kMaxFetchCount and
  // kMaxFetchBytes. An unknown device has an empty queue.
  virtual StoreResult<std::vector<StoredEnvelope>> FetchMessages(const DeviceAddress& device,
                                                                 std::uint64_t after_server_id,
                                                                 std::size_t max_count) = 0;

  // Deletes (acknowledges) one message of this device's own queue.
  // kNotFound: the device's queue has no message with this id (a message of
  // another device's queue is never touched).
  virtual StoreStatus DeleteMessage(const DeviceAddress& device, std::uint64_t server_id) = 0;

  // Group commit for acknowledgements: deletes many messages, of any queues,
  // in one transaction (one disk flush). Each entry deletes only from its own
  // queue (`recipient` is the acknowledging device). Returns, per entry,
  // whether that message was there. kInvalidArgument: more than
  // kMaxDeleteBatch entries (nothing is deleted).
  virtual StoreResult<std::vector<bool>> DeleteMessages(std::span<const QueuedCopy> messages) = 0;

  // Messages queued for the device. kNotFound: no such device.
  virtual StoreResult<std::uint64_t> QueueDepth(const DeviceAddress& device) = 0;

  // Totals over all device queues, from their counters: reads one narrow row
  // per device, never the messages. For /metrics (server/queue_depth_metrics.h).
  virtual StoreResult<QueueDepthSummary> SummarizeQueueDepths() = 0;

  // Deletes up to `max_rows` (capped at kMaxPurgeBatch) queued messages with a
  // server timestamp before `cutoff_ms`, and up to as many idempotence records
  // of sends before it. Call again until every count is zero. A retry of a
  // send whose record was purged is queued again, so the cutoff is the
  // idempotence window.
  virtual StoreResult<PurgeCounts> PurgeExpiredMessages(std::int64_t cutoff_ms, std::size_t max_rows) = 0;
};

}  // namespace parley::store
