// Client::Impl: groups (docs/client.md, "Groups").
//
// State changes (create, add, remove, rename, admins, leave) are stamped
// changes (client/group_state.h) that go as a GroupUpdateBody, the changes
// in the group context, over 1:1 sessions to every device of every member
// concerned and to our other devices; the state is their replay. Messages
// go once per device as the same SenderKeyMessage, prefixed with the group
// id (EncodeGroupEnvelope).
#include "client/client_impl.h"
#include "client/group_signature.h"
#include "client/message_id.h"
#include "protocol/sender_key_distribution_message.h"

namespace parley::client {

namespace {

bool Contains(const std::vector<AccountId>& list, const AccountId& account) {
  return std::find(list.begin(), list.end(), account) != list.end();
}

// Our copy of a replayed state.
void SetGroupState(Group& group, const GroupState& state) {
  group.name = state.name;
  group.members = state.members;
  group.admins = state.admins;
  group.version = state.last.version;
  group.version_author = state.last.author;
}

// Past this many operations (or about this many bytes of them) the changes
// go on in another content, well under kMaxContentBytes.
constexpr std::size_t kGroupOpsPerContent = 4'096;
constexpr std::size_t kGroupChangeBytesPerContent = 128 * 1024;

std::size_t EncodedSizeBound(const GroupChange& change) {
  std::size_t bytes = 48 + (change.signature ? kGroupChangeSignatureSize + 2 : 0);
  for (const GroupOp& op : change.ops) bytes += 24 + op.name.size();
  return bytes;
}

// A change as the store keeps it; nullopt when its operations break a rule
// of the content format (a decoded change's never do).
std::optional<store::StoredGroupChange> ToStored(const GroupChange& change) {
  auto ops = EncodeGroupOps(change.ops);
  if (!ops) return std::nullopt;
  store::StoredGroupChange stored{change.stamp.version, change.stamp.author, change.stamp.device, *ops};
  if (change.signature) stored.signature.assign(change.signature->begin(), change.signature->end());
  return stored;
}

// A stored change; nullopt when it is malformed.
std::optional<GroupChange> FromStored(const store::StoredGroupChange& stored) {
  auto ops = DecodeGroupOps(stored.ops);
  if (!ops) return std::nullopt;
  GroupChange change{GroupStamp{stored.version, stored.author, stored.device}, std::move(*ops)};
  if (!stored.signature.empty()) {
    if (stored.signature.size() != kGroupChangeSignatureSize) return std::nullopt;
    change.signature.emplace();
    std::copy(stored.signature.begin(), stored.signature.end(), change.signature->begin());
  }
  return change;
}

// Changes kept for later, as the store holds them.
store::PendingGroupChanges ToPending(std::int64_t arrival, const AccountId& sender, DeviceId sender_device,
                                     const std::vector<GroupChange>& changes) {
  store::PendingGroupChanges pending{arrival, sender, sender_device.value(), {}};
  for (const GroupChange& c : changes) {
    if (auto stored = ToStored(c)) pending.changes.push_back(std::move(*stored));
  }
  return pending;
}

constexpr store::PendingGroupLimits kPendingLimits{kMaxPendingChangesPerSender,
                                                   kMaxPendingBytesPerSender,
                                                   kMaxPendingGroupChanges,
                                                   kMaxPendingGroupBytes,
                                                   kMaxPendingBytes,
                                                   kMaxPendingUnknownGroups,
                                                   kMaxPendingUnknownGroupsPerSender};

// True when `log` already holds `change`, or never takes it (it is stamped
// before the log's first change): nothing in it is new to the log.
bool HeldOrNeverTaken(const std::vector<GroupChange>& log, const GroupChange& change) {
  if (!log.empty() && change.stamp < log.front().stamp) return true;
  auto at = std::lower_bound(log.begin(), log.end(), change.stamp,
                             [](const GroupChange& l, const GroupStamp& s) { return l.stamp < s; });
  return at != log.end() && SameGroupChange(*at, change);
}

// Identity keys fetched from parleyd for the authors of one group update's
// changes (each fetch uses up one of the author device's one-time prekeys).
constexpr int kMaxIdentityFetchesPerUpdate = 32;

}  // namespace

protocol::SenderKeyName Client::Impl::SenderKeyNameFor(const GroupId& group, const AccountId& account,
                                                       DeviceId device) const {
  return protocol::SenderKeyName{ToHex(group), ProtocolAddress{AccountName(account), device}};
}

ClientResult<Group> Client::Impl::ActiveGroupLocked(const ConversationId& conversation) {
  auto id = store::GroupIdOf(conversation);
  if (!id) return Fail(ClientErrc::kInvalidArgument, "not a group conversation");
  CLIENT_ASSIGN_STORE(found, store_->FindGroup(*id));
  if (!found || !found->active) return Fail(ClientErrc::kNotFound, "no such group, or no longer a member");
  return *found;
}

ClientResult<std::vector<AccountId>> Client::Impl::ResolveMembersLocked(
    const std::vector<std::string>& names) {
  std::vector<AccountId> out;
  for (const std::string& name : names) {
    auto contact = ResolvePeerLocked(name, true);
    if (!contact) return tl::unexpected(contact.error());
    if (contact->account == account_->account) continue;
    if (contact->state == ContactState::kBlocked) return Fail(ClientErrc::kBlocked, "a member is blocked");
    if (contact->state == ContactState::kRequest) {
      CLIENT_TRY_STORE(store_->SetConversationRequest(AccountName(contact->account), false));
      contact->state = ContactState::kAccepted;
    }
    CLIENT_TRY_STORE(store_->SaveContact(*contact));
    if (!Contains(out, contact->account)) out.push_back(contact->account);
  }
  return out;
}

ClientStatus Client::Impl::SendToOwnDevicesLocked(Bytes plaintext) {
  if (other_devices_.empty()) return {};
  CLIENT_ASSIGN_STORE(devices, store_->SessionDevices(account_->account));
  std::optional<store::Contact> none;
  for (DeviceId d : other_devices_) {
    if (std::find(devices.begin(), devices.end(), d) == devices.end()) {
      CLIENT_TRY(FetchBundlesLocked(account_->account, d, none));
    }
  }
  return SendToAccountLocked(account_->account, plaintext, true);
}

ClientStatus Client::Impl::SendPairwiseToGroupLocked(const Group& group, Bytes plaintext,
                                                     const std::vector<AccountId>& extra_recipients) {
  std::vector<AccountId> recipients = group.members;
  for (const AccountId& a : extra_recipients) {
    if (!Contains(recipients, a)) recipients.push_back(a);
  }
  for (const AccountId& member : recipients) {
    if (member == account_->account) continue;
    CLIENT_TRY(SendToAccountLocked(member, Bytes(plaintext), false));
  }
  return SendToOwnDevicesLocked(plaintext);
}

ClientResult<std::vector<GroupChange>> Client::Impl::GroupLogLocked(const Group& group) {
  CLIENT_ASSIGN_STORE(stored, store_->GroupChanges(group.id));
  std::vector<GroupChange> log;
  for (const store::StoredGroupChange& s : stored) {
    auto change = FromStored(s);
    if (!change) return Fail(ClientErrc::kStorage, "a stored group change is malformed");
    log.push_back(std::move(*change));
  }
  if (log.empty()) {
    // A group from before the log: a snapshot of its state at its version.
    AccountId author = group.version_author.value_or(
        !group.admins.empty() ? group.admins.front()
                              : (!group.members.empty() ? group.members.front() : account_->account));
    GroupChange snapshot = GroupSnapshot(GroupStamp{std::max<std::uint64_t>(group.version, 1), author, 0},
                                         group.name, group.members, group.admins);
    CLIENT_TRY(SaveGroupChangeLocked(group.id, snapshot));
    log.push_back(std::move(snapshot));
  }
  return log;
}

ClientStatus Client::Impl::SaveGroupChangeLocked(const GroupId& group, const GroupChange& change) {
  auto stored = ToStored(change);
  if (!stored)
    return Fail(ClientErrc::kInvalidArgument, "a group change breaks a rule of the content format");
  CLIENT_TRY_STORE(store_->SaveGroupChange(group, *stored));
  return {};
}

ClientResult<GroupChange> Client::Impl::SignOwnGroupChangeLocked(const GroupId& group, GroupChange change) {
  auto signed_change = SignGroupChange(group, std::move(change), store_->GetIdentityKeyPair(), rng_);
  if (!signed_change) {
    return Fail(ClientErrc::kInvalidArgument, "a group change breaks a rule of the content format");
  }
  return std::move(*signed_change);
}

std::optional<crypto::PublicKey> Client::Impl::GroupAuthorIdentityLocked(const AccountId& author,
                                                                         std::uint32_t device) {
  if (device == 0) return std::nullopt;  // a migrated snapshot: no device made it
  if (author == account_->account && device == account_->device.value()) {
    return store_->GetIdentityKeyPair().public_key;
  }
  const ProtocolAddress address{AccountName(author), DeviceId(device)};
  if (auto known = store_->GetIdentity(address)) return known;
  if (identity_fetches_left_ <= 0 || !connection_) return std::nullopt;
  --identity_fetches_left_;
  std::optional<store::Contact> contact;
  if (author != account_->account) {
    auto found = store_->FindContact(author);
    if (!found) return std::nullopt;
    contact = *found;
  }
  if (!FetchIdentityKeysLocked(author, DeviceId(device), contact)) return std::nullopt;
  return store_->GetIdentity(address);
}

ClientStatus Client::Impl::SendGroupChangesLocked(const GroupId& group, const std::vector<GroupChange>& given,
                                                  const std::vector<AccountId>& recipients,
                                                  bool own_devices) {
  // A change kept from before signatures is valid here only: no receiver takes it.
  std::vector<GroupChange> changes;
  std::copy_if(given.begin(), given.end(), std::back_inserter(changes),
               [](const GroupChange& c) { return c.signature.has_value(); });
  std::size_t next = 0;
  while (next < changes.size()) {
    Content content;
    content.message_id = TimeOrderedId(clock_.NowMillis(), rng_);
    content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
    if (!account_->username.empty()) content.sender_username = account_->username;
    content.group = GroupContext{group, std::nullopt, {}, {}, 0, std::nullopt};
    content.body = GroupUpdateBody{};
    std::size_t ops = 0;
    std::size_t bytes = 0;
    while (next < changes.size() && content.group->changes.size() < kMaxGroupChangesPerContent) {
      const GroupChange& change = changes[next];
      if (!content.group->changes.empty() &&
          (ops + change.ops.size() > kGroupOpsPerContent ||
           bytes + EncodedSizeBound(change) > kGroupChangeBytesPerContent)) {
        break;
      }
      ops += change.ops.size();
      bytes += EncodedSizeBound(change);
      content.group->changes.push_back(change);
      ++next;
    }
    auto encoded = EncodeContent(content);
    if (!encoded) return Fail(ClientErrc::kTooLarge, "the group breaks a rule of the content format");
    for (const AccountId& r : recipients) {
      if (r != account_->account) CLIENT_TRY(SendToAccountLocked(r, encoded->bytes(), false));
    }
    if (own_devices) CLIENT_TRY(SendToOwnDevicesLocked(encoded->bytes()));
  }
  return {};
}

ClientStatus Client::Impl::SendGroupStateLocked(const Group& group,
                                                const std::vector<AccountId>& recipients) {
  CLIENT_ASSIGN(log, GroupLogLocked(group));
  return SendGroupChangesLocked(group.id, log, recipients, true);
}

ClientResult<Group> Client::Impl::ChangeGroupLocked(Group group, std::vector<GroupOp> ops,
                                                    std::vector<Event>& events) {
  CLIENT_ASSIGN(log, GroupLogLocked(group));
  auto before = ReplayGroup(log);
  if (!before || !Contains(before->admins, account_->account)) {
    return Fail(ClientErrc::kForbidden, "only a group admin changes it");
  }
  if (before->last.version + 1 > kMaxGroupVersion) {
    return Fail(ClientErrc::kTooLarge, "the group has no versions left");
  }
  CLIENT_ASSIGN(
      change, SignOwnGroupChangeLocked(group.id, NextGroupChange(*before, account_->account,
                                                                 account_->device.value(), std::move(ops))));
  if (!MergeGroupChange(log, change)) return Fail(ClientErrc::kTooLarge, "the group has too many changes");
  auto after = ReplayGroup(log);
  if (!after || after->last != change.stamp)
    return Fail(ClientErrc::kStorage, "the stored changes of the group do not add up");

  std::vector<AccountId> joined;
  for (const AccountId& m : after->members) {
    if (!Contains(before->members, m)) joined.push_back(m);
  }
  CLIENT_TRY(SaveGroupChangeLocked(group.id, change));
  bool someone_left = false;
  for (const AccountId& m : before->members) someone_left |= !Contains(after->members, m);
  bool admin_revoked = false;
  for (const AccountId& a : before->admins) admin_revoked |= !Contains(after->admins, a);
  SetGroupState(group, *after);
  // The new members need our sender key; after a removal or revocation a
  // new one replaces it.
  if (!joined.empty()) group.key_distributed = false;
  if (someone_left || admin_revoked) {
    CLIENT_TRY_STORE(
        store_->DeleteSenderKey(SenderKeyNameFor(group.id, account_->account, account_->device)));
    group.key_distributed = false;
  }
  CLIENT_TRY_STORE(store_->SaveGroup(group));
  events.push_back(GroupChanged{group, account_->account});
  // Members before it (removed ones too, so they learn it) get the change;
  // those it adds, the whole log.
  CLIENT_TRY(SendGroupChangesLocked(group.id, {change}, before->members, true));
  if (!joined.empty()) CLIENT_TRY(SendGroupChangesLocked(group.id, log, joined, false));
  // Changes kept for lack of this one (a new member's leave) may count now.
  std::vector<std::function<void()>> forwards;
  identity_fetches_left_ = kMaxIdentityFetchesPerUpdate;
  const bool own_transaction = !store_->in_transaction();
  if (own_transaction) CLIENT_TRY_STORE(store_->Begin());
  if (!TakePendingGroupChangesLocked(group.id, events, forwards) || (own_transaction && !store_->Commit())) {
    if (own_transaction) store_->Rollback();
    return Fail(ClientErrc::kStorage, "the pending changes of the group could not be taken");
  }
  for (auto& forward : forwards) forward();
  CLIENT_ASSIGN_STORE(now, store_->FindGroup(group.id));
  if (!now) return Fail(ClientErrc::kStorage, "the group is gone");
  return *now;
}

ClientStatus Client::Impl::SendGroupCiphertextLocked(const AccountId& account, Bytes envelope_content,
                                                     Bytes distribution, bool sync) {
  std::optional<store::Contact> none;
  const wire::ClientMessageId cmid = TimeOrderedId(clock_.NowMillis(), rng_);
  bool fetched_all = false;
  for (int attempt = 0; attempt < kSendAttempts; ++attempt) {
    CLIENT_ASSIGN_STORE(devices, store_->SessionDevices(account));
    std::erase_if(devices, [&](DeviceId d) { return sync && d == account_->device; });
    if (devices.empty()) {
      if (sync) return {};
      if (fetched_all) return Fail(ClientErrc::kNotFound, "the account has no devices");
      CLIENT_TRY(FetchBundlesLocked(account, std::nullopt, none));
      // Sessions just started: these devices have not had our sender key.
      CLIENT_TRY(SendToAccountLocked(account, distribution, false));
      fetched_all = true;
      continue;
    }
    wire::SendMessagesRequest request;
    request.recipient = account;
    request.client_message_id = cmid;
    request.sync = sync;
    for (DeviceId device : devices) {
      protocol::SessionRecord* record = store_->LoadSession({AccountName(account), device});
      if (record == nullptr || !record->has_current_state()) {
        return Fail(ClientErrc::kProtocol, "no session with a member device");
      }
      request.messages.push_back(
          {device, record->current_state()->remote_registration_id, kGroupEnvelopeType,
           std::vector<std::uint8_t>(envelope_content.begin(), envelope_content.end())});
    }
    auto response = CallLocked(request);
    if (!response) {
      if (response.error().code == ClientErrc::kNetwork || response.error().code == ClientErrc::kTimeout) {
        continue;  // the same client_message_id: the server never queues it twice
      }
      return tl::unexpected(response.error());
    }
    if (response->status == ResponseStatus::kOk) return {};
    if (response->status != ResponseStatus::kMismatchedDevices) return StatusFailed(*response);
    CLIENT_ASSIGN(new_devices, RepairDevicesLocked(account, std::get<wire::MismatchedDevices>(response->body),
                                                   none, sync));
    if (new_devices) CLIENT_TRY(SendToAccountLocked(account, distribution, sync));
  }
  return Fail(ClientErrc::kNetwork, "the message could not be delivered to the server");
}

ClientStatus Client::Impl::SendGroupContentLocked(Group& group, Content content) {
  CLIENT_TRY(EnsureConnectedLocked());
  if (content.message_id == ContentId{}) content.message_id = TimeOrderedId(clock_.NowMillis(), rng_);
  if (content.sent_at_ms == 0) content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
  content.group = GroupContext{group.id, std::nullopt, {}, {}, 0, std::nullopt};
  auto encoded = EncodeContent(content);
  if (!encoded) return Fail(ClientErrc::kTooLarge, "the message breaks a rule of the content format");

  // Our chain's distribution at its current iteration: whoever processes it
  // can read this message and the ones after it.
  const protocol::SenderKeyName own = SenderKeyNameFor(group.id, account_->account, account_->device);
  protocol::GroupSessionBuilder builder(*store_, rng_);
  auto distribution = builder.CreateDistribution(own);
  if (!distribution) return ProtocolFailed(distribution.error());
  Content key;
  key.message_id = TimeOrderedId(clock_.NowMillis(), rng_);
  key.sent_at_ms = content.sent_at_ms;
  key.group = GroupContext{group.id, std::nullopt, {}, {}, 0, std::nullopt};
  key.body = SenderKeyDistributionBody{SecretBuffer(distribution->serialized())};
  auto key_plaintext = EncodeContent(key);
  if (!key_plaintext) return Fail(ClientErrc::kProtocol, "the sender key does not fit a message");
  if (!group.key_distributed) {
    CLIENT_TRY(SendPairwiseToGroupLocked(group, key_plaintext->bytes()));
    group.key_distributed = true;
    CLIENT_TRY_STORE(store_->SaveGroup(group));
  }

  protocol::GroupCipher cipher(*store_, own, rng_);
  auto encrypted = cipher.Encrypt(encoded->bytes());
  if (!encrypted) return ProtocolFailed(encrypted.error());
  const std::vector<std::uint8_t> envelope = EncodeGroupEnvelope(group.id, *encrypted);
  for (const AccountId& member : group.members) {
    if (member == account_->account) continue;
    CLIENT_TRY(SendGroupCiphertextLocked(member, envelope, key_plaintext->bytes(), false));
  }
  if (!other_devices_.empty()) {
    CLIENT_ASSIGN_STORE(devices, store_->SessionDevices(account_->account));
    std::optional<store::Contact> none;
    for (DeviceId d : other_devices_) {
      if (std::find(devices.begin(), devices.end(), d) == devices.end()) {
        CLIENT_TRY(FetchBundlesLocked(account_->account, d, none));
        CLIENT_TRY(SendToAccountLocked(account_->account, key_plaintext->bytes(), true));
      }
    }
    CLIENT_TRY(SendGroupCiphertextLocked(account_->account, envelope, key_plaintext->bytes(), true));
  }
  return {};
}

ClientResult<Group> Client::Impl::CreateGroup(const std::string& name,
                                              const std::vector<std::string>& members) {
  std::vector<Event> events;
  auto result = [&]() -> ClientResult<Group> {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    if (name.empty() || name.size() > kMaxGroupNameBytes || !IsWellFormedUtf8(name)) {
      return Fail(ClientErrc::kInvalidArgument, "a group name is 1-128 bytes of UTF-8");
    }
    if (members.size() + 1 > kMaxGroupMembers) return Fail(ClientErrc::kTooLarge, "at most 1,024 members");
    auto resolved = ResolveMembersLocked(members);
    events.swap(pending_events_);
    if (!resolved) return tl::unexpected(resolved.error());
    Group group;
    group.id = RandomId(rng_);
    std::vector<AccountId> all = {account_->account};
    all.insert(all.end(), resolved->begin(), resolved->end());
    CLIENT_ASSIGN(creation,
                  SignOwnGroupChangeLocked(
                      group.id, GroupSnapshot(GroupStamp{1, account_->account, account_->device.value()},
                                              name, all, {account_->account})));
    SetGroupState(group, *ReplayGroup({creation}));
    CLIENT_TRY(SaveGroupChangeLocked(group.id, creation));
    CLIENT_TRY_STORE(store_->SaveGroup(group));
    CLIENT_TRY(SendGroupChangesLocked(group.id, {creation}, group.members, true));
    events.push_back(GroupChanged{group, account_->account});
    return group;
  }();
  Emit(events);
  return result;
}

ClientResult<Group> Client::Impl::EditGroupMembers(const ConversationId& conversation,
                                                   const std::vector<std::string>& members, GroupEdit edit) {
  std::vector<Event> events;
  auto result = [&]() -> ClientResult<Group> {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    auto group = ActiveGroupLocked(conversation);
    if (!group) return tl::unexpected(group.error());
    if (!Contains(group->admins, account_->account)) {
      return Fail(ClientErrc::kForbidden, "only a group admin changes its members and admins");
    }
    std::vector<AccountId> accounts;
    if (edit == GroupEdit::kAddMembers) {
      auto resolved = ResolveMembersLocked(members);
      if (!resolved) return tl::unexpected(resolved.error());
      accounts = std::move(*resolved);
    } else {
      for (const std::string& name : members) {
        // A member by account id needs no contact; we may name ourselves
        // (to give up our admin rights).
        AccountId account = account_->account;
        if (auto uuid = Uuid::Parse(name)) {
          account = AccountId(*uuid);
        } else if (name != account_->username) {
          auto contact = ResolvePeerLocked(name, false);
          if (!contact) return tl::unexpected(contact.error());
          account = contact->account;
        }
        if (!Contains(group->members, account))
          return Fail(ClientErrc::kNotFound, "not a member of the group");
        if (account == account_->account && edit == GroupEdit::kRemoveMembers) {
          return Fail(ClientErrc::kInvalidArgument, "leave the group instead of removing yourself");
        }
        if (!Contains(accounts, account)) accounts.push_back(account);
      }
    }
    std::vector<GroupOp> ops;
    std::size_t members_after = group->members.size();
    std::size_t admins_after = group->admins.size();
    for (const AccountId& a : accounts) {
      switch (edit) {
        case GroupEdit::kAddMembers:
          if (!Contains(group->members, a)) {
            ops.push_back({GroupOpKind::kAdd, a, {}});
            ++members_after;
          }
          break;
        case GroupEdit::kRemoveMembers:
          ops.push_back({GroupOpKind::kRemove, a, {}});
          if (Contains(group->admins, a)) --admins_after;
          break;
        case GroupEdit::kAddAdmins:
          if (!Contains(group->admins, a)) ops.push_back({GroupOpKind::kMakeAdmin, a, {}});
          break;
        case GroupEdit::kRemoveAdmins:
          if (Contains(group->admins, a)) {
            ops.push_back({GroupOpKind::kRevokeAdmin, a, {}});
            --admins_after;
          }
          break;
      }
    }
    if (members_after > kMaxGroupMembers) return Fail(ClientErrc::kTooLarge, "at most 1,024 members");
    if (admins_after == 0) {
      return Fail(ClientErrc::kInvalidArgument,
                  "a group keeps an admin: make another member admin first, or leave the group");
    }
    if (ops.empty()) return *group;  // nothing to change
    return ChangeGroupLocked(std::move(*group), std::move(ops), events);
  }();
  Emit(events);
  return result;
}

ClientResult<Group> Client::Impl::RenameGroup(const ConversationId& conversation, const std::string& name) {
  std::vector<Event> events;
  auto result = [&]() -> ClientResult<Group> {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    if (name.empty() || name.size() > kMaxGroupNameBytes || !IsWellFormedUtf8(name)) {
      return Fail(ClientErrc::kInvalidArgument, "a group name is 1-128 bytes of UTF-8");
    }
    auto group = ActiveGroupLocked(conversation);
    if (!group) return tl::unexpected(group.error());
    if (!Contains(group->admins, account_->account)) {
      return Fail(ClientErrc::kForbidden, "only a group admin renames it");
    }
    return ChangeGroupLocked(std::move(*group), {GroupOp{GroupOpKind::kRename, AccountId{}, name}}, events);
  }();
  Emit(events);
  return result;
}

ClientStatus Client::Impl::LeaveGroup(const ConversationId& conversation) {
  std::vector<Event> events;
  auto result = [&]() -> ClientStatus {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    auto group = ActiveGroupLocked(conversation);
    if (!group) return tl::unexpected(group.error());
    CLIENT_ASSIGN(log, GroupLogLocked(*group));
    auto before = ReplayGroup(log);
    if (!before) return Fail(ClientErrc::kStorage, "the stored changes of the group do not add up");
    CLIENT_ASSIGN(leave,
                  SignOwnGroupChangeLocked(
                      group->id, NextGroupChange(*before, account_->account, account_->device.value(),
                                                 {GroupOp{GroupOpKind::kLeave, account_->account, {}}})));
    if (!MergeGroupChange(log, leave)) return Fail(ClientErrc::kTooLarge, "the group has too many changes");
    auto after = ReplayGroup(log);
    CLIENT_TRY(SaveGroupChangeLocked(group->id, leave));
    Group left = *group;
    SetGroupState(left, *after);
    left.active = false;
    left.key_distributed = false;
    CLIENT_TRY_STORE(
        store_->DeleteSenderKey(SenderKeyNameFor(group->id, account_->account, account_->device)));
    CLIENT_TRY_STORE(store_->SaveGroup(left));
    events.push_back(GroupChanged{left, account_->account});
    return SendGroupChangesLocked(group->id, {leave}, before->members, true);
  }();
  Emit(events);
  return result;
}

ClientResult<std::vector<Group>> Client::Impl::Groups() {
  std::unique_lock lock(mutex_);
  CLIENT_ASSIGN_STORE(list, store_->ListGroups());
  return list;
}

ClientResult<Group> Client::Impl::GetGroup(const ConversationId& conversation) {
  std::unique_lock lock(mutex_);
  auto id = store::GroupIdOf(conversation);
  if (!id) return Fail(ClientErrc::kInvalidArgument, "not a group conversation");
  CLIENT_ASSIGN_STORE(found, store_->FindGroup(*id));
  if (!found) return Fail(ClientErrc::kNotFound, "no such group");
  return *found;
}

ClientResult<StoredMessage> Client::Impl::SendGroupText(const ConversationId& conversation,
                                                        const std::string& body,
                                                        const std::optional<MessageId>& quote) {
  std::vector<Event> events;
  auto result = [&]() -> ClientResult<StoredMessage> {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    if (body.empty()) return Fail(ClientErrc::kInvalidArgument, "the message is empty");
    if (body.size() > kMaxTextBytes) return Fail(ClientErrc::kTooLarge, "the message is over 64 KiB");
    if (!IsWellFormedUtf8(body)) return Fail(ClientErrc::kInvalidArgument, "the message is not UTF-8");
    DataBody data;
    data.text = body;
    if (quote) data.quote = ToContentId(*quote);
    auto m = SendDataLocked(conversation, std::move(data), nullptr);
    events.insert(events.end(), pending_events_.begin(), pending_events_.end());
    pending_events_.clear();
    return m;
  }();
  Emit(events);
  return result;
}

ClientResult<Group> Client::Impl::AcceptGroupForSendingLocked(const ConversationId& conversation) {
  auto group = ActiveGroupLocked(conversation);
  if (!group) return tl::unexpected(group.error());
  if (group->request) {
    // Writing to a group accepts its request.
    group->request = false;
    CLIENT_TRY_STORE(store_->SaveGroup(*group));
    CLIENT_TRY_STORE(store_->SetConversationRequest(conversation, false));
  }
  return group;
}

ClientResult<std::vector<MessageReceipt>> Client::Impl::Receipts(const MessageId& id) {
  std::unique_lock lock(mutex_);
  if (!store_) return Fail(ClientErrc::kStorage, "the store is not open");
  CLIENT_ASSIGN_STORE(found, store_->FindMessage(id));
  if (!found) return Fail(ClientErrc::kNotFound, "no such message");
  CLIENT_ASSIGN_STORE(list, store_->Receipts(id));
  return list;
}

ClientStatus Client::Impl::SendGroupAboutLocked(const GroupId& id, ContentBody body) {
  auto group = ActiveGroupLocked(store::GroupConversation(id));
  if (!group) return tl::unexpected(group.error());
  Content content;
  content.body = std::move(body);
  return SendGroupContentLocked(*group, std::move(content));
}

// ---- receiving ----

bool Client::Impl::ApplyGroupControlLocked(const wire::Envelope& envelope, const Content& content,
                                           const std::optional<store::Contact>& contact,
                                           std::vector<Event>& events,
                                           std::vector<std::function<void()>>& after_commit) {
  const GroupContext& context = *content.group;
  const bool from_self = envelope.sender == account_->account;
  auto existing = store_->FindGroup(context.id);
  if (!existing) return false;

  if (const auto* key = std::get_if<SenderKeyDistributionBody>(&content.body)) {
    // Kept whether or not the sender is a member yet (a key may overtake the
    // state that adds its sender); membership is checked for each message.
    auto message = protocol::SenderKeyDistributionMessage::Deserialize(key->message.bytes());
    if (!message) return true;
    protocol::GroupSessionBuilder builder(*store_, rng_);
    auto processed =
        builder.Process(SenderKeyNameFor(context.id, envelope.sender, envelope.sender_device), *message);
    return processed || processed.error().code != ProtocolErrc::kStorageFailed;
  }
  if (const auto* receipt = std::get_if<ReceiptBody>(&content.body)) {
    const ConversationId conversation = GroupConversation(context.id);
    if (!*existing) return true;
    if (from_self) return MarkSeenElsewhereLocked(*receipt, conversation);
    // Receipts count only from those a message was sent to (ApplyReceiptLocked),
    // members then even if removed since; never for a request: we sent it nothing.
    if (!(*existing)->active) return true;
    return ApplyReceiptLocked(envelope.sender, *receipt, conversation, &**existing, events);
  }
  // A whole state without changes (an older client's) is no longer taken.
  if (!std::holds_alternative<GroupUpdateBody>(content.body) || context.changes.empty()) return true;
  return ApplyGroupChangesLocked(envelope, context, *existing, contact, events, after_commit);
}

bool Client::Impl::ApplyGroupChangesLocked(const wire::Envelope& envelope, const GroupContext& context,
                                           const std::optional<store::Group>& existing,
                                           const std::optional<store::Contact>& contact,
                                           std::vector<Event>& events,
                                           std::vector<std::function<void()>>& after_commit) {
  std::vector<GroupChange> left;
  identity_fetches_left_ = kMaxIdentityFetchesPerUpdate;
  auto grew = TakeGroupChangesLocked(envelope.sender, envelope.sender_device, context.id, context.changes,
                                     existing, contact, events, after_commit, left);
  if (!grew) return false;
  if (!left.empty() &&
      !store_->KeepPendingGroupChanges(
          context.id, ToPending(0, envelope.sender, envelope.sender_device, left), kPendingLimits)) {
    return false;
  }
  return !*grew || TakePendingGroupChangesLocked(context.id, events, after_commit);
}

bool Client::Impl::TakePendingGroupChangesLocked(const GroupId& id, std::vector<Event>& events,
                                                 std::vector<std::function<void()>>& after_commit) {
  // Each round that takes anything removes a pending change, so this ends.
  for (std::size_t round = 0; round <= kMaxPendingGroupChanges; ++round) {
    auto pending = store_->PendingGroupChangesOf(id);
    if (!pending) return false;
    bool grew = false;
    for (const store::PendingGroupChanges& arrival : *pending) {
      std::vector<GroupChange> changes;
      for (const store::StoredGroupChange& s : arrival.changes) {
        if (auto change = FromStored(s)) changes.push_back(std::move(*change));
      }
      auto existing = store_->FindGroup(id);
      auto contact = store_->FindContact(arrival.sender);
      if (!existing || !contact) return false;
      // A blocked contact's changes are ignored when they arrive; so they are here.
      if (*contact && (*contact)->state == ContactState::kBlocked) changes.clear();
      std::vector<GroupChange> left;
      const DeviceId sender_device(arrival.sender_device);
      auto taken = TakeGroupChangesLocked(arrival.sender, sender_device, id, changes, *existing, *contact,
                                          events, after_commit, left);
      if (!taken) return false;
      grew |= *taken;
      if (left.size() == arrival.changes.size()) continue;
      if (!store_->DeletePendingGroupChanges(id, arrival.arrival)) return false;
      if (!left.empty() && !store_->AddPendingGroupChanges(
                               id, ToPending(arrival.arrival, arrival.sender, sender_device, left))) {
        return false;
      }
    }
    if (!grew) return true;
  }
  return true;
}

std::optional<bool> Client::Impl::TakeGroupChangesLocked(const AccountId& sender, DeviceId sender_device,
                                                         const GroupId& id, std::vector<GroupChange> incoming,
                                                         const std::optional<store::Group>& existing,
                                                         const std::optional<store::Contact>& contact,
                                                         std::vector<Event>& events,
                                                         std::vector<std::function<void()>>& after_commit,
                                                         std::vector<GroupChange>& left) {
  const AccountId& me = account_->account;
  const bool from_self = sender == me;
  std::vector<GroupChange> log;
  std::optional<GroupState> before;
  if (existing) {
    auto held = GroupLogLocked(*existing);
    if (!held) {
      if (held.error().code == ClientErrc::kStorage) return std::nullopt;
      return false;
    }
    log = std::move(*held);
    before = ReplayGroup(log);
  }
  // An unsigned change is never taken from the network, nor kept for later.
  std::erase_if(incoming, [](const GroupChange& c) { return !c.signature || c.stamp.device == 0; });
  std::sort(incoming.begin(), incoming.end(),
            [](const GroupChange& a, const GroupChange& b) { return a.stamp < b.stamp; });
  std::vector<GroupChange> arrived = incoming;
  auto merged_with = [&](const std::vector<GroupChange>& changes) {
    std::vector<GroupChange> out = log;
    for (const GroupChange& c : changes) MergeGroupChange(out, c);
    return out;
  };
  // What is not taken now is kept (bounded) and tried again whenever the
  // log grows: a change whose author an add not yet seen makes a member, a
  // change for a group not yet known.
  auto keep_untaken = [&](const std::vector<GroupChange>& taken) {
    for (const GroupChange& c : arrived) {
      if (std::find(taken.begin(), taken.end(), c) != taken.end() || HeldOrNeverTaken(log, c)) continue;
      left.push_back(c);
    }
  };
  // What the sender relays for others (changes it did not make) is taken
  // from our own devices and from an admin of the state we hold (of when we
  // left, for a group we are no longer in); for a group we do not know, from
  // an admin of the state the changes make, when it lists us. Otherwise only
  // the sender's own changes are taken, and only from a member, one that a
  // change of the log adds, or, for a group we do not know, one its own
  // changes add (its creation): a stranger cannot fill the log, and what a
  // stranger sends is kept pending, within its bounds.
  bool relay = from_self || (before && Contains(before->admins, sender));
  if (!relay && !existing) {
    const std::vector<GroupChange> candidate = merged_with(incoming);
    auto state = ReplayGroup(candidate);
    relay = state && IsGroupSnapshot(candidate.front()) && Contains(state->members, me) &&
            Contains(state->admins, sender);
  }
  if (!relay) {
    auto added_somewhere = [&](const std::vector<GroupChange>& changes) {
      return std::any_of(changes.begin(), changes.end(), [&](const GroupChange& c) {
        return std::any_of(c.ops.begin(), c.ops.end(), [&](const GroupOp& op) {
          return op.kind == GroupOpKind::kAdd && op.target == sender;
        });
      });
    };
    const bool known = (before && Contains(before->members, sender)) || added_somewhere(log) ||
                       (!existing && added_somewhere(incoming));
    std::erase_if(incoming, [&](const GroupChange& c) {
      return !known || c.stamp.author != sender || c.stamp.device != sender_device.value();
    });
  }
  // Only what its author device signed is taken. A change whose author's
  // identity cannot be had now is kept for later; one whose signature does
  // not verify is dropped. (What is left here is the sender's own, whose
  // identity its session gave us, or what our own device or an admin
  // passes on: only then may an identity be fetched.)
  std::erase_if(incoming, [&](const GroupChange& c) {
    if (HeldOrNeverTaken(log, c)) return true;  // nothing to check
    auto identity = GroupAuthorIdentityLocked(c.stamp.author, c.stamp.device);
    if (!identity) return true;
    if (VerifyGroupChange(id, c, *identity)) return false;
    std::erase(arrived, c);
    return true;
  });
  // A group we did not know starts with its creation (or a snapshot).
  if (!existing && (incoming.empty() || !IsGroupSnapshot(incoming.front()))) {
    keep_untaken({});
    return false;
  }

  const std::vector<GroupChange> accepted = incoming;
  std::vector<GroupChange> added;
  for (GroupChange& c : incoming) {
    if (MergeGroupChange(log, c)) added.push_back(std::move(c));
  }
  if (!existing && (added.empty() || !Contains(ReplayGroup(log)->members, me))) {
    log.clear();  // a state we are not part of (yet)
    keep_untaken({});
    return false;
  }
  keep_untaken(accepted);
  if (added.empty()) return false;  // nothing new
  for (const GroupChange& c : added) {
    if (!SaveGroupChangeLocked(id, c)) return std::nullopt;
  }
  const GroupState after = *ReplayGroup(log);

  Group next;
  next.id = id;
  SetGroupState(next, after);
  next.active = Contains(after.members, me);
  if (existing) {
    const Group& current = *existing;
    next.request = current.request;
    next.key_distributed = current.key_distributed && current.active;
    bool rotate = false;
    for (const AccountId& m : current.members) rotate |= !Contains(after.members, m);
    for (const AccountId& a : current.admins) rotate |= !Contains(after.admins, a);
    for (const AccountId& m : after.members) {
      if (!Contains(current.members, m)) next.key_distributed = false;
    }
    if (rotate) {
      // Whoever left must not read what we send from now on.
      if (!store_->DeleteSenderKey(SenderKeyNameFor(next.id, me, account_->device))) return std::nullopt;
      next.key_distributed = false;
    }
  } else {
    next.request = !from_self && (!contact || contact->state != ContactState::kAccepted);
  }
  if (!store_->SaveGroup(next)) return std::nullopt;
  if (next.request && !store_->SetConversationRequest(GroupConversation(next.id), true)) return std::nullopt;
  events.push_back(GroupChanged{next, sender});

  // An admin device passes each new change on to the members who joined in
  // a version not older than it (their log came from an admin who may not
  // have had it): a leave or a change concurrent with an add reaches the
  // new member too. A member another admin adds (back) gets our whole log:
  // one who left takes relayed changes only from an admin of when it left.
  if (from_self || !next.active || !Contains(after.admins, me)) return true;
  std::vector<std::pair<AccountId, std::vector<GroupChange>>> forward;
  std::vector<AccountId> joined;
  for (const AccountId& m : after.members) {
    if (m != me && m != sender && existing && !Contains(existing->members, m)) joined.push_back(m);
  }
  for (const AccountId& m : joined) forward.push_back({m, log});
  for (const GroupChange& c : added) {
    if (c.stamp.author == me) continue;
    auto made_from = ReplayGroupBefore(log, c.stamp.version);
    for (const AccountId& m : after.members) {
      if (m == me || m == sender || m == c.stamp.author || Contains(made_from->members, m) ||
          Contains(joined, m)) {
        continue;
      }
      auto it = std::find_if(forward.begin(), forward.end(), [&](const auto& f) { return f.first == m; });
      if (it == forward.end()) it = forward.insert(forward.end(), {m, {}});
      it->second.push_back(c);
    }
  }
  for (auto& [member, changes] : forward) {
    after_commit.push_back(
        [this, id, member, changes] { (void)SendGroupChangesLocked(id, changes, {member}, false); });
  }
  return true;
}

bool Client::Impl::HandleGroupEnvelopeLocked(const wire::Envelope& envelope, std::vector<Event>& events,
                                             std::vector<std::function<void()>>& after_commit) {
  const Bytes cmid(envelope.client_message_id);
  auto drop = [&](ClientErrc reason) {
    events.push_back(DecryptionFailed{envelope.sender, envelope.sender_device, reason});
    return static_cast<bool>(store_->MarkProcessed(envelope.sender, envelope.sender_device, cmid));
  };
  auto decoded = DecodeGroupEnvelope(envelope.content);
  if (!decoded) return drop(ClientErrc::kProtocol);
  auto group = store_->FindGroup(decoded->group);
  if (!group) return false;
  // Only members' messages to a group we are in are read.
  if (!*group || !(*group)->active || !Contains((*group)->members, envelope.sender)) {
    return drop(ClientErrc::kForbidden);
  }
  if (!store_->Begin()) return false;
  std::vector<std::function<void()>> actions;
  protocol::GroupCipher cipher(
      *store_, SenderKeyNameFor(decoded->group, envelope.sender, envelope.sender_device), rng_);
  auto plaintext = cipher.Decrypt(decoded->message);
  if (!plaintext) {
    store_->Rollback();
    if (plaintext.error().code == ProtocolErrc::kStorageFailed) return false;
    return drop(ClientErrc::kProtocol);
  }
  auto content = DecodeContent(plaintext->bytes());
  if (!content || !content->group || content->group->id != decoded->group) {
    events.push_back(DecryptionFailed{envelope.sender, envelope.sender_device, ClientErrc::kProtocol});
  } else if (!ApplyGroupMessageLocked(envelope, **group, *content, events, actions)) {
    store_->Rollback();
    return false;
  }
  if (!store_->MarkProcessed(envelope.sender, envelope.sender_device, cmid) || !store_->Commit()) {
    store_->Rollback();
    events.clear();
    return false;
  }
  for (auto& action : actions) after_commit.push_back(std::move(action));
  return true;
}

bool Client::Impl::ApplyGroupMessageLocked(const wire::Envelope& envelope, const store::Group& group,
                                           const Content& content, std::vector<Event>& events,
                                           std::vector<std::function<void()>>& after_commit) {
  const ConversationId conversation = GroupConversation(group.id);
  const bool from_self = envelope.sender == account_->account;
  return std::visit(
      [&](const auto& body) -> bool {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, DataBody>) {
          StoredMessage m = MessageFromData(envelope, content, body, conversation, from_self);
          m.request = group.request && !from_self;
          auto inserted = store_->InsertMessage(m);
          if (!inserted) return false;
          if (!*inserted) return true;
          // Kept, never fetched here: DownloadAttachment refuses a request group's (S2).
          if (body.attachment && !SaveReceivedAttachmentLocked(m.id, *body.attachment)) return false;
          events.push_back(MessageReceived{m});
          // The delivery receipt goes to the sender alone, over the 1:1 session.
          if (!from_self && !group.request) {
            QueueDeliveryReceipt(after_commit, envelope.sender, content.message_id, group.id);
          }
          return true;
        } else if constexpr (std::is_same_v<T, ReactionBody>) {
          return ApplyReactionLocked(envelope.sender, body, conversation, events);
        } else if constexpr (std::is_same_v<T, EditBody>) {
          return ApplyAuthorChangeLocked(envelope.sender, body.target, &body.text, conversation, events);
        } else if constexpr (std::is_same_v<T, DeleteBody>) {
          return ApplyAuthorChangeLocked(envelope.sender, body.target, nullptr, conversation, events);
        } else if constexpr (std::is_same_v<T, TypingBody>) {
          // S2: a request group's typing is not shown.
          if (!from_self && !group.request)
            events.push_back(TypingChanged{conversation, envelope.sender, body.started});
          return true;
        } else if constexpr (std::is_same_v<T, TimerBody>) {
          return static_cast<bool>(store_->SetDisappearingSeconds(conversation, body.seconds));
        } else {
          return true;
        }
      },
      content.body);
}

}  // namespace parley::client
