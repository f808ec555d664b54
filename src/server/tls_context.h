// The server's TLS context: TLS 1.3 only, certificate and key from PEM files.
#pragma once

#include <memory>

#include "base/result.h"
#include "server/self_signed_certificate.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace parley::server {

enum class TlsError {
  kContextFailed,   // OpenSSL could not create or configure the context
  kBadCertificate,  // the certificate chain file cannot be loaded
  kBadPrivateKey,   // the private key file cannot be loaded
  kKeyMismatch,     // the key does not belong to the certificate
};

// A server context that accepts only TLS 1.3, without compression,
// renegotiation or a session cache, and that releases each connection's
// OpenSSL record buffers while it is idle (SSL_MODE_RELEASE_BUFFERS).
Result<std::shared_ptr<boost::asio::ssl::context>, TlsError> MakeServerTlsContext(
    const CertificateFiles& files);

}  // namespace parley::server
