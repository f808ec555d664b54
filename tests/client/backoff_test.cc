// Backoff (client/backoff.h): the waits of the connection's reconnects and of
// the owed receipts' retries.
#include "client/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace parley::client {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, EachWaitIsInTheUpperHalfOfAStepThatDoublesUpToItsCap) {
  Backoff low, high;
  milliseconds step = Backoff::kFirst;
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(low.Next(0), step / 2) << i;  // the least random bits: half the step
    // The most that random bits can give: the whole step.
    EXPECT_EQ(high.Next(static_cast<std::uint32_t>((step / 2).count())), step) << i;
    step = std::min(step * 2, Backoff::kMax);
  }
  EXPECT_EQ(step, Backoff::kMax);
  // At the cap: 15 s plus the random bits modulo 15,001 ms.
  EXPECT_EQ(low.Next(UINT32_MAX), milliseconds(15'000 + UINT32_MAX % 15'001));
}

TEST(Backoff, ASuccessStartsAgainFromTheFirstStep) {
  Backoff backoff;
  for (int i = 0; i < 5; ++i) (void)backoff.Next(0);
  EXPECT_EQ(backoff.Next(0), milliseconds(8'000));  // the sixth step: 16 s
  backoff.Reset();
  EXPECT_EQ(backoff.Next(0), Backoff::kFirst / 2);
}

}  // namespace
}  // namespace parley::client
