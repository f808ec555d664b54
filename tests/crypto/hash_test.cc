#include "crypto/hash.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <string>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"
#include "hex_literal.h"

namespace parley::crypto {
namespace {

using testing::HexBytes;
using testing::TextBytes;

// FIPS 180-2, appendix C.1 (also what coreutils' sha512sum prints for "abc").
TEST(Sha512, KnownAnswerAbc) {
  const auto digest = Sha512(TextBytes("abc"));
  EXPECT_EQ(ToHex(digest),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Sha512, EmptyInput) {
  const auto digest = Sha512({});
  EXPECT_EQ(ToHex(digest).substr(0, 40), "cf83e1357eefb8bdf1542850d66d8007d620e405");
}

TEST(Sha512, IncrementalMatchesOpenSslOnRandomSplits) {
  DeterministicRng rng(512);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::uint8_t> data(static_cast<std::size_t>(round) * 7);
    rng.Fill(data);
    std::uint8_t expected[SHA512_DIGEST_LENGTH];
    SHA512(data.data(), data.size(), expected);

    Sha512Hasher hasher;
    std::size_t offset = 0;
    while (offset < data.size()) {
      std::uint8_t step = 0;
      rng.Fill(std::span(&step, 1));
      const std::size_t n = std::min<std::size_t>(step % 150, data.size() - offset);
      hasher.Update(Bytes(data).subspan(offset, n));
      offset += n;
    }
    const auto got = hasher.Final();
    EXPECT_EQ(ToHex(got), ToHex(expected)) << "round " << round;
    EXPECT_EQ(Sha512(data), got);
  }
}

struct HmacVector {
  std::vector<std::uint8_t> key;
  std::vector<std::uint8_t> data;
  std::string tag_hex;  // may be a truncation (test case 5)
};

// RFC 4231, section 4, HMAC-SHA-256 results of test cases 1 to 7.
std::vector<HmacVector> Rfc4231Vectors() {
  return {
      {std::vector<std::uint8_t>(20, 0x0b), TextBytes("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {TextBytes("Jefe"), TextBytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::vector<std::uint8_t>(20, 0xaa), std::vector<std::uint8_t>(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {HexBytes("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::vector<std::uint8_t>(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::vector<std::uint8_t>(20, 0x0c), TextBytes("Test With Truncation"),
       "a3b6167473100ee06e0c796c2955552b"},
      {std::vector<std::uint8_t>(131, 0xaa),
       TextBytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::vector<std::uint8_t>(131, 0xaa),
       TextBytes("This is a test using a larger than block-size key and a larger than block-size data. The "
                 "key needs to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST(HmacSha256, Rfc4231) {
  int case_number = 1;
  for (const auto& v : Rfc4231Vectors()) {
    const auto tag = HmacSha256(v.key, v.data);
    EXPECT_EQ(ToHex(tag).substr(0, v.tag_hex.size()), v.tag_hex) << "case " << case_number;

    HmacSha256Hasher hasher(v.key);
    const std::size_t half = v.data.size() / 2;
    hasher.Update(Bytes(v.data).first(half));
    hasher.Update(Bytes(v.data).subspan(half));
    EXPECT_EQ(hasher.Final(), tag) << "case " << case_number;
    ++case_number;
  }
}

TEST(HmacSha256, MatchesOpenSslForKeysOfEveryLength) {
  DeterministicRng rng(4231);
  for (std::size_t key_len = 0; key_len <= 200; ++key_len) {
    std::vector<std::uint8_t> key(key_len);
    std::vector<std::uint8_t> data(key_len * 3 % 257);
    rng.Fill(key);
    rng.Fill(data);
    std::uint8_t expected[32];
    unsigned int expected_len = 0;
    static const std::uint8_t kNothing = 0;
    ASSERT_NE(HMAC(EVP_sha256(), key.empty() ? &kNothing : key.data(), static_cast<int>(key.size()),
                   data.data(), data.size(), expected, &expected_len),
              nullptr);
    ASSERT_EQ(expected_len, 32u);
    EXPECT_EQ(ToHex(HmacSha256(key, data)), ToHex(expected)) << "key length " << key_len;

    HmacSha256Hasher hasher(key);
    for (std::uint8_t b : data) hasher.Update(Bytes(&b, 1));
    EXPECT_EQ(ToHex(hasher.Final()), ToHex(expected)) << "key length " << key_len;
  }
}

TEST(HmacSha256Key, EveryMacUnderOneKeyMatchesTheOneShotMac) {
  DeterministicRng rng(2104);
  for (std::size_t key_len : {0u, 1u, 32u, 63u, 64u, 65u, 131u}) {
    std::vector<std::uint8_t> key(key_len);
    rng.Fill(key);
    const HmacSha256Key keyed(key);
    for (std::size_t data_len : {0u, 1u, 55u, 56u, 64u, 119u, 200u}) {
      std::vector<std::uint8_t> data(data_len);
      rng.Fill(data);
      // Each MAC starts from the keyed state, not from the previous MAC's end.
      const HmacSha256Tag expected = HmacSha256(key, data);
      EXPECT_EQ(keyed.Mac(data), expected) << key_len << " " << data_len;
      std::array<std::uint8_t, 32> into{};
      keyed.MacInto(data, into);
      EXPECT_EQ(ToHex(into), ToHex(expected));
      HmacSha256Hasher hasher(keyed);
      hasher.Update(Bytes(data).first(data_len / 3));
      hasher.Update(Bytes(data).subspan(data_len / 3));
      EXPECT_EQ(hasher.Final(), expected);
    }
    // A copy of the key MACs as the original does.
    const HmacSha256Key copy = keyed;
    EXPECT_EQ(copy.Mac(TextBytes("copy")), HmacSha256(key, TextBytes("copy")));
  }
}

struct HkdfVector {
  std::string ikm, salt, info;
  std::size_t length;
  std::string okm;
};

// RFC 5869, appendix A.1 to A.3 (the SHA-256 cases).
const HkdfVector kRfc5869[] = {
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
    {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
     "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
     "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
     "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
     "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
     "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
     82,
     "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
     "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "", 42,
     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
};

TEST(Hkdf, Rfc5869) {
  for (const auto& v : kRfc5869) {
    auto okm = Hkdf(HexBytes(v.ikm), HexBytes(v.salt), HexBytes(v.info), v.length);
    ASSERT_TRUE(okm.has_value());
    EXPECT_EQ(ToHex(okm->bytes()), v.okm);
  }
}

TEST(Hkdf, EmptySaltIsThirtyTwoZeroBytes) {
  const auto ikm = HexBytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const std::vector<std::uint8_t> zeros(32, 0);
  auto a = Hkdf(ikm, {}, TextBytes("WhisperText"), 64);
  auto b = Hkdf(ikm, zeros, TextBytes("WhisperText"), 64);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(ToHex(a->bytes()), ToHex(b->bytes()));
}

TEST(Hkdf, OutputLengthLimit) {
  const auto ikm = TextBytes("input key material");
  auto longest = Hkdf(ikm, {}, {}, kHkdfMaxOutputSize);
  ASSERT_TRUE(longest.has_value());
  EXPECT_EQ(longest->size(), 8160u);

  auto too_long = Hkdf(ikm, {}, {}, kHkdfMaxOutputSize + 1);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, CryptoErrc::kInvalidLength);

  auto empty = Hkdf(ikm, {}, {}, 0);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

// OpenSSL's HKDF is an independent implementation of RFC 5869.
std::vector<std::uint8_t> OpenSslHkdf(Bytes ikm, Bytes salt, Bytes info, std::size_t len) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  char digest[] = "SHA256";
  static std::uint8_t nothing = 0;
  auto ptr = [](Bytes b) { return const_cast<std::uint8_t*>(b.empty() ? &nothing : b.data()); };
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("digest", digest, 0),
      OSSL_PARAM_construct_octet_string("key", ptr(ikm), ikm.size()),
      OSSL_PARAM_construct_octet_string("salt", ptr(salt), salt.size()),
      OSSL_PARAM_construct_octet_string("info", ptr(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  std::vector<std::uint8_t> out(len);
  const int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) out.clear();
  return out;
}

TEST(Hkdf, MatchesOpenSsl) {
  DeterministicRng rng(5869);
  for (int round = 0; round < 100; ++round) {
    std::vector<std::uint8_t> ikm(1 + static_cast<std::size_t>(round) % 80), salt(1 + round % 70),
        info(static_cast<std::size_t>(round) % 90);
    rng.Fill(ikm);
    rng.Fill(salt);
    rng.Fill(info);
    const std::size_t len = 1 + static_cast<std::size_t>(round) * 37 % 400;
    auto ours = Hkdf(ikm, salt, info, len);
    ASSERT_TRUE(ours.has_value());
    EXPECT_EQ(ToHex(ours->bytes()), ToHex(OpenSslHkdf(ikm, salt, info, len))) << "round " << round;
  }
}

TEST(Hkdf, FixedSizeOutputMatchesTheBuffer) {
  DeterministicRng rng(48);
  std::vector<std::uint8_t> ikm(32), salt(32);
  rng.Fill(ikm);
  rng.Fill(salt);
  const auto info = TextBytes("WhisperMessageKeys");
  for (Bytes s : {Bytes(salt), Bytes()}) {
    auto buffer = Hkdf(ikm, s, info, 80);
    ASSERT_TRUE(buffer.has_value());
    EXPECT_EQ(ToHex(HkdfArray<80>(ikm, s, info).bytes()), ToHex(buffer->bytes()));
    EXPECT_EQ(ToHex(HkdfArray<48>(ikm, s, info).bytes()), ToHex(buffer->bytes().first(48)));
    EXPECT_EQ(ToHex(HkdfArray<1>(ikm, s, info).bytes()), ToHex(buffer->bytes().first(1)));
  }
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  const std::vector<std::uint8_t> a = HexBytes("00112233445566778899");
  EXPECT_TRUE(ConstantTimeEqual(a, a));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto b = a;
    b[i] ^= 0x01;
    EXPECT_FALSE(ConstantTimeEqual(a, b)) << "byte " << i;
  }
  EXPECT_FALSE(ConstantTimeEqual(a, Bytes(a).first(9)));
  EXPECT_FALSE(ConstantTimeEqual(Bytes(a).first(9), a));
  EXPECT_FALSE(ConstantTimeEqual(a, {}));
}

}  // namespace
}  // namespace parley::crypto
