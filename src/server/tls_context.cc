#include "server/tls_context.h"

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

namespace parley::server {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>, TlsError> MakeServerTlsContext(const CertificateFiles& files) {
  std::shared_ptr<ssl::context> context;
  try {
    context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const boost::system::system_error&) {
    return Fail(TlsError::kContextFailed, "cannot create the TLS context");
  }
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return Fail(TlsError::kContextFailed, "cannot restrict the TLS context to TLS 1.3");
  }
  SSL_CTX_set_options(native,
                      SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  // No session tickets: resumption would save one round trip on reconnect,
  // but each ticket costs a write per connection and key material to rotate.
  SSL_CTX_set_num_tickets(native, 0);

  boost::system::error_code ec;
  context->use_certificate_chain_file(files.certificate.string(), ec);
  if (ec) return Fail(TlsError::kBadCertificate, "cannot load the TLS certificate chain");
  context->use_private_key_file(files.private_key.string(), ssl::context::pem, ec);
  if (ec) return Fail(TlsError::kBadPrivateKey, "cannot load the TLS private key");
  if (SSL_CTX_check_private_key(native) != 1) {
    return Fail(TlsError::kKeyMismatch, "the TLS private key does not match the certificate");
  }
  return context;
}

}  // namespace parley::server
