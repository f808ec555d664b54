#include "base/byte_reader.h"

namespace parley {

bool ByteReader::ReadU8(std::uint8_t& out) {
  if (data_.empty()) return false;
  out = data_[0];
  data_ = data_.subspan(1);
  return true;
}

bool ByteReader::ReadU16BE(std::uint16_t& out) {
  if (data_.size() < 2) return false;
  out = static_cast<std::uint16_t>((data_[0] << 8) | data_[1]);
  data_ = data_.subspan(2);
  return true;
}

bool ByteReader::ReadU32BE(std::uint32_t& out) {
  if (data_.size() < 4) return false;
  out = (std::uint32_t{data_[0]} << 24) | (std::uint32_t{data_[1]} << 16) | (std::uint32_t{data_[2]} << 8) |
        std::uint32_t{data_[3]};
  data_ = data_.subspan(4);
  return true;
}

bool ByteReader::ReadU64BE(std::uint64_t& out) {
  if (data_.size() < 8) return false;
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | data_[static_cast<std::size_t>(i)];
  out = v;
  data_ = data_.subspan(8);
  return true;
}

bool ByteReader::ReadBytes(std::size_t n, Bytes& out) {
  if (data_.size() < n) return false;
  out = data_.first(n);
  data_ = data_.subspan(n);
  return true;
}

bool ByteReader::CopyBytes(std::span<std::uint8_t> out) {
  if (data_.size() < out.size()) return false;
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = data_[i];
  data_ = data_.subspan(out.size());
  return true;
}

bool ByteReader::Skip(std::size_t n) {
  if (data_.size() < n) return false;
  data_ = data_.subspan(n);
  return true;
}

bool ByteReader::ReadVarint(std::uint64_t& out) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    if (i >= data_.size()) return false;
    const std::uint8_t b = data_[i];
    if (i == 9 && b > 1) return false;  // would overflow 64 bits
    v |= std::uint64_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80) == 0) {
      out = v;
      data_ = data_.subspan(i + 1);
      return true;
    }
  }
  return false;
}

bool ByteReader::ReadVarintPrefixed(ByteReader& child) {
  ByteReader copy = *this;
  std::uint64_t len = 0;
  Bytes body;
  if (!copy.ReadVarint(len) || len > copy.remaining() ||
      !copy.ReadBytes(static_cast<std::size_t>(len), body)) {
    return false;
  }
  *this = copy;
  child = ByteReader(body);
  return true;
}

bool ByteReader::ReadU32Prefixed(ByteReader& child) {
  ByteReader copy = *this;
  std::uint32_t len = 0;
  Bytes body;
  if (!copy.ReadU32BE(len) || !copy.ReadBytes(len, body)) return false;
  *this = copy;
  child = ByteReader(body);
  return true;
}

}  // namespace parley
