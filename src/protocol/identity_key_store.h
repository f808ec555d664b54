// IdentityKeyStore: this device's identity and the identities it trusts.
#pragma once

#include <optional>

#include "base/strong_id.h"
#include "crypto/x25519.h"
#include "protocol/address.h"
#include "protocol/error.h"

namespace parley::protocol {

// Trust on first use: the first identity key seen for a peer is saved; a
// different one later is refused (kUntrustedIdentity) until the user
// re-trusts it with ReplaceIdentity.
class IdentityKeyStore {
 public:
  virtual ~IdentityKeyStore() = default;

  // This device's identity key pair and registration id.
  virtual const crypto::KeyPair& GetIdentityKeyPair() const = 0;
  virtual RegistrationId GetLocalRegistrationId() const = 0;

  // The identity key saved for address, if any.
  virtual std::optional<crypto::PublicKey> GetIdentity(const ProtocolAddress& address) const = 0;
  // True when address has no saved identity yet or its saved identity is key.
  virtual bool IsTrustedIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) const = 0;
  // Saves key for address on first use; kUntrustedIdentity if a different key
  // is already saved (it is left in place).
  virtual ProtocolStatus SaveIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) = 0;
  // Saves key for address, replacing any saved one (an explicit re-trust).
  virtual ProtocolStatus ReplaceIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) = 0;
};

}  // namespace parley::protocol
