// Key requests: UploadKeys, GetPreKeyCount, GetBundles, LookupUsername,
// GetIdentityKeys; and storing the keys of a new device (Register,
// LinkDevice).
#include <spdlog/spdlog.h>

#include <string>
#include <variant>

#include "crypto/x25519.h"
#include "crypto/xeddsa.h"
#include "server/request_handling.h"

namespace parley::server {
namespace {

using wire::ResponseStatus;

store::SignedPreKeyRecord ToRecord(const wire::SignedPreKey& key) {
  return {key.id, key.public_key, key.signature};
}

std::vector<store::OneTimePreKeyRecord> ToRecords(const std::vector<wire::OneTimePreKey>& keys) {
  std::vector<store::OneTimePreKeyRecord> records;
  records.reserve(keys.size());
  for (const wire::OneTimePreKey& key : keys) records.push_back({key.id, key.public_key});
  return records;
}

}  // namespace

bool SignedPreKeyVerifies(const wire::PublicKeyBytes& identity, const wire::SignedPreKey& signed_prekey) {
  auto key = crypto::PublicKey::Deserialize(identity);
  if (!key) return false;
  // The signature covers the serialized (33-byte) public key, as in libsignal.
  return crypto::XEdDsaVerify(*key, signed_prekey.public_key, signed_prekey.signature);
}

store::NewDeviceKeys NewDeviceKeysFrom(const wire::PublicKeyBytes& identity,
                                       const wire::SignedPreKey& signed_prekey,
                                       const std::vector<wire::OneTimePreKey>& prekeys) {
  return {identity, ToRecord(signed_prekey), ToRecords(prekeys)};
}

void RequestFrameHandler::Impl::UploadKeys(DeviceSession& session, const wire::UploadKeysRequest& request,
                                           Reply& reply) {
  const store::DeviceAddress address{session.device->account, session.device->device};
  if (request.signed_prekey) {
    auto identity = store.GetIdentityKey(address);
    if (!identity) {
      StoreFailure(reply, identity.error().code, "get_identity_key");
      return;
    }
    if (!SignedPreKeyVerifies(*identity, *request.signed_prekey)) {
      reply.Error(ResponseStatus::kBadRequest, "the signed prekey signature does not verify");
      return;
    }
    if (auto set = store.SetSignedPreKey(address, ToRecord(*request.signed_prekey)); !set) {
      StoreFailure(reply, set.error().code, "set_signed_prekey");
      return;
    }
  }
  if (!request.prekeys.empty()) {
    auto added = store.AddOneTimePreKeys(address, ToRecords(request.prekeys));
    if (!added) {
      if (added.error().code == store::StoreErrc::kLimitExceeded) {
        reply.Error(ResponseStatus::kTooLarge, "the device would hold too many one-time prekeys");
      } else {
        StoreFailure(reply, added.error().code, "add_one_time_prekeys");
      }
      return;
    }
  }
  reply.Ok();
}

void RequestFrameHandler::Impl::GetPreKeyCount(DeviceSession& session, Reply& reply) {
  auto count = store.CountOneTimePreKeys({session.device->account, session.device->device});
  if (!count) {
    StoreFailure(reply, count.error().code, "count_one_time_prekeys");
    return;
  }
  reply.Ok(wire::PreKeyCountResult{static_cast<std::uint32_t>(*count)});
}

bool RequestFrameHandler::Impl::TakePreKeyFetch(DeviceSession& session, Reply& reply, const char* what) {
  const std::uint64_t wait = bundle_fetches_per_account.Take(session.device->account.value().ToString());
  if (wait == 0) return true;
  rate_limit_hits_bundles.Increment();
  reply.RateLimited(wait, what);
  return false;
}

std::optional<AccountId> RequestFrameHandler::Impl::AccountOfUsername(const std::string& username,
                                                                      Reply& reply) {
  auto account = store.GetAccountByUsername(username);
  if (account) return account->id;
  if (account.error().code == store::StoreErrc::kNotFound) {
    reply.Error(ResponseStatus::kNotFound, "no such username");
  } else {
    StoreFailure(reply, account.error().code, "get_account_by_username");
  }
  return std::nullopt;
}

void RequestFrameHandler::Impl::LookupUsername(DeviceSession& session,
                                               const wire::LookupUsernameRequest& request, Reply& reply) {
  if (!TakePreKeyFetch(session, reply, "too many username lookups")) return;
  if (auto account = AccountOfUsername(request.username, reply))
    reply.Ok(wire::UsernameLookupResult{*account});
}

std::optional<std::pair<AccountId, std::vector<store::DeviceRecord>>>
RequestFrameHandler::Impl::TargetDevices(const std::variant<AccountId, std::string>& target, Reply& reply) {
  AccountId account;
  if (const auto* id = std::get_if<AccountId>(&target)) {
    account = *id;
  } else {
    auto named = AccountOfUsername(std::get<std::string>(target), reply);
    if (!named) return std::nullopt;
    account = *named;
  }
  auto devices = store.ListDevices(account);
  if (!devices) {
    if (devices.error().code == store::StoreErrc::kNotFound) {
      reply.Error(ResponseStatus::kNotFound, "no such account");
    } else {
      StoreFailure(reply, devices.error().code, "list_devices");
    }
    return std::nullopt;
  }
  return std::pair{account, std::move(*devices)};
}

void RequestFrameHandler::Impl::GetIdentityKeys(DeviceSession& session,
                                                const wire::GetIdentityKeysRequest& request, Reply& reply) {
  // No prekey is used up, but a username target tells whether it exists:
  // counted with the bundle fetches and username lookups.
  if (!TakePreKeyFetch(session, reply, "too many identity key fetches")) return;
  auto target = TargetDevices(request.target, reply);
  if (!target) return;
  wire::IdentityKeysResult result;
  result.account_id = target->first;
  for (const store::DeviceRecord& device : target->second) {
    if (request.device_id && device.address.device != *request.device_id) continue;
    auto identity = store.GetIdentityKey(device.address);
    if (!identity) {
      // A device without keys yet has no identity to check; leave it out.
      if (identity.error().code == store::StoreErrc::kNotFound) continue;
      StoreFailure(reply, identity.error().code, "get_identity_key");
      return;
    }
    result.devices.push_back({device.address.device, *identity});
  }
  if (result.devices.empty()) {
    reply.Error(ResponseStatus::kNotFound,
                request.device_id ? "no such device" : "the account has no device with keys");
    return;
  }
  reply.Ok(std::move(result));
}

void RequestFrameHandler::Impl::GetBundles(DeviceSession& session, const wire::GetBundlesRequest& request,
                                           Reply& reply) {
  // Each fetch consumes the target's prekeys: limited per requesting account.
  if (!TakePreKeyFetch(session, reply, "too many prekey bundle fetches")) return;
  auto target = TargetDevices(request.target, reply);
  if (!target) return;
  wire::BundlesResult result;
  result.account_id = target->first;
  std::vector<DeviceKey> consumed;
  for (const store::DeviceRecord& device : target->second) {
    if (request.device_id && device.address.device != *request.device_id) continue;
    auto bundle = store.TakePreKeyBundle(device.address);
    if (!bundle) {
      // A device without keys yet cannot be messaged; leave it out.
      if (bundle.error().code == store::StoreErrc::kNotFound) continue;
      StoreFailure(reply, bundle.error().code, "take_prekey_bundle");
      return;
    }
    wire::DeviceBundle entry;
    entry.device_id = bundle->address.device;
    entry.registration_id = bundle->registration_id;
    entry.identity_key = bundle->identity_key;
    entry.signed_prekey = {bundle->signed_prekey.id, bundle->signed_prekey.public_key,
                           bundle->signed_prekey.signature};
    if (bundle->one_time_prekey) {
      entry.prekey = wire::OneTimePreKey{bundle->one_time_prekey->id, bundle->one_time_prekey->public_key};
      consumed.push_back({bundle->address.account, bundle->address.device});
    }
    result.devices.push_back(std::move(entry));
  }
  if (result.devices.empty()) {
    reply.Error(ResponseStatus::kNotFound,
                request.device_id ? "no such device" : "the account has no device with keys");
    return;
  }
  reply.Ok(std::move(result));
  for (const DeviceKey& key : consumed) {
    auto count = store.CountOneTimePreKeys({key.account, key.device});
    if (count && *count < options.prekeys_low_threshold) NotifyPreKeysLow(key, *count);
  }
}

}  // namespace parley::server
