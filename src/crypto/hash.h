// SHA-512, HMAC-SHA256, HKDF-SHA256 (RFC 5869) and constant-time comparison.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/byte_reader.h"
#include "base/secret.h"
#include "crypto/error.h"

namespace parley::crypto {

using Sha512Digest = std::array<std::uint8_t, 64>;
using HmacSha256Tag = std::array<std::uint8_t, 32>;

Sha512Digest Sha512(Bytes data);

// Bytes reserved inline for a hash state, so that hashing never allocates.
// hash.cc checks that libsodium's state types fit.
inline constexpr std::size_t kHashStateStorageSize = 256;

// Incremental SHA-512. Final ends the computation: call it once. The state is
// wiped on destruction.
class Sha512Hasher {
 public:
  Sha512Hasher();
  ~Sha512Hasher();
  Sha512Hasher(const Sha512Hasher&) = delete;
  Sha512Hasher& operator=(const Sha512Hasher&) = delete;
  void Update(Bytes data);
  Sha512Digest Final();

 private:
  alignas(16) unsigned char state_[kHashStateStorageSize];
};

HmacSha256Tag HmacSha256(Bytes key, Bytes data);

// Incremental HMAC-SHA256, for MACs over several parts without copying them
// together. The key may be of any length. Final ends the computation: call it
// once. The state is wiped on destruction.
class HmacSha256Hasher {
 public:
  explicit HmacSha256Hasher(Bytes key);
  ~HmacSha256Hasher();
  HmacSha256Hasher(const HmacSha256Hasher&) = delete;
  HmacSha256Hasher& operator=(const HmacSha256Hasher&) = delete;
  void Update(Bytes data);
  HmacSha256Tag Final();

 private:
  alignas(16) unsigned char state_[kHashStateStorageSize];
};

// The longest HKDF-SHA256 output RFC 5869 allows: 255 blocks of 32 bytes.
inline constexpr std::size_t kHkdfMaxOutputSize = 255 * 32;

// HKDF-SHA256: extract with salt (an empty salt means 32 zero bytes), then
// expand with info to out_len bytes. kInvalidLength if out_len > 255 * 32.
CryptoResult<SecretBuffer> Hkdf(Bytes ikm, Bytes salt, Bytes info, std::size_t out_len);

// Compares two byte strings in time that depends only on their lengths.
bool ConstantTimeEqual(Bytes a, Bytes b);

}  // namespace parley::crypto
