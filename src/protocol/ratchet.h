// Key derivation of X3DH and the Double Ratchet (Signal protocol version 3).
//
// - X3DH: HKDF(32×0xFF ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4], zero salt, "WhisperText", 64)
//   → root key ‖ chain key.
// - Root step: HKDF(DH(ours, theirs), salt = root key, "WhisperRatchet", 64)
//   → new root key ‖ chain key.
// - Chain step: message-key seed = HMAC(CK, 0x01); next CK = HMAC(CK, 0x02).
// - Message keys: HKDF(seed, zero salt, "WhisperMessageKeys", 80)
//   → cipher key 32 ‖ MAC key 32 ‖ IV 16.
#pragma once

#include <cstdint>
#include <optional>

#include "base/secret.h"
#include "crypto/x25519.h"
#include "protocol/error.h"

namespace parley::protocol {

inline constexpr std::size_t kRatchetKeySize = 32;
using RootKey = SecretArray<kRatchetKeySize>;
// The HMAC(CK, 0x01) a message's keys are derived from; kept for skipped messages.
using MessageKeySeed = SecretArray<kRatchetKeySize>;

// A chain key and the counter of the message it yields next.
struct ChainKey {
  SecretArray<kRatchetKeySize> key;
  std::uint32_t index = 0;

  MessageKeySeed MessageSeed() const;
  // The chain key one step on (index + 1).
  ChainKey Next() const;
  // MessageSeed() and Next() together, from one keyed HMAC state.
  struct Step;
  Step Advance() const;
};

struct ChainKey::Step {
  MessageKeySeed seed;  // of this chain key's index
  ChainKey next;        // index + 1
};

struct MessageKeys {
  SecretArray<32> cipher_key;
  SecretArray<32> mac_key;
  SecretArray<16> iv;

  static MessageKeys Derive(const MessageKeySeed& seed);
};

struct RootAndChain {
  RootKey root;
  ChainKey chain;  // index 0
};

// RootStep: one DH ratchet step. kInvalidMessageKey if DH(ours, theirs) is
// all zero (their key is of low order).
ProtocolResult<RootAndChain> RootStep(const RootKey& root, const crypto::PublicKey& theirs,
                                      const crypto::PrivateKey& ours);

// InitiatorAgreement: X3DH for the side that starts from a bundle.
// DH1 = DH(our identity, their signed prekey), DH2 = DH(our base, their
// identity), DH3 = DH(our base, their signed prekey), DH4 = DH(our base,
// their one-time prekey). kInvalidKey if any DH is all zero.
ProtocolResult<RootAndChain> InitiatorAgreement(
    const crypto::KeyPair& our_identity, const crypto::KeyPair& our_base_key,
    const crypto::PublicKey& their_identity, const crypto::PublicKey& their_signed_prekey,
    const std::optional<crypto::PublicKey>& their_one_time_prekey);

// ResponderAgreement: the same secret from the responder's side.
// kInvalidMessageKey if any DH is all zero (the keys came in a message).
ProtocolResult<RootAndChain> ResponderAgreement(const crypto::KeyPair& our_identity,
                                                const crypto::KeyPair& our_signed_prekey,
                                                const std::optional<crypto::KeyPair>& our_one_time_prekey,
                                                const crypto::PublicKey& their_identity,
                                                const crypto::PublicKey& their_base_key);

}  // namespace parley::protocol
