// Client::Impl: decrypting, storing and applying incoming envelopes.
#include "client/client_impl.h"

namespace parley::client {

bool Client::Impl::HandleEnvelopeLocked(const wire::Envelope& envelope, std::vector<Event>& events,
                                        std::vector<std::function<void()>>& after_commit) {
  const Bytes cmid(envelope.client_message_id);
  const bool from_self = envelope.sender == account_->account;
  if (from_self && envelope.sender_device == account_->device) return true;
  auto processed = store_->IsProcessed(envelope.sender, envelope.sender_device, cmid);
  if (!processed) return false;
  if (*processed) return true;

  std::optional<store::Contact> contact;
  if (!from_self) {
    auto found = store_->FindContact(envelope.sender);
    if (!found) return false;
    contact = *found;
    if (contact && contact->state == ContactState::kBlocked) {
      return static_cast<bool>(store_->MarkProcessed(envelope.sender, envelope.sender_device, cmid));
    }
  }

  if (envelope.type == kGroupEnvelopeType) return HandleGroupEnvelopeLocked(envelope, events, after_commit);

  const ProtocolAddress address{AccountName(envelope.sender), envelope.sender_device};
  std::optional<SecretBuffer> plaintext;
  for (int attempt = 0; attempt < 2 && !plaintext; ++attempt) {
    if (!store_->Begin()) return false;
    protocol::SessionCipher cipher(Stores(), address, rng_);
    protocol::ProtocolResult<SecretBuffer> decrypted =
        envelope.type == static_cast<std::uint32_t>(protocol::CiphertextType::kPreKey)
            ? cipher.DecryptPreKeySignalMessage(envelope.content)
        : envelope.type == static_cast<std::uint32_t>(protocol::CiphertextType::kMessage)
            ? cipher.DecryptSignalMessage(envelope.content)
            : protocol::ProtocolResult<SecretBuffer>(Fail(ProtocolErrc::kMalformed, "unknown envelope type"));
    if (decrypted) {
      plaintext = std::move(*decrypted);
      break;
    }
    store_->Rollback();
    if (decrypted.error().code == ProtocolErrc::kStorageFailed) return false;
    if (decrypted.error().code == ProtocolErrc::kUntrustedIdentity && attempt == 0) {
      // A device of the peer has a new identity: take it, warn, and keep a
      // verified contact from being sent to until it is verified again.
      auto message = protocol::PreKeySignalMessage::Parse(envelope.content);
      if (message && store_->ReplaceIdentity(address, message->identity_key)) {
        NoteIdentityChangeLocked(envelope.sender, contact, events);
        continue;
      }
    }
    (void)store_->MarkProcessed(envelope.sender, envelope.sender_device, cmid);
    events.push_back(DecryptionFailed{envelope.sender, envelope.sender_device,
                                      ProtocolFailed(decrypted.error()).value().code});
    return true;
  }
  if (!plaintext) return true;

  std::vector<std::function<void()>> actions;
  auto content = DecodeContent(plaintext->bytes());
  if (!content) {
    events.push_back(DecryptionFailed{envelope.sender, envelope.sender_device, ClientErrc::kProtocol});
  } else if (content->group) {
    if (!ApplyGroupControlLocked(envelope, *content, contact, events, actions)) {
      store_->Rollback();
      return false;
    }
  } else if (const auto* contacts = std::get_if<ContactSyncBody>(&content->body)) {
    // Only our own devices share contacts.
    if (from_self &&
        !ApplyContactSyncLocked(*contacts, envelope.sender_device, envelope.server_timestamp_ms, events)) {
      store_->Rollback();
      return false;
    }
  } else if (const auto* request = std::get_if<SyncRequestBody>(&content->body)) {
    // Only our own devices may ask for them; the answer waits for the commit
    // (one for the run, however many requests it held).
    if (from_self) {
      const std::uint64_t at = envelope.server_timestamp_ms;
      const bool any_device = request->any_device;
      actions.push_back([this, at, any_device] {
        sync_request_ms_ = std::max(sync_request_ms_.value_or(0), at);
        if (any_device) any_device_sync_request_ms_ = std::max(any_device_sync_request_ms_.value_or(0), at);
      });
    }
  } else if (from_self) {
    if (!ApplySyncLocked(envelope, *content, events)) {
      store_->Rollback();
      return false;
    }
  } else if (!ApplyIncomingLocked(envelope, *content, contact, events, actions)) {
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

void Client::Impl::NoteIdentityChangeLocked(const AccountId& account, std::optional<store::Contact>& contact,
                                            std::vector<Event>& events) {
  if (!contact) return;
  const bool was_verified = contact->verified;
  contact->identity_changed = true;
  (void)store_->SaveContact(*contact);
  events.push_back(IdentityChanged{account, contact->username, was_verified});
}

MessageId Client::Impl::ToMessageId(const ContentId& id) const {
  MessageId m{};
  std::copy(id.begin(), id.end(), m.begin());
  return m;
}

bool Client::Impl::ApplyIncomingLocked(const wire::Envelope& envelope, const Content& content,
                                       std::optional<store::Contact>& contact, std::vector<Event>& events,
                                       std::vector<std::function<void()>>& after_commit) {
  const ConversationId conversation = AccountName(envelope.sender);
  if (!contact) {
    // S2: a first message from a stranger is a request.
    store::Contact request;
    request.account = envelope.sender;
    request.state = ContactState::kRequest;
    if (!store_->SaveContact(request)) return false;
    contact = request;
    if (content.sender_username) {
      const std::string claimed = *content.sender_username;
      const AccountId sender = envelope.sender;
      after_commit.push_back([this, claimed, sender] { ConfirmUsernameLocked(sender, claimed); });
    }
  }
  const bool request = contact->state == ContactState::kRequest;
  return std::visit(
      [&](const auto& body) -> bool {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, DataBody>) {
          StoredMessage m = MessageFromData(envelope, content, body, conversation, false);
          m.request = request;
          auto current = store_->DisappearingSeconds(conversation);
          if (!current) return false;
          if (*current != body.expire_seconds &&
              !store_->SetDisappearingSeconds(conversation, body.expire_seconds)) {
            return false;
          }
          auto inserted = store_->InsertMessage(m);
          if (!inserted) return false;
          // Kept, never fetched here: DownloadAttachment fetches on request only (S2).
          if (*inserted && body.attachment && !SaveReceivedAttachmentLocked(m.id, *body.attachment))
            return false;
          if (*inserted) {
            events.push_back(MessageReceived{m});
            if (!request)
              QueueDeliveryReceipt(after_commit, envelope.sender, content.message_id, std::nullopt);
          }
          return true;
        } else if constexpr (std::is_same_v<T, ReactionBody>) {
          return ApplyReactionLocked(envelope.sender, body, conversation, events);
        } else if constexpr (std::is_same_v<T, EditBody>) {
          return ApplyAuthorChangeLocked(envelope.sender, body.target, &body.text, conversation, events);
        } else if constexpr (std::is_same_v<T, DeleteBody>) {
          return ApplyAuthorChangeLocked(envelope.sender, body.target, nullptr, conversation, events);
        } else if constexpr (std::is_same_v<T, ReceiptBody>) {
          return ApplyReceiptLocked(envelope.sender, body, conversation, nullptr, events);
        } else if constexpr (std::is_same_v<T, TypingBody>) {
          if (!request) events.push_back(TypingChanged{conversation, envelope.sender, body.started});
          return true;
        } else if constexpr (std::is_same_v<T, TimerBody>) {
          return static_cast<bool>(store_->SetDisappearingSeconds(conversation, body.seconds));
        } else {
          // Sender keys belong to groups, which this version does not run yet.
          return true;
        }
      },
      content.body);
}

bool Client::Impl::ApplySyncLocked(const wire::Envelope& envelope, const Content& content,
                                   std::vector<Event>& events) {
  if (!content.sync_destination) return true;
  const AccountId destination = *content.sync_destination;
  const ConversationId conversation = AccountName(destination);
  auto contact = store_->FindContact(destination);
  if (!contact) return false;
  if (!*contact || (*contact)->state == ContactState::kRequest) {
    store::Contact c = contact->value_or(store::Contact{});
    c.account = destination;
    if (c.username.empty() && content.destination_username) c.username = *content.destination_username;
    c.state = ContactState::kAccepted;
    if (!store_->SaveContact(c) || !store_->SetConversationRequest(conversation, false)) return false;
  }
  return std::visit(
      [&](const auto& body) -> bool {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, DataBody>) {
          StoredMessage m = MessageFromData(envelope, content, body, conversation, true);
          auto inserted = store_->InsertMessage(m);
          if (!inserted) return false;
          if (*inserted && body.attachment && !SaveReceivedAttachmentLocked(m.id, *body.attachment))
            return false;
          if (*inserted) events.push_back(MessageReceived{m});
          return true;
        } else if constexpr (std::is_same_v<T, ReactionBody>) {
          if (!store_->SetReaction(ToMessageId(body.target), account_->account, body.emoji)) return false;
          return PushUpdated(ToMessageId(body.target), events);
        } else if constexpr (std::is_same_v<T, EditBody>) {
          if (!store_->EditMessage(ToMessageId(body.target), body.text)) return false;
          return PushUpdated(ToMessageId(body.target), events);
        } else if constexpr (std::is_same_v<T, DeleteBody>) {
          if (!DeleteForEveryoneLocked(ToMessageId(body.target))) return false;
          return PushUpdated(ToMessageId(body.target), events);
        } else if constexpr (std::is_same_v<T, ReceiptBody>) {
          return MarkSeenElsewhereLocked(body, conversation);
        } else if constexpr (std::is_same_v<T, TimerBody>) {
          return static_cast<bool>(store_->SetDisappearingSeconds(conversation, body.seconds));
        } else {
          return true;
        }
      },
      content.body);
}

StoredMessage Client::Impl::MessageFromData(const wire::Envelope& envelope, const Content& content,
                                            const DataBody& body, const ConversationId& conversation,
                                            bool outgoing) {
  StoredMessage m;
  m.id = ToMessageId(content.message_id);
  m.conversation = conversation;
  m.direction = outgoing ? Direction::kOutgoing : Direction::kIncoming;
  m.sender = envelope.sender;
  m.sender_device = envelope.sender_device;
  m.sent_at_ms = static_cast<std::int64_t>(content.sent_at_ms);
  m.received_at_ms = outgoing ? m.sent_at_ms : clock_.NowMillis();
  // The body is the text (an attachment's caption); the attachment is
  // recorded on its own and fetched only once a request is accepted (S2).
  m.body = body.text;
  m.status = outgoing ? MessageStatus::kSent : MessageStatus::kReceived;
  if (body.quote) m.quote = ToMessageId(*body.quote);
  m.expires_at_ms = ExpiryFor(body.expire_seconds);
  return m;
}

void Client::Impl::QueueDeliveryReceipt(std::vector<std::function<void()>>& after_commit, const AccountId& to,
                                        const ContentId& message, const std::optional<GroupId>& group) {
  store::OwedReceipt owed;
  owed.to = to;
  owed.group = group;
  owed.kind = MessageStatus::kDelivered;
  owed.message = ToMessageId(message);
  AssignOwedSendLocked(owed, run_sends_);
  // In the message's own transaction: a failure here fails its commit, so
  // the message is not acknowledged and comes again.
  (void)store_->OweReceipts({owed}, kMaxOwedReceiptsPerPeer);
  after_commit.push_back([this] { receipts_owed_ = true; });
}

void Client::Impl::SendOwedRepliesLocked(bool drained) {
  SendOwedReceiptsLocked();
  if (!drained) return;
  if (sync_request_ms_) AnswerSyncRequestLocked();
  sync_request_ms_.reset();
  any_device_sync_request_ms_.reset();
  if (own_devices_check_owed_) {
    own_devices_check_owed_ = false;
    if (connection_) RefreshOwnDevicesLocked(OwnDeviceSync::kDrained);
  }
}

bool Client::Impl::ApplyReactionLocked(const AccountId& from, const ReactionBody& body,
                                       const ConversationId& conversation, std::vector<Event>& events) {
  auto target = store_->FindMessage(ToMessageId(body.target));
  if (!target) return false;
  if (!*target || (*target)->conversation != conversation) return true;
  if (!store_->SetReaction((*target)->id, from, body.emoji)) return false;
  return PushUpdated((*target)->id, events);
}

bool Client::Impl::ApplyAuthorChangeLocked(const AccountId& from, const ContentId& target_id,
                                           const std::string* text, const ConversationId& conversation,
                                           std::vector<Event>& events) {
  auto target = store_->FindMessage(ToMessageId(target_id));
  if (!target) return false;
  if (!*target || (*target)->conversation != conversation || (*target)->sender != from ||
      (*target)->deleted) {
    return true;
  }
  const bool ok = text != nullptr ? static_cast<bool>(store_->EditMessage((*target)->id, *text))
                                  : static_cast<bool>(DeleteForEveryoneLocked((*target)->id));
  return ok && PushUpdated((*target)->id, events);
}

bool Client::Impl::ApplyReceiptLocked(const AccountId& from, const ReceiptBody& body,
                                      const ConversationId& conversation, const store::Group* group,
                                      std::vector<Event>& events) {
  const MessageStatus status =
      body.kind == ReceiptKind::kRead ? MessageStatus::kRead : MessageStatus::kDelivered;
  const auto from_account = [&](const MessageReceipt& r) { return r.from == from; };
  for (const ContentId& id : body.targets) {
    auto target = store_->FindMessage(ToMessageId(id));
    if (!target) return false;
    if (!*target || (*target)->conversation != conversation || (*target)->direction != Direction::kOutgoing) {
      continue;
    }
    if (group != nullptr) {
      // A group message counts the members it was sent to (a kSent entry
      // each, made when it was sent), not those of today.
      auto receipts = store_->Receipts((*target)->id);
      if (!receipts) return false;
      if (std::none_of(receipts->begin(), receipts->end(), from_account)) continue;
    }
    auto changed = store_->SetReceipt((*target)->id, from, status, clock_.NowMillis());
    if (!changed) return false;
    if (!*changed) continue;
    std::optional<MessageStatus> overall = status;
    if (group != nullptr) {
      // Delivered (or read) once every one it was sent to is.
      auto receipts = store_->Receipts((*target)->id);
      if (!receipts) return false;
      overall = MessageStatus::kRead;
      for (const MessageReceipt& r : *receipts) overall = std::min(*overall, r.status);
      if (*overall < MessageStatus::kDelivered) overall.reset();
    }
    if (overall && !store_->UpdateStatus((*target)->id, *overall)) return false;
    if (!PushUpdated((*target)->id, events)) return false;
  }
  return true;
}

bool Client::Impl::MarkSeenElsewhereLocked(const ReceiptBody& body, const ConversationId& conversation) {
  if (body.kind != ReceiptKind::kRead) return true;
  for (const ContentId& id : body.targets) {
    auto target = store_->FindMessage(ToMessageId(id));
    if (!target) return false;
    if (!*target || (*target)->conversation != conversation) continue;
    if (!store_->UpdateStatus((*target)->id, MessageStatus::kSeen)) return false;
  }
  return true;
}

bool Client::Impl::PushUpdated(const MessageId& id, std::vector<Event>& events) {
  auto m = store_->FindMessage(id);
  if (!m) return false;
  if (*m) events.push_back(MessageUpdated{**m});
  return true;
}

void Client::Impl::ConfirmUsernameLocked(const AccountId& sender, const std::string& claimed) {
  if (!wire::IsValidUsername(claimed)) return;
  // A lookup without keys: a bundle fetch would use up one of the sender's one-time prekeys.
  auto response = CallLocked(wire::LookupUsernameRequest{claimed});
  if (!response || response->status != ResponseStatus::kOk) return;
  if (std::get<wire::UsernameLookupResult>(response->body).account_id != sender) return;
  auto contact = store_->FindContact(sender);
  if (!contact || !*contact) return;
  (*contact)->username = claimed;
  (void)store_->SaveContact(**contact);
}

}  // namespace parley::client
