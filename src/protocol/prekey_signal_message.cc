#include "protocol/prekey_signal_message.h"

#include <limits>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "protocol/limits.h"

namespace parley::protocol {

namespace {

enum PreKeySignalMessageField : std::uint32_t {
  kPreKeyIdField = 1,
  kBaseKeyField = 2,
  kIdentityKeyField = 3,
  kMessageField = 4,
  kRegistrationIdField = 5,
  kSignedPreKeyIdField = 6,
};

}  // namespace

ProtocolResult<PreKeySignalMessage> PreKeySignalMessage::Parse(Bytes serialized) {
  if (serialized.size() > kMaxSerializedMessageSize) {
    return Fail(ProtocolErrc::kMalformed, "message exceeds the size limit");
  }
  if (serialized.empty()) return Fail(ProtocolErrc::kMalformed, "empty message");
  if (auto v = CheckSignalMessageVersion(serialized[0]); !v) return tl::unexpected(v.error());

  PreKeySignalMessage m;
  m.version = serialized[0] >> 4;
  bool seen[7] = {};
  Bytes base_key, identity_key, message;
  ProtoReader reader(serialized.subspan(1));
  ProtoField f;
  while (reader.Next(f)) {
    switch (f.number) {
      case kPreKeyIdField:
      case kRegistrationIdField:
      case kSignedPreKeyIdField:
        if (f.type != WireType::kVarint || seen[f.number]) {
          return Fail(ProtocolErrc::kMalformed, "bad or repeated id field");
        }
        if (f.value > std::numeric_limits<std::uint32_t>::max()) {
          return Fail(ProtocolErrc::kMalformed, "id exceeds 32 bits");
        }
        seen[f.number] = true;
        if (f.number == kPreKeyIdField) {
          m.prekey_id = PreKeyId(static_cast<std::uint32_t>(f.value));
        } else if (f.number == kRegistrationIdField) {
          m.registration_id = RegistrationId(static_cast<std::uint32_t>(f.value));
        } else {
          m.signed_prekey_id = SignedPreKeyId(static_cast<std::uint32_t>(f.value));
        }
        break;
      case kBaseKeyField:
      case kIdentityKeyField:
      case kMessageField:
        if (f.type != WireType::kLengthDelimited || seen[f.number]) {
          return Fail(ProtocolErrc::kMalformed, "bad or repeated bytes field");
        }
        seen[f.number] = true;
        (f.number == kBaseKeyField       ? base_key
         : f.number == kIdentityKeyField ? identity_key
                                         : message) = f.bytes;
        break;
      default:
        break;
    }
  }
  if (reader.failed()) return Fail(ProtocolErrc::kMalformed, "message is not valid protobuf");
  if (!seen[kBaseKeyField] || !seen[kIdentityKeyField] || !seen[kMessageField] ||
      !seen[kSignedPreKeyIdField]) {
    return Fail(ProtocolErrc::kMalformed, "message lacks a required field");
  }
  auto base = crypto::PublicKey::Deserialize(base_key);
  if (!base) return Fail(ProtocolErrc::kInvalidMessageKey, "base key is not a 33-byte key");
  m.base_key = *base;
  auto identity = crypto::PublicKey::Deserialize(identity_key);
  if (!identity) return Fail(ProtocolErrc::kInvalidMessageKey, "identity key is not a 33-byte key");
  m.identity_key = *identity;
  auto inner = SignalMessage::Parse(message);
  if (!inner) return tl::unexpected(inner.error());
  m.message = *inner;
  return m;
}

std::vector<std::uint8_t> EncodePreKeySignalMessage(
    RegistrationId registration_id, std::optional<PreKeyId> prekey_id, SignedPreKeyId signed_prekey_id,
    const crypto::PublicKey& base_key, const crypto::PublicKey& identity_key, Bytes signal_message) {
  ByteWriter w(1 + 6 + 2 * (2 + crypto::kSerializedPublicKeySize) + 4 + signal_message.size() + 12);
  w.WriteU8(kVersionByte);
  if (prekey_id) WriteVarintField(w, kPreKeyIdField, prekey_id->value());
  WriteBytesField(w, kBaseKeyField, base_key.Serialize());
  WriteBytesField(w, kIdentityKeyField, identity_key.Serialize());
  WriteBytesField(w, kMessageField, signal_message);
  WriteVarintField(w, kRegistrationIdField, registration_id.value());
  WriteVarintField(w, kSignedPreKeyIdField, signed_prekey_id.value());
  return w.Take();
}

}  // namespace parley::protocol
