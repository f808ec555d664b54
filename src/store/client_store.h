// ClientStore: one device's local state in a SQLCipher database.
//
// The database file is encrypted as a whole (SQLCipher, AES-256) with a
// 32-byte key made from a passphrase (Argon2id) or read from a key file
// (DESIGN.md S8). It holds the account's credential, this device's identity
// and prekeys, the sessions and sender keys (it implements the protocol
// layer's store interfaces), contacts, conversations, messages, and the ids
// of server messages already processed (so that a redelivered envelope is
// recognised).
//
// Transactions: Begin/Commit/Rollback bracket several changes, e.g. the
// ratchet state a decryption advanced and the message it produced, so that a
// crash keeps both or neither. Outside a transaction each change commits on
// its own. A rollback drops the cached session records, so memory never runs
// ahead of the database.
//
// Not thread-safe: the client serializes every use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/secret.h"
#include "base/strong_id.h"
#include "base/uuid.h"
#include "crypto/x25519.h"
#include "protocol/identity_key_store.h"
#include "protocol/prekey_store.h"
#include "protocol/sender_key_store.h"
#include "protocol/session_store.h"
#include "store/client_records.h"

namespace parley::store {

enum class ClientStoreErrc {
  kBadKey = 1,          // the key does not open the database (wrong passphrase or key file)
  kKeyFilePermissions,  // a key file readable or writable by others than its owner
  kNotFound,            // no such record
  kInvalidArgument,     // a value the schema cannot hold
  kCorrupt,             // stored data does not parse
  kUnavailable,         // cannot open, create or write the file (locked past the timeout, disk full)
  kIncompatibleSchema,  // written by a newer schema version than this build knows
  kInternal,            // an SQLite error the store does not expect
};
template <class T>
using ClientStoreResult = Result<T, ClientStoreErrc>;
using ClientStoreStatus = Status<ClientStoreErrc>;

// A stable snake_case name, e.g. "bad_key".
std::string_view ClientStoreErrcName(ClientStoreErrc code);

inline constexpr std::size_t kClientStoreKeySize = 32;
inline constexpr std::size_t kPassphraseSaltSize = 16;
using ClientStoreKey = SecretArray<kClientStoreKeySize>;

// The key for a passphrase: Argon2id (libsodium crypto_pwhash, 3 passes over
// 64 MiB) with the 16-byte salt in salt_file, which is created (mode 0600)
// with random bytes when absent. kInvalidArgument for an empty passphrase or
// a salt file of another size; kUnavailable when it cannot be read or made.
ClientStoreResult<ClientStoreKey> KeyFromPassphrase(std::string_view passphrase,
                                                    const std::filesystem::path& salt_file);
// The key in key_file: exactly 32 bytes, mode 0600 or stricter
// (kKeyFilePermissions otherwise, kInvalidArgument for another size). An
// absent file is created with 32 random bytes and mode 0600.
ClientStoreResult<ClientStoreKey> KeyFromFile(const std::filesystem::path& key_file);

// The account this device belongs to and how it reaches its server.
struct LocalAccount {
  AccountId account;
  DeviceId device;
  std::string username;
  SecretArray<32> credential;
  std::string host;
  std::uint16_t port = 0;
  std::string pin;  // hex SHA-256 of the server certificate, or empty
};

// One identity key seen for a peer device.
struct KnownIdentity {
  DeviceId device;
  crypto::PublicKey key;
  bool verified = false;
};

// An attachment kept with its message: the encoded pointer (it holds the
// attachment's key) and, once downloaded and verified, the file's path.
struct StoredAttachment {
  SecretBuffer pointer;
  std::string path;  // empty until downloaded
};

// A receipt this device owes the sender of a message it stored or read
// (schema 9): kept in the transaction that stored the message (or marked it
// read) and deleted once parleyd took the receipt, so that neither a failed
// send nor a crash after the commit loses it.
struct OwedReceipt {
  std::int64_t seq = 0;                            // set by the store; the oldest owed first
  AccountId to;                                    // the message's sender
  std::optional<GroupId> group;                    // none: a 1:1 message
  MessageStatus kind = MessageStatus::kDelivered;  // kDelivered or kRead
  // The copy of a read receipt for our own other devices (they mark the
  // message seen), not the receipt to `to`.
  bool own_devices = false;
  MessageId message{};
  // The client_message_id of the receipt that carries it, given when it is
  // owed: the receipts owed with one id (at most kMaxReceiptTargets, same
  // peer, conversation, kind and destination) go as one send, and a retry
  // reuses the id, so parleyd queues a receipt whose answer was lost once.
  std::array<std::uint8_t, 16> send_id{};
};

// The schema version this build writes (8: group change signatures, 9: owed
// receipts). Open applies every step a store has not recorded, in order.
inline constexpr int kClientSchemaVersion = 9;
// SQLCipher page sizes: the one this build writes, and SQLCipher 3's
// default, which older stores have (Open migrates them).
inline constexpr int kClientStorePageSize = 4096;
inline constexpr int kClientStoreOldPageSize = 1024;

class ClientStore final : public protocol::IdentityKeyStore,
                          public protocol::PreKeyStore,
                          public protocol::SignedPreKeyStore,
                          public protocol::SessionStore,
                          public protocol::SenderKeyStore {
 public:
  // Opens (creating if needed) the database at path with key and applies
  // the missing schema migrations. A store with the old page size is first
  // copied into a new file with the current one, which then replaces it
  // atomically (a crash leaves the old store usable). kBadKey when the key
  // does not open an existing file; kIncompatibleSchema; kUnavailable.
  static ClientStoreResult<std::unique_ptr<ClientStore>> Open(const std::filesystem::path& path,
                                                              const ClientStoreKey& key, const Clock& clock);
  ~ClientStore() override;
  ClientStore(const ClientStore&) = delete;
  ClientStore& operator=(const ClientStore&) = delete;

