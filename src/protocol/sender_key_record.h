// SenderKeyRecord: every chain we hold for one (group, sender) — up to
// kMaxSenderKeyStates SenderKeyStates, newest first — and its storage format.
//
// Storage format (Parley's own, versioned and bounded; field numbers follow
// libsignal's SenderKeyRecordStructure):
//
//   0x01 ‖ protobuf { repeated 1 state {
//       1 keyId (uint32),
//       2 chainKey { 1 iteration (uint32), 2 seed (32 bytes) },
//       3 signingKey { 1 public (33 bytes), 2 private (32 bytes, own chain only) },
//       repeated 4 messageKey { 1 iteration (uint32), 2 seed (32 bytes) } } }
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "base/byte_reader.h"
#include "base/secret.h"
#include "crypto/x25519.h"
#include "protocol/error.h"
#include "protocol/limits.h"
#include "protocol/sender_key_chain.h"
#include "protocol/sender_key_state.h"

namespace parley::protocol {

inline constexpr std::uint8_t kSenderKeyRecordFormatVersion = 1;

// The largest serialization a record within the limits can have: a version
// byte, then per state at most 4 bytes of framing, 125 bytes of key id and
// keys, and 42 bytes per kept message key. Deserialize() rejects more.
inline constexpr std::size_t kMaxSerializedSenderKeyRecordSize =
    1 + kMaxSenderKeyStates * (4 + 125 + kMaxSenderMessageKeys * 42);

class SenderKeyRecord {
 public:
  SenderKeyRecord() = default;

  bool empty() const { return states_.empty(); }
  // Newest first.
  const std::deque<SenderKeyState>& states() const { return states_; }
  // nullptr when empty.
  SenderKeyState* NewestState();
  // nullptr when no state has that key id.
  SenderKeyState* StateForKeyId(std::uint32_t key_id);

  // Records a sender's chain from its distribution message as the newest
  // state, dropping the oldest past kMaxSenderKeyStates. A state with the same
  // key id and signing key is kept as it is (moved to the front), so that a
  // distribution message received again cannot rewind the chain and make old
  // messages decrypt twice; a state with the same key id but another signing
  // key is replaced.
  void AddState(std::uint32_t key_id, std::uint32_t iteration,
                const SecretArray<kSenderChainKeySize>& chain_key, const crypto::PublicKey& signing_key);

  // Makes our own new chain the only state.
  void SetOwnState(std::uint32_t key_id, std::uint32_t iteration,
                   const SecretArray<kSenderChainKeySize>& chain_key, const crypto::KeyPair& signing_key);

  // The storage format above. It holds keys, hence the SecretBuffer.
  SecretBuffer Serialize() const;

  // Parses the storage format. Everything wrong is kInvalidState: empty or
  // over kMaxSerializedSenderKeyRecordSize, another format version, bad
  // protobuf, a missing, duplicate or mistyped field, a key of the wrong size
  // or type, a private key that does not match its public key, more than
  // kMaxSenderKeyStates states or kMaxSenderMessageKeys kept keys in a state,
  // two states with one key id, kept keys not strictly ascending or not behind
  // their chain.
  static ProtocolResult<SenderKeyRecord> Deserialize(Bytes serialized);

 private:
  std::deque<SenderKeyState> states_;
};

}  // namespace parley::protocol
