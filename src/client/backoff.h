// Backoff: the waits between attempts after failures, for the connection's
// reconnects and the owed receipts' retries alike: 500 ms doubling up to
// 30 s, each wait drawn from the upper half of its step (jitter, so that
// clients that failed together do not come back together).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace parley::client {

class Backoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{500};
  static constexpr std::chrono::milliseconds kMax{30'000};

  // The wait before the next attempt, drawn with `random` (32 random bits);
  // the step after it is twice as long, up to kMax.
  std::chrono::milliseconds Next(std::uint32_t random) {
    const auto half = step_ / 2;
    const auto wait = half + std::chrono::milliseconds(random % (half.count() + 1));
    step_ = std::min(step_ * 2, kMax);
    return wait;
  }
  // After a success: the next failure waits from the first step again.
  void Reset() { step_ = kFirst; }

 private:
  std::chrono::milliseconds step_ = kFirst;
};

}  // namespace parley::client
