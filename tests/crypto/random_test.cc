#include "crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <thread>
#include <vector>

namespace parley::crypto {
namespace {

TEST(Random, InitializeCryptoIsSafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<std::array<std::uint8_t, 32>> outputs(8);
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    threads.emplace_back([&outputs, i] {
      InitializeCrypto();
      RandomBytes(outputs[i]);
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 1; i < outputs.size(); ++i) EXPECT_NE(outputs[0], outputs[i]);
}

TEST(Random, SystemRngFillsWithFreshBytes) {
  SystemRng rng;
  std::array<std::uint8_t, 64> a{}, b{};
  rng.Fill(a);
  rng.Fill(b);
  // 64 zero bytes or a repeat would mean the buffer was not filled (a chance of 2^-512).
  EXPECT_NE(a, (std::array<std::uint8_t, 64>{}));
  EXPECT_NE(a, b);
  rng.Fill({});  // an empty span is a no-op
}

}  // namespace
}  // namespace parley::crypto
