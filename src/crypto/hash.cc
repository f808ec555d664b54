#include "crypto/hash.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace parley::crypto {

namespace {

static_assert(sizeof(crypto_hash_sha512_state) <= kHashStateStorageSize);
static_assert(alignof(crypto_hash_sha512_state) <= 16);
static_assert(sizeof(crypto_auth_hmacsha256_state) <= kHashStateStorageSize);
static_assert(alignof(crypto_auth_hmacsha256_state) <= 16);
static_assert(crypto_auth_hmacsha256_BYTES == std::tuple_size_v<HmacSha256Tag>);
static_assert(crypto_hash_sha512_BYTES == std::tuple_size_v<Sha512Digest>);

// libsodium declares its key and data pointers nonnull even for zero lengths;
// an empty span may have a null data pointer.
const unsigned char* NonNull(Bytes b) {
  static constexpr unsigned char kEmpty = 0;
  return b.data() != nullptr ? b.data() : &kEmpty;
}

crypto_hash_sha512_state* Sha512State(unsigned char* storage) {
  return std::launder(reinterpret_cast<crypto_hash_sha512_state*>(storage));
}

crypto_auth_hmacsha256_state* HmacState(unsigned char* storage) {
  return std::launder(reinterpret_cast<crypto_auth_hmacsha256_state*>(storage));
}

// HMAC-SHA256 keyed state on the stack, wiped when it goes out of scope.
class ScopedHmac {
 public:
  explicit ScopedHmac(Bytes key) { crypto_auth_hmacsha256_init(&state_, NonNull(key), key.size()); }
  ScopedHmac(const ScopedHmac&) = default;
  ScopedHmac& operator=(const ScopedHmac&) = default;
  ~ScopedHmac() { sodium_memzero(&state_, sizeof state_); }

  void Update(Bytes data) { crypto_auth_hmacsha256_update(&state_, NonNull(data), data.size()); }
  void Final(unsigned char* out) { crypto_auth_hmacsha256_final(&state_, out); }

 private:
  crypto_auth_hmacsha256_state state_;
};

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

HmacSha256Tag HmacSha256(Bytes key, Bytes data) {
  ScopedHmac hmac(key);
  hmac.Update(data);
  HmacSha256Tag out;
  hmac.Final(out.data());
  return out;
}

HmacSha256Hasher::HmacSha256Hasher(Bytes key) {
  crypto_auth_hmacsha256_init(new (state_) crypto_auth_hmacsha256_state, NonNull(key), key.size());
}

HmacSha256Hasher::~HmacSha256Hasher() { sodium_memzero(state_, sizeof state_); }

void HmacSha256Hasher::Update(Bytes data) {
  crypto_auth_hmacsha256_update(HmacState(state_), NonNull(data), data.size());
}

HmacSha256Tag HmacSha256Hasher::Final() {
  HmacSha256Tag out;
  crypto_auth_hmacsha256_final(HmacState(state_), out.data());
  return out;
}

CryptoResult<SecretBuffer> Hkdf(Bytes ikm, Bytes salt, Bytes info, std::size_t out_len) {
  if (out_len > kHkdfMaxOutputSize) {
    return Fail(CryptoErrc::kInvalidLength, "HKDF output longer than 255 hash blocks");
  }
  static constexpr std::array<std::uint8_t, 32> kZeroSalt{};
  SecretArray<32> prk;
  {
    ScopedHmac extract(salt.empty() ? Bytes(kZeroSalt) : salt);
    extract.Update(ikm);
    extract.Final(prk.data());
  }

  SecretBuffer out(out_len);
  // Keyed once; each block continues from a copy, so the PRK's pads are
  // hashed once rather than per block.
  const ScopedHmac keyed(prk.bytes());
  SecretArray<32> block;
  std::size_t done = 0;
  for (std::uint8_t counter = 1; done < out_len; ++counter) {
    ScopedHmac expand = keyed;
    if (counter > 1) expand.Update(block.bytes());
    expand.Update(info);
    expand.Update(Bytes(&counter, 1));
    expand.Final(block.data());
    const std::size_t n = std::min(block.size(), out_len - done);
    std::memcpy(out.data() + done, block.data(), n);
    done += n;
  }
  return out;
}

bool ConstantTimeEqual(Bytes a, Bytes b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace parley::crypto
