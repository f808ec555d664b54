#include "crypto/cipher.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"
#include "hex_literal.h"

namespace parley::crypto {
namespace {

using testing::HexBytes;

template <std::size_t N>
std::array<std::uint8_t, N> Array(std::string_view hex) {
  const auto bytes = HexBytes(hex);
  if (bytes.size() != N) std::abort();
  std::array<std::uint8_t, N> out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

// Raw AES-256 with no padding, straight from OpenSSL, to build ciphertexts
// whose plaintext has chosen (bad) padding and to compute expected counter
// blocks.
std::vector<std::uint8_t> RawAes(const EVP_CIPHER* cipher, Bytes key, const std::uint8_t* iv, Bytes in) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<std::uint8_t> out(in.size());
  int n = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, cipher, nullptr, key.data(), iv), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &n, in.data(), static_cast<int>(in.size())), 1);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

// NIST SP 800-38A appendix F: the AES-256 key and the four plaintext blocks.
const char* const kNistKey = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const char* const kNistPlaintext =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

// F.2.5 CBC-AES256.Encrypt. The NIST plaintext is four whole blocks, so
// PKCS#7 appends one full block of 0x10 after the four NIST blocks.
TEST(Aes256Cbc, NistSp80038aF25) {
  const auto key = Array<32>(kNistKey);
  const auto iv = Array<16>("000102030405060708090a0b0c0d0e0f");
  const auto plaintext = HexBytes(kNistPlaintext);
  const auto ciphertext = Aes256CbcEncrypt(key, iv, plaintext);
  ASSERT_EQ(ciphertext.size(), 80u);
  EXPECT_EQ(ToHex(Bytes(ciphertext).first(64)),
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
            "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b");
  // The padding block, chained from the last NIST ciphertext block.
  const std::vector<std::uint8_t> pad(16, 0x10);
  EXPECT_EQ(ToHex(Bytes(ciphertext).subspan(64)),
            ToHex(RawAes(EVP_aes_256_cbc(), key, ciphertext.data() + 48, pad)));

  auto decrypted = Aes256CbcDecrypt(key, iv, ciphertext);
  ASSERT_TRUE(decrypted.has_value());
  EXPECT_EQ(ToHex(decrypted->bytes()), kNistPlaintext);
}

TEST(Aes256Cbc, RoundTripEveryLength) {
  DeterministicRng rng(38);
  std::array<std::uint8_t, 32> key;
  std::array<std::uint8_t, 16> iv;
  rng.Fill(key);
  rng.Fill(iv);
  for (std::size_t len = 0; len <= 70; ++len) {
    std::vector<std::uint8_t> plaintext(len);
    rng.Fill(plaintext);
    const auto ciphertext = Aes256CbcEncrypt(key, iv, plaintext);
    EXPECT_EQ(ciphertext.size(), (len / 16 + 1) * 16);
    auto decrypted = Aes256CbcDecrypt(key, iv, ciphertext);
    ASSERT_TRUE(decrypted.has_value()) << len;
    EXPECT_EQ(ToHex(decrypted->bytes()), ToHex(plaintext));
  }
}

// OpenSSL's own CBC with PKCS#7, in a fresh context per call.
std::vector<std::uint8_t> OpenSslCbcEncrypt(Bytes key, Bytes iv, Bytes plaintext) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<std::uint8_t> out(plaintext.size() + 16);
  int n = 0, final_n = 0;
  static const std::uint8_t kNothing = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, key.data(), iv.data()), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &n, plaintext.empty() ? &kNothing : plaintext.data(),
                              static_cast<int>(plaintext.size())),
            1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + n, &final_n), 1);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(static_cast<std::size_t>(n + final_n));
  return out;
}

// Parley reuses one CBC context per thread: every call must depend only on
// its own key, IV and input, whatever came before, on any thread.
void ExpectCbcCallsIndependent(std::uint64_t seed) {
  DeterministicRng rng(seed);
  for (int round = 0; round < 50; ++round) {
    std::array<std::uint8_t, 32> key;
    std::array<std::uint8_t, 16> iv;
    std::vector<std::uint8_t> plaintext(static_cast<std::size_t>(round) * 7 % 90);
    rng.Fill(key);
    rng.Fill(iv);
    rng.Fill(plaintext);
    const auto expected = OpenSslCbcEncrypt(key, iv, plaintext);
    const auto ciphertext = Aes256CbcEncrypt(key, iv, plaintext);
    ASSERT_EQ(ToHex(ciphertext), ToHex(expected)) << "round " << round;
    // A failed decryption in between leaves nothing behind either.
    const std::vector<std::uint8_t> junk(32, static_cast<std::uint8_t>(round));
    (void)Aes256CbcDecrypt(key, iv, junk);
    auto decrypted = Aes256CbcDecrypt(key, iv, ciphertext);
    ASSERT_TRUE(decrypted.has_value()) << "round " << round;
    EXPECT_EQ(ToHex(decrypted->bytes()), ToHex(plaintext)) << "round " << round;
  }
}

