// Content: what one end-to-end encrypted message carries, after decryption.
//
// A small protobuf of Parley's own (field numbers in docs/client.md, section
// "Message content"), decoded with base's ProtoReader. It is parsed only
// after the Signal message's MAC verified (S1), yet it is still untrusted:
// every field is checked for presence, size, count and character set, and
// anything outside the rules is a typed ContentErrc. Unknown fields are
// skipped so that later versions can add fields.
//
// A Content has common fields (message id, sent time, an optional group
// context, an optional sync destination) and exactly one body: a data message
// (text, reply, attachment), a reaction, an edit, a delete-for-everyone, a
// receipt, a typing indicator, a disappearing-timer change, a sender-key
// distribution message, a group update, contacts shared with our own
// other devices or a request for them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/byte_reader.h"
#include "base/result.h"
#include "base/secret.h"
#include "base/strong_id.h"
#include "base/uuid.h"
#include "client/group_state.h"
#include "store/client_records.h"

namespace parley::client {

enum class ContentErrc {
  kMalformed = 1,   // not protobuf wire format (truncated, bad varint, group)
  kWrongWireType,   // a known field with another wire type
  kDuplicateField,  // a singular field twice
  kMissingField,    // a required field is absent
  kNoBody,          // no body this version knows
  kMultipleBodies,  // more than one body
  kTooLarge,        // the whole content or a string or byte field over its cap
  kTooMany,         // a list over its cap
  kBadLength,       // a fixed-size field of another size
  kOutOfRange,      // an integer outside its range
  kInvalidText,     // a string that is not well-formed UTF-8
};
template <class T>
using ContentResult = Result<T, ContentErrc>;
std::string_view ContentErrcName(ContentErrc code);

// Limits of the content format (each has a test at and past it).
inline constexpr std::size_t kMaxContentBytes = 256 * 1024;
inline constexpr std::size_t kMaxUsernameBytes = 32;
inline constexpr std::size_t kMaxTextBytes = 64 * 1024;
inline constexpr std::size_t kMaxEmojiBytes = 32;
inline constexpr std::size_t kMaxReceiptTargets = 100;
inline constexpr std::size_t kMaxGroupMembers = 1'024;
inline constexpr std::size_t kMaxGroupNameBytes = 128;
inline constexpr std::size_t kMaxGroupChangesPerContent = 1'024;
inline constexpr std::size_t kMaxFileNameBytes = 255;
inline constexpr std::size_t kMaxContentTypeBytes = 127;
inline constexpr std::uint64_t kMaxAttachmentBytes = 100ull * 1024 * 1024;
inline constexpr std::uint32_t kMaxDisappearingSeconds = 365u * 24 * 3600;
inline constexpr std::size_t kMaxSenderKeyDistributionBytes = 1'024;
inline constexpr std::size_t kMaxSyncedContacts = 100;     // per message; a longer list goes in several
inline constexpr std::size_t kMaxSyncedIdentities = 16;    // verified identity keys per synced contact
inline constexpr std::size_t kSyncedIdentityKeySize = 33;  // a serialized Curve25519 public key
inline constexpr std::size_t kContentIdSize = 16;
inline constexpr std::size_t kAttachmentKeySize = 64;  // AES-256 key and HMAC-SHA256 key
inline constexpr std::size_t kAttachmentDigestSize = 32;

using ContentId = std::array<std::uint8_t, kContentIdSize>;

struct AttachmentPointer {
  ContentId id{};  // the server's attachment id
  SecretArray<kAttachmentKeySize> key;
  std::array<std::uint8_t, kAttachmentDigestSize> digest{};  // SHA-256 of the encrypted blob
  std::uint64_t size = 0;                                    // plaintext bytes, 1..kMaxAttachmentBytes
  std::string file_name;
  std::string content_type;
};

struct DataBody {
  std::string text;  // may be empty when there is an attachment
  std::optional<ContentId> quote;
  std::optional<AttachmentPointer> attachment;
  std::uint32_t expire_seconds = 0;  // the conversation's timer when it was sent
};
struct ReactionBody {
  ContentId target{};
  std::string emoji;  // empty removes the sender's reaction
};
struct EditBody {
  ContentId target{};
  std::string text;
};
struct DeleteBody {
  ContentId target{};
};
enum class ReceiptKind : std::uint32_t { kDelivered = 1, kRead = 2 };
struct ReceiptBody {
  ReceiptKind kind = ReceiptKind::kDelivered;
  std::vector<ContentId> targets;  // 1..kMaxReceiptTargets
};
struct TypingBody {
  bool started = false;
};
struct TimerBody {
  std::uint32_t seconds = 0;  // 0 turns disappearing messages off
};
struct SenderKeyDistributionBody {
  SecretBuffer message;  // a serialized SenderKeyDistributionMessage (holds a chain key)
};
// Changes to a group, carried by the content's group context
// (docs/client.md, "Groups").
struct GroupUpdateBody {};
// Contacts as one of our devices holds them, sent only to our own other
// devices: the whole list to a newly linked device, one contact after a
// change (added, accepted, blocked, unblocked, verified).
struct SyncedIdentity {
  DeviceId device;  // 1..2^31-1
  std::array<std::uint8_t, kSyncedIdentityKeySize> key{};
  friend bool operator==(const SyncedIdentity&, const SyncedIdentity&) = default;
};
struct SyncedContact {
  AccountId account;
  std::string username;  // may be empty
  store::ContactState state = store::ContactState::kAccepted;
  bool verified = false;
  // With `verified`: the identity keys the user verified, ≤ kMaxSyncedIdentities.
  std::vector<SyncedIdentity> identities;
  friend bool operator==(const SyncedContact&, const SyncedContact&) = default;
};
struct ContactSyncBody {
  std::vector<SyncedContact> contacts;  // 1..kMaxSyncedContacts
  // Part of the whole list sent to a newly linked device: it does not undo
  // what the receiving device decided itself.
  bool snapshot = false;
};
// Sent by a newly linked device to our own other devices (and honoured only
// from them): the primary answers with the account's groups and contacts, so
// a primary that stays connected serves it too.
enum class SyncRequestKind : std::uint32_t { kContactsAndGroups = 1 };
struct SyncRequestBody {
  SyncRequestKind kind = SyncRequestKind::kContactsAndGroups;
  // Asked again because the primary did not answer in time: any of our
  // devices that holds the state answers (false: the primary alone).
  bool any_device = false;
};
using ContentBody =
    std::variant<DataBody, ReactionBody, EditBody, DeleteBody, ReceiptBody, TypingBody, TimerBody,
                 SenderKeyDistributionBody, GroupUpdateBody, ContactSyncBody, SyncRequestBody>;

struct GroupContext {
  ContentId id{};
  std::optional<std::string> name;  // set when the group is created or renamed
  std::vector<AccountId> members;   // set with the name: the whole membership, ≤ kMaxGroupMembers
  std::vector<AccountId> admins;    // set with the name: who may change the group, ≤ kMaxGroupMembers
  // With the name: the state's version (1..2^63-1; 0 when absent) and, on a
  // copy for our own devices, who made it (docs/client.md, "Groups").
  std::uint64_t version = 0;
  std::optional<AccountId> author;
  // With a group update: changes to the group (client/group_state.h), its
  // newest one or, for a new member or device, all of them (in several
  // contents when they do not fit one). ≤ kMaxGroupChangesPerContent.
  std::vector<GroupChange> changes = {};
};

struct Content {
  ContentId message_id{};
  std::uint64_t sent_at_ms = 0;
  std::optional<GroupContext> group;
  // Set on the copy sent to our own other devices: whom the original went to.
  std::optional<AccountId> sync_destination;
  // The sender's username as the sender states it (checked against the
  // server before it is shown for a message request).
  std::optional<std::string> sender_username;
  // With sync_destination: the destination's username.
  std::optional<std::string> destination_username;
  ContentBody body;
};

// Encodes content. kTooLarge/kTooMany/kOutOfRange/kInvalidText/kMissingField
// when it breaks a rule the decoder enforces, so what is sent always decodes.
ContentResult<SecretBuffer> EncodeContent(const Content& content);
// Decodes and checks untrusted bytes.
ContentResult<Content> DecodeContent(Bytes bytes);

// Decodes and checks a contact-sync body (Content field 19) on its own; the
// same rules DecodeContent applies to it.
ContentResult<ContactSyncBody> DecodeContactSync(Bytes bytes);

// A group change's operations alone (the store keeps them so): the same
// rules as in a content (1..kMaxGroupOpsPerChange operations, a rename's
// name 1..kMaxGroupNameBytes of UTF-8, every other kind with a target).
ContentResult<std::vector<std::uint8_t>> EncodeGroupOps(const std::vector<GroupOp>& ops);
ContentResult<std::vector<GroupOp>> DecodeGroupOps(Bytes bytes);

// What a group message's envelope carries: the group's id, then the
// SenderKeyMessage (protocol/sender_key_message.h) encrypted under the
// sender's chain for that group. Envelope type kGroupEnvelopeType.
inline constexpr std::uint32_t kGroupEnvelopeType = 7;
struct GroupEnvelope {
  ContentId group{};
  Bytes message;  // points into the decoded bytes
};
// kBadLength when shorter than a group id, kMissingField with no message.
ContentResult<GroupEnvelope> DecodeGroupEnvelope(Bytes bytes);
std::vector<std::uint8_t> EncodeGroupEnvelope(const ContentId& group, Bytes message);

// True for well-formed UTF-8 (no overlong forms, surrogates or code points
// past U+10FFFF).
bool IsWellFormedUtf8(std::string_view text);

}  // namespace parley::client
