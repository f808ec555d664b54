// TimeOrderedId: the UUIDv7 layout, and ids that sort by time.
#include "client/message_id.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

namespace parley::client {
namespace {

TEST(TimeOrderedId, HasTheUuidV7Layout) {
  DeterministicRng rng(1);
  const std::int64_t ms = 0x0123'4567'89AB;
  const auto id = TimeOrderedId(ms, rng);
  EXPECT_EQ(id[0], 0x01);
  EXPECT_EQ(id[1], 0x23);
  EXPECT_EQ(id[2], 0x45);
  EXPECT_EQ(id[3], 0x67);
  EXPECT_EQ(id[4], 0x89);
  EXPECT_EQ(id[5], 0xAB);
  EXPECT_EQ(id[6] >> 4, 7);
  EXPECT_EQ(id[8] >> 6, 2);
}

TEST(TimeOrderedId, LaterIdsSortAfterEarlierOnes) {
  DeterministicRng rng(2);
  std::vector<std::array<std::uint8_t, 16>> ids;
  for (std::int64_t ms = 1'700'000'000'000; ms < 1'700'000'000'000 + 300; ++ms) {
    ids.push_back(TimeOrderedId(ms, rng));
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

TEST(TimeOrderedId, IdsOfOneMillisecondDiffer) {
  DeterministicRng rng(3);
  std::set<std::array<std::uint8_t, 16>> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(TimeOrderedId(1'700'000'000'000, rng));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(TimeOrderedId, ATimeBefore1970CountsAsZero) {
  DeterministicRng rng(4);
  const auto id = TimeOrderedId(-5, rng);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(id[static_cast<std::size_t>(i)], 0) << i;
}

}  // namespace
}  // namespace parley::client
