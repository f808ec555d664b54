// Decrypts arbitrary bytes with AES-256-CBC and AES-256-GCM under a fixed key:
// every length and padding must end in a plaintext or kDecryptFailed, and a
// CBC plaintext is never longer than its ciphertext.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/cipher.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  static constexpr std::array<std::uint8_t, 32> kKey = {1, 2, 3, 4, 5, 6, 7, 8};
  static constexpr std::array<std::uint8_t, 16> kIv = {9, 10, 11, 12};
  static constexpr std::array<std::uint8_t, 12> kNonce = {13, 14, 15};
  const Bytes input(data, size);

  auto cbc = crypto::Aes256CbcDecrypt(kKey, kIv, input);
  if (cbc && (cbc->size() >= input.size() || input.size() - cbc->size() > crypto::kAesBlockSize))
    std::abort();
  if (!cbc && cbc.error().code != crypto::CryptoErrc::kDecryptFailed) std::abort();

  const std::size_t aad_len = input.empty() ? 0 : input[0] % 32;
  const Bytes aad = input.first(std::min(aad_len, input.size()));
  auto gcm = crypto::Aes256GcmDecrypt(kKey, kNonce, aad, input.subspan(aad.size()));
  if (!gcm && gcm.error().code != crypto::CryptoErrc::kDecryptFailed) std::abort();
  return 0;
}
