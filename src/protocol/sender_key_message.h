// SenderKeyMessage: one encrypted group message (libsignal's wire format).
//
//   0x33 ‖ protobuf { 1 id (uint32), 2 iteration (uint32), 3 ciphertext } ‖ signature (64)
//
// The signature is XEdDSA by the sender's signing key over the version byte
// and the protobuf, exactly as received. Deserialize() only parses; the
// signature is checked by VerifySignature() once the caller has found the
// signing key for the message's key id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/byte_reader.h"
#include "base/rng.h"
#include "crypto/x25519.h"
#include "protocol/error.h"

namespace parley::protocol {

class SenderKeyMessage {
 public:
  // Serializes and signs a message with the sender's signing key.
  static SenderKeyMessage Create(std::uint32_t key_id, std::uint32_t iteration, Bytes ciphertext,
                                 const crypto::PrivateKey& signing_key, Rng& rng);

  // Parses serialized bytes, keeping them for the signature check. Fails with
  // kMalformed (empty, shorter than a version byte, a field and a signature,
  // over kMaxSerializedMessageSize, bad protobuf, a missing, duplicate or
  // mistyped field), kLegacyVersion or kUnknownVersion.
  static ProtocolResult<SenderKeyMessage> Deserialize(Bytes serialized);

  // kInvalidSignature unless the signature verifies under signing_key.
  ProtocolResult<void> VerifySignature(const crypto::PublicKey& signing_key) const;

  std::uint32_t key_id() const { return key_id_; }
  std::uint32_t iteration() const { return iteration_; }
  // The AES-256-CBC body (a view into serialized()).
  Bytes ciphertext() const { return Bytes(serialized_).subspan(ciphertext_offset_, ciphertext_size_); }
  // The exact bytes, version byte to signature.
  const std::vector<std::uint8_t>& serialized() const { return serialized_; }

 private:
  SenderKeyMessage() = default;

  std::uint32_t key_id_ = 0;
  std::uint32_t iteration_ = 0;
  std::size_t ciphertext_offset_ = 0;
  std::size_t ciphertext_size_ = 0;
  std::vector<std::uint8_t> serialized_;
};

}  // namespace parley::protocol
