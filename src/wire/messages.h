// The client-server frame schema as C++ types.
//
// One WebSocket binary message holds one Frame: a Request (client to server)
// or a PushAck from the client; a Response or a Push from the server. Each
// kind carries exactly one typed body, held in a std::variant, so a server
// dispatches with std::visit over RequestBody and a client over ResponseBody
// and PushBody. The field numbers are in docs/wire.proto; the rules (sizes,
// ranges, character sets) in docs/wire-protocol.md and wire/limits.h.
//
// Every type owns its bytes: a decoded frame does not point into the buffer it
// was read from. Byte strings are std::vector<std::uint8_t>, reserved to their
// exact size; fixed-size values are std::array. Every type compares with ==.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/secret.h"
#include "base/strong_id.h"
#include "base/uuid.h"
#include "wire/limits.h"
#include "wire/response_status.h"

namespace parley::wire {

// A Curve25519 public key in the Signal encoding: 0x05 then 32 bytes.
using PublicKeyBytes = std::array<std::uint8_t, kPublicKeySize>;
// An XEdDSA signature.
using SignatureBytes = std::array<std::uint8_t, kSignatureSize>;
// Chosen by the sender for each send; a retry with the same id from the same
// device is never queued twice.
using ClientMessageId = std::array<std::uint8_t, kClientMessageIdSize>;

// The random secret a device authenticates with. It wipes itself and prints
// as <redacted>. == compares every byte whatever the first difference (it is
// meant for tests; servers compare stored hashes).
struct DeviceCredential {
  SecretArray<kCredentialSize> secret;

  friend bool operator==(const DeviceCredential& a, const DeviceCredential& b);
};
std::ostream& operator<<(std::ostream& os, const DeviceCredential& credential);

// ---- Keys ----------------------------------------------------------------

struct SignedPreKey {
  SignedPreKeyId id;  // 0..kMaxPreKeyId
  PublicKeyBytes public_key{};
  SignatureBytes signature{};  // by the device's identity key over public_key

  friend bool operator==(const SignedPreKey&, const SignedPreKey&) = default;
};

struct OneTimePreKey {
  PreKeyId id;  // 0..kMaxPreKeyId
  PublicKeyBytes public_key{};

  friend bool operator==(const OneTimePreKey&, const OneTimePreKey&) = default;
};

// ---- Requests (client to server) ------------------------------------------

// Creates an account and its primary device (device 1). Unauthenticated.
struct RegisterRequest {
  std::string username;  // IsValidUsername
  std::optional<std::string>
      invitation_token;            // IsValidInvitationToken; needed when registration is by invitation
  RegistrationId registration_id;  // kMinRegistrationId..kMaxRegistrationId
  PublicKeyBytes identity_key{};
  SignedPreKey signed_prekey;
  std::vector<OneTimePreKey> prekeys;      // up to kMaxPreKeysPerUpload
  std::optional<std::string> device_name;  // IsValidDeviceName

  friend bool operator==(const RegisterRequest&, const RegisterRequest&) = default;
};

// Makes this connection act as (account, device). Unauthenticated.
struct AuthenticateRequest {
  AccountId account_id;
  DeviceId device_id;  // 1..kMaxDeviceId
  DeviceCredential credential;
  // How many unacknowledged envelope pushes the client can take at once
  // (1..kMaxPushWindow); the server grants at most its operator's cap.
  // Absent: the server's default window.
  std::optional<std::uint32_t> push_window{};

  friend bool operator==(const AuthenticateRequest&, const AuthenticateRequest&) = default;
};

// Asks for a one-time code with which a new device joins this account.
struct CreateLinkCodeRequest {
  friend bool operator==(const CreateLinkCodeRequest&, const CreateLinkCodeRequest&) = default;
};

// A new device joins the account that created `code`. Unauthenticated.
struct LinkDeviceRequest {
  std::string code;  // IsValidLinkCode
  RegistrationId registration_id;
  PublicKeyBytes identity_key{};
  SignedPreKey signed_prekey;
  std::vector<OneTimePreKey> prekeys;  // up to kMaxPreKeysPerUpload
  std::string device_name;             // IsValidDeviceName

