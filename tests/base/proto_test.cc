#include "base/proto.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley {
namespace {

TEST(Proto, RoundTripsEveryWireType) {
  ByteWriter w;
  WriteVarintField(w, 1, 150);
  WriteBytesField(w, 2, std::vector<std::uint8_t>{1, 2, 3});
  WriteStringField(w, 3, "hi");
  WriteFixed64Field(w, 4, 0x0102030405060708ull);
  ProtoReader r(w.bytes());
  ProtoField f;
  ASSERT_TRUE(r.Next(f));
  EXPECT_EQ(f.number, 1u);
  EXPECT_EQ(f.type, WireType::kVarint);
  EXPECT_EQ(f.value, 150u);
  ASSERT_TRUE(r.Next(f));
  EXPECT_EQ(f.number, 2u);
  EXPECT_EQ(f.type, WireType::kLengthDelimited);
  EXPECT_EQ(f.bytes.size(), 3u);
  ASSERT_TRUE(r.Next(f));
  EXPECT_EQ(f.bytes.size(), 2u);
  ASSERT_TRUE(r.Next(f));
  EXPECT_EQ(f.type, WireType::kFixed64);
  EXPECT_EQ(f.value, 0x0102030405060708ull);
  EXPECT_FALSE(r.Next(f));
  EXPECT_FALSE(r.failed());
}

TEST(Proto, KnownEncoding) {
  // The protobuf documentation's example: field 1 = 150 is 08 96 01.
  ByteWriter w;
  WriteVarintField(w, 1, 150);
  EXPECT_EQ(w.bytes(), (std::vector<std::uint8_t>{0x08, 0x96, 0x01}));
}

TEST(Proto, RejectsFieldZero) {
  const std::vector<std::uint8_t> data = {0x00, 0x01};
  ProtoReader r(data);
  ProtoField f;
  EXPECT_FALSE(r.Next(f));
  EXPECT_TRUE(r.failed());
}

TEST(Proto, RejectsGroups) {
  for (std::uint8_t key : {0x0B, 0x0C}) {  // field 1, wire types 3 and 4
    const std::vector<std::uint8_t> data = {key, 0x00};
    ProtoReader r(data);
    ProtoField f;
    EXPECT_FALSE(r.Next(f));
    EXPECT_TRUE(r.failed());
  }
}

TEST(Proto, RejectsTruncatedLengthDelimited) {
  const std::vector<std::uint8_t> data = {0x12, 0x05, 1, 2};
  ProtoReader r(data);
  ProtoField f;
  EXPECT_FALSE(r.Next(f));
  EXPECT_TRUE(r.failed());
}

TEST(Proto, RejectsTruncatedFixed) {
  const std::vector<std::uint8_t> f64 = {0x09, 1, 2, 3};
  ProtoReader r(f64);
  ProtoField f;
  EXPECT_FALSE(r.Next(f));
  EXPECT_TRUE(r.failed());
  const std::vector<std::uint8_t> f32 = {0x0D, 1, 2};
  ProtoReader r2(f32);
  EXPECT_FALSE(r2.Next(f));
  EXPECT_TRUE(r2.failed());
}

TEST(Proto, RejectsTruncatedKeyAndValue) {
  const std::vector<std::uint8_t> key = {0x80};
  ProtoReader r(key);
  ProtoField f;
  EXPECT_FALSE(r.Next(f));
  EXPECT_TRUE(r.failed());
  const std::vector<std::uint8_t> value = {0x08, 0x80};
  ProtoReader r2(value);
  EXPECT_FALSE(r2.Next(f));
  EXPECT_TRUE(r2.failed());
}

TEST(Proto, FailureIsSticky) {
  const std::vector<std::uint8_t> data = {0x08, 0x01, 0x00, 0x08, 0x01};
  ProtoReader r(data);
  ProtoField f;
  EXPECT_TRUE(r.Next(f));
  EXPECT_FALSE(r.Next(f));
  EXPECT_FALSE(r.Next(f));
  EXPECT_TRUE(r.failed());
}

}  // namespace
}  // namespace parley
