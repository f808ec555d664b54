#include "client/server_pin.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstdint>
#include <span>

#include "base/hex.h"

namespace parley::client {

std::string PeerCertificateSha256(ssl_st* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const int ok = X509_digest(cert, EVP_sha256(), digest, &size);
  X509_free(cert);
  if (ok != 1) return "";
  return ToHex(std::span<const std::uint8_t>(digest, size));
}

bool PeerMatchesPin(ssl_st* ssl, std::string_view pin) {
  if (pin.empty()) return true;
  std::string lower(pin);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string presented = PeerCertificateSha256(ssl);
  return !presented.empty() && presented == lower;
}

}  // namespace parley::client
