#include "crypto/x25519.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <ostream>
#include <string_view>

#include "crypto/fatal_error.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace parley::crypto {

namespace {

static_assert(crypto_scalarmult_curve25519_BYTES == kPublicKeySize);
static_assert(crypto_scalarmult_curve25519_SCALARBYTES == kPrivateKeySize);

void Clamp(std::span<std::uint8_t, kPrivateKeySize> k) {
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
}

// Tags HMAC(private key, label || public key) of pairs that matched.
class MatchedPairs {
 public:
  static MatchedPairs& ForThisThread() {
    thread_local MatchedPairs pairs;
    return pairs;
  }
  static HmacSha256Tag Tag(const PrivateKey& private_key, const PublicKey& public_key) {
    static constexpr std::string_view kLabel = "Parley X25519 matched pair";
    HmacSha256Hasher hasher(private_key.bytes().bytes());
    hasher.Update(Bytes(reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size()));
    hasher.Update(public_key.raw());
    return hasher.Final();
  }
  bool Contains(const HmacSha256Tag& tag) const {
    return std::find(tags_.begin(), tags_.end(), tag) != tags_.end();
  }
  void Add(const HmacSha256Tag& tag) {
    tags_[next_] = tag;
    next_ = (next_ + 1) % tags_.size();
  }

 private:
  // All-zero tags never match: HMAC outputs are not all zero in practice.
  std::array<HmacSha256Tag, 8> tags_{};
  std::size_t next_ = 0;
};

}  // namespace

CryptoResult<PublicKey> PublicKey::Deserialize(Bytes serialized) {
  if (serialized.size() != kSerializedPublicKeySize) {
    return Fail(CryptoErrc::kInvalidKey, "serialized public key is not 33 bytes");
  }
  if (serialized[0] != kDjbKeyType) return Fail(CryptoErrc::kInvalidKey, "public key type is not 0x05");
  PublicKey key;
  std::copy(serialized.begin() + 1, serialized.end(), key.u_.begin());
  return key;
}

CryptoResult<PublicKey> PublicKey::FromRaw(Bytes raw) {
  if (raw.size() != kPublicKeySize) return Fail(CryptoErrc::kInvalidKey, "raw public key is not 32 bytes");
  PublicKey key;
  std::copy(raw.begin(), raw.end(), key.u_.begin());
  return key;
}

std::array<std::uint8_t, kSerializedPublicKeySize> PublicKey::Serialize() const {
  std::array<std::uint8_t, kSerializedPublicKeySize> out;
  out[0] = kDjbKeyType;
  std::copy(u_.begin(), u_.end(), out.begin() + 1);
  return out;
}

PrivateKey PrivateKey::Generate(Rng& rng) {
  PrivateKey key;
  rng.Fill(key.key_.bytes());
  Clamp(key.key_.bytes());
  return key;
}

CryptoResult<PrivateKey> PrivateKey::FromBytes(Bytes bytes) {
  if (bytes.size() != kPrivateKeySize) return Fail(CryptoErrc::kInvalidKey, "private key is not 32 bytes");
  PrivateKey key;
  std::copy(bytes.begin(), bytes.end(), key.key_.bytes().begin());
  Clamp(key.key_.bytes());
  return key;
}

bool PrivateKey::Matches(const PublicKey& key) const {
  MatchedPairs& matched = MatchedPairs::ForThisThread();
  const HmacSha256Tag tag = MatchedPairs::Tag(*this, key);
  if (matched.Contains(tag)) return true;
  if (!(DerivePublic() == key)) return false;
  matched.Add(tag);
  return true;
}

PublicKey PrivateKey::DerivePublic() const {
  InitializeCrypto();
  std::array<std::uint8_t, kPublicKeySize> u;
  // Fails only for a zero result, which no clamped scalar produces.
  if (crypto_scalarmult_curve25519_base(u.data(), key_.data()) != 0) {
    FatalCryptoError("X25519 base point multiplication failed");
  }
  return *PublicKey::FromRaw(u);
}

CryptoResult<SecretArray<32>> PrivateKey::Agree(const PublicKey& peer) const {
  InitializeCrypto();
  SecretArray<32> shared;
  // libsodium returns -1 for the all-zero output (a small-order peer key);
  // the explicit zero check states the rule independently of that.
  if (crypto_scalarmult_curve25519(shared.data(), key_.data(), peer.raw().data()) != 0 ||
      sodium_is_zero(shared.data(), shared.size()) != 0) {
    return Fail(CryptoErrc::kInvalidKey, "peer public key yields no shared secret");
  }
  return shared;
}

std::ostream& operator<<(std::ostream& os, const PrivateKey&) { return PrintRedacted(os); }

KeyPair KeyPair::Generate(Rng& rng) { return FromPrivate(PrivateKey::Generate(rng)); }

KeyPair KeyPair::FromPrivate(PrivateKey key) {
  PublicKey pub = key.DerivePublic();
  return KeyPair{std::move(key), pub};
}

}  // namespace parley::crypto
