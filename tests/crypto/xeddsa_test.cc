#include "crypto/xeddsa.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <array>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"
#include "crypto/random.h"
#include "hex_literal.h"
#include "libsignal_c.h"

namespace parley::crypto {
namespace {

using testing::HexBytes;

// Hands out fixed bytes, so both implementations sign with the same Z.
class ReplayRng final : public Rng {
 public:
  explicit ReplayRng(Bytes bytes) : bytes_(bytes.begin(), bytes.end()) {}
  void Fill(std::span<std::uint8_t> out) override {
    ASSERT_EQ(out.size(), bytes_.size());
    std::copy(bytes_.begin(), bytes_.end(), out.begin());
  }

 private:
  std::vector<std::uint8_t> bytes_;
};

// A message buffer whose data pointer is never null, even when empty:
// libsignal-protocol-c copies from it unconditionally.
struct Message {
  std::vector<std::uint8_t> storage = std::vector<std::uint8_t>(1);
  std::size_t size = 0;
  Bytes bytes() const { return Bytes(storage.data(), size); }
};

Message RandomMessage(Rng& rng, std::size_t max_len) {
  std::uint8_t len_bytes[2];
  rng.Fill(len_bytes);
  Message m;
  m.size = ((std::size_t{len_bytes[0]} << 8) | len_bytes[1]) % (max_len + 1);
  m.storage.resize(m.size + 1);
  rng.Fill(std::span(m.storage).first(m.size));
  return m;
}

int LibsignalVerify(const Signature& signature, const PublicKey& key, Bytes message) {
  return curve25519_verify(signature.data(), key.raw().data(), message.data(), message.size());
}

TEST(XEdDsa, SignVerifyRoundTripSeesBothSignBits) {
  SystemRng rng;
  bool seen_sign_bit[2] = {false, false};
  for (int i = 0; i < 300; ++i) {
    const KeyPair pair = KeyPair::Generate(rng);
    const Message m = RandomMessage(rng, 300);
    const Signature signature = XEdDsaSign(pair.private_key, m.bytes(), rng);
    EXPECT_TRUE(XEdDsaVerify(pair.public_key, m.bytes(), signature)) << i;
    seen_sign_bit[signature[63] >> 7] = true;
  }
  // Half of all keys have an odd Edwards x; a verifier that forced the sign
  // bit to 0 would fail on those.
  EXPECT_TRUE(seen_sign_bit[0]);
  EXPECT_TRUE(seen_sign_bit[1]);
}

TEST(XEdDsa, TamperedMessageFails) {
  DeterministicRng rng(100);
  const KeyPair pair = KeyPair::Generate(rng);
  const std::vector<std::uint8_t> message = HexBytes("0102030405060708090a0b0c0d0e0f10111213");
  const Signature signature = XEdDsaSign(pair.private_key, message, rng);
  ASSERT_TRUE(XEdDsaVerify(pair.public_key, message, signature));
  for (std::size_t i = 0; i < message.size(); ++i) {
    for (std::uint8_t bit : {0x01, 0x80}) {
      auto bad = message;
      bad[i] ^= bit;
      EXPECT_FALSE(XEdDsaVerify(pair.public_key, bad, signature)) << i;
    }
  }
  auto longer = message;
  longer.push_back(0);
  EXPECT_FALSE(XEdDsaVerify(pair.public_key, longer, signature));
  EXPECT_FALSE(XEdDsaVerify(pair.public_key, Bytes(message).first(message.size() - 1), signature));
  EXPECT_FALSE(XEdDsaVerify(pair.public_key, {}, signature));
}

TEST(XEdDsa, TamperedSignatureFails) {
  DeterministicRng rng(101);
  for (int round = 0; round < 8; ++round) {
    const KeyPair pair = KeyPair::Generate(rng);
    const std::vector<std::uint8_t> message = HexBytes("54686973206973206120746573742e");
    const Signature signature = XEdDsaSign(pair.private_key, message, rng);
    ASSERT_TRUE(XEdDsaVerify(pair.public_key, message, signature));
    for (std::size_t i = 0; i < signature.size(); ++i) {
      for (std::uint8_t bit : {0x01, 0x10, 0x80}) {
        Signature bad = signature;
        bad[i] ^= bit;
        EXPECT_FALSE(XEdDsaVerify(pair.public_key, message, bad)) << "byte " << i << " bit " << int{bit};
      }
    }
  }
}

TEST(XEdDsa, WrongKeyFails) {
  DeterministicRng rng(102);
  const std::vector<std::uint8_t> message = HexBytes("00");
  for (int i = 0; i < 20; ++i) {
    const KeyPair signer = KeyPair::Generate(rng);
    const KeyPair other = KeyPair::Generate(rng);
    const Signature signature = XEdDsaSign(signer.private_key, message, rng);
    EXPECT_TRUE(XEdDsaVerify(signer.public_key, message, signature));
    EXPECT_FALSE(XEdDsaVerify(other.public_key, message, signature));
  }
}

TEST(XEdDsa, WrongLengthFails) {
  DeterministicRng rng(103);
  const KeyPair pair = KeyPair::Generate(rng);
  const std::vector<std::uint8_t> message = HexBytes("abcdef");
  const Signature signature = XEdDsaSign(pair.private_key, message, rng);
  std::vector<std::uint8_t> bytes(signature.begin(), signature.end());
  ASSERT_TRUE(XEdDsaVerify(pair.public_key, message, bytes));
  for (std::size_t len : {0, 32, 63}) {
    EXPECT_FALSE(XEdDsaVerify(pair.public_key, message, Bytes(bytes).first(len))) << len;
  }
  bytes.push_back(0);
  EXPECT_FALSE(XEdDsaVerify(pair.public_key, message, bytes));
}

TEST(XEdDsa, NonCanonicalOrDegenerateKeyFails) {
  DeterministicRng rng(104);
  const KeyPair pair = KeyPair::Generate(rng);
  const std::vector<std::uint8_t> message = HexBytes("abcdef");
  const Signature signature = XEdDsaSign(pair.private_key, message, rng);

  // The same u with bit 255 set denotes the same point to X25519, but is not
  // a canonical field element.
  auto raw = std::vector<std::uint8_t>(pair.public_key.raw().begin(), pair.public_key.raw().end());
  raw[31] |= 0x80;
  EXPECT_FALSE(XEdDsaVerify(*PublicKey::FromRaw(raw), message, signature));

  // u = p - 1, p, 2^255 - 1 and u = 0 (small order).
  for (const char* u : {"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                        "0000000000000000000000000000000000000000000000000000000000000000"}) {
    EXPECT_FALSE(XEdDsaVerify(*PublicKey::FromRaw(HexBytes(u)), message, signature)) << u;
  }
}

// s + L is the same residue but not a canonical scalar: libsodium's
// verification (and so Parley's) rejects it, which closes the malleability
// that libsignal-protocol-c's check of the top three bits leaves open.
TEST(XEdDsa, NonCanonicalScalarFails) {
  DeterministicRng rng(105);
  BN_CTX* ctx = BN_CTX_new();
  BIGNUM* order = nullptr;
  ASSERT_NE(BN_dec2bn(&order, "7237005577332262213973186563042994240857116359379907606001950938285454250989"),
            0);  // L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032)
  int checked = 0;
  for (int i = 0; i < 20; ++i) {
    const KeyPair pair = KeyPair::Generate(rng);
    const std::vector<std::uint8_t> message = HexBytes("abcdef");
    Signature signature = XEdDsaSign(pair.private_key, message, rng);
    const std::uint8_t sign_bit = signature[63] & 0x80;
    signature[63] &= 0x7f;
    BIGNUM* s = BN_lebin2bn(signature.data() + 32, 32, nullptr);
    BN_add(s, s, order);
    if (BN_num_bits(s) <= 255) {
      ASSERT_EQ(BN_bn2lebinpad(s, signature.data() + 32, 32), 32);
      signature[63] |= sign_bit;
      EXPECT_FALSE(XEdDsaVerify(pair.public_key, message, signature));
      ++checked;
    }
    BN_free(s);
  }
  EXPECT_EQ(checked, 20);
  BN_free(order);
  BN_CTX_free(ctx);
}

// libsignal-protocol-c tests/test_curve25519.c, test_curve25519_signature:
// Alice's identity key signs her serialized ephemeral public key.
TEST(XEdDsa, LibsignalFixedVector) {
  auto private_key =
      PrivateKey::FromBytes(HexBytes("c097248412e58bf05df487968205132794178e367637f5818f81e0e6ce73e865"));
  ASSERT_TRUE(private_key.has_value());
  auto identity =
      PublicKey::Deserialize(HexBytes("05ab7e717d4a163b7d9a1d8071dfe9dcf8cdcd1cea3339b6356be84d887e322c64"));
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(private_key->DerivePublic(), *identity);
  const std::vector<std::uint8_t> message =
      HexBytes("05edce9d9c415ca78cb7252e72c2c4a554d3eb29485a0e1d503118d1a82d99fb4a");
  const std::vector<std::uint8_t> signature = HexBytes(
      "5de88ca9a89b4a115da79109c67c9c7464a3e4180274f1cb8c63c2984e286dfb"
      "ede82deb9dcd9fae0bfbb821569b3d9001bd8130cd11d486cef047bd60b86e88");
  EXPECT_TRUE(XEdDsaVerify(*identity, message, signature));
  for (std::size_t i = 0; i < signature.size(); ++i) {
    auto bad = signature;
    bad[i] ^= 0x01;
    EXPECT_FALSE(XEdDsaVerify(*identity, message, bad)) << i;
  }
}

// A default PrivateKey (all zero) is not a key anyone should sign with, but
// it must not crash: it signs as the clamped scalar X25519 uses for it.
TEST(XEdDsa, DefaultPrivateKeySignsConsistentlyWithItsPublicKey) {
  DeterministicRng rng(106);
  const PrivateKey key;
  const std::vector<std::uint8_t> message = HexBytes("abcdef");
  const Signature signature = XEdDsaSign(key, message, rng);
  EXPECT_TRUE(XEdDsaVerify(key.DerivePublic(), message, signature));
}

TEST(XEdDsa, LibsignalSelfTestsPass) { EXPECT_EQ(curve_internal_fast_tests(1), 0); }

// The strongest check: with the same key, message and 64 random bytes, Parley
// and libsignal-protocol-c produce the same signature, and each verifies the
// other's.
TEST(XEdDsa, ByteIdenticalToLibsignal) {
  SystemRng rng;
  bool seen_sign_bit[2] = {false, false};
  for (int i = 0; i < 300; ++i) {
    const KeyPair pair = KeyPair::Generate(rng);
    const Message m = RandomMessage(rng, 1000);
    std::array<std::uint8_t, 64> z;
    rng.Fill(z);

    ReplayRng replay(z);
    const Signature ours = XEdDsaSign(pair.private_key, m.bytes(), replay);
    Signature theirs;
    ASSERT_EQ(
        curve25519_sign(theirs.data(), pair.private_key.bytes().data(), m.bytes().data(), m.size, z.data()),
        0);
    EXPECT_EQ(ToHex(ours), ToHex(theirs)) << "key " << i;
    EXPECT_EQ(LibsignalVerify(ours, pair.public_key, m.bytes()), 0) << "key " << i;
    EXPECT_TRUE(XEdDsaVerify(pair.public_key, m.bytes(), theirs)) << "key " << i;
    seen_sign_bit[ours[63] >> 7] = true;
  }
  EXPECT_TRUE(seen_sign_bit[0]);
  EXPECT_TRUE(seen_sign_bit[1]);
}

// Keys that sign and verify again and again, more of them than the caches
// of recent keys hold, interleaved: every signature is still libsignal's
// byte for byte, and every verification still decides as libsignal does.
TEST(XEdDsa, KeysUsedRepeatedlyAndInterleaved) {
  SystemRng rng;
  std::vector<KeyPair> pairs;
  for (int i = 0; i < 12; ++i) pairs.push_back(KeyPair::Generate(rng));
  for (int round = 0; round < 6; ++round) {
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      // Two keys in a row now and then, and the first key in every round.
      for (std::size_t k : {i, i % 3 == 0 ? std::size_t{0} : i}) {
        const KeyPair& pair = pairs[k];
        const Message m = RandomMessage(rng, 200);
        std::array<std::uint8_t, 64> z;
        rng.Fill(z);
        ReplayRng replay(z);
        const Signature ours = XEdDsaSign(pair.private_key, m.bytes(), replay);
        Signature theirs;
        ASSERT_EQ(curve25519_sign(theirs.data(), pair.private_key.bytes().data(), m.bytes().data(), m.size,
                                  z.data()),
                  0);
        ASSERT_EQ(ToHex(ours), ToHex(theirs)) << "round " << round << " key " << k;
        EXPECT_TRUE(XEdDsaVerify(pair.public_key, m.bytes(), ours)) << "round " << round << " key " << k;
        // A wrong key, a flipped signature bit and a flipped message bit fail.
        EXPECT_FALSE(XEdDsaVerify(pairs[(k + 1) % pairs.size()].public_key, m.bytes(), ours));
        Signature flipped = ours;
        flipped[static_cast<std::size_t>(round * 11 + static_cast<int>(k)) % 64] ^= 0x04;
        EXPECT_FALSE(XEdDsaVerify(pair.public_key, m.bytes(), flipped));
        if (m.size > 0) {
          Message other = m;
          other.storage[m.size - 1] ^= 0x80;
          EXPECT_FALSE(XEdDsaVerify(pair.public_key, other.bytes(), ours));
        }
      }
    }
  }
}

// One key verifying many signatures goes from libsodium's verification to
// its own table after its second good signature: every decision, on good
// and altered signatures, stays libsignal's.
TEST(XEdDsa, ManySignaturesUnderOneKeyDecideAsLibsignal) {
  SystemRng rng;
  for (int k = 0; k < 3; ++k) {
    const KeyPair pair = KeyPair::Generate(rng);
    int accepted = 0;
    for (int i = 0; i < 30; ++i) {
      const Message m = RandomMessage(rng, 300);
      std::array<std::uint8_t, 64> z;
      rng.Fill(z);
      Signature signature;
      ASSERT_EQ(curve25519_sign(signature.data(), pair.private_key.bytes().data(), m.bytes().data(), m.size,
                                z.data()),
                0);
      const bool ours = XEdDsaVerify(pair.public_key, m.bytes(), signature);
      EXPECT_EQ(ours, LibsignalVerify(signature, pair.public_key, m.bytes()) == 0) << k << " " << i;
      accepted += ours ? 1 : 0;
      for (std::size_t byte : {std::size_t{0}, std::size_t{17}, std::size_t{31}, std::size_t{32},
                               std::size_t{50}, std::size_t{63}}) {
        Signature altered = signature;
        altered[byte] ^= static_cast<std::uint8_t>(1u << (i % 7));
        EXPECT_EQ(XEdDsaVerify(pair.public_key, m.bytes(), altered),
                  LibsignalVerify(altered, pair.public_key, m.bytes()) == 0)
            << k << " " << i << " byte " << byte;
      }
    }
    EXPECT_EQ(accepted, 30);
  }
}

TEST(XEdDsa, CrossVerifiesWithLibsignalOnFreshRandomness) {
  SystemRng rng;
  for (int i = 0; i < 200; ++i) {
    const KeyPair pair = KeyPair::Generate(rng);
    const Message m = RandomMessage(rng, 200);
    const Signature ours = XEdDsaSign(pair.private_key, m.bytes(), rng);
    EXPECT_EQ(LibsignalVerify(ours, pair.public_key, m.bytes()), 0) << i;

    std::array<std::uint8_t, 64> z;
    rng.Fill(z);
    Signature theirs;
    ASSERT_EQ(
        curve25519_sign(theirs.data(), pair.private_key.bytes().data(), m.bytes().data(), m.size, z.data()),
        0);
    EXPECT_TRUE(XEdDsaVerify(pair.public_key, m.bytes(), theirs)) << i;

    // Both reject the other's signature over a different message.
    Message other = m;
    other.storage[0] ^= 1;
    if (other.size == 0) other.size = 1;
    EXPECT_NE(LibsignalVerify(ours, pair.public_key, other.bytes()), 0) << i;
    EXPECT_FALSE(XEdDsaVerify(pair.public_key, other.bytes(), theirs)) << i;
  }
}

}  // namespace
}  // namespace parley::crypto
