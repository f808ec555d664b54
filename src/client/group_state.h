// Group state as a function of the set of changes a device has seen
// (docs/client.md, "Groups").
//
// Every change carries a stamp (version, author account, author device) and
// the operations it makes. A device keeps every change it has seen, sorted
// by stamp (its log); the state is the log replayed in that order, so two
// devices that have seen the same changes hold the same state whatever order
// the changes arrived in. Authorization is part of the replay: a change
// counts only when its author is an admin of the state just before it (or it
// is its author's own leave, made while a member). The first change of the
// log (the group's creation, or the snapshot an older store was migrated
// to) is taken as it stands. Pure: no I/O, no clock.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/strong_id.h"
#include "base/uuid.h"

namespace parley::client {

enum class GroupOpKind : std::uint32_t {
  kAdd = 1,          // target becomes a member
  kRemove = 2,       // target is no longer a member (nor an admin)
  kLeave = 3,        // the author leaves (target is the author)
  kRename = 4,       // the group's name becomes `name`
  kMakeAdmin = 5,    // target, a member, becomes an admin
  kRevokeAdmin = 6,  // target is no longer an admin
};
inline constexpr std::uint32_t kMaxGroupOpKind = 6;

struct GroupOp {
  GroupOpKind kind = GroupOpKind::kAdd;
  AccountId target;  // every kind but kRename
  std::string name;  // kRename only
  friend auto operator<=>(const GroupOp&, const GroupOp&) = default;
  friend bool operator==(const GroupOp&, const GroupOp&) = default;
};

// Changes are ordered by stamp; versions count from 1.
struct GroupStamp {
  std::uint64_t version = 0;
  AccountId author;
  std::uint32_t device = 0;  // the author's device; 0 for a migrated snapshot
  friend auto operator<=>(const GroupStamp&, const GroupStamp&) = default;
  friend bool operator==(const GroupStamp&, const GroupStamp&) = default;
};

// An XEdDSA signature by the identity key of the change's author device
// over GroupChangeSignedBytes (client/group_signature.h).
inline constexpr std::size_t kGroupChangeSignatureSize = 64;
using GroupChangeSignature = std::array<std::uint8_t, kGroupChangeSignatureSize>;

struct GroupChange {
  GroupStamp stamp;
  std::vector<GroupOp> ops;
  // Absent only on a change a store kept from before signatures (schema 7
  // or older) or on the snapshot a group from before schema 6 started from:
  // valid on the device that holds it, never taken from the network.
  std::optional<GroupChangeSignature> signature = std::nullopt;
  friend bool operator==(const GroupChange&, const GroupChange&) = default;
};
// The same stamp and operations (whatever the signature).
bool SameGroupChange(const GroupChange& a, const GroupChange& b);

// Limits shared with the content format.
inline constexpr std::uint64_t kMaxGroupVersion = std::uint64_t{1} << 62;
inline constexpr std::size_t kMaxGroupStateMembers = 1'024;
// A creation or snapshot: a name, every member and every admin.
inline constexpr std::size_t kMaxGroupOpsPerChange = 2 * kMaxGroupStateMembers + 1;
// A device keeps at most this many changes per group; past it, it takes
// none (the group can no longer change on that device).
inline constexpr std::size_t kMaxGroupLogChanges = 10'000;
// Changes that do not count in the replay (their author is not an admin
// there) are kept, since a change stamped before them may arrive and make
// them count, but at most this many per author; past it, the author's next
// change that would not count is not taken. A client that follows the rules
// makes such changes only while a revocation of its admin rights is on its
// way, so only such an author's refused changes may differ between devices,
// and they count for nothing either way.
inline constexpr std::size_t kMaxUncountedGroupChangesPerAuthor = 16;
// Changes not taken when they arrived (an author not yet known as a member,
// a group not yet known, an author device whose identity could not be had)
// are kept for when the log grows, within bounds a sender fills only for
// itself (store::PendingGroupLimits): per group and sender account at most
// kMaxPendingChangesPerSender changes and kMaxPendingBytesPerSender bytes
// (operations and signatures; its own oldest go first); per group at most
// kMaxPendingGroupChanges changes and kMaxPendingGroupBytes, and
// kMaxPendingBytes over every group; changes for at most
// kMaxPendingUnknownGroups groups the device does not hold, at most
// kMaxPendingUnknownGroupsPerSender of them per sender (its oldest go).
// What does not fit is not kept: a sender never evicts another's changes.
inline constexpr std::size_t kMaxPendingChangesPerSender = 16;
inline constexpr std::size_t kMaxPendingBytesPerSender = 64 * 1024;
inline constexpr std::size_t kMaxPendingGroupChanges = 128;
inline constexpr std::size_t kMaxPendingGroupBytes = 512 * 1024;
inline constexpr std::size_t kMaxPendingBytes = 2 * 1024 * 1024;
inline constexpr std::size_t kMaxPendingUnknownGroups = 16;
inline constexpr std::size_t kMaxPendingUnknownGroupsPerSender = 4;

struct GroupState {
  std::string name;
  std::vector<AccountId> members;  // in the order they joined
  std::vector<AccountId> admins;   // a subset of members, in the order they became admins
  GroupStamp last;                 // the stamp of the last change that counted
  friend bool operator==(const GroupState&, const GroupState&) = default;
};

// True when `change` is only its author's leaving.
bool IsLeave(const GroupChange& change);
// True when `change` can start a log: it names the group, adds members and
// makes an admin (a creation or a snapshot).
bool IsGroupSnapshot(const GroupChange& change);

// Adds `change` to `log` (kept sorted by stamp). A change with the stamp of
// one already there replaces it only when its operations sort first, so an
// author that sends two different changes under one stamp ends the same on
// every device. A change stamped before the log's first is not taken (the
// first is the group's creation or snapshot). Returns true when the log
// changed; false too when the log is full (kMaxGroupLogChanges) or when the
// change does not count and its author already has
// kMaxUncountedGroupChangesPerAuthor changes in the log that do not count.
bool MergeGroupChange(std::vector<GroupChange>& log, GroupChange change);

// The state of a sorted log (nullopt when it is empty).
std::optional<GroupState> ReplayGroup(const std::vector<GroupChange>& log);
// The state of the changes of `log` whose version is below `version`:
// what a change of that version was made from.
std::optional<GroupState> ReplayGroupBefore(const std::vector<GroupChange>& log, std::uint64_t version);

// A change made from `state` by `author` (its next version).
GroupChange NextGroupChange(const GroupState& state, const AccountId& author, std::uint32_t device,
                            std::vector<GroupOp> ops);

// The first change of a group: the name, its members and admins.
GroupChange GroupSnapshot(const GroupStamp& stamp, const std::string& name,
                          const std::vector<AccountId>& members, const std::vector<AccountId>& admins);

}  // namespace parley::client
