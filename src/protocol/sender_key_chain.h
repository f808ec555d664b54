// The sender-key hash chain of a group sender (libsignal's sender_chain_key /
// sender_message_key).
//
// Each step of the chain yields one message key: seed = HMAC-SHA256(chain key,
// 0x01), next chain key = HMAC-SHA256(chain key, 0x02); iterations start at 0.
// A seed expands with HKDF(seed, 32 zero bytes, "WhisperGroup", 48) into the
// AES-256-CBC IV (first 16 bytes) and key (next 32) — the opposite order from
// 1:1 message keys. Every key lives in a SecretArray.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "base/secret.h"

namespace parley::protocol {

inline constexpr std::size_t kSenderChainKeySize = 32;
inline constexpr std::size_t kSenderMessageSeedSize = 32;
inline constexpr std::size_t kSenderCipherKeySize = 32;
inline constexpr std::size_t kSenderIvSize = 16;

// The AES-256-CBC key and IV of one group message.
struct SenderCipherKeys {
  SecretArray<kSenderCipherKeySize> cipher_key;
  SecretArray<kSenderIvSize> iv;
};

// The message key of one iteration, kept as its seed (what is stored for
// skipped messages); the cipher keys are derived on use.
class SenderMessageKey {
 public:
  SenderMessageKey(std::uint32_t iteration, SecretArray<kSenderMessageSeedSize> seed)
      : iteration_(iteration), seed_(std::move(seed)) {}

  std::uint32_t iteration() const { return iteration_; }
  const SecretArray<kSenderMessageSeedSize>& seed() const { return seed_; }

  // HKDF(seed, zero salt, "WhisperGroup", 48) split into IV ‖ cipher key.
  SenderCipherKeys DeriveCipherKeys() const;

 private:
  std::uint32_t iteration_;
  SecretArray<kSenderMessageSeedSize> seed_;
};

// One link of the chain: the chain key for `iteration`.
class SenderChainKey {
 public:
  SenderChainKey(std::uint32_t iteration, SecretArray<kSenderChainKeySize> key)
      : iteration_(iteration), key_(std::move(key)) {}

  std::uint32_t iteration() const { return iteration_; }
  const SecretArray<kSenderChainKeySize>& key() const { return key_; }

  // The message key of this iteration.
  SenderMessageKey MessageKey() const;
  // The chain key of iteration + 1. The caller keeps iteration below
  // UINT32_MAX (GroupCipher refuses to go further).
  SenderChainKey Next() const;
  // MessageKey() and Next() together, from one keyed HMAC state.
  struct Step;
  Step Advance() const;

 private:
  std::uint32_t iteration_;
  SecretArray<kSenderChainKeySize> key_;
};

struct SenderChainKey::Step {
  SenderMessageKey message_key;  // of this iteration
  SenderChainKey next;           // iteration + 1
};

}  // namespace parley::protocol
