#include "server/expiry_purge.h"

#include <spdlog/spdlog.h>

namespace parley::server {

ExpiryPurgeOptions ExpiryPurgeOptionsFrom(const ServerConfig& config) {
  ExpiryPurgeOptions options;
  options.message_expiry_ms = std::int64_t{config.messages.expiry_days} * 24 * 3600 * 1000;
  options.interval = std::chrono::seconds(config.purge_interval_seconds);
  return options;
}

ExpiryPurge::ExpiryPurge(store::ServerStore& store, const Clock& clock, MetricsRegistry& metrics,
                         AttachmentService* attachments, ExpiryPurgeOptions options)
    : store_(store),
      clock_(clock),
      attachments_(attachments),
      options_(options),
      runs_(metrics.AddCounter("parley_purge_runs_total", "Expiry purges run")),
      messages_purged_(
          metrics.AddCounter("parley_messages_expired_total", "Queued messages deleted by the expiry purge")),
      provisioning_codes_purged_(metrics.AddCounter("parley_provisioning_codes_purged_total",
                                                    "Used or expired link codes deleted by the purge")),
      deleted_account_records_purged_(
          metrics.AddCounter("parley_deleted_account_records_purged_total",
                             "Idempotence records of deleted accounts removed by the purge")),
      failures_(metrics.AddCounter("parley_purge_failures_total", "Expiry purge store calls that failed")) {}

ExpiryPurge::~ExpiryPurge() { Stop(); }

void ExpiryPurge::PurgeDeletedAccountsInto(PurgeReport& report) {
  report.deleted_accounts_left = true;
  for (std::size_t step = 0; step < kMaxBatches; ++step) {
    auto purged = store_.PurgeDeletedAccounts(kDeletedAccountRows);
    if (!purged) {
      ++report.failures;
      spdlog::error("event=purge_failed kind=deleted_accounts error={}",
                    store::ToString(purged.error().code));
      return;
    }
    report.deleted_account_records += purged->send_records;
    if (purged->done) {
      report.deleted_accounts_left = false;
      return;
    }
    // Each step is a transaction of its own; the sends waiting for the write
    // lock get a chance at it between two. A walk goes on where it stopped,
    // so Stop() need not wait for the rest of it.
    std::this_thread::yield();
    std::lock_guard lock(mutex_);
    if (stopping_) return;
  }
}

PurgeReport ExpiryPurge::PurgeDeletedAccounts() {
  PurgeReport report;
  PurgeDeletedAccountsInto(report);
  deleted_account_records_purged_.Increment(report.deleted_account_records);
  failures_.Increment(report.failures);
  if (report.deleted_account_records > 0) {
    spdlog::info("event=purged deleted_account_records={}", report.deleted_account_records);
  }
  return report;
}

PurgeReport ExpiryPurge::RunOnce() {
  PurgeReport report;
  PurgeDeletedAccountsInto(report);
  const std::int64_t cutoff = clock_.NowMillis() - options_.message_expiry_ms;
  for (std::size_t batch = 0; batch < kMaxBatches; ++batch) {
    auto purged = store_.PurgeExpiredMessages(cutoff, kBatchRows);
    if (!purged) {
      ++report.failures;
      spdlog::error("event=purge_failed kind=messages error={}", store::ToString(purged.error().code));
      break;
    }
    report.messages += purged->messages;
    report.send_records += purged->send_records;
    report.deleted_account_records += purged->deleted_account_records;
    if (purged->messages == 0 && purged->send_records == 0 && purged->deleted_account_records == 0) break;
  }
  if (attachments_ != nullptr) {
    auto purged = attachments_->PurgeExpired();
    if (purged) {
      report.attachments = *purged;
    } else {
      ++report.failures;
      spdlog::error("event=purge_failed kind=attachments error={}", store::ToString(purged.error().code));
    }
  }
  auto codes = store_.PurgeProvisioningCodes();
  if (codes) {
    report.provisioning_codes = *codes;
  } else {
    ++report.failures;
    spdlog::error("event=purge_failed kind=provisioning_codes error={}", store::ToString(codes.error().code));
  }
  runs_.Increment();
  messages_purged_.Increment(report.messages);
  provisioning_codes_purged_.Increment(report.provisioning_codes);
  deleted_account_records_purged_.Increment(report.deleted_account_records);
  failures_.Increment(report.failures);
  if (report.messages + report.send_records + report.attachments + report.provisioning_codes +
          report.deleted_account_records >
      0) {
    spdlog::info(
        "event=purged messages={} send_records={} attachments={} provisioning_codes={} "
        "deleted_account_records={}",
        report.messages, report.send_records, report.attachments, report.provisioning_codes,
        report.deleted_account_records);
  }
  return report;
}

void ExpiryPurge::NotifyAccountDeleted() {
  {
    std::lock_guard lock(mutex_);
    account_deleted_ = true;
  }
  wake_.notify_all();
}

void ExpiryPurge::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  // What deleted accounts left before a restart goes at once, not an
  // interval later.
  account_deleted_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void ExpiryPurge::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t ExpiryPurge::completed_runs() const {
  std::lock_guard lock(mutex_);
  return completed_runs_;
}

std::uint64_t ExpiryPurge::completed_deleted_account_runs() const {
  std::lock_guard lock(mutex_);
  return completed_deleted_account_runs_;
}

void ExpiryPurge::Loop() {
  std::unique_lock lock(mutex_);
  auto next_run = std::chrono::steady_clock::now() + options_.interval;
  while (!stopping_) {
    wake_.wait_until(lock, next_run, [this] { return stopping_ || account_deleted_; });
    if (stopping_) break;
    // A notification that arrives during the run below starts another one
    // after it (a deletion it came too late for).
    account_deleted_ = false;
    const bool full_run = std::chrono::steady_clock::now() >= next_run;
    lock.unlock();
    const PurgeReport report = full_run ? RunOnce() : PurgeDeletedAccounts();
    lock.lock();
    // A walk longer than one run's steps goes on at once (a failing store
    // waits for the next notice or interval instead).
    if (report.deleted_accounts_left && report.failures == 0) account_deleted_ = true;
    if (full_run) {
      ++completed_runs_;
      next_run = std::chrono::steady_clock::now() + options_.interval;
    } else {
      ++completed_deleted_account_runs_;
    }
  }
}

}  // namespace parley::server
