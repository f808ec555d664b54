#include "crypto/edwards25519.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"

namespace parley::crypto {
namespace {

using Key = std::array<std::uint8_t, 32>;
using Sig = std::array<std::uint8_t, 64>;

bool SodiumVerify(const Sig& sig, Bytes message, const Key& key) {
  static const std::uint8_t kNothing = 0;
  return crypto_sign_ed25519_verify_detached(sig.data(), message.empty() ? &kNothing : message.data(),
                                             message.size(), key.data()) == 0;
}

// A point of order 8 (libsodium's list of small-order encodings).
const Key kOrder8 = [] {
  const std::vector<std::uint8_t> bytes =
      FromHex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05").value();
  Key k;
  std::copy(bytes.begin(), bytes.end(), k.begin());
  return k;
}();

// h = SHA-512(R || A || M) mod L, as both verifiers compute it.
Key Challenge(Bytes r, const Key& key, Bytes message) {
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, r.data(), r.size());
  crypto_hash_sha512_update(&state, key.data(), key.size());
  crypto_hash_sha512_update(&state, message.data(), message.size());
  std::array<std::uint8_t, 64> wide;
  crypto_hash_sha512_final(&state, wide.data());
  Key h;
  crypto_core_ed25519_scalar_reduce(h.data(), wide.data());
  return h;
}

// s = h * a + r for the scalar a of `key` and R = rB.
Sig SignWithScalar(const Key& a, const Key& key, Bytes message, DeterministicRng& rng) {
  Key r;
  std::array<std::uint8_t, 64> wide;
  rng.Fill(wide);
  crypto_core_ed25519_scalar_reduce(r.data(), wide.data());
  Sig sig;
  EXPECT_EQ(crypto_scalarmult_ed25519_base_noclamp(sig.data(), r.data()), 0);
  const Key h = Challenge(Bytes(sig).first(32), key, message);
  Key ha;
  crypto_core_ed25519_scalar_mul(ha.data(), h.data(), a.data());
  crypto_core_ed25519_scalar_add(sig.data() + 32, ha.data(), r.data());
  return sig;
}

// Every decision compared with libsodium's: valid signatures, each byte of
// them changed, other messages.
void ExpectSameDecisions(const Ed25519Verifier& verifier, const Key& key, const Sig& sig, Bytes message,
                         int& accepted) {
  const bool expected = SodiumVerify(sig, message, key);
  ASSERT_EQ(verifier.Verify(message, sig), expected) << ToHex(sig);
  accepted += expected ? 1 : 0;
  for (std::size_t i = 0; i < sig.size(); i += 5) {
    Sig changed = sig;
    changed[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
    ASSERT_EQ(verifier.Verify(message, changed), SodiumVerify(changed, message, key)) << i;
  }
  std::vector<std::uint8_t> other(message.begin(), message.end());
  other.push_back(0x55);
  ASSERT_EQ(verifier.Verify(other, sig), SodiumVerify(sig, other, key));
}

TEST(Ed25519Verifier, DecidesAsLibsodiumOnSignaturesOfManyKeys) {
  DeterministicRng rng(25519);
  int accepted = 0;
  for (int k = 0; k < 12; ++k) {
    Key seed, pk;
    std::array<std::uint8_t, 64> sk;
    rng.Fill(seed);
    crypto_sign_ed25519_seed_keypair(pk.data(), sk.data(), seed.data());
    const auto verifier = Ed25519Verifier::Create(pk);
    ASSERT_NE(verifier, nullptr);
    EXPECT_EQ(ToHex(verifier->public_key()), ToHex(pk));
    for (int m = 0; m < 8; ++m) {
      std::vector<std::uint8_t> message(static_cast<std::size_t>(m * 37 % 150));
      rng.Fill(message);
      Sig sig;
      crypto_sign_ed25519_detached(sig.data(), nullptr, message.data(), message.size(), sk.data());
      ExpectSameDecisions(*verifier, pk, sig, message, accepted);
    }
  }
  EXPECT_EQ(accepted, 12 * 8);
}

TEST(Ed25519Verifier, RejectsWhatLibsodiumRejectsAboutScalars) {
  DeterministicRng rng(7);
  Key seed, pk;
  std::array<std::uint8_t, 64> sk;
  rng.Fill(seed);
  crypto_sign_ed25519_seed_keypair(pk.data(), sk.data(), seed.data());
  const auto verifier = Ed25519Verifier::Create(pk);
  ASSERT_NE(verifier, nullptr);
  const std::vector<std::uint8_t> message = {1, 2, 3};
  Sig sig;
  crypto_sign_ed25519_detached(sig.data(), nullptr, message.data(), message.size(), sk.data());
  ASSERT_TRUE(verifier->Verify(message, sig));

  // s + L: the same residue, not canonical.
  static const Key kL = [] {
    const auto bytes = FromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010").value();
    Key l;
    std::copy(bytes.begin(), bytes.end(), l.begin());
    return l;
  }();
  Sig plus_l = sig;
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned sum = plus_l[32 + i] + kL[i] + carry;
    plus_l[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  EXPECT_FALSE(SodiumVerify(plus_l, message, pk));
  EXPECT_FALSE(verifier->Verify(message, plus_l));
  // s = L exactly, and the top bits of s set.
  Sig s_is_l = sig;
  std::copy(kL.begin(), kL.end(), s_is_l.begin() + 32);
  EXPECT_FALSE(verifier->Verify(message, s_is_l));
  Sig high = sig;
  high[63] |= 0xe0;
  EXPECT_FALSE(verifier->Verify(message, high));
}

// Keys with a component of order 8 (A = aB + T) let a signer aim R = sB - hA
// at a point of small order; libsodium refuses such an R, so must the table.
TEST(Ed25519Verifier, RefusesSmallOrderRAsLibsodiumDoesUnderKeysWithTorsion) {
  DeterministicRng rng(8);
  int small_order_tries = 0, accepted = 0;
  for (int k = 0; k < 6; ++k) {
    Key a, a_b, pk;
    std::array<std::uint8_t, 64> wide;
    rng.Fill(wide);
    crypto_core_ed25519_scalar_reduce(a.data(), wide.data());
    ASSERT_EQ(crypto_scalarmult_ed25519_base_noclamp(a_b.data(), a.data()), 0);
    ASSERT_EQ(crypto_core_ed25519_add(pk.data(), a_b.data(), kOrder8.data()), 0);
    const auto verifier = Ed25519Verifier::Create(pk);
    ASSERT_NE(verifier, nullptr);

    for (int m = 0; m < 24; ++m) {
      const std::vector<std::uint8_t> message = {static_cast<std::uint8_t>(k), static_cast<std::uint8_t>(m)};
      // An honest-looking signature: accepted only when h is a multiple of 8.
      ExpectSameDecisions(*verifier, pk, SignWithScalar(a, pk, message, rng), message, accepted);

      // R = T8^j for some j, s = h * a: then sB - hA = -hT, of small order,
      // and equal to R one time in eight.
      Key r = kOrder8;
      for (int j = 0; j < m % 8; ++j)
        ASSERT_EQ(crypto_core_ed25519_add(r.data(), r.data(), kOrder8.data()), 0);
      Sig forged;
      std::copy(r.begin(), r.end(), forged.begin());
      const Key h = Challenge(r, pk, message);
      crypto_core_ed25519_scalar_mul(forged.data() + 32, h.data(), a.data());
      ++small_order_tries;
      EXPECT_FALSE(SodiumVerify(forged, message, pk));
      EXPECT_FALSE(verifier->Verify(message, forged));
    }
  }
  EXPECT_EQ(small_order_tries, 6 * 24);
  EXPECT_GT(accepted, 0);  // some h were multiples of 8
}

// R = identity with s = h * a under a key without torsion: sB - hA is the
// identity, which matches R's bytes, and libsodium refuses it.
TEST(Ed25519Verifier, RefusesTheIdentityAsR) {
  DeterministicRng rng(9);
  Key a, pk;
  std::array<std::uint8_t, 64> wide;
  rng.Fill(wide);
  crypto_core_ed25519_scalar_reduce(a.data(), wide.data());
  ASSERT_EQ(crypto_scalarmult_ed25519_base_noclamp(pk.data(), a.data()), 0);
  const auto verifier = Ed25519Verifier::Create(pk);
  ASSERT_NE(verifier, nullptr);
  const std::vector<std::uint8_t> message = {9};
  Key identity{};
  identity[0] = 1;
  Sig forged;
  std::copy(identity.begin(), identity.end(), forged.begin());
  const Key h = Challenge(identity, pk, message);
  crypto_core_ed25519_scalar_mul(forged.data() + 32, h.data(), a.data());
  EXPECT_FALSE(SodiumVerify(forged, message, pk));
  EXPECT_FALSE(verifier->Verify(message, forged));
  // The same key's honest signatures verify.
  EXPECT_TRUE(verifier->Verify(message, SignWithScalar(a, pk, message, rng)));
}

TEST(Ed25519Verifier, CreateRefusesEncodingsThatAreNoPoint) {
  int refused = 0;
  for (std::uint8_t y = 0; y < 64; ++y) {
    for (std::uint8_t sign : {0, 0x80}) {
      Key encoding{};
      encoding[0] = y;
      encoding[31] = sign;
      Key sum;
      // libsodium's decoder (under its addition) accepts exactly the points.
      const bool is_point = crypto_core_ed25519_add(sum.data(), encoding.data(), encoding.data()) == 0 ||
                            crypto_core_ed25519_is_valid_point(encoding.data()) == 1;
      const bool created = Ed25519Verifier::Create(encoding) != nullptr;
      if (!created) ++refused;
      if (is_point) {
        EXPECT_TRUE(created) << int(y) << " " << int(sign);
      }
    }
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace parley::crypto
