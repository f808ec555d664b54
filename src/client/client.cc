#include "client/client.h"

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "base/hex.h"
#include "client/connection.h"
#include "client/content.h"
#include "crypto/random.h"
#include "protocol/fingerprint.h"
#include "protocol/prekey.h"
#include "protocol/prekey_bundle.h"
#include "protocol/prekey_signal_message.h"
#include "protocol/session_builder.h"
#include "protocol/session_cipher.h"
#include "store/client_store.h"
#include "wire/text.h"

namespace parley::client {

namespace {

using protocol::ProtocolAddress;
using protocol::ProtocolErrc;
using wire::ResponseStatus;

constexpr std::uint32_t kPreKeyBatch = 100;
constexpr std::int64_t kSignedPreKeyRotationMs = 7LL * 24 * 3600 * 1000;
// Old signed prekeys stay this long after a rotation, for messages in flight.
constexpr std::int64_t kSignedPreKeyGraceMs = 30LL * 24 * 3600 * 1000;
constexpr int kSendAttempts = 4;

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

#define CLIENT_TRY_STORE(expr)                                     \
  do {                                                             \
    if (auto client_store_status = (expr); !client_store_status) { \
      return StoreFailed(client_store_status.error());             \
    }                                                              \
  } while (false)

#define CLIENT_CONCAT_INNER(a, b) a##b
#define CLIENT_CONCAT(a, b) CLIENT_CONCAT_INNER(a, b)
#define CLIENT_ASSIGN_STORE(var, expr)                                   \
  auto CLIENT_CONCAT(client_result_, __LINE__) = (expr);                 \
  if (!CLIENT_CONCAT(client_result_, __LINE__)) {                        \
    return StoreFailed(CLIENT_CONCAT(client_result_, __LINE__).error()); \
  }                                                                      \
  auto& var = *CLIENT_CONCAT(client_result_, __LINE__)

#define CLIENT_TRY(expr)                               \
  do {                                                 \
    if (auto client_status = (expr); !client_status) { \
      return tl::unexpected(client_status.error());    \
    }                                                  \
  } while (false)

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

}  // namespace

class Client::Impl {
 public:
  explicit Impl(ClientOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : system_clock_),
        rng_(options_.rng != nullptr ? *options_.rng : system_rng_) {}

  ~Impl() { Disconnect(); }

  ClientStatus Open() {
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) return Fail(ClientErrc::kStorage, "cannot create the profile directory");
    chmod(options_.data_dir.c_str(), 0700);
    store::ClientStoreResult<store::ClientStoreKey> key =
        options_.key.kind == StoreKeySource::Kind::kPassphrase
            ? store::KeyFromPassphrase(options_.key.passphrase, options_.data_dir / "parley.salt")
            : store::KeyFromFile(options_.key.key_file.empty() ? options_.data_dir / "parley.key"
                                                               : options_.key.key_file);
    if (!key) return StoreFailed(key.error());
    auto opened = store::ClientStore::Open(options_.data_dir / "parley.db", *key, clock_);
    if (!opened) return StoreFailed(opened.error());
    store_ = std::move(*opened);
    auto account = store_->LoadAccount();
    if (!account) return StoreFailed(account.error());
    account_ = std::move(*account);
    return {};
  }

  // ---- events ----

  void SetEventHandler(std::function<void(const Event&)> handler) {
    std::lock_guard lock(handler_mutex_);
    handler_ = std::move(handler);
  }

  void Emit(std::vector<Event>& events) {
    std::function<void(const Event&)> handler;
    {
      std::lock_guard lock(handler_mutex_);
      handler = handler_;
    }
    if (handler) {
      for (const Event& e : events) handler(e);
    }
    events.clear();
  }

  // ---- account ----

  std::optional<AccountInfo> account() {
    std::lock_guard lock(mutex_);
    return InfoLocked();
  }

  std::optional<AccountInfo> InfoLocked() const {
    if (!account_) return std::nullopt;
    return AccountInfo{account_->account, account_->device, account_->username,
                       ServerAddress{account_->host, account_->port, account_->pin}};
  }

  struct NewDeviceKeys {
    crypto::KeyPair identity;
    RegistrationId registration_id;
    protocol::SignedPreKeyRecord signed_prekey;
    std::vector<protocol::PreKeyRecord> prekeys;
  };

  ClientResult<NewDeviceKeys> MakeDeviceKeys() {
    NewDeviceKeys keys;
    keys.identity = protocol::GenerateIdentityKeyPair(rng_);
    keys.registration_id = protocol::GenerateRegistrationId(rng_);
    auto signed_prekey =
        protocol::GenerateSignedPreKey(keys.identity, SignedPreKeyId(1), clock_.NowMillis(), rng_);
    if (!signed_prekey) return ProtocolFailed(signed_prekey.error());
    keys.signed_prekey = std::move(*signed_prekey);
    auto prekeys = protocol::GeneratePreKeys(PreKeyId(1), kPreKeyBatch, rng_);
    if (!prekeys) return ProtocolFailed(prekeys.error());
    keys.prekeys = std::move(*prekeys);
    CLIENT_TRY_STORE(store_->Begin());
    auto saved = [&]() -> ClientStatus {
      CLIENT_TRY_STORE(store_->SetLocalIdentity(keys.identity, keys.registration_id));
      if (!store_->StoreSignedPreKey(keys.signed_prekey))
        return Fail(ClientErrc::kStorage, "cannot store keys");
      for (const auto& p : keys.prekeys) {
        if (!store_->StorePreKey(p)) return Fail(ClientErrc::kStorage, "cannot store keys");
      }
      CLIENT_TRY_STORE(store_->SetCounter("next_prekey_id", kPreKeyBatch + 1));
      CLIENT_TRY_STORE(store_->SetCounter("signed_prekey_id", 1));
      CLIENT_TRY_STORE(store_->Commit());
      return {};
    }();
    if (!saved) {
      store_->Rollback();
      return tl::unexpected(saved.error());
    }
    return keys;
  }

