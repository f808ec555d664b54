#include "wire/validate.h"

#include <algorithm>
#include <type_traits>

#include "wire/message_list.h"
#include "wire/text.h"
#include "wire/try.h"

namespace parley::wire {
namespace {

WireStatus Fine() { return Ok<WireErrc>(); }

// True when two entries of `keys` are equal; sorts its own copy.
template <class Key>
bool HasDuplicates(std::vector<Key> keys) {
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

WireStatus CheckKey(const PublicKeyBytes& key) {
  if (key[0] != kDjbKeyType) return Fail(WireErrc::kBadKeyType, "public key type is not 0x05");
  return Fine();
}

WireStatus CheckDeviceId(DeviceId id) {
  if (id.value() < kPrimaryDeviceId || id.value() > kMaxDeviceId) {
    return Fail(WireErrc::kOutOfRange, "device id outside 1..127");
  }
  return Fine();
}

WireStatus CheckRegistrationId(RegistrationId id) {
  if (id.value() < kMinRegistrationId || id.value() > kMaxRegistrationId) {
    return Fail(WireErrc::kOutOfRange, "registration id outside 1..16380");
  }
  return Fine();
}

WireStatus CheckPreKeyId(std::uint32_t id) {
  if (id > kMaxPreKeyId) return Fail(WireErrc::kOutOfRange, "prekey id over 24 bits");
  return Fine();
}

// Size first (kTooLarge), then the character set and minimum (kInvalidText).
WireStatus CheckText(std::string_view text, std::size_t max, bool (*valid)(std::string_view),
                     std::string_view what) {
  if (text.size() > max) return Fail(WireErrc::kTooLarge, what);
  if (!valid(text)) return Fail(WireErrc::kInvalidText, what);
  return Fine();
}

WireStatus CheckUsername(std::string_view s) {
  return CheckText(s, kMaxUsernameSize, IsValidUsername, "username must be 3-32 of a-z A-Z 0-9 _ .");
}

WireStatus CheckDeviceName(std::string_view s) {
  return CheckText(s, kMaxDeviceNameSize, IsValidDeviceName, "device name must be 1-64 bytes of UTF-8 text");
}

WireStatus CheckContent(const std::vector<std::uint8_t>& content) {
  if (content.empty()) return Fail(WireErrc::kMissingField, "empty content");
  if (content.size() > kMaxContentSize) return Fail(WireErrc::kTooLarge, "content over kMaxContentSize");
  return Fine();
}

// Counts run from 1 (or 0 when `may_be_empty`) to `max`.
template <class T>
WireStatus CheckCount(const std::vector<T>& list, std::size_t max, bool may_be_empty) {
  if (list.empty() && !may_be_empty) return Fail(WireErrc::kMissingField, "a list needs at least one entry");
  if (list.size() > max) return Fail(WireErrc::kTooMany, "a list is over its cap");
  return Fine();
}

// A list within its count, each entry valid, no two entries with the same
// key_of(entry).
template <class T, class KeyOf>
WireStatus CheckList(const std::vector<T>& list, std::size_t max, bool may_be_empty, KeyOf key_of);

// The rules that tie a status to the body and retry-after next to it.
WireStatus CheckOutcome(ResponseStatus status, bool has_body, bool body_is_mismatched, bool has_retry_after,
                        bool has_detail) {
  if (!IsKnownResponseStatus(static_cast<std::uint32_t>(status))) {
    return Fail(WireErrc::kUnknownEnumValue, "unknown response status");
  }
  switch (status) {
    case ResponseStatus::kOk:
      if (body_is_mismatched || has_retry_after || has_detail) {
        return Fail(WireErrc::kInconsistentFields, "ok with an error body, retry-after or error detail");
      }
      return Fine();
    case ResponseStatus::kMismatchedDevices:
      if (!body_is_mismatched)
        return Fail(WireErrc::kInconsistentFields, "mismatched_devices without its body");
      return Fine();
    case ResponseStatus::kRateLimited:
      if (!has_retry_after) return Fail(WireErrc::kMissingField, "rate_limited without retry_after_ms");
      break;
    default:
      break;
  }
  if (has_body) return Fail(WireErrc::kInconsistentFields, "an error status with a body");
  return Fine();
}

WireStatus Check(const SignedPreKey& k) {
  WIRE_TRY(CheckPreKeyId(k.id.value()));
  return CheckKey(k.public_key);
}

WireStatus Check(const OneTimePreKey& k) {
  WIRE_TRY(CheckPreKeyId(k.id.value()));
  return CheckKey(k.public_key);
}

WireStatus CheckPreKeys(const std::vector<OneTimePreKey>& prekeys) {
  return CheckList(prekeys, kMaxPreKeysPerUpload, true, [](const OneTimePreKey& k) { return k.id; });
}

// What Register and LinkDevice both carry about the new device.
template <class NewDevice>
WireStatus CheckNewDeviceKeys(const NewDevice& r) {
  WIRE_TRY(CheckRegistrationId(r.registration_id));
  WIRE_TRY(CheckKey(r.identity_key));
  WIRE_TRY(Check(r.signed_prekey));
  return CheckPreKeys(r.prekeys);
}

WireStatus Check(const RegisterRequest& r) {
  WIRE_TRY(CheckUsername(r.username));
  if (r.invitation_token) {
    WIRE_TRY(CheckText(*r.invitation_token, kMaxInvitationTokenSize, IsValidInvitationToken,
                       "invitation token must be 1-64 printable ASCII characters"));
  }
  WIRE_TRY(CheckNewDeviceKeys(r));
  if (r.device_name) WIRE_TRY(CheckDeviceName(*r.device_name));
  return Fine();
}

WireStatus Check(const AuthenticateRequest& r) {
  WIRE_TRY(CheckDeviceId(r.device_id));
  if (r.push_window && (*r.push_window == 0 || *r.push_window > kMaxPushWindow))
    return Fail(WireErrc::kOutOfRange, "push window must be 1-4096");
  return Fine();
}

WireStatus Check(const CreateLinkCodeRequest&) { return Fine(); }

WireStatus CheckLinkCode(std::string_view code) {
  return CheckText(code, kMaxLinkCodeSize, IsValidLinkCode, "link code must be 16-64 of A-Z 0-9");
}

WireStatus Check(const LinkDeviceRequest& r) {
  WIRE_TRY(CheckLinkCode(r.code));
  WIRE_TRY(CheckNewDeviceKeys(r));
  return CheckDeviceName(r.device_name);
}

WireStatus Check(const ListDevicesRequest&) { return Fine(); }

WireStatus Check(const UnlinkDeviceRequest& r) { return CheckDeviceId(r.device_id); }

WireStatus Check(const SetUsernameRequest& r) { return CheckUsername(r.username); }

WireStatus Check(const LookupUsernameRequest& r) { return CheckUsername(r.username); }

WireStatus Check(const DeleteAccountRequest&) { return Fine(); }

WireStatus Check(const UploadKeysRequest& r) {
  if (!r.signed_prekey && r.prekeys.empty()) return Fail(WireErrc::kMissingField, "an upload without keys");
  if (r.signed_prekey) WIRE_TRY(Check(*r.signed_prekey));
  return CheckPreKeys(r.prekeys);
}

WireStatus Check(const GetPreKeyCountRequest&) { return Fine(); }

template <class KeyRequest>
WireStatus CheckKeyTarget(const KeyRequest& r) {
  if (const auto* username = std::get_if<std::string>(&r.target)) WIRE_TRY(CheckUsername(*username));
  if (r.device_id) WIRE_TRY(CheckDeviceId(*r.device_id));
  return Fine();
}

WireStatus Check(const GetBundlesRequest& r) { return CheckKeyTarget(r); }

WireStatus Check(const GetIdentityKeysRequest& r) { return CheckKeyTarget(r); }

WireStatus Check(const OutgoingMessage& m) {
  WIRE_TRY(CheckDeviceId(m.device_id));
  WIRE_TRY(CheckRegistrationId(m.registration_id));
  return CheckContent(m.content);
}

WireStatus CheckOutgoing(const std::vector<OutgoingMessage>& messages) {
  return CheckList(messages, kMaxMessagesPerSend, false,
                   [](const OutgoingMessage& m) { return m.device_id; });
}

WireStatus Check(const SendMessagesRequest& r) { return CheckOutgoing(r.messages); }

WireStatus Check(const RecipientMessages& r) { return CheckOutgoing(r.messages); }

WireStatus Check(const SendMultiRecipientRequest& r) {
  return CheckList(r.recipients, kMaxRecipientsPerMultiSend, false,
                   [](const RecipientMessages& m) { return m.recipient; });
}

WireStatus Check(const PingRequest&) { return Fine(); }

WireStatus Check(const Request& r) {
  return std::visit([](const auto& body) { return Check(body); }, r.body);
}

WireStatus Check(const RegisterResult& r) {
  if (r.device_id.value() != kPrimaryDeviceId)
    return Fail(WireErrc::kOutOfRange, "a new account's device is 1");
  return Fine();
}

WireStatus Check(const LinkDeviceResult& r) {
  WIRE_TRY(CheckDeviceId(r.device_id));
  if (r.device_id.value() == kPrimaryDeviceId)
    return Fail(WireErrc::kOutOfRange, "a linked device is never 1");
  return Fine();
}

WireStatus Check(const CreateLinkCodeResult& r) { return CheckLinkCode(r.code); }

WireStatus Check(const DeviceInfo& d) {
  WIRE_TRY(CheckDeviceId(d.id));
  if (d.name) WIRE_TRY(CheckDeviceName(*d.name));
  return Fine();
}

WireStatus Check(const ListDevicesResult& r) {
  return CheckList(r.devices, kMaxDevicesPerAccount, false, [](const DeviceInfo& d) { return d.id; });
}

WireStatus Check(const PreKeyCountResult&) { return Fine(); }

WireStatus Check(const DeviceBundle& b) {
  WIRE_TRY(CheckDeviceId(b.device_id));
  WIRE_TRY(CheckRegistrationId(b.registration_id));
  WIRE_TRY(CheckKey(b.identity_key));
  WIRE_TRY(Check(b.signed_prekey));
  if (b.prekey) WIRE_TRY(Check(*b.prekey));
  return Fine();
}

WireStatus Check(const BundlesResult& r) {
  return CheckList(r.devices, kMaxDevicesPerAccount, false,
                   [](const DeviceBundle& b) { return b.device_id; });
}

WireStatus Check(const UsernameLookupResult&) { return Fine(); }

WireStatus Check(const DeviceIdentity& d) {
  WIRE_TRY(CheckDeviceId(d.device_id));
  return CheckKey(d.identity_key);
}

WireStatus Check(const IdentityKeysResult& r) {
  return CheckList(r.devices, kMaxDevicesPerAccount, false,
                   [](const DeviceIdentity& d) { return d.device_id; });
}

WireStatus Check(const SendResult&) { return Fine(); }

WireStatus Check(const MismatchedDevices& m) {
  std::vector<DeviceId> all;
  all.reserve(m.missing.size() + m.extra.size() + m.stale.size());
  for (const std::vector<DeviceId>* list : {&m.missing, &m.extra, &m.stale}) {
    WIRE_TRY(CheckCount(*list, kMaxDevicesPerAccount, true));
    for (DeviceId id : *list) {
      WIRE_TRY(CheckDeviceId(id));
      all.push_back(id);
    }
  }
  if (all.empty()) return Fail(WireErrc::kMissingField, "mismatched devices without a device");
  if (HasDuplicates(std::move(all))) return Fail(WireErrc::kDuplicateEntry, "one device twice");
  return Fine();
}

WireStatus Check(const RecipientResult& r) {
  WIRE_TRY(CheckOutcome(r.status, r.mismatched_devices.has_value(), r.mismatched_devices.has_value(),
                        r.retry_after_ms.has_value(), false));
  if (r.server_timestamp_ms && r.status != ResponseStatus::kOk) {
    return Fail(WireErrc::kInconsistentFields, "a server timestamp on a recipient that was not sent to");
  }
  if (r.mismatched_devices) WIRE_TRY(Check(*r.mismatched_devices));
  return Fine();
}

WireStatus Check(const SendMultiRecipientResult& r) {
  return CheckList(r.results, kMaxRecipientsPerMultiSend, false,
                   [](const RecipientResult& result) { return result.recipient; });
}

WireStatus Check(const std::monostate&) { return Fine(); }

WireStatus Check(const Response& r) {
  WIRE_TRY(CheckText(r.error_detail, kMaxErrorDetailSize, IsValidErrorDetail,
                     "error detail must be printable ASCII"));
  WIRE_TRY(CheckOutcome(r.status, !std::holds_alternative<std::monostate>(r.body),
                        std::holds_alternative<MismatchedDevices>(r.body), r.retry_after_ms.has_value(),
                        !r.error_detail.empty()));
  return std::visit([](const auto& body) { return Check(body); }, r.body);
}

WireStatus Check(const Envelope& e) {
  WIRE_TRY(CheckDeviceId(e.sender_device));
  return CheckContent(e.content);
}

WireStatus Check(const QueueEmpty&) { return Fine(); }

WireStatus Check(const PreKeysLow&) { return Fine(); }

WireStatus Check(const Push& p) {
  return std::visit([](const auto& body) { return Check(body); }, p.body);
}

WireStatus Check(const PushAck&) { return Fine(); }

template <class T, class KeyOf>
WireStatus CheckList(const std::vector<T>& list, std::size_t max, bool may_be_empty, KeyOf key_of) {
  WIRE_TRY(CheckCount(list, max, may_be_empty));
  std::vector<decltype(key_of(list.front()))> keys;
  keys.reserve(list.size());
  for (const T& entry : list) {
    WIRE_TRY(Check(entry));
    keys.push_back(key_of(entry));
  }
  if (HasDuplicates(std::move(keys)))
    return Fail(WireErrc::kDuplicateEntry, "two entries of a list are the same");
  return Fine();
}

template <class... Kinds>
WireStatus Check(const std::variant<Kinds...>& frame) {
  return std::visit([](const auto& kind) { return Check(kind); }, frame);
}

}  // namespace

template <class T>
WireStatus Validate(const T& message) {
  return Check(message);
}

#define WIRE_VALIDATE(T) template WireStatus Validate<T>(const T&);
PARLEY_WIRE_MESSAGES(WIRE_VALIDATE)
WIRE_VALIDATE(Frame)
WIRE_VALIDATE(ClientFrame)
WIRE_VALIDATE(ServerFrame)
#undef WIRE_VALIDATE

}  // namespace parley::wire
