#include "client/group_state.h"

#include <algorithm>

namespace parley::client {

namespace {

bool Contains(const std::vector<AccountId>& list, const AccountId& account) {
  return std::find(list.begin(), list.end(), account) != list.end();
}

void Apply(GroupState& state, const GroupChange& change) {
  const AccountId& author = change.stamp.author;
  for (const GroupOp& op : change.ops) {
    switch (op.kind) {
      case GroupOpKind::kAdd:
        if (!Contains(state.members, op.target) && state.members.size() < kMaxGroupStateMembers) {
          state.members.push_back(op.target);
        }
        break;
      case GroupOpKind::kLeave:
        if (op.target != author) break;  // only one's own leaving
        [[fallthrough]];
      case GroupOpKind::kRemove:
        std::erase(state.members, op.target);
        std::erase(state.admins, op.target);
        break;
      case GroupOpKind::kRename:
        state.name = op.name;
        break;
      case GroupOpKind::kMakeAdmin:
        if (Contains(state.members, op.target) && !Contains(state.admins, op.target)) {
          state.admins.push_back(op.target);
        }
        break;
      case GroupOpKind::kRevokeAdmin:
        std::erase(state.admins, op.target);
        break;
    }
  }
  // A group with members always has an admin: the member with the smallest
  // account id, the same on every device.
  if (state.admins.empty() && !state.members.empty()) {
    state.admins.push_back(*std::min_element(state.members.begin(), state.members.end()));
  }
  state.last = change.stamp;
}

bool Counts(const GroupState& state, const GroupChange& change) {
  const AccountId& author = change.stamp.author;
  if (Contains(state.admins, author)) return true;
  return IsLeave(change) && Contains(state.members, author);
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
  log.insert(at, std::move(change));
  return true;
}

std::optional<GroupState> ReplayGroupBefore(const std::vector<GroupChange>& log, std::uint64_t version) {
  if (log.empty()) return std::nullopt;
  GroupState state;
  Apply(state, log.front());
  for (std::size_t i = 1; i < log.size() && log[i].stamp.version < version; ++i) {
    if (Counts(state, log[i])) Apply(state, log[i]);
  }
  return state;
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
