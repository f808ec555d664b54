// Secret bytes: key material that wipes itself and cannot be printed.
//
// SecretArray<N> holds a fixed-size secret (a private key, a chain key);
// SecretBuffer a variable-size one (an HKDF output, a plaintext). Both zero
// their memory on destruction and when moved from, and print as <redacted>.
// Access to the bytes is explicit (bytes()), so a secret never converts to a
// printable or loggable type by accident.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <vector>

namespace parley {

// Zeroes memory in a way the compiler may not elide.
void WipeMemory(void* p, std::size_t n);

template <std::size_t N>
class SecretArray {
 public:
  static constexpr std::size_t kSize = N;

  SecretArray() { data_.fill(0); }
  explicit SecretArray(std::span<const std::uint8_t, N> src) {
    for (std::size_t i = 0; i < N; ++i) data_[i] = src[i];
  }
  SecretArray(const SecretArray&) = default;
  SecretArray& operator=(const SecretArray&) = default;
  SecretArray(SecretArray&& o) noexcept : data_(o.data_) { o.Wipe(); }
  SecretArray& operator=(SecretArray&& o) noexcept {
    if (this != &o) {
      data_ = o.data_;
      o.Wipe();
    }
    return *this;
  }
  ~SecretArray() { Wipe(); }

  std::span<std::uint8_t, N> bytes() { return data_; }
  std::span<const std::uint8_t, N> bytes() const { return data_; }
  std::uint8_t* data() { return data_.data(); }
  const std::uint8_t* data() const { return data_.data(); }
  static constexpr std::size_t size() { return N; }

  void Wipe() { WipeMemory(data_.data(), N); }

 private:
  std::array<std::uint8_t, N> data_;
};

class SecretBuffer {
 public:
  SecretBuffer() = default;
  explicit SecretBuffer(std::size_t n) : data_(n, 0) {}
  explicit SecretBuffer(std::span<const std::uint8_t> src) : data_(src.begin(), src.end()) {}
  SecretBuffer(const SecretBuffer&) = default;
  SecretBuffer& operator=(const SecretBuffer& o) {
    if (this != &o) {
      Wipe();
      data_ = o.data_;
    }
    return *this;
  }
  SecretBuffer(SecretBuffer&& o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
  SecretBuffer& operator=(SecretBuffer&& o) noexcept {
    if (this != &o) {
      Wipe();
      data_ = std::move(o.data_);
      o.data_.clear();
    }
    return *this;
  }
  ~SecretBuffer() { Wipe(); }

  std::span<std::uint8_t> bytes() { return data_; }
  std::span<const std::uint8_t> bytes() const { return data_; }
  std::uint8_t* data() { return data_.data(); }
  const std::uint8_t* data() const { return data_.data(); }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  // Shrinks to n bytes, wiping what is cut off.
  void Truncate(std::size_t n);

  void Wipe() { WipeMemory(data_.data(), data_.size()); }

 private:
  std::vector<std::uint8_t> data_;
};

// Writes "<redacted>"; defined out of line to keep <ostream> out of this header.
std::ostream& PrintRedacted(std::ostream& os);
inline std::ostream& operator<<(std::ostream& os, const SecretBuffer&) { return PrintRedacted(os); }
template <std::size_t N>
std::ostream& operator<<(std::ostream& os, const SecretArray<N>&) {
  return PrintRedacted(os);
}

}  // namespace parley
