// Randomness from the operating system (libsodium's randombytes).
#pragma once

#include <cstdint>
#include <span>

#include "base/rng.h"

namespace parley::crypto {

// Initializes libsodium once; safe to call from any thread, any number of times.
void InitializeCrypto();

void RandomBytes(std::span<std::uint8_t> out);

class SystemRng final : public Rng {
 public:
  SystemRng();
  void Fill(std::span<std::uint8_t> out) override;
};

}  // namespace parley::crypto
