#include "wire/messages.h"

#include <type_traits>

namespace parley::wire {

bool operator==(const DeviceCredential& a, const DeviceCredential& b) {
  std::uint8_t difference = 0;
  for (std::size_t i = 0; i < kCredentialSize; ++i) difference |= a.secret.bytes()[i] ^ b.secret.bytes()[i];
  return difference == 0;
}

std::ostream& operator<<(std::ostream& os, const DeviceCredential& credential) {
  return os << credential.secret;
}

bool AllowedBeforeAuthentication(const RequestBody& body) {
  return std::holds_alternative<RegisterRequest>(body) || std::holds_alternative<AuthenticateRequest>(body) ||
         std::holds_alternative<LinkDeviceRequest>(body) || std::holds_alternative<PingRequest>(body);
}

namespace {

std::string_view NameOf(const RegisterRequest&) { return "register_account"; }
std::string_view NameOf(const AuthenticateRequest&) { return "authenticate"; }
std::string_view NameOf(const CreateLinkCodeRequest&) { return "create_link_code"; }
std::string_view NameOf(const LinkDeviceRequest&) { return "link_device"; }
std::string_view NameOf(const ListDevicesRequest&) { return "list_devices"; }
std::string_view NameOf(const UnlinkDeviceRequest&) { return "unlink_device"; }
std::string_view NameOf(const SetUsernameRequest&) { return "set_username"; }
std::string_view NameOf(const DeleteAccountRequest&) { return "delete_account"; }
std::string_view NameOf(const UploadKeysRequest&) { return "upload_keys"; }
std::string_view NameOf(const GetPreKeyCountRequest&) { return "get_prekey_count"; }
std::string_view NameOf(const GetBundlesRequest&) { return "get_bundles"; }
std::string_view NameOf(const LookupUsernameRequest&) { return "lookup_username"; }
std::string_view NameOf(const GetIdentityKeysRequest&) { return "get_identity_keys"; }
std::string_view NameOf(const SendMessagesRequest&) { return "send_messages"; }
std::string_view NameOf(const SendMultiRecipientRequest&) { return "send_multi_recipient"; }
std::string_view NameOf(const PingRequest&) { return "ping"; }

}  // namespace

std::string_view RequestName(const RequestBody& body) {
  return std::visit([](const auto& b) { return NameOf(b); }, body);
}

namespace {

// The body an ok Response carries for each request kind.
template <class Req>
struct OkBody {
  using type = std::monostate;
};
template <>
struct OkBody<RegisterRequest> {
  using type = RegisterResult;
};
template <>
struct OkBody<LinkDeviceRequest> {
  using type = LinkDeviceResult;
};
template <>
struct OkBody<CreateLinkCodeRequest> {
  using type = CreateLinkCodeResult;
};
template <>
struct OkBody<ListDevicesRequest> {
  using type = ListDevicesResult;
};
template <>
struct OkBody<GetPreKeyCountRequest> {
  using type = PreKeyCountResult;
};
template <>
struct OkBody<GetBundlesRequest> {
  using type = BundlesResult;
};
template <>
struct OkBody<LookupUsernameRequest> {
  using type = UsernameLookupResult;
};
template <>
struct OkBody<GetIdentityKeysRequest> {
  using type = IdentityKeysResult;
};
template <>
struct OkBody<SendMessagesRequest> {
  using type = SendResult;
};
template <>
struct OkBody<SendMultiRecipientRequest> {
  using type = SendMultiRecipientResult;
};

}  // namespace

bool IsExpectedResponse(const RequestBody& body, const Response& response) {
  switch (response.status) {
    case ResponseStatus::kOk:
      return std::visit(
          [&](const auto& b) {
            using Expected = typename OkBody<std::decay_t<decltype(b)>>::type;
            return std::holds_alternative<Expected>(response.body);
          },
          body);
    case ResponseStatus::kMismatchedDevices:
      return std::holds_alternative<SendMessagesRequest>(body) &&
             std::holds_alternative<MismatchedDevices>(response.body);
    default:
      return std::holds_alternative<std::monostate>(response.body);
  }
}

}  // namespace parley::wire
