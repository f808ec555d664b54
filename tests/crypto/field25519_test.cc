#include "crypto/field25519.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <sodium.h>

#include <array>
#include <memory>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"
#include "crypto/random.h"

namespace parley::crypto {
namespace {

using Bytes32 = std::array<std::uint8_t, 32>;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

// OpenSSL's BIGNUM is the reference: an independent, general modular
// arithmetic implementation.
class FieldVsBignum : public ::testing::Test {
 protected:
  FieldVsBignum() : ctx_(BN_CTX_new()), p_(BN_new()) {
    BN_set_bit(p_.get(), 255);
    BN_sub_word(p_.get(), 19);
  }

  // The number the bytes encode, as FieldElement::FromBytes reads them:
  // little-endian with bit 255 ignored, reduced mod p.
  Bn Value(const Bytes32& bytes) {
    Bytes32 masked = bytes;
    masked[31] &= 0x7f;
    Bn v(BN_lebin2bn(masked.data(), 32, nullptr));
    BN_nnmod(v.get(), v.get(), p_.get(), ctx_.get());
    return v;
  }
  Bytes32 Encode(const BIGNUM* v) {
    Bytes32 out;
    EXPECT_EQ(BN_bn2lebinpad(v, out.data(), 32), 32);
    return out;
  }
  Bytes32 Random(Rng& rng) {
    Bytes32 b;
    rng.Fill(b);
    return b;
  }
  // Values at the edges of the limb and modulus ranges.
  std::vector<Bytes32> EdgeValues() {
    std::vector<Bytes32> out;
    auto from_bn = [&](const BIGNUM* v) {
      Bytes32 b{};
      BN_bn2lebinpad(v, b.data(), 32);
      out.push_back(b);
    };
    Bn v(BN_new());
    for (unsigned long w : {0ul, 1ul, 2ul, 19ul, 38ul}) {
      BN_set_word(v.get(), w);
      from_bn(v.get());
    }
    for (int delta : {-2, -1, 0, 1, 2, 18}) {  // around p, up to 2^255 - 1
      BN_copy(v.get(), p_.get());
      if (delta < 0) BN_sub_word(v.get(), static_cast<BN_ULONG>(-delta));
      if (delta > 0) BN_add_word(v.get(), static_cast<BN_ULONG>(delta));
      from_bn(v.get());
    }
    for (int bit : {50, 51, 52, 101, 102, 153, 204, 254}) {
      BN_zero(v.get());
      BN_set_bit(v.get(), bit);
      from_bn(v.get());
      BN_sub_word(v.get(), 1);
      from_bn(v.get());
    }
    Bytes32 all_ones;
    all_ones.fill(0xff);
    out.push_back(all_ones);  // 2^256 - 1: bit 255 ignored
    return out;
  }

