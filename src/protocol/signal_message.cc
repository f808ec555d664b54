#include "protocol/signal_message.h"

#include <algorithm>
#include <limits>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "crypto/hash.h"
#include "protocol/limits.h"

namespace parley::protocol {

namespace {

enum SignalMessageField : std::uint32_t {
  kRatchetKeyField = 1,
  kCounterField = 2,
  kPreviousCounterField = 3,
  kCiphertextField = 4,
};

crypto::HmacSha256Tag ComputeMac(const crypto::PublicKey& sender_identity,
                                 const crypto::PublicKey& receiver_identity,
                                 std::span<const std::uint8_t, kMacKeySize> mac_key, Bytes authenticated) {
  crypto::HmacSha256Hasher hmac(mac_key);
  const auto sender = sender_identity.Serialize();
  const auto receiver = receiver_identity.Serialize();
  hmac.Update(sender);
  hmac.Update(receiver);
  hmac.Update(authenticated);
  return hmac.Final();
}

}  // namespace

ProtocolStatus CheckSignalMessageVersion(std::uint8_t version_byte) {
  const std::uint8_t version = version_byte >> 4;
  if (version < kCiphertextVersion) return Fail(ProtocolErrc::kLegacyVersion, "legacy message version");
  if (version > kCiphertextVersion) return Fail(ProtocolErrc::kUnknownVersion, "unknown message version");
  return Ok<ProtocolErrc>();
}

ProtocolResult<SignalMessage> SignalMessage::Parse(Bytes serialized) {
  if (serialized.size() > kMaxSerializedMessageSize) {
    return Fail(ProtocolErrc::kMalformed, "message exceeds the size limit");
  }
  if (serialized.size() < 1 + kSignalMessageMacSize) {
    return Fail(ProtocolErrc::kMalformed, "message too short");
  }
  if (auto v = CheckSignalMessageVersion(serialized[0]); !v) return tl::unexpected(v.error());

  SignalMessage m;
  m.version = serialized[0] >> 4;
  m.authenticated = serialized.first(serialized.size() - kSignalMessageMacSize);
  m.mac = serialized.last(kSignalMessageMacSize);

  bool has_ratchet_key = false, has_counter = false, has_previous = false, has_ciphertext = false;
  Bytes ratchet_key;
  ProtoReader reader(m.authenticated.subspan(1));
  ProtoField f;
  while (reader.Next(f)) {
    switch (f.number) {
      case kRatchetKeyField:
        if (f.type != WireType::kLengthDelimited || has_ratchet_key) {
          return Fail(ProtocolErrc::kMalformed, "bad or repeated ratchetKey field");
        }
        has_ratchet_key = true;
        ratchet_key = f.bytes;
        break;
      case kCounterField:
      case kPreviousCounterField: {
        bool& seen = f.number == kCounterField ? has_counter : has_previous;
        if (f.type != WireType::kVarint || seen)
          return Fail(ProtocolErrc::kMalformed, "bad or repeated counter");
        if (f.value > std::numeric_limits<std::uint32_t>::max()) {
          return Fail(ProtocolErrc::kMalformed, "counter exceeds 32 bits");
        }
        seen = true;
        (f.number == kCounterField ? m.counter : m.previous_counter) = static_cast<std::uint32_t>(f.value);
        break;
      }
      case kCiphertextField:
        if (f.type != WireType::kLengthDelimited || has_ciphertext) {
          return Fail(ProtocolErrc::kMalformed, "bad or repeated ciphertext field");
        }
        has_ciphertext = true;
        m.ciphertext = f.bytes;
        break;
      default:
        break;  // unknown fields are skipped, as protobuf does
    }
  }
  if (reader.failed()) return Fail(ProtocolErrc::kMalformed, "message is not valid protobuf");
  if (!has_ratchet_key || !has_counter || !has_ciphertext) {
    return Fail(ProtocolErrc::kMalformed, "message lacks a required field");
  }
  auto key = crypto::PublicKey::Deserialize(ratchet_key);
  if (!key) return Fail(ProtocolErrc::kInvalidMessageKey, "ratchet key is not a 33-byte key");
  m.ratchet_key = *key;
  return m;
}

bool SignalMessage::VerifyMac(const crypto::PublicKey& sender_identity,
                              const crypto::PublicKey& receiver_identity,
                              std::span<const std::uint8_t, kMacKeySize> mac_key) const {
  if (mac.size() != kSignalMessageMacSize) return false;
  const auto full = ComputeMac(sender_identity, receiver_identity, mac_key, authenticated);
  return crypto::ConstantTimeEqual(Bytes(full.data(), kSignalMessageMacSize), mac);
}

std::vector<std::uint8_t> EncodeSignalMessage(const crypto::PublicKey& ratchet_key, std::uint32_t counter,
                                              std::uint32_t previous_counter, Bytes ciphertext,
                                              std::span<const std::uint8_t, kMacKeySize> mac_key,
                                              const crypto::PublicKey& sender_identity,
                                              const crypto::PublicKey& receiver_identity) {
  ByteWriter w(1 + 2 + crypto::kSerializedPublicKeySize + 12 + 4 + ciphertext.size() + kSignalMessageMacSize);
  w.WriteU8(kVersionByte);
  WriteBytesField(w, kRatchetKeyField, ratchet_key.Serialize());
  WriteVarintField(w, kCounterField, counter);
  WriteVarintField(w, kPreviousCounterField, previous_counter);
  WriteBytesField(w, kCiphertextField, ciphertext);
  const auto mac = ComputeMac(sender_identity, receiver_identity, mac_key, w.bytes());
  w.WriteBytes(Bytes(mac.data(), kSignalMessageMacSize));
  return w.Take();
}

}  // namespace parley::protocol
