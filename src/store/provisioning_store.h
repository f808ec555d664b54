// ProvisioningStore: one-time codes that link a new device to an account.
#pragma once

#include <cstdint>

#include "store/error.h"
#include "store/records.h"

namespace parley::store {

class ProvisioningStore {
 public:
  virtual ~ProvisioningStore() = default;

  // Stores a code (as its hash) that lets one device join `account` until
  // `expires_ms`. kConflict: the hash exists. kNotFound: no such account.
  virtual StoreStatus CreateProvisioningCode(const TokenHash& code_hash, const AccountId& account,
                                             std::int64_t expires_ms) = 0;

  // Consumes the code and returns its account; of concurrent calls exactly one
  // succeeds. kNotFound: no such code. kAlreadyUsed: consumed before.
  // kExpired: the clock is at or past its expiry.
  virtual StoreResult<AccountId> ConsumeProvisioningCode(const TokenHash& code_hash) = 0;

  // Consumes the code and adds `device` to its account in one transaction, so
  // a code is used up only by a device that was added. Errors as
  // ConsumeProvisioningCode and DeviceStore::AddDevice (on kLimitExceeded the
  // code stays unused).
  virtual StoreResult<DeviceRecord> LinkDevice(const TokenHash& code_hash, const NewDevice& device) = 0;

  // Deletes codes that are used or expired by the clock; returns how many.
  virtual StoreResult<std::uint64_t> PurgeProvisioningCodes() = 0;
};

}  // namespace parley::store
