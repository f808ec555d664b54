#include "protocol/sender_key_message.h"

#include <optional>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "crypto/xeddsa.h"
#include "protocol/limits.h"
#include "protocol/sender_key_wire.h"

namespace parley::protocol {

namespace {

enum Field : std::uint32_t { kId = 1, kIteration = 2, kCiphertext = 3 };

// Version byte, at least one protobuf byte, and the signature.
constexpr std::size_t kMinSize = 1 + 1 + crypto::kSignatureSize;

}  // namespace

SenderKeyMessage SenderKeyMessage::Create(std::uint32_t key_id, std::uint32_t iteration, Bytes ciphertext,
                                          const crypto::PrivateKey& signing_key, Rng& rng) {
  ByteWriter w(ciphertext.size() + 32 + crypto::kSignatureSize);
  w.WriteU8(kSenderKeyVersionByte);
  WriteVarintField(w, kId, key_id);
  WriteVarintField(w, kIteration, iteration);
  WriteBytesField(w, kCiphertext, ciphertext);

  SenderKeyMessage message;
  message.key_id_ = key_id;
  message.iteration_ = iteration;
  message.ciphertext_size_ = ciphertext.size();
  message.ciphertext_offset_ = w.size() - ciphertext.size();
  const crypto::Signature signature = crypto::XEdDsaSign(signing_key, w.bytes(), rng);
  w.WriteBytes(signature);
  message.serialized_ = w.Take();
  return message;
}

ProtocolResult<SenderKeyMessage> SenderKeyMessage::Deserialize(Bytes serialized) {
  if (serialized.size() > kMaxSerializedMessageSize) {
    return Fail(ProtocolErrc::kMalformed, "sender-key message over the size limit");
  }
  if (serialized.empty()) return Fail(ProtocolErrc::kMalformed, "empty sender-key message");
  if (auto version = CheckMessageVersion(serialized[0]); !version) return tl::unexpected(version.error());
  if (serialized.size() < kMinSize) return Fail(ProtocolErrc::kMalformed, "sender-key message too short");

  const Bytes body = serialized.subspan(1, serialized.size() - 1 - crypto::kSignatureSize);
  std::optional<std::uint32_t> id;
  std::optional<std::uint32_t> iteration;
  std::optional<Bytes> ciphertext;
  ProtoReader reader(body);
  ProtoField field;
  while (reader.Next(field)) {
    bool ok = true;
    switch (field.number) {
      case kId:
        ok = TakeUint32Field(field, id);
        break;
      case kIteration:
        ok = TakeUint32Field(field, iteration);
        break;
      case kCiphertext:
        ok = TakeBytesField(field, ciphertext);
        break;
      default:
        break;
    }
    if (!ok) return Fail(ProtocolErrc::kMalformed, "sender-key message has a bad field");
  }
  if (reader.failed()) return Fail(ProtocolErrc::kMalformed, "sender-key message is not a protobuf");
  if (!id || !iteration || !ciphertext) {
    return Fail(ProtocolErrc::kMalformed, "sender-key message misses a field");
  }

  SenderKeyMessage message;
  message.key_id_ = *id;
  message.iteration_ = *iteration;
  message.ciphertext_offset_ = static_cast<std::size_t>(ciphertext->data() - serialized.data());
  message.ciphertext_size_ = ciphertext->size();
  message.serialized_.assign(serialized.begin(), serialized.end());
  return message;
}

ProtocolResult<void> SenderKeyMessage::VerifySignature(const crypto::PublicKey& signing_key) const {
  const Bytes all(serialized_);
  const std::size_t signed_size = all.size() - crypto::kSignatureSize;
  if (!crypto::XEdDsaVerify(signing_key, all.first(signed_size), all.subspan(signed_size))) {
    return Fail(ProtocolErrc::kInvalidSignature, "sender-key message signature does not verify");
  }
  return {};
}

}  // namespace parley::protocol
