// Account and device requests: Register, Authenticate, CreateLinkCode,
// LinkDevice, ListDevices, UnlinkDevice, SetUsername, DeleteAccount.
#include <spdlog/spdlog.h>

#include <array>
#include <string>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "server/admin_commands.h"
#include "server/request_handling.h"

namespace parley::server {
namespace {

using wire::ResponseStatus;

// 128 random bits in RFC 4648 base32 without padding: 26 characters of A-Z
// and 2-7, inside the QR alphanumeric set the wire asks for.
std::string NewLinkCode() {
  std::array<std::uint8_t, 16> random{};
  crypto::RandomBytes(random);
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string code;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : random) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      code.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1F]);
      bits -= 5;
    }
  }
  if (bits > 0) code.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1F]);
  crypto::RandomBytes(random);  // overwrite the secret bits
  return code;
}

}  // namespace

IssuedCredential IssueCredential() {
  IssuedCredential issued;
  crypto::RandomBytes(issued.secret.secret.bytes());
  issued.stored.salt.resize(kCredentialSaltSize);
  crypto::RandomBytes(issued.stored.salt);
  const crypto::HmacSha256Tag tag = crypto::HmacSha256(issued.stored.salt, issued.secret.secret.bytes());
  issued.stored.hash.assign(tag.begin(), tag.end());
  return issued;
}

bool CredentialMatches(const store::DeviceCredential& stored, const wire::DeviceCredential& credential) {
  const crypto::HmacSha256Tag tag = crypto::HmacSha256(stored.salt, credential.secret.bytes());
  return crypto::ConstantTimeEqual(tag, stored.hash);
}

void RequestFrameHandler::Impl::Register(DeviceSession& session, const wire::RegisterRequest& request,
                                         Reply& reply) {
  const std::uint64_t wait = registrations_per_address.Take(session.connection.address_key());
  if (wait != 0) {
    rate_limit_hits_registration.Increment();
    reply.RateLimited(wait, "too many registrations from this address");
    return;
  }
  std::optional<store::TokenHash> invitation;
  if (options.registration_mode == RegistrationMode::kInvitation) {
    if (!request.invitation_token) {
      reply.Error(ResponseStatus::kForbidden, "this server registers by invitation only");
      return;
    }
    invitation = InvitationTokenHash(*request.invitation_token);
  }
  if (!SignedPreKeyVerifies(request.identity_key, request.signed_prekey)) {
    reply.Error(ResponseStatus::kBadRequest, "the signed prekey signature does not verify");
    return;
  }
  crypto::SystemRng rng;
  IssuedCredential credential = IssueCredential();
  store::NewAccount account;
  account.id = AccountId(Uuid::Random(rng));
  account.username = request.username;
  account.primary.registration_id = request.registration_id;
  account.primary.name = request.device_name.value_or("");
  account.primary.credential = credential.stored;
  account.primary.keys = NewDeviceKeysFrom(request.identity_key, request.signed_prekey, request.prekeys);
  account.invitation = invitation;
  auto created = store.CreateAccount(account);
  if (!created) {
    switch (created.error().code) {
      case store::StoreErrc::kConflict:
        reply.Error(ResponseStatus::kConflict, "the username is taken");
        return;
      case store::StoreErrc::kNotFound:
      case store::StoreErrc::kAlreadyUsed:
      case store::StoreErrc::kExpired:
        reply.Error(ResponseStatus::kForbidden, "the invitation is unknown, used or expired");
        return;
      case store::StoreErrc::kInvalidArgument:
        reply.Error(ResponseStatus::kBadRequest, "the account was refused by the store");
        return;
      default:
        StoreFailure(reply, created.error().code, "create_account");
        return;
    }
  }
  const store::DeviceAddress address{account.id, DeviceId(wire::kPrimaryDeviceId)};
  spdlog::info("event=account_registered account={}", account.id.value().ToString());
  reply.Ok(wire::RegisterResult{account.id, address.device, std::move(credential.secret)});
  BeginDeviceSession(session, DeviceKey{address.account, address.device});
}

