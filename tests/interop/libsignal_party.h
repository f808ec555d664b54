// LibsignalParty: the independent reference peer, built directly on
// libsignal-protocol-c 2.3.3 and sharing no code with Parley's protocol layer.
//
// Interop scenarios run Parley against this peer, so it must be right on its
// own: libsignal_party_test checks it against itself and against the published
// vectors of libsignal-protocol-c before anyone relies on it.
//
// The pieces below are also used by bench/protocol_bench to measure
// libsignal-protocol-c with the same crypto provider and stores:
//   LibsignalContext  the global library context with an OpenSSL 3 crypto
//                     provider and recursive locking;
//   LibsignalStore    in-memory session, prekey, signed prekey, identity and
//                     sender key stores (maps of serialized records, the way
//                     libsignal-protocol-c's own tests keep them);
//   LibsignalParty    the interop contract (party.h) on top of both.
//
// Test-only: keys and session records live in ordinary memory.
#pragma once

#include <signal_protocol.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "party.h"

namespace parley::interop {

// OpenSSL algorithm objects fetched once per context, so that every callback
// of the crypto provider avoids OpenSSL 3's implicit fetch.
struct OpensslAlgorithms;

// The libsignal-protocol-c global context (signal_context) with a crypto
// provider on OpenSSL 3 and a std::recursive_mutex as its lock. Owns the
// context; not copyable or movable because the library keeps pointers to it.
class LibsignalContext {
 public:
  // Creates a context; nullptr when the library or OpenSSL cannot be set up.
  static std::unique_ptr<LibsignalContext> Create();
  ~LibsignalContext();
  LibsignalContext(const LibsignalContext&) = delete;
  LibsignalContext& operator=(const LibsignalContext&) = delete;

  signal_context* get() const { return context_; }
  // The crypto provider installed in the context (random, HMAC-SHA256,
  // SHA-512, AES-CBC/CTR), for callers that measure or reuse it directly.
  const signal_crypto_provider& crypto_provider() const { return provider_; }

 private:
  LibsignalContext();
  static void Lock(void* user_data);
  static void Unlock(void* user_data);

  signal_context* context_ = nullptr;
  std::unique_ptr<OpensslAlgorithms> algorithms_;
  signal_crypto_provider provider_{};
  std::recursive_mutex mutex_;
};

// Everything a party stores, as serialized libsignal records. Copyable, so a
// LibsignalParty can take a snapshot before an operation and put it back when
// the operation fails.
struct LibsignalRecords {
  ByteVec identity_public;   // 33 bytes
  ByteVec identity_private;  // 32 bytes
  std::uint32_t registration_id = 0;
  std::map<std::pair<std::string, std::int32_t>, ByteVec> sessions;  // (name, device)
  std::map<std::uint32_t, ByteVec> prekeys;
  std::map<std::uint32_t, ByteVec> signed_prekeys;
  // Trust on first use, one identity per peer name (all its devices).
  std::map<std::string, ByteVec> trusted_identities;
  std::map<std::tuple<std::string, std::string, std::int32_t>, ByteVec> sender_keys;  // (group, name, device)
};

// The five in-memory stores, registered in a signal_protocol_store_context.
// The context passed to Create must outlive the store.
class LibsignalStore {
 public:
  // Generates a new identity key pair; nullptr on a library failure.
  static std::unique_ptr<LibsignalStore> Create(LibsignalContext& context, std::uint32_t registration_id);
  ~LibsignalStore();
  LibsignalStore(const LibsignalStore&) = delete;
  LibsignalStore& operator=(const LibsignalStore&) = delete;

  signal_protocol_store_context* get() const { return store_; }
  // The records behind the stores; the library reads and writes them through
  // the store callbacks, callers may inspect, snapshot or restore them.
  LibsignalRecords& records() { return records_; }

 private:
  LibsignalStore() = default;

