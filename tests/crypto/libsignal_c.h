// Functions of libsignal-protocol-c 2.3.3 that its public headers do not
// declare but its shared library exports (checked with nm -D). They are the
// independent implementation the crypto tests compare Parley against.
#pragma once

#include <cstdint>

extern "C" {

// XEdDSA as libsignal signs: 64-byte signature, 32-byte clamped private key,
// 64 random bytes. Returns 0 on success.
int curve25519_sign(unsigned char* signature_out, const unsigned char* curve25519_privkey,
                    const unsigned char* msg, unsigned long msg_len, const unsigned char* random);

// Returns 0 if the signature verifies.
int curve25519_verify(const unsigned char* signature, const unsigned char* curve25519_pubkey,
                      const unsigned char* msg, unsigned long msg_len);

// Public key through the Edwards curve (fixed-base multiplication, then the
// birational map), a different path from a Montgomery ladder.
void curve25519_keygen(unsigned char* curve25519_pubkey_out, const unsigned char* curve25519_privkey_in);

// The curve25519-donna Montgomery ladder. Returns 0.
int curve25519_donna(std::uint8_t* mypublic, const std::uint8_t* secret, const std::uint8_t* basepoint);

// libsignal's own signature and curve self-tests; 0 when all pass.
int curve_internal_fast_tests(int silent);

}  // extern "C"
