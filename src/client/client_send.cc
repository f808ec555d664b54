// Client::Impl: sessions, sending content and the actions on messages.
#include "client/client_impl.h"
#include "client/message_id.h"

namespace parley::client {

ClientResult<store::Contact> Client::Impl::ResolvePeerLocked(const std::string& peer, bool create) {
  if (auto uuid = Uuid::Parse(peer)) {
    const AccountId account(*uuid);
    CLIENT_ASSIGN_STORE(found, store_->FindContact(account));
    if (found) return *found;
    if (!create) return Fail(ClientErrc::kNotFound, "no such contact");
    store::Contact c;
    c.account = account;
    c.state = ContactState::kAccepted;
    return c;
  }
  if (!wire::IsValidUsername(peer)) return Fail(ClientErrc::kInvalidArgument, "not a username or account id");
  CLIENT_ASSIGN_STORE(found, store_->FindContactByUsername(peer));
  if (found) return *found;
  if (!create) return Fail(ClientErrc::kNotFound, "no such contact");
  CLIENT_TRY(EnsureConnectedLocked());
  wire::GetBundlesRequest request;
  request.target = peer;
  auto response = CallLocked(std::move(request));
  if (!response) return tl::unexpected(response.error());
  if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
  const auto& bundles = std::get<wire::BundlesResult>(response->body);
  store::Contact c;
  c.account = bundles.account_id;
  c.username = peer;
  c.state = ContactState::kAccepted;
  CLIENT_ASSIGN_STORE(existing, store_->FindContact(c.account));
  if (existing) {
    c = *existing;
    c.username = peer;
  }
  if (c.account != account_->account) {
    std::vector<Event> ignored;
    std::optional<store::Contact> as_optional = c;
    CLIENT_TRY(ProcessBundlesLocked(c.account, bundles.devices, as_optional));
  }
  return c;
}

ClientStatus Client::Impl::ProcessBundlesLocked(const AccountId& account,
                                                const std::vector<wire::DeviceBundle>& bundles,
                                                std::optional<store::Contact>& contact) {
  for (const auto& b : bundles) {
    std::optional<PreKeyId> prekey_id;
    std::optional<Bytes> prekey;
    if (b.prekey) {
      prekey_id = b.prekey->id;
      prekey = Bytes(b.prekey->public_key);
    }
    auto bundle = protocol::PreKeyBundle::FromSerialized(b.registration_id, b.device_id, b.identity_key,
                                                         b.signed_prekey.id, b.signed_prekey.public_key,
                                                         b.signed_prekey.signature, prekey_id, prekey);
    if (!bundle) return ProtocolFailed(bundle.error());
    const ProtocolAddress address{AccountName(account), b.device_id};
    protocol::SessionBuilder builder(Stores(), address);
    auto built = builder.ProcessPreKeyBundle(*bundle, rng_);
    if (!built && built.error().code == ProtocolErrc::kUntrustedIdentity) {
      CLIENT_TRY(TakeChangedIdentityLocked(account, address, bundle->identity_key, contact));
      built = builder.ProcessPreKeyBundle(*bundle, rng_);
    }
    if (!built) return ProtocolFailed(built.error());
  }
  return {};
}

ClientStatus Client::Impl::TakeChangedIdentityLocked(const AccountId& account, const ProtocolAddress& address,
                                                     const crypto::PublicKey& key,
                                                     std::optional<store::Contact>& contact) {
  if (!store_->ReplaceIdentity(address, key)) return Fail(ClientErrc::kStorage, "cannot store an identity");
  if (contact) {
    contact->identity_changed = true;
    CLIENT_TRY_STORE(store_->SaveContact(*contact));
    pending_events_.emplace_back(std::in_place_type<IdentityChanged>,
                                 IdentityChanged{account, contact->username, contact->verified});
    if (contact->verified) {
      return Fail(ClientErrc::kUntrustedIdentity, "the verified contact's identity changed: verify again");
    }
  }
  return {};
}

ClientStatus Client::Impl::FetchIdentityKeysLocked(const AccountId& account, std::optional<DeviceId> device,
                                                   std::optional<store::Contact>& contact) {
  wire::GetIdentityKeysRequest request;
  request.target = account;
  request.device_id = device;
  auto response = CallLocked(std::move(request));
  if (!response) return tl::unexpected(response.error());
  if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
  const auto& result = std::get<wire::IdentityKeysResult>(response->body);
  if (result.account_id != account) return Fail(ClientErrc::kServerError, "identity keys of another account");
  for (const wire::DeviceIdentity& d : result.devices) {
    if (device && d.device_id != *device) continue;
    auto key = crypto::PublicKey::Deserialize(d.identity_key);
    if (!key) return Fail(ClientErrc::kServerError, "a malformed identity key");
    const ProtocolAddress address{AccountName(account), d.device_id};
    // What starting a session from a bundle does with its identity: the
    // first key seen is trusted, a different one is a changed identity.
    if (store_->IsTrustedIdentity(address, *key)) {
      if (!store_->SaveIdentity(address, *key)) return Fail(ClientErrc::kStorage, "cannot store an identity");
    } else {
      CLIENT_TRY(TakeChangedIdentityLocked(account, address, *key, contact));
    }
  }
  return {};
}

ClientStatus Client::Impl::FetchBundlesLocked(const AccountId& account, std::optional<DeviceId> device,
                                              std::optional<store::Contact>& contact) {
  wire::GetBundlesRequest request;
  request.target = account;
  request.device_id = device;
  auto response = CallLocked(std::move(request));
  if (!response) return tl::unexpected(response.error());
  if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
  return ProcessBundlesLocked(account, std::get<wire::BundlesResult>(response->body).devices, contact);
}

ClientStatus Client::Impl::SendToAccountLocked(const AccountId& account, Bytes plaintext, bool sync,
                                               const std::optional<wire::ClientMessageId>& send_id) {
  std::optional<store::Contact> contact;
  if (!sync) {
    CLIENT_ASSIGN_STORE(found, store_->FindContact(account));
    contact = found;
  }
  const wire::ClientMessageId cmid = send_id ? *send_id : TimeOrderedId(clock_.NowMillis(), rng_);
  bool fetched_all = false;
  for (int attempt = 0; attempt < kSendAttempts; ++attempt) {
    CLIENT_ASSIGN_STORE(devices, store_->SessionDevices(account));
    std::erase_if(devices, [&](DeviceId d) { return sync && d == account_->device; });
    if (devices.empty()) {
      if (sync) return {};
      if (fetched_all) return Fail(ClientErrc::kNotFound, "the account has no devices");
      CLIENT_TRY(FetchBundlesLocked(account, std::nullopt, contact));
      fetched_all = true;
      continue;
    }
    wire::SendMessagesRequest request;
    request.recipient = account;
    request.client_message_id = cmid;
    request.sync = sync;
    for (DeviceId device : devices) {
      const ProtocolAddress address{AccountName(account), device};
      protocol::SessionRecord* record = store_->LoadSession(address);
      if (record == nullptr || !record->has_current_state()) {
        (void)store_->DeleteSession(address);
        CLIENT_TRY(FetchBundlesLocked(account, device, contact));
        record = store_->LoadSession(address);
        if (record == nullptr || !record->has_current_state()) {
          return Fail(ClientErrc::kProtocol, "no session with a device");
        }
      }
      const RegistrationId registration = record->current_state()->remote_registration_id;
      protocol::SessionCipher cipher(Stores(), address, rng_);
      auto encrypted = cipher.Encrypt(plaintext);
      if (!encrypted) return ProtocolFailed(encrypted.error());
      request.messages.push_back(
          {device, registration, static_cast<std::uint32_t>(encrypted->type), std::move(encrypted->bytes)});
    }
    auto response = CallLocked(request);
    if (!response) {
      if (response.error().code == ClientErrc::kNetwork || response.error().code == ClientErrc::kTimeout) {
        continue;  // the same client_message_id: the server never queues it twice
      }
      return tl::unexpected(response.error());
    }
    if (response->status == ResponseStatus::kOk) {
      if (const auto* result = std::get_if<wire::SendResult>(&response->body))
        last_send_server_ms_ = result->server_timestamp_ms;
      return {};
    }
    if (response->status != ResponseStatus::kMismatchedDevices) return StatusFailed(*response);
    CLIENT_TRY(
        RepairDevicesLocked(account, std::get<wire::MismatchedDevices>(response->body), contact, sync));
  }
  return Fail(ClientErrc::kNetwork, "the message could not be delivered to the server");
}

ClientResult<bool> Client::Impl::RepairDevicesLocked(const AccountId& account,
                                                     const wire::MismatchedDevices& mismatch,
                                                     std::optional<store::Contact>& contact, bool sync) {
  for (DeviceId d : mismatch.extra) (void)store_->DeleteSession({AccountName(account), d});
  for (DeviceId d : mismatch.stale) {
    (void)store_->DeleteSession({AccountName(account), d});
    CLIENT_TRY(FetchBundlesLocked(account, d, contact));
  }
  for (DeviceId d : mismatch.missing) CLIENT_TRY(FetchBundlesLocked(account, d, contact));
  if (sync) {
    for (DeviceId d : mismatch.extra) other_devices_.erase(d);
    for (DeviceId d : mismatch.missing) other_devices_.insert(d);
  }
  return !mismatch.stale.empty() || !mismatch.missing.empty();
}

ClientStatus Client::Impl::SendContentLocked(const AccountId& to, Content content, bool sync_copy,
                                             const std::optional<wire::ClientMessageId>& send_id) {
  if (content.message_id == ContentId{}) content.message_id = TimeOrderedId(clock_.NowMillis(), rng_);
  if (content.sent_at_ms == 0) content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
  if (!account_->username.empty()) content.sender_username = account_->username;
  auto encoded = EncodeContent(content);
  if (!encoded) return Fail(ClientErrc::kTooLarge, "the message breaks a rule of the content format");
  if (to != account_->account) CLIENT_TRY(SendToAccountLocked(to, encoded->bytes(), false, send_id));
  if (sync_copy) CLIENT_TRY(SendSyncLocked(to, std::move(content), send_id));
  return {};
}

ClientStatus Client::Impl::SendSyncLocked(const AccountId& destination, Content content,
                                          const std::optional<wire::ClientMessageId>& send_id) {
  if (other_devices_.empty()) return {};
  content.sync_destination = destination;
  auto contact = store_->FindContact(destination);
  if (contact && *contact && !(*contact)->username.empty())
    content.destination_username = (*contact)->username;
  auto encoded = EncodeContent(content);
  if (!encoded) return Fail(ClientErrc::kTooLarge, "the message breaks a rule of the content format");
  // Sessions with our own devices start from their bundles on first use.
  CLIENT_ASSIGN_STORE(devices, store_->SessionDevices(account_->account));
  std::optional<store::Contact> none;
  for (DeviceId d : other_devices_) {
    if (std::find(devices.begin(), devices.end(), d) == devices.end()) {
      CLIENT_TRY(FetchBundlesLocked(account_->account, d, none));
    }
  }
  return SendToAccountLocked(account_->account, encoded->bytes(), true, send_id);
}

ClientResult<std::pair<store::Contact, std::uint32_t>> Client::Impl::AcceptPeerForSendingLocked(
    const std::string& peer) {
  CLIENT_ASSIGN(contact, ResolvePeerLocked(peer, true));
  if (contact.account == account_->account) {
    return Fail(ClientErrc::kInvalidArgument, "send to another account (a note to self is not supported)");
  }
  CLIENT_TRY(CheckSendableLocked(contact));
  const ConversationId conversation = AccountName(contact.account);
  if (contact.state == ContactState::kRequest) {
    // Writing back accepts the request.
    CLIENT_TRY_STORE(store_->SetConversationRequest(conversation, false));
  }
  contact.state = ContactState::kAccepted;
  CLIENT_TRY_STORE(store_->SaveContact(contact));
  CLIENT_ASSIGN_STORE(timer, store_->DisappearingSeconds(conversation));
  return std::pair{contact, timer};
}

ClientStatus Client::Impl::CheckSendableLocked(const store::Contact& contact) {
  if (contact.state == ContactState::kBlocked) return Fail(ClientErrc::kBlocked, "the contact is blocked");
  if (contact.verified) {
    CLIENT_ASSIGN_STORE(identities, store_->Identities(contact.account));
    const bool all_verified =
        std::all_of(identities.begin(), identities.end(), [](const auto& i) { return i.verified; });
    if (contact.identity_changed || !all_verified) {
      return Fail(ClientErrc::kUntrustedIdentity, "the verified contact's identity changed: verify again");
    }
  }
  return {};
}

ClientResult<StoredMessage> Client::Impl::SendText(const std::string& peer, const std::string& body,
                                                   const std::optional<MessageId>& quote) {
  std::vector<Event> events;
  ClientResult<StoredMessage> result = [&]() -> ClientResult<StoredMessage> {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    if (body.empty()) return Fail(ClientErrc::kInvalidArgument, "the message is empty");
    if (body.size() > kMaxTextBytes) return Fail(ClientErrc::kTooLarge, "the message is over 64 KiB");
    if (!IsWellFormedUtf8(body)) return Fail(ClientErrc::kInvalidArgument, "the message is not UTF-8");
    auto accepted = AcceptPeerForSendingLocked(peer);
    events.swap(pending_events_);
    if (!accepted) return tl::unexpected(accepted.error());
    DataBody data;
    data.text = body;
    if (quote) data.quote = ToContentId(*quote);
    auto m = SendDataLocked(AccountName(accepted->first.account), std::move(data), nullptr);
    events.insert(events.end(), pending_events_.begin(), pending_events_.end());
    pending_events_.clear();
    return m;
  }();
  Emit(events);
  return result;
}

ClientResult<StoredMessage> Client::Impl::SendDataLocked(const ConversationId& conversation, DataBody data,
                                                         const std::filesystem::path* attachment_file) {
  std::optional<Group> group;
  std::optional<AccountId> peer;
  if (store::GroupIdOf(conversation)) {
    CLIENT_ASSIGN(accepted, AcceptGroupForSendingLocked(conversation));
    group = std::move(accepted);
  } else {
    CLIENT_ASSIGN(accepted, AcceptPeerForSendingLocked(conversation));
    peer = accepted.first.account;
  }
  CLIENT_ASSIGN_STORE(timer, store_->DisappearingSeconds(conversation));
  data.expire_seconds = timer;
  const std::optional<AttachmentPointer> pointer = data.attachment;
  CLIENT_ASSIGN(outgoing, StoreOutgoingDataLocked(conversation, std::move(data)));
  auto& [content, m] = outgoing;
  if (group) {
    // The members it goes to, each awaiting a receipt: they alone decide
    // when it is delivered and read, whoever joins later.
    CLIENT_TRY_STORE(store_->Begin());
    for (const AccountId& member : group->members) {
      if (member == account_->account) continue;
      if (!store_->SetReceipt(m.id, member, MessageStatus::kSent, m.sent_at_ms)) {
        store_->Rollback();
        return Fail(ClientErrc::kStorage, "the local store failed");
      }
    }
    CLIENT_TRY_STORE(store_->Commit());
  }
  if (pointer) {
    if (!SaveReceivedAttachmentLocked(m.id, *pointer))
      return Fail(ClientErrc::kStorage, "the local store failed");
    if (attachment_file != nullptr) {
      CLIENT_TRY_STORE(store_->SetAttachmentPath(m.id, std::filesystem::absolute(*attachment_file).string()));
    }
  }
  auto sent = group ? SendGroupContentLocked(*group, std::move(content))
                    : SendContentLocked(*peer, std::move(content), true);
  m.status = sent ? MessageStatus::kSent : MessageStatus::kFailed;
  CLIENT_TRY_STORE(store_->UpdateStatus(m.id, m.status));
  if (!sent) return tl::unexpected(sent.error());
  return m;
}

ClientStatus Client::Impl::SendAboutLocked(const ConversationId& conversation, ContentBody body,
                                           bool sync_copy) {
  CLIENT_TRY(EnsureConnectedLocked());
  if (auto group = store::GroupIdOf(conversation)) return SendGroupAboutLocked(*group, std::move(body));
  auto peer = Uuid::Parse(conversation);
  if (!peer) return Fail(ClientErrc::kInvalidArgument, "not a 1:1 conversation");
  auto contact = ResolvePeerLocked(conversation, false);
  if (!contact) return tl::unexpected(contact.error());
  CLIENT_TRY(CheckSendableLocked(*contact));
  Content content;
  content.body = std::move(body);
  return SendContentLocked(AccountId(*peer), std::move(content), sync_copy);
}

ClientResult<StoredMessage> Client::Impl::OwnMessageLocked(const ConversationId& conversation,
                                                           const MessageId& id) {
  CLIENT_ASSIGN_STORE(found, store_->FindMessage(id));
  if (!found || found->conversation != conversation) return Fail(ClientErrc::kNotFound, "no such message");
  return *found;
}

ClientResult<std::pair<Content, StoredMessage>> Client::Impl::StoreOutgoingDataLocked(
    const ConversationId& conversation, DataBody data) {
  Content content;
  content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
  content.message_id = TimeOrderedId(static_cast<std::int64_t>(content.sent_at_ms), rng_);
  StoredMessage m;
  m.id = ToMessageId(content.message_id);
  m.conversation = conversation;
  m.direction = Direction::kOutgoing;
  m.sender = account_->account;
  m.sender_device = account_->device;
  m.sent_at_ms = static_cast<std::int64_t>(content.sent_at_ms);
  m.received_at_ms = m.sent_at_ms;
  m.body = data.text;
  m.status = MessageStatus::kSending;
  if (data.quote) m.quote = ToMessageId(*data.quote);
  m.expires_at_ms = ExpiryFor(data.expire_seconds);
  content.body = std::move(data);
  CLIENT_ASSIGN_STORE(inserted, store_->InsertMessage(m));
  (void)inserted;
  return std::pair{std::move(content), std::move(m)};
}

ContentId Client::Impl::ToContentId(const MessageId& id) {
  ContentId c{};
  std::copy(id.begin(), id.end(), c.begin());
  return c;
}

ClientStatus Client::Impl::React(const ConversationId& conversation, const MessageId& id,
                                 const std::string& emoji) {
  std::unique_lock lock(mutex_);
  if (emoji.size() > kMaxEmojiBytes || !IsWellFormedUtf8(emoji)) {
    return Fail(ClientErrc::kInvalidArgument, "a reaction is one emoji");
  }
  CLIENT_TRY(OwnMessageLocked(conversation, id));
  CLIENT_TRY(SendAboutLocked(conversation, ReactionBody{ToContentId(id), emoji}, true));
  CLIENT_TRY_STORE(store_->SetReaction(id, account_->account, emoji));
  return {};
}

ClientStatus Client::Impl::Edit(const ConversationId& conversation, const MessageId& id,
                                const std::string& body) {
  std::unique_lock lock(mutex_);
  auto m = OwnMessageLocked(conversation, id);
  if (!m) return tl::unexpected(m.error());
  if (m->direction != Direction::kOutgoing || m->deleted) {
    return Fail(ClientErrc::kInvalidArgument, "only our own messages can be edited");
  }
  if (body.empty() || body.size() > kMaxTextBytes || !IsWellFormedUtf8(body)) {
    return Fail(ClientErrc::kInvalidArgument, "bad message text");
  }
  CLIENT_TRY(SendAboutLocked(conversation, EditBody{ToContentId(id), body}, true));
  CLIENT_TRY_STORE(store_->EditMessage(id, body));
  return {};
}

ClientStatus Client::Impl::DeleteForEveryone(const ConversationId& conversation, const MessageId& id) {
  std::unique_lock lock(mutex_);
  auto m = OwnMessageLocked(conversation, id);
  if (!m) return tl::unexpected(m.error());
  if (m->direction != Direction::kOutgoing) {
    return Fail(ClientErrc::kInvalidArgument, "only our own messages can be deleted for everyone");
  }
  CLIENT_TRY(SendAboutLocked(conversation, DeleteBody{ToContentId(id)}, true));
  CLIENT_TRY_STORE(DeleteForEveryoneLocked(id));
  return {};
}

ClientStatus Client::Impl::MarkRead(const ConversationId& conversation) {
  std::unique_lock lock(mutex_);
  if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
  // The read mark and the receipts it owes in one transaction: neither
  // without the other, whatever happens to the sending.
  CLIENT_TRY_STORE(store_->Begin());
  auto owed = [&]() -> ClientResult<bool> {
    CLIENT_ASSIGN_STORE(ids, store_->MarkConversationRead(conversation));
    if (ids.empty()) return false;
    CLIENT_ASSIGN(receipts, ReadReceiptsOwedLocked(conversation, ids));
    if (receipts.empty()) return false;
    CLIENT_TRY_STORE(store_->OweReceipts(receipts, kMaxOwedReceiptsPerPeer));
    return true;
  }();
  if (!owed) {
    store_->Rollback();
    return tl::unexpected(owed.error());
  }
  CLIENT_TRY_STORE(store_->Commit());
  if (!*owed) return {};
  receipts_owed_ = true;
  // Sent now when parleyd can be reached; otherwise on the next connect.
  if (EnsureConnectedLocked()) SendOwedReceiptsLocked(true);
  return {};
}

ClientResult<std::vector<store::OwedReceipt>> Client::Impl::ReadReceiptsOwedLocked(
    const ConversationId& conversation, const std::vector<MessageId>& ids) {
  std::vector<store::OwedReceipt> owed;
  OwedSends sends;
  const auto owe = [&](const AccountId& to, const std::optional<GroupId>& group, const MessageId& id) {
    store::OwedReceipt r;
    r.to = to;
    r.group = group;
    r.kind = MessageStatus::kRead;
    r.message = id;
    AssignOwedSendLocked(r, sends);
    owed.push_back(r);
    // The copy that lets our other devices mark it seen.
    r.own_devices = true;
    AssignOwedSendLocked(r, sends);
    owed.push_back(r);
  };
  if (auto group_id = store::GroupIdOf(conversation)) {
    CLIENT_ASSIGN_STORE(group, store_->FindGroup(*group_id));
    // S2: no read receipt for a group that is still a request.
    if (!group || group->request || !group->active) return owed;
    for (const MessageId& id : ids) {
      CLIENT_ASSIGN_STORE(found, store_->FindMessage(id));
      if (!found || found->sender == account_->account ||
          std::find(group->members.begin(), group->members.end(), found->sender) == group->members.end()) {
        continue;
      }
      owe(found->sender, group->id, id);
    }
    return owed;
  }
  auto peer = Uuid::Parse(conversation);
  if (!peer) return owed;
  CLIENT_ASSIGN_STORE(contact, store_->FindContact(AccountId(*peer)));
  // S2: no read receipt to a message request (or a blocked account).
  if (!contact || contact->state != ContactState::kAccepted) return owed;
  for (const MessageId& id : ids) owe(AccountId(*peer), std::nullopt, id);
  return owed;
}

void Client::Impl::SendOwedReceiptsLocked(bool now) {
  if (!receipts_owed_ || !account_ || !connection_ || !connection_->ready()) return;
  if (now) {
    receipt_retry_at_.reset();
  } else if (receipt_retry_at_ && std::chrono::steady_clock::now() < *receipt_retry_at_) {
    WakeWorkerAt(*receipt_retry_at_);  // the receive thread comes back then
    return;
  }
  for (int round = 0; round < kOwedReceiptRounds; ++round) {
    auto owed = store_->OwedReceipts(kOwedReceiptsPerRound);
    if (!owed || !SendOwedReceiptBatchesLocked(*owed)) {
      RetryOwedReceiptsLaterLocked();
      return;
    }
    receipt_backoff_.Reset();
    receipt_retry_at_.reset();
    if (owed->size() < kOwedReceiptsPerRound) {
      receipts_owed_ = false;
      return;
    }
  }
  WakeWorkerNow(false);  // more than one attempt holds: the rest right after
}

void Client::Impl::RetryOwedReceiptsLaterLocked() {
  std::array<std::uint8_t, 4> random{};
  rng_.Fill(random);
  std::uint32_t r = 0;
  for (std::uint8_t b : random) r = (r << 8) | b;
  receipt_retry_at_ = std::chrono::steady_clock::now() + receipt_backoff_.Next(r);
  WakeWorkerAt(*receipt_retry_at_);
}

void Client::Impl::AssignOwedSendLocked(store::OwedReceipt& owed, OwedSends& sends) {
  auto& [id, count] = sends[{owed.to, owed.group, owed.kind, owed.own_devices}];
  if (count == 0 || count == kMaxReceiptTargets) {
    id = TimeOrderedId(clock_.NowMillis(), rng_);
    count = 0;
  }
  ++count;
  owed.send_id = id;
}

bool Client::Impl::SendOwedReceiptBatchesLocked(const std::vector<store::OwedReceipt>& owed) {
  // One receipt per send id (its rows share peer, conversation, kind and
  // destination, kMaxReceiptTargets at most). A full round may have cut the
  // last send's rows short: it waits for the next round, where it comes
  // first and whole (a send sent in part would take the rest as the same
  // send, and parleyd would drop them).
  struct Batch {
    const store::OwedReceipt* first = nullptr;
    std::vector<std::int64_t> seqs;
    std::vector<ContentId> targets;
  };
  std::vector<Batch> batches;
  for (const store::OwedReceipt& r : owed) {
    if (batches.empty() || batches.back().first->send_id != r.send_id) batches.push_back(Batch{&r, {}, {}});
    batches.back().seqs.push_back(r.seq);
    batches.back().targets.push_back(ToContentId(r.message));
  }
  if (owed.size() == kOwedReceiptsPerRound && batches.size() > 1) batches.pop_back();
  std::vector<std::int64_t> done;
  bool all_sent = true;
  for (Batch& batch : batches) {
    const store::OwedReceipt& r = *batch.first;
    // Still owed to someone we would send it to (S2: nothing to a request or
    // a blocked account, nothing for a request group); otherwise dropped.
    bool send = true;
    auto contact = store_->FindContact(r.to);
    if (!contact) {
      all_sent = false;
      break;
    }
    if (*contact && (*contact)->state == ContactState::kBlocked) send = false;
    if (r.group) {
      auto group = store_->FindGroup(*r.group);
      if (!group) {
        all_sent = false;
        break;
      }
      if (!*group || (*group)->request) send = false;
    } else if (!*contact || (*contact)->state != ContactState::kAccepted) {
      send = false;
    }
    if (send) {
      Content content;
      content.message_id = r.send_id;
      content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
      if (r.group) {
        GroupContext context;
        context.id = *r.group;
        content.group = std::move(context);
      }
      content.body =
          ReceiptBody{r.kind == MessageStatus::kRead ? ReceiptKind::kRead : ReceiptKind::kDelivered,
                      std::move(batch.targets)};
      auto sent = r.own_devices ? SendSyncLocked(r.to, std::move(content), r.send_id)
                                : SendContentLocked(r.to, std::move(content), false, r.send_id);
      // An account that is gone, or content that cannot be sent, is not tried again.
      if (!sent && sent.error().code != ClientErrc::kNotFound && sent.error().code != ClientErrc::kTooLarge) {
        all_sent = false;
        break;
      }
    }
    done.insert(done.end(), batch.seqs.begin(), batch.seqs.end());
  }
  if (!done.empty() && !store_->DeleteOwedReceipts(done)) return false;
  return all_sent;
}

ClientStatus Client::Impl::SendTyping(const ConversationId& conversation, bool typing) {
  std::unique_lock lock(mutex_);
  if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
  if (store::GroupIdOf(conversation)) {
    CLIENT_ASSIGN(group, ActiveGroupLocked(conversation));
    // S2: nothing goes to a group that is still a request.
    if (group.request) return {};
    return SendAboutLocked(conversation, TypingBody{typing}, false);
  }
  auto peer = Uuid::Parse(conversation);
  if (!peer) return Fail(ClientErrc::kInvalidArgument, "not a 1:1 or group conversation");
  CLIENT_ASSIGN_STORE(contact, store_->FindContact(AccountId(*peer)));
  if (!contact || contact->state != ContactState::kAccepted) return {};
  return SendAboutLocked(conversation, TypingBody{typing}, false);
}

ClientStatus Client::Impl::SetDisappearingTimer(const ConversationId& conversation, std::uint32_t seconds) {
  std::unique_lock lock(mutex_);
  if (seconds > kMaxDisappearingSeconds) return Fail(ClientErrc::kInvalidArgument, "at most one year");
  CLIENT_TRY(SendAboutLocked(conversation, TimerBody{seconds}, true));
  CLIENT_TRY_STORE(store_->SetDisappearingSeconds(conversation, seconds));
  return {};
}

std::int64_t Client::Impl::ExpiryFor(std::uint32_t seconds) {
  if (seconds == 0) return 0;
  const std::int64_t at = clock_.NowMillis() + static_cast<std::int64_t>(seconds) * 1000;
  ScheduleExpiry(at);
  return at;
}

ClientResult<std::size_t> Client::Impl::ExpireMessages() {
  std::vector<Event> events;
  auto result = [&]() -> ClientResult<std::size_t> {
    std::unique_lock lock(mutex_);
    return ExpireDueLocked(events);
  }();
  Emit(events);
  return result;
}

ClientResult<std::size_t> Client::Impl::ExpireDueLocked(std::vector<Event>& events) {
  // At most this many per call; the timer comes back at once for the rest.
  constexpr std::size_t kMaxPerCall = 1'000;
  if (!store_) return std::size_t{0};
  const std::int64_t now = clock_.NowMillis();
  CLIENT_ASSIGN_STORE(due, store_->ExpiredMessages(now, kMaxPerCall));
  if (due.empty()) return std::size_t{0};
  std::vector<Event> expired;
  CLIENT_TRY_STORE(store_->Begin());
  for (const MessageId& id : due) {
    auto found = store_->FindMessage(id);
    if (!found || !*found) continue;
    ForgetAttachmentFileLocked(id);
    if (!store_->DeleteMessage(id)) {
      store_->Rollback();
      return Fail(ClientErrc::kStorage, "the local store failed");
    }
    StoredMessage gone = std::move(**found);
    gone.deleted = true;
    gone.body.clear();
    gone.reactions.clear();
    expired.push_back(MessageUpdated{std::move(gone)});
  }
  if (!store_->Commit()) {
    store_->Rollback();
    return Fail(ClientErrc::kStorage, "the local store failed");
  }
  if (due.size() == kMaxPerCall) ScheduleExpiry(now);
  events.insert(events.end(), expired.begin(), expired.end());
  return due.size();
}

ClientStatus Client::Impl::DeleteForMe(const MessageId& id) {
  std::unique_lock lock(mutex_);
  CLIENT_ASSIGN_STORE(found, store_->FindMessage(id));
  if (!found) return Fail(ClientErrc::kNotFound, "no such message");
  ForgetAttachmentFileLocked(id);
  CLIENT_TRY_STORE(store_->DeleteMessage(id));
  return {};
}

store::ClientStoreStatus Client::Impl::DeleteForEveryoneLocked(const MessageId& id) {
  ForgetAttachmentFileLocked(id);
  return store_->DeleteMessageForEveryone(id);
}

}  // namespace parley::client
