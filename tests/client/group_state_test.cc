// The group state merge (client/group_state.h): every order of a set of
// changes ends in the same state, and the divergences the old whole-state
// rule had are named tests here.
#include "client/group_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace parley::client {
namespace {

AccountId Account(std::uint8_t n) {
  std::array<std::uint8_t, 16> bytes{};
  bytes[0] = n;
  return AccountId(Uuid(bytes));
}

const AccountId kAlice = Account(1);
const AccountId kBob = Account(2);
const AccountId kCarol = Account(3);
const AccountId kDave = Account(4);
const AccountId kErin = Account(5);
const AccountId kMallory = Account(9);

GroupOp Add(const AccountId& a) { return {GroupOpKind::kAdd, a, {}}; }
GroupOp Remove(const AccountId& a) { return {GroupOpKind::kRemove, a, {}}; }
GroupOp Leave(const AccountId& a) { return {GroupOpKind::kLeave, a, {}}; }
GroupOp Rename(const std::string& name) { return {GroupOpKind::kRename, AccountId{}, name}; }
GroupOp MakeAdmin(const AccountId& a) { return {GroupOpKind::kMakeAdmin, a, {}}; }
GroupOp Revoke(const AccountId& a) { return {GroupOpKind::kRevokeAdmin, a, {}}; }

GroupChange Change(std::uint64_t version, const AccountId& author, std::vector<GroupOp> ops) {
  return GroupChange{GroupStamp{version, author, 1}, std::move(ops)};
}
GroupChange Leaves(std::uint64_t version, const AccountId& who) { return Change(version, who, {Leave(who)}); }

// Alice creates "g" (version 1) with Bob, Carol and Dave; she is the admin.
GroupChange Creation() {
  return GroupSnapshot(GroupStamp{1, kAlice, 1}, "g", {kAlice, kBob, kCarol, kDave}, {kAlice});
}

bool Has(const std::vector<AccountId>& list, const AccountId& a) {
  return std::find(list.begin(), list.end(), a) != list.end();
}

// Every rule a state keeps, checked after every change a device takes.
void ExpectWellFormed(const GroupState& state) {
  for (const AccountId& a : state.admins) EXPECT_TRUE(Has(state.members, a));
  EXPECT_EQ(state.admins.empty(), state.members.empty());
  auto sorted = state.members;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

// Merges `changes` in the order `order` into a log holding `start`,
// replaying after each one as a device does.
GroupState MergeInOrder(const std::vector<GroupChange>& start, const std::vector<GroupChange>& changes,
                        const std::vector<std::size_t>& order) {
  std::vector<GroupChange> log = start;
  for (std::size_t i : order) {
    MergeGroupChange(log, changes[i]);
    auto state = ReplayGroup(log);
    EXPECT_TRUE(state);
    if (state) ExpectWellFormed(*state);
  }
  return *ReplayGroup(log);
}

// The state every order of `changes` ends in (after the creation); fails the
// test when two orders end differently.
GroupState Converged(const std::vector<GroupChange>& changes,
                     const std::vector<GroupChange>& start = {Creation()}) {
  std::vector<std::size_t> order(changes.size());
  std::iota(order.begin(), order.end(), 0);
  const GroupState first = MergeInOrder(start, changes, order);
  std::size_t orders = 1;
  while (std::next_permutation(order.begin(), order.end())) {
    const GroupState state = MergeInOrder(start, changes, order);
    EXPECT_EQ(state, first) << "order " << orders;
    ++orders;
  }
  return first;
}

TEST(GroupState, TheCreationIsTheFirstState) {
  auto state = ReplayGroup({Creation()});
  ASSERT_TRUE(state);
  EXPECT_EQ(state->name, "g");
  EXPECT_EQ(state->members, (std::vector<AccountId>{kAlice, kBob, kCarol, kDave}));
  EXPECT_EQ(state->admins, std::vector<AccountId>{kAlice});
  EXPECT_EQ(state->last.version, 1u);
  EXPECT_FALSE(ReplayGroup({}));
}

TEST(GroupState, ConcurrentAdminChangesLeavesAndRenamesConverge) {
  const GroupState state = Converged({
      Change(2, kAlice, {MakeAdmin(kBob)}),
      Change(3, kAlice, {Rename("by alice")}),
      Change(3, kBob, {Rename("by bob"), Remove(kDave)}),
      Leaves(3, kCarol),
      Leaves(4, kDave),
  });
  // Bob's change sorts after Alice's at version 3: his name holds.
  EXPECT_EQ(state.name, "by bob");
  EXPECT_EQ(state.members, (std::vector<AccountId>{kAlice, kBob}));
  EXPECT_EQ(state.admins, (std::vector<AccountId>{kAlice, kBob}));
  EXPECT_EQ(state.last.version, 3u);
}

TEST(GroupState, RemovalsLeavesAndReAddsConverge) {
  const GroupState state = Converged({
      Change(2, kAlice, {Remove(kCarol)}), Leaves(2, kCarol), Change(3, kAlice, {Add(kCarol), Add(kErin)}),
      Leaves(3, kDave), Change(4, kBob, {Add(kMallory)}),  // Bob is no admin
  });
  EXPECT_EQ(state.members, (std::vector<AccountId>{kAlice, kBob, kCarol, kErin}));
  EXPECT_FALSE(Has(state.members, kMallory));
  EXPECT_EQ(state.last.version, 3u);
}

TEST(GroupState, GrantsAndRevocationsConverge) {
  const GroupState state = Converged({
      Change(2, kAlice, {MakeAdmin(kBob)}),
      Change(3, kBob, {MakeAdmin(kCarol)}),
      Change(3, kAlice, {Revoke(kBob)}),
      Change(4, kCarol, {Remove(kDave)}),
      Change(4, kBob, {Remove(kAlice)}),
      Change(5, kCarol, {Rename("carol's")}),
  });
  // Bob's grant to Carol (3, Bob) sorts after Alice's revocation of Bob
  // (3, Alice): it does not count, nor does anything Carol does after.
  EXPECT_EQ(state.admins, std::vector<AccountId>{kAlice});
  EXPECT_EQ(state.members, (std::vector<AccountId>{kAlice, kBob, kCarol, kDave}));
  EXPECT_EQ(state.name, "g");
  EXPECT_EQ(state.last, (GroupStamp{3, kAlice, 1}));
}

TEST(GroupState, StaleAndUnauthorizedChangesConverge) {
  const GroupState state = Converged({
      Change(2, kMallory, {Add(kMallory), MakeAdmin(kMallory)}),  // a stranger
      Change(2, kDave, {Rename("dave's")}),                       // a member, no admin
      Change(3, kAlice, {Revoke(kAlice)}),                        // the last admin steps down
      Leaves(3, kBob), Change(5, kAlice, {Add(kBob)}),            // no longer an admin
      Change(1, kCarol, {Rename("second")}),                      // a second creation
  });
  // A group with members keeps an admin: the smallest account, Alice again,
  // so her version 5 counts.
  EXPECT_EQ(state.name, "g");
  EXPECT_FALSE(Has(state.members, kMallory));
  EXPECT_TRUE(Has(state.members, kBob));
  EXPECT_EQ(state.admins, std::vector<AccountId>{kAlice});
  EXPECT_EQ(state.last.version, 5u);
}

TEST(GroupState, TheLastAdminLeavingMakesTheSmallestMemberAdmin) {
  const GroupState state =
      Converged({Leaves(2, kAlice), Leaves(2, kCarol), Change(3, kBob, {Remove(kDave)})});
  EXPECT_EQ(state.members, std::vector<AccountId>{kBob});
  EXPECT_EQ(state.admins, std::vector<AccountId>{kBob});
}

// The old rule's failure (a): Bob leaves version 1 while Alice, offline,
// renames it; Carol, having seen Bob's leave, leaves version 2. Devices that
// saw them in different orders held different names and versions.
TEST(GroupState, RacingLeavesAndAnOfflineAdminsRenameEndTheSameEverywhere) {
  const GroupState state =
      Converged({Leaves(2, kBob), Change(2, kAlice, {Rename("renamed")}), Leaves(3, kCarol)});
  EXPECT_EQ(state.name, "renamed");
  EXPECT_EQ(state.members, (std::vector<AccountId>{kAlice, kDave}));
  EXPECT_EQ(state.last, (GroupStamp{3, kCarol, 1}));
}

// The old rule's failure (b): an admin's change made from a version that
// missed a member's leave listed the leaver again.
TEST(GroupState, AnAdminChangeThatMissedALeaveNeverListsTheLeaverAgain) {
  const GroupState state = Converged({
      Leaves(2, kCarol), Change(2, kAlice, {Add(kErin)}),  // made from version 1
      Change(3, kAlice, {Rename("still out")}),            // made from Alice's version 2
  });
  EXPECT_FALSE(Has(state.members, kCarol));
  EXPECT_TRUE(Has(state.members, kErin));
}

TEST(GroupState, ALeaverIsListedAgainOnlyByAnAddNewerThanItsLeave) {
  EXPECT_FALSE(Has(Converged({Leaves(3, kCarol), Change(2, kAlice, {Add(kCarol)})}).members, kCarol));
  EXPECT_FALSE(Has(Converged({Leaves(2, kCarol), Change(2, kAlice, {Add(kCarol)})}).members, kCarol));
  EXPECT_TRUE(Has(Converged({Leaves(2, kCarol), Change(3, kAlice, {Add(kCarol)})}).members, kCarol));
}

// The old rule's failure (c): a member taken back by an admin who became
// admin after it left stayed out on its own device. Carol's device holds the
// removal; the snapshot the new admin sends her holds the rest.
TEST(GroupState, AMemberTakenBackByALaterAdminIsBackOnItsOwnDevice) {
  const GroupChange removal = Change(2, kAlice, {Remove(kCarol)});
  const std::vector<GroupChange> rest = {Change(3, kAlice, {MakeAdmin(kDave)}),
                                         Change(4, kDave, {Add(kCarol)})};
  const GroupState at_carol = Converged(rest, {Creation(), removal});
  std::vector<GroupChange> everything = rest;
  everything.push_back(removal);
  const GroupState elsewhere = Converged(everything);
  EXPECT_TRUE(Has(at_carol.members, kCarol));
  EXPECT_EQ(at_carol, elsewhere);
}

// (d): admin rights taken back. A revoked admin's later changes do not count.
TEST(GroupState, ARevokedAdminsLaterChangesDoNotCount) {
  const GroupState state = Converged({
      Change(2, kAlice, {MakeAdmin(kBob)}),
      Change(3, kAlice, {Revoke(kBob)}),
      Change(4, kBob, {Remove(kAlice), Rename("bob's")}),
  });
  EXPECT_EQ(state.admins, std::vector<AccountId>{kAlice});
  EXPECT_TRUE(Has(state.members, kAlice));
  EXPECT_EQ(state.name, "g");
}

TEST(GroupState, AChangeMadeByAnAdminBeforeItsRevocationStillCounts) {
  const GroupState state = Converged({
      Change(2, kAlice, {MakeAdmin(kBob)}),
      Change(3, kBob, {Rename("bob's")}),
      Change(4, kAlice, {Revoke(kBob)}),
  });
  EXPECT_EQ(state.name, "bob's");
  EXPECT_EQ(state.admins, std::vector<AccountId>{kAlice});
}

TEST(GroupState, TwoChangesUnderOneStampEndTheSameEverywhere) {
  const GroupState state =
      Converged({Change(2, kAlice, {Rename("one")}), Change(2, kAlice, {Rename("two")}), Leaves(3, kBob)});
  EXPECT_EQ(state.name, "one");  // "one" sorts first
}

TEST(GroupState, AChangeThatTakesTheStampOfAnotherBringsItsOwnSignature) {
  std::vector<GroupChange> log = {Creation()};
  GroupChange two = Change(2, kAlice, {Rename("two")});
  two.signature.emplace();
  two.signature->fill(2);
  GroupChange one = Change(2, kAlice, {Rename("one")});
  one.signature.emplace();
  one.signature->fill(1);
  ASSERT_TRUE(MergeGroupChange(log, two));
  ASSERT_TRUE(MergeGroupChange(log, one));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1], one);
  // The same operations again, signed otherwise: nothing changes.
  GroupChange again = one;
  again.signature->fill(3);
  EXPECT_FALSE(MergeGroupChange(log, again));
  EXPECT_EQ(log[1], one);
  EXPECT_TRUE(SameGroupChange(log[1], again));
  EXPECT_FALSE(SameGroupChange(log[1], two));
}