  friend bool operator==(const LinkDeviceRequest&, const LinkDeviceRequest&) = default;
};

struct ListDevicesRequest {
  friend bool operator==(const ListDevicesRequest&, const ListDevicesRequest&) = default;
};

struct UnlinkDeviceRequest {
  DeviceId device_id;  // 1..kMaxDeviceId

  friend bool operator==(const UnlinkDeviceRequest&, const UnlinkDeviceRequest&) = default;
};

struct SetUsernameRequest {
  std::string username;  // IsValidUsername

  friend bool operator==(const SetUsernameRequest&, const SetUsernameRequest&) = default;
};

// Deletes the account, all its devices, keys and queues.
struct DeleteAccountRequest {
  friend bool operator==(const DeleteAccountRequest&, const DeleteAccountRequest&) = default;
};

// Replaces the signed prekey and/or adds one-time prekeys; at least one of
// the two is present.
struct UploadKeysRequest {
  std::optional<SignedPreKey> signed_prekey;
  std::vector<OneTimePreKey> prekeys;  // up to kMaxPreKeysPerUpload

  friend bool operator==(const UploadKeysRequest&, const UploadKeysRequest&) = default;
};

struct GetPreKeyCountRequest {
  friend bool operator==(const GetPreKeyCountRequest&, const GetPreKeyCountRequest&) = default;
};

// Fetches prekey bundles of every device of an account (or of one device).
struct GetBundlesRequest {
  // By account id, or by username (IsValidUsername).
  std::variant<AccountId, std::string> target;
  std::optional<DeviceId> device_id;

  friend bool operator==(const GetBundlesRequest&, const GetBundlesRequest&) = default;
};

// The account a username belongs to, without any prekey (a message
// request's stated username is checked with it; GetBundles would use up a
// one-time prekey of the sender).
struct LookupUsernameRequest {
  std::string username;  // IsValidUsername

  friend bool operator==(const LookupUsernameRequest&, const LookupUsernameRequest&) = default;
};

// The identity keys of every device of an account (or of one device), with
// nothing else: unlike GetBundles it uses up no one-time prekey, so a client
// that only needs to check a signature (a group change's author) leaves the
// owner's prekeys alone.
struct GetIdentityKeysRequest {
  // By account id, or by username (IsValidUsername).
  std::variant<AccountId, std::string> target;
  std::optional<DeviceId> device_id;

  friend bool operator==(const GetIdentityKeysRequest&, const GetIdentityKeysRequest&) = default;
};

// The ciphertext for one recipient device.
struct OutgoingMessage {
  DeviceId device_id;  // 1..kMaxDeviceId
  // The registration id the sender's session has for that device; a
  // different current one makes the device "stale".
  RegistrationId registration_id;
  std::uint32_t type = 0;             // opaque to the server
  std::vector<std::uint8_t> content;  // 1..kMaxContentSize bytes

  friend bool operator==(const OutgoingMessage&, const OutgoingMessage&) = default;
};

// One envelope per device of one recipient account. With `sync`, the
// recipient is the sender's own account and the entries go to its other
// devices.
struct SendMessagesRequest {
  AccountId recipient;
  ClientMessageId client_message_id{};
  std::vector<OutgoingMessage> messages;  // 1..kMaxMessagesPerSend, distinct device ids
  bool sync = false;

  friend bool operator==(const SendMessagesRequest&, const SendMessagesRequest&) = default;
};

// One recipient account's part of a SendMultiRecipientRequest.
struct RecipientMessages {
  AccountId recipient;
  ClientMessageId client_message_id{};
  std::vector<OutgoingMessage> messages;  // 1..kMaxMessagesPerSend, distinct device ids

  friend bool operator==(const RecipientMessages&, const RecipientMessages&) = default;
};

// Sends to several accounts at once (a group message); each recipient is
// accepted or rejected on its own.
struct SendMultiRecipientRequest {
  std::vector<RecipientMessages> recipients;  // 1..kMaxRecipientsPerMultiSend, distinct

