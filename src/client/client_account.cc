// Client::Impl: opening the store, registering, linking, devices and prekeys.
#include "client/client_impl.h"

namespace parley::client {

namespace {

// What a RegisterRequest and a LinkDeviceRequest both carry: the new device's keys and name.
template <class NewDeviceRequest, class Keys>
void SetNewDeviceKeys(NewDeviceRequest& request, const Keys& keys, const std::string& device_name) {
  request.registration_id = keys.registration_id;
  request.identity_key = keys.identity.public_key.Serialize();
  request.signed_prekey = WireSignedPreKey(keys.signed_prekey);
  request.prekeys = WirePreKeys(keys.prekeys);
  request.device_name = device_name;
}

}  // namespace

ClientStatus Client::Impl::Open() {
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
  StartExpiryTimer();
  return {};
}

std::optional<AccountInfo> Client::Impl::account() {
  std::lock_guard lock(mutex_);
  return InfoLocked();
}

std::optional<AccountInfo> Client::Impl::InfoLocked() const {
  if (!account_) return std::nullopt;
  return AccountInfo{account_->account, account_->device, account_->username,
                     ServerAddress{account_->host, account_->port, account_->pin}};
}

ClientResult<Client::Impl::NewDeviceKeys> Client::Impl::MakeDeviceKeys() {
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

ClientResult<AccountInfo> Client::Impl::Register(const ServerAddress& server, const std::string& username,
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
  SetNewDeviceKeys(request, *keys, device_name);
  auto response = CallNewDeviceLocked(lock, std::move(request));
  if (!response) return tl::unexpected(response.error());
  const auto& result = std::get<wire::RegisterResult>(response->body);
  return SaveNewAccount(server, username, result.account_id, result.device_id, result.credential);
}

ClientResult<wire::Response> Client::Impl::CallNewDeviceLocked(std::unique_lock<std::mutex>& lock,
                                                               wire::RequestBody body) {
  auto response = CallLocked(std::move(body));
  if (response && response->status == ResponseStatus::kOk) return response;
  // No account came of it: the connection made for it goes.
  StopConnectionLocked(lock);
  if (!response) return tl::unexpected(response.error());
  return StatusFailed(*response);
}

ClientResult<AccountInfo> Client::Impl::Link(const ServerAddress& server, const std::string& code,
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
  SetNewDeviceKeys(request, *keys, device_name);
  auto response = CallNewDeviceLocked(lock, std::move(request));
  if (!response) return tl::unexpected(response.error());
  const auto& result = std::get<wire::LinkDeviceResult>(response->body);
  return SaveNewAccount(server, "", result.account_id, result.device_id, result.credential);
}

ClientResult<AccountInfo> Client::Impl::SaveNewAccount(const ServerAddress& server,
                                                       const std::string& username, const AccountId& account,
                                                       DeviceId device,
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
  connection_->SetAuthentication(AuthenticationFor(local));
  account_ = std::move(local);
  RefreshOwnDevicesLocked(OwnDeviceSync::kLinked);
  return *InfoLocked();
}

ClientResult<LinkCode> Client::Impl::CreateLinkCode() {
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

ClientResult<std::vector<DeviceSummary>> Client::Impl::ListDevices() {
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
  RefreshOwnDevicesLocked(OwnDeviceSync::kListed);  // sends the groups to a newly linked device
  return out;
}

ClientStatus Client::Impl::UnlinkDevice(DeviceId device) {
  std::unique_lock lock(mutex_);
  CLIENT_TRY(EnsureConnectedLocked());
  auto response = CallLocked(wire::UnlinkDeviceRequest{device});
  if (!response) return tl::unexpected(response.error());
  if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
  (void)store_->DeleteSession({AccountName(account_->account), device});
  other_devices_.erase(device);
  return {};
}

ClientStatus Client::Impl::SetUsername(const std::string& username) {
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

void Client::Impl::RotateSignedPreKeyLocked() {
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

ClientStatus Client::Impl::ReplenishPreKeysLocked() {
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

ClientStatus Client::Impl::DeleteAccount() {
  std::unique_lock lock(mutex_);
  CLIENT_TRY(EnsureConnectedLocked());
  if (account_->device.value() != wire::kPrimaryDeviceId) {
    return Fail(ClientErrc::kForbidden, "only the primary device deletes the account");
  }
  auto response = CallLocked(wire::DeleteAccountRequest{});
  if (!response) return tl::unexpected(response.error());
  if (response->status != ResponseStatus::kOk) return StatusFailed(*response);
  StopConnectionLocked(lock);
  // Wipe the profile: close the store, remove its files, open an empty one.
  store_.reset();
  account_.reset();
  other_devices_.clear();
  for (const char* name : {"parley.db", "parley.db-wal", "parley.db-shm", "parley.db-journal"}) {
    std::error_code ec;
    std::filesystem::remove(options_.data_dir / name, ec);
    if (ec) return Fail(ClientErrc::kStorage, "cannot remove the profile's store");
  }
  return Open();
}

}  // namespace parley::client
