// X25519 keys with libsignal's 33-byte serialization (0x05 || u-coordinate).
//
// PublicKey is a plain value; PrivateKey keeps its 32 clamped bytes in a
// SecretArray (wiped on destruction, printed as <redacted>). Agreement fails
// with kInvalidKey when the peer's key yields the all-zero shared secret.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <span>

#include "base/byte_reader.h"
#include "base/rng.h"
#include "base/secret.h"
#include "crypto/error.h"

namespace parley::crypto {

inline constexpr std::uint8_t kDjbKeyType = 0x05;
inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kSerializedPublicKeySize = 33;
inline constexpr std::size_t kPrivateKeySize = 32;

class PublicKey {
 public:
  PublicKey() = default;
  // Parses the 33-byte form; kInvalidKey on a wrong length or type byte.
  static CryptoResult<PublicKey> Deserialize(Bytes serialized);
  // Wraps a raw 32-byte u-coordinate; kInvalidKey on a wrong length.
  static CryptoResult<PublicKey> FromRaw(Bytes raw);

  std::array<std::uint8_t, kSerializedPublicKeySize> Serialize() const;
  std::span<const std::uint8_t, kPublicKeySize> raw() const { return u_; }

  friend bool operator==(const PublicKey&, const PublicKey&) = default;

 private:
  std::array<std::uint8_t, kPublicKeySize> u_{};
};

class PrivateKey {
 public:
  PrivateKey() = default;
  static PrivateKey Generate(Rng& rng);
  // Takes 32 bytes and clamps them; kInvalidKey on a wrong length.
  static CryptoResult<PrivateKey> FromBytes(Bytes bytes);

  PublicKey DerivePublic() const;
  // DerivePublic() == key, remembering the last few pairs confirmed on this
  // thread (by a keyed hash of both, nothing secret), so that a stored key
  // pair checked on every load costs one base-point multiplication, not one
  // per load.
  bool Matches(const PublicKey& key) const;
  // X25519(this, peer). kInvalidKey if the result is all zero.
  CryptoResult<SecretArray<32>> Agree(const PublicKey& peer) const;
  const SecretArray<kPrivateKeySize>& bytes() const { return key_; }

 private:
  SecretArray<kPrivateKeySize> key_;
};

// Prints "<redacted>", so a private key cannot reach a log or a test failure message.
std::ostream& operator<<(std::ostream& os, const PrivateKey& key);

struct KeyPair {
  PrivateKey private_key;
  PublicKey public_key;

  static KeyPair Generate(Rng& rng);
  static KeyPair FromPrivate(PrivateKey key);
};

}  // namespace parley::crypto
