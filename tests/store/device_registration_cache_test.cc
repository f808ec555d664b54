// DeviceRegistrationCache: hits, invalidation (also of a read in progress),
// and its bound.
#include "store/device_registration_cache.h"

#include <gtest/gtest.h>

namespace parley::store {
namespace {

AccountId Account(std::uint8_t n) {
  std::array<std::uint8_t, Uuid::kSize> bytes{};
  bytes[0] = n;
  return AccountId(Uuid(bytes));
}

const std::vector<DeviceRegistration> kTwoDevices{{DeviceId(1), RegistrationId(11)},
                                                  {DeviceId(2), RegistrationId(22)}};

TEST(DeviceRegistrationCacheTest, KeepsWhatWasReadAndForgetsItOnInvalidate) {
  DeviceRegistrationCache cache(16);
  std::uint64_t generation = 0;
  EXPECT_FALSE(cache.Find(Account(1), generation));
  cache.Insert(Account(1), kTwoDevices, generation);
  std::uint64_t later = 0;
  auto found = cache.Find(Account(1), later);
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, kTwoDevices);
  EXPECT_FALSE(cache.Find(Account(2), later));

  cache.Invalidate(Account(1));
  EXPECT_FALSE(cache.Find(Account(1), later));
}

TEST(DeviceRegistrationCacheTest, AListReadWhileAChangeWasCommittedIsNotKept) {
  DeviceRegistrationCache cache(16);
  std::uint64_t generation = 0;
  ASSERT_FALSE(cache.Find(Account(1), generation));
  // A change to any account is committed while the list is being read.
  cache.Invalidate(Account(1));
  cache.Insert(Account(1), kTwoDevices, generation);
  EXPECT_FALSE(cache.Find(Account(1), generation));
  // Read again after the change: kept.
  cache.Insert(Account(1), kTwoDevices, generation);
  EXPECT_TRUE(cache.Find(Account(1), generation));
}

TEST(DeviceRegistrationCacheTest, StaysWithinItsBound) {
  DeviceRegistrationCache cache(2);
  std::uint64_t generation = 0;
  for (std::uint8_t n = 1; n <= 5; ++n) {
    cache.Find(Account(n), generation);
    cache.Insert(Account(n), kTwoDevices, generation);
    EXPECT_LE(cache.size(), 2u);
    EXPECT_TRUE(cache.Find(Account(n), generation));
  }
  // Replacing an entry of a full cache keeps the others.
  DeviceRegistrationCache full(2);
  std::uint64_t full_generation = 0;
  full.Find(Account(1), full_generation);
  full.Insert(Account(1), kTwoDevices, full_generation);
  full.Insert(Account(2), kTwoDevices, full_generation);
  full.Insert(Account(1), {kTwoDevices.front()}, full_generation);
  EXPECT_EQ(full.size(), 2u);
  EXPECT_TRUE(full.Find(Account(2), full_generation));
}

}  // namespace
}  // namespace parley::store
