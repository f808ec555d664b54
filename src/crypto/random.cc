#include "crypto/random.h"

#include <sodium.h>

#include "crypto/fatal_error.h"

namespace parley::crypto {

void InitializeCrypto() {
  // A function-local static is initialized exactly once, even under
  // concurrent first calls.
  static const bool initialized = sodium_init() >= 0;
  if (!initialized) FatalCryptoError("sodium_init failed");
}

void RandomBytes(std::span<std::uint8_t> out) {
  InitializeCrypto();
  if (out.empty()) return;
  randombytes_buf(out.data(), out.size());
}

SystemRng::SystemRng() { InitializeCrypto(); }

void SystemRng::Fill(std::span<std::uint8_t> out) { RandomBytes(out); }

}  // namespace parley::crypto
