// DeviceRegistrationCache: the device lists (device id, registration id) of
// accounts recently sent to, for the device check of every send.
//
// Only for a store that makes every change to its devices itself (the SQLite
// file of one parleyd): each change calls Invalidate once it is committed. A
// list read from the store is kept only if no change was invalidated while it
// was being read, so an entry is never older than the last commit that
// changed its account's devices. Bounded: when full, it starts over empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/uuid.h"
#include "store/records.h"

namespace parley::store {

class DeviceRegistrationCache {
 public:
  explicit DeviceRegistrationCache(std::size_t max_accounts) : max_accounts_(max_accounts) {}

  // The account's cached list, if any. `generation` receives what Insert
  // needs for a list read from the store after this call.
  std::optional<std::vector<DeviceRegistration>> Find(const AccountId& account, std::uint64_t& generation);
  // Keeps a list read after Find gave `generation`, unless Invalidate ran since.
  void Insert(const AccountId& account, const std::vector<DeviceRegistration>& devices,
              std::uint64_t generation);
  // After a change to the account's devices (or the account) is committed.
  void Invalidate(const AccountId& account);

  std::size_t size();

 private:
  std::mutex mutex_;
  std::uint64_t generation_ = 0;
  const std::size_t max_accounts_;
  std::unordered_map<AccountId, std::vector<DeviceRegistration>> entries_;
};

}  // namespace parley::store
