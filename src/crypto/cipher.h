// AES-256 in CBC (PKCS#7), CTR and GCM modes, over OpenSSL.
//
// Decryption results are SecretBuffers: plaintext is wiped when dropped.
// Every decryption failure is the same kDecryptFailed, so that callers cannot
// become padding oracles by accident.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/byte_reader.h"
#include "base/secret.h"
#include "crypto/error.h"

namespace parley::crypto {

inline constexpr std::size_t kAesKeySize = 32;
inline constexpr std::size_t kAesBlockSize = 16;
inline constexpr std::size_t kGcmNonceSize = 12;
inline constexpr std::size_t kGcmTagSize = 16;

using AesKey = std::span<const std::uint8_t, kAesKeySize>;
using AesIv = std::span<const std::uint8_t, kAesBlockSize>;
using GcmNonce = std::span<const std::uint8_t, kGcmNonceSize>;

std::vector<std::uint8_t> Aes256CbcEncrypt(AesKey key, AesIv iv, Bytes plaintext);
// kDecryptFailed on a length that is not a positive multiple of 16 or on bad padding.
CryptoResult<SecretBuffer> Aes256CbcDecrypt(AesKey key, AesIv iv, Bytes ciphertext);

// CTR mode with a 128-bit big-endian counter block starting at iv; encryption
// and decryption are the same operation.
std::vector<std::uint8_t> Aes256Ctr(AesKey key, AesIv iv, Bytes data);

// Returns ciphertext || 16-byte tag.
std::vector<std::uint8_t> Aes256GcmEncrypt(AesKey key, GcmNonce nonce, Bytes aad, Bytes plaintext);
// Takes ciphertext || tag; kDecryptFailed if the tag does not verify.
CryptoResult<SecretBuffer> Aes256GcmDecrypt(AesKey key, GcmNonce nonce, Bytes aad, Bytes sealed);

}  // namespace parley::crypto
