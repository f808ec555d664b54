// DeviceConnections: the online devices, so a message queued for a device
// can be pushed to its open connection at once.
//
// The handlers bind a connection after it authenticated as (account,
// device) and unbind it on close. Thread-safe. Holds ConnectionHandles,
// which are weak: a binding never keeps a connection alive.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/strong_id.h"
#include "base/uuid.h"
#include "server/connection.h"

namespace parley::server {

struct DeviceKey {
  AccountId account;
  DeviceId device;
  friend bool operator==(const DeviceKey&, const DeviceKey&) = default;
};

struct DeviceKeyHash {
  std::size_t operator()(const DeviceKey& key) const noexcept {
    return std::hash<Uuid>{}(key.account.value()) * 31 + key.device.value();
  }
};

class DeviceConnections {
 public:
  // Binds `key` to `connection`. Returns the connection bound before, if it
  // is a different one (a device connected twice: the caller closes the old
  // connection).
  std::optional<ConnectionHandle> Bind(const DeviceKey& key, const ConnectionHandle& connection);
  // Removes the binding of `key` if it is still `connection_id`, so a
  // closing old connection does not unbind its replacement. True if removed.
  bool Unbind(const DeviceKey& key, std::uint64_t connection_id);
  // The connection bound to `key`, if any.
  std::optional<ConnectionHandle> Find(const DeviceKey& key) const;
  // Every bound (account, device), in no particular order.
  std::vector<DeviceKey> Keys() const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<DeviceKey, ConnectionHandle, DeviceKeyHash> bound_;
};

// The distinct accounts of `keys` that `select` picks, sorted. `select`
// (a store call) is asked `page` ids at a time and returns the picked ones,
// or an error, which ends the walk and is returned.
template <class Select>
auto SelectAccountsOf(const std::vector<DeviceKey>& keys, std::size_t page, Select&& select)
    -> decltype(select(std::span<const AccountId>{})) {
  std::vector<AccountId> accounts;
  accounts.reserve(keys.size());
  for (const DeviceKey& key : keys) accounts.push_back(key.account);
  std::sort(accounts.begin(), accounts.end());
  accounts.erase(std::unique(accounts.begin(), accounts.end()), accounts.end());
  std::vector<AccountId> picked;
  for (std::size_t at = 0; at < accounts.size(); at += page) {
    const std::size_t count = std::min(page, accounts.size() - at);
    auto found = select(std::span<const AccountId>(accounts).subspan(at, count));
    if (!found) return found;
    picked.insert(picked.end(), found->begin(), found->end());
  }
  std::sort(picked.begin(), picked.end());
  return picked;
}

}  // namespace parley::server