TEST(Aes256Cbc, CallsAreIndependentOfEachOtherAndOfThreads) {
  ExpectCbcCallsIndependent(1);
  std::thread other([] { ExpectCbcCallsIndependent(2); });
  ExpectCbcCallsIndependent(3);
  other.join();
}

class CbcPadding : public ::testing::Test {
 protected:
  // Encrypts two whole blocks whose second block ends in tail, unpadded.
  std::vector<std::uint8_t> EncryptRaw(std::vector<std::uint8_t> tail) {
    std::vector<std::uint8_t> plaintext(32 - tail.size(), 0x41);
    plaintext.insert(plaintext.end(), tail.begin(), tail.end());
    return RawAes(EVP_aes_256_cbc(), key_, iv_.data(), plaintext);
  }
  CryptoResult<SecretBuffer> Decrypt(Bytes ciphertext) { return Aes256CbcDecrypt(key_, iv_, ciphertext); }
  void ExpectRejected(std::vector<std::uint8_t> tail, const char* what) {
    auto result = Decrypt(EncryptRaw(std::move(tail)));
    ASSERT_FALSE(result.has_value()) << what;
    EXPECT_EQ(result.error().code, CryptoErrc::kDecryptFailed) << what;
  }

  std::array<std::uint8_t, 32> key_ = Array<32>(kNistKey);
  std::array<std::uint8_t, 16> iv_ = Array<16>("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
};

TEST_F(CbcPadding, AcceptsEveryValidPadLength) {
  for (std::uint8_t pad = 1; pad <= 16; ++pad) {
    auto result = Decrypt(EncryptRaw(std::vector<std::uint8_t>(pad, pad)));
    ASSERT_TRUE(result.has_value()) << int{pad};
    EXPECT_EQ(result->size(), 32u - pad);
  }
}

TEST_F(CbcPadding, RejectsZeroPadByte) { ExpectRejected({0x00}, "last byte 0"); }

TEST_F(CbcPadding, RejectsPadLongerThanBlock) {
  ExpectRejected(std::vector<std::uint8_t>(17, 17), "pad 17");
  ExpectRejected(std::vector<std::uint8_t>(32, 32), "pad 32");
  ExpectRejected({0xff}, "last byte 0xff");
}

TEST_F(CbcPadding, RejectsInconsistentPadBytes) {
  ExpectRejected({0x02, 0x03, 0x03}, "03 03 preceded by 02 for pad 3");
  ExpectRejected({0x03, 0x02}, "02 preceded by 03");
  std::vector<std::uint8_t> almost(16, 16);
  almost[0] = 15;
  ExpectRejected(almost, "pad 16 with its first byte wrong");
  std::vector<std::uint8_t> middle(9, 9);
  middle[4] = 0x19;
  ExpectRejected(middle, "pad 9 with a middle byte wrong");
}

TEST_F(CbcPadding, RejectsLengthNotAPositiveMultipleOfBlock) {
  const auto good = Aes256CbcEncrypt(key_, iv_, std::vector<std::uint8_t>(20, 7));
  ASSERT_EQ(good.size(), 32u);
  for (std::size_t len : {0, 1, 15, 17, 31}) {
    auto result = Decrypt(Bytes(good).first(len));
    ASSERT_FALSE(result.has_value()) << len;
    EXPECT_EQ(result.error().code, CryptoErrc::kDecryptFailed);
  }
  auto longer = good;
  longer.push_back(0);
  auto result = Decrypt(longer);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, CryptoErrc::kDecryptFailed);
}

