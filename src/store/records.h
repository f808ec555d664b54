// The values the server store keeps and returns.
//
// Plain structs: the store owns no object it hands out. Key material here is
// public (identity keys, prekeys, signatures); device credentials are stored
// only as a salted hash chosen by the server.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/byte_reader.h"
#include "base/strong_id.h"
#include "base/uuid.h"

namespace parley::store {

// A serialized Curve25519 public key: 0x05 followed by 32 bytes.
inline constexpr std::size_t kPublicKeyBytes = 33;
// An XEdDSA signature.
inline constexpr std::size_t kSignatureBytes = 64;
using PublicKeyBytes = std::array<std::uint8_t, kPublicKeyBytes>;
using SignatureBytes = std::array<std::uint8_t, kSignatureBytes>;

// The 16-byte id a client picks for one send; a retry carries the same id.
using ClientMessageId = StrongId<struct ClientMessageIdTag, std::array<std::uint8_t, 16>>;
// The random 16-byte id of an attachment.
using AttachmentId = StrongId<struct AttachmentIdTag, std::array<std::uint8_t, 16>>;
// A SHA-256 hash of a bearer secret (invitation token, provisioning code).
// The store never sees the secret itself.
using TokenHash = std::array<std::uint8_t, 32>;

// One device of one account: the address of a message queue.
struct DeviceAddress {
  AccountId account;
  DeviceId device;
  friend auto operator<=>(const DeviceAddress&, const DeviceAddress&) = default;
};

// What the server keeps to authenticate a device: a per-device salt and the
// keyed hash of the device's random credential (the server picks the hash).
struct DeviceCredential {
  std::vector<std::uint8_t> salt;
  std::vector<std::uint8_t> hash;
  friend bool operator==(const DeviceCredential&, const DeviceCredential&) = default;
};

struct SignedPreKeyRecord {
  SignedPreKeyId id;
  PublicKeyBytes public_key{};
  SignatureBytes signature{};
  friend bool operator==(const SignedPreKeyRecord&, const SignedPreKeyRecord&) = default;
};

struct OneTimePreKeyRecord {
  PreKeyId id;
  PublicKeyBytes public_key{};
  friend bool operator==(const OneTimePreKeyRecord&, const OneTimePreKeyRecord&) = default;
};

// A new device's public keys, written in the transaction that adds the
// device: a device (and so an account) never exists without them, even if
// the server dies right after. The store does not verify the signature (the
// server does, before calling).
struct NewDeviceKeys {
  PublicKeyBytes identity_key{};
  SignedPreKeyRecord signed_prekey;
  // At most kMaxOneTimePreKeysPerDevice; a repeated id is stored once.
  std::vector<OneTimePreKeyRecord> one_time_prekeys;
};

// A device to be added; the store assigns its id and timestamps.
struct NewDevice {
  RegistrationId registration_id;
  std::string name;
  DeviceCredential credential;
  // Stored with the device when set; without, the device has no keys yet.
  std::optional<NewDeviceKeys> keys = std::nullopt;
};

// An account to be created together with its primary device (id 1).
struct NewAccount {
  AccountId id;
  // Stored lower-cased (ASCII); unique among accounts.
  std::string username;
  NewDevice primary;
  // When set, this invitation is consumed in the same transaction: the account
  // exists if and only if the invitation was consumed by it.
  std::optional<TokenHash> invitation;
};

struct AccountRecord {
  AccountId id;
  std::string username;  // lower-case
  std::int64_t created_ms = 0;
  bool disabled = false;
  friend bool operator==(const AccountRecord&, const AccountRecord&) = default;
};

struct DeviceRecord {
  DeviceAddress address;
  RegistrationId registration_id;
  std::string name;
  DeviceCredential credential;
  std::int64_t created_ms = 0;
  std::int64_t last_seen_ms = 0;
  friend bool operator==(const DeviceRecord&, const DeviceRecord&) = default;
};

// What a send is checked against: a device's id and registration id.
struct DeviceRegistration {
  DeviceId device;
  RegistrationId registration_id;
  friend bool operator==(const DeviceRegistration&, const DeviceRegistration&) = default;
};

// What a sender needs to start a session with one device. The one-time prekey
// was removed from the store when this bundle was taken; it is absent when the
// device has none left (the sender falls back to the signed prekey alone).
struct PreKeyBundleRecord {
  DeviceAddress address;
  RegistrationId registration_id;
  PublicKeyBytes identity_key{};
  SignedPreKeyRecord signed_prekey;
  std::optional<OneTimePreKeyRecord> one_time_prekey;
};

// One copy of a send, addressed to one device. `content` is not owned: it must
// stay valid for the duration of the Enqueue call.
struct OutgoingEnvelope {
  DeviceAddress recipient;
  // Opaque to the server (prekey message, message, sealed sender, receipt...).
  std::uint32_t type = 0;
  Bytes content;
};

// One send: every copy is queued in one transaction, or none is.
struct EnqueueRequest {
  DeviceAddress sender;
  ClientMessageId client_message_id;
  std::span<const OutgoingEnvelope> envelopes;
};

// Where one copy of a send was queued.
struct QueuedCopy {
  DeviceAddress recipient;
  std::uint64_t server_id = 0;
  friend bool operator==(const QueuedCopy&, const QueuedCopy&) = default;
};

struct EnqueueResult {
  // True when (sender, client_message_id) was already queued: nothing new was
  // queued and the fields below describe the first enqueue.
  bool duplicate = false;
  std::int64_t server_timestamp_ms = 0;
  // One entry per envelope, in the order of the first request's envelopes.
  std::vector<QueuedCopy> copies;
};

// A queued envelope as a recipient device fetches it.
struct StoredEnvelope {
  std::uint64_t server_id = 0;  // increasing within the recipient's queue
  std::int64_t server_timestamp_ms = 0;
  DeviceAddress sender;
  DeviceAddress recipient;
  std::uint32_t type = 0;
  ClientMessageId client_message_id;
  std::vector<std::uint8_t> content;
  friend bool operator==(const StoredEnvelope&, const StoredEnvelope&) = default;
};

// Rows removed by one purge call.
struct PurgeCounts {
  std::uint64_t messages = 0;
  // Idempotence records (one per send) older than the cutoff.
  std::uint64_t send_records = 0;
  // Records older than the cutoff of accounts deleted since (SQLite only:
  // what AccountStore::PurgeDeletedAccounts had not reached yet). Not in
  // send_records: those records ceased to exist with their account.
  std::uint64_t deleted_account_records = 0;
};

// What one AccountStore::PurgeDeletedAccounts call did.
struct DeletedAccountsPurge {
  // Idempotence records looked at (at most the call's max_rows).
  std::uint64_t rows_examined = 0;
  // Records of deleted accounts removed.
  std::uint64_t send_records = 0;
  // Deleted accounts whose records are all gone now, forgotten.
  std::uint64_t accounts_finished = 0;
  // Nothing is left of any deleted account: the next call would do nothing.
  bool done = true;
};

struct AttachmentInfo {
  AttachmentId id;
  AccountId owner;
  std::uint64_t declared_size = 0;
  // Bytes uploaded so far; the next chunk must start here.
  std::uint64_t length = 0;
  std::int64_t created_ms = 0;
  bool complete() const { return length == declared_size; }
  friend bool operator==(const AttachmentInfo&, const AttachmentInfo&) = default;
};

// Whole-store counts for `parleyd admin stats` and metrics.
struct StoreStats {
  std::uint64_t accounts = 0;
  std::uint64_t disabled_accounts = 0;
  std::uint64_t devices = 0;
  // Messages waiting in all device queues.
  std::uint64_t queued_messages = 0;
  std::uint64_t attachments = 0;
  // Bytes uploaded to all attachments.
  std::uint64_t attachment_bytes = 0;
  friend bool operator==(const StoreStats&, const StoreStats&) = default;
};

// The device queues at a glance, from each queue's message counter (one row
// per device; the messages themselves are not read).
struct QueueDepthSummary {
  // Messages waiting in all device queues.
  std::uint64_t queued_messages = 0;
  // Messages in the deepest device queue.
  std::uint64_t deepest_queue = 0;
  // Device queues holding at least one message.
  std::uint64_t nonempty_queues = 0;
  friend bool operator==(const QueueDepthSummary&, const QueueDepthSummary&) = default;
};

struct InvitationRecord {
  TokenHash token_hash{};
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> expires_ms;
  // Set once consumed. used_by is cleared if that account is later deleted;
  // the invitation stays used.
  std::optional<std::int64_t> used_ms;
  std::optional<AccountId> used_by;
  friend bool operator==(const InvitationRecord&, const InvitationRecord&) = default;
};

}  // namespace parley::store
