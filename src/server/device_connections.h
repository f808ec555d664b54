// DeviceConnections: the online devices, so a message queued for a device
// can be pushed to its open connection at once.
//
// The handlers bind a connection after it authenticated as (account,
// device) and unbind it on close. Thread-safe. Holds ConnectionHandles,
// which are weak: a binding never keeps a connection alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
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

}  // namespace parley::server
