// Rows for Parley's protocol layer (src/protocol) and the crypto layer under
// it, driven through the public API with the in-memory stores and
// crypto::SystemRng (operating-system randomness, as RAND_bytes is for the
// libsignal and libolm rows). Each timed loop does what the libsignal row of
// the same name does: the same message size, the same steps, decryption from
// the serialized bytes the sender produced and a check of the plaintext.
#include <benchmark/benchmark.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/x25519.h"
#include "protocol/group_cipher.h"
#include "protocol/group_session_builder.h"
#include "protocol/in_memory_stores.h"
#include "protocol/prekey.h"
#include "protocol/prekey_bundle.h"
#include "protocol/sender_key_distribution_message.h"
#include "protocol/sender_key_store.h"
#include "protocol/session_builder.h"
#include "protocol/session_cipher.h"
#include "protocol_bench.h"

namespace parley::bench {
namespace {

using protocol::CiphertextType;
using protocol::ProtocolAddress;

// Parley's crypto layer is libsodium (curves, SHA-512) and OpenSSL (SHA-256,
// AES); the libsignal rows' crypto provider is OpenSSL too.
const bool kContextRecorded = [] {
  benchmark::AddCustomContext("parley libsodium", sodium_version_string());
  benchmark::AddCustomContext("openssl", OpenSSL_version(OPENSSL_VERSION_STRING));
  return true;
}();

constexpr SignedPreKeyId kSignedPreKeyId{1};

// One device's identity and stores.
struct Party {
  Party(std::string party_name, RegistrationId registration, Rng& rng)
      : name(std::move(party_name)), identities(protocol::GenerateIdentityKeyPair(rng), registration) {}

  protocol::ProtocolStores stores() { return {identities, prekeys, signed_prekeys, sessions}; }
  ProtocolAddress address() const { return {name, DeviceId(1)}; }

