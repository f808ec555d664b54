// ExpiryPurge: deletes what has outlived its expiry, on a timer in parleyd:
// queued messages (and their idempotence records) older than
// messages.expiry_days, expired attachments (through the AttachmentService's
// rules) and used or expired provisioning codes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "server/attachment_routes.h"
#include "server/config.h"
#include "server/metrics.h"
#include "store/server_store.h"

namespace parley::server {

struct ExpiryPurgeOptions {
  // Queued messages older than this are deleted.
  std::int64_t message_expiry_ms = std::int64_t{30} * 24 * 3600 * 1000;
  // Time between two purges (the first runs one interval after Start()).
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
};

ExpiryPurgeOptions ExpiryPurgeOptionsFrom(const ServerConfig& config);

// What one purge deleted.
struct PurgeReport {
  std::uint64_t messages = 0;
  std::uint64_t send_records = 0;
  std::uint64_t attachments = 0;
  std::uint64_t provisioning_codes = 0;
  // Store calls that failed (logged); the next purge tries again.
  std::uint64_t failures = 0;
};

class ExpiryPurge {
 public:
  // `store`, `clock`, `metrics` and `attachments` (may be null: no
  // attachment purge) must outlive the purge.
  ExpiryPurge(store::ServerStore& store, const Clock& clock, MetricsRegistry& metrics,
              AttachmentService* attachments, ExpiryPurgeOptions options);
  // Stop(), if not done yet.
  ~ExpiryPurge();
  ExpiryPurge(const ExpiryPurge&) = delete;
  ExpiryPurge& operator=(const ExpiryPurge&) = delete;

  // One purge now, on the calling thread. Each kind is deleted in bounded
  // batches, at most kMaxBatches of them per purge (the next one continues).
  PurgeReport RunOnce();

  // Runs RunOnce every interval on a thread of its own.
  void Start();
  // Stops that thread (waits for a purge in progress). Idempotent.
  void Stop();

  // Purges completed by the timer thread.
  std::uint64_t completed_runs() const;

  static constexpr std::size_t kBatchRows = 1'000;
  static constexpr std::size_t kMaxBatches = 1'000;

 private:
  void Loop();

  store::ServerStore& store_;
  const Clock& clock_;
  AttachmentService* attachments_;
  ExpiryPurgeOptions options_;
  Counter& runs_;
  Counter& messages_purged_;
  Counter& provisioning_codes_purged_;
  Counter& failures_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t completed_runs_ = 0;
  std::thread thread_;
};

}  // namespace parley::server
