// PreKeySignalMessage: the first messages of a session the sender started
// from a PreKeyBundle, until the peer's first reply. It carries what the
// responder needs for X3DH and embeds a whole serialized SignalMessage.
//
// Layout: version byte 0x33 ‖ protobuf textsecure.PreKeySignalMessage
// (1 preKeyId, 2 baseKey, 3 identityKey, 4 message, 5 registrationId,
// 6 signedPreKeyId); no outer MAC.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/byte_reader.h"
#include "base/strong_id.h"
#include "crypto/x25519.h"
#include "protocol/error.h"
#include "protocol/signal_message.h"

namespace parley::protocol {

// A parsed PreKeySignalMessage; like SignalMessage, its spans point into the
// bytes given to Parse.
struct PreKeySignalMessage {
  std::uint8_t version = 0;
  RegistrationId registration_id;  // 0 when the sender left it out
  std::optional<PreKeyId> prekey_id;
  SignedPreKeyId signed_prekey_id;
  crypto::PublicKey base_key;
  crypto::PublicKey identity_key;
  SignalMessage message;

  // Parse: kMalformed when empty, longer than kMaxSerializedMessageSize, not
  // valid protobuf, missing baseKey, identityKey, message or signedPreKeyId,
  // with a field of the wrong wire type or repeated, or a number above 32
  // bits; kLegacyVersion / kUnknownVersion for the version byte;
  // kInvalidMessageKey for a key that is not 33 bytes with type 0x05; any
  // error of SignalMessage::Parse for the embedded message.
  static ProtocolResult<PreKeySignalMessage> Parse(Bytes serialized);
};

// EncodePreKeySignalMessage: serializes the fields (required ones always,
// preKeyId only when present) around an already serialized SignalMessage.
std::vector<std::uint8_t> EncodePreKeySignalMessage(
    RegistrationId registration_id, std::optional<PreKeyId> prekey_id, SignedPreKeyId signed_prekey_id,
    const crypto::PublicKey& base_key, const crypto::PublicKey& identity_key, Bytes signal_message);

}  // namespace parley::protocol
