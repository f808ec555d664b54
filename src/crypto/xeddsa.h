// XEdDSA signatures over X25519 keys, compatible with libsignal.
//
// libsignal's variant: the Montgomery private key is used as the Edwards
// scalar as is (not negated), and the Edwards public key's sign bit travels in
// bit 7 of signature byte 63. Verification restores that bit, so it accepts
// every signature libsignal makes (see PROTOCOL-NOTES.md, "Signatures").
#pragma once

#include <array>
#include <cstdint>

#include "base/byte_reader.h"
#include "base/rng.h"
#include "crypto/x25519.h"

namespace parley::crypto {

inline constexpr std::size_t kSignatureSize = 64;
using Signature = std::array<std::uint8_t, kSignatureSize>;

// Signs message with 64 fresh random bytes from rng.
Signature XEdDsaSign(const PrivateKey& key, Bytes message, Rng& rng);

// True only if signature is 64 bytes and verifies for message under key.
bool XEdDsaVerify(const PublicKey& key, Bytes message, Bytes signature);

}  // namespace parley::crypto
