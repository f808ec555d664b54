#include "base/byte_reader.h"

#include <gtest/gtest.h>

#include <vector>

#include "base/byte_writer.h"

namespace parley {
namespace {

TEST(ByteReader, ReadsIntegersBigEndian) {
  const std::vector<std::uint8_t> data = {1, 0x02, 0x03, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  ByteReader r(data);
  std::uint8_t a = 0;
  std::uint16_t b = 0;
  std::uint32_t c = 0;
  std::uint64_t d = 0;
  ASSERT_TRUE(r.ReadU8(a) && r.ReadU16BE(b) && r.ReadU32BE(c) && r.ReadU64BE(d));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0x0203);
  EXPECT_EQ(c, 0x100u);
  EXPECT_EQ(d, 7u);
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, FailedReadConsumesNothing) {
  const std::vector<std::uint8_t> data = {1, 2, 3};
  ByteReader r(data);
  std::uint32_t v = 0;
  EXPECT_FALSE(r.ReadU32BE(v));
  EXPECT_EQ(r.remaining(), 3u);
  Bytes out;
  EXPECT_FALSE(r.ReadBytes(4, out));
  EXPECT_EQ(r.remaining(), 3u);
  EXPECT_FALSE(r.Skip(4));
  EXPECT_TRUE(r.ReadBytes(3, out));
  EXPECT_TRUE(r.empty());
  std::uint8_t b = 0;
  EXPECT_FALSE(r.ReadU8(b));
}

TEST(ByteReader, VarintRoundTrip) {
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 0xFFFFFFFFull, ~0ull}) {
    ByteWriter w;
    w.WriteVarint(v);
    EXPECT_EQ(w.size(), VarintSize(v));
    ByteReader r(w.bytes());
    std::uint64_t out = 0;
    ASSERT_TRUE(r.ReadVarint(out));
    EXPECT_EQ(out, v);
    EXPECT_TRUE(r.empty());
  }
}

TEST(ByteReader, VarintRejectsTruncatedAndOverlong) {
  const std::vector<std::uint8_t> truncated = {0x80, 0x80};
  ByteReader r1(truncated);
  std::uint64_t v = 0;
  EXPECT_FALSE(r1.ReadVarint(v));
  EXPECT_EQ(r1.remaining(), 2u);

  std::vector<std::uint8_t> overflow(9, 0xFF);
  overflow.push_back(0x02);  // bit 64 set
  ByteReader r2(overflow);
  EXPECT_FALSE(r2.ReadVarint(v));

  std::vector<std::uint8_t> eleven(10, 0x80);
  eleven.push_back(0x00);
  ByteReader r3(eleven);
  EXPECT_FALSE(r3.ReadVarint(v));
}

TEST(ByteReader, PrefixedChildIsBounded) {
  const std::vector<std::uint8_t> data = {3, 'a', 'b', 'c', 9};
  ByteReader r(data);
  ByteReader child;
  ASSERT_TRUE(r.ReadVarintPrefixed(child));
  EXPECT_EQ(child.remaining(), 3u);
  EXPECT_EQ(r.remaining(), 1u);

  const std::vector<std::uint8_t> lying = {5, 'a'};
  ByteReader r2(lying);
  EXPECT_FALSE(r2.ReadVarintPrefixed(child));
  EXPECT_EQ(r2.remaining(), 2u);

  const std::vector<std::uint8_t> huge = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1};
  ByteReader r3(huge);
  EXPECT_FALSE(r3.ReadVarintPrefixed(child));

  const std::vector<std::uint8_t> u32 = {0, 0, 0, 2, 7, 8, 9};
  ByteReader r4(u32);
  ASSERT_TRUE(r4.ReadU32Prefixed(child));
  EXPECT_EQ(child.remaining(), 2u);
  const std::vector<std::uint8_t> u32_lying = {0xFF, 0, 0, 2, 7};
  ByteReader r5(u32_lying);
  EXPECT_FALSE(r5.ReadU32Prefixed(child));
  EXPECT_EQ(r5.remaining(), 5u);
}

}  // namespace
}  // namespace parley
