// KeyStore: the public keys of each device, and prekey bundles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "store/error.h"
#include "store/records.h"

namespace parley::store {

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Sets the device's identity key. When it replaces a different key, the
  // device's signed prekey and one-time prekeys are deleted with it: they were
  // signed by, and belong to, the old identity. kNotFound: no such device.
  virtual StoreStatus SetIdentityKey(const DeviceAddress& device, const PublicKeyBytes& key) = 0;

  // kNotFound: no such device, or it has no identity key yet.
  virtual StoreResult<PublicKeyBytes> GetIdentityKey(const DeviceAddress& device) = 0;

  // Replaces the device's signed prekey. The store does not verify the
  // signature (the server does, before calling). kNotFound: no such device.
  virtual StoreStatus SetSignedPreKey(const DeviceAddress& device, const SignedPreKeyRecord& key) = 0;

  // Adds one-time prekeys in one transaction and returns how many were new.
  // A key whose id the device already has (or that repeats an id earlier in
  // the batch) is ignored: the stored key is kept, so a retried upload is
  // harmless. kLimitExceeded: the device would hold more than
  // kMaxOneTimePreKeysPerDevice (nothing is added). kNotFound: no such device.
  virtual StoreResult<std::size_t> AddOneTimePreKeys(const DeviceAddress& device,
                                                     std::span<const OneTimePreKeyRecord> keys) = 0;

  // kNotFound: no such device.
  virtual StoreResult<std::uint64_t> CountOneTimePreKeys(const DeviceAddress& device) = 0;

  // Takes the device's bundle: removes and returns its one-time prekey with
  // the lowest id (if any) together with its identity key and signed prekey.
  // Concurrent calls never return the same one-time prekey. kNotFound: no such
  // device, or it has no identity key or no signed prekey yet.
  virtual StoreResult<PreKeyBundleRecord> TakePreKeyBundle(const DeviceAddress& device) = 0;
};

}  // namespace parley::store