  ClientStatus StartConnection(const ServerAddress& server, std::optional<wire::AuthenticateRequest> auth) {
    ConnectionOptions options;
    options.host = server.host;
    options.port = server.port;
    options.pin = server.pin;
    options.reconnect = options_.auto_reconnect;
    auto connection = std::make_unique<Connection>(
        options, [this](wire::Push push) { Enqueue(std::move(push)); },
        [this](bool ready) {
          if (ready) {
            std::lock_guard lock(drain_mutex_);
            drained_ = false;
          }
          std::vector<Event> events;
          events.emplace_back(std::in_place_type<ConnectionChanged>, ConnectionChanged{ready});
          Emit(events);
        });
    connection->SetAuthentication(std::move(auth));
    {
      std::lock_guard lock(drain_mutex_);
      drained_ = false;
    }
    StartWorker();
    if (auto started = connection->Start(); !started) return started;
    connection_ = std::move(connection);
    return {};
  }

  ClientResult<AccountInfo> Register(const ServerAddress& server, const std::string& username,
                                     const std::string& device_name,
                                     const std::optional<std::string>& invitation) {
    std::unique_lock lock(mutex_);
    if (account_) return Fail(ClientErrc::kAlreadyRegistered, "this profile already holds an account");
    if (!wire::IsValidUsername(username)) {
      return Fail(ClientErrc::kInvalidArgument, "a username is 3-32 of a-z, A-Z, 0-9, '_' and '.'");
    }
    if (!wire::IsValidDeviceName(device_name)) return Fail(ClientErrc::kInvalidArgument, "bad device name");
    if (invitation && !wire::IsValidInvitationToken(*invitation)) {
      return Fail(ClientErrc::kInvalidArgument, "bad invitation token");
    }
    auto keys = MakeDeviceKeys();
    if (!keys) return tl::unexpected(keys.error());
    CLIENT_TRY(StartConnection(server, std::nullopt));
    wire::RegisterRequest request;
    request.username = username;
    request.invitation_token = invitation;
    request.registration_id = keys->registration_id;
    request.identity_key = keys->identity.public_key.Serialize();
    request.signed_prekey = WireSignedPreKey(keys->signed_prekey);
    request.prekeys = WirePreKeys(keys->prekeys);
    request.device_name = device_name;
    auto response = CallLocked(std::move(request));
    if (!response) {
      StopConnectionLocked(lock);
      return tl::unexpected(response.error());
    }
    if (response->status != ResponseStatus::kOk) {
      StopConnectionLocked(lock);
      return StatusFailed(*response);
    }
    const auto& result = std::get<wire::RegisterResult>(response->body);
    return SaveNewAccount(server, username, result.account_id, result.device_id, result.credential);
  }

  ClientResult<AccountInfo> Link(const ServerAddress& server, const std::string& code,
                                 const std::string& device_name) {
    std::unique_lock lock(mutex_);
    if (account_) return Fail(ClientErrc::kAlreadyRegistered, "this profile already holds an account");
    if (!wire::IsValidLinkCode(code)) return Fail(ClientErrc::kInvalidArgument, "bad link code");
    if (!wire::IsValidDeviceName(device_name)) return Fail(ClientErrc::kInvalidArgument, "bad device name");
    auto keys = MakeDeviceKeys();
    if (!keys) return tl::unexpected(keys.error());
    CLIENT_TRY(StartConnection(server, std::nullopt));
    wire::LinkDeviceRequest request;
    request.code = code;
    request.registration_id = keys->registration_id;
    request.identity_key = keys->identity.public_key.Serialize();
    request.signed_prekey = WireSignedPreKey(keys->signed_prekey);
    request.prekeys = WirePreKeys(keys->prekeys);
    request.device_name = device_name;
    auto response = CallLocked(std::move(request));
    if (!response) {
      StopConnectionLocked(lock);
      return tl::unexpected(response.error());
    }
    if (response->status != ResponseStatus::kOk) {
      StopConnectionLocked(lock);
      return StatusFailed(*response);
    }
    const auto& result = std::get<wire::LinkDeviceResult>(response->body);
    return SaveNewAccount(server, "", result.account_id, result.device_id, result.credential);
  }

