// DisabledAccountCheck: closes the connections of accounts disabled or
// deleted while they are connected.
//
// `parleyd admin disable-account` and `parleyd admin delete-account` are
// another process that only writes the store; the running server learns of
// it here: every `interval` it asks the store which connected accounts are
// disabled (RequestFrameHandler::CloseDisabledAccounts) and which no longer
// exist (AccountStore::FindMissingAccounts), and closes their connections
// with 1008 "account disabled" or "account deleted". So such an account
// keeps a live connection for at most one interval (plus the queries); new
// authentications are refused at once.
#pragma once

#include <chrono>
#include <functional>

#include "server/metrics.h"
#include "server/periodic_thread.h"
#include "server/request_frame_handler.h"

namespace parley::server {

class DisabledAccountCheck {
 public:
  static constexpr std::chrono::milliseconds kDefaultInterval{10'000};

  // `handler` and `accounts` (the store the handler uses) must outlive the
  // check (Stop() before the handler stops). `account_deleted`, if set, is
  // called on the check's thread after it closed the connections of deleted
  // accounts (parleyd: ExpiryPurge::NotifyAccountDeleted, so what the store
  // left of them goes soon); it must not block. Adds
  // parley_disabled_account_checks_total,
  // parley_disabled_account_check_failures_total,
  // parley_disabled_account_closes_total and
  // parley_deleted_account_closes_total to `metrics`.
  DisabledAccountCheck(RequestFrameHandler& handler, store::AccountStore& accounts, MetricsRegistry& metrics,
                       std::chrono::milliseconds interval = kDefaultInterval,
                       std::function<void()> account_deleted = {});
  // Stop(), if not done yet.
  ~DisabledAccountCheck();
  DisabledAccountCheck(const DisabledAccountCheck&) = delete;
  DisabledAccountCheck& operator=(const DisabledAccountCheck&) = delete;

  // One check now; returns the connections closed, of disabled and deleted
  // accounts (a store failure is logged and counted, and closes nothing of
  // its kind: the next check tries again).
  std::size_t CheckNow();

  // Checks every interval on a thread of its own.
  void Start() { thread_.Start(); }
  // Stops that thread. Idempotent.
  void Stop() { thread_.Stop(); }

 private:
  // Closes the connections whose account the store no longer has, with
  // 1008 "account deleted". One store call per kMaxPageSize connected
  // accounts.
  store::StoreResult<std::size_t> CloseDeletedAccounts();

  RequestFrameHandler& handler_;
  store::AccountStore& accounts_;
  std::function<void()> account_deleted_;
  Counter& checks_;
  Counter& failures_;
  Counter& closes_;
  Counter& deleted_closes_;
  // Last: stopped before what the checks use goes.
  PeriodicThread thread_;
};

}  // namespace parley::server
