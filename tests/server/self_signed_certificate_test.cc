#include "server/self_signed_certificate.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace parley::server {
namespace {

class SelfSignedCertificateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-cert-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

// The fingerprint as the openssl command line computes it, lower-cased
// without colons: an independent implementation of the same value.
std::string OpensslFingerprint(const std::filesystem::path& pem) {
  const std::string command = "openssl x509 -noout -fingerprint -sha256 -in '" + pem.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char line[256] = {};
  const bool got = fgets(line, sizeof line, pipe) != nullptr;
  pclose(pipe);
  if (!got) return "";
  std::string text(line);
  text = text.substr(text.find('=') + 1);
  std::string out;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(c));
  }
  return out;
}

TEST_F(SelfSignedCertificateTest, GeneratedOnceThenReused) {
  const std::filesystem::path data = dir_ / "data";
  auto first = EnsureSelfSignedCertificate(data);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(first->fingerprint_sha256.size(), 64u);
  EXPECT_EQ(first->fingerprint_sha256, OpensslFingerprint(first->files.certificate));

  struct stat key_stat {};
  ASSERT_EQ(stat(first->files.private_key.c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  struct stat dir_stat {};
  ASSERT_EQ(stat(data.c_str(), &dir_stat), 0);
  EXPECT_EQ(dir_stat.st_mode & 0777, 0700u);

  auto second = EnsureSelfSignedCertificate(data);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->fingerprint_sha256, first->fingerprint_sha256);
}

TEST_F(SelfSignedCertificateTest, CertificateIsP256AndSelfSigned) {
  auto cert = EnsureSelfSignedCertificate(dir_);
  ASSERT_TRUE(cert);
  const std::string command = "openssl x509 -noout -text -in '" + cert->files.certificate.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string text;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) text += buf;
  pclose(pipe);
  EXPECT_NE(text.find("ASN1 OID: prime256v1"), std::string::npos) << text;
  EXPECT_NE(text.find("Issuer: CN = parleyd"), std::string::npos);
  EXPECT_NE(text.find("Subject: CN = parleyd"), std::string::npos);
  EXPECT_NE(text.find("CA:FALSE"), std::string::npos);
}

TEST_F(SelfSignedCertificateTest, CertificateWithoutKeyIsAnError) {
  auto cert = EnsureSelfSignedCertificate(dir_);
  ASSERT_TRUE(cert);
  std::filesystem::remove(cert->files.private_key);
  auto again = EnsureSelfSignedCertificate(dir_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, CertificateError::kMissingKey);
}

TEST_F(SelfSignedCertificateTest, KeyWithoutCertificateIsReplaced) {
  auto cert = EnsureSelfSignedCertificate(dir_);
  ASSERT_TRUE(cert);
  std::filesystem::remove(cert->files.certificate);
  auto again = EnsureSelfSignedCertificate(dir_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->generated);
  EXPECT_NE(again->fingerprint_sha256, cert->fingerprint_sha256);
}

TEST_F(SelfSignedCertificateTest, FingerprintOfANonCertificateIsAnError) {
  const auto path = dir_ / "junk.pem";
  std::ofstream(path) << "not a certificate\n";
  auto fingerprint = CertificateFingerprint(path);
  ASSERT_FALSE(fingerprint);
  EXPECT_EQ(fingerprint.error().code, CertificateError::kUnreadable);
  EXPECT_EQ(CertificateFingerprint(dir_ / "missing.pem").error().code, CertificateError::kUnreadable);
}

}  // namespace
}  // namespace parley::server