  // ---- Transactions (not nested) ----
  ClientStoreStatus Begin();
  ClientStoreStatus Commit();
  // Undoes everything since Begin and drops cached session records.
  void Rollback();
  bool in_transaction() const { return in_transaction_; }

  // ---- Batches ----
  // A batch makes many transactions durable with one commit (one fsync).
  // Used to store a run of received messages before any of them is
  // acknowledged. Inside it, Begin/Commit only mark each transaction (a
  // savepoint per message would copy and encrypt every page it touches once
  // more), and session records are written once, at CommitBatch, in the same
  // commit as the messages they decrypted. A Rollback of a transaction that
  // changed nothing costs nothing; one that changed something fails the
  // whole batch: Begin then fails until the batch ends, and CommitBatch
  // undoes everything and reports the failure, so that the caller stores
  // the run again without a batch.
  ClientStoreStatus BeginBatch();
  // Fails (and undoes the whole batch) with a transaction still open or
  // after a failed transaction.
  ClientStoreStatus CommitBatch();
  void RollbackBatch();
  bool in_batch() const { return in_batch_; }

  // ---- This device ----
  bool has_identity() const { return identity_.has_value(); }
  // Saves this device's identity and registration id (once, at registration).
  ClientStoreStatus SetLocalIdentity(const crypto::KeyPair& identity, RegistrationId registration_id);
  ClientStoreResult<std::optional<LocalAccount>> LoadAccount();
  ClientStoreStatus SaveAccount(const LocalAccount& account);
  // Small named integers (the next prekey id, the signed prekey id, ...).
  ClientStoreResult<std::optional<std::int64_t>> GetCounter(std::string_view name);
  ClientStoreStatus SetCounter(std::string_view name, std::int64_t value);
  ClientStoreStatus DeleteCounter(std::string_view name);
  // The counters whose names start with `prefix`, by name.
  ClientStoreResult<std::vector<std::pair<std::string, std::int64_t>>> CountersWithPrefix(
      std::string_view prefix);
  ClientStoreResult<std::size_t> CountPreKeys();

