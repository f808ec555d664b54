#include "base/proto.h"

namespace parley {

namespace {
constexpr std::uint64_t kMaxFieldNumber = (1u << 29) - 1;
}

bool ProtoReader::Next(ProtoField& field) {
  if (failed_ || reader_.empty()) return false;
  ByteReader r = reader_;
  std::uint64_t key = 0;
  if (!r.ReadVarint(key)) {
    failed_ = true;
    return false;
  }
  const std::uint64_t number = key >> 3;
  if (number == 0 || number > kMaxFieldNumber) {
    failed_ = true;
    return false;
  }
  ProtoField f;
  f.number = static_cast<std::uint32_t>(number);
  bool ok = false;
  switch (key & 7) {
    case 0:
      f.type = WireType::kVarint;
      ok = r.ReadVarint(f.value);
      break;
    case 1: {
      f.type = WireType::kFixed64;
      Bytes b;
      ok = r.ReadBytes(8, b);
      if (ok) {
        for (int i = 7; i >= 0; --i) f.value = (f.value << 8) | b[static_cast<std::size_t>(i)];
      }
      break;
    }
    case 2: {
      f.type = WireType::kLengthDelimited;
      ByteReader child;
      ok = r.ReadVarintPrefixed(child);
      if (ok) f.bytes = child.rest();
      break;
    }
    case 5: {
      f.type = WireType::kFixed32;
      Bytes b;
      ok = r.ReadBytes(4, b);
      if (ok) {
        for (int i = 3; i >= 0; --i) f.value = (f.value << 8) | b[static_cast<std::size_t>(i)];
      }
      break;
    }
    default:
      ok = false;
  }
  if (!ok) {
    failed_ = true;
    return false;
  }
  reader_ = r;
  field = f;
  return true;
}

void WriteVarintField(ByteWriter& w, std::uint32_t number, std::uint64_t value) {
  w.WriteVarint(std::uint64_t{number} << 3);
  w.WriteVarint(value);
}

void WriteBytesField(ByteWriter& w, std::uint32_t number, std::span<const std::uint8_t> bytes) {
  w.WriteVarint((std::uint64_t{number} << 3) | 2);
  w.WriteVarint(bytes.size());
  w.WriteBytes(bytes);
}

void WriteStringField(ByteWriter& w, std::uint32_t number, std::string_view s) {
  WriteBytesField(w, number,
                  std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

void WriteFixed64Field(ByteWriter& w, std::uint32_t number, std::uint64_t value) {
  w.WriteVarint((std::uint64_t{number} << 3) | 1);
  for (int i = 0; i < 8; ++i) w.WriteU8(static_cast<std::uint8_t>(value >> (8 * i)));
}

}  // namespace parley
