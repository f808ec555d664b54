// Protocol Buffers wire format over ByteReader / ByteWriter.
//
// Parley's hand-written schemas (the Signal messages, the client-server
// frames, stored records) are decoded field by field with ProtoReader, so the
// protobuf parser is the same bounds-checked reader as everything else.
// Groups (wire types 3 and 4) are rejected; unknown fields are skipped by the
// caller's switch default. Decoders check presence, sizes and duplicates.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/byte_reader.h"
#include "base/byte_writer.h"

namespace parley {

enum class WireType : std::uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kFixed32 = 5,
};

struct ProtoField {
  std::uint32_t number = 0;
  WireType type = WireType::kVarint;
  // Set for kVarint, kFixed64 and kFixed32 (little-endian value).
  std::uint64_t value = 0;
  // Set for kLengthDelimited: a view into the input.
  Bytes bytes;
};

class ProtoReader {
 public:
  explicit ProtoReader(Bytes data) : reader_(data) {}

  // Reads the next field. Returns false at the end of input or on malformed
  // input; failed() tells the two apart.
  bool Next(ProtoField& field);
  bool failed() const { return failed_; }

 private:
  ByteReader reader_;
  bool failed_ = false;
};

void WriteVarintField(ByteWriter& w, std::uint32_t number, std::uint64_t value);
void WriteBytesField(ByteWriter& w, std::uint32_t number, std::span<const std::uint8_t> bytes);
void WriteStringField(ByteWriter& w, std::uint32_t number, std::string_view s);
void WriteFixed64Field(ByteWriter& w, std::uint32_t number, std::uint64_t value);

}  // namespace parley
