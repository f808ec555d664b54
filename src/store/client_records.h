// What the client store keeps about contacts, conversations and messages.
//
// The client library exposes these same types (client/client.h re-exports
// them), so a record read from the store reaches a caller without copying
// field by field.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strong_id.h"
#include "base/uuid.h"

namespace parley::store {

// 16 random bytes naming one message on every device; replies, reactions,
// edits, deletes and receipts refer to it.
using MessageId = std::array<std::uint8_t, 16>;
// 32 lower-case hex digits, and back (nullopt on anything else).
std::string MessageIdToHex(const MessageId& id);
std::optional<MessageId> MessageIdFromHex(std::string_view hex);

// A conversation: the peer's account id (canonical UUID text) for a 1:1
// conversation, "group:" followed by 32 hex digits for a group.
using ConversationId = std::string;

enum class ContactState {
  kRequest = 0,   // wrote to us first and was not accepted yet (S2)
  kAccepted = 1,  // added, written to, or accepted
  kBlocked = 2,
};

struct Contact {
  AccountId account;
  std::string username;
  ContactState state = ContactState::kRequest;
  // The user compared safety numbers and marked the contact verified.
  bool verified = false;
  // A device's identity key differs from the one verified (or first seen):
  // sending to a verified contact stops until it is verified again.
  bool identity_changed = false;
};

enum class Direction { kIncoming = 0, kOutgoing = 1 };

enum class MessageStatus {
  kSending = 0,    // outgoing, not yet accepted by the server
  kSent = 1,       // outgoing, queued by the server for every recipient device
  kFailed = 2,     // outgoing, the server refused it
  kDelivered = 3,  // outgoing, a recipient device sent a delivery receipt
  kRead = 4,       // outgoing, a recipient sent a read receipt
  kReceived = 5,   // incoming, not yet read
  kSeen = 6,       // incoming, marked read
};

struct Reaction {
  AccountId from;
  std::string emoji;
};

struct StoredMessage {
  MessageId id{};
  ConversationId conversation;
  Direction direction = Direction::kIncoming;
  AccountId sender;
  DeviceId sender_device;
  std::int64_t sent_at_ms = 0;      // the sender's clock
  std::int64_t received_at_ms = 0;  // this device's clock (sent time for outgoing)
  std::string body;                 // empty once deleted for everyone
  MessageStatus status = MessageStatus::kReceived;
  std::optional<MessageId> quote;  // the message this one replies to
  bool edited = false;
  bool deleted = false;
  std::int64_t expires_at_ms = 0;  // 0: does not disappear
  bool request = false;            // arrived while the sender was a message request
  std::vector<Reaction> reactions;
};

// One recipient's receipt for an outgoing message: kDelivered or kRead.
struct MessageReceipt {
  AccountId from;
  MessageStatus status = MessageStatus::kDelivered;
  std::int64_t at_ms = 0;  // this device's clock when it arrived (kSent: when the message was sent)
  friend bool operator==(const MessageReceipt&, const MessageReceipt&) = default;
};

// 16 random bytes naming a group on every member device.
using GroupId = std::array<std::uint8_t, 16>;
// "group:" followed by the id's 32 hex digits.
ConversationId GroupConversation(const GroupId& id);
// The group id of a group conversation, nullopt for anything else.
std::optional<GroupId> GroupIdOf(std::string_view conversation);

struct Group {
  GroupId id{};
  std::string name;
  std::vector<AccountId> members;  // includes our own account while we are a member
  std::vector<AccountId> admins;   // a subset of members; only they change the group
  bool active = true;              // we are a member (false once we left or were removed)
  bool request = false;            // created by an account that is not a contact (S2)
  // Our current sender key reached every member device; false after a
  // member leaves or is removed (the key is then replaced) or joins.
  bool key_distributed = false;
  // The stamp of the last change that counted (docs/client.md, "Groups").
  std::uint64_t version = 0;
  std::optional<AccountId> version_author;  // who made this version (none for version 0)
};

// One change of a group's log as the store keeps it: its stamp and its
// operations, encoded by the client (client/content.h, EncodeGroupOps),
// and its author's signature (schema 8; empty for a change kept from before).
struct StoredGroupChange {
  std::uint64_t version = 0;
  AccountId author;
  std::uint32_t device = 0;
  std::vector<std::uint8_t> ops;
  std::vector<std::uint8_t> signature = {};
};

// The bounds of the pending group changes (docs/client.md, "Groups"): a
// sender fills them only for itself and never evicts another's changes.
// A pending change's size is that of its operations and signature.
struct PendingGroupLimits {
  std::size_t changes_per_sender = 0;         // per group and sender account; its oldest go
  std::size_t bytes_per_sender = 0;           // likewise
  std::size_t changes_per_group = 0;          // past it, an arrival's newest changes are not kept
  std::size_t bytes_per_group = 0;            // likewise
  std::size_t bytes_in_all = 0;               // likewise, over every group
  std::size_t unknown_groups = 0;             // groups the store does not hold; past it, not kept
  std::size_t unknown_groups_per_sender = 0;  // a sender's oldest unknown groups go
};

// Group changes one content of `sender` carried that the device kept for
// later (docs/client.md, "Groups"): the author was not known yet, or the
// group was not.
struct PendingGroupChanges {
  std::int64_t arrival = 0;  // increasing; the oldest is dropped first
  AccountId sender;
  std::uint32_t sender_device = 0;
  std::vector<StoredGroupChange> changes;
};

struct Conversation {
  ConversationId id;
  std::string title;  // the peer's username
  bool request = false;
  std::int64_t unread = 0;
  std::int64_t last_activity_ms = 0;
  std::uint32_t disappearing_seconds = 0;
};

}  // namespace parley::store