TEST(GroupState, TheLogTakesNothingStampedBeforeItsFirstChangeNorPastItsCap) {
  std::vector<GroupChange> log = {Creation()};
  EXPECT_FALSE(MergeGroupChange(log, Change(0, kMallory, {Rename("x")})));
  EXPECT_FALSE(MergeGroupChange(log, GroupChange{GroupStamp{1, kAlice, 0}, {Rename("x")}}));
  EXPECT_FALSE(MergeGroupChange(log, Creation()));  // already there
  EXPECT_EQ(log.size(), 1u);
  for (std::uint64_t v = 2; log.size() < kMaxGroupLogChanges; ++v) {
    ASSERT_TRUE(MergeGroupChange(log, Change(v, kAlice, {Rename("n")})));
  }
  EXPECT_FALSE(MergeGroupChange(log, Change(kMaxGroupLogChanges + 5, kAlice, {Rename("over")})));
  EXPECT_EQ(ReplayGroup(log)->name, "n");
}

// A member who is not an admin cannot fill the log: its changes that do not
// count are kept only up to a bound, while an admin's changes, its own
// leave and a late grant that makes the kept ones count are still taken.
TEST(GroupState, AMemberWhoIsNotAnAdminCannotFillTheLog) {
  std::vector<GroupChange> log = {Creation()};
  std::uint64_t v = 2;
  std::size_t taken = 0;
  for (int i = 0; i < 1'000; ++i) taken += MergeGroupChange(log, Change(v++, kBob, {Rename("bob's")}));
  EXPECT_EQ(taken, kMaxUncountedGroupChangesPerAuthor);
  EXPECT_EQ(log.size(), 1 + kMaxUncountedGroupChangesPerAuthor);
  EXPECT_EQ(ReplayGroup(log)->name, "g");
  // Others' changes are still taken, Bob's leave too.
  EXPECT_TRUE(MergeGroupChange(log, Change(v++, kAlice, {Rename("alice's")})));
  EXPECT_TRUE(
      MergeGroupChange(log, Change(v++, kCarol, {Rename("carol's")})));  // not counting, Carol's first
  EXPECT_EQ(ReplayGroup(log)->name, "alice's");
  // A grant stamped before Bob's kept changes makes them count.
  EXPECT_TRUE(MergeGroupChange(log, GroupChange{GroupStamp{1, kAlice, 2}, {MakeAdmin(kBob)}}));
  EXPECT_EQ(ReplayGroup(log)->name, "alice's");
  EXPECT_TRUE(Has(ReplayGroup(log)->admins, kBob));
  EXPECT_TRUE(MergeGroupChange(log, Change(v++, kBob, {Rename("bob's again")})));  // counts now
  EXPECT_EQ(ReplayGroup(log)->name, "bob's again");
}

// The bound never refuses a change that counts: a revocation of an admin
// with many changes is taken, and so is the admin's own leave.
TEST(GroupState, TheBoundOnChangesThatDoNotCountNeverRefusesOneThatCounts) {
  std::vector<GroupChange> log = {Creation(), Change(2, kAlice, {MakeAdmin(kBob)})};
  std::uint64_t v = 3;
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(MergeGroupChange(log, Change(v++, kBob, {Rename("b" + std::to_string(i))})));
  // Alice's revocation, stamped before all of them: none of Bob's counts any more, all stay.
  EXPECT_TRUE(MergeGroupChange(log, GroupChange{GroupStamp{2, kAlice, 2}, {Revoke(kBob)}}));
  EXPECT_EQ(ReplayGroup(log)->name, "g");
  EXPECT_FALSE(MergeGroupChange(log, Change(v++, kBob, {Rename("late")})));
  EXPECT_TRUE(MergeGroupChange(log, Leaves(v++, kBob)));
  EXPECT_FALSE(Has(ReplayGroup(log)->members, kBob));
}

TEST(GroupState, ReplayBeforeAVersionIsWhatAChangeOfThatVersionWasMadeFrom) {
  const std::vector<GroupChange> log = {Creation(), Leaves(2, kBob), Change(3, kAlice, {Add(kErin)})};
  EXPECT_TRUE(Has(ReplayGroupBefore(log, 2)->members, kBob));
  EXPECT_FALSE(Has(ReplayGroupBefore(log, 3)->members, kBob));
  EXPECT_FALSE(Has(ReplayGroupBefore(log, 3)->members, kErin));
  EXPECT_TRUE(Has(ReplayGroupBefore(log, 4)->members, kErin));
}

TEST(GroupState, ACreationIsASnapshotAndALeaveIsNot) {
  EXPECT_TRUE(IsGroupSnapshot(Creation()));
  EXPECT_FALSE(IsGroupSnapshot(Leaves(2, kBob)));
  EXPECT_TRUE(IsLeave(Leaves(2, kBob)));
  EXPECT_FALSE(IsLeave(Change(2, kAlice, {Leave(kBob)})));
  EXPECT_EQ(NextGroupChange(*ReplayGroup({Creation()}), kBob, 3, {}).stamp, (GroupStamp{2, kBob, 3}));
}

// Random sets of six changes from members, admins and a stranger: all 720
// orders of each end in the same state.
TEST(GroupState, RandomSetsOfSixChangesConvergeInEveryOrder) {
  std::mt19937 rng(20261127);
  const std::vector<AccountId> people = {kAlice, kBob, kCarol, kDave, kErin, kMallory};
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  for (int set = 0; set < 40; ++set) {
    std::vector<GroupChange> changes;
    for (int i = 0; i < 6; ++i) {
      const AccountId author = people[pick(people.size())];
      const std::uint64_t version = 2 + pick(4);
      const AccountId target = people[pick(people.size())];
      std::vector<GroupOp> ops;
      switch (pick(6)) {
        case 0:
          ops = {Add(target)};
          break;
        case 1:
          ops = {Remove(target)};
          break;
        case 2:
          ops = {Leave(author)};
          break;
        case 3:
          ops = {Rename("n" + std::to_string(i))};
          break;
        case 4:
          ops = {MakeAdmin(target)};
          break;
        default:
          ops = {Revoke(target)};
          break;
      }
      changes.push_back(Change(version, author, std::move(ops)));
    }
    Converged(changes);
  }
}

}  // namespace
}  // namespace parley::client
