// Client::Impl: contacts, requests, verification and history.
#include "client/client_impl.h"
#include "client/message_id.h"

namespace parley::client {

namespace {

// Settings counters: a contact changed while its sync could not be sent
// (one per account), and the creation time of each of our devices the
// primary has sent its groups and contacts to (an id reused after an unlink
// is a new device).
constexpr std::string_view kContactSyncPending = "contact_sync_pending.";
constexpr std::string_view kOwnDeviceSynced = "own_device_synced.";
// On a linked device: the id of the device whose contacts snapshot it took
// since it last asked for one (0: none yet, so it asks on every connect).
constexpr std::string_view kSyncAnsweredBy = "sync_answered_by";
// On a linked device waiting for a snapshot: when it first asked (this
// device's clock, ms; 0: not asked since the last answer).
constexpr std::string_view kSyncAskedAt = "sync_asked_at";
// The server time (ms) of the newest snapshot any of our devices sent, as
// far as this device has seen: a sync request queued before it is answered.
constexpr std::string_view kNewestSnapshot = "sync_newest_snapshot";

}  // namespace

ClientResult<std::vector<Contact>> Client::Impl::Contacts(std::optional<ContactState> state) {
  std::unique_lock lock(mutex_);
  CLIENT_ASSIGN_STORE(list, store_->ListContacts(state));
  return list;
}

ClientResult<Contact> Client::Impl::AddContact(const std::string& username) {
  std::vector<Event> events;
  auto result = [&]() -> ClientResult<Contact> {
    std::unique_lock lock(mutex_);
    if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
    auto contact = ResolvePeerLocked(username, true);
    events.swap(pending_events_);
    if (!contact) return tl::unexpected(contact.error());
    if (contact->state == ContactState::kRequest) {
      CLIENT_TRY_STORE(store_->SetConversationRequest(AccountName(contact->account), false));
      contact->state = ContactState::kAccepted;
    }
    CLIENT_TRY_STORE(store_->SaveContact(*contact));
    SyncContactLocked(*contact);
    return *contact;
  }();
  Emit(events);
  return result;
}

ClientStatus Client::Impl::SetState(const std::string& peer, ContactState state) {
  std::unique_lock lock(mutex_);
  if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
  auto contact = ResolvePeerLocked(peer, false);
  if (!contact) return tl::unexpected(contact.error());
  contact->state = state;
  CLIENT_TRY_STORE(store_->SaveContact(*contact));
  if (state == ContactState::kAccepted) {
    CLIENT_TRY_STORE(store_->SetConversationRequest(AccountName(contact->account), false));
  }
  SyncContactLocked(*contact);
  return {};
}

ClientResult<SafetyNumber> Client::Impl::GetSafetyNumber(const std::string& peer) {
  std::unique_lock lock(mutex_);
  if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
  auto contact = ResolvePeerLocked(peer, false);
  if (!contact) return tl::unexpected(contact.error());
  return SafetyNumberLocked(*contact);
}

ClientResult<SafetyNumber> Client::Impl::SafetyNumberLocked(const store::Contact& contact) {
  CLIENT_ASSIGN_STORE(identities, store_->Identities(contact.account));
  if (identities.empty()) return Fail(ClientErrc::kNotFound, "no identity key known for the contact yet");
  const crypto::PublicKey& theirs = identities.front().key;
  std::optional<crypto::PublicKey> ours;
  if (account_->device.value() == wire::kPrimaryDeviceId) {
    ours = store_->GetIdentityKeyPair().public_key;
  } else {
    ours = store_->GetIdentity({AccountName(account_->account), DeviceId(wire::kPrimaryDeviceId)});
    if (!ours) return Fail(ClientErrc::kNotFound, "the primary device's identity is not known here yet");
  }
  protocol::FingerprintGenerator generator;
  auto fingerprint =
      generator.Create(AccountName(account_->account), *ours, AccountName(contact.account), theirs);
  if (!fingerprint) return ProtocolFailed(fingerprint.error());
  return SafetyNumber{fingerprint->displayable, fingerprint->scannable.Serialize(), contact.verified};
}

ClientStatus Client::Impl::MarkVerified(const std::string& peer,
                                        const std::optional<std::vector<std::uint8_t>>& scanned) {
  std::unique_lock lock(mutex_);
  if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
  auto contact = ResolvePeerLocked(peer, false);
  if (!contact) return tl::unexpected(contact.error());
  if (scanned) {
    auto number = SafetyNumberLocked(*contact);
    if (!number) return tl::unexpected(number.error());
    auto ours = protocol::ScannableFingerprint::Deserialize(number->scannable);
    auto theirs = protocol::ScannableFingerprint::Deserialize(*scanned);
    if (!ours || !theirs || ours->Compare(*theirs) != protocol::FingerprintMatch::kMatch) {
      return Fail(ClientErrc::kUntrustedIdentity, "the scanned safety number does not match");
    }
  }
  CLIENT_TRY_STORE(store_->MarkIdentitiesVerified(contact->account));
  contact->verified = true;
  contact->identity_changed = false;
  CLIENT_TRY_STORE(store_->SaveContact(*contact));
  SyncContactLocked(*contact);
  return {};
}

// ---- contacts on our own devices ----

void Client::Impl::SyncContactLocked(const store::Contact& contact) {
  const std::string pending = std::string(kContactSyncPending) + AccountName(contact.account);
  if (connection_ && SendContactsLocked({contact}, false)) {
    (void)store_->DeleteCounter(pending);
    return;
  }
  (void)store_->SetCounter(pending, 1);
}

ClientStatus Client::Impl::SendContactsLocked(const std::vector<store::Contact>& contacts, bool snapshot) {
  if (other_devices_.empty()) return {};
  for (std::size_t at = 0; at < contacts.size(); at += kMaxSyncedContacts) {
    ContactSyncBody body;
    body.snapshot = snapshot;
    for (std::size_t i = at; i < std::min(contacts.size(), at + kMaxSyncedContacts); ++i) {
      const store::Contact& c = contacts[i];
      if (c.account == account_->account) continue;
      SyncedContact synced;
      synced.account = c.account;
      synced.username = c.username;
      synced.state = c.state;
      synced.verified = c.verified;
      if (c.verified) {
        CLIENT_ASSIGN_STORE(identities, store_->Identities(c.account));
        for (const store::KnownIdentity& identity : identities) {
          if (identity.verified && synced.identities.size() < kMaxSyncedIdentities) {
            synced.identities.push_back({identity.device, identity.key.Serialize()});
          }
        }
      }
      body.contacts.push_back(std::move(synced));
    }
    if (body.contacts.empty()) continue;
    Content content;
    content.message_id = TimeOrderedId(clock_.NowMillis(), rng_);
    content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
    content.body = std::move(body);
    auto encoded = EncodeContent(content);
    if (!encoded) return Fail(ClientErrc::kInvalidArgument, "a contact breaks a rule of the content format");
    CLIENT_TRY(SendToOwnDevicesLocked(encoded->bytes()));
  }
  return {};
}

void Client::Impl::SyncOwnDevicesLocked(const std::vector<wire::DeviceInfo>& devices, OwnDeviceSync why) {
  // Changes that could not be sent when they were made.
  auto pending = store_->CountersWithPrefix(kContactSyncPending);
  if (!pending) return;
  std::vector<store::Contact> changed;
  for (const auto& [name, value] : *pending) {
    auto uuid = Uuid::Parse(std::string_view(name).substr(kContactSyncPending.size()));
    if (!uuid) continue;
    auto contact = store_->FindContact(AccountId(*uuid));
    if (!contact) return;
    if (*contact) changed.push_back(**contact);
  }
  if (!changed.empty() && !SendContactsLocked(changed, false)) return;
  for (const auto& [name, value] : *pending) (void)store_->DeleteCounter(name);

  if (account_->device.value() != wire::kPrimaryDeviceId) {
    auto answered_by = store_->GetCounter(kSyncAnsweredBy);
    if (!answered_by) return;
    // Only a device that took the account's state answers: one still
    // waiting for it has nothing whole to give. Answering never asks in
    // turn, so two waiting devices do not keep asking each other.
    const bool holds = answered_by->value_or(0) != 0;
    if (why == OwnDeviceSync::kAsked) {
      if (holds && SendAccountSnapshotLocked()) (void)NoteSnapshotLocked(last_send_server_ms_);
    } else if ((why == OwnDeviceSync::kLinked || why == OwnDeviceSync::kDrained) && !holds) {
      AskForSyncLocked();
    }
    return;
  }
  // The primary: each device it has not sent them to, or every one when
  // asked. A device linked before the newest snapshot (from any of our
  // devices) took that one: it has them.
  if (why == OwnDeviceSync::kLinked || why == OwnDeviceSync::kConnected) return;
  auto newest = NewestSnapshotLocked();
  if (!newest) return;
  std::vector<std::pair<std::string, std::int64_t>> first_seen;
  bool needed = why == OwnDeviceSync::kAsked;
  for (const wire::DeviceInfo& d : devices) {
    if (d.id == account_->device) continue;
    const std::string name = std::string(kOwnDeviceSynced) + std::to_string(d.id.value());
    const auto created = static_cast<std::int64_t>(d.created_at_ms);
    auto synced = store_->GetCounter(name);
    if (!synced) return;
    if (*synced == created) continue;
    first_seen.emplace_back(name, created);
    if (d.created_at_ms >= *newest) needed = true;
  }
  if (needed) {
    if (!SendAccountSnapshotLocked()) return;
    (void)NoteSnapshotLocked(last_send_server_ms_);
  }
  for (const auto& [name, created] : first_seen) (void)store_->SetCounter(name, created);
}

ClientStatus Client::Impl::SendAccountSnapshotLocked() {
  CLIENT_ASSIGN_STORE(groups, store_->ListGroups());
  for (const store::Group& group : groups) {
    if (group.active) CLIENT_TRY(SendGroupStateLocked(group, {}));
  }
  CLIENT_ASSIGN_STORE(contacts, store_->ListContacts());
  return SendContactsLocked(contacts, true);
}

ClientResult<std::uint64_t> Client::Impl::NewestSnapshotLocked() {
  CLIENT_ASSIGN_STORE(newest, store_->GetCounter(kNewestSnapshot));
  return static_cast<std::uint64_t>(std::max<std::int64_t>(newest.value_or(0), 0));
}

bool Client::Impl::NoteSnapshotLocked(std::uint64_t server_ms) {
  auto newest = NewestSnapshotLocked();
  if (!newest) return false;
  if (server_ms <= *newest) return true;
  return static_cast<bool>(store_->SetCounter(kNewestSnapshot, static_cast<std::int64_t>(server_ms)));
}

ClientStatus Client::Impl::RequestSyncLocked(bool any_device) {
  if (other_devices_.empty()) return {};
  Content content;
  content.message_id = TimeOrderedId(clock_.NowMillis(), rng_);
  content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
  content.body = SyncRequestBody{SyncRequestKind::kContactsAndGroups, any_device};
  auto encoded = EncodeContent(content);
  if (!encoded)
    return Fail(ClientErrc::kInvalidArgument, "the sync request breaks a rule of the content format");
  CLIENT_TRY(SendToOwnDevicesLocked(encoded->bytes()));
  sync_asked_ = true;
  if (any_device) sync_repeated_ = true;
  return {};
}

void Client::Impl::AskForSyncLocked() {
  if (other_devices_.empty()) return;
  auto asked_at = store_->GetCounter(kSyncAskedAt);
  if (!asked_at) return;
  const std::int64_t now = clock_.NowMillis();
  std::int64_t first = asked_at->value_or(0);
  if (first == 0) {
    first = now;
    if (!store_->SetCounter(kSyncAskedAt, first)) return;
  }
  const std::int64_t due = first + kSyncRepeatAfterMs;
  // Once per connection (RequestSync asks on its own); the receive thread asks again when due.
  if (!sync_asked_) (void)RequestSyncLocked(now >= due);
  if (now < due) WakeWorkerAt(std::chrono::steady_clock::now() + std::chrono::milliseconds(due - now));
}

void Client::Impl::RepeatSyncRequestLocked() {
  if (account_->device.value() == wire::kPrimaryDeviceId || sync_repeated_ || !connection_ ||
      !connection_->ready()) {
    return;  // not connected: asked again once the queue is drained on the next connect
  }
  auto answered_by = store_->GetCounter(kSyncAnsweredBy);
  auto asked_at = store_->GetCounter(kSyncAskedAt);
  if (!answered_by || !asked_at || answered_by->value_or(0) != 0 || asked_at->value_or(0) == 0) return;
  const std::int64_t due = **asked_at + kSyncRepeatAfterMs;
  const std::int64_t now = clock_.NowMillis();
  if (now < due) {
    WakeWorkerAt(std::chrono::steady_clock::now() + std::chrono::milliseconds(due - now));
    return;
  }
  (void)RequestSyncLocked(true);
}

ClientStatus Client::Impl::RequestSync() {
  std::unique_lock lock(mutex_);
  if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
  if (account_->device.value() == wire::kPrimaryDeviceId)
    return Fail(ClientErrc::kForbidden, "the primary device holds the account's contacts and groups");
  // Whichever device answers this request first is taken, even the one taken before.
  CLIENT_TRY_STORE(store_->SetCounter(kSyncAnsweredBy, 0));
  CLIENT_TRY_STORE(store_->SetCounter(kSyncAskedAt, 0));
  CLIENT_TRY(EnsureConnectedLocked());
  if (!ListOwnDevicesLocked()) return Fail(ClientErrc::kNetwork, "cannot list this account's devices");
  if (other_devices_.empty()) return Fail(ClientErrc::kNotFound, "this account has no other device to ask");
  CLIENT_TRY_STORE(store_->SetCounter(kSyncAskedAt, clock_.NowMillis()));
  sync_repeated_ = false;
  CLIENT_TRY(RequestSyncLocked(false));
  WakeWorkerAt(std::chrono::steady_clock::now() + std::chrono::milliseconds(kSyncRepeatAfterMs));
  return {};
}

void Client::Impl::AnswerSyncRequestLocked() {
  if (!connection_ || !sync_request_ms_) return;
  // The primary answers every request; a linked device only one marked for
  // any device (the primary did not answer it in time).
  const bool primary = account_->device.value() == wire::kPrimaryDeviceId;
  const std::optional<std::uint64_t> newest = primary ? sync_request_ms_ : any_device_sync_request_ms_;
  if (!newest) return;
  // A snapshot that went out after the request (ours, or another device's
  // that this run or an earlier one held) answered it already.
  auto snapshot = NewestSnapshotLocked();
  if (!snapshot || *snapshot > *newest) return;
  if (auto devices = ListOwnDevicesLocked()) SyncOwnDevicesLocked(*devices, OwnDeviceSync::kAsked);
}

bool Client::Impl::ApplyContactSyncLocked(const ContactSyncBody& body, DeviceId from, std::uint64_t server_ms,
                                          std::vector<Event>& events) {
  if (body.snapshot) {
    // Whoever sent it, it answers the requests queued before it.
    if (!NoteSnapshotLocked(server_ms)) return false;
    if (account_->device.value() == wire::kPrimaryDeviceId) return true;
    auto answered_by = store_->GetCounter(kSyncAnsweredBy);
    if (!answered_by) return false;
    const std::int64_t taken = answered_by->value_or(0);
    // The first device to answer wins; the others' snapshots are dropped.
    if (taken != 0 && taken != static_cast<std::int64_t>(from.value())) return true;
    if (taken == 0 &&
        (!store_->SetCounter(kSyncAnsweredBy, from.value()) || !store_->SetCounter(kSyncAskedAt, 0))) {
      return false;
    }
    events.push_back(OwnDeviceSynced{from});
  }
  for (const SyncedContact& synced : body.contacts) {
    if (synced.account == account_->account) continue;
    auto found = store_->FindContact(synced.account);
    if (!found) return false;
    store::Contact contact = found->value_or(store::Contact{});
    contact.account = synced.account;
    if (contact.username.empty() && wire::IsValidUsername(synced.username))
      contact.username = synced.username;
    // A snapshot fills in; it does not undo a decision taken on this device.
    if (!body.snapshot || !*found || (*found)->state == ContactState::kRequest) {
      contact.state = synced.state;
      if (!synced.username.empty() && wire::IsValidUsername(synced.username))
        contact.username = synced.username;
    }
    if (synced.verified) {
      // Verified here only for the same identity keys; anything else stops
      // sending to the contact until it is verified on this device.
      const std::string name = AccountName(synced.account);
      bool same_keys = true;
      for (const SyncedIdentity& identity : synced.identities) {
        auto key = crypto::PublicKey::Deserialize(identity.key);
        if (!key) {
          same_keys = false;
          continue;
        }
        const ProtocolAddress address{name, identity.device};
        auto known = store_->GetIdentity(address);
        if (!known) {
          if (!store_->SaveIdentity(address, *key)) return false;
        } else if (known->Serialize() != identity.key) {
          same_keys = false;
        }
      }
      auto identities = store_->Identities(synced.account);
      if (!identities) return false;
      for (const store::KnownIdentity& known : *identities) {
        const bool listed = std::any_of(synced.identities.begin(), synced.identities.end(),
                                        [&](const SyncedIdentity& i) { return i.device == known.device; });
        if (!listed) same_keys = false;
      }
      if (same_keys) {
        if (!store_->MarkIdentitiesVerified(synced.account)) return false;
        contact.identity_changed = false;
      } else if (!contact.identity_changed) {
        contact.identity_changed = true;
        events.push_back(IdentityChanged{synced.account, contact.username, true});
      }
      contact.verified = true;
    }
    if (!store_->SaveContact(contact)) return false;
    if (contact.state == ContactState::kAccepted &&
        !store_->SetConversationRequest(AccountName(contact.account), false)) {
      return false;
    }
  }
  return true;
}

ClientResult<std::vector<Conversation>> Client::Impl::Conversations() {
  std::unique_lock lock(mutex_);
  CLIENT_ASSIGN_STORE(list, store_->Conversations());
  return list;
}

ClientResult<std::vector<StoredMessage>> Client::Impl::History(const ConversationId& conversation,
                                                               std::size_t limit) {
  std::unique_lock lock(mutex_);
  CLIENT_ASSIGN_STORE(list, store_->History(conversation, limit));
  return list;
}

ClientResult<StoredMessage> Client::Impl::GetMessage(const MessageId& id) {
  std::unique_lock lock(mutex_);
  CLIENT_ASSIGN_STORE(found, store_->FindMessage(id));
  if (!found) return Fail(ClientErrc::kNotFound, "no such message");
  return *found;
}

}  // namespace parley::client
