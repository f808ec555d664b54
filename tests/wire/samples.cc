#include "samples.h"

#include <array>

namespace parley::wire::testing {

PublicKeyBytes SampleKey(std::uint8_t seed) {
  PublicKeyBytes key{};
  key[0] = kDjbKeyType;
  for (std::size_t i = 1; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(seed + i);
  return key;
}

AccountId SampleAccount(std::uint8_t seed) {
  std::array<std::uint8_t, kAccountIdSize> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(seed * 7 + i);
  return AccountId(Uuid(bytes));
}

DeviceCredential SampleCredential(std::uint8_t seed) {
  std::array<std::uint8_t, kCredentialSize> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(seed ^ (i * 13));
  return DeviceCredential{SecretArray<kCredentialSize>(bytes)};
}

namespace {

SignatureBytes SampleSignature(std::uint8_t seed) {
  SignatureBytes signature{};
  for (std::size_t i = 0; i < signature.size(); ++i) signature[i] = static_cast<std::uint8_t>(seed + 3 * i);
  return signature;
}

ClientMessageId SampleMessageId(std::uint8_t seed) {
  ClientMessageId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xA0 + seed + i);
  return id;
}

std::vector<OneTimePreKey> SamplePreKeys(std::uint32_t first, std::size_t count) {
  std::vector<OneTimePreKey> prekeys;
  for (std::size_t i = 0; i < count; ++i) {
    prekeys.push_back(
        {PreKeyId(first + static_cast<std::uint32_t>(i)), SampleKey(static_cast<std::uint8_t>(i))});
  }
  return prekeys;
}

std::vector<std::uint8_t> SampleContent(std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> content(size);
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<std::uint8_t>(seed + i * 31);
  return content;
}

OutgoingMessage SampleOutgoing(std::uint32_t device) {
  return {DeviceId(device), RegistrationId(1000 + device), 3,
          SampleContent(40 + device, static_cast<std::uint8_t>(device))};
}

}  // namespace

template <>
SignedPreKey Sample() {
  return {SignedPreKeyId(0xABCDEF), SampleKey(1), SampleSignature(2)};
}

template <>
OneTimePreKey Sample() {
  return {PreKeyId(kMaxPreKeyId), SampleKey(3)};
}

template <>
RegisterRequest Sample() {
  RegisterRequest r;
  r.username = "Alice_1.test";
  r.invitation_token = "invite-7Qx!";
  r.registration_id = RegistrationId(kMaxRegistrationId);
  r.identity_key = SampleKey(4);
  r.signed_prekey = Sample<SignedPreKey>();
  r.prekeys = SamplePreKeys(1, 3);
  r.device_name = "Alice's phone \xE2\x98\x8E";
  return r;
}

template <>
AuthenticateRequest Sample() {
  return {SampleAccount(1), DeviceId(2), SampleCredential(5), 256};
}

template <>
CreateLinkCodeRequest Sample() {
  return {};
}

template <>
LinkDeviceRequest Sample() {
  LinkDeviceRequest r;
  r.code = "ABCDEFGHJKMNPQRSTUVWXYZ234";
  r.registration_id = RegistrationId(kMinRegistrationId);
  r.identity_key = SampleKey(6);
  r.signed_prekey = Sample<SignedPreKey>();
  r.prekeys = SamplePreKeys(500, 2);
  r.device_name = "laptop";
  return r;
}

template <>
ListDevicesRequest Sample() {
  return {};
}

template <>
UnlinkDeviceRequest Sample() {
  return {DeviceId(kMaxDeviceId)};
}

template <>
SetUsernameRequest Sample() {
  return {"bob.b"};
}

template <>
DeleteAccountRequest Sample() {
  return {};
}

template <>
UploadKeysRequest Sample() {
  return {Sample<SignedPreKey>(), SamplePreKeys(0, 4)};
}

template <>
GetPreKeyCountRequest Sample() {
  return {};
}

template <>
GetBundlesRequest Sample() {
  return {SampleAccount(2), DeviceId(3)};
}

template <>
LookupUsernameRequest Sample() {
  return {"carol.c"};
}

template <>
GetIdentityKeysRequest Sample() {
  return {SampleAccount(4), DeviceId(2)};
}

template <>
OutgoingMessage Sample() {
  return SampleOutgoing(1);
}

template <>
SendMessagesRequest Sample() {
  return {
      SampleAccount(3), SampleMessageId(1), {SampleOutgoing(1), SampleOutgoing(2), SampleOutgoing(5)}, true};
}

template <>
RecipientMessages Sample() {
  return {SampleAccount(4), SampleMessageId(2), {SampleOutgoing(1), SampleOutgoing(3)}};
}

template <>
SendMultiRecipientRequest Sample() {
  return {{Sample<RecipientMessages>(), {SampleAccount(5), SampleMessageId(3), {SampleOutgoing(2)}}}};
}

template <>
PingRequest Sample() {
  return {};
}

template <>
Request Sample() {
  return {7, Sample<SendMessagesRequest>()};
}

template <>
RegisterResult Sample() {
  return {SampleAccount(6), DeviceId(kPrimaryDeviceId), SampleCredential(7)};
}

template <>
LinkDeviceResult Sample() {
  return {SampleAccount(6), DeviceId(4), SampleCredential(8)};
}

template <>
CreateLinkCodeResult Sample() {
  return {"MFRGGZDFMZTWQ2LKNNWG23TPOA", 1'700'000'300'000};
}

template <>
DeviceInfo Sample() {
  return {DeviceId(2), "tablet", 1'700'000'000'000, 1'700'000'100'000};
}

template <>
ListDevicesResult Sample() {
  return {{{DeviceId(1), std::nullopt, 1'690'000'000'000, 1'700'000'200'000}, Sample<DeviceInfo>()}};
}

template <>
PreKeyCountResult Sample() {
  return {42};
}

template <>
DeviceBundle Sample() {
  return {DeviceId(1), RegistrationId(77), SampleKey(9), Sample<SignedPreKey>(), Sample<OneTimePreKey>()};
}

template <>
UsernameLookupResult Sample() {
  return {SampleAccount(8)};
}

template <>
DeviceIdentity Sample() {
  return {DeviceId(2), SampleKey(10)};
}

template <>
IdentityKeysResult Sample() {
  return {SampleAccount(9), {Sample<DeviceIdentity>(), {DeviceId(5), SampleKey(11)}}};
}

template <>
BundlesResult Sample() {
  DeviceBundle second = Sample<DeviceBundle>();
  second.device_id = DeviceId(3);
  second.prekey.reset();
  return {SampleAccount(7), {Sample<DeviceBundle>(), second}};
}

template <>
SendResult Sample() {
  return {1'700'000'400'000};
}

template <>
MismatchedDevices Sample() {
  return {{DeviceId(2), DeviceId(3)}, {DeviceId(9)}, {DeviceId(1)}};
}

template <>
RecipientResult Sample() {
  return {SampleAccount(8), ResponseStatus::kMismatchedDevices, Sample<MismatchedDevices>(), std::nullopt};
}

template <>
SendMultiRecipientResult Sample() {
  return {1'700'000'500'000,
          {{SampleAccount(4), ResponseStatus::kOk, std::nullopt, std::nullopt, 1'699'999'000'000},
           Sample<RecipientResult>(),
           {SampleAccount(9), ResponseStatus::kRateLimited, std::nullopt, 1500}}};
}

template <>
Response Sample() {
  return {7, ResponseStatus::kOk, "", std::nullopt, Sample<BundlesResult>()};
}

template <>
Envelope Sample() {
  return {123456789, 1'700'000'600'000,  SampleAccount(10),    DeviceId(2),
          1,         SampleMessageId(4), SampleContent(100, 9)};
}

template <>
QueueEmpty Sample() {
  return {};
}

template <>
PreKeysLow Sample() {
  return {5};
}

template <>
Push Sample() {
  return {99, Sample<Envelope>()};
}

template <>
PushAck Sample() {
  return {99};
}

std::vector<NamedFrame> SampleFrames() {
  std::vector<NamedFrame> frames;
  std::uint64_t id = 1;
  const auto request = [&](std::string name, RequestBody body) {
    frames.push_back({"request_" + name, Request{id++, std::move(body)}});
  };
  request("register", Sample<RegisterRequest>());
  RegisterRequest minimal_register = Sample<RegisterRequest>();
  minimal_register.invitation_token.reset();
  minimal_register.device_name.reset();
  minimal_register.prekeys.clear();
  request("register_minimal", minimal_register);
  request("authenticate", Sample<AuthenticateRequest>());
  request("create_link_code", Sample<CreateLinkCodeRequest>());
  request("link_device", Sample<LinkDeviceRequest>());
  request("list_devices", Sample<ListDevicesRequest>());
  request("unlink_device", Sample<UnlinkDeviceRequest>());
  request("set_username", Sample<SetUsernameRequest>());
  request("delete_account", Sample<DeleteAccountRequest>());
  request("upload_keys", Sample<UploadKeysRequest>());
  request("upload_signed_prekey_only", UploadKeysRequest{Sample<SignedPreKey>(), {}});
  request("upload_prekeys_only", UploadKeysRequest{std::nullopt, SamplePreKeys(9, 2)});
  request("get_prekey_count", Sample<GetPreKeyCountRequest>());
  request("get_bundles", Sample<GetBundlesRequest>());
  request("get_bundles_by_username", GetBundlesRequest{std::string("carol"), std::nullopt});
  request("lookup_username", Sample<LookupUsernameRequest>());
  request("get_identity_keys", Sample<GetIdentityKeysRequest>());
  request("get_identity_keys_by_username", GetIdentityKeysRequest{std::string("carol"), std::nullopt});
  request("send_messages", Sample<SendMessagesRequest>());
  SendMessagesRequest not_sync = Sample<SendMessagesRequest>();
  not_sync.sync = false;
  request("send_messages_not_sync", not_sync);
  request("send_multi_recipient", Sample<SendMultiRecipientRequest>());
  request("ping", Sample<PingRequest>());

  const auto response = [&](std::string name, ResponseStatus status, ResponseBody body,
                            std::optional<std::uint64_t> retry_after_ms = std::nullopt,
                            std::string detail = "") {
    frames.push_back(
        {"response_" + name, Response{id++, status, std::move(detail), retry_after_ms, std::move(body)}});
  };
  response("register", ResponseStatus::kOk, Sample<RegisterResult>());
  response("link_device", ResponseStatus::kOk, Sample<LinkDeviceResult>());
  response("create_link_code", ResponseStatus::kOk, Sample<CreateLinkCodeResult>());
  response("list_devices", ResponseStatus::kOk, Sample<ListDevicesResult>());
  response("prekey_count", ResponseStatus::kOk, Sample<PreKeyCountResult>());
  response("bundles", ResponseStatus::kOk, Sample<BundlesResult>());
  response("lookup_username", ResponseStatus::kOk, Sample<UsernameLookupResult>());
  response("identity_keys", ResponseStatus::kOk, Sample<IdentityKeysResult>());
  response("send", ResponseStatus::kOk, Sample<SendResult>());
  response("send_multi_recipient", ResponseStatus::kOk, Sample<SendMultiRecipientResult>());
  response("ok_empty", ResponseStatus::kOk, std::monostate{});
  response("mismatched_devices", ResponseStatus::kMismatchedDevices, Sample<MismatchedDevices>(),
           std::nullopt, "mismatched devices");
  response("rate_limited", ResponseStatus::kRateLimited, std::monostate{}, 30'000, "rate limited");
  for (ResponseStatus status :
       {ResponseStatus::kBadRequest, ResponseStatus::kUnauthorized, ResponseStatus::kForbidden,
        ResponseStatus::kNotFound, ResponseStatus::kConflict, ResponseStatus::kTooLarge,
        ResponseStatus::kQueueFull, ResponseStatus::kGone, ResponseStatus::kUnavailable,
        ResponseStatus::kInternal}) {
    response(std::string(ResponseStatusName(status)), status, std::monostate{});
  }
  response("unavailable_retry", ResponseStatus::kUnavailable, std::monostate{}, 5'000, "shutting down");

  frames.push_back({"push_envelope", Push{id++, Sample<Envelope>()}});
  frames.push_back({"push_queue_empty", Push{id++, QueueEmpty{}}});
  frames.push_back({"push_prekeys_low", Push{id++, Sample<PreKeysLow>()}});
  frames.push_back({"push_ack", PushAck{id++}});
  frames.push_back({"push_ack_max_id", PushAck{~std::uint64_t{0}}});
  return frames;
}

}  // namespace parley::wire::testing
