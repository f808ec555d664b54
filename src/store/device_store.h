// DeviceStore: the devices of an account.
#pragma once

#include <vector>

#include "store/error.h"
#include "store/records.h"

namespace parley::store {

class DeviceStore {
 public:
  virtual ~DeviceStore() = default;

  // Adds a device with the lowest free id in 1..kMaxDevicesPerAccount (ids of
  // removed devices are reused; a re-added device is a new queue and has no
  // keys but `device.keys`). The check and the inserts are one transaction, so concurrent adds
  // never pass the limit. kLimitExceeded: the account has kMaxDevicesPerAccount
  // devices. kNotFound: no such account. kInvalidArgument: a field breaks a cap.
  virtual StoreResult<DeviceRecord> AddDevice(const AccountId& account, const NewDevice& device) = 0;

  // Removes the device with its keys and its queue. The store does not refuse
  // removing device 1; that policy is the server's. kNotFound: no such device.
  virtual StoreStatus RemoveDevice(const DeviceAddress& device) = 0;

  // kNotFound: no such device.
  virtual StoreResult<DeviceRecord> GetDevice(const DeviceAddress& device) = 0;

  // The account's devices ordered by id. kNotFound: no such account.
  virtual StoreResult<std::vector<DeviceRecord>> ListDevices(const AccountId& account) = 0;

  // The account's devices ordered by id, only their ids and registration
  // ids: the check of every send, which needs nothing else. kNotFound: no
  // such account. The default takes them from ListDevices.
  virtual StoreResult<std::vector<DeviceRegistration>> ListDeviceRegistrations(const AccountId& account) {
    auto devices = ListDevices(account);
    if (!devices) return tl::unexpected(devices.error());
    std::vector<DeviceRegistration> registrations;
    registrations.reserve(devices->size());
    for (const DeviceRecord& device : *devices)
      registrations.push_back({device.address.device, device.registration_id});
    return registrations;
  }

  // Sets the device's last_seen_ms to the clock's now. kNotFound: no such device.
  virtual StoreStatus TouchDevice(const DeviceAddress& device) = 0;
};

}  // namespace parley::store
