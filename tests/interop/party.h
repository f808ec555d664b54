// Party: one side of an interop scenario, whatever implements it.
//
// The interop tests run every scenario between pairs of Parties: Parley's
// protocol core, libsignal-protocol-c 2.3.3, and Parley through a
// `parley-interop` process. The operations and error codes mirror
// shared/interop-peer.md one for one, so a scenario written once runs in every
// direction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::interop {

using ByteVec = std::vector<std::uint8_t>;

struct Address {
  std::string name;
  std::int32_t device = 1;
};

struct Bundle {
  std::uint32_t registration_id = 0;
  std::int32_t device = 1;
  ByteVec identity_key;  // 33 bytes
  std::uint32_t signed_prekey_id = 0;
  ByteVec signed_prekey;  // 33 bytes
  ByteVec signed_prekey_signature;
  std::optional<std::uint32_t> prekey_id;
  std::optional<ByteVec> prekey;  // 33 bytes
};

enum class MessageType { kPreKey, kMessage };

struct Ciphertext {
  MessageType type = MessageType::kMessage;
  ByteVec bytes;
};

// The outcome of an operation: ok, or one of the contract's error codes
// ("invalid_message", "duplicate_message", "no_session", "invalid_key_id",
// "invalid_key", "untrusted_identity", "bad_request", "unsupported").
template <class T>
struct Outcome {
  std::optional<T> value;
  std::string error;  // empty when ok
  bool ok() const { return error.empty(); }
};

struct Done {};

struct Fingerprint {
  std::string displayable;
  ByteVec scannable;
};

class Party {
 public:
  virtual ~Party() = default;

  virtual std::string name() const = 0;
  virtual std::int32_t device() const = 0;
  Address address() const { return {name(), device()}; }

  virtual ByteVec IdentityKey() = 0;
  virtual Outcome<Bundle> MakeBundle(std::uint32_t signed_prekey_id,
                                     std::optional<std::uint32_t> prekey_id) = 0;
  virtual Outcome<Done> StartSession(const Address& peer, const Bundle& bundle) = 0;
  virtual Outcome<Ciphertext> Encrypt(const Address& peer, const ByteVec& plaintext) = 0;
  virtual Outcome<ByteVec> Decrypt(const Address& peer, const Ciphertext& message) = 0;
  virtual bool HasSession(const Address& peer) = 0;
  virtual Outcome<Done> Trust(const Address& peer, const ByteVec& identity_key) = 0;
  virtual Outcome<Fingerprint> MakeFingerprint(const std::string& local_id, const std::string& peer_id,
                                               const ByteVec& peer_identity_key,
                                               std::uint32_t iterations) = 0;
  virtual Outcome<ByteVec> GroupCreate(const std::string& group) = 0;
  virtual Outcome<Done> GroupAccept(const std::string& group, const Address& sender,
                                    const ByteVec& distribution) = 0;
  virtual Outcome<ByteVec> GroupEncrypt(const std::string& group, const ByteVec& plaintext) = 0;
  virtual Outcome<ByteVec> GroupDecrypt(const std::string& group, const Address& sender,
                                        const ByteVec& ciphertext) = 0;
};

}  // namespace parley::interop
