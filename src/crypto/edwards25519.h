// Ed25519 verification under a key with a precomputed table, for keys that
// verify many signatures (a group sender's signing key).
//
// libsodium's verification spends most of its time on the 253 doublings of
// sB - hA. With the multiples (1..8) * 256^i * A (i = 0..31) precomputed, as
// libsodium does for B only, both sB and hA cost 64 table additions and share
// 4 doublings, about 2.5 times less. The table costs about as much as two
// verifications to build and takes 30 KiB.
//
// Internal to the crypto layer (xeddsa.cc) and its tests. Variable time: only
// public values (keys, signatures, messages) pass through it.
#pragma once

#include <array>
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

// (j + 1) * 256^i * P for i = 0..31, j = 0..7.
using NielsTable = std::array<std::array<NielsPoint, 8>, 32>;

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
  NielsTable table_;  // multiples of A
};

}  // namespace parley::crypto