  ClientResult<AccountInfo> SaveNewAccount(const ServerAddress& server, const std::string& username,
                                           const AccountId& account, DeviceId device,
                                           const wire::DeviceCredential& credential) {
    store::LocalAccount local;
    local.account = account;
    local.device = device;
    local.username = username;
    local.credential = credential.secret;
    local.host = server.host;
    local.port = server.port;
    local.pin = server.pin;
    CLIENT_TRY_STORE(store_->SaveAccount(local));
    connection_->SetAuthentication(wire::AuthenticateRequest{account, device, credential});
    account_ = std::move(local);
    RefreshOwnDevicesLocked();
    return *InfoLocked();
  }

  ClientResult<LinkCode> CreateLinkCode() {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    auto response = CallLocked(wire::CreateLinkCodeRequest{});
    if (!response) return tl::unexpected(response.error());
    if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
    const auto& result = std::get<wire::CreateLinkCodeResult>(response->body);
    LinkCode code;
    code.code = result.code;
    code.expires_at_ms = static_cast<std::int64_t>(result.expires_at_ms);
    code.uri = "parley-link:?host=" + account_->host + "&port=" + std::to_string(account_->port) +
               "&pin=" + account_->pin + "&code=" + result.code;
    return code;
  }

  ClientResult<std::vector<DeviceSummary>> ListDevices() {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    auto response = CallLocked(wire::ListDevicesRequest{});
    if (!response) return tl::unexpected(response.error());
    if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
    std::vector<DeviceSummary> out;
    other_devices_.clear();
    for (const auto& d : std::get<wire::ListDevicesResult>(response->body).devices) {
      out.push_back({d.id, d.name.value_or(""), static_cast<std::int64_t>(d.created_at_ms),
                     static_cast<std::int64_t>(d.last_seen_at_ms), d.id == account_->device});
      if (d.id != account_->device) other_devices_.insert(d.id);
    }
    return out;
  }

  ClientStatus UnlinkDevice(DeviceId device) {
    std::unique_lock lock(mutex_);
    CLIENT_TRY(EnsureConnectedLocked());
    auto response = CallLocked(wire::UnlinkDeviceRequest{device});
    if (!response) return tl::unexpected(response.error());
    if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
    (void)store_->DeleteSession({AccountName(account_->account), device});
    other_devices_.erase(device);
    return {};
  }

  ClientStatus SetUsername(const std::string& username) {
    std::unique_lock lock(mutex_);
    if (!wire::IsValidUsername(username)) return Fail(ClientErrc::kInvalidArgument, "bad username");
    CLIENT_TRY(EnsureConnectedLocked());
    auto response = CallLocked(wire::SetUsernameRequest{username});
    if (!response) return tl::unexpected(response.error());
    if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
    account_->username = username;
    CLIENT_TRY_STORE(store_->SaveAccount(*account_));
    return {};
  }

  // ---- connection ----

  ClientStatus Connect() {
    std::unique_lock lock(mutex_);
    return EnsureConnectedLocked();
  }

  ClientStatus EnsureConnectedLocked() {
    if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
    if (connection_) return {};
    CLIENT_TRY(StartConnection(ServerAddress{account_->host, account_->port, account_->pin},
                               wire::AuthenticateRequest{account_->account, account_->device,
                                                         wire::DeviceCredential{account_->credential}}));
    RefreshOwnDevicesLocked();
    RotateSignedPreKeyLocked();
    return {};
  }

  void RefreshOwnDevicesLocked() {
    auto response = CallLocked(wire::ListDevicesRequest{});
    if (!response || response->status != ResponseStatus::kOk) return;
    other_devices_.clear();
    for (const auto& d : std::get<wire::ListDevicesResult>(response->body).devices) {
      if (d.id != account_->device) other_devices_.insert(d.id);
    }
  }

  void RotateSignedPreKeyLocked() {
    auto current = store_->GetCounter("signed_prekey_id");
    if (!current || !*current) return;
    const SignedPreKeyId current_id(static_cast<std::uint32_t>(**current));
    auto record = store_->LoadSignedPreKey(current_id);
    if (!record) return;
    const std::int64_t now = clock_.NowMillis();
    if (now - record->timestamp_millis < kSignedPreKeyRotationMs) return;
    const SignedPreKeyId next_id((current_id.value() % wire::kMaxPreKeyId) + 1);
    auto next = protocol::GenerateSignedPreKey(store_->GetIdentityKeyPair(), next_id, now, rng_);
    if (!next || !store_->StoreSignedPreKey(*next)) return;
    wire::UploadKeysRequest upload;
    upload.signed_prekey = WireSignedPreKey(*next);
    auto response = CallLocked(std::move(upload));
    if (!response || response->status != ResponseStatus::kOk) return;
    (void)store_->SetCounter("signed_prekey_id", next_id.value());
    if (auto old = store_->SignedPreKeysOlderThan(now - kSignedPreKeyGraceMs, next_id)) {
      for (SignedPreKeyId id : *old) (void)store_->RemoveSignedPreKey(id);
    }
  }