  std::string name;
  protocol::InMemoryIdentityKeyStore identities;
  protocol::InMemoryPreKeyStore prekeys;
  protocol::InMemorySignedPreKeyStore signed_prekeys;
  protocol::InMemorySessionStore sessions;
  protocol::InMemorySenderKeyStore sender_keys;
};

bool SamePlaintext(const SecretBuffer& plaintext, const std::vector<std::uint8_t>& expected) {
  return std::equal(plaintext.bytes().begin(), plaintext.bytes().end(), expected.begin(), expected.end());
}

// Encrypts and keeps the serialized message, as it would go on the wire.
bool EncryptTo(protocol::SessionCipher& cipher, const std::vector<std::uint8_t>& plaintext,
               protocol::CiphertextMessage& wire) {
  auto message = cipher.Encrypt(plaintext);
  if (!message) return false;
  wire = std::move(*message);
  return true;
}

bool Decrypt(protocol::SessionCipher& cipher, const protocol::CiphertextMessage& wire, CiphertextType type,
             const std::vector<std::uint8_t>& expected) {
  if (wire.type != type) return false;
  auto plaintext = type == CiphertextType::kPreKey ? cipher.DecryptPreKeySignalMessage(wire.bytes)
                                                   : cipher.DecryptSignalMessage(wire.bytes);
  return plaintext && SamePlaintext(*plaintext, expected);
}

// Makes a signed prekey for `party` once: it is long-lived, so no row's loop
// makes one (libsignal's session_setup row loads its signed prekey the same way).
bool AddSignedPreKey(Party& party, Rng& rng) {
  auto signed_prekey =
      protocol::GenerateSignedPreKey(party.identities.GetIdentityKeyPair(), kSignedPreKeyId, 0, rng);
  return signed_prekey && party.signed_prekeys.StoreSignedPreKey(std::move(*signed_prekey));
}

// The bundle a server would hand out for `party`: its identity, its signed
// prekey and the one-time prekey given.
bool MakeBundle(Party& party, const protocol::PreKeyRecord& prekey, protocol::PreKeyBundle& bundle) {
  auto signed_prekey = party.signed_prekeys.LoadSignedPreKey(kSignedPreKeyId);
  if (!signed_prekey) return false;
  bundle.registration_id = party.identities.GetLocalRegistrationId();
  bundle.device_id = party.address().device;
  bundle.identity_key = party.identities.GetIdentityKeyPair().public_key;
  bundle.signed_prekey_id = signed_prekey->id;
  bundle.signed_prekey = signed_prekey->key_pair.public_key;
  bundle.signed_prekey_signature = signed_prekey->signature;
  bundle.prekey_id = prekey.id;
  bundle.prekey = prekey.key_pair.public_key;
  return true;
}

// Alice starts from Bob's bundle and Bob answers, so that from here on both
// send plain SignalMessages.
bool Establish(Party& alice, Party& bob, Rng& rng) {
  const std::vector<std::uint8_t> message = BenchMessage();
  auto prekeys = protocol::GeneratePreKeys(PreKeyId(1), 1, rng);
  protocol::PreKeyBundle bundle;
  if (!AddSignedPreKey(bob, rng) || !prekeys || !bob.prekeys.StorePreKey(prekeys->front()) ||
      !MakeBundle(bob, prekeys->front(), bundle)) {
    return false;
  }
  protocol::SessionBuilder builder(alice.stores(), bob.address());
  protocol::SessionCipher alice_cipher(alice.stores(), bob.address(), rng);
  protocol::SessionCipher bob_cipher(bob.stores(), alice.address(), rng);
  protocol::CiphertextMessage wire;
  return builder.ProcessPreKeyBundle(bundle, rng) && EncryptTo(alice_cipher, message, wire) &&
         Decrypt(bob_cipher, wire, CiphertextType::kPreKey, message) &&
         EncryptTo(bob_cipher, message, wire) &&
         Decrypt(alice_cipher, wire, CiphertextType::kMessage, message);
}

void ChainMessage(benchmark::State& state) {
  crypto::SystemRng rng;
  Party alice("alice", RegistrationId(1), rng);
  Party bob("bob", RegistrationId(2), rng);
  if (!Establish(alice, bob, rng)) return state.SkipWithError("setup failed");
  protocol::SessionCipher alice_to_bob(alice.stores(), bob.address(), rng);
  protocol::SessionCipher bob_from_alice(bob.stores(), alice.address(), rng);
  const std::vector<std::uint8_t> message = BenchMessage();
  protocol::CiphertextMessage wire;
  // Bob takes his DH step on the first message of Alice's new chain; the
  // chain proper starts after it.
  if (!EncryptTo(alice_to_bob, message, wire) ||
      !Decrypt(bob_from_alice, wire, CiphertextType::kMessage, message)) {
    return state.SkipWithError("setup failed");
  }
  for (auto _ : state) {
    if (!EncryptTo(alice_to_bob, message, wire) ||
        !Decrypt(bob_from_alice, wire, CiphertextType::kMessage, message)) {
      return state.SkipWithError("chain message failed");
    }
  }
}

void RatchetRoundtrip(benchmark::State& state) {
  crypto::SystemRng rng;
  Party alice("alice", RegistrationId(1), rng);
  Party bob("bob", RegistrationId(2), rng);
  if (!Establish(alice, bob, rng)) return state.SkipWithError("setup failed");
  protocol::SessionCipher alice_cipher(alice.stores(), bob.address(), rng);
  protocol::SessionCipher bob_cipher(bob.stores(), alice.address(), rng);
  const std::vector<std::uint8_t> message = BenchMessage();
  protocol::CiphertextMessage wire;
  for (auto _ : state) {
    if (!EncryptTo(alice_cipher, message, wire) ||
        !Decrypt(bob_cipher, wire, CiphertextType::kMessage, message) ||
        !EncryptTo(bob_cipher, message, wire) ||
        !Decrypt(alice_cipher, wire, CiphertextType::kMessage, message)) {
      return state.SkipWithError("ratchet roundtrip failed");
    }
  }
}

// Bob's signed prekey is long-lived and made once; each iteration makes a new
// one-time prekey and bundle, Alice verifies the bundle's signature and runs
// X3DH, and Bob answers her first message. Both forget the session
// afterwards, so every iteration starts from the same state.
void SessionSetup(benchmark::State& state) {
  crypto::SystemRng rng;
  Party alice("alice", RegistrationId(1), rng);
  Party bob("bob", RegistrationId(2), rng);
  if (!AddSignedPreKey(bob, rng)) return state.SkipWithError("setup failed");
  protocol::SessionCipher alice_cipher(alice.stores(), bob.address(), rng);
  protocol::SessionCipher bob_cipher(bob.stores(), alice.address(), rng);
  const std::vector<std::uint8_t> message = BenchMessage();
  protocol::CiphertextMessage wire;
  std::uint32_t prekey_id = 0;

  for (auto _ : state) {
    prekey_id = prekey_id % 0xFFFFFE + 1;
    auto prekeys = protocol::GeneratePreKeys(PreKeyId(prekey_id), 1, rng);
    protocol::PreKeyBundle bundle;
    bool ok =
        prekeys && bob.prekeys.StorePreKey(prekeys->front()) && MakeBundle(bob, prekeys->front(), bundle);
    protocol::SessionBuilder builder(alice.stores(), bob.address());
    ok = ok && builder.ProcessPreKeyBundle(bundle, rng) && EncryptTo(alice_cipher, message, wire);
    ok = ok && Decrypt(bob_cipher, wire, CiphertextType::kPreKey, message);
    ok = ok && alice.sessions.DeleteSession(bob.address()) && bob.sessions.DeleteSession(alice.address());
    if (!ok) return state.SkipWithError("session setup failed");
  }
}

void GroupMessage(benchmark::State& state) {
  crypto::SystemRng rng;
  Party alice("alice", RegistrationId(1), rng);
  Party bob("bob", RegistrationId(2), rng);
  // The same (group, sender) name on both sides: Alice's own sender key.
  const protocol::SenderKeyName sender_key_name{"bench", alice.address()};
  protocol::GroupSessionBuilder alice_builder(alice.sender_keys, rng);
  protocol::GroupSessionBuilder bob_builder(bob.sender_keys, rng);
  auto distribution = alice_builder.CreateDistribution(sender_key_name);
  if (!distribution) return state.SkipWithError("setup failed");
  auto received = protocol::SenderKeyDistributionMessage::Deserialize(distribution->serialized());
  if (!received || !bob_builder.Process(sender_key_name, *received))
    return state.SkipWithError("setup failed");
  protocol::GroupCipher encryptor(alice.sender_keys, sender_key_name, rng);
  protocol::GroupCipher decryptor(bob.sender_keys, sender_key_name, rng);
  const std::vector<std::uint8_t> message = BenchMessage();
  std::vector<std::uint8_t> wire;

  for (auto _ : state) {
    auto encrypted = encryptor.Encrypt(message);
    if (!encrypted) return state.SkipWithError("group message failed");
    wire = std::move(*encrypted);
    auto plaintext = decryptor.Decrypt(Bytes(wire));
    if (!plaintext || !SamePlaintext(*plaintext, message)) return state.SkipWithError("group message failed");
  }
}

void X25519(benchmark::State& state) {
  crypto::SystemRng rng;
  const crypto::KeyPair ours = crypto::KeyPair::Generate(rng);
  const crypto::KeyPair theirs = crypto::KeyPair::Generate(rng);
  for (auto _ : state) {
    auto shared = ours.private_key.Agree(theirs.public_key);
    if (!shared) return state.SkipWithError("agreement failed");
    benchmark::DoNotOptimize(shared->data()[0]);
  }
}

// Parley's per-message symmetric work: AES-256-CBC of the body and
// HMAC-SHA256 over it (the libsignal row's job, through the crypto layer).
void AesCbcHmac(benchmark::State& state) {
  crypto::SystemRng rng;
  std::array<std::uint8_t, crypto::kAesKeySize> key{};
  std::array<std::uint8_t, 32> mac_key{};
  std::array<std::uint8_t, crypto::kAesBlockSize> iv{};
  rng.Fill(key);
  rng.Fill(mac_key);
  rng.Fill(iv);
  const std::vector<std::uint8_t> message = BenchMessage();
  for (auto _ : state) {
    const std::vector<std::uint8_t> ciphertext = crypto::Aes256CbcEncrypt(key, iv, message);
    const crypto::HmacSha256Tag mac = crypto::HmacSha256(mac_key, ciphertext);
    benchmark::DoNotOptimize(mac[0]);
  }
}

BENCHMARK(ChainMessage)->Name("chain_message/parley");
BENCHMARK(RatchetRoundtrip)->Name("ratchet_roundtrip/parley");
BENCHMARK(SessionSetup)->Name("session_setup/parley");
BENCHMARK(GroupMessage)->Name("group_message/parley");
BENCHMARK(X25519)->Name("x25519/parley");
BENCHMARK(AesCbcHmac)->Name("aes_cbc_hmac/parley");

}  // namespace
}  // namespace parley::bench
