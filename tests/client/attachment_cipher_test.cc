// The attachment cipher: the blob format checked against the crypto layer's
// one-shot AES-CBC and HMAC and OpenSSL's SHA-256, streaming in pieces of
// every size, the padding buckets, and each error.
#include "client/attachment_cipher.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "crypto/cipher.h"
#include "crypto/hash.h"

namespace parley::client {
namespace {

using ByteVector = std::vector<std::uint8_t>;

AttachmentKey TestKey(std::uint8_t seed = 1) {
  AttachmentKey key;
  for (std::size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<std::uint8_t>(seed + i * 13);
  return key;
}

AttachmentIv TestIv() {
  AttachmentIv iv{};
  for (std::size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<std::uint8_t>(0xa0 + i);
  return iv;
}

ByteVector Pattern(std::size_t n, std::uint32_t seed = 7) {
  std::mt19937 gen(seed);
  ByteVector v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(gen());
  return v;
}

AttachmentDigest Sha256(Bytes bytes) {
  AttachmentDigest d{};
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

struct Encrypted {
  ByteVector blob;
  AttachmentDigest digest{};
};

Encrypted Encrypt(const AttachmentKey& key, Bytes plaintext, std::size_t piece) {
  auto e = AttachmentEncryptor::Create(key, TestIv(), plaintext.size());
  EXPECT_TRUE(e.has_value());
  Encrypted out;
  for (std::size_t at = 0; at < plaintext.size(); at += piece) {
    EXPECT_TRUE((*e)->Update(plaintext.subspan(at, std::min(piece, plaintext.size() - at)), out.blob));
  }
  auto digest = (*e)->Finish(out.blob);
  EXPECT_TRUE(digest.has_value());
  out.digest = *digest;
  return out;
}

AttachmentResult<ByteVector> Decrypt(const AttachmentKey& key, const AttachmentDigest& digest,
                                     std::uint64_t size, Bytes blob, std::size_t piece) {
  auto d = AttachmentDecryptor::Create(key, digest, size);
  if (!d) return tl::unexpected(d.error());
  ByteVector out;
  for (std::size_t at = 0; at < blob.size(); at += piece) {
    auto ok = (*d)->Update(blob.subspan(at, std::min(piece, blob.size() - at)), out);
    if (!ok) return tl::unexpected(ok.error());
  }
  auto ok = (*d)->Finish(out);
  if (!ok) return tl::unexpected(ok.error());
  return out;
}

// The blob assembled independently: IV || AES-256-CBC(padded) || HMAC.
ByteVector ReferenceBlob(const AttachmentKey& key, Bytes plaintext) {
  ByteVector padded(plaintext.begin(), plaintext.end());
  padded.resize(PaddedAttachmentSize(plaintext.size()), 0);
  const AttachmentIv iv = TestIv();
  const auto ct = crypto::Aes256CbcEncrypt(key.bytes().first<32>(), iv, padded);
  ByteVector blob(iv.begin(), iv.end());
  blob.insert(blob.end(), ct.begin(), ct.end());
  const auto tag = crypto::HmacSha256(key.bytes().last<32>(), blob);
  blob.insert(blob.end(), tag.begin(), tag.end());
  return blob;
}

TEST(AttachmentCipherTest, BucketsGrowByFivePercentFrom541) {
  EXPECT_EQ(PaddedAttachmentSize(1), 541u);
  EXPECT_EQ(PaddedAttachmentSize(541), 541u);
  EXPECT_EQ(PaddedAttachmentSize(542), 568u);  // 541 * 21 / 20
  EXPECT_EQ(PaddedAttachmentSize(568), 568u);
  EXPECT_EQ(PaddedAttachmentSize(569), 596u);
  std::uint64_t previous = 0;
  for (std::uint64_t size : {1ull, 1'000ull, 65'536ull, 1'000'000ull, 100'000'000ull}) {
    const std::uint64_t padded = PaddedAttachmentSize(size);
    EXPECT_GE(padded, size);
    EXPECT_LE(padded, std::max<std::uint64_t>(541, size + size / 20 + 1));
    EXPECT_GT(padded, previous);
    previous = padded;
  }
  // Padding never pushes a blob past the cap that the plaintext fits in.
  EXPECT_LE(EncryptedAttachmentSize(100'000'000), kMaxAttachmentBytes);
  EXPECT_LE(EncryptedAttachmentSize(kMaxAttachmentBytes - 64), kMaxAttachmentBytes);
  EXPECT_EQ(PaddedAttachmentSize(kMaxAttachmentBytes), kMaxAttachmentBytes);
}

TEST(AttachmentCipherTest, BlobIsIvCbcCiphertextAndMacWithDigestOverAll) {
  const AttachmentKey key = TestKey();
  for (std::size_t size : {1u, 15u, 16u, 17u, 540u, 541u, 542u, 5'000u, 70'000u}) {
    const ByteVector plaintext = Pattern(size, static_cast<std::uint32_t>(size));
    const Encrypted e = Encrypt(key, plaintext, 4'096);
    EXPECT_EQ(e.blob, ReferenceBlob(key, plaintext)) << size;
    EXPECT_EQ(e.blob.size(), EncryptedAttachmentSize(size)) << size;
    EXPECT_EQ(e.digest, Sha256(e.blob)) << size;
  }
}

TEST(AttachmentCipherTest, RoundTripsWhateverThePieces) {
  const AttachmentKey key = TestKey(9);
  const ByteVector plaintext = Pattern(200'003);
  for (std::size_t in_piece : {1u, 16u, 31u, 65'536u, 200'003u}) {
    const Encrypted e = Encrypt(key, plaintext, in_piece);
    for (std::size_t out_piece : {1u, 15u, 32u, 33u, 70'000u}) {
      if (in_piece == 1 && out_piece == 1) continue;  // slow and adds nothing
      auto got = Decrypt(key, e.digest, plaintext.size(), e.blob, out_piece);
      ASSERT_TRUE(got.has_value()) << in_piece << "/" << out_piece;
      EXPECT_EQ(*got, plaintext);
    }
  }
}

TEST(AttachmentCipherTest, AcceptsAnUnpaddedBlob) {
  // Another sender may leave the plaintext unpadded; only its size is stated.
  const AttachmentKey key = TestKey();
  const ByteVector plaintext = Pattern(100);
  const AttachmentIv iv = TestIv();
  const auto ct = crypto::Aes256CbcEncrypt(key.bytes().first<32>(), iv, plaintext);
  ByteVector blob(iv.begin(), iv.end());
  blob.insert(blob.end(), ct.begin(), ct.end());
  const auto tag = crypto::HmacSha256(key.bytes().last<32>(), blob);
  blob.insert(blob.end(), tag.begin(), tag.end());
  auto got = Decrypt(key, Sha256(blob), 100, blob, 7);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, plaintext);
}

TEST(AttachmentCipherTest, AlteredCiphertextIvOrMacIsBadMac) {
  const AttachmentKey key = TestKey();
  const ByteVector plaintext = Pattern(3'000);
  const Encrypted e = Encrypt(key, plaintext, 1'000);
  for (std::size_t at : {std::size_t{0}, std::size_t{20}, e.blob.size() - 33, e.blob.size() - 1}) {
    ByteVector blob = e.blob;
    blob[at] ^= 0x01;
    // The digest is the altered blob's own, so the MAC is what refuses it.
    auto got = Decrypt(key, Sha256(blob), plaintext.size(), blob, 512);
    ASSERT_FALSE(got.has_value()) << at;
    EXPECT_EQ(got.error().code, AttachmentErrc::kBadMac) << at;
  }
  auto wrong_key = Decrypt(TestKey(2), e.digest, plaintext.size(), e.blob, 512);
  ASSERT_FALSE(wrong_key.has_value());
  EXPECT_EQ(wrong_key.error().code, AttachmentErrc::kBadMac);
}

TEST(AttachmentCipherTest, AnotherDigestIsBadDigest) {
  const AttachmentKey key = TestKey();
  const ByteVector plaintext = Pattern(3'000);
  const Encrypted e = Encrypt(key, plaintext, 1'000);
  AttachmentDigest other = e.digest;
  other[31] ^= 0x80;
  auto got = Decrypt(key, other, plaintext.size(), e.blob, 512);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, AttachmentErrc::kBadDigest);
}

TEST(AttachmentCipherTest, TruncatedBlobs) {
  const AttachmentKey key = TestKey();
  const ByteVector plaintext = Pattern(3'000);
  const Encrypted e = Encrypt(key, plaintext, 1'000);
  // Not IV + whole blocks + MAC.
  for (std::size_t keep : {std::size_t{0}, std::size_t{47}, std::size_t{63}, e.blob.size() - 1}) {
    const Bytes cut(e.blob.data(), keep);
    auto got = Decrypt(key, Sha256(cut), plaintext.size(), cut, 100);
    ASSERT_FALSE(got.has_value()) << keep;
    EXPECT_EQ(got.error().code, AttachmentErrc::kTruncated) << keep;
  }
  // Cut at a block boundary the shape is right, but the MAC is not.
  const Bytes block_cut(e.blob.data(), e.blob.size() - 16);
  auto got = Decrypt(key, Sha256(block_cut), plaintext.size(), block_cut, 100);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, AttachmentErrc::kBadMac);
}

TEST(AttachmentCipherTest, PlaintextShorterThanStatedIsWrongSize) {
  const AttachmentKey key = TestKey();
  const ByteVector plaintext = Pattern(100);  // padded to 541
  const Encrypted e = Encrypt(key, plaintext, 100);
  auto got = Decrypt(key, e.digest, 542, e.blob, 64);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, AttachmentErrc::kWrongSize);
  // A smaller stated size takes the first bytes: the MAC covers them all.
  auto shorter = Decrypt(key, e.digest, 60, e.blob, 64);
  ASSERT_TRUE(shorter.has_value());
  EXPECT_EQ(*shorter, ByteVector(plaintext.begin(), plaintext.begin() + 60));
}

TEST(AttachmentCipherTest, BlobLongerThanTheSizeAllowsIsTooLarge) {
  const AttachmentKey key = TestKey();
  const ByteVector plaintext = Pattern(5'000);
  const Encrypted e = Encrypt(key, plaintext, 5'000);
  // Stated as 1 byte: the blob may be at most 16 + 544 + 32 bytes long.
  auto d = AttachmentDecryptor::Create(key, e.digest, 1);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ((*d)->max_blob_size(), 16u + 544u + 32u);
  ByteVector out;
  auto ok = (*d)->Update(e.blob, out);
  ASSERT_FALSE(ok.has_value());
  EXPECT_EQ(ok.error().code, AttachmentErrc::kTooLarge);
  EXPECT_TRUE(out.empty());
}

TEST(AttachmentCipherTest, ValidMacOverBadPaddingIsBadPadding) {
  const AttachmentKey key = TestKey();
  // One block whose plaintext ends in 0x00 and no padding block after it.
  ByteVector block(32, 0);
  const AttachmentIv iv = TestIv();
  auto ct = crypto::Aes256CbcEncrypt(key.bytes().first<32>(), iv, block);
  ct.resize(32);  // drop the PKCS#7 block
  ByteVector blob(iv.begin(), iv.end());
  blob.insert(blob.end(), ct.begin(), ct.end());
  const auto tag = crypto::HmacSha256(key.bytes().last<32>(), blob);
  blob.insert(blob.end(), tag.begin(), tag.end());
  auto got = Decrypt(key, Sha256(blob), 10, blob, 16);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, AttachmentErrc::kBadPadding);
}

TEST(AttachmentCipherTest, SizesOutsideTheRules) {
  const AttachmentKey key = TestKey();
  auto empty = AttachmentEncryptor::Create(key, TestIv(), 0);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, AttachmentErrc::kEmpty);
  auto huge = AttachmentEncryptor::Create(key, TestIv(), kMaxAttachmentBytes + 1);
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code, AttachmentErrc::kTooLarge);
  EXPECT_TRUE(AttachmentEncryptor::Create(key, TestIv(), kMaxAttachmentBytes).has_value());
  auto d_empty = AttachmentDecryptor::Create(key, {}, 0);
  ASSERT_FALSE(d_empty.has_value());
  EXPECT_EQ(d_empty.error().code, AttachmentErrc::kEmpty);
  auto d_huge = AttachmentDecryptor::Create(key, {}, kMaxAttachmentBytes + 1);
  ASSERT_FALSE(d_huge.has_value());
  EXPECT_EQ(d_huge.error().code, AttachmentErrc::kTooLarge);

  // More or less plaintext than announced.
  auto e = AttachmentEncryptor::Create(key, TestIv(), 10);
  ASSERT_TRUE(e.has_value());
  ByteVector out;
  const ByteVector eleven(11, 1);
  auto over = (*e)->Update(eleven, out);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, AttachmentErrc::kTooLarge);
  ASSERT_TRUE((*e)->Update(Bytes(eleven.data(), 9), out));
  auto early = (*e)->Finish(out);
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code, AttachmentErrc::kWrongSize);
}

TEST(AttachmentCipherTest, PaddingComesInBoundedPieces) {
  const AttachmentKey key = TestKey();
  const std::uint64_t size = 4'000'000;  // about 190 KiB of padding
  auto e = AttachmentEncryptor::Create(key, TestIv(), size);
  ASSERT_TRUE(e.has_value());
  ByteVector out;
  const ByteVector piece(1'000'000, 3);
  for (int i = 0; i < 4; ++i) {
    out.clear();
    ASSERT_TRUE((*e)->Update(piece, out));
  }
  std::uint64_t padding_bytes = 0;
  for (int rounds = 0; rounds < 100; ++rounds) {
    out.clear();
    auto left = (*e)->AddPadding(out);
    ASSERT_TRUE(left.has_value());
    EXPECT_LE(out.size(), 64u * 1024 + 16);
    padding_bytes += out.size();
    if (*left == 0) break;
  }
  EXPECT_GE(padding_bytes + 16, PaddedAttachmentSize(size) - size);
  out.clear();
  ASSERT_TRUE((*e)->Finish(out).has_value());
  EXPECT_LE(out.size(), 16u + 32u);
}

class AttachmentFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley-attachment-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteFile(const std::filesystem::path& p, const ByteVector& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  ByteVector ReadFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return ByteVector((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  bool NoPartialFiles() {
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.path().extension() == ".partial") return false;
    }
    return true;
  }

  std::filesystem::path dir_;
};

TEST_F(AttachmentFileTest, FileRoundTripWithPrivateModes) {
  const AttachmentKey key = TestKey();
  const ByteVector plaintext = Pattern(300'001);
  WriteFile(dir_ / "photo.jpg", plaintext);
  auto enc = EncryptAttachmentFile(dir_ / "photo.jpg", dir_ / "blob", key, TestIv());
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->plaintext_size, plaintext.size());
  EXPECT_EQ(enc->blob_size, EncryptedAttachmentSize(plaintext.size()));
  const ByteVector blob = ReadFile(dir_ / "blob");
  EXPECT_EQ(blob, ReferenceBlob(key, plaintext));
  EXPECT_EQ(enc->digest, Sha256(blob));

  ASSERT_TRUE(DecryptAttachmentFile(dir_ / "blob", dir_ / "out.jpg", key, enc->digest, plaintext.size()));
  EXPECT_EQ(ReadFile(dir_ / "out.jpg"), plaintext);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "out.jpg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / "blob").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(NoPartialFiles());
}

TEST_F(AttachmentFileTest, TamperedBlobLeavesNothingAndKeepsTheOldFile) {
  const AttachmentKey key = TestKey();
  const ByteVector plaintext = Pattern(100'000);
  WriteFile(dir_ / "in", plaintext);
  auto enc = EncryptAttachmentFile(dir_ / "in", dir_ / "blob", key, TestIv());
  ASSERT_TRUE(enc.has_value());
  ByteVector blob = ReadFile(dir_ / "blob");
  blob[5'000] ^= 0x10;
  WriteFile(dir_ / "blob", blob);
  const ByteVector old = {'o', 'l', 'd'};
  WriteFile(dir_ / "out", old);
  auto got = DecryptAttachmentFile(dir_ / "blob", dir_ / "out", key, enc->digest, plaintext.size());
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, AttachmentErrc::kBadMac);
  EXPECT_EQ(ReadFile(dir_ / "out"), old);
  EXPECT_TRUE(NoPartialFiles());

  auto absent = DecryptAttachmentFile(dir_ / "blob", dir_ / "never", key, enc->digest, plaintext.size());
  ASSERT_FALSE(absent.has_value());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "never"));
  EXPECT_TRUE(NoPartialFiles());
}

TEST_F(AttachmentFileTest, MissingOrEmptyInput) {
  const AttachmentKey key = TestKey();
  auto missing = EncryptAttachmentFile(dir_ / "absent", dir_ / "blob", key, TestIv());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, AttachmentErrc::kIo);
  auto directory = EncryptAttachmentFile(dir_, dir_ / "blob", key, TestIv());
  ASSERT_FALSE(directory.has_value());
  EXPECT_EQ(directory.error().code, AttachmentErrc::kIo);
  WriteFile(dir_ / "empty", {});
  auto empty = EncryptAttachmentFile(dir_ / "empty", dir_ / "blob", key, TestIv());
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, AttachmentErrc::kEmpty);
  auto no_blob = DecryptAttachmentFile(dir_ / "absent", dir_ / "out", key, {}, 10);
  ASSERT_FALSE(no_blob.has_value());
  EXPECT_EQ(no_blob.error().code, AttachmentErrc::kIo);
}

}  // namespace
}  // namespace parley::client
