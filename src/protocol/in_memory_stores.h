// In-memory implementations of the protocol stores, for tests, fuzzers,
// benchmarks and the interop peer. Not thread-safe.
#pragma once

#include <string>
#include <unordered_map>

#include "protocol/identity_key_store.h"
#include "protocol/prekey_store.h"
#include "protocol/session_store.h"

namespace parley::protocol {

// Trusts per account name (all devices of a name share one identity), as
// the interop contract's `trust` operation does.
class InMemoryIdentityKeyStore final : public IdentityKeyStore {
 public:
  InMemoryIdentityKeyStore(crypto::KeyPair identity, RegistrationId registration_id)
      : identity_(std::move(identity)), registration_id_(registration_id) {}

  const crypto::KeyPair& GetIdentityKeyPair() const override { return identity_; }
  RegistrationId GetLocalRegistrationId() const override { return registration_id_; }
  std::optional<crypto::PublicKey> GetIdentity(const ProtocolAddress& address) const override;
  bool IsTrustedIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) const override;
  ProtocolStatus SaveIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) override;
  ProtocolStatus ReplaceIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) override;

 private:
  crypto::KeyPair identity_;
  RegistrationId registration_id_;
  std::unordered_map<std::string, crypto::PublicKey> trusted_;
};

class InMemoryPreKeyStore final : public PreKeyStore {
 public:
  ProtocolResult<PreKeyRecord> LoadPreKey(PreKeyId id) const override;
  ProtocolStatus StorePreKey(PreKeyRecord record) override;
  bool ContainsPreKey(PreKeyId id) const override { return keys_.count(id) != 0; }
  ProtocolStatus RemovePreKey(PreKeyId id) override;
  std::size_t size() const { return keys_.size(); }

 private:
  std::unordered_map<PreKeyId, PreKeyRecord> keys_;
};

class InMemorySignedPreKeyStore final : public SignedPreKeyStore {
 public:
  ProtocolResult<SignedPreKeyRecord> LoadSignedPreKey(SignedPreKeyId id) const override;
  ProtocolStatus StoreSignedPreKey(SignedPreKeyRecord record) override;
  bool ContainsSignedPreKey(SignedPreKeyId id) const override { return keys_.count(id) != 0; }
  ProtocolStatus RemoveSignedPreKey(SignedPreKeyId id) override;

 private:
  std::unordered_map<SignedPreKeyId, SignedPreKeyRecord> keys_;
};

// Keeps records as objects; SessionUpdated has nothing to write.
class InMemorySessionStore final : public SessionStore {
 public:
  SessionRecord* LoadSession(const ProtocolAddress& address) override;
  ProtocolStatus StoreSession(const ProtocolAddress& address, SessionRecord record) override;
  ProtocolStatus SessionUpdated(const ProtocolAddress& address) override;
  ProtocolStatus DeleteSession(const ProtocolAddress& address) override;
  std::size_t size() const { return sessions_.size(); }

 private:
  std::unordered_map<ProtocolAddress, SessionRecord> sessions_;
};

}  // namespace parley::protocol
