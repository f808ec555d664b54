#include "crypto/field25519.h"

namespace parley::crypto {

namespace {

using field25519_internal::Carry;
using field25519_internal::kMask51;
using field25519_internal::u64;

u64 Load64(const std::uint8_t* p) {
  u64 v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void Store64(std::uint8_t* p, u64 v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
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

FieldElement FieldElement::Pow2To250Minus1(FieldElement& z11) const {
  // The usual addition chain: 249 squarings and 10 multiplications.
  auto square_n = [](FieldElement x, int n) {
    for (int i = 0; i < n; ++i) x = x.Square();
    return x;
  };
  const FieldElement& z = *this;
  const FieldElement z2 = z.Square();                             // 2
  const FieldElement z9 = square_n(z2, 2) * z;                    // 9
  z11 = z9 * z2;                                                  // 11
  const FieldElement z_5_0 = z11.Square() * z9;                   // 2^5 - 1
  const FieldElement z_10_0 = square_n(z_5_0, 5) * z_5_0;         // 2^10 - 1
  const FieldElement z_20_0 = square_n(z_10_0, 10) * z_10_0;      // 2^20 - 1
  const FieldElement z_40_0 = square_n(z_20_0, 20) * z_20_0;      // 2^40 - 1
  const FieldElement z_50_0 = square_n(z_40_0, 10) * z_10_0;      // 2^50 - 1
  const FieldElement z_100_0 = square_n(z_50_0, 50) * z_50_0;     // 2^100 - 1
  const FieldElement z_200_0 = square_n(z_100_0, 100) * z_100_0;  // 2^200 - 1
  return square_n(z_200_0, 50) * z_50_0;                          // 2^250 - 1
}

FieldElement FieldElement::Invert() const {
  // Fermat: z^(p-2) = z^(2^255 - 21) = (z^(2^250 - 1))^(2^5) * z^11.
  FieldElement z11 = Zero();
  FieldElement x = Pow2To250Minus1(z11);
  for (int i = 0; i < 5; ++i) x = x.Square();
  return x * z11;
}

FieldElement FieldElement::PowP58() const {
  // z^(2^252 - 3) = (z^(2^250 - 1))^(2^2) * z.
  FieldElement z11 = Zero();
  FieldElement x = Pow2To250Minus1(z11);
  return x.Square().Square() * *this;
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
