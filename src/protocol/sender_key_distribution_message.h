// SenderKeyDistributionMessage: hands a sender's chain to a group member
// (libsignal's wire format), sent to each member inside a 1:1 session.
//
//   0x33 ‖ protobuf { 1 id (uint32), 2 iteration (uint32), 3 chainKey (32 bytes),
//                     4 signingKey (33 bytes, 0x05 ‖ u) }
//
// It carries the chain key, so its bytes are kept in a SecretBuffer.
#pragma once

#include <cstdint>

#include "base/byte_reader.h"
#include "base/secret.h"
#include "crypto/x25519.h"
#include "protocol/error.h"
#include "protocol/sender_key_chain.h"

namespace parley::protocol {

class SenderKeyDistributionMessage {
 public:
  static SenderKeyDistributionMessage Create(std::uint32_t key_id, std::uint32_t iteration,
                                             const SecretArray<kSenderChainKeySize>& chain_key,
                                             const crypto::PublicKey& signing_key);

  // Parses serialized bytes. Fails with kMalformed (empty, over
  // kMaxSerializedMessageSize, bad protobuf, a missing, duplicate or mistyped
  // field), kLegacyVersion, kUnknownVersion, or kInvalidMessageKey (a chain
  // key that is not 32 bytes, a signing key that is not 0x05 ‖ 32 bytes).
  static ProtocolResult<SenderKeyDistributionMessage> Deserialize(Bytes serialized);

  std::uint32_t key_id() const { return key_id_; }
  std::uint32_t iteration() const { return iteration_; }
  const SecretArray<kSenderChainKeySize>& chain_key() const { return chain_key_; }
  const crypto::PublicKey& signing_key() const { return signing_key_; }
  // The exact bytes, version byte included.
  Bytes serialized() const { return serialized_.bytes(); }

 private:
  SenderKeyDistributionMessage() = default;

  std::uint32_t key_id_ = 0;
  std::uint32_t iteration_ = 0;
  SecretArray<kSenderChainKeySize> chain_key_;
  crypto::PublicKey signing_key_;
  SecretBuffer serialized_;
};

}  // namespace parley::protocol