  friend bool operator==(const SendMultiRecipientRequest&, const SendMultiRecipientRequest&) = default;
};

// Application-level keepalive for clients that cannot send WebSocket pings
// (browsers); answered with an empty ok. Allowed before authentication.
struct PingRequest {
  friend bool operator==(const PingRequest&, const PingRequest&) = default;
};

using RequestBody =
    std::variant<RegisterRequest, AuthenticateRequest, CreateLinkCodeRequest, LinkDeviceRequest,
                 ListDevicesRequest, UnlinkDeviceRequest, SetUsernameRequest, DeleteAccountRequest,
                 UploadKeysRequest, GetPreKeyCountRequest, GetBundlesRequest, SendMessagesRequest,
                 SendMultiRecipientRequest, PingRequest, LookupUsernameRequest, GetIdentityKeysRequest>;

// A request; the server answers with a Response carrying the same id. Ids are
// chosen by the client and only match responses on one connection.
struct Request {
  std::uint64_t id = 0;
  RequestBody body;

  friend bool operator==(const Request&, const Request&) = default;
};

// ---- Responses (server to client) -----------------------------------------

// What a new device needs to authenticate from now on.
struct RegisterResult {
  AccountId account_id;
  DeviceId device_id;  // always kPrimaryDeviceId
  DeviceCredential credential;

  friend bool operator==(const RegisterResult&, const RegisterResult&) = default;
};

struct LinkDeviceResult {
  AccountId account_id;
  DeviceId device_id;
  DeviceCredential credential;

  friend bool operator==(const LinkDeviceResult&, const LinkDeviceResult&) = default;
};

struct CreateLinkCodeResult {
  std::string code;  // IsValidLinkCode
  std::uint64_t expires_at_ms = 0;

  friend bool operator==(const CreateLinkCodeResult&, const CreateLinkCodeResult&) = default;
};

struct DeviceInfo {
  DeviceId id;
  std::optional<std::string> name;  // IsValidDeviceName
  std::uint64_t created_at_ms = 0;
  std::uint64_t last_seen_at_ms = 0;

  friend bool operator==(const DeviceInfo&, const DeviceInfo&) = default;
};

struct ListDevicesResult {
  std::vector<DeviceInfo> devices;  // 1..kMaxDevicesPerAccount, distinct ids

  friend bool operator==(const ListDevicesResult&, const ListDevicesResult&) = default;
};

// The number of one-time prekeys the server holds for this device.
struct PreKeyCountResult {
  std::uint32_t count = 0;

  friend bool operator==(const PreKeyCountResult&, const PreKeyCountResult&) = default;
};

// What a sender needs to start a session with one device. Without a
// one-time prekey (all used up) the session starts from the signed prekey.
struct DeviceBundle {
  DeviceId device_id;
  RegistrationId registration_id;
  PublicKeyBytes identity_key{};
  SignedPreKey signed_prekey;
  std::optional<OneTimePreKey> prekey;

  friend bool operator==(const DeviceBundle&, const DeviceBundle&) = default;
};

struct BundlesResult {
  AccountId account_id;               // resolves a username target
  std::vector<DeviceBundle> devices;  // 1..kMaxDevicesPerAccount, distinct ids

  friend bool operator==(const BundlesResult&, const BundlesResult&) = default;
};

struct UsernameLookupResult {
  AccountId account_id;

  friend bool operator==(const UsernameLookupResult&, const UsernameLookupResult&) = default;
};

// One device's identity key.
struct DeviceIdentity {
  DeviceId device_id;
  PublicKeyBytes identity_key{};

  friend bool operator==(const DeviceIdentity&, const DeviceIdentity&) = default;
};

struct IdentityKeysResult {
  AccountId account_id;                 // resolves a username target
  std::vector<DeviceIdentity> devices;  // 1..kMaxDevicesPerAccount, distinct ids

  friend bool operator==(const IdentityKeysResult&, const IdentityKeysResult&) = default;
};

// A send was queued for every device.
struct SendResult {
  std::uint64_t server_timestamp_ms = 0;

  friend bool operator==(const SendResult&, const SendResult&) = default;
};

// Why a send was rejected: the recipient's devices that were left out, the
// listed devices that do not exist, and the listed devices whose registration
// id changed. At least one list is non-empty; no device is in two.
struct MismatchedDevices {
  std::vector<DeviceId> missing;  // each up to kMaxDevicesPerAccount
  std::vector<DeviceId> extra;
  std::vector<DeviceId> stale;

