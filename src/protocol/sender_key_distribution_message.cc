#include "protocol/sender_key_distribution_message.h"

#include <optional>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "protocol/limits.h"
#include "protocol/sender_key_wire.h"

namespace parley::protocol {

namespace {

enum Field : std::uint32_t { kId = 1, kIteration = 2, kChainKey = 3, kSigningKey = 4 };

}  // namespace

SenderKeyDistributionMessage SenderKeyDistributionMessage::Create(
    std::uint32_t key_id, std::uint32_t iteration, const SecretArray<kSenderChainKeySize>& chain_key,
    const crypto::PublicKey& signing_key) {
  ByteWriter w(96);
  w.WriteU8(kSenderKeyVersionByte);
  WriteVarintField(w, kId, key_id);
  WriteVarintField(w, kIteration, iteration);
  WriteBytesField(w, kChainKey, chain_key.bytes());
  WriteBytesField(w, kSigningKey, signing_key.Serialize());

  SenderKeyDistributionMessage message;
  message.key_id_ = key_id;
  message.iteration_ = iteration;
  message.chain_key_ = chain_key;
  message.signing_key_ = signing_key;
  std::vector<std::uint8_t> bytes = w.Take();
  message.serialized_ = SecretBuffer(bytes);
  WipeMemory(bytes.data(), bytes.size());
  return message;
}

ProtocolResult<SenderKeyDistributionMessage> SenderKeyDistributionMessage::Deserialize(Bytes serialized) {
  if (serialized.size() > kMaxSerializedMessageSize) {
    return Fail(ProtocolErrc::kMalformed, "distribution message over the size limit");
  }
  if (serialized.empty()) return Fail(ProtocolErrc::kMalformed, "empty distribution message");
  if (auto version = CheckMessageVersion(serialized[0]); !version) return tl::unexpected(version.error());

  std::optional<std::uint32_t> id;
  std::optional<std::uint32_t> iteration;
  std::optional<Bytes> chain_key;
  std::optional<Bytes> signing_key;
  ProtoReader reader(serialized.subspan(1));
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
      case kChainKey:
        ok = TakeBytesField(field, chain_key);
        break;
      case kSigningKey:
        ok = TakeBytesField(field, signing_key);
        break;
      default:
        break;
    }
    if (!ok) return Fail(ProtocolErrc::kMalformed, "distribution message has a bad field");
  }
  if (reader.failed()) return Fail(ProtocolErrc::kMalformed, "distribution message is not a protobuf");
  if (!id || !iteration || !chain_key || !signing_key) {
    return Fail(ProtocolErrc::kMalformed, "distribution message misses a field");
  }
  if (chain_key->size() != kSenderChainKeySize) {
    return Fail(ProtocolErrc::kInvalidMessageKey, "distribution chain key is not 32 bytes");
  }
  auto public_key = crypto::PublicKey::Deserialize(*signing_key);
  if (!public_key) return Fail(ProtocolErrc::kInvalidMessageKey, "distribution signing key is malformed");

  SenderKeyDistributionMessage message;
  message.key_id_ = *id;
  message.iteration_ = *iteration;
  message.chain_key_ = SecretArray<kSenderChainKeySize>(chain_key->first<kSenderChainKeySize>());
  message.signing_key_ = *public_key;
  message.serialized_ = SecretBuffer(serialized);
  return message;
}

}  // namespace parley::protocol