void RequestFrameHandler::Impl::Authenticate(DeviceSession& session, const wire::AuthenticateRequest& request,
                                             Reply& reply) {
  auto device = store.GetDevice({request.account_id, request.device_id});
  bool matches = false;
  if (device) {
    matches = CredentialMatches(device->credential, request.credential);
  } else if (device.error().code == store::StoreErrc::kNotFound) {
    // Same work as for a known device, so timing does not tell them apart.
    const store::DeviceCredential absent{std::vector<std::uint8_t>(kCredentialSaltSize),
                                         std::vector<std::uint8_t>(32)};
    (void)CredentialMatches(absent, request.credential);
  } else {
    StoreFailure(reply, device.error().code, "get_device");
    return;
  }
  if (!matches) {
    metrics.authentication_failures.Increment();
    reply.Error(ResponseStatus::kUnauthorized, "no such device or wrong credential");
    if (++session.failed_authentications >= options.max_failed_authentications) {
      session.connection.Close(CloseCode::kPolicyViolation, "too many failed authentications");
    }
    return;
  }
  auto account = store.GetAccount(request.account_id);
  if (!account) {
    if (account.error().code == store::StoreErrc::kNotFound) {
      reply.Error(ResponseStatus::kUnauthorized, "no such device or wrong credential");
    } else {
      StoreFailure(reply, account.error().code, "get_account");
    }
    return;
  }
  if (account->disabled) {
    reply.Error(ResponseStatus::kForbidden, "the account is disabled");
    return;
  }
  reply.Ok();
  BeginDeviceSession(session, DeviceKey{request.account_id, request.device_id}, device->last_seen_ms);
}

void RequestFrameHandler::Impl::CreateLinkCode(DeviceSession& session, Reply& reply) {
  if (session.device->device.value() != wire::kPrimaryDeviceId) {
    reply.Error(ResponseStatus::kForbidden, "only the primary device links devices");
    return;
  }
  // Each code is a stored row until it is used or purged: the bucket bounds
  // how many one account can keep.
  if (const std::uint64_t wait = link_codes_per_account.Take(session.device->account.value().ToString());
      wait != 0) {
    rate_limit_hits_link_codes.Increment();
    reply.RateLimited(wait, "too many link codes for this account");
    return;
  }
  auto devices = store.ListDevices(session.device->account);
  if (!devices) {
    StoreFailure(reply, devices.error().code, "list_devices");
    return;
  }
  if (devices->size() >= wire::kMaxDevicesPerAccount) {
    reply.Error(ResponseStatus::kConflict, "the account already has the most devices allowed");
    return;
  }
  std::string code = NewLinkCode();
  const std::int64_t expires_ms = clock.NowMillis() + options.link_code_validity_ms;
  if (auto stored =
          store.CreateProvisioningCode(InvitationTokenHash(code), session.device->account, expires_ms);
      !stored) {
    StoreFailure(reply, stored.error().code, "create_provisioning_code");
    return;
  }
  reply.Ok(wire::CreateLinkCodeResult{std::move(code), static_cast<std::uint64_t>(expires_ms)});
}

void RequestFrameHandler::Impl::LinkDevice(DeviceSession& session, const wire::LinkDeviceRequest& request,
                                           Reply& reply) {
  const std::uint64_t wait = registrations_per_address.Take(session.connection.address_key());
  if (wait != 0) {
    rate_limit_hits_registration.Increment();
    reply.RateLimited(wait, "too many link attempts from this address");
    return;
  }
  if (!SignedPreKeyVerifies(request.identity_key, request.signed_prekey)) {
    reply.Error(ResponseStatus::kBadRequest, "the signed prekey signature does not verify");
    return;
  }
  IssuedCredential credential = IssueCredential();
  store::NewDevice device{request.registration_id, request.device_name, credential.stored,
                          NewDeviceKeysFrom(request.identity_key, request.signed_prekey, request.prekeys)};
  auto linked = store.LinkDevice(InvitationTokenHash(request.code), device);
  if (!linked) {
    switch (linked.error().code) {
      case store::StoreErrc::kNotFound:
      case store::StoreErrc::kAlreadyUsed:
        reply.Error(ResponseStatus::kNotFound, "unknown or used link code");
        return;
      case store::StoreErrc::kExpired:
        reply.Error(ResponseStatus::kGone, "the link code expired");
        return;
      case store::StoreErrc::kLimitExceeded:
        reply.Error(ResponseStatus::kConflict, "the account already has the most devices allowed");
        return;
      case store::StoreErrc::kInvalidArgument:
        reply.Error(ResponseStatus::kBadRequest, "the device was refused by the store");
        return;
      default:
        StoreFailure(reply, linked.error().code, "link_device");
        return;
    }
  }
  const store::DeviceAddress address = linked->address;
  reply.Ok(wire::LinkDeviceResult{address.account, address.device, std::move(credential.secret)});
  BeginDeviceSession(session, DeviceKey{address.account, address.device});
}

