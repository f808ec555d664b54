// SqliteServerStore: the embedded backend, one SQLite file.
//
// Durability: WAL journal with synchronous=FULL, so a transaction that
// returned is on disk (the WAL is fsynced at each commit) and survives a
// killed process and a power loss. Foreign keys are on; schema changes run as
// numbered migrations when the store opens (store/schema_migration.h).
//
// Thread safety: one writing connection, every write serialized behind one
// mutex (SQLite writes are serial anyway), and one read-only connection
// behind another for the reads on the relay path, which in WAL mode see the
// last commit without waiting for a write's fsync. A read that starts after
// a write returned sees that write. The calls are short (bounded rows and
// bytes). Another process may open the same file (the
// busy timeout applies), e.g. the sqlite3 shell for a backup, but must not
// change devices: their lists are cached (device_registrations_).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "store/device_registration_cache.h"
#include "store/server_store.h"
#include "store/sqlite_checkpointer.h"
#include "store/sqlite_database.h"

namespace parley::store {

class SqliteServerStore final : public ServerStore {
 public:
  // Accounts whose device lists are kept in memory (a few MiB at most).
  static constexpr std::size_t kCachedDeviceListAccounts = 16'384;

  // Opens or creates `path` (its directory must exist) and migrates it.
  static StoreResult<std::unique_ptr<SqliteServerStore>> Open(const std::string& path, const Clock& clock,
                                                              const StoreOptions& options);

  std::string_view backend_name() const override { return "sqlite"; }

  // The WAL checkpoints run off the writer's thread so far (tests).
  std::uint64_t background_checkpoints() const { return checkpointer_->checkpoints(); }

  StoreResult<StoreStats> CollectStats() override;

  StoreResult<AccountRecord> CreateAccount(const NewAccount& account) override;
  StoreResult<AccountRecord> GetAccount(const AccountId& id) override;
  StoreResult<AccountRecord> GetAccountByUsername(std::string_view username) override;
  StoreStatus ChangeUsername(const AccountId& id, std::string_view new_username) override;
  StoreStatus SetAccountDisabled(const AccountId& id, bool disabled) override;
  StoreResult<std::vector<AccountId>> FindDisabledAccounts(std::span<const AccountId> ids) override;
  StoreResult<std::vector<AccountId>> FindMissingAccounts(std::span<const AccountId> ids) override;
  // Records the account in deleted_accounts instead of deleting its
  // idempotence records: its cost does not grow with the records stored.
  StoreStatus DeleteAccount(const AccountId& id) override;
  StoreResult<DeletedAccountsPurge> PurgeDeletedAccounts(std::size_t max_rows) override;
  StoreResult<std::vector<AccountRecord>> ListAccounts(std::string_view after_username,
                                                       std::size_t limit) override;
  StoreResult<std::uint64_t> CountAccounts() override;

  StoreResult<DeviceRecord> AddDevice(const AccountId& account, const NewDevice& device) override;
  StoreStatus RemoveDevice(const DeviceAddress& device) override;
  StoreResult<DeviceRecord> GetDevice(const DeviceAddress& device) override;
  StoreResult<std::vector<DeviceRecord>> ListDevices(const AccountId& account) override;
  // From memory for an account read before (every change to devices goes
  // through this store, which forgets the account's list when it commits
  // one); else one statement on the read connection.
  StoreResult<std::vector<DeviceRegistration>> ListDeviceRegistrations(const AccountId& account) override;
  StoreStatus TouchDevice(const DeviceAddress& device) override;

  StoreStatus SetIdentityKey(const DeviceAddress& device, const PublicKeyBytes& key) override;
  StoreResult<PublicKeyBytes> GetIdentityKey(const DeviceAddress& device) override;
  StoreStatus SetSignedPreKey(const DeviceAddress& device, const SignedPreKeyRecord& key) override;
  StoreResult<std::size_t> AddOneTimePreKeys(const DeviceAddress& device,
                                             std::span<const OneTimePreKeyRecord> keys) override;
  StoreResult<std::uint64_t> CountOneTimePreKeys(const DeviceAddress& device) override;
  StoreResult<PreKeyBundleRecord> TakePreKeyBundle(const DeviceAddress& device) override;

  StoreResult<EnqueueResult> Enqueue(const EnqueueRequest& request) override;
  StoreResult<std::vector<StoreResult<EnqueueResult>>> EnqueueBatch(
      std::span<const EnqueueRequest> requests) override;
  StoreResult<std::vector<StoredEnvelope>> FetchMessages(const DeviceAddress& device,
                                                         std::uint64_t after_server_id,
                                                         std::size_t max_count) override;
  StoreStatus DeleteMessage(const DeviceAddress& device, std::uint64_t server_id) override;
  StoreResult<std::vector<bool>> DeleteMessages(std::span<const QueuedCopy> messages) override;
  // One transaction, one fsync, for both.
  StoreResult<QueueBatchResult> CommitQueueBatch(std::span<const EnqueueRequest> sends,
                                                 std::span<const QueuedCopy> deletes) override;
  StoreResult<std::uint64_t> QueueDepth(const DeviceAddress& device) override;
  // On the read connection: it never waits for the writer.
  StoreResult<QueueDepthSummary> SummarizeQueueDepths() override;
  StoreResult<PurgeCounts> PurgeExpiredMessages(std::int64_t cutoff_ms, std::size_t max_rows) override;

