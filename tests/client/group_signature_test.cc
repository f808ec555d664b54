// Signatures on group changes: the exact bytes signed, and that a signature
// verifies only for its author's key, group, stamp and operations.
#include "client/group_signature.h"

#include <gtest/gtest.h>

#include <string>

#include "base/rng.h"

namespace parley::client {
namespace {

AccountId AccountOf(std::uint8_t n) {
  std::array<std::uint8_t, 16> bytes{};
  bytes.fill(n);
  return AccountId(Uuid(bytes));
}

ContentId GroupOf(std::uint8_t n) {
  ContentId id{};
  id.fill(n);
  return id;
}

TEST(GroupSignatureTest, TheSignedBytesAreLabelGroupStampAndCanonicalOperations) {
  const ContentId group = GroupOf(0xaa);
  const GroupChange change{GroupStamp{0x0102030405060708, AccountOf(0xbb), 0x0a0b0c0d},
                           {GroupOp{GroupOpKind::kRename, AccountOf(0xcc), "x"}}};
  auto bytes = GroupChangeSignedBytes(group, change);
  ASSERT_TRUE(bytes);
  std::vector<std::uint8_t> expected;
  const std::string label = "Parley group change signature v1";
  ASSERT_EQ(label.size(), 32u);
  expected.insert(expected.end(), label.begin(), label.end());
  expected.insert(expected.end(), 16, 0xaa);
  expected.insert(expected.end(), {1, 2, 3, 4, 5, 6, 7, 8});
  expected.insert(expected.end(), 16, 0xbb);
  expected.insert(expected.end(), {0x0a, 0x0b, 0x0c, 0x0d});
  // One op (field 4): kind 4, name "x"; a rename keeps no target.
  const std::vector<std::uint8_t> ops = {0x22, 0x05, 0x08, 0x04, 0x1a, 0x01, 'x'};
  expected.insert(expected.end(), {0, 0, 0, static_cast<std::uint8_t>(ops.size())});
  expected.insert(expected.end(), ops.begin(), ops.end());
  EXPECT_EQ(*bytes, expected);

  // The signature itself is not signed.
  GroupChange with_signature = change;
  with_signature.signature.emplace();
  with_signature.signature->fill(1);
  EXPECT_EQ(GroupChangeSignedBytes(group, with_signature).value(), expected);
  // Operations the content format refuses are never signed.
  EXPECT_FALSE(GroupChangeSignedBytes(group, GroupChange{change.stamp, {}}));
  EXPECT_FALSE(GroupChangeSignedBytes(
      group, GroupChange{change.stamp, {GroupOp{GroupOpKind::kRename, AccountId{}, std::string(129, 'n')}}}));
}

TEST(GroupSignatureTest, ASignatureVerifiesOnlyForItsAuthorGroupStampAndOperations) {
  DeterministicRng rng(7);
  const crypto::KeyPair author = crypto::KeyPair::Generate(rng);
  const crypto::KeyPair other = crypto::KeyPair::Generate(rng);
  const ContentId group = GroupOf(1);
  const GroupChange change{
      GroupStamp{5, AccountOf(2), 3},
      {GroupOp{GroupOpKind::kRemove, AccountOf(4), {}}, GroupOp{GroupOpKind::kRename, AccountId{}, "crag"}}};
  auto signed_change = SignGroupChange(group, change, author, rng);
  ASSERT_TRUE(signed_change);
  ASSERT_TRUE(signed_change->signature);
  EXPECT_EQ(signed_change->stamp, change.stamp);
  EXPECT_EQ(signed_change->ops, change.ops);
  EXPECT_TRUE(VerifyGroupChange(group, *signed_change, author.public_key));

  EXPECT_FALSE(VerifyGroupChange(group, *signed_change, other.public_key));
  EXPECT_FALSE(VerifyGroupChange(GroupOf(9), *signed_change, author.public_key));
  EXPECT_FALSE(VerifyGroupChange(group, change, author.public_key));  // no signature
  auto altered = [&](auto&& alter) {
    GroupChange c = *signed_change;
    alter(c);
    return VerifyGroupChange(group, c, author.public_key);
  };
  EXPECT_FALSE(altered([](GroupChange& c) { c.stamp.version = 6; }));
  EXPECT_FALSE(altered([](GroupChange& c) { c.stamp.author = AccountOf(4); }));
  EXPECT_FALSE(altered([](GroupChange& c) { c.stamp.device = 1; }));
  EXPECT_FALSE(altered([](GroupChange& c) { c.ops[0].target = AccountOf(5); }));
  EXPECT_FALSE(altered([](GroupChange& c) { c.ops[1].name = "crag!"; }));
  EXPECT_FALSE(altered([](GroupChange& c) { c.ops.pop_back(); }));
  EXPECT_FALSE(altered([](GroupChange& c) { std::swap(c.ops[0], c.ops[1]); }));
  EXPECT_FALSE(altered([](GroupChange& c) { (*c.signature)[10] ^= 1; }));
  // An operand a kind does not use is not part of the operation (the
  // decoder drops it), so it is not part of what is signed either.
  EXPECT_TRUE(altered([](GroupChange& c) { c.ops[1].target = AccountOf(8); }));
}

}  // namespace
}  // namespace parley::client
