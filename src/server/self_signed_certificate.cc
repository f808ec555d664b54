#include "server/self_signed_certificate.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <system_error>

#include "base/hex.h"

namespace parley::server {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

constexpr long kValiditySeconds = 10L * 365 * 24 * 3600;

bool AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

X509Ptr MakeCertificate(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return nullptr;
  std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return nullptr;
  }
  // Valid from an hour ago, for clients whose clocks run a little behind.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds) == nullptr) {
    return nullptr;
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("parleyd"),
                                 -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return nullptr;
  }
  if (!AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !AddExtension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1")) {
    return nullptr;
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// Writes `contents` to a new file created with `mode`, then renames it over
// `path`, so a reader never sees a partial file.
bool WriteFileAtomically(const std::filesystem::path& path, const std::string& contents, mode_t mode) {
  const std::filesystem::path temp = path.string() + ".tmp";
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return false;
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n <= 0) {
      ::close(fd);
      ::unlink(temp.c_str());
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temp.c_str());
    return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

Status<CertificateError> Generate(const CertificateFiles& files) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Fail(CertificateError::kGenerationFailed, "cannot generate a P-256 key");
  X509Ptr cert = MakeCertificate(key.get());
  if (!cert) return Fail(CertificateError::kGenerationFailed, "cannot build the self-signed certificate");

  BioPtr key_pem(BIO_new(BIO_s_mem()));
  BioPtr cert_pem(BIO_new(BIO_s_mem()));
  if (!key_pem || !cert_pem ||
      PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_pem.get(), cert.get()) != 1) {
    return Fail(CertificateError::kGenerationFailed, "cannot encode the certificate or key as PEM");
  }
  // The key first: a certificate on disk always has its key beside it.
  if (!WriteFileAtomically(files.private_key, BioContents(key_pem.get()), 0600) ||
      !WriteFileAtomically(files.certificate, BioContents(cert_pem.get()), 0644)) {
    return Fail(CertificateError::kWriteFailed, "cannot write the certificate or key file");
  }
  return Ok<CertificateError>();
}

}  // namespace

CertificateFiles SelfSignedCertificatePaths(const std::filesystem::path& data_dir) {
  return {data_dir / "tls-certificate.pem", data_dir / "tls-private-key.pem"};
}

Result<SelfSignedCertificate, CertificateError> EnsureSelfSignedCertificate(
    const std::filesystem::path& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    std::filesystem::create_directories(data_dir, ec);
    if (ec) return Fail(CertificateError::kDataDirUnusable, "cannot create the data directory");
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, ec);
  }
  SelfSignedCertificate result;
  result.files = SelfSignedCertificatePaths(data_dir);
  const bool have_cert = std::filesystem::exists(result.files.certificate, ec);
  const bool have_key = std::filesystem::exists(result.files.private_key, ec);
  if (have_cert && !have_key) {
    return Fail(CertificateError::kMissingKey, "the self-signed certificate's private key file is missing");
  }
  if (!have_cert) {
    auto generated = Generate(result.files);
    if (!generated) return tl::unexpected(generated.error());
    result.generated = true;
  }
  auto fingerprint = CertificateFingerprint(result.files.certificate);
  if (!fingerprint) return tl::unexpected(fingerprint.error());
  result.fingerprint_sha256 = std::move(*fingerprint);
  return result;
}

Result<std::string, CertificateError> CertificateFingerprint(const std::filesystem::path& pem_file) {
  BioPtr bio(BIO_new_file(pem_file.c_str(), "r"));
  if (!bio) return Fail(CertificateError::kUnreadable, "cannot open the certificate file");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Fail(CertificateError::kUnreadable, "the certificate file holds no PEM certificate");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &size) != 1) {
    return Fail(CertificateError::kUnreadable, "cannot hash the certificate");
  }
  return ToHex(std::span<const std::uint8_t>(digest, size));
}

}  // namespace parley::server
