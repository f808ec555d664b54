#include "server/disabled_account_check.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>
#include <vector>

namespace parley::server {

DisabledAccountCheck::DisabledAccountCheck(RequestFrameHandler& handler, store::AccountStore& accounts,
                                           MetricsRegistry& metrics, std::chrono::milliseconds interval,
                                           std::function<void()> account_deleted)
    : handler_(handler),
      accounts_(accounts),
      account_deleted_(std::move(account_deleted)),
      checks_(metrics.AddCounter("parley_disabled_account_checks_total",
                                 "Checks of the connected accounts for disabled ones")),
      failures_(metrics.AddCounter("parley_disabled_account_check_failures_total",
                                   "Store queries of the checks of the connected accounts that failed")),
      closes_(metrics.AddCounter("parley_disabled_account_closes_total",
                                 "Connections closed because their account was disabled")),
      deleted_closes_(metrics.AddCounter("parley_deleted_account_closes_total",
                                         "Connections closed because their account was deleted")),
      thread_(interval, [this] { CheckNow(); }) {}

DisabledAccountCheck::~DisabledAccountCheck() { Stop(); }

std::size_t DisabledAccountCheck::CheckNow() {
  checks_.Increment();
  std::size_t total = 0;
  if (auto closed = handler_.CloseDisabledAccounts(); closed) {
    closes_.Increment(*closed);
    total += *closed;
  } else {
    failures_.Increment();
    spdlog::warn("event=disabled_account_check_failed error={}", store::ToString(closed.error().code));
  }
  if (auto closed = CloseDeletedAccounts(); closed) {
    deleted_closes_.Increment(*closed);
    total += *closed;
    if (*closed != 0 && account_deleted_) account_deleted_();
  } else {
    failures_.Increment();
    spdlog::warn("event=deleted_account_check_failed error={}", store::ToString(closed.error().code));
  }
  return total;
}

store::StoreResult<std::size_t> DisabledAccountCheck::CloseDeletedAccounts() {
  const DeviceConnections& connections = handler_.device_connections();
  const std::vector<DeviceKey> keys = connections.Keys();
  auto found = SelectAccountsOf(keys, store::kMaxPageSize, [&](std::span<const AccountId> ids) {
    return accounts_.FindMissingAccounts(ids);
  });
  if (!found) return tl::unexpected(found.error());
  const std::vector<AccountId>& missing = *found;
  std::size_t closed = 0;
  for (const DeviceKey& key : keys) {
    if (!std::binary_search(missing.begin(), missing.end(), key.account)) continue;
    std::optional<ConnectionHandle> connection = connections.Find(key);
    if (!connection) continue;
    connection->Close(CloseCode::kPolicyViolation, "account deleted");
    ++closed;
  }
  if (closed != 0) spdlog::info("event=deleted_account_connections_closed connections={}", closed);
  return closed;
}

}  // namespace parley::server
