// Edits of encoded protobuf messages for decoder error tests: remove, add,
// duplicate or rewrite one field while keeping the others byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "base/proto.h"

namespace parley::wire::testing {

using Buffer = std::vector<std::uint8_t>;

// The top-level fields of `message`, in order (the message must parse).
std::vector<ProtoField> FieldsOf(Bytes message);
// A field as it appears on the wire: key and value.
Buffer EncodeField(const ProtoField& field);
Buffer VarintField(std::uint32_t number, std::uint64_t value);
Buffer BytesField(std::uint32_t number, Bytes bytes);
Buffer Concat(Bytes a, Bytes b);

// Every field except those numbered `number`.
Buffer WithoutField(Bytes message, std::uint32_t number);
// Each field numbered `number` written twice in a row.
Buffer WithFieldTwice(Bytes message, std::uint32_t number);
// The value of each length-delimited field numbered `number` replaced by
// edit(value).
Buffer EditField(Bytes message, std::uint32_t number, const std::function<Buffer(Bytes)>& edit);
// Each field numbered `number` replaced by `replacement` (a whole field, or
// nothing).
Buffer ReplaceField(Bytes message, std::uint32_t number, Bytes replacement);

}  // namespace parley::wire::testing
