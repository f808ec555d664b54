// Shared pieces of the sender-key wire formats (internal to the protocol
// layer): the version byte and strict protobuf field extraction.
//
// The decoders built on these reject a field of the wrong wire type, a field
// that appears twice, and a uint32 field whose varint does not fit in 32 bits:
// libsignal writes each field once with its declared type, and the signature
// covers the exact bytes, so anything else is not a message it made.
#pragma once

#include <cstdint>
#include <optional>

#include "base/byte_reader.h"
#include "base/proto.h"
#include "protocol/error.h"
#include "protocol/limits.h"

namespace parley::protocol {

// 0x33: message version 3 in the high nibble, current version 3 in the low.
inline constexpr std::uint8_t kSenderKeyVersionByte = (kCiphertextVersion << 4) | kCiphertextVersion;

// Checks the high nibble of a version byte: below 3 is kLegacyVersion, above
// 3 is kUnknownVersion. The low nibble is not checked, as in libsignal.
ProtocolResult<void> CheckMessageVersion(std::uint8_t version_byte);

// Each stores the field's value into an empty slot; false if the slot is
// already set (a duplicate), the wire type is wrong or the value overflows.
bool TakeUint32Field(const ProtoField& field, std::optional<std::uint32_t>& slot);
bool TakeBytesField(const ProtoField& field, std::optional<Bytes>& slot);

}  // namespace parley::protocol
