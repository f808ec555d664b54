#include "store/device_registration_cache.h"

namespace parley::store {

std::optional<std::vector<DeviceRegistration>> DeviceRegistrationCache::Find(const AccountId& account,
                                                                             std::uint64_t& generation) {
  std::lock_guard lock(mutex_);
  generation = generation_;
  const auto it = entries_.find(account);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void DeviceRegistrationCache::Insert(const AccountId& account, const std::vector<DeviceRegistration>& devices,
                                     std::uint64_t generation) {
  std::lock_guard lock(mutex_);
  // A change committed while the list was read may not be in it.
  if (generation != generation_) return;
  if (entries_.size() >= max_accounts_ && !entries_.contains(account)) entries_.clear();
  entries_.insert_or_assign(account, devices);
}

void DeviceRegistrationCache::Invalidate(const AccountId& account) {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.erase(account);
}

std::size_t DeviceRegistrationCache::size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace parley::store
