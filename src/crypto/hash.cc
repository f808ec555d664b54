// OpenSSL 3 marks the SHA256_* functions deprecated in favour of EVP_Digest*,
// but only they expose the plain, copyable hash state that HMAC midstates
// need: an EVP_MD_CTX copy allocates, and costs more than the hash of a
// short input.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <type_traits>

#include "crypto/fatal_error.h"

namespace parley::crypto {

namespace {

static_assert(sizeof(crypto_hash_sha512_state) <= kHashStateStorageSize);
static_assert(alignof(crypto_hash_sha512_state) <= 16);
static_assert(crypto_hash_sha512_BYTES == std::tuple_size_v<Sha512Digest>);
static_assert(sizeof(SHA256_CTX) <= kSha256StateStorageSize);
static_assert(alignof(SHA256_CTX) <= 16);
static_assert(std::is_trivially_copyable_v<SHA256_CTX>);
static_assert(SHA256_DIGEST_LENGTH == std::tuple_size_v<HmacSha256Tag>);

constexpr std::size_t kSha256BlockSize = SHA256_CBLOCK;

crypto_hash_sha512_state* Sha512State(unsigned char* storage) {
  return std::launder(reinterpret_cast<crypto_hash_sha512_state*>(storage));
}

SHA256_CTX* Sha256State(unsigned char* storage) {
  return std::launder(reinterpret_cast<SHA256_CTX*>(storage));
}
const SHA256_CTX* Sha256State(const unsigned char* storage) {
  return std::launder(reinterpret_cast<const SHA256_CTX*>(storage));
}

// SHA-256 over the one block key ^ pad (key already at most one block long).
void HashPadBlock(const unsigned char (&key_block)[kSha256BlockSize], unsigned char pad, SHA256_CTX* ctx) {
  unsigned char padded[kSha256BlockSize];
  for (std::size_t i = 0; i < kSha256BlockSize; ++i) padded[i] = key_block[i] ^ pad;
  SHA256_Init(ctx);
  SHA256_Update(ctx, padded, sizeof padded);
  OPENSSL_cleanse(padded, sizeof padded);
}

// Finishes the inner hash in `inner` (consumed and wiped) and the outer one
// from a copy of `outer`.
void FinishHmac(SHA256_CTX& inner, const SHA256_CTX& outer, std::uint8_t* out) {
  unsigned char inner_digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(inner_digest, &inner);
  inner = outer;
  SHA256_Update(&inner, inner_digest, sizeof inner_digest);
  SHA256_Final(out, &inner);
  OPENSSL_cleanse(inner_digest, sizeof inner_digest);
  OPENSSL_cleanse(&inner, sizeof inner);
}

// HMAC's key for an empty salt in HKDF: 32 zero bytes, the salt of every
// message-key derivation.
const HmacSha256Key& ZeroSaltKey() {
  static constexpr std::array<std::uint8_t, 32> kZeroSalt{};
  static const HmacSha256Key key{Bytes(kZeroSalt)};
  return key;
}

}  // namespace

Sha512Digest Sha512(Bytes data) {
  Sha512Digest out;
  crypto_hash_sha512(out.data(), data.data(), data.size());
  return out;
}

Sha512Hasher::Sha512Hasher() { crypto_hash_sha512_init(new (state_) crypto_hash_sha512_state); }

Sha512Hasher::~Sha512Hasher() { sodium_memzero(state_, sizeof state_); }

void Sha512Hasher::Update(Bytes data) {
  crypto_hash_sha512_update(Sha512State(state_), data.data(), data.size());
}

Sha512Digest Sha512Hasher::Final() {
  Sha512Digest out;
  crypto_hash_sha512_final(Sha512State(state_), out.data());
  return out;
}

HmacSha256Key::HmacSha256Key(Bytes key) {
  unsigned char block[kSha256BlockSize] = {};
  if (key.size() > kSha256BlockSize) {
    SHA256(key.data(), key.size(), block);
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }
  HashPadBlock(block, 0x36, new (inner_) SHA256_CTX);
  HashPadBlock(block, 0x5c, new (outer_) SHA256_CTX);
  OPENSSL_cleanse(block, sizeof block);
}

HmacSha256Key::~HmacSha256Key() {
  OPENSSL_cleanse(inner_, sizeof inner_);
  OPENSSL_cleanse(outer_, sizeof outer_);
}

void HmacSha256Key::MacInto(Bytes data, std::span<std::uint8_t, 32> out) const {
  SHA256_CTX ctx = *Sha256State(inner_);
  SHA256_Update(&ctx, data.data(), data.size());
  FinishHmac(ctx, *Sha256State(outer_), out.data());
}

HmacSha256Tag HmacSha256Key::Mac(Bytes data) const {
  HmacSha256Tag out;
  MacInto(data, out);
  return out;
}

HmacSha256Tag HmacSha256(Bytes key, Bytes data) { return HmacSha256Key(key).Mac(data); }

HmacSha256Hasher::HmacSha256Hasher(Bytes key) : key_(key) {}

HmacSha256Hasher::HmacSha256Hasher(const HmacSha256Key& key) : key_(key) {}

HmacSha256Hasher::~HmacSha256Hasher() = default;

void HmacSha256Hasher::Update(Bytes data) {
  SHA256_Update(Sha256State(key_.inner_), data.data(), data.size());
}

void HmacSha256Hasher::FinalInto(std::span<std::uint8_t, 32> out) {
  FinishHmac(*Sha256State(key_.inner_), *Sha256State(key_.outer_), out.data());
}

HmacSha256Tag HmacSha256Hasher::Final() {
  HmacSha256Tag out;
  FinalInto(out);
  return out;
}

void HkdfInto(Bytes ikm, Bytes salt, Bytes info, std::span<std::uint8_t> out) {
  if (out.size() > kHkdfMaxOutputSize) FatalCryptoError("HKDF output longer than 255 hash blocks");
  SecretArray<32> prk;
  if (salt.empty()) {
    ZeroSaltKey().MacInto(ikm, prk.bytes());
  } else {
    HmacSha256Key(salt).MacInto(ikm, prk.bytes());
  }

  // Keyed once; each block continues from a copy, so the PRK's pads are
  // hashed once rather than per block.
  const HmacSha256Key keyed(prk.bytes());
  SecretArray<32> block;
  std::size_t done = 0;
  for (std::uint8_t counter = 1; done < out.size(); ++counter) {
    HmacSha256Hasher expand(keyed);
    if (counter > 1) expand.Update(block.bytes());
    expand.Update(info);
    expand.Update(Bytes(&counter, 1));
    expand.FinalInto(block.bytes());
    const std::size_t n = std::min(block.size(), out.size() - done);
    std::memcpy(out.data() + done, block.data(), n);
    done += n;
  }
}

CryptoResult<SecretBuffer> Hkdf(Bytes ikm, Bytes salt, Bytes info, std::size_t out_len) {
  if (out_len > kHkdfMaxOutputSize) {
    return Fail(CryptoErrc::kInvalidLength, "HKDF output longer than 255 hash blocks");
  }
  SecretBuffer out(out_len);
  HkdfInto(ikm, salt, info, out.bytes());
  return out;
}

bool ConstantTimeEqual(Bytes a, Bytes b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace parley::crypto