  std::unique_ptr<BN_CTX, BnCtxFree> ctx_;
  Bn p_;
};

TEST_F(FieldVsBignum, EncodingIsCanonical) {
  DeterministicRng rng(25519);
  auto values = EdgeValues();
  for (int i = 0; i < 2000; ++i) values.push_back(Random(rng));
  for (const auto& x : values) {
    EXPECT_EQ(ToHex(FieldElement::FromBytes(x).ToBytes()), ToHex(Encode(Value(x).get()))) << ToHex(x);
  }
}

TEST_F(FieldVsBignum, CanonicalEncodingCheck) {
  DeterministicRng rng(2);
  auto values = EdgeValues();
  for (int i = 0; i < 2000; ++i) {
    Bytes32 x = Random(rng);
    values.push_back(x);
    x[31] = 0x7f;  // near the top, where canonicity is decided
    for (int j = 1; j < 31; ++j) x[j] = 0xff;
    values.push_back(x);
  }
  for (const auto& x : values) {
    Bn v(BN_lebin2bn(x.data(), 32, nullptr));
    const bool below_p = BN_cmp(v.get(), p_.get()) < 0;
    EXPECT_EQ(IsCanonicalFieldEncoding(x), below_p) << ToHex(x);
  }
}

TEST_F(FieldVsBignum, AddSubtractMultiplySquare) {
  DeterministicRng rng(3);
  std::vector<Bytes32> values = EdgeValues();
  for (int i = 0; i < 1000; ++i) values.push_back(Random(rng));
  Bn expected(BN_new());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Bytes32& a = values[i];
    const Bytes32& b = values[(i * 7 + 3) % values.size()];
    const FieldElement fa = FieldElement::FromBytes(a), fb = FieldElement::FromBytes(b);
    const Bn va = Value(a), vb = Value(b);

    BN_mod_add(expected.get(), va.get(), vb.get(), p_.get(), ctx_.get());
    EXPECT_EQ(ToHex((fa + fb).ToBytes()), ToHex(Encode(expected.get()))) << "add " << i;
    BN_mod_sub(expected.get(), va.get(), vb.get(), p_.get(), ctx_.get());
    EXPECT_EQ(ToHex((fa - fb).ToBytes()), ToHex(Encode(expected.get()))) << "sub " << i;
    BN_mod_mul(expected.get(), va.get(), vb.get(), p_.get(), ctx_.get());
    EXPECT_EQ(ToHex((fa * fb).ToBytes()), ToHex(Encode(expected.get()))) << "mul " << i;
    BN_mod_sqr(expected.get(), va.get(), p_.get(), ctx_.get());
    EXPECT_EQ(ToHex(fa.Square().ToBytes()), ToHex(Encode(expected.get()))) << "square " << i;
  }
}

// Long chains of operations feed unreduced results into the next operation,
// which is where limb bounds would overflow if they were wrong.
TEST_F(FieldVsBignum, ChainedOperations) {
  DeterministicRng rng(4);
  for (int chain = 0; chain < 50; ++chain) {
    Bytes32 start = Random(rng);
    FieldElement acc = FieldElement::FromBytes(start);
    Bn expected = Value(start);
    for (int step = 0; step < 200; ++step) {
      const Bytes32 operand_bytes = Random(rng);
      const FieldElement operand = FieldElement::FromBytes(operand_bytes);
      const Bn v = Value(operand_bytes);
      std::uint8_t op = 0;
      rng.Fill(std::span(&op, 1));
      switch (op % 4) {
        case 0:
          acc = acc + operand;
          BN_mod_add(expected.get(), expected.get(), v.get(), p_.get(), ctx_.get());
          break;
        case 1:
          acc = acc - operand;
          BN_mod_sub(expected.get(), expected.get(), v.get(), p_.get(), ctx_.get());
          break;
        case 2:
          acc = acc * operand;
          BN_mod_mul(expected.get(), expected.get(), v.get(), p_.get(), ctx_.get());
          break;
        default:
          acc = acc.Square() + acc;
          {
            Bn sq(BN_new());
            BN_mod_sqr(sq.get(), expected.get(), p_.get(), ctx_.get());
            BN_mod_add(expected.get(), sq.get(), expected.get(), p_.get(), ctx_.get());
          }
          break;
      }
    }
    EXPECT_EQ(ToHex(acc.ToBytes()), ToHex(Encode(expected.get()))) << "chain " << chain;
  }
}

TEST_F(FieldVsBignum, Invert) {
  DeterministicRng rng(5);
  std::vector<Bytes32> values = EdgeValues();
  for (int i = 0; i < 500; ++i) values.push_back(Random(rng));
  Bn expected(BN_new());
  for (const auto& x : values) {
    const Bn v = Value(x);
    const FieldElement inverse = FieldElement::FromBytes(x).Invert();
    if (BN_is_zero(v.get())) {
      EXPECT_TRUE(inverse.IsZero()) << ToHex(x);
      continue;
    }
    ASSERT_NE(BN_mod_inverse(expected.get(), v.get(), p_.get(), ctx_.get()), nullptr);
    EXPECT_EQ(ToHex(inverse.ToBytes()), ToHex(Encode(expected.get()))) << ToHex(x);
    EXPECT_EQ(ToHex((inverse * FieldElement::FromBytes(x)).ToBytes()), ToHex(FieldElement::One().ToBytes()));
  }
}

TEST_F(FieldVsBignum, MontgomeryToEdwardsMatchesFormula) {
  DeterministicRng rng(6);
  Bn one(BN_new()), num(BN_new()), den(BN_new()), y(BN_new());
  BN_one(one.get());
  for (int i = 0; i < 500; ++i) {
    Bytes32 u = Random(rng);
    u[31] &= 0x7f;
    if (!IsCanonicalFieldEncoding(u)) continue;
    const Bn vu = Value(u);
    BN_mod_sub(num.get(), vu.get(), one.get(), p_.get(), ctx_.get());
    BN_mod_add(den.get(), vu.get(), one.get(), p_.get(), ctx_.get());
    ASSERT_NE(BN_mod_inverse(den.get(), den.get(), p_.get(), ctx_.get()), nullptr);
    BN_mod_mul(y.get(), num.get(), den.get(), p_.get(), ctx_.get());
    const auto ours = MontgomeryUToEdwardsY(u);
    ASSERT_TRUE(ours.has_value());
    EXPECT_EQ(ToHex(*ours), ToHex(Encode(y.get())));
  }
}

TEST_F(FieldVsBignum, MontgomeryToEdwardsRejects) {
  Bn v(BN_new());
  auto encode_p_plus = [&](int delta) {
    BN_copy(v.get(), p_.get());
    if (delta < 0) BN_sub_word(v.get(), static_cast<BN_ULONG>(-delta));
    if (delta > 0) BN_add_word(v.get(), static_cast<BN_ULONG>(delta));
    return Encode(v.get());
  };
  // u = p - 1: u + 1 = 0 has no inverse.
  EXPECT_FALSE(MontgomeryUToEdwardsY(encode_p_plus(-1)).has_value());
  // u >= p: not canonical.
  for (int delta : {0, 1, 18}) EXPECT_FALSE(MontgomeryUToEdwardsY(encode_p_plus(delta)).has_value()) << delta;
  Bytes32 top_bit{};
  top_bit[0] = 9;
  top_bit[31] = 0x80;
  EXPECT_FALSE(MontgomeryUToEdwardsY(top_bit).has_value());
  // p - 2 and 0 are fine: y = (p - 3) / (p - 1) = 3, and y = -1.
  const auto y_of_p_minus_2 = MontgomeryUToEdwardsY(encode_p_plus(-2));
  ASSERT_TRUE(y_of_p_minus_2.has_value());
  EXPECT_EQ(ToHex(*y_of_p_minus_2), "0300000000000000000000000000000000000000000000000000000000000000");
  const auto y_of_zero = MontgomeryUToEdwardsY(Bytes32{});
  ASSERT_TRUE(y_of_zero.has_value());
  EXPECT_EQ(ToHex(*y_of_zero), ToHex(encode_p_plus(-1)));
}

// libsodium maps Ed25519 public keys to X25519 ones (Edwards y to Montgomery
// u); mapping back must give the Edwards y, sign bit aside.
TEST(MontgomeryToEdwards, InvertsLibsodiumEdwardsToMontgomery) {
  InitializeCrypto();
  for (int i = 0; i < 300; ++i) {
    std::array<std::uint8_t, crypto_sign_ed25519_PUBLICKEYBYTES> ed_public;
    std::array<std::uint8_t, crypto_sign_ed25519_SECRETKEYBYTES> ed_secret;
    crypto_sign_ed25519_keypair(ed_public.data(), ed_secret.data());
    Bytes32 u;
    ASSERT_EQ(crypto_sign_ed25519_pk_to_curve25519(u.data(), ed_public.data()), 0);
    const auto y = MontgomeryUToEdwardsY(u);
    ASSERT_TRUE(y.has_value());
    Bytes32 expected = ed_public;
    expected[31] &= 0x7f;
    EXPECT_EQ(ToHex(*y), ToHex(expected));
  }
}

}  // namespace
}  // namespace parley::crypto
