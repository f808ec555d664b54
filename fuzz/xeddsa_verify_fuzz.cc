// Verifies arbitrary (public key, signature, message) triples, the untrusted
// input of XEdDSA, and checks that Parley never accepts a signature that
// libsignal-protocol-c rejects. (The converse is allowed: Parley also rejects
// non-canonical scalars, non-canonical u and small-order points.)
//
// Input: 33-byte serialized public key || 64-byte signature || message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/x25519.h"
#include "crypto/xeddsa.h"

extern "C" int curve25519_verify(const unsigned char* signature, const unsigned char* curve25519_pubkey,
                                 const unsigned char* msg, unsigned long msg_len);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  const Bytes input(data, size);
  if (input.size() < crypto::kSerializedPublicKeySize + crypto::kSignatureSize) {
    return 0;
  }
  auto key = crypto::PublicKey::Deserialize(input.first(crypto::kSerializedPublicKeySize));
  if (!key) return 0;
  const Bytes signature = input.subspan(crypto::kSerializedPublicKeySize, crypto::kSignatureSize);
  const Bytes message = input.subspan(crypto::kSerializedPublicKeySize + crypto::kSignatureSize);
  if (crypto::XEdDsaVerify(*key, message, signature) &&
      curve25519_verify(signature.data(), key->raw().data(), message.data(), message.size()) != 0) {
    std::abort();
  }
  return 0;
}