  signal_protocol_store_context* store_ = nullptr;
  LibsignalRecords records_;
};

// A Party (party.h) on libsignal-protocol-c. Error codes follow the interop
// contract: libsignal's SG_ERR_DUPLICATE_MESSAGE, SG_ERR_NO_SESSION,
// SG_ERR_INVALID_KEY_ID and SG_ERR_UNTRUSTED_IDENTITY keep their meaning; a bad
// key or signature in a bundle is "invalid_key"; any other failure to read or
// decrypt a message (bad MAC, bad signature, legacy or unknown version, bad
// protobuf, malformed key inside a message) is "invalid_message".
//
// Every operation is all-or-nothing: the party's records are restored when an
// operation fails, so a forged or duplicate message uses up no message key or
// one-time prekey, and a refused bundle or message leaves no session or
// trusted identity behind. libsignal-protocol-c alone does not guarantee the
// last part: it trusts the identity carried by a prekey message whose body
// then fails to decrypt (libsignal_party_test pins this).
class LibsignalParty final : public Party {
 public:
  // A party with a fresh identity key. "bad_request" for an empty name, a
  // registration id outside 1..16380 or a device outside 1..2^31-1.
  static Outcome<std::unique_ptr<LibsignalParty>> Create(const std::string& name,
                                                         std::uint32_t registration_id, std::int32_t device);

  // The fingerprint libsignal-protocol-c's generator computes for two raw
  // 33-byte identity keys (scannable version 1). "invalid_key" for a key it
  // cannot decode, "bad_request" for iterations of 0 or above INT_MAX or an id
  // containing a NUL byte.
  static Outcome<Fingerprint> ComputeFingerprint(const std::string& local_id,
                                                 const ByteVec& local_identity_key,
                                                 const std::string& peer_id, const ByteVec& peer_identity_key,
                                                 std::uint32_t iterations);

  std::string name() const override { return name_; }
  std::int32_t device() const override { return device_; }
  std::uint32_t registration_id() const { return store_->records().registration_id; }

  ByteVec IdentityKey() override;
  // Reuses a signed prekey / one-time prekey this party still holds under the
  // given id, otherwise generates and stores a new one (the signed prekey is
  // signed with the identity key). Ids must fit in 24 bits; one-time prekey
  // ids start at 1. "bad_request" otherwise.
  Outcome<Bundle> MakeBundle(std::uint32_t signed_prekey_id, std::optional<std::uint32_t> prekey_id) override;
  Outcome<Done> StartSession(const Address& peer, const Bundle& bundle) override;
  Outcome<Ciphertext> Encrypt(const Address& peer, const ByteVec& plaintext) override;
  Outcome<ByteVec> Decrypt(const Address& peer, const Ciphertext& message) override;
  bool HasSession(const Address& peer) override;
  Outcome<Done> Trust(const Address& peer, const ByteVec& identity_key) override;
  Outcome<Fingerprint> MakeFingerprint(const std::string& local_id, const std::string& peer_id,
                                       const ByteVec& peer_identity_key, std::uint32_t iterations) override;
  Outcome<ByteVec> GroupCreate(const std::string& group) override;
  Outcome<Done> GroupAccept(const std::string& group, const Address& sender,
                            const ByteVec& distribution) override;
  Outcome<ByteVec> GroupEncrypt(const std::string& group, const ByteVec& plaintext) override;
  Outcome<ByteVec> GroupDecrypt(const std::string& group, const Address& sender,
                                const ByteVec& ciphertext) override;

  // The library context and stores behind this party (for benchmarks and
  // white-box checks in tests).
  LibsignalContext& context() { return *context_; }
  LibsignalStore& store() { return *store_; }

 private:
  LibsignalParty(std::string name, std::int32_t device, std::unique_ptr<LibsignalContext> context,
                 std::unique_ptr<LibsignalStore> store);

  // Runs `operation`; when it fails, puts the records back as they were.
  template <class T, class Operation>
  Outcome<T> AllOrNothing(Operation operation);

  Outcome<Bundle> MakeBundleNow(std::uint32_t signed_prekey_id, std::optional<std::uint32_t> prekey_id);
  Outcome<Done> StartSessionNow(const Address& peer, const Bundle& bundle);
  Outcome<Ciphertext> EncryptNow(const Address& peer, const ByteVec& plaintext);
  Outcome<ByteVec> DecryptNow(const Address& peer, const Ciphertext& message);
  Outcome<ByteVec> GroupCreateNow(const std::string& group);
  Outcome<Done> GroupAcceptNow(const std::string& group, const Address& sender, const ByteVec& distribution);
  Outcome<ByteVec> GroupEncryptNow(const std::string& group, const ByteVec& plaintext);
  Outcome<ByteVec> GroupDecryptNow(const std::string& group, const Address& sender,
                                   const ByteVec& ciphertext);

  std::string name_;
  std::int32_t device_;
  // Declared before store_: the store context refers to the global context.
  std::unique_ptr<LibsignalContext> context_;
  std::unique_ptr<LibsignalStore> store_;
};

}  // namespace parley::interop
