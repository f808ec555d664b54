// Arithmetic modulo p = 2^255 - 19, for the one step of XEdDSA that libsodium
// does not offer: mapping a Montgomery u-coordinate to an Edwards
// y-coordinate, y = (u - 1) / (u + 1).
//
// Internal to the crypto layer (xeddsa.cc) and its tests. Only public values
// pass through it (public keys), so it makes no constant-time promise.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace parley::crypto {

// An element of GF(2^255 - 19) in five limbs of radix 2^51. Every operation
// returns limbs below 2^52, which is what the next multiplication needs.
class FieldElement {
 public:
  static FieldElement Zero() { return FieldElement({0, 0, 0, 0, 0}); }
  static FieldElement One() { return FieldElement({1, 0, 0, 0, 0}); }
  // Reads 32 little-endian bytes. Bit 255 is ignored; values from p to
  // 2^255 - 1 are accepted and stand for their residue.
  static FieldElement FromBytes(std::span<const std::uint8_t, 32> bytes);
  // The canonical encoding: little-endian, fully reduced below p.
  std::array<std::uint8_t, 32> ToBytes() const;
  bool IsZero() const;

  friend FieldElement operator+(const FieldElement& a, const FieldElement& b);
  friend FieldElement operator-(const FieldElement& a, const FieldElement& b);
  friend FieldElement operator*(const FieldElement& a, const FieldElement& b);
  FieldElement Square() const;
  // this^(p - 2): the inverse of a nonzero element, and zero for zero.
  FieldElement Invert() const;

 private:
  explicit FieldElement(std::array<std::uint64_t, 5> limbs) : limbs_(limbs) {}
  std::array<std::uint64_t, 5> limbs_;
};

// True if the 32 little-endian bytes encode a number below p (so bit 255 is
// clear and the value is not one of p .. 2^255 - 1).
bool IsCanonicalFieldEncoding(std::span<const std::uint8_t, 32> bytes);

// The Edwards y-coordinate (canonical, sign bit clear) of the point whose
// Montgomery u-coordinate is u. nullopt when u is not canonical (u >= p) or
// when u = p - 1, where u + 1 has no inverse.
std::optional<std::array<std::uint8_t, 32>> MontgomeryUToEdwardsY(std::span<const std::uint8_t, 32> u);

}  // namespace parley::crypto
