// Rows for libsignal-protocol-c 2.3.3, driven through its C API with the
// interop peer's OpenSSL crypto provider and in-memory stores (the same ones
// the interop tests use). Parties are set up through LibsignalParty; the timed
// loops call the library directly, so the peer's all-or-nothing snapshots are
// not part of any figure.
#include <benchmark/benchmark.h>
#include <curve.h>
#include <group_cipher.h>
#include <protocol.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <session_pre_key.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "libsignal_party.h"
#include "protocol_bench.h"

namespace parley::bench {
namespace {

using interop::Address;
using interop::ByteVec;
using interop::LibsignalContext;
using interop::LibsignalParty;

const bool kContextRecorded = [] {
  benchmark::AddCustomContext("libsignal-protocol-c", PARLEY_LIBSIGNAL_VERSION);
  return true;
}();

std::unique_ptr<LibsignalParty> NewParty(const std::string& name, std::uint32_t registration_id) {
  auto party = LibsignalParty::Create(name, registration_id, 1);
  return party.ok() ? std::move(*party.value) : nullptr;
}

// Alice starts from Bob's bundle and Bob answers, so that from here on both
// send plain SignalMessages.
bool Establish(LibsignalParty& alice, LibsignalParty& bob) {
  const ByteVec message = BenchMessage();
  auto bundle = bob.MakeBundle(1, 1);
  if (!bundle.ok() || !alice.StartSession(bob.address(), *bundle.value).ok()) return false;
  auto first = alice.Encrypt(bob.address(), message);
  if (!first.ok() || !bob.Decrypt(alice.address(), *first.value).ok()) return false;
  auto reply = bob.Encrypt(alice.address(), message);
  return reply.ok() && alice.Decrypt(bob.address(), *reply.value).ok();
}

// A libsignal address with storage for its name.
class RawAddress {
 public:
  explicit RawAddress(const Address& address)
      : name_(address.name), address_{name_.c_str(), name_.size(), address.device} {}
  RawAddress(const RawAddress&) = delete;
  RawAddress& operator=(const RawAddress&) = delete;
  const signal_protocol_address* get() const { return &address_; }

 private:
  std::string name_;
  signal_protocol_address address_;
};

// A session_cipher of `self` towards `peer`.
class Cipher {
 public:
  Cipher(LibsignalParty& self, const Address& peer) : peer_(peer) {
    if (session_cipher_create(&cipher_, self.store().get(), peer_.get(), self.context().get()) < 0) {
      cipher_ = nullptr;
    }
  }
  ~Cipher() { session_cipher_free(cipher_); }
  Cipher(const Cipher&) = delete;
  Cipher& operator=(const Cipher&) = delete;
  session_cipher* get() const { return cipher_; }

