// Rows for libolm 3.2: Olm (a Double Ratchet over 3DH with one-time keys) for
// the 1:1 rows and Megolm for group_message, through libolm's C API.
// Randomness comes from OpenSSL's RAND_bytes, as for the libsignal rows.
// Olm has no signed prekey: its session_setup has no signature to verify,
// where libsignal's verifies the signed prekey of every bundle.
#include <benchmark/benchmark.h>
#include <olm/inbound_group_session.h>
#include <olm/olm.h>
#include <olm/outbound_group_session.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol_bench.h"

namespace parley::bench {
namespace {

using Bytes = std::vector<std::uint8_t>;

const bool kContextRecorded = [] {
  std::uint8_t major = 0;
  std::uint8_t minor = 0;
  std::uint8_t patch = 0;
  olm_get_library_version(&major, &minor, &patch);
  benchmark::AddCustomContext(
      "libolm", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch));
  return true;
}();

bool Failed(std::size_t result) { return result == olm_error(); }

// Fills `random` with `length` random bytes (libolm asks for exact lengths).
bool Random(Bytes& random, std::size_t length) {
  random.resize(length);
  return length == 0 || RAND_bytes(random.data(), static_cast<int>(length)) == 1;
}

// libolm objects live in caller-provided memory.
class Account {
 public:
  Account() : memory_(olm_account_size()), account_(olm_account(memory_.data())) {
    Bytes random;
    ok_ = Random(random, olm_create_account_random_length(account_)) &&
          !Failed(olm_create_account(account_, random.data(), random.size()));
  }
  ~Account() { olm_clear_account(account_); }
  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;

  bool ok() const { return ok_; }
  OlmAccount* get() { return account_; }

  // The Curve25519 identity key, base64 (libolm hands keys out as JSON).
  std::string IdentityKey() {
    std::string json(olm_account_identity_keys_length(account_), '\0');
    if (Failed(olm_account_identity_keys(account_, json.data(), json.size()))) return {};
    const nlohmann::json keys = nlohmann::json::parse(json, nullptr, false);
    if (!keys.is_object()) return {};
    return keys.value("curve25519", "");
  }

  // Generates one one-time key, publishes it and returns it (base64).
  std::string NewOneTimeKey() {
    Bytes random;
    if (!Random(random, olm_account_generate_one_time_keys_random_length(account_, 1)) ||
        Failed(olm_account_generate_one_time_keys(account_, 1, random.data(), random.size()))) {
      return {};
    }
    std::string json(olm_account_one_time_keys_length(account_), '\0');
    if (Failed(olm_account_one_time_keys(account_, json.data(), json.size()))) return {};
    olm_account_mark_keys_as_published(account_);
    const nlohmann::json keys = nlohmann::json::parse(json, nullptr, false);
    if (!keys.is_object() || !keys.contains("curve25519") || keys["curve25519"].empty()) return {};
    return keys["curve25519"].begin()->get<std::string>();
  }

