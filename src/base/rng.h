// Rng: randomness is injected, so protocol code is pure and tests repeatable.
//
// Production code uses crypto::SystemRng (libsodium). DeterministicRng is for
// tests and fuzzers only: it is predictable by design.
#pragma once

#include <cstdint>
#include <span>

namespace parley {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual void Fill(std::span<std::uint8_t> out) = 0;
};

// Repeatable pseudo-random bytes from a 64-bit seed (splitmix64). Not secure.
class DeterministicRng final : public Rng {
 public:
  explicit DeterministicRng(std::uint64_t seed) : state_(seed) {}
  void Fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t state_;
};

}  // namespace parley
