#include "base/secret.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"
#include "base/strong_id.h"

namespace parley {
namespace {

TEST(Secret, PrintsRedacted) {
  std::vector<std::uint8_t> key(32, 0x41);
  SecretBuffer buf(key);
  SecretArray<4> arr;
  std::ostringstream os;
  os << buf << " " << arr;
  EXPECT_EQ(os.str(), "<redacted> <redacted>");
}

TEST(Secret, MoveLeavesSourceWiped) {
  std::array<std::uint8_t, 4> raw = {1, 2, 3, 4};
  SecretArray<4> a{std::span<const std::uint8_t, 4>(raw)};
  SecretArray<4> b = std::move(a);
  EXPECT_EQ(b.bytes()[3], 4);
  for (auto x : a.bytes()) EXPECT_EQ(x, 0);  // NOLINT(bugprone-use-after-move)

  SecretBuffer s(std::vector<std::uint8_t>{9, 9});
  SecretBuffer t = std::move(s);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(s.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(Secret, TruncateKeepsPrefix) {
  SecretBuffer s(std::vector<std::uint8_t>{1, 2, 3, 4});
  s.Truncate(2);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.bytes()[1], 2);
  s.Truncate(10);
  EXPECT_EQ(s.size(), 2u);
}

TEST(Hex, RoundTripAndRejects) {
  const std::vector<std::uint8_t> v = {0x00, 0xAB, 0xff};
  EXPECT_EQ(ToHex(v), "00abff");
  EXPECT_EQ(FromHex("00ABff"), v);
  EXPECT_FALSE(FromHex("abc").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
}

TEST(DeterministicRng, RepeatableBySeed) {
  DeterministicRng a(7), b(7), c(8);
  std::vector<std::uint8_t> x(37), y(37), z(37);
  a.Fill(x);
  b.Fill(y);
  c.Fill(z);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(StrongId, DistinctTypesCompareByValue) {
  static_assert(!std::is_convertible_v<DeviceId, PreKeyId>);
  static_assert(!std::is_convertible_v<std::uint32_t, DeviceId>);
  EXPECT_LT(DeviceId(1), DeviceId(2));
  EXPECT_EQ(PreKeyId(5).value(), 5u);
}

}  // namespace
}  // namespace parley