 private:
  RawAddress peer_;
  session_cipher* cipher_ = nullptr;
};

// Encrypts and keeps the serialized message, as it would go on the wire.
bool EncryptTo(session_cipher* cipher, const ByteVec& plaintext, ByteVec& wire) {
  ciphertext_message* message = nullptr;
  if (session_cipher_encrypt(cipher, plaintext.data(), plaintext.size(), &message) < 0) return false;
  const signal_buffer* serialized = ciphertext_message_get_serialized(message);
  const std::uint8_t* data = signal_buffer_const_data(serialized);
  wire.assign(data, data + signal_buffer_len(serialized));
  SIGNAL_UNREF(message);
  return true;
}

bool SamePlaintext(signal_buffer* plaintext, const ByteVec& expected) {
  const bool same = signal_buffer_len(plaintext) == expected.size() &&
                    std::memcmp(signal_buffer_data(plaintext), expected.data(), expected.size()) == 0;
  signal_buffer_free(plaintext);
  return same;
}

bool DecryptSignalMessage(session_cipher* cipher, signal_context* context, const ByteVec& wire,
                          const ByteVec& expected) {
  signal_message* message = nullptr;
  if (signal_message_deserialize(&message, wire.data(), wire.size(), context) < 0) return false;
  signal_buffer* plaintext = nullptr;
  const int result = session_cipher_decrypt_signal_message(cipher, message, nullptr, &plaintext);
  SIGNAL_UNREF(message);
  return result >= 0 && SamePlaintext(plaintext, expected);
}

bool DecryptPreKeyMessage(session_cipher* cipher, signal_context* context, const ByteVec& wire,
                          const ByteVec& expected) {
  pre_key_signal_message* message = nullptr;
  if (pre_key_signal_message_deserialize(&message, wire.data(), wire.size(), context) < 0) return false;
  signal_buffer* plaintext = nullptr;
  const int result = session_cipher_decrypt_pre_key_signal_message(cipher, message, nullptr, &plaintext);
  SIGNAL_UNREF(message);
  return result >= 0 && SamePlaintext(plaintext, expected);
}

void ChainMessage(benchmark::State& state) {
  auto alice = NewParty("alice", 1);
  auto bob = NewParty("bob", 2);
  if (!alice || !bob || !Establish(*alice, *bob)) return state.SkipWithError("setup failed");
  Cipher alice_to_bob(*alice, bob->address());
  Cipher bob_from_alice(*bob, alice->address());
  const ByteVec message = BenchMessage();
  ByteVec wire;
  // Bob takes his DH step on the first message of Alice's new chain; the
  // chain proper starts after it.
  if (!EncryptTo(alice_to_bob.get(), message, wire) ||
      !DecryptSignalMessage(bob_from_alice.get(), bob->context().get(), wire, message)) {
    return state.SkipWithError("setup failed");
  }
  for (auto _ : state) {
    if (!EncryptTo(alice_to_bob.get(), message, wire) ||
        !DecryptSignalMessage(bob_from_alice.get(), bob->context().get(), wire, message)) {
      return state.SkipWithError("chain message failed");
    }
  }
}

void RatchetRoundtrip(benchmark::State& state) {
  auto alice = NewParty("alice", 1);
  auto bob = NewParty("bob", 2);
  if (!alice || !bob || !Establish(*alice, *bob)) return state.SkipWithError("setup failed");
  Cipher alice_cipher(*alice, bob->address());
  Cipher bob_cipher(*bob, alice->address());
  const ByteVec message = BenchMessage();
  ByteVec wire;
  for (auto _ : state) {
    if (!EncryptTo(alice_cipher.get(), message, wire) ||
        !DecryptSignalMessage(bob_cipher.get(), bob->context().get(), wire, message) ||
        !EncryptTo(bob_cipher.get(), message, wire) ||
        !DecryptSignalMessage(alice_cipher.get(), alice->context().get(), wire, message)) {
      return state.SkipWithError("ratchet roundtrip failed");
    }
  }
}

// Bob's signed prekey is long-lived and made once; each iteration makes a new
// one-time prekey and bundle, Alice verifies the bundle and runs X3DH, and Bob
// answers her first message. Both forget the session afterwards, so every
// iteration starts from the same state.
void SessionSetup(benchmark::State& state) {
  auto alice = NewParty("alice", 1);
  auto bob = NewParty("bob", 2);
  if (!alice || !bob || !bob->MakeBundle(1, std::nullopt).ok()) return state.SkipWithError("setup failed");
  constexpr std::uint32_t kSignedPreKeyId = 1;
  signal_context* alice_context = alice->context().get();
  signal_context* bob_context = bob->context().get();
  signal_protocol_store_context* alice_store = alice->store().get();
  signal_protocol_store_context* bob_store = bob->store().get();
  const RawAddress bob_address(bob->address());
  Cipher alice_cipher(*alice, bob->address());
  Cipher bob_cipher(*bob, alice->address());
  const ByteVec message = BenchMessage();
  ByteVec wire;
  std::uint32_t prekey_id = 0;

  for (auto _ : state) {
    prekey_id = prekey_id % 0xFFFFFE + 1;
    bool ok = true;
    ec_key_pair* prekey_pair = nullptr;
    session_pre_key* prekey = nullptr;
    session_signed_pre_key* signed_prekey = nullptr;
    ratchet_identity_key_pair* bob_identity = nullptr;
    session_pre_key_bundle* bundle = nullptr;
    session_builder* builder = nullptr;

    ok = curve_generate_key_pair(bob_context, &prekey_pair) >= 0 &&
         session_pre_key_create(&prekey, prekey_id, prekey_pair) >= 0 &&
         signal_protocol_pre_key_store_key(bob_store, prekey) >= 0 &&
         signal_protocol_signed_pre_key_load_key(bob_store, &signed_prekey, kSignedPreKeyId) >= 0 &&
         signal_protocol_identity_get_key_pair(bob_store, &bob_identity) >= 0 &&
         session_pre_key_bundle_create(
             &bundle, bob->registration_id(), bob->device(), prekey_id, ec_key_pair_get_public(prekey_pair),
             kSignedPreKeyId, ec_key_pair_get_public(session_signed_pre_key_get_key_pair(signed_prekey)),
             session_signed_pre_key_get_signature(signed_prekey),
             session_signed_pre_key_get_signature_len(signed_prekey),
             ratchet_identity_key_pair_get_public(bob_identity)) >= 0;
    ok = ok && session_builder_create(&builder, alice_store, bob_address.get(), alice_context) >= 0 &&
         session_builder_process_pre_key_bundle(builder, bundle) >= 0 &&
         EncryptTo(alice_cipher.get(), message, wire);
    ok = ok && DecryptPreKeyMessage(bob_cipher.get(), bob_context, wire, message);

    session_builder_free(builder);
    SIGNAL_UNREF(bundle);
    SIGNAL_UNREF(bob_identity);
    SIGNAL_UNREF(signed_prekey);
    SIGNAL_UNREF(prekey);
    SIGNAL_UNREF(prekey_pair);
    alice->store().records().sessions.clear();
    bob->store().records().sessions.clear();
    if (!ok) return state.SkipWithError("session setup failed");
  }
}

void GroupMessage(benchmark::State& state) {
  auto alice = NewParty("alice", 1);
  auto bob = NewParty("bob", 2);
  if (!alice || !bob) return state.SkipWithError("setup failed");
  const std::string group = "bench";
  auto distribution = alice->GroupCreate(group);
  if (!distribution.ok() || !bob->GroupAccept(group, alice->address(), *distribution.value).ok()) {
    return state.SkipWithError("setup failed");
  }
  // The same (group, sender) name on both sides: Alice's own sender key.
  const RawAddress sender(alice->address());
  const signal_protocol_sender_key_name sender_key_name{group.c_str(), group.size(), *sender.get()};
  group_cipher* encryptor = nullptr;
  group_cipher* decryptor = nullptr;
  if (group_cipher_create(&encryptor, alice->store().get(), &sender_key_name, alice->context().get()) < 0 ||
      group_cipher_create(&decryptor, bob->store().get(), &sender_key_name, bob->context().get()) < 0) {
    group_cipher_free(encryptor);
    return state.SkipWithError("setup failed");
  }
  signal_context* bob_context = bob->context().get();
  const ByteVec message = BenchMessage();
  ByteVec wire;

  for (auto _ : state) {
    ciphertext_message* encrypted = nullptr;
    bool ok = group_cipher_encrypt(encryptor, message.data(), message.size(), &encrypted) >= 0;
    if (ok) {
      const signal_buffer* serialized = ciphertext_message_get_serialized(encrypted);
      wire.assign(signal_buffer_const_data(serialized),
                  signal_buffer_const_data(serialized) + signal_buffer_len(serialized));
      SIGNAL_UNREF(encrypted);
      sender_key_message* received = nullptr;
      signal_buffer* plaintext = nullptr;
      ok = sender_key_message_deserialize(&received, wire.data(), wire.size(), bob_context) >= 0 &&
           group_cipher_decrypt(decryptor, received, nullptr, &plaintext) >= 0 &&
           SamePlaintext(plaintext, message);
      SIGNAL_UNREF(received);
    }
    if (!ok) {
      state.SkipWithError("group message failed");
      break;
    }
  }
  group_cipher_free(encryptor);
  group_cipher_free(decryptor);
}

void X25519(benchmark::State& state) {
  auto context = LibsignalContext::Create();
  ec_key_pair* ours = nullptr;
  ec_key_pair* theirs = nullptr;
  if (!context || curve_generate_key_pair(context->get(), &ours) < 0 ||
      curve_generate_key_pair(context->get(), &theirs) < 0) {
    SIGNAL_UNREF(ours);
    return state.SkipWithError("setup failed");
  }
  for (auto _ : state) {
    std::uint8_t* shared = nullptr;
    const int length =
        curve_calculate_agreement(&shared, ec_key_pair_get_public(theirs), ec_key_pair_get_private(ours));
    if (length != 32) {
      state.SkipWithError("agreement failed");
      break;
    }
    benchmark::DoNotOptimize(shared[0]);
    std::free(shared);
  }
  SIGNAL_UNREF(ours);
  SIGNAL_UNREF(theirs);
}

// What libsignal-protocol-c spends per message on symmetric crypto through the
// crypto provider: AES-256-CBC of the body and HMAC-SHA256 over it.
void AesCbcHmac(benchmark::State& state) {
  auto context = LibsignalContext::Create();
  if (!context) return state.SkipWithError("setup failed");
  const signal_crypto_provider& provider = context->crypto_provider();
  void* user_data = provider.user_data;
  std::uint8_t key[32];
  std::uint8_t mac_key[32];
  std::uint8_t iv[16];
  if (provider.random_func(key, sizeof(key), user_data) < 0 ||
      provider.random_func(mac_key, sizeof(mac_key), user_data) < 0 ||
      provider.random_func(iv, sizeof(iv), user_data) < 0) {
    return state.SkipWithError("setup failed");
  }
  const ByteVec message = BenchMessage();
  for (auto _ : state) {
    signal_buffer* ciphertext = nullptr;
    signal_buffer* mac = nullptr;
    void* hmac = nullptr;
    bool ok = provider.encrypt_func(&ciphertext, SG_CIPHER_AES_CBC_PKCS5, key, sizeof(key), iv, sizeof(iv),
                                    message.data(), message.size(), user_data) >= 0 &&
              provider.hmac_sha256_init_func(&hmac, mac_key, sizeof(mac_key), user_data) >= 0 &&
              provider.hmac_sha256_update_func(hmac, signal_buffer_data(ciphertext),
                                               signal_buffer_len(ciphertext), user_data) >= 0 &&
              provider.hmac_sha256_final_func(hmac, &mac, user_data) >= 0;
    if (hmac != nullptr) provider.hmac_sha256_cleanup_func(hmac, user_data);
    if (ok) benchmark::DoNotOptimize(signal_buffer_data(mac)[0]);
    signal_buffer_free(ciphertext);
    signal_buffer_free(mac);
    if (!ok) {
      state.SkipWithError("aes/hmac failed");
      break;
    }
  }
}

BENCHMARK(ChainMessage)->Name("chain_message/libsignal");
BENCHMARK(RatchetRoundtrip)->Name("ratchet_roundtrip/libsignal");
BENCHMARK(SessionSetup)->Name("session_setup/libsignal");
BENCHMARK(GroupMessage)->Name("group_message/libsignal");
BENCHMARK(X25519)->Name("x25519/libsignal");
BENCHMARK(AesCbcHmac)->Name("aes_cbc_hmac/libsignal");

}  // namespace
}  // namespace parley::bench
