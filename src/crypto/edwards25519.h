// Ed25519 verification under a key with a precomputed table, for keys that
// verify many signatures (a group sender's signing key).
//
// libsodium's verification spends most of its time on the 253 doublings of
// sB - hA. With multiples of A precomputed (as libsodium does for B only),
// hA costs 51 table additions and 5 doublings; sB costs 32 additions from a
// process-wide table of B (radix 256, 480 KiB, made on first use). That is
// about half of libsodium's work. A key's table costs about as much as three
// verifications to build and takes 49 KiB.
//
// Internal to the crypto layer (xeddsa.cc) and its tests. Variable time: only
// public values (keys, signatures, messages) pass through it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "base/byte_reader.h"
#include "crypto/field25519.h"

namespace parley::crypto {

// A point in the precomputed affine form (y + x, y - x, 2dxy).
struct NielsPoint {
  FieldElement y_plus_x = FieldElement::One();
  FieldElement y_minus_x = FieldElement::One();
  FieldElement xy2d = FieldElement::Zero();
};

// Rows of multiples: row i holds (j + 1) * 2^(step * i) * P for j = 0..Multiples - 1.
template <std::size_t Rows, std::size_t Multiples>
using NielsTable = std::array<std::array<NielsPoint, Multiples>, Rows>;

// A key's table: signed radix-32 digits (51 for a scalar below 2^253), two
// digits a row (step 10): 26 rows of 16 multiples, 49 KiB.
inline constexpr std::size_t kKeyWindowBits = 5;
inline constexpr std::size_t kKeyDigits = 51;
using KeyTable = NielsTable<(kKeyDigits + 1) / 2, std::size_t{1} << (kKeyWindowBits - 1)>;

class Ed25519Verifier {
 public:
  // nullptr if public_key (y with x's sign in bit 255) is not the encoding
  // of a curve point. Callers pass only keys libsodium has accepted: this
  // does not repeat libsodium's key checks (canonical y, not of small order).
  static std::unique_ptr<Ed25519Verifier> Create(std::span<const std::uint8_t, 32> public_key);

  // libsodium 1.0.18's crypto_sign_ed25519_verify_detached for this key:
  // s must be below L, R = sB - hA with h = SHA-512(R || A || M) mod L must
  // encode to the signature's first half, and R must not be of small order.
  bool Verify(Bytes message, std::span<const std::uint8_t, 64> signature) const;

  std::span<const std::uint8_t, 32> public_key() const { return public_key_; }

 private:
  Ed25519Verifier() = default;

  std::array<std::uint8_t, 32> public_key_{};
  KeyTable table_;  // multiples of A
};

}  // namespace parley::crypto