  ClientStatus ReplenishPreKeysLocked() {
    CLIENT_ASSIGN_STORE(next, store_->GetCounter("next_prekey_id"));
    const std::uint32_t first = next ? static_cast<std::uint32_t>(*next) : 1;
    auto prekeys = protocol::GeneratePreKeys(PreKeyId(first), kPreKeyBatch, rng_);
    if (!prekeys) return ProtocolFailed(prekeys.error());
    CLIENT_TRY_STORE(store_->Begin());
    for (const auto& p : *prekeys) {
      if (!store_->StorePreKey(p)) {
        store_->Rollback();
        return Fail(ClientErrc::kStorage, "cannot store prekeys");
      }
    }
    std::uint32_t after = prekeys->back().id.value() + 1;
    if (after >= wire::kMaxPreKeyId) after = 1;
    if (auto s = store_->SetCounter("next_prekey_id", after); !s) {
      store_->Rollback();
      return StoreFailed(s.error());
    }
    CLIENT_TRY_STORE(store_->Commit());
    wire::UploadKeysRequest upload;
    upload.prekeys = WirePreKeys(*prekeys);
    auto response = CallLocked(std::move(upload));
    if (!response) return tl::unexpected(response.error());
    if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
    return {};
  }

  ClientStatus WaitUntilDrained(std::chrono::milliseconds limit) {
    std::unique_lock lock(drain_mutex_);
    if (!drain_cv_.wait_for(lock, limit, [this] { return drained_; })) {
      return Fail(ClientErrc::kTimeout, "the server's queue was not drained in time");
    }
    return {};
  }

  void StopConnectionLocked(std::unique_lock<std::mutex>& lock) {
    auto connection = std::move(connection_);
    lock.unlock();
    if (connection) connection->Stop();
    lock.lock();
  }

  void Disconnect() {
    std::unique_ptr<Connection> connection;
    {
      std::lock_guard lock(mutex_);
      connection = std::move(connection_);
    }
    if (connection) connection->Stop();
    StopWorker();
  }

  bool connected() {
    std::lock_guard lock(mutex_);
    return connection_ && connection_->ready();
  }

  ClientResult<wire::Response> CallLocked(wire::RequestBody body) {
    if (!connection_) return Fail(ClientErrc::kNetwork, "not connected");
    return connection_->Call(std::move(body), options_.request_timeout);
  }

  // ---- receive worker ----

  void StartWorker() {
    std::lock_guard lock(queue_mutex_);
    if (worker_.joinable()) return;
    stop_worker_ = false;
    worker_ = std::thread([this] { WorkerLoop(); });
  }

  void StopWorker() {
    {
      std::lock_guard lock(queue_mutex_);
      stop_worker_ = true;
      queue_.clear();
    }
    queue_cv_.notify_all();
    if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
  }

  void Enqueue(wire::Push push) {
    {
      std::lock_guard lock(queue_mutex_);
      queue_.push_back(std::move(push));
    }
    queue_cv_.notify_one();
  }

  void WorkerLoop() {
    for (;;) {
      wire::Push push;
      {
        std::unique_lock lock(queue_mutex_);
        queue_cv_.wait(lock, [this] { return stop_worker_ || !queue_.empty(); });
        if (stop_worker_) return;
        push = std::move(queue_.front());
        queue_.pop_front();
      }
      HandlePush(std::move(push));
    }
  }

  void HandlePush(wire::Push push) {
    std::vector<Event> events;
    bool ack = true;
    {
      std::unique_lock lock(mutex_);
      if (!account_ || !connection_) return;
      if (auto* envelope = std::get_if<wire::Envelope>(&push.body)) {
        ack = HandleEnvelopeLocked(*envelope, events);
      } else if (std::holds_alternative<wire::PreKeysLow>(push.body)) {
        (void)ReplenishPreKeysLocked();
      }
      if (ack && connection_) connection_->Ack(push.id);
    }
    if (std::holds_alternative<wire::QueueEmpty>(push.body)) {
      {
        std::lock_guard lock(drain_mutex_);
        drained_ = true;
      }
      drain_cv_.notify_all();
      events.push_back(QueueDrained{});
    }
    Emit(events);
  }

  // Decrypts, stores and applies one envelope. Returns false when it must
  // not be acknowledged (the store could not commit: the server will push
  // it again).
  bool HandleEnvelopeLocked(const wire::Envelope& envelope, std::vector<Event>& events) {
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
              : protocol::ProtocolResult<SecretBuffer>(
                    Fail(ProtocolErrc::kMalformed, "unknown envelope type"));
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

    std::vector<std::function<void()>> after_commit;
    auto content = DecodeContent(plaintext->bytes());
    if (!content) {
      events.push_back(DecryptionFailed{envelope.sender, envelope.sender_device, ClientErrc::kProtocol});
    } else if (from_self) {
      if (!ApplySyncLocked(envelope, *content, events)) {
        store_->Rollback();
        return false;
      }
    } else if (!ApplyIncomingLocked(envelope, *content, contact, events, after_commit)) {
      store_->Rollback();
      return false;
    }
    if (!store_->MarkProcessed(envelope.sender, envelope.sender_device, cmid) || !store_->Commit()) {
      store_->Rollback();
      events.clear();
      return false;
    }
    for (auto& action : after_commit) action();
    return true;
  }

  void NoteIdentityChangeLocked(const AccountId& account, std::optional<store::Contact>& contact,
                                std::vector<Event>& events) {
    if (!contact) return;
    const bool was_verified = contact->verified;
    contact->identity_changed = true;
    (void)store_->SaveContact(*contact);
    events.push_back(IdentityChanged{account, contact->username, was_verified});
  }

