// Client::Impl: groups (docs/client.md, "Groups").
//
// State changes (create, add, remove, rename, admins, leave) go as a
// GroupUpdateBody with the whole state in the group context, over 1:1
// sessions to every device of every member concerned and to our other
// devices. Messages go once per device as the same SenderKeyMessage,
// prefixed with the group id (EncodeGroupEnvelope).
#include "client/client_impl.h"
#include "client/message_id.h"
#include "protocol/sender_key_distribution_message.h"

namespace parley::client {

namespace {

bool Contains(const std::vector<AccountId>& list, const AccountId& account) {
  return std::find(list.begin(), list.end(), account) != list.end();
}

// The state after `who` leaves: when no admin remains, the remaining member
// with the smallest account id becomes one, the same on every device.
store::Group AfterLeaving(store::Group group, const AccountId& who) {
  std::erase(group.members, who);
  std::erase(group.admins, who);
  if (group.admins.empty() && !group.members.empty()) {
    group.admins.push_back(*std::min_element(
        group.members.begin(), group.members.end(),
        [](const AccountId& a, const AccountId& b) { return a.value().ToString() < b.value().ToString(); }));
  }
  return group;
}

bool SameState(const store::Group& a, const store::Group& b) {
  return a.name == b.name && a.members == b.members && a.admins == b.admins;
}

// The state `next` as the change `author` makes to `from`: the next version.
store::Group NextVersion(store::Group next, const store::Group& from, const AccountId& author) {
  next.version = from.version + 1;
  next.version_author = author;
  next.base_admins = from.admins;
  next.left.clear();
  return next;
}

// A state made by a member leaving (its author is no longer in it).
bool IsLeave(const store::Group& group) {
  return group.version_author && !Contains(group.members, *group.version_author);
}

// Members keep the state with the highest (version, author); the author
// breaks a tie between concurrent changes the same way on every device. A
// leave never wins a tie and always loses one: it is merged instead.
bool Supersedes(std::uint64_t version, const AccountId& author, bool leaving, const store::Group& current) {
  if (version != current.version) return version > current.version;
  if (leaving) return false;
  if (IsLeave(current)) return true;
  return !current.version_author || *current.version_author < author;
}

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

ClientStatus Client::Impl::SendGroupStateLocked(const Group& group,
                                                const std::vector<AccountId>& recipients) {
  Content content;
  content.message_id = TimeOrderedId(clock_.NowMillis(), rng_);
  content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
  if (!account_->username.empty()) content.sender_username = account_->username;
  content.group =
      GroupContext{group.id, group.name, group.members, group.admins, group.version, group.version_author};
  content.body = GroupUpdateBody{};
  auto encoded = EncodeContent(content);
  if (!encoded) return Fail(ClientErrc::kTooLarge, "the group breaks a rule of the content format");
  Group addressed = group;
  addressed.members.clear();
  return SendPairwiseToGroupLocked(addressed, encoded->bytes(), recipients);
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
    group.name = name;
    group.members.push_back(account_->account);
    group.members.insert(group.members.end(), resolved->begin(), resolved->end());
    group.admins.push_back(account_->account);
    group.version = 1;
    group.version_author = account_->account;
    group.base_admins = group.admins;
    CLIENT_TRY_STORE(store_->SaveGroup(group));
    CLIENT_TRY(SendGroupStateLocked(group, group.members));
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
      return Fail(ClientErrc::kForbidden, "only a group admin changes its members");
    }
    std::vector<AccountId> accounts;
    if (edit == GroupEdit::kAddMembers) {
      auto resolved = ResolveMembersLocked(members);
      if (!resolved) return tl::unexpected(resolved.error());
      accounts = std::move(*resolved);
    } else {
      for (const std::string& name : members) {
        auto contact = ResolvePeerLocked(name, false);
        if (!contact) return tl::unexpected(contact.error());
        if (!Contains(group->members, contact->account)) {
          return Fail(ClientErrc::kNotFound, "not a member of the group");
        }
        if (contact->account == account_->account && edit == GroupEdit::kRemoveMembers) {
          return Fail(ClientErrc::kInvalidArgument, "leave the group instead of removing yourself");
        }
        accounts.push_back(contact->account);
      }
    }
    const Group before = *group;
    std::vector<AccountId> recipients = group->members;
    switch (edit) {
      case GroupEdit::kAddMembers:
        for (const AccountId& a : accounts) {
          if (!Contains(group->members, a)) group->members.push_back(a);
        }
        if (group->members.size() > kMaxGroupMembers)
          return Fail(ClientErrc::kTooLarge, "at most 1,024 members");
        recipients = group->members;
        // The new members need our sender key.
        group->key_distributed = false;
        break;
      case GroupEdit::kRemoveMembers:
        for (const AccountId& a : accounts) {
          std::erase(group->members, a);
          std::erase(group->admins, a);
        }
        break;
      case GroupEdit::kAddAdmins:
        for (const AccountId& a : accounts) {
          if (!Contains(group->admins, a)) group->admins.push_back(a);
        }
        break;
    }
    *group = NextVersion(std::move(*group), before, account_->account);
    // The removed members learn they were removed; they get no new key.
    CLIENT_TRY(SendGroupStateLocked(*group, recipients));
    if (edit == GroupEdit::kRemoveMembers) {
      CLIENT_TRY_STORE(
          store_->DeleteSenderKey(SenderKeyNameFor(group->id, account_->account, account_->device)));
      group->key_distributed = false;
    }
    CLIENT_TRY_STORE(store_->SaveGroup(*group));
    events.push_back(GroupChanged{*group, account_->account});
    return *group;
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
    Group renamed = *group;
    renamed.name = name;
    *group = NextVersion(std::move(renamed), *group, account_->account);
    CLIENT_TRY(SendGroupStateLocked(*group, group->members));
    CLIENT_TRY_STORE(store_->SaveGroup(*group));
    events.push_back(GroupChanged{*group, account_->account});
    return *group;
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
    Group after = NextVersion(AfterLeaving(*group, account_->account), *group, account_->account);
    CLIENT_TRY(SendGroupStateLocked(after, after.members));
    after.active = false;
    after.key_distributed = false;
    CLIENT_TRY_STORE(
        store_->DeleteSenderKey(SenderKeyNameFor(group->id, account_->account, account_->device)));
    CLIENT_TRY_STORE(store_->SaveGroup(after));
    events.push_back(GroupChanged{after, account_->account});
    return {};
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

ClientStatus Client::Impl::SendGroupReadReceiptsLocked(const GroupId& id, const std::vector<MessageId>& ids) {
  CLIENT_ASSIGN_STORE(group, store_->FindGroup(id));
  // S2: no read receipt for a group that is still a request.
  if (!group || group->request || !group->active) return {};
  CLIENT_TRY(EnsureConnectedLocked());
  std::vector<std::pair<AccountId, std::vector<MessageId>>> by_sender;
  for (const MessageId& m : ids) {
    CLIENT_ASSIGN_STORE(found, store_->FindMessage(m));
    if (!found || found->sender == account_->account || !Contains(group->members, found->sender)) continue;
    auto it = std::find_if(by_sender.begin(), by_sender.end(),
                           [&](const auto& e) { return e.first == found->sender; });
    if (it == by_sender.end()) it = by_sender.insert(by_sender.end(), {found->sender, {}});
    it->second.push_back(m);
  }
  for (const auto& [sender, list] : by_sender) CLIENT_TRY(SendReadReceiptsLocked(sender, id, list));
  return {};
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
                                           std::vector<Event>& events) {
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
  if (!std::holds_alternative<GroupUpdateBody>(content.body) || !context.name) return true;

  Group next;
  next.id = context.id;
  next.name = *context.name;
  next.members = context.members;
  next.admins = context.admins;
  // A state has at least one admin, all admins are members, nobody twice.
  if (next.name.empty() || next.admins.empty() || next.members.size() > kMaxGroupMembers) return true;
  for (const AccountId& a : next.admins) {
    if (!Contains(next.members, a)) return true;
  }
  for (std::size_t i = 0; i < next.members.size(); ++i) {
    if (std::find(next.members.begin() + static_cast<std::ptrdiff_t>(i) + 1, next.members.end(),
                  next.members[i]) != next.members.end()) {
      return true;
    }
  }

  // Our own devices state who made the change they pass on; anyone else made it.
  const AccountId author = from_self && context.author ? *context.author : envelope.sender;
  next.version = context.version;
  next.version_author = author;
  if (*existing) {
    const Group& current = **existing;
    const bool leaving = !Contains(next.members, author);
    if (current.active && leaving && Contains(current.members, author) &&
        !(next.version > current.version && SameState(AfterLeaving(current, author), next))) {
      // A leave made from a state other than ours (it raced another change):
      // merged into the state we hold, which keeps its version, so every
      // device ends the same whichever came first.
      Group merged = AfterLeaving(current, author);
      next.name = merged.name;
      next.members = std::move(merged.members);
      next.admins = std::move(merged.admins);
      next.version = current.version;
      next.version_author = current.version_author;
      next.base_admins = current.base_admins;
      next.left = current.left;
      if (!Contains(next.left, author)) next.left.push_back(author);
    } else {
      if (!Supersedes(next.version, author, leaving, current)) return true;  // stale, or already here
      bool allowed;
      if (!current.active) {
        // Only a newer state re-adds us, made by one who was an admin when we
        // left (a member who names itself admin, or one who joined after,
        // cannot claim the group).
        allowed = next.version > current.version && Contains(next.members, account_->account) &&
                  (from_self || (Contains(next.admins, author) && Contains(current.admins, author)));
      } else if (next.version > current.version) {
        allowed = from_self || Contains(current.admins, author) ||
                  (Contains(current.members, author) && SameState(AfterLeaving(current, author), next));
      } else {
        // A concurrent change made from the same base state wins the tie: it
        // is judged by that base's admins.
        allowed = from_self || Contains(current.base_admins, author);
      }
      if (!allowed) return true;
      next.base_admins = next.version > current.version ? current.admins : current.base_admins;
      if (next.version > current.version) {
        next.left.clear();
        if (leaving) next.left.push_back(author);
      } else if (current.active) {
        // It takes the place of a state of the same version: every leave
        // made in that version stays.
        next.left = current.left;
        if (IsLeave(current) && !Contains(next.left, *current.version_author)) {
          next.left.push_back(*current.version_author);
        }
        for (const AccountId& leaver : next.left) {
          if (!Contains(next.members, leaver)) continue;
          Group merged = AfterLeaving(next, leaver);
          next.members = std::move(merged.members);
          next.admins = std::move(merged.admins);
        }
      }
    }
    next.request = current.request;
    next.key_distributed = current.key_distributed;
    bool someone_left = false;
    for (const AccountId& m : current.members) {
      if (!Contains(next.members, m)) someone_left = true;
    }
    for (const AccountId& m : next.members) {
      if (!Contains(current.members, m)) next.key_distributed = false;
    }
    if (someone_left) {
      // Whoever left must not read what we send from now on.
      if (!store_->DeleteSenderKey(SenderKeyNameFor(next.id, account_->account, account_->device)))
        return false;
      next.key_distributed = false;
    }
  } else {
    // A group we did not know: it must come from one of its admins.
    if (!from_self && !Contains(next.admins, envelope.sender)) return true;
    next.base_admins = next.admins;
    next.request = !from_self && (!contact || contact->state != ContactState::kAccepted);
  }
  next.active = Contains(next.members, account_->account);
  if (!next.active && !*existing) return true;  // a state we are not part of
  if (!store_->SaveGroup(next)) return false;
  if (next.request && !store_->SetConversationRequest(GroupConversation(next.id), true)) return false;
  events.push_back(GroupChanged{next, envelope.sender});
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
