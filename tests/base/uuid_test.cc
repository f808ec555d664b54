#include "base/uuid.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(Uuid, RandomIsVersion4AndRoundTrips) {
  DeterministicRng rng(1);
  const Uuid u = Uuid::Random(rng);
  EXPECT_EQ(u.bytes()[6] >> 4, 4);
  EXPECT_EQ(u.bytes()[8] >> 6, 2);
  const std::string s = u.ToString();
  ASSERT_EQ(s.size(), 36u);
  EXPECT_EQ(Uuid::Parse(s), u);
  EXPECT_FALSE(u.is_nil());
  EXPECT_TRUE(Uuid().is_nil());
}

TEST(Uuid, ParsesKnownText) {
  auto u = Uuid::Parse("0F8FAD5B-D9CB-469F-A165-70867728950E");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->ToString(), "0f8fad5b-d9cb-469f-a165-70867728950e");
  EXPECT_EQ(u->bytes()[0], 0x0F);
  EXPECT_EQ(u->bytes()[15], 0x0E);
}

TEST(Uuid, RejectsMalformedText) {
  EXPECT_FALSE(Uuid::Parse(""));
  EXPECT_FALSE(Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950"));
  EXPECT_FALSE(Uuid::Parse("0f8fad5bd-9cb-469f-a165-70867728950e"));
  EXPECT_FALSE(Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950g"));
  EXPECT_FALSE(Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950e0"));
}

TEST(Uuid, FromBytesChecksLength) {
  std::array<std::uint8_t, 15> short_bytes{};
  EXPECT_FALSE(Uuid::FromBytes(short_bytes));
  std::array<std::uint8_t, 16> ok{};
  EXPECT_TRUE(Uuid::FromBytes(ok));
}

}  // namespace
}  // namespace parley
