#include "crypto/field25519.h"

namespace parley::crypto {

namespace {

using u64 = std::uint64_t;
// __extension__: 128-bit integers are a GCC and Clang extension -Wpedantic would flag.
__extension__ typedef unsigned __int128 u128;

constexpr u64 kMask51 = (u64{1} << 51) - 1;

u64 Load64(const std::uint8_t* p) {
  u64 v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void Store64(std::uint8_t* p, u64 v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Brings limbs below 2^63 back to 51 bits (limb 1 may keep one extra unit),
// folding the carry out of limb 4 into limb 0 as 2^255 = 19 (mod p).
std::array<u64, 5> Carry(std::array<u64, 5> h) {
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
std::array<u64, 5> CarryWide(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
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

}  // namespace

FieldElement FieldElement::FromBytes(std::span<const std::uint8_t, 32> s) {
  return FieldElement({Load64(s.data()) & kMask51, (Load64(s.data() + 6) >> 3) & kMask51,
                       (Load64(s.data() + 12) >> 6) & kMask51, (Load64(s.data() + 19) >> 1) & kMask51,
                       (Load64(s.data() + 24) >> 12) & kMask51});
}

std::array<std::uint8_t, 32> FieldElement::ToBytes() const {
  std::array<u64, 5> h = Carry(Carry(limbs_));
  // Now h < 2^255 + 2^51 < 2p. q = 1 exactly when h >= p, i.e. h + 19 >= 2^255.
  u64 q = (h[0] + 19) >> 51;
  q = (h[1] + q) >> 51;
  q = (h[2] + q) >> 51;
  q = (h[3] + q) >> 51;
  q = (h[4] + q) >> 51;
  // Subtract q * p: add 19q, then drop 2^255.
  h[0] += 19 * q;
  h[1] += h[0] >> 51;
  h[0] &= kMask51;
  h[2] += h[1] >> 51;
  h[1] &= kMask51;
  h[3] += h[2] >> 51;
  h[2] &= kMask51;
  h[4] += h[3] >> 51;
  h[3] &= kMask51;
  h[4] &= kMask51;

  std::array<std::uint8_t, 32> out;
  Store64(out.data(), h[0] | (h[1] << 51));
  Store64(out.data() + 8, (h[1] >> 13) | (h[2] << 38));
  Store64(out.data() + 16, (h[2] >> 26) | (h[3] << 25));
  Store64(out.data() + 24, (h[3] >> 39) | (h[4] << 12));
  return out;
}

bool FieldElement::IsZero() const {
  const auto bytes = ToBytes();
  std::uint8_t any = 0;
  for (std::uint8_t b : bytes) any |= b;
  return any == 0;
}

FieldElement operator+(const FieldElement& a, const FieldElement& b) {
  std::array<std::uint64_t, 5> h;
  for (int i = 0; i < 5; ++i) h[i] = a.limbs_[i] + b.limbs_[i];
  return FieldElement(Carry(h));
}

FieldElement operator-(const FieldElement& a, const FieldElement& b) {
  // Adding 4p (limbs 2^53 - 76, 2^53 - 4, ...) keeps every limb positive for
  // subtrahend limbs below 2^52.
  constexpr std::uint64_t kFourPLow = (std::uint64_t{1} << 53) - 76;
  constexpr std::uint64_t kFourPHigh = (std::uint64_t{1} << 53) - 4;
  std::array<std::uint64_t, 5> h;
  h[0] = a.limbs_[0] + kFourPLow - b.limbs_[0];
  for (int i = 1; i < 5; ++i) h[i] = a.limbs_[i] + kFourPHigh - b.limbs_[i];
  return FieldElement(Carry(h));
}

FieldElement operator*(const FieldElement& a, const FieldElement& b) {
  const auto& f = a.limbs_;
  const auto& g = b.limbs_;
  // Limb products whose index sum reaches 5 wrap around times 19.
  const u64 g1_19 = 19 * g[1], g2_19 = 19 * g[2], g3_19 = 19 * g[3], g4_19 = 19 * g[4];
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
  return FieldElement(CarryWide(r0, r1, r2, r3, r4));
}

FieldElement FieldElement::Square() const {
  const auto& f = limbs_;
  const u64 f0_2 = 2 * f[0], f1_2 = 2 * f[1];
  const u64 f1_38 = 38 * f[1], f2_38 = 38 * f[2], f3_38 = 38 * f[3];
  const u64 f3_19 = 19 * f[3], f4_19 = 19 * f[4];
  const u128 r0 = u128{f[0]} * f[0] + u128{f1_38} * f[4] + u128{f2_38} * f[3];
  const u128 r1 = u128{f0_2} * f[1] + u128{f2_38} * f[4] + u128{f3_19} * f[3];
  const u128 r2 = u128{f0_2} * f[2] + u128{f[1]} * f[1] + u128{f3_38} * f[4];
  const u128 r3 = u128{f0_2} * f[3] + u128{f1_2} * f[2] + u128{f4_19} * f[4];
  const u128 r4 = u128{f0_2} * f[4] + u128{f1_2} * f[3] + u128{f[2]} * f[2];
  return FieldElement(CarryWide(r0, r1, r2, r3, r4));
}

FieldElement FieldElement::Invert() const {
  // Fermat: z^(p-2) = z^(2^255 - 21), by the usual chain of 254 squarings
  // and 11 multiplications.
  auto square_n = [](FieldElement x, int n) {
    for (int i = 0; i < n; ++i) x = x.Square();
    return x;
  };
  const FieldElement& z = *this;
  const FieldElement z2 = z.Square();                             // 2
  const FieldElement z9 = square_n(z2, 2) * z;                    // 9
  const FieldElement z11 = z9 * z2;                               // 11
  const FieldElement z_5_0 = z11.Square() * z9;                   // 2^5 - 1
  const FieldElement z_10_0 = square_n(z_5_0, 5) * z_5_0;         // 2^10 - 1
  const FieldElement z_20_0 = square_n(z_10_0, 10) * z_10_0;      // 2^20 - 1
  const FieldElement z_40_0 = square_n(z_20_0, 20) * z_20_0;      // 2^40 - 1
  const FieldElement z_50_0 = square_n(z_40_0, 10) * z_10_0;      // 2^50 - 1
  const FieldElement z_100_0 = square_n(z_50_0, 50) * z_50_0;     // 2^100 - 1
  const FieldElement z_200_0 = square_n(z_100_0, 100) * z_100_0;  // 2^200 - 1
  const FieldElement z_250_0 = square_n(z_200_0, 50) * z_50_0;    // 2^250 - 1
  return square_n(z_250_0, 5) * z11;                              // 2^255 - 32 + 11
}

bool IsCanonicalFieldEncoding(std::span<const std::uint8_t, 32> bytes) {
  if (bytes[31] & 0x80) return false;
  // Below 2^255, the only non-canonical values are p .. 2^255 - 1:
  // 0x7fff...ff followed by a low byte of 0xed or more.
  if (bytes[31] != 0x7f) return true;
  for (int i = 30; i >= 1; --i) {
    if (bytes[i] != 0xff) return true;
  }
  return bytes[0] < 0xed;
}

std::optional<std::array<std::uint8_t, 32>> MontgomeryUToEdwardsY(std::span<const std::uint8_t, 32> u_bytes) {
  if (!IsCanonicalFieldEncoding(u_bytes)) return std::nullopt;
  const FieldElement u = FieldElement::FromBytes(u_bytes);
  const FieldElement u_plus_one = u + FieldElement::One();
  if (u_plus_one.IsZero()) return std::nullopt;
  return ((u - FieldElement::One()) * u_plus_one.Invert()).ToBytes();
}

}  // namespace parley::crypto