  // ---- protocol::IdentityKeyStore (per account and device) ----
  // GetIdentityKeyPair and GetLocalRegistrationId need SetLocalIdentity first.
  const crypto::KeyPair& GetIdentityKeyPair() const override;
  RegistrationId GetLocalRegistrationId() const override;
  std::optional<crypto::PublicKey> GetIdentity(const protocol::ProtocolAddress& address) const override;
  bool IsTrustedIdentity(const protocol::ProtocolAddress& address,
                         const crypto::PublicKey& key) const override;
  protocol::ProtocolStatus SaveIdentity(const protocol::ProtocolAddress& address,
                                        const crypto::PublicKey& key) override;
  // Replaces the key and clears its verified mark.
  protocol::ProtocolStatus ReplaceIdentity(const protocol::ProtocolAddress& address,
                                           const crypto::PublicKey& key) override;
  ClientStoreResult<std::vector<KnownIdentity>> Identities(const AccountId& account);
  // Marks every known identity of the account verified.
  ClientStoreStatus MarkIdentitiesVerified(const AccountId& account);

  // ---- protocol::PreKeyStore, SignedPreKeyStore ----
  protocol::ProtocolResult<protocol::PreKeyRecord> LoadPreKey(PreKeyId id) const override;
  protocol::ProtocolStatus StorePreKey(protocol::PreKeyRecord record) override;
  bool ContainsPreKey(PreKeyId id) const override;
  protocol::ProtocolStatus RemovePreKey(PreKeyId id) override;
  protocol::ProtocolResult<protocol::SignedPreKeyRecord> LoadSignedPreKey(SignedPreKeyId id) const override;
  protocol::ProtocolStatus StoreSignedPreKey(protocol::SignedPreKeyRecord record) override;
  bool ContainsSignedPreKey(SignedPreKeyId id) const override;
  protocol::ProtocolStatus RemoveSignedPreKey(SignedPreKeyId id) override;
  // Signed prekeys made before `before_ms`, except `keep`: the old ones a
  // rotation leaves for messages still in flight.
  ClientStoreResult<std::vector<SignedPreKeyId>> SignedPreKeysOlderThan(std::int64_t before_ms,
                                                                        SignedPreKeyId keep);

  // ---- protocol::SessionStore ----
  protocol::SessionRecord* LoadSession(const protocol::ProtocolAddress& address) override;
  protocol::ProtocolStatus StoreSession(const protocol::ProtocolAddress& address,
                                        protocol::SessionRecord record) override;
  protocol::ProtocolStatus SessionUpdated(const protocol::ProtocolAddress& address) override;
  protocol::ProtocolStatus DeleteSession(const protocol::ProtocolAddress& address) override;
  // The devices of an account we hold a session with.
  ClientStoreResult<std::vector<DeviceId>> SessionDevices(const AccountId& account);

  // ---- protocol::SenderKeyStore ----
  protocol::ProtocolResult<std::optional<protocol::SenderKeyRecord>> LoadSenderKey(
      const protocol::SenderKeyName& name) override;
  protocol::ProtocolResult<void> StoreSenderKey(const protocol::SenderKeyName& name,
                                                const protocol::SenderKeyRecord& record) override;

  // ---- Contacts ----
  // Forgets a sender-key chain (ours, to start a new one after a member left).
  ClientStoreStatus DeleteSenderKey(const protocol::SenderKeyName& name);

