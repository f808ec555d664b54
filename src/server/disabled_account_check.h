// DisabledAccountCheck: closes the connections of accounts disabled while
// they are connected.
//
// `parleyd admin disable-account` is another process that only writes the
// store; the running server learns of it here: every `interval` it asks the
// store which connected accounts are disabled
// (RequestFrameHandler::CloseDisabledAccounts) and closes their connections
// with 1008. So a disabled account keeps a live connection for at most one
// interval (plus the query); new authentications are refused at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/metrics.h"
#include "server/request_frame_handler.h"

namespace parley::server {

class DisabledAccountCheck {
 public:
  static constexpr std::chrono::milliseconds kDefaultInterval{10'000};

  // `handler` must outlive the check (Stop() before the handler stops).
  // Adds parley_disabled_account_checks_total,
  // parley_disabled_account_check_failures_total and
  // parley_disabled_account_closes_total to `metrics`.
  DisabledAccountCheck(RequestFrameHandler& handler, MetricsRegistry& metrics,
                       std::chrono::milliseconds interval = kDefaultInterval);
  // Stop(), if not done yet.
  ~DisabledAccountCheck();
  DisabledAccountCheck(const DisabledAccountCheck&) = delete;
  DisabledAccountCheck& operator=(const DisabledAccountCheck&) = delete;

  // One check now; returns the connections closed (0 when the store failed:
  // logged and counted, the next check tries again).
  std::size_t CheckNow();

  // Checks every interval on a thread of its own.
  void Start();
  // Stops that thread. Idempotent.
  void Stop();

 private:
  void Loop();

  RequestFrameHandler& handler_;
  std::chrono::milliseconds interval_;
  Counter& checks_;
  Counter& failures_;
  Counter& closes_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace parley::server