  StoreResult<AttachmentInfo> CreateAttachment(const AttachmentId& id, const AccountId& owner,
                                               std::uint64_t declared_size) override;
  StoreResult<AttachmentInfo> AppendAttachmentChunk(const AttachmentId& id, std::uint64_t offset,
                                                    Bytes chunk) override;
  StoreResult<AttachmentInfo> GetAttachment(const AttachmentId& id) override;
  StoreResult<std::vector<std::uint8_t>> ReadAttachment(const AttachmentId& id, std::uint64_t offset,
                                                        std::size_t max_bytes) override;
  StoreStatus DeleteAttachment(const AttachmentId& id) override;
  StoreResult<std::vector<AttachmentId>> ListExpiredAttachments(std::int64_t created_before_ms,
                                                                std::size_t limit) override;
  StoreResult<std::vector<AttachmentId>> ListUnfinishedAttachments(std::int64_t created_before_ms,
                                                                   std::size_t limit) override;

  StoreStatus CreateInvitation(const TokenHash& token_hash, std::optional<std::int64_t> expires_ms) override;
  StoreResult<InvitationRecord> GetInvitation(const TokenHash& token_hash) override;
  StoreStatus ConsumeInvitation(const TokenHash& token_hash, const AccountId& used_by) override;

  StoreStatus CreateProvisioningCode(const TokenHash& code_hash, const AccountId& account,
                                     std::int64_t expires_ms) override;
  StoreResult<AccountId> ConsumeProvisioningCode(const TokenHash& code_hash) override;
  StoreResult<DeviceRecord> LinkDevice(const TokenHash& code_hash, const NewDevice& device) override;
  StoreResult<std::uint64_t> PurgeProvisioningCodes() override;

 private:
  SqliteServerStore(std::unique_ptr<SqliteDatabase> db, const Clock& clock, const StoreOptions& options)
      : db_(std::move(db)), clock_(clock), options_(options) {}

  StoreStatus Migrate();
  // Runs one parameterless statement through the statement cache.
  StoreStatus RunCached(std::string_view sql);
  // The *Locked helpers run inside a transaction the caller holds.
  StoreResult<DeviceRecord> AddDeviceLocked(const AccountId& account, const NewDevice& device,
                                            std::int64_t now);
  StoreResult<DeviceRecord> GetDeviceLocked(SqliteDatabase& db, const DeviceAddress& device);
  // A new device's empty queue counters (device_queues).
  StoreStatus InsertDeviceQueueLocked(const DeviceAddress& device);
  // A device's keys, written with the device (NewDevice::keys).
  StoreStatus SetNewDeviceKeysLocked(const DeviceAddress& device, const NewDeviceKeys& keys);
  // Whether the key was new (one with its id already stored is kept).
  StoreResult<bool> InsertOneTimePreKeyLocked(const DeviceAddress& device, const OneTimePreKeyRecord& key);
  StoreResult<AccountRecord> GetAccountLocked(SqliteDatabase& db, const AccountId& id);
  // CreateAccount of an id whose deleted account still has records: keeps
  // the records the new account writes from `now` on apart from the old ones.
  StoreStatus ReuseDeletedAccountIdLocked(const AccountId& id, std::int64_t now);
  StoreStatus UseInvitationLocked(const TokenHash& token_hash, const AccountId& used_by, std::int64_t now);
  StoreResult<AccountId> CheckProvisioningCodeLocked(const TokenHash& code_hash, std::int64_t now);
  StoreResult<AttachmentInfo> GetAttachmentLocked(const AttachmentId& id);
  StoreResult<std::vector<StoreResult<EnqueueResult>>> EnqueueBatchLocked(
      std::span<const EnqueueRequest> requests, std::int64_t now);
  StoreResult<std::vector<bool>> DeleteMessagesLocked(std::span<const QueuedCopy> messages);
  // One send. With `undo_by_hand` (a send to one device, outside a
  // savepoint) a send-level failure leaves nothing of the send behind.
  StoreResult<EnqueueResult> EnqueueLocked(const EnqueueRequest& request,
                                           const std::vector<std::size_t>& order, std::int64_t now,
                                           bool undo_by_hand);
  // Takes back a send to one device: its message row (when written) and its
  // queue reservation.
  StoreStatus UndoEnqueueOneLocked(Bytes recipient_account, std::int64_t recipient_device,
                                   std::int64_t server_id, bool message_written);

  std::mutex mutex_;
  std::unique_ptr<SqliteDatabase> db_;
  // Read-only connection for GetAccount, GetDevice, ListDevices,
  // ListDeviceRegistrations, CountOneTimePreKeys and FetchMessages, behind
  // its own mutex.
  std::mutex read_mutex_;
  std::unique_ptr<SqliteDatabase> reader_;
  // Declared after the connections: stopped before they close.
  std::unique_ptr<SqliteCheckpointer> checkpointer_;
  const Clock& clock_;
  StoreOptions options_;
  // The device lists of the device check on every send: a read of the
  // file (and its locks) per send otherwise.
  DeviceRegistrationCache device_registrations_{kCachedDeviceListAccounts};
};

}  // namespace parley::store
