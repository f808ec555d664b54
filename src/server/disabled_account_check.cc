#include "server/disabled_account_check.h"

#include <spdlog/spdlog.h>

namespace parley::server {

DisabledAccountCheck::DisabledAccountCheck(RequestFrameHandler& handler, MetricsRegistry& metrics,
                                           std::chrono::milliseconds interval)
    : handler_(handler),
      interval_(interval),
      checks_(metrics.AddCounter("parley_disabled_account_checks_total",
                                 "Checks of the connected accounts for disabled ones")),
      failures_(metrics.AddCounter("parley_disabled_account_check_failures_total",
                                   "Checks of the connected accounts that the store failed")),
      closes_(metrics.AddCounter("parley_disabled_account_closes_total",
                                 "Connections closed because their account was disabled")) {}

DisabledAccountCheck::~DisabledAccountCheck() { Stop(); }

std::size_t DisabledAccountCheck::CheckNow() {
  checks_.Increment();
  auto closed = handler_.CloseDisabledAccounts();
  if (!closed) {
    failures_.Increment();
    spdlog::warn("event=disabled_account_check_failed error={}", store::ToString(closed.error().code));
    return 0;
  }
  closes_.Increment(*closed);
  return *closed;
}

void DisabledAccountCheck::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void DisabledAccountCheck::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DisabledAccountCheck::Loop() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    CheckNow();
    lock.lock();
  }
}

}  // namespace parley::server
