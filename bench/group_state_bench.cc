// group_state_bench: what the group state replay (client/group_state.h)
// costs a device per incoming change, at the bounds a group may reach:
// 1,024 members and a log of up to 10,000 changes (docs/benchmarks.md,
// "Group state replay").
//
// Every incoming group change is merged into the group's log and the log is
// replayed from its first change (ReplayGroup), so the replay of the whole
// log is the unit cost; the client replays it a few times per change (the
// state before, the state after, the state each new change was made from).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "client/group_state.h"

namespace parley::client {
namespace {

AccountId Account(std::uint32_t n) {
  std::array<std::uint8_t, 16> bytes{};
  for (int i = 0; i < 4; ++i)
    bytes[static_cast<std::size_t>(12 + i)] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  bytes[0] = 0x40;  // never the zero id
  return AccountId(Uuid(bytes));
}

GroupOp Op(GroupOpKind kind, const AccountId& target, std::string name = {}) {
  GroupOp op;
  op.kind = kind;
  op.target = target;
  op.name = std::move(name);
  return op;
}

GroupChange Change(std::uint64_t version, const AccountId& author, std::vector<GroupOp> ops) {
  GroupChange change;
  change.stamp = GroupStamp{version, author, 1};
  change.ops = std::move(ops);
  return change;
}

// A group of `members` created by account 0, then `changes` changes. With
// `counting`, each is an admin's (account 0) change that counts: a rename,
// or a member removed and added back. Otherwise each is a change by a
// member who is not an admin (account 1), kept in the log but counting for
// nothing: what a misbehaving member can send.
std::vector<GroupChange> MakeLog(std::uint32_t members, std::uint32_t changes, bool counting) {
  std::vector<AccountId> accounts;
  for (std::uint32_t i = 0; i < members; ++i) accounts.push_back(Account(i));
  std::vector<GroupChange> log;
  log.push_back(GroupSnapshot(GroupStamp{1, accounts[0], 1}, "bench", accounts, {accounts[0]}));
  for (std::uint32_t i = 0; i < changes; ++i) {
    const std::uint64_t version = 2 + i;
    const AccountId& target = accounts[1 + i % (members - 1)];
    if (!counting) {
      log.push_back(Change(version, accounts[1], {Op(GroupOpKind::kRename, AccountId{}, "x")}));
    } else if (i % 3 == 0) {
      log.push_back(Change(version, accounts[0],
                           {Op(GroupOpKind::kRename, AccountId{}, "bench " + std::to_string(i))}));
    } else if (i % 3 == 1) {
      log.push_back(Change(version, accounts[0], {Op(GroupOpKind::kRemove, target)}));
    } else {
      log.push_back(
          Change(version, accounts[0], {Op(GroupOpKind::kAdd, accounts[1 + (i - 1) % (members - 1)])}));
    }
  }
  return log;
}

// The replay of a whole log: args are members, changes, counting (1/0).
void BM_ReplayGroup(benchmark::State& state) {
  const auto log = MakeLog(static_cast<std::uint32_t>(state.range(0)),
                           static_cast<std::uint32_t>(state.range(1)), state.range(2) != 0);
  for (auto _ : state) {
    auto replayed = ReplayGroup(log);
    benchmark::DoNotOptimize(replayed);
  }
  state.counters["log_changes"] = static_cast<double>(log.size());
}
BENCHMARK(BM_ReplayGroup)
    ->ArgNames({"members", "changes", "counting"})
    ->Args({8, 10, 1})
    ->Args({8, 1'000, 1})
    ->Args({1'024, 0, 1})
    ->Args({1'024, 100, 1})
    ->Args({1'024, 1'000, 1})
    ->Args({1'024, 9'999, 1})
    ->Args({1'024, 9'999, 0})
    ->Unit(benchmark::kMicrosecond);

// One incoming change at the end of a log: merged into a copy of the log
// and replayed, as the client does before taking it.
void BM_MergeAndReplay(benchmark::State& state) {
  const auto log =
      MakeLog(static_cast<std::uint32_t>(state.range(0)), static_cast<std::uint32_t>(state.range(1)), true);
  const GroupChange incoming =
      Change(log.back().stamp.version + 1, Account(0), {Op(GroupOpKind::kRename, AccountId{}, "incoming")});
  for (auto _ : state) {
    std::vector<GroupChange> merged = log;
    MergeGroupChange(merged, incoming);
    auto replayed = ReplayGroup(merged);
    benchmark::DoNotOptimize(replayed);
  }
}
BENCHMARK(BM_MergeAndReplay)
    ->ArgNames({"members", "changes"})
    ->Args({8, 10})
    ->Args({1'024, 100})
    ->Args({1'024, 9'998})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace parley::client

BENCHMARK_MAIN();