  // ---- Groups ----
  // Inserts or replaces a group with its members and admins.
  ClientStoreStatus SaveGroup(const Group& group);
  ClientStoreResult<std::optional<Group>> FindGroup(const GroupId& id);
  ClientStoreResult<std::vector<Group>> ListGroups();
  // A group's changes (schema 6), each encoded by the client: one row per
  // stamp, replaced when a change of the same stamp takes its place.
  ClientStoreStatus SaveGroupChange(const GroupId& group, const StoredGroupChange& change);
  // Sorted by stamp (version, author, device).
  ClientStoreResult<std::vector<StoredGroupChange>> GroupChanges(const GroupId& group);
  // Group changes kept until the log they need arrives (schema 7), per
  // arrival: the changes one content of `sender` carried that were not
  // taken. Adds them under `pending.arrival`, or a new arrival (returned)
  // when it is 0.
  ClientStoreResult<std::int64_t> AddPendingGroupChanges(const GroupId& group,
                                                         const PendingGroupChanges& pending);
  // A group's pending changes, oldest arrival first.
  ClientStoreResult<std::vector<PendingGroupChanges>> PendingGroupChangesOf(const GroupId& group);
  ClientStoreStatus DeletePendingGroupChanges(const GroupId& group, std::int64_t arrival);
  // Adds the changes of a new arrival of `pending.sender` within `limits`:
  // first the sender's own oldest pending changes for `group` (and for its
  // oldest unknown groups) go, then what still does not fit of the new
  // arrival is not kept, its newest changes first. Another sender's pending
  // changes are never removed. Returns how many of `pending.changes` were kept.
  ClientStoreResult<std::size_t> KeepPendingGroupChanges(const GroupId& group,
                                                         const PendingGroupChanges& pending,
                                                         const PendingGroupLimits& limits);
  // How many pending changes the store keeps (for one group, or all).
  ClientStoreResult<std::int64_t> CountPendingGroupChanges(const std::optional<GroupId>& group);
  // Their size in bytes (operations and signatures; for one group, or all).
  ClientStoreResult<std::int64_t> PendingGroupBytes(const std::optional<GroupId>& group);

  ClientStoreResult<std::optional<Contact>> FindContact(const AccountId& account);
  // Case-insensitive.
  ClientStoreResult<std::optional<Contact>> FindContactByUsername(std::string_view username);
  // Inserts or replaces the contact's row.
  ClientStoreStatus SaveContact(const Contact& contact);
  // All contacts, or those in one state; by username.
  ClientStoreResult<std::vector<Contact>> ListContacts(std::optional<ContactState> state = std::nullopt);

  // ---- Conversations and messages ----
  // False (nothing written) when a message with this id exists.
  ClientStoreResult<bool> InsertMessage(const StoredMessage& message);
  ClientStoreResult<std::optional<StoredMessage>> FindMessage(const MessageId& id);
  // Sets the status; an outgoing status only moves forward (sent, delivered, read).
  ClientStoreStatus UpdateStatus(const MessageId& id, MessageStatus status);
  // Records a member's delivery (kDelivered) or read (kRead) receipt for a
  // message, or (kSent) that it was sent to that member and awaits one; a
  // receipt only moves forward. True when it changed something.
  // kInvalidArgument for any other status.
  ClientStoreResult<bool> SetReceipt(const MessageId& id, const AccountId& from, MessageStatus status,
                                     std::int64_t at_ms);
  // The receipts of a message, by account.
  ClientStoreResult<std::vector<MessageReceipt>> Receipts(const MessageId& id);
  ClientStoreStatus EditMessage(const MessageId& id, std::string_view body);
  // Clears the body and marks it deleted.
  ClientStoreStatus DeleteMessageForEveryone(const MessageId& id);
  // An empty emoji removes the reaction of `from`.
  ClientStoreStatus SetReaction(const MessageId& id, const AccountId& from, std::string_view emoji);
  // The newest `limit` messages, oldest first.
  ClientStoreResult<std::vector<StoredMessage>> History(const ConversationId& conversation,
                                                        std::size_t limit);
  ClientStoreResult<std::vector<Conversation>> Conversations();
  // Marks incoming unread messages seen; returns their ids.
  ClientStoreResult<std::vector<MessageId>> MarkConversationRead(const ConversationId& conversation);
  // Marks the conversation's messages as requests (or no longer).
  ClientStoreStatus SetConversationRequest(const ConversationId& conversation, bool request);
  ClientStoreResult<std::uint32_t> DisappearingSeconds(const ConversationId& conversation);
  ClientStoreStatus SetDisappearingSeconds(const ConversationId& conversation, std::uint32_t seconds);
  // Deletes messages whose expiry is at or before now_ms; returns how many.
  ClientStoreResult<std::size_t> DeleteExpiredMessages(std::int64_t now_ms);
  // Messages whose expiry is at or before now_ms, soonest first, at most `limit`.
  ClientStoreResult<std::vector<MessageId>> ExpiredMessages(std::int64_t now_ms, std::size_t limit);
  // The soonest expiry of any message; nullopt when none disappears.
  ClientStoreResult<std::optional<std::int64_t>> NextExpiry();
  // Deletes a message with its reactions and attachment (delete for me, expiry).
  ClientStoreStatus DeleteMessage(const MessageId& id);

