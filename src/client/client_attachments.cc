// Client::Impl's attachments: send (encrypt to a temporary blob, upload,
// then the message with the pointer), keep received pointers with their
// message, and download on request only (S2: never for a message request).
// Encryption and transfers run without the client's lock, so receiving goes
// on while a large file moves.
#include <sys/stat.h>

#include <cctype>
#include <system_error>

#include "client/attachment_cipher.h"
#include "client/attachment_transfer.h"
#include "client/client_impl.h"

namespace parley::client {

namespace {

constexpr const char* kAttachmentsDir = "attachments";

ClientError AttachmentFailed(const Error<AttachmentErrc>& e) {
  switch (e.code) {
    case AttachmentErrc::kIo:
      return {ClientErrc::kStorage, e.message};
    case AttachmentErrc::kEmpty:
      return {ClientErrc::kInvalidArgument, "the file is empty"};
    case AttachmentErrc::kTooLarge:
    case AttachmentErrc::kTruncated:
    case AttachmentErrc::kBadMac:
    case AttachmentErrc::kBadDigest:
    case AttachmentErrc::kBadPadding:
    case AttachmentErrc::kWrongSize:
      break;
  }
  return {ClientErrc::kProtocol, "the attachment does not verify (altered, truncated or the wrong size)"};
}

// Only letters, digits, '.', '-' and '_' of a name the sender chose, never a
// leading dot, at most 64 bytes: it becomes part of a local file name.
std::string SafeFileName(std::string_view name) {
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || (c == '.' && !out.empty())) out.push_back(c);
    if (out.size() == 64) break;
  }
  return out;
}

// The first bytes of a UTF-8 name, cut at a character boundary.
std::string TruncatedUtf8(std::string name, std::size_t max_bytes) {
  if (name.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    name.resize(cut);
  }
  return IsWellFormedUtf8(name) ? name : std::string();
}

AttachmentTransferOptions TransferOptions(const store::LocalAccount& account) {
  AttachmentTransferOptions o;
  o.host = account.host;
  o.port = account.port;
  o.pin = account.pin;
  o.account = account.account;
  o.device = account.device;
  o.credential = account.credential;
  return o;
}

// The pointer as stored: a Content holding only it, so that the store's copy
// is read back through the same checked decoder as a received one.
ClientResult<SecretBuffer> EncodePointer(const AttachmentPointer& pointer) {
  Content holder;
  DataBody data;
  data.attachment = pointer;
  holder.body = std::move(data);
  auto encoded = EncodeContent(holder);
  if (!encoded) return Fail(ClientErrc::kInvalidArgument, "the attachment pointer breaks a content rule");
  return std::move(*encoded);
}

ClientResult<AttachmentPointer> DecodePointer(const SecretBuffer& stored) {
  auto holder = DecodeContent(stored.bytes());
  if (!holder) return Fail(ClientErrc::kStorage, "a stored attachment pointer is corrupt");
  auto* data = std::get_if<DataBody>(&holder->body);
  if (data == nullptr || !data->attachment)
    return Fail(ClientErrc::kStorage, "a stored attachment pointer is corrupt");
  return std::move(*data->attachment);
}

AttachmentInfo InfoOf(const MessageId& message, const AttachmentPointer& pointer, const std::string& path) {
  AttachmentInfo info;
  info.message = message;
  info.file_name = pointer.file_name;
  info.content_type = pointer.content_type;
  info.size = pointer.size;
  info.path = path;
  return info;
}

}  // namespace

bool Client::Impl::SaveReceivedAttachmentLocked(const MessageId& message, const AttachmentPointer& pointer) {
  auto encoded = EncodePointer(pointer);
  // A pointer that decoded always encodes; one that does not is dropped, not retried.
  if (!encoded) return true;
  return store_->SaveAttachment(message, encoded->bytes()).has_value();
}

