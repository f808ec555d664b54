#include "crypto/xeddsa.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <string_view>

#include "crypto/edwards25519.h"
#include "crypto/fatal_error.h"
#include "crypto/field25519.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace parley::crypto {

namespace {

static_assert(crypto_sign_ed25519_BYTES == kSignatureSize);
static_assert(crypto_core_ed25519_SCALARBYTES == 32);
static_assert(crypto_core_ed25519_NONREDUCEDSCALARBYTES == 64);

// Domain separation of the nonce hash from the challenge hash (libsignal's
// choice): 0xFE followed by 31 bytes of 0xFF.
constexpr std::array<std::uint8_t, 32> kNoncePrefix = {
    0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

// SHA-512 state on the stack, wiped when it goes out of scope (the nonce
// hash absorbs the private key).
class ScopedSha512 {
 public:
  ScopedSha512() { crypto_hash_sha512_init(&state_); }
  ScopedSha512(const ScopedSha512&) = delete;
  ScopedSha512& operator=(const ScopedSha512&) = delete;
  ~ScopedSha512() { sodium_memzero(&state_, sizeof state_); }

  ScopedSha512& Update(Bytes data) {
    crypto_hash_sha512_update(&state_, data.data(), data.size());
    return *this;
  }
  void Final(std::uint8_t* out) { crypto_hash_sha512_final(&state_, out); }

 private:
  crypto_hash_sha512_state state_;
};

// The Edwards public key A = aB of the last few signing keys on this thread.
// A depends only on the private key, yet costs a fixed-base scalar
// multiplication, about half of a signature; a sender-key chain signs every
// message with the same key. Entries are found by a keyed hash of the
// private scalar, so the cache holds nothing secret: A is public.
class SignerCache {
 public:
  static SignerCache& ForThisThread() {
    thread_local SignerCache cache;
    return cache;
  }

  // A for the clamped scalar a.
  std::array<std::uint8_t, 32> EdwardsPublic(std::span<const std::uint8_t, 32> a) {
    static constexpr std::string_view kLabel = "Parley XEdDSA signer cache";
    const HmacSha256Tag id =
        HmacSha256(a, Bytes(reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size()));
    for (const Entry& entry : entries_) {
      if (entry.used && entry.id == id) return entry.edwards_public;
    }
    Entry& entry = entries_[next_];
    next_ = (next_ + 1) % entries_.size();
    // a is a multiple of 8 between 2^254 and 2^255 (clamped), so never 0 mod
    // L: the call cannot fail.
    if (crypto_scalarmult_ed25519_base_noclamp(entry.edwards_public.data(), a.data()) != 0) {
      FatalCryptoError("XEdDSA public key derivation failed");
    }
    entry.id = id;
    entry.used = true;
    return entry.edwards_public;
  }

 private:
  struct Entry {
    bool used = false;
    HmacSha256Tag id{};
    std::array<std::uint8_t, 32> edwards_public{};
  };
  std::array<Entry, 8> entries_;
  std::size_t next_ = 0;
};

// Verification of the last few keys on this thread. A key's first good
// signature is verified by libsodium and the key remembered; from its second
// one on, the key gets an Ed25519Verifier (its precomputed table, 30 KiB),
// which verifies with the same rules about 2.5 times faster: a group
// sender's key verifies every message of the group. Keys that sign once
// never pay for a table.
class VerifierCache {
 public:
  static VerifierCache& ForThisThread() {
    thread_local VerifierCache cache;
    return cache;
  }

  bool Verify(const PublicKey& key, Bytes message, std::span<const std::uint8_t, kSignatureSize> signature) {
    // The Edwards key's sign bit travels in bit 7 of byte 63; the rest is
    // an Ed25519 signature.
    const std::uint8_t sign_bit = signature[63] & 0x80;
    Signature ed25519_signature;
    std::copy(signature.begin(), signature.end(), ed25519_signature.begin());
    ed25519_signature[63] &= 0x7F;

    Entry* entry = Find(key, sign_bit);
    if (entry != nullptr && entry->verifier != nullptr) {
      return entry->verifier->Verify(message, ed25519_signature);
    }
    std::array<std::uint8_t, 32> edwards_public;
    if (entry != nullptr) {
      edwards_public = entry->edwards_public;
    } else {
      const auto y = MontgomeryUToEdwardsY(key.raw());
      if (!y) return false;
      edwards_public = *y;
      edwards_public[31] |= sign_bit;
    }
    if (crypto_sign_ed25519_verify_detached(ed25519_signature.data(), message.data(), message.size(),
                                            edwards_public.data()) != 0) {
      return false;
    }
    if (entry != nullptr) {
      // libsodium has just decoded this key, so Create succeeds.
      entry->verifier = Ed25519Verifier::Create(edwards_public);
    } else {
      Entry& added = entries_[next_];
      next_ = (next_ + 1) % entries_.size();
      added.used = true;
      added.montgomery = key;
      added.edwards_public = edwards_public;
      added.verifier.reset();
    }
    return true;
  }

 private:
  struct Entry {
    bool used = false;
    PublicKey montgomery;
    std::array<std::uint8_t, 32> edwards_public{};
    std::unique_ptr<Ed25519Verifier> verifier;
  };

  Entry* Find(const PublicKey& key, std::uint8_t sign_bit) {
    for (Entry& entry : entries_) {
      if (entry.used && entry.montgomery == key && (entry.edwards_public[31] & 0x80) == sign_bit)
        return &entry;
    }
    return nullptr;
  }

  std::array<Entry, 8> entries_;
  std::size_t next_ = 0;
};

}  // namespace

Signature XEdDsaSign(const PrivateKey& key, Bytes message, Rng& rng) {
  InitializeCrypto();
  SecretArray<64> z;
  rng.Fill(z.bytes());
  // Keys from Generate and FromBytes are clamped already. Clamping a copy
  // makes a default (all-zero) PrivateKey sign with the same scalar X25519
  // uses for it, instead of the scalar 0.
  SecretArray<32> clamped(key.bytes().bytes());
  clamped.data()[0] &= 248;
  clamped.data()[31] &= 127;
  clamped.data()[31] |= 64;
  const std::span<const std::uint8_t, 32> a = clamped.bytes();

  // A = aB with the clamped Montgomery scalar as is (not reduced).
  const std::array<std::uint8_t, 32> edwards_public = SignerCache::ForThisThread().EdwardsPublic(a);
  const std::uint8_t sign_bit = edwards_public[31] & 0x80;

  // r = SHA-512(prefix || a || M || Z) mod L
  SecretArray<64> nonce_hash;
  ScopedSha512().Update(kNoncePrefix).Update(a).Update(message).Update(z.bytes()).Final(nonce_hash.data());
  SecretArray<32> r;
  crypto_core_ed25519_scalar_reduce(r.data(), nonce_hash.data());

  // R = rB. The call reports failure only for r = 0 (probability 2^-252),
  // and still writes the identity's encoding, which is what libsignal signs
  // with in that case too.
  Signature signature;
  [[maybe_unused]] const int r_is_zero = crypto_scalarmult_ed25519_base_noclamp(signature.data(), r.data());

  // h = SHA-512(R || A || M) mod L
  std::array<std::uint8_t, 64> challenge_hash;
  ScopedSha512()
      .Update(Bytes(signature).first<32>())
      .Update(edwards_public)
      .Update(message)
      .Final(challenge_hash.data());
  std::array<std::uint8_t, 32> h;
  crypto_core_ed25519_scalar_reduce(h.data(), challenge_hash.data());

  // s = h * a + r mod L. libsodium's scalar functions take reduced scalars,
  // so a is reduced first; the result is the same residue libsignal computes.
  SecretArray<64> a_wide;
  std::copy(a.begin(), a.end(), a_wide.bytes().begin());
  SecretArray<32> a_reduced;
  crypto_core_ed25519_scalar_reduce(a_reduced.data(), a_wide.data());
  SecretArray<32> h_times_a;
  crypto_core_ed25519_scalar_mul(h_times_a.data(), h.data(), a_reduced.data());
  crypto_core_ed25519_scalar_add(signature.data() + 32, h_times_a.data(), r.data());

  // s < L < 2^253 leaves bit 7 of the last byte free for A's sign bit.
  signature[63] = static_cast<std::uint8_t>((signature[63] & 0x7F) | sign_bit);
  return signature;
}

bool XEdDsaVerify(const PublicKey& key, Bytes message, Bytes signature) {
  if (signature.size() != kSignatureSize) return false;
  InitializeCrypto();
  return VerifierCache::ForThisThread().Verify(key, message, signature.first<kSignatureSize>());
}

}  // namespace parley::crypto
