// SHA-512, HMAC-SHA256, HKDF-SHA256 (RFC 5869) and constant-time comparison.
//
// SHA-512 is libsodium's. SHA-256 (under HMAC and HKDF) is OpenSSL's, which
// uses the CPU's SHA extensions where there are any: HMAC-SHA256 is most of
// the symmetric work of every message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

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

// Bytes reserved inline for one SHA-256 state (hash.cc checks that OpenSSL's
// SHA256_CTX fits).
inline constexpr std::size_t kSha256StateStorageSize = 112;

// An HMAC-SHA256 key after its inner and outer pad blocks have been hashed.
// Every MAC under it starts from a copy of these two states, so a key that
// authenticates several inputs (a chain key's two derivatives, HKDF's
// blocks) is hashed once. Wiped on destruction.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(Bytes key);
  ~HmacSha256Key();
  HmacSha256Key(const HmacSha256Key&) = default;
  HmacSha256Key& operator=(const HmacSha256Key&) = default;

  HmacSha256Tag Mac(Bytes data) const;
  // The MAC written to out (32 bytes), so that a secret need not pass
  // through an unwiped temporary.
  void MacInto(Bytes data, std::span<std::uint8_t, 32> out) const;

 private:
  friend class HmacSha256Hasher;
  alignas(16) unsigned char inner_[kSha256StateStorageSize];
  alignas(16) unsigned char outer_[kSha256StateStorageSize];
};

// Incremental HMAC-SHA256, for MACs over several parts without copying them
// together. The key may be of any length. Final ends the computation: call it
// once. The state is wiped on destruction.
class HmacSha256Hasher {
 public:
  explicit HmacSha256Hasher(Bytes key);
  explicit HmacSha256Hasher(const HmacSha256Key& key);
  ~HmacSha256Hasher();
  HmacSha256Hasher(const HmacSha256Hasher&) = delete;
  HmacSha256Hasher& operator=(const HmacSha256Hasher&) = delete;
  void Update(Bytes data);
  HmacSha256Tag Final();
  void FinalInto(std::span<std::uint8_t, 32> out);

 private:
  HmacSha256Key key_;  // inner_ runs over the data; outer_ waits for Final
};

// The longest HKDF-SHA256 output RFC 5869 allows: 255 blocks of 32 bytes.
inline constexpr std::size_t kHkdfMaxOutputSize = 255 * 32;

// HKDF-SHA256: extract with salt (an empty salt means 32 zero bytes), then
// expand with info to out_len bytes. kInvalidLength if out_len > 255 * 32.
CryptoResult<SecretBuffer> Hkdf(Bytes ikm, Bytes salt, Bytes info, std::size_t out_len);

// The same HKDF into a fixed-size secret, without a heap allocation.
void HkdfInto(Bytes ikm, Bytes salt, Bytes info, std::span<std::uint8_t> out);
template <std::size_t N>
SecretArray<N> HkdfArray(Bytes ikm, Bytes salt, Bytes info) {
  static_assert(N <= kHkdfMaxOutputSize);
  SecretArray<N> out;
  HkdfInto(ikm, salt, info, out.bytes());
  return out;
}

// Compares two byte strings in time that depends only on their lengths.
bool ConstantTimeEqual(Bytes a, Bytes b);

}  // namespace parley::crypto