void Client::Impl::ForgetAttachmentFileLocked(const MessageId& message) {
  auto found = store_->FindAttachment(message);
  if (!found || !*found || (*found)->path.empty()) return;
  const std::filesystem::path path = std::filesystem::path((*found)->path).lexically_normal();
  if (path.parent_path() != (options_.data_dir / kAttachmentsDir).lexically_normal()) return;
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

ClientResult<std::filesystem::path> Client::Impl::AttachmentsDirLocked() {
  const std::filesystem::path dir = options_.data_dir / kAttachmentsDir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0)
    return Fail(ClientErrc::kStorage, "cannot create the attachments folder");
  return dir;
}

ClientResult<StoredMessage> Client::Impl::SendAttachment(const std::string& peer,
                                                         const std::filesystem::path& file,
                                                         const std::string& caption,
                                                         const std::string& content_type) {
  if (caption.size() > kMaxTextBytes) return Fail(ClientErrc::kTooLarge, "the caption is over 64 KiB");
  if (!IsWellFormedUtf8(caption)) return Fail(ClientErrc::kInvalidArgument, "the caption is not UTF-8");
  if (content_type.size() > kMaxContentTypeBytes || !IsWellFormedUtf8(content_type)) {
    return Fail(ClientErrc::kInvalidArgument, "the content type is too long or not UTF-8");
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec || !std::filesystem::is_regular_file(file, ec)) {
    return Fail(ClientErrc::kInvalidArgument, "not a readable regular file");
  }
  if (size == 0) return Fail(ClientErrc::kInvalidArgument, "the file is empty");
  if (size > kMaxAttachmentBytes)
    return Fail(ClientErrc::kTooLarge, "the file is over the attachment size cap");

  // Check the peer before the work, and take what the transfer needs.
  store::LocalAccount account;
  AttachmentKey key;
  AttachmentIv iv{};
  std::filesystem::path blob;
  {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    if (store::GroupIdOf(peer)) {
      CLIENT_TRY(ActiveGroupLocked(peer));
    } else {
      CLIENT_ASSIGN(resolved, ResolvePeerLocked(peer, true));
      if (resolved.account == account_->account) {
        return Fail(ClientErrc::kInvalidArgument,
                    "send to another account (a note to self is not supported)");
      }
      CLIENT_TRY(CheckSendableLocked(resolved));
    }
    account = *account_;
    rng_.Fill(key.bytes());
    rng_.Fill(iv);
    auto dir = AttachmentsDirLocked();
    if (!dir) return tl::unexpected(dir.error());
    blob = *dir / ("outgoing-" + ToHex(RandomId(rng_)) + ".blob");
  }

  auto encrypted = EncryptAttachmentFile(file, blob, key, iv);
  struct BlobRemover {
    std::filesystem::path path;
    ~BlobRemover() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  } remover{blob};
  if (!encrypted) return tl::unexpected(AttachmentFailed(encrypted.error()));

  AttachmentTransfer transfer(TransferOptions(account));
  auto id = transfer.Create(encrypted->blob_size);
  if (!id) return tl::unexpected(id.error());
  CLIENT_TRY(transfer.Upload(*id, blob));

  AttachmentPointer pointer;
  pointer.id = *id;
  pointer.key = key;
  pointer.digest = encrypted->digest;
  pointer.size = encrypted->plaintext_size;
  pointer.file_name = TruncatedUtf8(file.filename().string(), kMaxFileNameBytes);
  pointer.content_type = content_type;

  std::vector<Event> events;
  ClientResult<StoredMessage> result = [&]() -> ClientResult<StoredMessage> {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    ConversationId conversation = peer;
    if (!store::GroupIdOf(peer)) {
      auto accepted = AcceptPeerForSendingLocked(peer);
      events.swap(pending_events_);
      if (!accepted) return tl::unexpected(accepted.error());
      conversation = AccountName(accepted->first.account);
    }
    DataBody data;
    data.text = caption;
    data.attachment = pointer;
    auto m = SendDataLocked(conversation, std::move(data), &file);
    events.insert(events.end(), pending_events_.begin(), pending_events_.end());
    pending_events_.clear();
    return m;
  }();
  Emit(events);
  return result;
}