  friend bool operator==(const MismatchedDevices&, const MismatchedDevices&) = default;
};

// One recipient's outcome in a multi-recipient send. The status follows the
// Response rules: mismatched_devices carries `mismatched_devices`,
// rate_limited carries `retry_after_ms`. `server_timestamp_ms` (ok only) is
// the time the server stored this recipient's send: on a retry of an id it
// had already accepted, the original time.
struct RecipientResult {
  AccountId recipient;
  ResponseStatus status = ResponseStatus::kOk;
  std::optional<MismatchedDevices> mismatched_devices;
  std::optional<std::uint64_t> retry_after_ms;
  std::optional<std::uint64_t> server_timestamp_ms = std::nullopt;

  friend bool operator==(const RecipientResult&, const RecipientResult&) = default;
};

struct SendMultiRecipientResult {
  std::uint64_t server_timestamp_ms = 0;
  std::vector<RecipientResult> results;  // 1..kMaxRecipientsPerMultiSend, distinct recipients

  friend bool operator==(const SendMultiRecipientResult&, const SendMultiRecipientResult&) = default;
};

// std::monostate: a response without a body (every error except
// mismatched_devices, and ok for requests that return nothing).
using ResponseBody =
    std::variant<std::monostate, RegisterResult, LinkDeviceResult, CreateLinkCodeResult, ListDevicesResult,
                 PreKeyCountResult, BundlesResult, SendResult, SendMultiRecipientResult, MismatchedDevices,
                 UsernameLookupResult, IdentityKeysResult>;

// The answer to the Request with the same id. Rules the decoder enforces:
// ok has no error detail and no retry-after; mismatched_devices has a
// MismatchedDevices body; other errors have no body; rate_limited has
// retry_after_ms.
struct Response {
  std::uint64_t id = 0;
  ResponseStatus status = ResponseStatus::kOk;
  std::string error_detail;  // IsValidErrorDetail; empty when absent; a fixed text, never user data
  std::optional<std::uint64_t> retry_after_ms;
  ResponseBody body;

  friend bool operator==(const Response&, const Response&) = default;
};

// ---- Pushes (server to client) and their acks -----------------------------

// A queued message for this device.
struct Envelope {
  std::uint64_t server_id = 0;  // increasing within this device's queue
  std::uint64_t server_timestamp_ms = 0;
  AccountId sender;
  DeviceId sender_device;
  std::uint32_t type = 0;
  ClientMessageId client_message_id{};
  std::vector<std::uint8_t> content;  // 1..kMaxContentSize bytes

  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// Everything queued while this device was offline has been pushed.
struct QueueEmpty {
  friend bool operator==(const QueueEmpty&, const QueueEmpty&) = default;
};

// The server holds few one-time prekeys for this device; upload more.
struct PreKeysLow {
  std::uint32_t count = 0;

  friend bool operator==(const PreKeysLow&, const PreKeysLow&) = default;
};

using PushBody = std::variant<Envelope, QueueEmpty, PreKeysLow>;

// The server numbers pushes per connection; the client acks each with a
// PushAck of the same id. An Envelope leaves the queue only when acked.
struct Push {
  std::uint64_t id = 0;
  PushBody body;

  friend bool operator==(const Push&, const Push&) = default;
};

struct PushAck {
  std::uint64_t id = 0;

  friend bool operator==(const PushAck&, const PushAck&) = default;
};

// ---- Frames -----------------------------------------------------------------

using Frame = std::variant<Request, Response, Push, PushAck>;
// What a client may send, and what a server may send.
using ClientFrame = std::variant<Request, PushAck>;
using ServerFrame = std::variant<Response, Push>;

// ---- Dispatch helpers -------------------------------------------------------

// Register, Authenticate, LinkDevice and Ping: the requests a server accepts
// before the connection has authenticated (S1).
bool AllowedBeforeAuthentication(const RequestBody& body);

// A stable snake_case name of the request kind for logs and metrics, e.g.
// "send_messages" (the field name in docs/wire.proto).
std::string_view RequestName(const RequestBody& body);

// True when `response` is a possible answer to a request with `body`: ok
// carries this request's result kind (or none, for requests without one),
// mismatched_devices answers only SendMessages, and errors carry no body.
bool IsExpectedResponse(const RequestBody& body, const Response& response);

}  // namespace parley::wire
