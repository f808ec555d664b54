#include "client/client.h"

#include "client/client_impl.h"

namespace parley::client {

tl::unexpected<ClientError> StoreFailed(const Error<store::ClientStoreErrc>& e) {
  switch (e.code) {
    case store::ClientStoreErrc::kBadKey:
      return Fail(ClientErrc::kBadPassphrase, "the passphrase or key file does not open the store");
    case store::ClientStoreErrc::kKeyFilePermissions:
      return Fail(ClientErrc::kInvalidArgument, "the key file must have mode 0600");
    case store::ClientStoreErrc::kIncompatibleSchema:
      return Fail(ClientErrc::kIncompatibleStore, "the store was written by a newer Parley");
    case store::ClientStoreErrc::kInvalidArgument:
      return Fail(ClientErrc::kInvalidArgument, "the store cannot hold this value");
    default:
      return Fail(ClientErrc::kStorage, "the local store failed");
  }
}

tl::unexpected<ClientError> ProtocolFailed(const Error<ProtocolErrc>& e) {
  if (e.code == ProtocolErrc::kUntrustedIdentity) {
    return Fail(ClientErrc::kUntrustedIdentity, "a contact's identity key changed");
  }
  if (e.code == ProtocolErrc::kStorageFailed) return Fail(ClientErrc::kStorage, "the local store failed");
  return Fail(ClientErrc::kProtocol, "a message could not be encrypted or decrypted");
}

tl::unexpected<ClientError> StatusFailed(const wire::Response& r) {
  switch (r.status) {
    case ResponseStatus::kNotFound:
      return Fail(ClientErrc::kNotFound, "no such account, username, device or code");
    case ResponseStatus::kConflict:
      return Fail(ClientErrc::kConflict, "taken, or the account already has six devices");
    case ResponseStatus::kForbidden:
      return Fail(ClientErrc::kForbidden, "the server does not allow this");
    case ResponseStatus::kUnauthorized:
      return Fail(ClientErrc::kUnauthorized, "the server does not accept this device's credential");
    case ResponseStatus::kRateLimited:
      return Fail(ClientErrc::kRateLimited, "the server asks to retry later");
    case ResponseStatus::kTooLarge:
      return Fail(ClientErrc::kTooLarge, "over a server limit");
    case ResponseStatus::kGone:
      return Fail(ClientErrc::kNotFound, "the code has expired");
    case ResponseStatus::kBadRequest:
      return Fail(ClientErrc::kInvalidArgument, "the server refused the request as malformed");
    default:
      return Fail(ClientErrc::kServerError, "the server could not handle the request");
  }
}

std::string AccountName(const AccountId& account) { return account.value().ToString(); }

wire::SignedPreKey WireSignedPreKey(const protocol::SignedPreKeyRecord& r) {
  wire::SignedPreKey s;
  s.id = r.id;
  s.public_key = r.key_pair.public_key.Serialize();
  std::copy(r.signature.begin(), r.signature.end(), s.signature.begin());
  return s;
}

std::vector<wire::OneTimePreKey> WirePreKeys(const std::vector<protocol::PreKeyRecord>& records) {
  std::vector<wire::OneTimePreKey> out;
  out.reserve(records.size());
  for (const auto& r : records) out.push_back({r.id, r.key_pair.public_key.Serialize()});
  return out;
}

ContentId RandomId(Rng& rng) {
  ContentId id{};
  rng.Fill(id);
  return id;
}

// ---- Client ---------------------------------------------------------------------

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

ClientResult<std::unique_ptr<Client>> Client::Open(ClientOptions options) {
  if (options.data_dir.empty()) return Fail(ClientErrc::kInvalidArgument, "no profile directory");
  auto impl = std::make_unique<Impl>(std::move(options));
  CLIENT_TRY(impl->Open());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

ClientResult<AccountInfo> Client::Register(const ServerAddress& server, const std::string& username,
                                           const std::string& device_name,
                                           const std::optional<std::string>& invitation_token) {
  return impl_->Register(server, username, device_name, invitation_token);
}
ClientResult<AccountInfo> Client::Link(const ServerAddress& server, const std::string& code,
                                       const std::string& device_name) {
  return impl_->Link(server, code, device_name);
}
std::optional<AccountInfo> Client::account() const { return impl_->account(); }
ClientResult<LinkCode> Client::CreateLinkCode() { return impl_->CreateLinkCode(); }
ClientResult<std::vector<DeviceSummary>> Client::ListDevices() { return impl_->ListDevices(); }
ClientStatus Client::UnlinkDevice(DeviceId device) { return impl_->UnlinkDevice(device); }

ClientStatus Client::RequestSync() { return impl_->RequestSync(); }
ClientStatus Client::SetUsername(const std::string& username) { return impl_->SetUsername(username); }
ClientStatus Client::DeleteAccount() { return impl_->DeleteAccount(); }
ClientStatus Client::Connect() { return impl_->Connect(); }
ClientStatus Client::WaitUntilDrained(std::chrono::milliseconds limit) {
  return impl_->WaitUntilDrained(limit);
}
void Client::Disconnect() { impl_->Disconnect(); }
bool Client::connected() const { return impl_->connected(); }
void Client::SetEventHandler(std::function<void(const Event&)> handler) {
  impl_->SetEventHandler(std::move(handler));
}
ClientResult<StoredMessage> Client::SendText(const std::string& peer, const std::string& body,
                                             const std::optional<MessageId>& quote) {
  return impl_->SendText(peer, body, quote);
}
ClientStatus Client::React(const ConversationId& conversation, const MessageId& message,
                           const std::string& emoji) {
  return impl_->React(conversation, message, emoji);
}
ClientStatus Client::Edit(const ConversationId& conversation, const MessageId& message,
                          const std::string& body) {
  return impl_->Edit(conversation, message, body);
}
ClientStatus Client::DeleteForEveryone(const ConversationId& conversation, const MessageId& message) {
  return impl_->DeleteForEveryone(conversation, message);
}
ClientStatus Client::MarkRead(const ConversationId& conversation) { return impl_->MarkRead(conversation); }
ClientStatus Client::SendTyping(const ConversationId& conversation, bool typing) {
  return impl_->SendTyping(conversation, typing);
}
ClientStatus Client::SetDisappearingTimer(const ConversationId& conversation, std::uint32_t seconds) {
  return impl_->SetDisappearingTimer(conversation, seconds);
}
ClientResult<std::size_t> Client::ExpireMessages() { return impl_->ExpireMessages(); }
ClientStatus Client::DeleteForMe(const MessageId& message) { return impl_->DeleteForMe(message); }
ClientResult<std::vector<Contact>> Client::Contacts() { return impl_->Contacts(std::nullopt); }
ClientResult<Contact> Client::AddContact(const std::string& username) { return impl_->AddContact(username); }
ClientResult<std::vector<Contact>> Client::Requests() { return impl_->Contacts(ContactState::kRequest); }
ClientStatus Client::AcceptRequest(const std::string& peer) {
  return impl_->SetState(peer, ContactState::kAccepted);
}
ClientStatus Client::Block(const std::string& peer) { return impl_->SetState(peer, ContactState::kBlocked); }
ClientStatus Client::Unblock(const std::string& peer) {
  return impl_->SetState(peer, ContactState::kAccepted);
}
ClientResult<SafetyNumber> Client::GetSafetyNumber(const std::string& peer) {
  return impl_->GetSafetyNumber(peer);
}
ClientStatus Client::MarkVerified(const std::string& peer,
                                  const std::optional<std::vector<std::uint8_t>>& scanned) {
  return impl_->MarkVerified(peer, scanned);
}
ClientResult<Group> Client::CreateGroup(const std::string& name, const std::vector<std::string>& members) {
  return impl_->CreateGroup(name, members);
}
ClientResult<Group> Client::AddGroupMembers(const ConversationId& group,
                                            const std::vector<std::string>& members) {
  return impl_->EditGroupMembers(group, members, Impl::GroupEdit::kAddMembers);
}
ClientResult<Group> Client::RemoveGroupMembers(const ConversationId& group,
                                               const std::vector<std::string>& members) {
  return impl_->EditGroupMembers(group, members, Impl::GroupEdit::kRemoveMembers);
}
ClientResult<Group> Client::AddGroupAdmins(const ConversationId& group,
                                           const std::vector<std::string>& members) {
  return impl_->EditGroupMembers(group, members, Impl::GroupEdit::kAddAdmins);
}
ClientResult<Group> Client::RemoveGroupAdmins(const ConversationId& group,
                                              const std::vector<std::string>& members) {
  return impl_->EditGroupMembers(group, members, Impl::GroupEdit::kRemoveAdmins);
}
ClientResult<Group> Client::RenameGroup(const ConversationId& group, const std::string& name) {
  return impl_->RenameGroup(group, name);
}
ClientStatus Client::LeaveGroup(const ConversationId& group) { return impl_->LeaveGroup(group); }
ClientResult<std::vector<Group>> Client::Groups() { return impl_->Groups(); }
ClientResult<Group> Client::GetGroup(const ConversationId& group) { return impl_->GetGroup(group); }
ClientResult<StoredMessage> Client::SendGroupText(const ConversationId& group, const std::string& body,
                                                  const std::optional<MessageId>& quote) {
  return impl_->SendGroupText(group, body, quote);
}
ClientResult<std::vector<Conversation>> Client::Conversations() { return impl_->Conversations(); }
ClientResult<std::vector<StoredMessage>> Client::History(const ConversationId& conversation,
                                                         std::size_t limit) {
  return impl_->History(conversation, limit);
}
ClientResult<StoredMessage> Client::GetMessage(const MessageId& id) { return impl_->GetMessage(id); }
ClientResult<std::vector<MessageReceipt>> Client::Receipts(const MessageId& id) {
  return impl_->Receipts(id);
}

}  // namespace parley::client
