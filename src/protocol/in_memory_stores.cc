#include "protocol/in_memory_stores.h"

namespace parley::protocol {

std::optional<crypto::PublicKey> InMemoryIdentityKeyStore::GetIdentity(const ProtocolAddress& address) const {
  const auto it = trusted_.find(address.name);
  if (it == trusted_.end()) return std::nullopt;
  return it->second;
}

bool InMemoryIdentityKeyStore::IsTrustedIdentity(const ProtocolAddress& address,
                                                 const crypto::PublicKey& key) const {
  const auto it = trusted_.find(address.name);
  return it == trusted_.end() || it->second == key;
}

ProtocolStatus InMemoryIdentityKeyStore::SaveIdentity(const ProtocolAddress& address,
                                                      const crypto::PublicKey& key) {
  const auto [it, inserted] = trusted_.emplace(address.name, key);
  if (!inserted && !(it->second == key)) {
    return Fail(ProtocolErrc::kUntrustedIdentity, "a different identity is trusted for this name");
  }
  return Ok<ProtocolErrc>();
}

ProtocolStatus InMemoryIdentityKeyStore::ReplaceIdentity(const ProtocolAddress& address,
                                                         const crypto::PublicKey& key) {
  trusted_[address.name] = key;
  return Ok<ProtocolErrc>();
}

ProtocolResult<PreKeyRecord> InMemoryPreKeyStore::LoadPreKey(PreKeyId id) const {
  const auto it = keys_.find(id);
  if (it == keys_.end()) return Fail(ProtocolErrc::kInvalidKeyId, "no prekey with this id");
  return it->second;
}

ProtocolStatus InMemoryPreKeyStore::StorePreKey(PreKeyRecord record) {
  const PreKeyId id = record.id;
  keys_.insert_or_assign(id, std::move(record));
  return Ok<ProtocolErrc>();
}

ProtocolStatus InMemoryPreKeyStore::RemovePreKey(PreKeyId id) {
  keys_.erase(id);
  return Ok<ProtocolErrc>();
}

ProtocolResult<SignedPreKeyRecord> InMemorySignedPreKeyStore::LoadSignedPreKey(SignedPreKeyId id) const {
  const auto it = keys_.find(id);
  if (it == keys_.end()) return Fail(ProtocolErrc::kInvalidKeyId, "no signed prekey with this id");
  return it->second;
}

ProtocolStatus InMemorySignedPreKeyStore::StoreSignedPreKey(SignedPreKeyRecord record) {
  const SignedPreKeyId id = record.id;
  keys_.insert_or_assign(id, std::move(record));
  return Ok<ProtocolErrc>();
}

ProtocolStatus InMemorySignedPreKeyStore::RemoveSignedPreKey(SignedPreKeyId id) {
  keys_.erase(id);
  return Ok<ProtocolErrc>();
}

SessionRecord* InMemorySessionStore::LoadSession(const ProtocolAddress& address) {
  const auto it = sessions_.find(address);
  return it == sessions_.end() ? nullptr : &it->second;
}

ProtocolStatus InMemorySessionStore::StoreSession(const ProtocolAddress& address, SessionRecord record) {
  sessions_.insert_or_assign(address, std::move(record));
  return Ok<ProtocolErrc>();
}

ProtocolStatus InMemorySessionStore::SessionUpdated(const ProtocolAddress& address) {
  if (sessions_.find(address) == sessions_.end())
    return Fail(ProtocolErrc::kNoSession, "no session to update");
  return Ok<ProtocolErrc>();
}

ProtocolStatus InMemorySessionStore::DeleteSession(const ProtocolAddress& address) {
  sessions_.erase(address);
  return Ok<ProtocolErrc>();
}

}  // namespace parley::protocol
