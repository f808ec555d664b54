// Arithmetic modulo p = 2^255 - 19, for the steps of XEdDSA that libsodium
// does not offer: mapping a Montgomery u-coordinate to an Edwards
// y-coordinate, y = (u - 1) / (u + 1), and the points of verification with
// a precomputed key (edwards25519.h).
//
// Internal to the crypto layer and its tests. Only public values pass
// through it (public keys, signatures), so it makes no constant-time promise.
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
  FieldElement() : limbs_{} {}  // zero
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
  // this^((p - 5) / 8) = this^(2^252 - 3), the core of a square root.
  FieldElement PowP58() const;
  // The low bit of the canonical encoding (Ed25519's "negative").
  bool IsNegative() const { return (ToBytes()[0] & 1) != 0; }
  FieldElement Negate() const { return Zero() - *this; }
  friend bool operator==(const FieldElement& a, const FieldElement& b) { return a.ToBytes() == b.ToBytes(); }

 private:
  explicit FieldElement(std::array<std::uint64_t, 5> limbs) : limbs_(limbs) {}
  // this^(2^250 - 1), and this^11 on the way: the common start of Invert and PowP58.
  FieldElement Pow2To250Minus1(FieldElement& z11) const;
  std::array<std::uint64_t, 5> limbs_;
};

// Inline: the point arithmetic of edwards25519.cc is made of these.
namespace field25519_internal {

using u64 = std::uint64_t;
// __extension__: 128-bit integers are a GCC and Clang extension -Wpedantic would flag.
__extension__ typedef unsigned __int128 u128;

inline constexpr u64 kMask51 = (u64{1} << 51) - 1;

// Brings limbs below 2^63 back to 51 bits (limb 1 may keep one extra unit),
// folding the carry out of limb 4 into limb 0 as 2^255 = 19 (mod p).
inline std::array<u64, 5> Carry(std::array<u64, 5> h) {
  h[1] += h[0] >> 51;
  h[0] &= kMask51;
  h[2] += h[1] >> 51;
  h[1] &= kMask51;
  h[3] += h[2] >> 51;
  h[2] &= kMask51;
  h[4] += h[3] >> 51;
  h[3] &= kMask51;
  h[0] += 19 * (h[4] >> 51);
  h[4] &= kMask51;
  h[1] += h[0] >> 51;
  h[0] &= kMask51;
  return h;
}

// Reduces five 128-bit column sums (each below 2^115) to limbs below 2^52.
inline std::array<u64, 5> CarryWide(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  r1 += static_cast<u64>(r0 >> 51);
  r2 += static_cast<u64>(r1 >> 51);
  r3 += static_cast<u64>(r2 >> 51);
  r4 += static_cast<u64>(r3 >> 51);
  std::array<u64, 5> h = {static_cast<u64>(r0) & kMask51, static_cast<u64>(r1) & kMask51,
                          static_cast<u64>(r2) & kMask51, static_cast<u64>(r3) & kMask51,
                          static_cast<u64>(r4) & kMask51};
  // r4 < 2^107 here, so the carry times 19 fits in 64 bits.
  h[0] += 19 * static_cast<u64>(r4 >> 51);
  h[1] += h[0] >> 51;
  h[0] &= kMask51;
  return h;
}

}  // namespace field25519_internal

inline FieldElement operator+(const FieldElement& a, const FieldElement& b) {
  std::array<std::uint64_t, 5> h;
  for (int i = 0; i < 5; ++i) h[i] = a.limbs_[i] + b.limbs_[i];
  return FieldElement(field25519_internal::Carry(h));
}

inline FieldElement operator-(const FieldElement& a, const FieldElement& b) {
  // Adding 4p (limbs 2^53 - 76, 2^53 - 4, ...) keeps every limb positive for
  // subtrahend limbs below 2^52.
  constexpr std::uint64_t kFourPLow = (std::uint64_t{1} << 53) - 76;
  constexpr std::uint64_t kFourPHigh = (std::uint64_t{1} << 53) - 4;
  std::array<std::uint64_t, 5> h;
  h[0] = a.limbs_[0] + kFourPLow - b.limbs_[0];
  for (int i = 1; i < 5; ++i) h[i] = a.limbs_[i] + kFourPHigh - b.limbs_[i];
  return FieldElement(field25519_internal::Carry(h));
}

inline FieldElement operator*(const FieldElement& a, const FieldElement& b) {
  using field25519_internal::u128;
  const auto& f = a.limbs_;
  const auto& g = b.limbs_;
  // Limb products whose index sum reaches 5 wrap around times 19.
  const std::uint64_t g1_19 = 19 * g[1], g2_19 = 19 * g[2], g3_19 = 19 * g[3], g4_19 = 19 * g[4];
  const u128 r0 =
      u128{f[0]} * g[0] + u128{f[1]} * g4_19 + u128{f[2]} * g3_19 + u128{f[3]} * g2_19 + u128{f[4]} * g1_19;
  const u128 r1 =
      u128{f[0]} * g[1] + u128{f[1]} * g[0] + u128{f[2]} * g4_19 + u128{f[3]} * g3_19 + u128{f[4]} * g2_19;
  const u128 r2 =
      u128{f[0]} * g[2] + u128{f[1]} * g[1] + u128{f[2]} * g[0] + u128{f[3]} * g4_19 + u128{f[4]} * g3_19;
  const u128 r3 =
      u128{f[0]} * g[3] + u128{f[1]} * g[2] + u128{f[2]} * g[1] + u128{f[3]} * g[0] + u128{f[4]} * g4_19;
  const u128 r4 =
      u128{f[0]} * g[4] + u128{f[1]} * g[3] + u128{f[2]} * g[2] + u128{f[3]} * g[1] + u128{f[4]} * g[0];
  return FieldElement(field25519_internal::CarryWide(r0, r1, r2, r3, r4));
}

inline FieldElement FieldElement::Square() const {
  using field25519_internal::u128;
  const auto& f = limbs_;
  const std::uint64_t f0_2 = 2 * f[0], f1_2 = 2 * f[1];
  const std::uint64_t f1_38 = 38 * f[1], f2_38 = 38 * f[2], f3_38 = 38 * f[3];
  const std::uint64_t f3_19 = 19 * f[3], f4_19 = 19 * f[4];
  const u128 r0 = u128{f[0]} * f[0] + u128{f1_38} * f[4] + u128{f2_38} * f[3];
  const u128 r1 = u128{f0_2} * f[1] + u128{f2_38} * f[4] + u128{f3_19} * f[3];
  const u128 r2 = u128{f0_2} * f[2] + u128{f[1]} * f[1] + u128{f3_38} * f[4];
  const u128 r3 = u128{f0_2} * f[3] + u128{f1_2} * f[2] + u128{f4_19} * f[4];
  const u128 r4 = u128{f0_2} * f[4] + u128{f1_2} * f[3] + u128{f[2]} * f[2];
  return FieldElement(field25519_internal::CarryWide(r0, r1, r2, r3, r4));
}

// True if the 32 little-endian bytes encode a number below p (so bit 255 is
// clear and the value is not one of p .. 2^255 - 1).
bool IsCanonicalFieldEncoding(std::span<const std::uint8_t, 32> bytes);

// The Edwards y-coordinate (canonical, sign bit clear) of the point whose
// Montgomery u-coordinate is u. nullopt when u is not canonical (u >= p) or
// when u = p - 1, where u + 1 has no inverse.
std::optional<std::array<std::uint8_t, 32>> MontgomeryUToEdwardsY(std::span<const std::uint8_t, 32> u);

}  // namespace parley::crypto
