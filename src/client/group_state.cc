#include "client/group_state.h"

#include <algorithm>
#include <unordered_set>

namespace parley::client {

namespace {

// The accounts of a list of the state, with a set beside the list once it
// is long, so that the membership checks of a 1,024-member group's changes
// are not linear scans, while a small group's stay cheaper than hashing
// (docs/benchmarks.md, "Group state replay").
class AccountIndex {
 public:
  explicit AccountIndex(std::vector<AccountId>& list) : list_(list) {}

  bool Contains(const AccountId& account) const {
    if (indexed_) return set_.contains(account);
    return std::find(list_.begin(), list_.end(), account) != list_.end();
  }
  // Appends `account` unless listed; true when it was appended.
  bool Add(const AccountId& account) {
    if (Contains(account)) return false;
    list_.push_back(account);
    if (indexed_) {
      set_.insert(account);
    } else if (list_.size() > kIndexedFrom) {
      set_.insert(list_.begin(), list_.end());
      indexed_ = true;
    }
    return true;
  }
  void Remove(const AccountId& account) {
    if (indexed_ && set_.erase(account) == 0) return;
    std::erase(list_, account);
  }

 private:
  static constexpr std::size_t kIndexedFrom = 32;
  std::vector<AccountId>& list_;
  std::unordered_set<AccountId> set_;
  bool indexed_ = false;
};

// A replay in progress.
class Replay {
 public:
  Replay() = default;
  // The indexes refer to this replay's own state.
  Replay(const Replay&) = delete;
  Replay& operator=(const Replay&) = delete;

  GroupState Take() { return std::move(state_); }

  bool Counts(const GroupChange& change) const {
    const AccountId& author = change.stamp.author;
    if (admins_.Contains(author)) return true;
    return IsLeave(change) && members_.Contains(author);
  }

  void Apply(const GroupChange& change) {
    const AccountId& author = change.stamp.author;
    for (const GroupOp& op : change.ops) {
      switch (op.kind) {
        case GroupOpKind::kAdd:
          if (state_.members.size() < kMaxGroupStateMembers) members_.Add(op.target);
          break;
        case GroupOpKind::kLeave:
          if (op.target != author) break;  // only one's own leaving
          [[fallthrough]];
        case GroupOpKind::kRemove:
          members_.Remove(op.target);
          admins_.Remove(op.target);
          break;
        case GroupOpKind::kRename:
          state_.name = op.name;
          break;
        case GroupOpKind::kMakeAdmin:
          if (members_.Contains(op.target)) admins_.Add(op.target);
          break;
        case GroupOpKind::kRevokeAdmin:
          admins_.Remove(op.target);
          break;
      }
    }
    // A group with members always has an admin: the member with the smallest
    // account id, the same on every device.
    if (state_.admins.empty() && !state_.members.empty()) {
      admins_.Add(*std::min_element(state_.members.begin(), state_.members.end()));
    }
    state_.last = change.stamp;
  }

 private:
  GroupState state_;
  AccountIndex members_{state_.members};
  AccountIndex admins_{state_.admins};
};

// Replays the changes of a sorted, non-empty `log` stamped below `version`
// (the first always: it starts the log); `counted(i)` is told of each
// change that counts.
template <class Counted>
GroupState ReplayPrefix(const std::vector<GroupChange>& log, std::uint64_t version, Counted&& counted) {
  Replay replay;
  replay.Apply(log.front());
  counted(std::size_t{0});
  for (std::size_t i = 1; i < log.size() && log[i].stamp.version < version; ++i) {
    if (replay.Counts(log[i])) {
      replay.Apply(log[i]);
      counted(i);
    }
  }
  return replay.Take();
}

// Whether each change of a sorted, non-empty log counts in its replay.
std::vector<bool> CountingChanges(const std::vector<GroupChange>& log) {
  std::vector<bool> counts(log.size(), false);
  (void)ReplayPrefix(log, UINT64_MAX, [&](std::size_t i) { counts[i] = true; });
  return counts;
}

}  // namespace

bool SameGroupChange(const GroupChange& a, const GroupChange& b) {
  return a.stamp == b.stamp && a.ops == b.ops;
}

bool IsLeave(const GroupChange& change) {
  return change.ops.size() == 1 && change.ops[0].kind == GroupOpKind::kLeave &&
         change.ops[0].target == change.stamp.author;
}

bool IsGroupSnapshot(const GroupChange& change) {
  auto has = [&](GroupOpKind kind) {
    return std::any_of(change.ops.begin(), change.ops.end(),
                       [&](const GroupOp& op) { return op.kind == kind; });
  };
  return has(GroupOpKind::kRename) && has(GroupOpKind::kAdd) && has(GroupOpKind::kMakeAdmin);
}

bool MergeGroupChange(std::vector<GroupChange>& log, GroupChange change) {
  if (!log.empty() && change.stamp < log.front().stamp) return false;
  auto at = std::lower_bound(log.begin(), log.end(), change.stamp,
                             [](const GroupChange& c, const GroupStamp& s) { return c.stamp < s; });
  if (at != log.end() && at->stamp == change.stamp) {
    if (!(change.ops < at->ops)) return false;
    *at = std::move(change);
    return true;
  }
  if (log.size() >= kMaxGroupLogChanges) return false;
  const AccountId author = change.stamp.author;
  const auto index = static_cast<std::size_t>(at - log.begin());
  log.insert(at, std::move(change));
  // A change that does not count is kept (a change sorting before it may
  // still make it count), but only so many per author: a member who is not
  // an admin cannot fill the log up to its bound and so stop the group.
  // Only an author with more changes than the bound can be past it; the
  // replay that tells which count is made only then.
  const auto by_author = static_cast<std::size_t>(
      std::count_if(log.begin(), log.end(), [&](const GroupChange& c) { return c.stamp.author == author; }));
  if (by_author <= kMaxUncountedGroupChangesPerAuthor) return true;
  const std::vector<bool> counts = CountingChanges(log);
  if (!counts[index]) {
    std::size_t uncounted = 0;
    for (std::size_t i = 0; i < log.size(); ++i) uncounted += !counts[i] && log[i].stamp.author == author;
    if (uncounted > kMaxUncountedGroupChangesPerAuthor) {
      log.erase(log.begin() + static_cast<std::ptrdiff_t>(index));
      return false;
    }
  }
  return true;
}

std::optional<GroupState> ReplayGroupBefore(const std::vector<GroupChange>& log, std::uint64_t version) {
  if (log.empty()) return std::nullopt;
  return ReplayPrefix(log, version, [](std::size_t) {});
}

std::optional<GroupState> ReplayGroup(const std::vector<GroupChange>& log) {
  return ReplayGroupBefore(log, UINT64_MAX);
}

GroupChange NextGroupChange(const GroupState& state, const AccountId& author, std::uint32_t device,
                            std::vector<GroupOp> ops) {
  return GroupChange{GroupStamp{state.last.version + 1, author, device}, std::move(ops)};
}

GroupChange GroupSnapshot(const GroupStamp& stamp, const std::string& name,
                          const std::vector<AccountId>& members, const std::vector<AccountId>& admins) {
  GroupChange change{stamp, {}};
  change.ops.push_back(GroupOp{GroupOpKind::kRename, AccountId{}, name});
  for (const AccountId& m : members) change.ops.push_back(GroupOp{GroupOpKind::kAdd, m, {}});
  for (const AccountId& a : admins) change.ops.push_back(GroupOp{GroupOpKind::kMakeAdmin, a, {}});
  return change;
}

}  // namespace parley::client
