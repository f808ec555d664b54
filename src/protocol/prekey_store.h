// PreKeyStore and SignedPreKeyStore: this device's prekeys, private halves included.
#pragma once

#include "base/strong_id.h"
#include "protocol/error.h"
#include "protocol/prekey.h"

namespace parley::protocol {

class PreKeyStore {
 public:
  virtual ~PreKeyStore() = default;
  // The prekey with this id; kInvalidKeyId if there is none.
  virtual ProtocolResult<PreKeyRecord> LoadPreKey(PreKeyId id) const = 0;
  virtual ProtocolStatus StorePreKey(PreKeyRecord record) = 0;
  virtual bool ContainsPreKey(PreKeyId id) const = 0;
  // Removes the prekey (no error if absent). Callers never remove kLastResortPreKeyId.
  virtual ProtocolStatus RemovePreKey(PreKeyId id) = 0;
};

class SignedPreKeyStore {
 public:
  virtual ~SignedPreKeyStore() = default;
  // The signed prekey with this id; kInvalidKeyId if there is none.
  virtual ProtocolResult<SignedPreKeyRecord> LoadSignedPreKey(SignedPreKeyId id) const = 0;
  virtual ProtocolStatus StoreSignedPreKey(SignedPreKeyRecord record) = 0;
  virtual bool ContainsSignedPreKey(SignedPreKeyId id) const = 0;
  virtual ProtocolStatus RemoveSignedPreKey(SignedPreKeyId id) = 0;
};

}  // namespace parley::protocol
