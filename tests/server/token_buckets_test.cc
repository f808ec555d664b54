// The abuse controls' token buckets on a manual clock: refill and
// retry-after, forgetting buckets that are full again (the table stays
// bounded by the keys active recently, not by every key ever seen), and the
// cap on tracked keys (new keys refused, with a retry-after, until a sweep
// frees room).
#include "server/token_buckets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>

#include "server/metrics.h"

namespace parley::server {
namespace {

TEST(TokenBuckets, RefillsAndTellsHowLongToWait) {
  ManualClock clock(1'000'000);
  TokenBuckets buckets({2, 3600}, clock);  // one token a second
  EXPECT_EQ(buckets.Take("a"), 0u);
  EXPECT_EQ(buckets.Take("a"), 0u);
  const std::uint64_t wait = buckets.Take("a");
  EXPECT_GE(wait, 1000u);
  EXPECT_LE(wait, 1001u);
  EXPECT_EQ(buckets.Take("b"), 0u);  // another key, another bucket
  clock.Advance(static_cast<std::int64_t>(wait));
  EXPECT_EQ(buckets.Take("a"), 0u);
  EXPECT_NE(buckets.Take("a"), 0u);
}

TEST(TokenBuckets, ZeroCapacityTracksNothing) {
  ManualClock clock(0);
  TokenBuckets buckets({0, 0}, clock);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(buckets.Take("k" + std::to_string(i)), 0u);
  EXPECT_EQ(buckets.size(), 0u);
}

TEST(TokenBuckets, FullBucketsAreForgotten) {
  ManualClock clock(1'000'000);
  TokenBuckets buckets({2, 3600}, clock);  // full again 1 s after one take
  // 20,000 keys, one take each, 10 ms apart: about 100 are partly used at
  // any time. Without forgetting, the table would hold all 20,000.
  std::size_t largest = 0;
  for (int i = 0; i < 20'000; ++i) {
    EXPECT_EQ(buckets.Take("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)), 0u);
    largest = std::max(largest, buckets.size());
    clock.Advance(10);
  }
  EXPECT_LE(largest, TokenBuckets::kMinSweepKeys);
  EXPECT_GE(largest, 100u);
}

TEST(TokenBuckets, ForgettingChangesNoAnswer) {
  ManualClock clock(1'000'000);
  TokenBuckets buckets({3, 3600}, clock);
  // A key drained to zero and left alone for less than its refill time is
  // not forgotten, however many other keys pass by.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(buckets.Take("drained"), 0u);
  for (int i = 0; i < 5'000; ++i) EXPECT_EQ(buckets.Take("other" + std::to_string(i)), 0u);
  clock.Advance(500);
  EXPECT_NE(buckets.Take("drained"), 0u);
  clock.Advance(3'000);
  // Full again (forgotten or not): the whole capacity is there.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(buckets.Take("drained"), 0u);
  EXPECT_NE(buckets.Take("drained"), 0u);
}

TEST(TokenBuckets, AtTheCapNewKeysAreRefusedUntilRoomIsFreed) {
  ManualClock clock(1'000'000);
  MetricsRegistry registry;
  Counter& refused = registry.AddCounter("refused_total", "test");
  TokenBuckets buckets({1, 1800}, clock, /*max_keys=*/4, &refused);  // full again 2 s after a take
  for (int i = 0; i < 4; ++i) EXPECT_EQ(buckets.Take("key" + std::to_string(i)), 0u);
  EXPECT_EQ(buckets.size(), 4u);

  const std::uint64_t wait = buckets.Take("new");
  EXPECT_GE(wait, 2000u);  // until the first tracked bucket is full again
  EXPECT_LE(wait, 2001u);
  EXPECT_EQ(refused.value(), 1u);
  EXPECT_EQ(buckets.size(), 4u);
  // Tracked keys are served as before.
  clock.Advance(1000);
  EXPECT_NE(buckets.Take("new"), 0u);
  EXPECT_EQ(refused.value(), 2u);
  EXPECT_NE(buckets.Take("key0"), 0u);  // half a token
  EXPECT_EQ(refused.value(), 2u);

  // A refused take changes no bucket: all four are full again when the
  // first refusal said, and the sweep then frees them.
  clock.Advance(static_cast<std::int64_t>(wait) - 1000);
  EXPECT_EQ(buckets.Take("new"), 0u);
  EXPECT_EQ(buckets.size(), 1u);
}

TEST(TokenBuckets, AtTheCapASweepRunsAtMostOncePerInterval) {
  ManualClock clock(1'000'000);
  // Never refills: nothing is ever freed.
  TokenBuckets buckets({1, 0}, clock, /*max_keys=*/2);
  EXPECT_EQ(buckets.Take("a"), 0u);
  EXPECT_EQ(buckets.Take("b"), 0u);
  const std::uint64_t wait = buckets.Take("c");
  EXPECT_GE(wait, static_cast<std::uint64_t>(TokenBuckets::kFullSweepIntervalMs));
  // Each refusal until then is told the same deadline, without a sweep.
  clock.Advance(400);
  EXPECT_EQ(buckets.Take("d"), wait - 400);
  EXPECT_EQ(buckets.size(), 2u);
}

TEST(TokenBuckets, PairAndDeviceKeysAreDistinct) {
  ManualClock clock(0);
  std::array<std::uint8_t, Uuid::kSize> a_bytes{};
  std::array<std::uint8_t, Uuid::kSize> b_bytes{};
  a_bytes[0] = 1;
  b_bytes[0] = 2;
  const AccountId a{Uuid(a_bytes)};
  const AccountId b{Uuid(b_bytes)};
  PairTokenBuckets pairs({1, 0}, clock);
  EXPECT_EQ(pairs.Take(MakeAccountPair(a, b)), 0u);
  EXPECT_EQ(pairs.Take(MakeAccountPair(b, a)), 0u);  // the other direction
  EXPECT_NE(pairs.Take(MakeAccountPair(a, b)), 0u);
  DeviceTokenBuckets devices({1, 0}, clock);
  EXPECT_EQ(devices.Take(MakeDeviceBucketKey(a, DeviceId(1))), 0u);
  EXPECT_EQ(devices.Take(MakeDeviceBucketKey(a, DeviceId(2))), 0u);
  EXPECT_EQ(devices.Take(MakeDeviceBucketKey(b, DeviceId(1))), 0u);
  EXPECT_NE(devices.Take(MakeDeviceBucketKey(a, DeviceId(1))), 0u);
}

}  // namespace
}  // namespace parley::server
