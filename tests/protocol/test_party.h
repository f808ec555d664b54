// A device with in-memory stores, for the protocol tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/rng.h"
#include "protocol/in_memory_stores.h"
#include "protocol/prekey.h"
#include "protocol/prekey_bundle.h"
#include "protocol/session_builder.h"
#include "protocol/session_cipher.h"

namespace parley::protocol::testing {

inline std::vector<std::uint8_t> ToBytes(std::string_view s) { return {s.begin(), s.end()}; }
inline std::string ToString(const SecretBuffer& b) { return {b.bytes().begin(), b.bytes().end()}; }

class TestParty {
 public:
  TestParty(std::string name, std::uint64_t seed)
      : name_(std::move(name)),
        rng_(seed),
        identities_(GenerateIdentityKeyPair(rng_), GenerateRegistrationId(rng_)) {}

  ProtocolAddress address() const { return ProtocolAddress{name_, DeviceId(1)}; }
  ProtocolStores stores() { return ProtocolStores{identities_, prekeys_, signed_prekeys_, sessions_}; }
  DeterministicRng& rng() { return rng_; }
  InMemoryIdentityKeyStore& identities() { return identities_; }
  InMemoryPreKeyStore& prekeys() { return prekeys_; }
  InMemorySignedPreKeyStore& signed_prekeys() { return signed_prekeys_; }
  InMemorySessionStore& sessions() { return sessions_; }
  const crypto::PublicKey& identity_key() const { return identities_.GetIdentityKeyPair().public_key; }

  // A bundle with signed prekey spk_id and, if prekey_id is non-zero, that one-time prekey
  // (created and stored when this device does not have them yet).
  PreKeyBundle MakeBundle(std::uint32_t prekey_id = 1, std::uint32_t spk_id = 1) {
    if (!signed_prekeys_.ContainsSignedPreKey(SignedPreKeyId(spk_id))) {
      auto spk = GenerateSignedPreKey(identities_.GetIdentityKeyPair(), SignedPreKeyId(spk_id), 1000, rng_);
      (void)signed_prekeys_.StoreSignedPreKey(*spk);
    }
    const SignedPreKeyRecord spk = *signed_prekeys_.LoadSignedPreKey(SignedPreKeyId(spk_id));
    PreKeyBundle b;
    b.registration_id = identities_.GetLocalRegistrationId();
    b.device_id = DeviceId(1);
    b.identity_key = identity_key();
    b.signed_prekey_id = spk.id;
    b.signed_prekey = spk.key_pair.public_key;
    b.signed_prekey_signature = spk.signature;
    if (prekey_id != 0) {
      if (!prekeys_.ContainsPreKey(PreKeyId(prekey_id))) {
        (void)prekeys_.StorePreKey(PreKeyRecord{PreKeyId(prekey_id), crypto::KeyPair::Generate(rng_)});
      }
      b.prekey_id = PreKeyId(prekey_id);
      b.prekey = prekeys_.LoadPreKey(PreKeyId(prekey_id))->key_pair.public_key;
    }
    return b;
  }

  ProtocolStatus StartSession(TestParty& peer, std::uint32_t prekey_id = 1) {
    SessionBuilder builder(stores(), peer.address());
    return builder.ProcessPreKeyBundle(peer.MakeBundle(prekey_id), rng_);
  }

  ProtocolResult<CiphertextMessage> Encrypt(const TestParty& peer, std::string_view text) {
    SessionCipher cipher(stores(), peer.address(), rng_);
    return cipher.Encrypt(ToBytes(text));
  }

  ProtocolResult<SecretBuffer> Decrypt(const TestParty& peer, const CiphertextMessage& m) {
    SessionCipher cipher(stores(), peer.address(), rng_);
    return cipher.Decrypt(m.type, m.bytes);
  }

  SessionRecord* Session(const TestParty& peer) { return sessions_.LoadSession(peer.address()); }

  // The stored record's bytes, or empty when there is none.
  std::vector<std::uint8_t> SessionBytes(const TestParty& peer) {
    const SessionRecord* r = Session(peer);
    return r == nullptr ? std::vector<std::uint8_t>{} : r->Serialize();
  }

 private:
  std::string name_;
  DeterministicRng rng_;
  InMemoryIdentityKeyStore identities_;
  InMemoryPreKeyStore prekeys_;
  InMemorySignedPreKeyStore signed_prekeys_;
  InMemorySessionStore sessions_;
};

}  // namespace parley::protocol::testing
