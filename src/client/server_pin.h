// Pinning parleyd's certificate: both the WebSocket connection and the
// attachment transfers accept a server only when the SHA-256 of the
// certificate it presented equals the pin (when a pin is set).
#pragma once

#include <string>
#include <string_view>

struct ssl_st;

namespace parley::client {

// The lower-case hex SHA-256 of the peer's certificate; empty without one.
std::string PeerCertificateSha256(ssl_st* ssl);

// True when `pin` is empty, or names (in hex, any case) the certificate the
// peer of `ssl` presented.
bool PeerMatchesPin(ssl_st* ssl, std::string_view pin);

}  // namespace parley::client
