// Client::Impl: contacts, requests, verification and history.
#include "client/client_impl.h"

namespace parley::client {

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
  return {};
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