// F.5.5 CTR-AES256.Encrypt (F.5.6 decrypts the same way).
TEST(Aes256Ctr, NistSp80038aF55) {
  const auto key = Array<32>(kNistKey);
  const auto counter = Array<16>("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  const std::string expected =
      "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
      "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6";
  const auto ciphertext = Aes256Ctr(key, counter, HexBytes(kNistPlaintext));
  EXPECT_EQ(ToHex(ciphertext), expected);
  EXPECT_EQ(ToHex(Aes256Ctr(key, counter, ciphertext)), kNistPlaintext);

  // A length that is not a whole number of blocks is a prefix of the stream.
  const auto partial = Aes256Ctr(key, counter, Bytes(HexBytes(kNistPlaintext)).first(37));
  EXPECT_EQ(ToHex(partial), expected.substr(0, 74));
  EXPECT_TRUE(Aes256Ctr(key, counter, {}).empty());
}

// The counter is the whole 128-bit block, big-endian: a carry crosses the
// 64-bit halves and the block wraps to zero.
TEST(Aes256Ctr, CounterIsOneHundredTwentyEightBitBigEndian) {
  const auto key = Array<32>(kNistKey);
  const std::vector<std::uint8_t> zeros(32, 0);
  struct Case {
    const char* iv;
    const char* next;
  };
  for (const Case& c : {Case{"0000000000000000ffffffffffffffff", "00000000000000010000000000000000"},
                        Case{"ffffffffffffffffffffffffffffffff", "00000000000000000000000000000000"},
                        Case{"000102030405060708090a0b0c0d0eff", "000102030405060708090a0b0c0d0f00"}}) {
    const auto keystream = Aes256Ctr(key, Array<16>(c.iv), zeros);
    const auto expected_first = RawAes(EVP_aes_256_ecb(), key, nullptr, HexBytes(c.iv));
    const auto expected_second = RawAes(EVP_aes_256_ecb(), key, nullptr, HexBytes(c.next));
    EXPECT_EQ(ToHex(Bytes(keystream).first(16)), ToHex(expected_first)) << c.iv;
    EXPECT_EQ(ToHex(Bytes(keystream).subspan(16)), ToHex(expected_second)) << c.iv;
  }
}

struct GcmVector {
  const char* key;
  const char* nonce;
  const char* aad;
  const char* plaintext;
  const char* ciphertext;
  const char* tag;
};

// McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 13 to
// 16 (the AES-256 cases with a 96-bit IV).
const GcmVector kGcmSpec[] = {
    {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "",
     "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aes256Gcm, SpecTestCases13To16) {
  for (const auto& v : kGcmSpec) {
    const auto key = Array<32>(v.key);
    const auto nonce = Array<12>(v.nonce);
    const auto sealed = Aes256GcmEncrypt(key, nonce, HexBytes(v.aad), HexBytes(v.plaintext));
    EXPECT_EQ(ToHex(sealed), std::string(v.ciphertext) + v.tag);
    auto opened = Aes256GcmDecrypt(key, nonce, HexBytes(v.aad), sealed);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(ToHex(opened->bytes()), v.plaintext);
  }
}

class GcmTamper : public ::testing::Test {
 protected:
  void SetUp() override { sealed_ = Aes256GcmEncrypt(key_, nonce_, aad_, plaintext_); }
  void ExpectRejected(Bytes key, Bytes nonce, Bytes aad, Bytes sealed, const std::string& what) {
    auto result = Aes256GcmDecrypt(key.first<32>(), nonce.first<12>(), aad, sealed);
    ASSERT_FALSE(result.has_value()) << what;
    EXPECT_EQ(result.error().code, CryptoErrc::kDecryptFailed) << what;
  }

  const std::array<std::uint8_t, 32> key_ = Array<32>(kNistKey);
  const std::array<std::uint8_t, 12> nonce_ = Array<12>("cafebabefacedbaddecaf888");
  const std::vector<std::uint8_t> aad_ = HexBytes("feedfacedeadbeef");
  const std::vector<std::uint8_t> plaintext_ = HexBytes("00112233445566778899aabbccddeeff0102030405");
  std::vector<std::uint8_t> sealed_;
};

TEST_F(GcmTamper, EveryFlippedByteIsRejected) {
  for (std::size_t i = 0; i < sealed_.size(); ++i) {
    auto bad = sealed_;
    bad[i] ^= 0x80;
    ExpectRejected(key_, nonce_, aad_, bad, "byte " + std::to_string(i));
  }
}

TEST_F(GcmTamper, WrongKeyNonceOrAadIsRejected) {
  auto key = key_;
  key[0] ^= 1;
  ExpectRejected(key, nonce_, aad_, sealed_, "key");
  auto nonce = nonce_;
  nonce[11] ^= 1;
  ExpectRejected(key_, nonce, aad_, sealed_, "nonce");
  auto aad = aad_;
  aad.push_back(0);
  ExpectRejected(key_, nonce_, aad, sealed_, "aad");
  ExpectRejected(key_, nonce_, {}, sealed_, "missing aad");
}

TEST_F(GcmTamper, TruncatedOrExtendedIsRejected) {
  for (std::size_t len : {std::size_t{0}, std::size_t{15}, std::size_t{16}, sealed_.size() - 1}) {
    ExpectRejected(key_, nonce_, aad_, Bytes(sealed_).first(len), "length " + std::to_string(len));
  }
  auto longer = sealed_;
  longer.push_back(0);
  ExpectRejected(key_, nonce_, aad_, longer, "extended");
}

}  // namespace
}  // namespace parley::crypto