ClientResult<std::optional<AttachmentInfo>> Client::Impl::GetAttachment(const MessageId& message) {
  std::unique_lock lock(mutex_);
  if (!store_) return Fail(ClientErrc::kStorage, "the store is not open");
  CLIENT_ASSIGN_STORE(found, store_->FindAttachment(message));
  if (!found) return std::optional<AttachmentInfo>();
  auto pointer = DecodePointer(found->pointer);
  if (!pointer) return tl::unexpected(pointer.error());
  return std::optional<AttachmentInfo>(InfoOf(message, *pointer, found->path));
}

ClientResult<AttachmentInfo> Client::Impl::DownloadAttachment(const MessageId& message) {
  store::LocalAccount account;
  AttachmentPointer pointer;
  std::filesystem::path dir;
  {
    std::unique_lock lock(mutex_);
    if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
    CLIENT_ASSIGN_STORE(m, store_->FindMessage(message));
    if (!m) return Fail(ClientErrc::kNotFound, "no such message");
    CLIENT_ASSIGN_STORE(found, store_->FindAttachment(message));
    if (!found) return Fail(ClientErrc::kNotFound, "the message has no attachment");
    auto decoded = DecodePointer(found->pointer);
    if (!decoded) return tl::unexpected(decoded.error());
    pointer = std::move(*decoded);
    if (m->direction == Direction::kIncoming) {
      // S2: nothing is fetched for a stranger, or for a group that is still a
      // request, until the request is accepted.
      CLIENT_ASSIGN_STORE(contact, store_->FindContact(m->sender));
      std::optional<bool> group_request;
      if (auto group_id = store::GroupIdOf(m->conversation)) {
        CLIENT_ASSIGN_STORE(group, store_->FindGroup(*group_id));
        group_request = !group || group->request;
      }
      if (group_request ? *group_request : (!contact || contact->state == ContactState::kRequest)) {
        return Fail(ClientErrc::kForbidden, "accept the message request before fetching its attachment");
      }
      if (contact && contact->state == ContactState::kBlocked)
        return Fail(ClientErrc::kBlocked, "the contact is blocked");
    }
    std::error_code ec;
    if (!found->path.empty() && std::filesystem::exists(found->path, ec)) {
      return InfoOf(message, pointer, found->path);
    }
    account = *account_;
    auto made = AttachmentsDirLocked();
    if (!made) return tl::unexpected(made.error());
    dir = *made;
  }

  const std::string stem = MessageIdToHex(message);
  const std::filesystem::path partial = dir / (stem + ".blob.part");
  const std::string safe = SafeFileName(pointer.file_name);
  const std::filesystem::path destination = dir / (safe.empty() ? stem : stem + "-" + safe);
  AttachmentTransfer transfer(TransferOptions(account));
  CLIENT_TRY(transfer.Download(pointer.id, partial, EncryptedAttachmentSize(pointer.size)));
  auto verified = DecryptAttachmentFile(partial, destination, pointer.key, pointer.digest, pointer.size);
  std::error_code ignored;
  std::filesystem::remove(partial, ignored);
  if (!verified) return tl::unexpected(AttachmentFailed(verified.error()));

  std::unique_lock lock(mutex_);
  CLIENT_TRY_STORE(store_->SetAttachmentPath(message, destination.string()));
  return InfoOf(message, pointer, destination.string());
}

// ---- Client's public methods ----

ClientResult<StoredMessage> Client::SendAttachment(const std::string& peer, const std::filesystem::path& file,
                                                   const std::string& caption,
                                                   const std::string& content_type) {
  return impl_->SendAttachment(peer, file, caption, content_type);
}

ClientResult<std::optional<AttachmentInfo>> Client::GetAttachment(const MessageId& message) {
  return impl_->GetAttachment(message);
}

ClientResult<AttachmentInfo> Client::DownloadAttachment(const MessageId& message) {
  return impl_->DownloadAttachment(message);
}

}  // namespace parley::client
