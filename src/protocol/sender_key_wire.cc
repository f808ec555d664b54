#include "protocol/sender_key_wire.h"

#include <limits>

namespace parley::protocol {

ProtocolResult<void> CheckMessageVersion(std::uint8_t version_byte) {
  const std::uint8_t version = version_byte >> 4;
  if (version < kCiphertextVersion) return Fail(ProtocolErrc::kLegacyVersion, "legacy message version");
  if (version > kCiphertextVersion) return Fail(ProtocolErrc::kUnknownVersion, "unknown message version");
  return {};
}

bool TakeUint32Field(const ProtoField& field, std::optional<std::uint32_t>& slot) {
  if (slot.has_value() || field.type != WireType::kVarint ||
      field.value > std::numeric_limits<std::uint32_t>::max()) {
    return false;
  }
  slot = static_cast<std::uint32_t>(field.value);
  return true;
}

bool TakeBytesField(const ProtoField& field, std::optional<Bytes>& slot) {
  if (slot.has_value() || field.type != WireType::kLengthDelimited) return false;
  slot = field.bytes;
  return true;
}

}  // namespace parley::protocol
