// The server's TLS certificate when the operator configures none: a
// self-signed P-256 certificate generated on first start into the data
// directory (private key mode 0600) and reused on later starts. Clients pin
// its SHA-256 fingerprint, so it must stay stable.
#pragma once

#include <filesystem>
#include <string>

#include "base/result.h"

namespace parley::server {

enum class CertificateError {
  kDataDirUnusable,   // the data directory cannot be created
  kMissingKey,        // the certificate exists but its private key does not
  kGenerationFailed,  // OpenSSL could not make the key or certificate
  kWriteFailed,       // a file could not be written
  kUnreadable,        // a certificate file cannot be read or holds no PEM certificate
};

struct CertificateFiles {
  std::filesystem::path certificate;  // PEM
  std::filesystem::path private_key;  // PEM, mode 0600
};

struct SelfSignedCertificate {
  CertificateFiles files;
  // Lower-case hex SHA-256 of the DER certificate (what clients pin).
  std::string fingerprint_sha256;
  // True when this call created the files.
  bool generated = false;
};

// The self-signed certificate files in `data_dir`.
CertificateFiles SelfSignedCertificatePaths(const std::filesystem::path& data_dir);

// Returns the certificate kept in `data_dir`, generating it (and creating
// the directory, mode 0700) when there is none. A certificate without its key
// is an error, not a reason to replace a certificate clients may have pinned;
// a key without a certificate (an interrupted first start) is replaced.
Result<SelfSignedCertificate, CertificateError> EnsureSelfSignedCertificate(
    const std::filesystem::path& data_dir);

// Lower-case hex SHA-256 of the first certificate in a PEM file: the same
// value as `openssl x509 -noout -fingerprint -sha256` without colons.
Result<std::string, CertificateError> CertificateFingerprint(const std::filesystem::path& pem_file);

}  // namespace parley::server
