// ExpiryPurge: deletes what has outlived its expiry, on a timer in parleyd:
// queued messages (and their idempotence records) older than
// messages.expiry_days, expired attachments (through the AttachmentService's
// rules) and used or expired provisioning codes; and what deleted accounts
// left behind (ServerStore::PurgeDeletedAccounts), also soon after each
// deletion when told of it (NotifyAccountDeleted).
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
  // Idempotence records of deleted accounts (PurgeDeletedAccounts, and the
  // expired ones the message purge met first).
  std::uint64_t deleted_account_records = 0;
  // PurgeDeletedAccounts stopped before nothing was left (kMaxBatches
  // steps, Stop(), or a failure); the timer thread goes on with it.
  bool deleted_accounts_left = false;
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

  // One purge now, on the calling thread: PurgeDeletedAccounts, then the
  // expiry. Each kind is deleted in bounded batches, at most kMaxBatches of
  // them per purge (the next one continues).
  PurgeReport RunOnce();

  // Only what deleted accounts left behind, now, on the calling thread: up
  // to kMaxBatches steps of kDeletedAccountRows records each, one
  // transaction per step (fewer once Stop() was called).
  PurgeReport PurgeDeletedAccounts();

  // Runs RunOnce every interval on a thread of its own, and
  // PurgeDeletedAccounts once at the start and after each notice (again
  // and again while it leaves something, unless it failed).
  void Start();
  // Stops that thread (waits for a purge in progress, or for the step in
  // progress of a walk over deleted accounts' records). Idempotent.
  void Stop();

  // An account was deleted: the timer thread runs PurgeDeletedAccounts now
  // instead of at the next interval. Never waits for the store; callable
  // from any thread, before Start and after Stop (then it does nothing).
  void NotifyAccountDeleted();

  // Purges completed by the timer thread.
  std::uint64_t completed_runs() const;
  // PurgeDeletedAccounts runs the timer thread completed for a notification.
  std::uint64_t completed_deleted_account_runs() const;

  static constexpr std::size_t kBatchRows = 1'000;
  static constexpr std::size_t kMaxBatches = 1'000;
  // Idempotence records one PurgeDeletedAccounts step looks at: about 1–3 ms
  // of the SQLite write lock (docs/benchmarks.md, "Account deletion").
  static constexpr std::size_t kDeletedAccountRows = 10'000;

 private:
  void Loop();
  void PurgeDeletedAccountsInto(PurgeReport& report);

  store::ServerStore& store_;
  const Clock& clock_;
  AttachmentService* attachments_;
  ExpiryPurgeOptions options_;
  Counter& runs_;
  Counter& messages_purged_;
  Counter& provisioning_codes_purged_;
  Counter& deleted_account_records_purged_;
  Counter& failures_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool account_deleted_ = false;
  std::uint64_t completed_runs_ = 0;
  std::uint64_t completed_deleted_account_runs_ = 0;
  std::thread thread_;
};

}  // namespace parley::server