void RequestFrameHandler::Impl::ListDevices(DeviceSession& session, Reply& reply) {
  auto devices = store.ListDevices(session.device->account);
  if (!devices) {
    StoreFailure(reply, devices.error().code, "list_devices");
    return;
  }
  wire::ListDevicesResult result;
  for (const store::DeviceRecord& record : *devices) {
    wire::DeviceInfo info;
    info.id = record.address.device;
    if (!record.name.empty()) info.name = record.name;
    info.created_at_ms = static_cast<std::uint64_t>(record.created_ms);
    info.last_seen_at_ms = static_cast<std::uint64_t>(record.last_seen_ms);
    result.devices.push_back(std::move(info));
  }
  reply.Ok(std::move(result));
}

void RequestFrameHandler::Impl::UnlinkDevice(DeviceSession& session, const wire::UnlinkDeviceRequest& request,
                                             Reply& reply) {
  const DeviceId target = request.device_id;
  if (target.value() == wire::kPrimaryDeviceId) {
    reply.Error(ResponseStatus::kForbidden, "the primary device cannot be unlinked; delete the account");
    return;
  }
  if (session.device->device.value() != wire::kPrimaryDeviceId && target != session.device->device) {
    reply.Error(ResponseStatus::kForbidden, "a companion device may unlink only itself");
    return;
  }
  const DeviceKey key{session.device->account, target};
  if (auto removed = store.RemoveDevice({key.account, key.device}); !removed) {
    if (removed.error().code == store::StoreErrc::kNotFound) {
      reply.Error(ResponseStatus::kNotFound, "no such device");
    } else {
      StoreFailure(reply, removed.error().code, "remove_device");
    }
    return;
  }
  reply.Ok();
  Disconnect(key, "device unlinked");
}

void RequestFrameHandler::Impl::SetUsername(DeviceSession& session, const wire::SetUsernameRequest& request,
                                            Reply& reply) {
  // A conflict tells that the name exists: limited with the username lookups.
  if (!TakePreKeyFetch(session, reply, "too many username changes")) return;
  auto changed = store.ChangeUsername(session.device->account, request.username);
  if (!changed) {
    switch (changed.error().code) {
      case store::StoreErrc::kConflict:
        reply.Error(ResponseStatus::kConflict, "the username is taken");
        return;
      case store::StoreErrc::kNotFound:
        reply.Error(ResponseStatus::kNotFound, "no such account");
        return;
      case store::StoreErrc::kInvalidArgument:
        reply.Error(ResponseStatus::kBadRequest, "the username was refused by the store");
        return;
      default:
        StoreFailure(reply, changed.error().code, "change_username");
        return;
    }
  }
  reply.Ok();
}

void RequestFrameHandler::Impl::DeleteAccount(DeviceSession& session, Reply& reply) {
  if (session.device->device.value() != wire::kPrimaryDeviceId) {
    reply.Error(ResponseStatus::kForbidden, "only the primary device deletes the account");
    return;
  }
  const AccountId account = session.device->account;
  if (auto deleted = store.DeleteAccount(account); !deleted) {
    if (deleted.error().code == store::StoreErrc::kNotFound) {
      reply.Error(ResponseStatus::kNotFound, "no such account");
    } else {
      StoreFailure(reply, deleted.error().code, "delete_account");
    }
    return;
  }
  spdlog::info("event=account_deleted account={}", account.value().ToString());
  if (options.account_deleted) options.account_deleted();
  reply.Ok();
  for (std::uint32_t id = 1; id <= wire::kMaxDeviceId; ++id)
    Disconnect({account, DeviceId(id)}, "account deleted");
}

}  // namespace parley::server