 private:
  Bytes memory_;
  OlmAccount* account_;
  bool ok_ = false;
};

class Session {
 public:
  Session() : memory_(olm_session_size()), session_(olm_session(memory_.data())) {}
  ~Session() { olm_clear_session(session_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  OlmSession* get() { return session_; }
  // Back to a blank session, for reuse.
  void Reset() { session_ = olm_session(memory_.data()); }

 private:
  Bytes memory_;
  OlmSession* session_;
};

struct Message {
  std::size_t type = 0;
  Bytes bytes;  // base64, as libolm produces it
};

bool Encrypt(OlmSession* session, const Bytes& plaintext, Bytes& random, Message& message) {
  message.type = olm_encrypt_message_type(session);
  if (!Random(random, olm_encrypt_random_length(session))) return false;
  message.bytes.resize(olm_encrypt_message_length(session, plaintext.size()));
  return !Failed(olm_encrypt(session, plaintext.data(), plaintext.size(), random.data(), random.size(),
                             message.bytes.data(), message.bytes.size()));
}

// libolm decodes the message in place, so it works on a copy.
bool Decrypt(OlmSession* session, const Message& message, Bytes& scratch, Bytes& plaintext,
             const Bytes& expected) {
  scratch = message.bytes;
  plaintext.resize(message.bytes.size());
  const std::size_t length =
      olm_decrypt(session, message.type, scratch.data(), scratch.size(), plaintext.data(), plaintext.size());
  return !Failed(length) && length == expected.size() &&
         std::memcmp(plaintext.data(), expected.data(), length) == 0;
}

// Bob makes a one-time key, Alice opens an outbound session to it and sends
// the first (pre-key) message, Bob opens the inbound session and decrypts.
bool StartSession(Account& alice, Account& bob, Session& alice_session, Session& bob_session,
                  const std::string& bob_identity, const Bytes& plaintext, Bytes& random, Message& message,
                  Bytes& scratch, Bytes& decrypted) {
  const std::string one_time_key = bob.NewOneTimeKey();
  if (one_time_key.empty() ||
      !Random(random, olm_create_outbound_session_random_length(alice_session.get())) ||
      Failed(olm_create_outbound_session(alice_session.get(), alice.get(), bob_identity.data(),
                                         bob_identity.size(), one_time_key.data(), one_time_key.size(),
                                         random.data(), random.size())) ||
      !Encrypt(alice_session.get(), plaintext, random, message) || message.type != OLM_MESSAGE_TYPE_PRE_KEY) {
    return false;
  }
  scratch = message.bytes;
  return !Failed(olm_create_inbound_session(bob_session.get(), bob.get(), scratch.data(), scratch.size())) &&
         !Failed(olm_remove_one_time_keys(bob.get(), bob_session.get())) &&
         Decrypt(bob_session.get(), message, scratch, decrypted, plaintext);
}

// Two accounts with an acknowledged session: Alice sent, Bob answered.
struct EstablishedPair {
  Account alice;
  Account bob;
  Session alice_session;
  Session bob_session;
  bool ok = false;

  EstablishedPair() {
    const Bytes plaintext = BenchMessage();
    Bytes random;
    Bytes scratch;
    Bytes decrypted;
    Message message;
    ok = alice.ok() && bob.ok() &&
         StartSession(alice, bob, alice_session, bob_session, bob.IdentityKey(), plaintext, random, message,
                      scratch, decrypted) &&
         Encrypt(bob_session.get(), plaintext, random, message) &&
         Decrypt(alice_session.get(), message, scratch, decrypted, plaintext);
  }
};

void ChainMessage(benchmark::State& state) {
  EstablishedPair pair;
  if (!pair.ok) return state.SkipWithError("setup failed");
  const Bytes plaintext = BenchMessage();
  Bytes random;
  Bytes scratch;
  Bytes decrypted;
  Message message;
  // Alice's next message moves to a new ratchet key (she has Bob's answer);
  // the chain proper starts after it.
  if (!Encrypt(pair.alice_session.get(), plaintext, random, message) ||
      !Decrypt(pair.bob_session.get(), message, scratch, decrypted, plaintext) ||
      olm_encrypt_random_length(pair.alice_session.get()) != 0) {
    return state.SkipWithError("setup failed");
  }
  for (auto _ : state) {
    if (!Encrypt(pair.alice_session.get(), plaintext, random, message) ||
        !Decrypt(pair.bob_session.get(), message, scratch, decrypted, plaintext)) {
      return state.SkipWithError("chain message failed");
    }
  }
}

void RatchetRoundtrip(benchmark::State& state) {
  EstablishedPair pair;
  if (!pair.ok) return state.SkipWithError("setup failed");
  const Bytes plaintext = BenchMessage();
  Bytes random;
  Bytes scratch;
  Bytes decrypted;
  Message message;
  for (auto _ : state) {
    if (!Encrypt(pair.alice_session.get(), plaintext, random, message) ||
        !Decrypt(pair.bob_session.get(), message, scratch, decrypted, plaintext) ||
        !Encrypt(pair.bob_session.get(), plaintext, random, message) ||
        !Decrypt(pair.alice_session.get(), message, scratch, decrypted, plaintext)) {
      return state.SkipWithError("ratchet roundtrip failed");
    }
  }
}

void SessionSetup(benchmark::State& state) {
  Account alice;
  Account bob;
  if (!alice.ok() || !bob.ok()) return state.SkipWithError("setup failed");
  const std::string bob_identity = bob.IdentityKey();
  Session alice_session;
  Session bob_session;
  const Bytes plaintext = BenchMessage();
  Bytes random;
  Bytes scratch;
  Bytes decrypted;
  Message message;
  for (auto _ : state) {
    alice_session.Reset();
    bob_session.Reset();
    if (!StartSession(alice, bob, alice_session, bob_session, bob_identity, plaintext, random, message,
                      scratch, decrypted)) {
      return state.SkipWithError("session setup failed");
    }
  }
}

void GroupMessage(benchmark::State& state) {
  Bytes outbound_memory(olm_outbound_group_session_size());
  Bytes inbound_memory(olm_inbound_group_session_size());
  OlmOutboundGroupSession* outbound = olm_outbound_group_session(outbound_memory.data());
  OlmInboundGroupSession* inbound = olm_inbound_group_session(inbound_memory.data());
  Bytes random;
  Bytes session_key(olm_outbound_group_session_key_length(outbound));
  if (!Random(random, olm_init_outbound_group_session_random_length(outbound)) ||
      Failed(olm_init_outbound_group_session(outbound, random.data(), random.size())) ||
      Failed(olm_outbound_group_session_key(outbound, session_key.data(), session_key.size())) ||
      Failed(olm_init_inbound_group_session(inbound, session_key.data(), session_key.size()))) {
    return state.SkipWithError("setup failed");
  }
  const Bytes plaintext = BenchMessage();
  Bytes message;
  Bytes scratch;
  Bytes decrypted;
  for (auto _ : state) {
    message.resize(olm_group_encrypt_message_length(outbound, plaintext.size()));
    if (Failed(olm_group_encrypt(outbound, plaintext.data(), plaintext.size(), message.data(),
                                 message.size()))) {
      state.SkipWithError("group encrypt failed");
      break;
    }
    scratch = message;
    decrypted.resize(message.size());
    std::uint32_t index = 0;
    const std::size_t length = olm_group_decrypt(inbound, scratch.data(), scratch.size(), decrypted.data(),
                                                 decrypted.size(), &index);
    if (Failed(length) || length != plaintext.size() ||
        std::memcmp(decrypted.data(), plaintext.data(), length) != 0) {
      state.SkipWithError("group decrypt failed");
      break;
    }
  }
  olm_clear_outbound_group_session(outbound);
  olm_clear_inbound_group_session(inbound);
}

BENCHMARK(ChainMessage)->Name("chain_message/olm");
BENCHMARK(RatchetRoundtrip)->Name("ratchet_roundtrip/olm");
BENCHMARK(SessionSetup)->Name("session_setup/olm");
BENCHMARK(GroupMessage)->Name("group_message/olm");

}  // namespace
}  // namespace parley::bench