  // ---- Attachments (removed with their message on expiry and delete-for-everyone) ----
  // Keeps a message's encoded attachment pointer (replacing any).
  ClientStoreStatus SaveAttachment(const MessageId& message, Bytes pointer);
  ClientStoreResult<std::optional<StoredAttachment>> FindAttachment(const MessageId& message);
  // Records where the verified download is. kNotFound when the message has no attachment.
  ClientStoreStatus SetAttachmentPath(const MessageId& message, std::string_view path);

  // ---- Receipts owed (schema 9) ----
  // Adds owed receipts (one already owed is not added twice). A read receipt
  // to a message's sender replaces its delivery receipt still owed.
  // Each peer (`to`) keeps its newest `max_per_peer`; older ones are
  // dropped. Inside a transaction a failure also fails its Commit, so that a
  // message is never stored without the receipt it owes.
  ClientStoreStatus OweReceipts(const std::vector<OwedReceipt>& receipts, std::size_t max_per_peer);
  // At most `limit` owed receipts, by send id (the client's are time
  // ordered), each send's in the order they were owed.
  ClientStoreResult<std::vector<OwedReceipt>> OwedReceipts(std::size_t limit);
  // In one commit.
  ClientStoreStatus DeleteOwedReceipts(const std::vector<std::int64_t>& seqs);
  // How many receipts are owed (to one peer, or to anyone).
  ClientStoreResult<std::int64_t> CountOwedReceipts(const std::optional<AccountId>& to);

  // ---- Server messages already processed ----
  ClientStoreResult<bool> IsProcessed(const AccountId& sender, DeviceId device, Bytes client_message_id);
  ClientStoreStatus MarkProcessed(const AccountId& sender, DeviceId device, Bytes client_message_id);
  // Forgets the marks made before `before_ms` (the server redelivers an
  // envelope only while it keeps it); returns how many.
  ClientStoreResult<std::size_t> PurgeProcessed(std::int64_t before_ms);

 private:
  class Database;
  ClientStore(std::unique_ptr<Database> db, const Clock& clock);
  // Opens and keys path with a page size; kBadKey when the first read fails.
  static ClientStoreResult<std::unique_ptr<Database>> OpenDatabase(const std::filesystem::path& path,
                                                                   const ClientStoreKey& key, int page_size);
  // Copies the store old_db holds (old page size) into path + ".migrating"
  // with the current page size and renames it over path.
  static ClientStoreStatus MigratePageSize(std::unique_ptr<Database> old_db,
                                           const std::filesystem::path& path, const ClientStoreKey& key);
  ClientStoreStatus LoadIdentity();
  ClientStoreResult<std::vector<Reaction>> Reactions(const MessageId& id);
  ClientStoreStatus ReadGroupMembers(Group& group);

  // Runs `changes` in one transaction of its own, or in the caller's.
  ClientStoreStatus AllOrNothing(const std::function<ClientStoreStatus()>& changes);
  // Writes the session records changed in this batch.
  ClientStoreStatus FlushSessions();
  // Rolls the batch's database transaction back and starts an empty one, so
  // that nothing more is written before the batch ends.
  void FailBatch();

  std::unique_ptr<Database> db_;
  const Clock& clock_;
  bool in_transaction_ = false;
  // A change the open transaction needed could not be written: its Commit fails.
  bool transaction_failed_ = false;
  bool in_batch_ = false;
  bool batch_failed_ = false;
  // What the current transaction in a batch changed: rows (SQLite's total
  // change count at Begin) and session records.
  std::int64_t changes_at_begin_ = 0;
  bool sessions_changed_ = false;
  struct LocalIdentity {
    crypto::KeyPair key_pair;
    RegistrationId registration_id;
  };
  std::optional<LocalIdentity> identity_;
  std::unordered_map<protocol::ProtocolAddress, protocol::SessionRecord> sessions_;
  // Cached records changed in this batch and not written yet.
  std::unordered_set<protocol::ProtocolAddress> unwritten_sessions_;
};

}  // namespace parley::store
