// ByteReader: the one way Parley reads untrusted bytes.
//
// A non-owning cursor over a span, in the spirit of BoringSSL's CBS. Every
// read is bounds-checked and consumes bytes only when it succeeds, so reads
// chain with && and a failed chain leaves the reader where the failure was.
// Lengths that come from the input are checked against what remains (and by
// callers against their own caps) before anything is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace parley {

using Bytes = std::span<const std::uint8_t>;

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(Bytes data) : data_(data) {}

  std::size_t remaining() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  // The bytes not yet read.
  Bytes rest() const { return data_; }

  bool ReadU8(std::uint8_t& out);
  bool ReadU16BE(std::uint16_t& out);
  bool ReadU32BE(std::uint32_t& out);
  bool ReadU64BE(std::uint64_t& out);
  // A view of the next n bytes; nothing is copied.
  bool ReadBytes(std::size_t n, Bytes& out);
  // Copies exactly out.size() bytes.
  bool CopyBytes(std::span<std::uint8_t> out);
  bool Skip(std::size_t n);
  // Protobuf-style base-128 varint: at most 10 bytes, no overflow past 64 bits.
  bool ReadVarint(std::uint64_t& out);
  // A child reader over a length-prefixed region (length as a varint).
  bool ReadVarintPrefixed(ByteReader& child);
  // A child reader over a region with a 32-bit big-endian length prefix.
  bool ReadU32Prefixed(ByteReader& child);

 private:
  Bytes data_;
};

}  // namespace parley