  protocol::ProtocolStores Stores() { return {*store_, *store_, *store_, *store_}; }

  std::int64_t ExpiryFor(std::uint32_t seconds) const {
    return seconds == 0 ? 0 : clock_.NowMillis() + static_cast<std::int64_t>(seconds) * 1000;
  }

  MessageId ToMessageId(const ContentId& id) const {
    MessageId m{};
    std::copy(id.begin(), id.end(), m.begin());
    return m;
  }

  bool ApplyIncomingLocked(const wire::Envelope& envelope, const Content& content,
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
            StoredMessage m;
            m.id = ToMessageId(content.message_id);
            m.conversation = conversation;
            m.direction = Direction::kIncoming;
            m.sender = envelope.sender;
            m.sender_device = envelope.sender_device;
            m.sent_at_ms = static_cast<std::int64_t>(content.sent_at_ms);
            m.received_at_ms = clock_.NowMillis();
            // S2: a request keeps its text only; an attachment pointer is dropped unread.
            m.body = body.text;
            if (body.attachment && !request)
              m.body += (m.body.empty() ? "" : "\n") + std::string("[attachment]");
            m.status = MessageStatus::kReceived;
            if (body.quote) m.quote = ToMessageId(*body.quote);
            m.expires_at_ms = ExpiryFor(body.expire_seconds);
            m.request = request;
            auto current = store_->DisappearingSeconds(conversation);
            if (!current) return false;
            if (*current != body.expire_seconds &&
                !store_->SetDisappearingSeconds(conversation, body.expire_seconds)) {
              return false;
            }
            auto inserted = store_->InsertMessage(m);
            if (!inserted) return false;
            if (*inserted) {
              events.push_back(MessageReceived{m});
              if (!request) {
                const AccountId to = envelope.sender;
                const ContentId id = content.message_id;
                after_commit.push_back([this, to, id] {
                  Content receipt;
                  receipt.body = ReceiptBody{ReceiptKind::kDelivered, {id}};
                  (void)SendContentLocked(to, receipt, false);
                });
              }
            }
            return true;
          } else if constexpr (std::is_same_v<T, ReactionBody>) {
            auto target = store_->FindMessage(ToMessageId(body.target));
            if (!target) return false;
            if (!*target || (*target)->conversation != conversation) return true;
            if (!store_->SetReaction((*target)->id, envelope.sender, body.emoji)) return false;
            return PushUpdated((*target)->id, events);
          } else if constexpr (std::is_same_v<T, EditBody> || std::is_same_v<T, DeleteBody>) {
            auto target = store_->FindMessage(ToMessageId(body.target));
            if (!target) return false;
            // Only the author may edit or delete, and only in this conversation.
            if (!*target || (*target)->conversation != conversation || (*target)->sender != envelope.sender ||
                (*target)->deleted) {
              return true;
            }
            bool ok;
            if constexpr (std::is_same_v<T, EditBody>) {
              ok = static_cast<bool>(store_->EditMessage((*target)->id, body.text));
            } else {
              ok = static_cast<bool>(store_->DeleteMessageForEveryone((*target)->id));
            }
            if (!ok) return false;
            return PushUpdated((*target)->id, events);
          } else if constexpr (std::is_same_v<T, ReceiptBody>) {
            for (const ContentId& id : body.targets) {
              auto target = store_->FindMessage(ToMessageId(id));
              if (!target) return false;
              if (!*target || (*target)->conversation != conversation ||
                  (*target)->direction != Direction::kOutgoing) {
                continue;
              }
              const MessageStatus status =
                  body.kind == ReceiptKind::kRead ? MessageStatus::kRead : MessageStatus::kDelivered;
              if (!store_->UpdateStatus((*target)->id, status)) return false;
              if (!PushUpdated((*target)->id, events)) return false;
            }
            return true;
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

  // A copy of what another of our devices sent.
  bool ApplySyncLocked(const wire::Envelope& envelope, const Content& content, std::vector<Event>& events) {
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
            StoredMessage m;
            m.id = ToMessageId(content.message_id);
            m.conversation = conversation;
            m.direction = Direction::kOutgoing;
            m.sender = account_->account;
            m.sender_device = envelope.sender_device;
            m.sent_at_ms = static_cast<std::int64_t>(content.sent_at_ms);
            m.received_at_ms = m.sent_at_ms;
            m.body = body.text;
            m.status = MessageStatus::kSent;
            if (body.quote) m.quote = ToMessageId(*body.quote);
            m.expires_at_ms = ExpiryFor(body.expire_seconds);
            auto inserted = store_->InsertMessage(m);
            if (!inserted) return false;
            if (*inserted) events.push_back(MessageReceived{m});
            return true;
          } else if constexpr (std::is_same_v<T, ReactionBody>) {
            if (!store_->SetReaction(ToMessageId(body.target), account_->account, body.emoji)) return false;
            return PushUpdated(ToMessageId(body.target), events);
          } else if constexpr (std::is_same_v<T, EditBody>) {
            if (!store_->EditMessage(ToMessageId(body.target), body.text)) return false;
            return PushUpdated(ToMessageId(body.target), events);
          } else if constexpr (std::is_same_v<T, DeleteBody>) {
            if (!store_->DeleteMessageForEveryone(ToMessageId(body.target))) return false;
            return PushUpdated(ToMessageId(body.target), events);
          } else if constexpr (std::is_same_v<T, ReceiptBody>) {
            // Read on another of our devices.
            if (body.kind != ReceiptKind::kRead) return true;
            for (const ContentId& id : body.targets) {
              if (!store_->UpdateStatus(ToMessageId(id), MessageStatus::kSeen)) return false;
            }
            return true;
          } else if constexpr (std::is_same_v<T, TimerBody>) {
            return static_cast<bool>(store_->SetDisappearingSeconds(conversation, body.seconds));
          } else {
            return true;
          }
        },
        content.body);
  }

  bool PushUpdated(const MessageId& id, std::vector<Event>& events) {
    auto m = store_->FindMessage(id);
    if (!m) return false;
    if (*m) events.push_back(MessageUpdated{**m});
    return true;
  }

  // A request's sender states its username; it is shown only when the
  // server resolves that username to the same account.
  void ConfirmUsernameLocked(const AccountId& sender, const std::string& claimed) {
    if (!wire::IsValidUsername(claimed)) return;
    wire::GetBundlesRequest lookup;
    lookup.target = claimed;
    lookup.device_id = DeviceId(wire::kPrimaryDeviceId);
    auto response = CallLocked(std::move(lookup));
    if (!response || response->status != ResponseStatus::kOk) return;
    if (std::get<wire::BundlesResult>(response->body).account_id != sender) return;
    auto contact = store_->FindContact(sender);
    if (!contact || !*contact) return;
    (*contact)->username = claimed;
    (void)store_->SaveContact(**contact);
  }

  // ---- sending ----

  // Resolves a peer (username or account id) to an account, looking a
  // username up on the server when it is not a contact yet.
  ClientResult<store::Contact> ResolvePeerLocked(const std::string& peer, bool create) {
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
    if (!wire::IsValidUsername(peer))
      return Fail(ClientErrc::kInvalidArgument, "not a username or account id");
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

  // Starts sessions from bundles. A changed identity is taken for an
  // unverified contact (with a warning) and refused for a verified one.
  ClientStatus ProcessBundlesLocked(const AccountId& account, const std::vector<wire::DeviceBundle>& bundles,
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
        if (!store_->ReplaceIdentity(address, bundle->identity_key)) {
          return Fail(ClientErrc::kStorage, "cannot store an identity");
        }
        if (contact) {
          contact->identity_changed = true;
          CLIENT_TRY_STORE(store_->SaveContact(*contact));
          pending_events_.emplace_back(std::in_place_type<IdentityChanged>,
                                       IdentityChanged{account, contact->username, contact->verified});
          if (contact->verified) {
            return Fail(ClientErrc::kUntrustedIdentity,
                        "the verified contact's identity changed: verify again");
          }
        }
        built = builder.ProcessPreKeyBundle(*bundle, rng_);
      }
      if (!built) return ProtocolFailed(built.error());
    }
    return {};
  }

  ClientStatus FetchBundlesLocked(const AccountId& account, std::optional<DeviceId> device,
                                  std::optional<store::Contact>& contact) {
    wire::GetBundlesRequest request;
    request.target = account;
    request.device_id = device;
    auto response = CallLocked(std::move(request));
    if (!response) return tl::unexpected(response.error());
    if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
    return ProcessBundlesLocked(account, std::get<wire::BundlesResult>(response->body).devices, contact);
  }

  // Encrypts plaintext for every device of `account` we have a session with
  // (except this device) and sends it, repairing the device list as the
  // server asks. With `sync`, `account` is our own.
  ClientStatus SendToAccountLocked(const AccountId& account, Bytes plaintext, bool sync) {
    std::optional<store::Contact> contact;
    if (!sync) {
      CLIENT_ASSIGN_STORE(found, store_->FindContact(account));
      contact = found;
    }
    wire::ClientMessageId cmid{};
    rng_.Fill(cmid);
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
      if (response->status == ResponseStatus::kOk) return {};
      if (response->status != ResponseStatus::kMismatchedDevices) return StatusFailed(*response);
      const auto& mismatch = std::get<wire::MismatchedDevices>(response->body);
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
    }
    return Fail(ClientErrc::kNetwork, "the message could not be delivered to the server");
  }

  // Sends content to a peer and, when `sync_copy`, to our other devices.
  ClientStatus SendContentLocked(const AccountId& to, Content content, bool sync_copy) {
    if (content.message_id == ContentId{}) content.message_id = RandomId(rng_);
    if (content.sent_at_ms == 0) content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
    if (!account_->username.empty()) content.sender_username = account_->username;
    auto encoded = EncodeContent(content);
    if (!encoded) return Fail(ClientErrc::kTooLarge, "the message breaks a rule of the content format");
    if (to != account_->account) CLIENT_TRY(SendToAccountLocked(to, encoded->bytes(), false));
    if (sync_copy) CLIENT_TRY(SendSyncLocked(to, std::move(content)));
    return {};
  }

  ClientStatus SendSyncLocked(const AccountId& destination, Content content) {
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
    return SendToAccountLocked(account_->account, encoded->bytes(), true);
  }

  ClientStatus CheckSendableLocked(const store::Contact& contact) {
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

  ClientResult<StoredMessage> SendText(const std::string& peer, const std::string& body,
                                       const std::optional<MessageId>& quote) {
    std::vector<Event> events;
    ClientResult<StoredMessage> result = [&]() -> ClientResult<StoredMessage> {
      std::unique_lock lock(mutex_);
      CLIENT_TRY(EnsureConnectedLocked());
      if (body.empty()) return Fail(ClientErrc::kInvalidArgument, "the message is empty");
      if (body.size() > kMaxTextBytes) return Fail(ClientErrc::kTooLarge, "the message is over 64 KiB");
      if (!IsWellFormedUtf8(body)) return Fail(ClientErrc::kInvalidArgument, "the message is not UTF-8");
      auto resolved = ResolvePeerLocked(peer, true);
      events.swap(pending_events_);
      if (!resolved) return tl::unexpected(resolved.error());
      store::Contact contact = *resolved;
      if (contact.account == account_->account) {
        return Fail(ClientErrc::kInvalidArgument,
                    "send to another account (a note to self is not supported)");
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

      Content content;
      content.message_id = RandomId(rng_);
      content.sent_at_ms = static_cast<std::uint64_t>(clock_.NowMillis());
      DataBody data;
      data.text = body;
      if (quote) {
        ContentId q{};
        std::copy(quote->begin(), quote->end(), q.begin());
        data.quote = q;
      }
      data.expire_seconds = timer;
      content.body = std::move(data);

      StoredMessage m;
      m.id = ToMessageId(content.message_id);
      m.conversation = conversation;
      m.direction = Direction::kOutgoing;
      m.sender = account_->account;
      m.sender_device = account_->device;
      m.sent_at_ms = static_cast<std::int64_t>(content.sent_at_ms);
      m.received_at_ms = m.sent_at_ms;
      m.body = body;
      m.status = MessageStatus::kSending;
      m.quote = quote;
      m.expires_at_ms = ExpiryFor(timer);
      CLIENT_ASSIGN_STORE(inserted, store_->InsertMessage(m));
      (void)inserted;
      auto sent = SendContentLocked(contact.account, std::move(content), true);
      m.status = sent ? MessageStatus::kSent : MessageStatus::kFailed;
      CLIENT_TRY_STORE(store_->UpdateStatus(m.id, m.status));
      events.insert(events.end(), pending_events_.begin(), pending_events_.end());
      pending_events_.clear();
      if (!sent) return tl::unexpected(sent.error());
      return m;
    }();
    Emit(events);
    return result;
  }

  // Sends a body about an existing message of a 1:1 conversation.
  ClientStatus SendAboutLocked(const ConversationId& conversation, ContentBody body, bool sync_copy) {
    CLIENT_TRY(EnsureConnectedLocked());
    auto peer = Uuid::Parse(conversation);
    if (!peer) return Fail(ClientErrc::kInvalidArgument, "not a 1:1 conversation");
    auto contact = ResolvePeerLocked(conversation, false);
    if (!contact) return tl::unexpected(contact.error());
    CLIENT_TRY(CheckSendableLocked(*contact));
    Content content;
    content.body = std::move(body);
    return SendContentLocked(AccountId(*peer), std::move(content), sync_copy);
  }

  ClientResult<StoredMessage> OwnMessageLocked(const ConversationId& conversation, const MessageId& id) {
    CLIENT_ASSIGN_STORE(found, store_->FindMessage(id));
    if (!found || found->conversation != conversation) return Fail(ClientErrc::kNotFound, "no such message");
    return *found;
  }

  static ContentId ToContentId(const MessageId& id) {
    ContentId c{};
    std::copy(id.begin(), id.end(), c.begin());
    return c;
  }

  ClientStatus React(const ConversationId& conversation, const MessageId& id, const std::string& emoji) {
    std::unique_lock lock(mutex_);
    if (emoji.size() > kMaxEmojiBytes || !IsWellFormedUtf8(emoji)) {
      return Fail(ClientErrc::kInvalidArgument, "a reaction is one emoji");
    }
    CLIENT_TRY(OwnMessageLocked(conversation, id));
    CLIENT_TRY(SendAboutLocked(conversation, ReactionBody{ToContentId(id), emoji}, true));
    CLIENT_TRY_STORE(store_->SetReaction(id, account_->account, emoji));
    return {};
  }

  ClientStatus Edit(const ConversationId& conversation, const MessageId& id, const std::string& body) {
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

  ClientStatus DeleteForEveryone(const ConversationId& conversation, const MessageId& id) {
    std::unique_lock lock(mutex_);
    auto m = OwnMessageLocked(conversation, id);
    if (!m) return tl::unexpected(m.error());
    if (m->direction != Direction::kOutgoing) {
      return Fail(ClientErrc::kInvalidArgument, "only our own messages can be deleted for everyone");
    }
    CLIENT_TRY(SendAboutLocked(conversation, DeleteBody{ToContentId(id)}, true));
    CLIENT_TRY_STORE(store_->DeleteMessageForEveryone(id));
    return {};
  }

  ClientStatus MarkRead(const ConversationId& conversation) {
    std::unique_lock lock(mutex_);
    if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
    CLIENT_ASSIGN_STORE(ids, store_->MarkConversationRead(conversation));
    if (ids.empty()) return {};
    auto peer = Uuid::Parse(conversation);
    if (!peer) return {};
    CLIENT_ASSIGN_STORE(contact, store_->FindContact(AccountId(*peer)));
    // S2: no read receipt to a message request (or a blocked account).
    if (!contact || contact->state != ContactState::kAccepted) return {};
    CLIENT_TRY(EnsureConnectedLocked());
    for (std::size_t at = 0; at < ids.size(); at += kMaxReceiptTargets) {
      ReceiptBody receipt{ReceiptKind::kRead, {}};
      for (std::size_t i = at; i < std::min(ids.size(), at + kMaxReceiptTargets); ++i) {
        receipt.targets.push_back(ToContentId(ids[i]));
      }
      Content content;
      content.body = std::move(receipt);
      CLIENT_TRY(SendContentLocked(AccountId(*peer), std::move(content), true));
    }
    return {};
  }

  ClientStatus SendTyping(const ConversationId& conversation, bool typing) {
    std::unique_lock lock(mutex_);
    if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
    auto peer = Uuid::Parse(conversation);
    if (!peer) return Fail(ClientErrc::kInvalidArgument, "not a 1:1 conversation");
    CLIENT_ASSIGN_STORE(contact, store_->FindContact(AccountId(*peer)));
    if (!contact || contact->state != ContactState::kAccepted) return {};
    return SendAboutLocked(conversation, TypingBody{typing}, false);
  }

  ClientStatus SetDisappearingTimer(const ConversationId& conversation, std::uint32_t seconds) {
    std::unique_lock lock(mutex_);
    if (seconds > kMaxDisappearingSeconds) return Fail(ClientErrc::kInvalidArgument, "at most one year");
    CLIENT_TRY(SendAboutLocked(conversation, TimerBody{seconds}, true));
    CLIENT_TRY_STORE(store_->SetDisappearingSeconds(conversation, seconds));
    return {};
  }

  ClientResult<std::size_t> ExpireMessages() {
    std::unique_lock lock(mutex_);
    CLIENT_ASSIGN_STORE(n, store_->DeleteExpiredMessages(clock_.NowMillis()));
    return n;
  }

  // ---- contacts ----

  ClientResult<std::vector<Contact>> Contacts(std::optional<ContactState> state) {
    std::unique_lock lock(mutex_);
    CLIENT_ASSIGN_STORE(list, store_->ListContacts(state));
    return list;
  }

  ClientResult<Contact> AddContact(const std::string& username) {
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

  ClientStatus SetState(const std::string& peer, ContactState state) {
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

  ClientResult<SafetyNumber> GetSafetyNumber(const std::string& peer) {
    std::unique_lock lock(mutex_);
    if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
    auto contact = ResolvePeerLocked(peer, false);
    if (!contact) return tl::unexpected(contact.error());
    return SafetyNumberLocked(*contact);
  }

  // Over each side's primary device (device 1) identity; linked devices'
  // identities are covered by the verified marks (docs/client.md).
  ClientResult<SafetyNumber> SafetyNumberLocked(const store::Contact& contact) {
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

  ClientStatus MarkVerified(const std::string& peer,
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

  // ---- history ----

  ClientResult<std::vector<Conversation>> Conversations() {
    std::unique_lock lock(mutex_);
    CLIENT_ASSIGN_STORE(list, store_->Conversations());
    return list;
  }

  ClientResult<std::vector<StoredMessage>> History(const ConversationId& conversation, std::size_t limit) {
    std::unique_lock lock(mutex_);
    CLIENT_ASSIGN_STORE(list, store_->History(conversation, limit));
    return list;
  }

  ClientResult<StoredMessage> GetMessage(const MessageId& id) {
    std::unique_lock lock(mutex_);
    CLIENT_ASSIGN_STORE(found, store_->FindMessage(id));
    if (!found) return Fail(ClientErrc::kNotFound, "no such message");
    return *found;
  }

 private:
  ClientOptions options_;
  SystemClock system_clock_;
  crypto::SystemRng system_rng_;
  const Clock& clock_;
  Rng& rng_;

  std::mutex mutex_;  // guards everything below up to the worker's own fields
  std::unique_ptr<store::ClientStore> store_;
  std::optional<store::LocalAccount> account_;
  std::unique_ptr<Connection> connection_;
  std::set<DeviceId> other_devices_;  // our account's devices other than this one
  std::vector<Event> pending_events_;

  std::mutex handler_mutex_;
  std::function<void(const Event&)> handler_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<wire::Push> queue_;
  bool stop_worker_ = false;
  std::thread worker_;

  std::mutex drain_mutex_;
  std::condition_variable drain_cv_;
  bool drained_ = false;
};

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
ClientStatus Client::SetUsername(const std::string& username) { return impl_->SetUsername(username); }
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
ClientResult<std::vector<Conversation>> Client::Conversations() { return impl_->Conversations(); }
ClientResult<std::vector<StoredMessage>> Client::History(const ConversationId& conversation,
                                                         std::size_t limit) {
  return impl_->History(conversation, limit);
}
ClientResult<StoredMessage> Client::GetMessage(const MessageId& id) { return impl_->GetMessage(id); }

}  // namespace parley::client
