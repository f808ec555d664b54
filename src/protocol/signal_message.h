// SignalMessage: one Double Ratchet message on the wire (version 3).
//
// Layout: version byte 0x33 ‖ protobuf ‖ 8-byte MAC, where the protobuf is
// textsecure.SignalMessage (1 ratchetKey, 2 counter, 3 previousCounter,
// 4 ciphertext) and the MAC is the first 8 bytes of
// HMAC-SHA256(macKey, senderIdentity33 ‖ receiverIdentity33 ‖ version ‖ protobuf).
// The MAC is always checked over the exact received bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/byte_reader.h"
#include "crypto/x25519.h"
#include "protocol/error.h"

namespace parley::protocol {

inline constexpr std::size_t kSignalMessageMacSize = 8;
inline constexpr std::size_t kMacKeySize = 32;

// The version byte Parley writes: message version 3, current version 3.
inline constexpr std::uint8_t kVersionByte = 0x33;

// A parsed SignalMessage. Its spans point into the bytes given to Parse and
// are valid only as long as those bytes are.
struct SignalMessage {
  std::uint8_t version = 0;  // the high nibble of the version byte (always 3 once parsed)
  crypto::PublicKey ratchet_key;
  std::uint32_t counter = 0;
  std::uint32_t previous_counter = 0;
  Bytes ciphertext;
  Bytes authenticated;  // version byte ‖ protobuf: what the MAC covers
  Bytes mac;            // the trailing 8 bytes

  // Parse: decodes a serialized SignalMessage without checking its MAC.
  // kMalformed when shorter than a version byte plus a MAC, longer than
  // kMaxSerializedMessageSize, not valid protobuf, missing ratchetKey,
  // counter or ciphertext, with a field of the wrong wire type or repeated,
  // or a number above 32 bits; kLegacyVersion / kUnknownVersion for a version
  // below / above 3; kInvalidMessageKey when ratchetKey is not a 33-byte
  // 0x05 key.
  static ProtocolResult<SignalMessage> Parse(Bytes serialized);

  // VerifyMac: recomputes the MAC over the received bytes and compares it in
  // constant time.
  bool VerifyMac(const crypto::PublicKey& sender_identity, const crypto::PublicKey& receiver_identity,
                 std::span<const std::uint8_t, kMacKeySize> mac_key) const;
};

// EncodeSignalMessage: serializes a SignalMessage (all four fields written,
// even when zero) and appends its MAC.
std::vector<std::uint8_t> EncodeSignalMessage(const crypto::PublicKey& ratchet_key, std::uint32_t counter,
                                              std::uint32_t previous_counter, Bytes ciphertext,
                                              std::span<const std::uint8_t, kMacKeySize> mac_key,
                                              const crypto::PublicKey& sender_identity,
                                              const crypto::PublicKey& receiver_identity);

// Shared by the 1:1 message decoders: checks the version byte's high nibble.
ProtocolStatus CheckSignalMessageVersion(std::uint8_t version_byte);

}  // namespace parley::protocol
