#include "crypto/x25519.h"

#include <gtest/gtest.h>

#include <array>
#include <sstream>
#include <string>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"
#include "crypto/random.h"
#include "hex_literal.h"
#include "libsignal_c.h"

namespace parley::crypto {
namespace {

using testing::HexBytes;

PrivateKey PrivateFromHex(std::string_view hex) {
  auto key = PrivateKey::FromBytes(HexBytes(hex));
  if (!key) std::abort();
  return std::move(*key);
}

PublicKey PublicFromRawHex(std::string_view hex) {
  auto key = PublicKey::FromRaw(HexBytes(hex));
  if (!key) std::abort();
  return *key;
}

// RFC 7748, section 6.1.
TEST(X25519, Rfc7748DiffieHellman) {
  const PrivateKey alice = PrivateFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const PrivateKey bob = PrivateFromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const PublicKey alice_public = alice.DerivePublic();
  const PublicKey bob_public = bob.DerivePublic();
  EXPECT_EQ(ToHex(alice_public.raw()), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(ToHex(bob_public.raw()), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");

  auto shared_a = alice.Agree(bob_public);
  auto shared_b = bob.Agree(alice_public);
  ASSERT_TRUE(shared_a.has_value());
  ASSERT_TRUE(shared_b.has_value());
  EXPECT_EQ(ToHex(shared_a->bytes()), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(ToHex(shared_b->bytes()), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

// RFC 7748, section 5.2: unclamped scalars (clamped on import, as X25519
// clamps) and, in the second vector, a u-coordinate with its top bit set,
// which X25519 ignores.
TEST(X25519, Rfc7748ScalarMultiplication) {
  struct Vector {
    const char* scalar;
    const char* u;
    const char* out;
  };
  const Vector vectors[] = {
      {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
       "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
      {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
       "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
       "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
  };
  for (const auto& v : vectors) {
    auto shared = PrivateFromHex(v.scalar).Agree(PublicFromRawHex(v.u));
    ASSERT_TRUE(shared.has_value());
    EXPECT_EQ(ToHex(shared->bytes()), v.out);
  }
}

// libsignal-protocol-c tests/test_curve25519.c: test_curve25519_agreement and
// test_curve25519_generate_public, keys in the 33-byte form.
TEST(X25519, LibsignalAgreementVector) {
  const PrivateKey alice = PrivateFromHex("c806439dc9d2c476ffed8f2580c0888d58ab406bf7ae3698879021b96bb4bf59");
  const PrivateKey bob = PrivateFromHex("b03b34c33a1c44f225b662d2bf4859b8135411fa7b0386d45fb75dc5b91b4466");
  auto alice_public =
      PublicKey::Deserialize(HexBytes("051bb75966f2e93a3691dfff942bb2a466a1c08b8d78ca3f4d6df8b8bfa2e4ee28"));
  auto bob_public =
      PublicKey::Deserialize(HexBytes("05653614993d2b15ee9e5fd3d86ce719ef4ec1daae1886a87b3f5fa9565a27a22f"));
  ASSERT_TRUE(alice_public.has_value());
  ASSERT_TRUE(bob_public.has_value());
  EXPECT_EQ(alice.DerivePublic(), *alice_public);
  EXPECT_EQ(bob.DerivePublic(), *bob_public);

  const std::string shared = "325f239328941ced6e673b86ba41017448e99b649a9c3806c1dd7ca4c477e629";
  auto one = alice.Agree(*bob_public);
  auto two = bob.Agree(*alice_public);
  ASSERT_TRUE(one.has_value() && two.has_value());
  EXPECT_EQ(ToHex(one->bytes()), shared);
  EXPECT_EQ(ToHex(two->bytes()), shared);
}

TEST(X25519, MatchesLibsignalOnRandomKeys) {
  DeterministicRng rng(7748);
  const std::array<std::uint8_t, 32> base_point = {9};
  for (int i = 0; i < 200; ++i) {
    const KeyPair a = KeyPair::Generate(rng);
    const KeyPair b = KeyPair::Generate(rng);

    std::array<std::uint8_t, 32> donna_public{}, keygen_public{}, donna_shared{};
    ASSERT_EQ(curve25519_donna(donna_public.data(), a.private_key.bytes().data(), base_point.data()), 0);
    curve25519_keygen(keygen_public.data(), a.private_key.bytes().data());
    EXPECT_EQ(ToHex(a.public_key.raw()), ToHex(donna_public));
    EXPECT_EQ(ToHex(a.public_key.raw()), ToHex(keygen_public));

    ASSERT_EQ(curve25519_donna(donna_shared.data(), a.private_key.bytes().data(), b.public_key.raw().data()),
              0);
    auto ab = a.private_key.Agree(b.public_key);
    auto ba = b.private_key.Agree(a.public_key);
    ASSERT_TRUE(ab.has_value() && ba.has_value());
    EXPECT_EQ(ToHex(ab->bytes()), ToHex(donna_shared));
    EXPECT_EQ(ToHex(ba->bytes()), ToHex(donna_shared));
  }
}

// Matches answers as DerivePublic() == key does, also for pairs it has
// confirmed before and after more pairs than it remembers.
TEST(X25519, MatchesIsDerivePublicEquality) {
  DeterministicRng rng(7748);
  std::vector<KeyPair> pairs;
  for (int i = 0; i < 11; ++i) pairs.push_back(KeyPair::Generate(rng));
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      EXPECT_TRUE(pairs[i].private_key.Matches(pairs[i].public_key)) << round << " " << i;
      const std::size_t other = (i + 1 + static_cast<std::size_t>(round)) % pairs.size();
      EXPECT_FALSE(pairs[i].private_key.Matches(pairs[other].public_key)) << round << " " << i;
      EXPECT_FALSE(pairs[other].private_key.Matches(pairs[i].public_key)) << round << " " << i;
      PublicKey flipped = *PublicKey::FromRaw([&] {
        std::array<std::uint8_t, 32> u;
        std::copy(pairs[i].public_key.raw().begin(), pairs[i].public_key.raw().end(), u.begin());
        u[static_cast<std::size_t>(round) * 7] ^= 1;
        return u;
      }());
      EXPECT_FALSE(pairs[i].private_key.Matches(flipped)) << round << " " << i;
    }
  }
}

TEST(X25519, AllZeroSharedSecretRejected) {
  SystemRng rng;
  const PrivateKey key = PrivateKey::Generate(rng);
  // u = 0 and u = 1 are points of small order: every clamped scalar (a
  // multiple of 8) sends them to the all-zero output.
  for (const char* u : {"0000000000000000000000000000000000000000000000000000000000000000",
                        "0100000000000000000000000000000000000000000000000000000000000000"}) {
    auto shared = key.Agree(PublicFromRawHex(u));
    ASSERT_FALSE(shared.has_value()) << u;
    EXPECT_EQ(shared.error().code, CryptoErrc::kInvalidKey);
  }
}

TEST(X25519, PrivateKeyIsClamped) {
  auto key = PrivateKey::FromBytes(std::vector<std::uint8_t>(32, 0xff));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(ToHex(key->bytes().bytes()), "f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");

  auto zero = PrivateKey::FromBytes(std::vector<std::uint8_t>(32, 0x00));
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(ToHex(zero->bytes().bytes()), "0000000000000000000000000000000000000000000000000000000000000040");

  DeterministicRng rng(1);
  for (int i = 0; i < 50; ++i) {
    const PrivateKey generated = PrivateKey::Generate(rng);
    const auto b = generated.bytes().bytes();
    EXPECT_EQ(b[0] & 7, 0);
    EXPECT_EQ(b[31] & 0xc0, 0x40);
  }
}

TEST(X25519, PrivateKeyWrongLength) {
  for (std::size_t len : {0, 31, 33, 64}) {
    auto key = PrivateKey::FromBytes(std::vector<std::uint8_t>(len, 1));
    ASSERT_FALSE(key.has_value()) << len;
    EXPECT_EQ(key.error().code, CryptoErrc::kInvalidKey);
  }
}

TEST(X25519, SerializationRoundTrip) {
  DeterministicRng rng(33);
  for (int i = 0; i < 20; ++i) {
    const PublicKey key = KeyPair::Generate(rng).public_key;
    const auto serialized = key.Serialize();
    EXPECT_EQ(serialized[0], 0x05);
    EXPECT_TRUE(std::equal(key.raw().begin(), key.raw().end(), serialized.begin() + 1));
    auto parsed = PublicKey::Deserialize(serialized);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, key);
    auto raw = PublicKey::FromRaw(key.raw());
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(*raw, key);
  }
}

TEST(X25519, DeserializeRejectsWrongLength) {
  DeterministicRng rng(34);
  const auto serialized = KeyPair::Generate(rng).public_key.Serialize();
  std::vector<std::uint8_t> bytes(serialized.begin(), serialized.end());
  for (std::size_t len : {0, 1, 32}) {
    auto key = PublicKey::Deserialize(Bytes(bytes).first(len));
    ASSERT_FALSE(key.has_value()) << len;
    EXPECT_EQ(key.error().code, CryptoErrc::kInvalidKey);
  }
  bytes.push_back(0);
  auto too_long = PublicKey::Deserialize(bytes);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, CryptoErrc::kInvalidKey);
}

TEST(X25519, DeserializeRejectsWrongTypeByte) {
  DeterministicRng rng(35);
  auto bytes = KeyPair::Generate(rng).public_key.Serialize();
  for (std::uint8_t type : {0x00, 0x04, 0x06, 0x85, 0xff}) {
    bytes[0] = type;
    auto key = PublicKey::Deserialize(bytes);
    ASSERT_FALSE(key.has_value()) << int{type};
    EXPECT_EQ(key.error().code, CryptoErrc::kInvalidKey);
  }
}

TEST(X25519, FromRawRejectsWrongLength) {
  for (std::size_t len : {0, 31, 33}) {
    auto key = PublicKey::FromRaw(std::vector<std::uint8_t>(len, 9));
    ASSERT_FALSE(key.has_value()) << len;
    EXPECT_EQ(key.error().code, CryptoErrc::kInvalidKey);
  }
}

TEST(X25519, KeyPairFromPrivateDerivesPublic) {
  DeterministicRng rng(36);
  PrivateKey key = PrivateKey::Generate(rng);
  const PublicKey expected = key.DerivePublic();
  const KeyPair pair = KeyPair::FromPrivate(std::move(key));
  EXPECT_EQ(pair.public_key, expected);
}

TEST(X25519, PrivateKeyPrintsRedacted) {
  const PrivateKey key = PrivateFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  std::ostringstream os;
  os << key << " " << key.bytes();
  EXPECT_EQ(os.str(), "<redacted> <redacted>");
}

}  // namespace
}  // namespace parley::crypto
