#include "server/device_connections.h"

namespace parley::server {

std::optional<ConnectionHandle> DeviceConnections::Bind(const DeviceKey& key,
                                                        const ConnectionHandle& connection) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = bound_.try_emplace(key, connection);
  if (inserted) return std::nullopt;
  ConnectionHandle previous = it->second;
  it->second = connection;
  if (previous.id() == connection.id()) return std::nullopt;
  return previous;
}

bool DeviceConnections::Unbind(const DeviceKey& key, std::uint64_t connection_id) {
  std::lock_guard lock(mutex_);
  auto it = bound_.find(key);
  if (it == bound_.end() || it->second.id() != connection_id) return false;
  bound_.erase(it);
  return true;
}

std::optional<ConnectionHandle> DeviceConnections::Find(const DeviceKey& key) const {
  std::lock_guard lock(mutex_);
  auto it = bound_.find(key);
  if (it == bound_.end()) return std::nullopt;
  return it->second;
}

std::vector<DeviceKey> DeviceConnections::Keys() const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceKey> keys;
  keys.reserve(bound_.size());
  for (const auto& [key, connection] : bound_) keys.push_back(key);
  return keys;
}

std::size_t DeviceConnections::size() const {
  std::lock_guard lock(mutex_);
  return bound_.size();
}

}  // namespace parley::server
