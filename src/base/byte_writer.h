// ByteWriter: builds byte strings (the CBB to ByteReader's CBS).
//
// Appends to an owned, growing buffer. Writing cannot fail except by running
// out of memory; the encoders above it enforce their own size limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace parley {

class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(std::size_t reserve) { out_.reserve(reserve); }

  void WriteU8(std::uint8_t v) { out_.push_back(v); }
  void WriteU16BE(std::uint16_t v);
  void WriteU32BE(std::uint32_t v);
  void WriteU64BE(std::uint64_t v);
  void WriteBytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void WriteVarint(std::uint64_t v);

  std::size_t size() const { return out_.size(); }
  const std::vector<std::uint8_t>& bytes() const { return out_; }
  std::vector<std::uint8_t> Take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

// The number of bytes WriteVarint(v) appends.
std::size_t VarintSize(std::uint64_t v);

}  // namespace parley
