// PostgresServerStore: the scale-out backend, for several parleyd nodes
// sharing one PostgreSQL database (by URL).
//
// Same schema semantics as SQLite (store/schema_migration.h), applied by
// numbered migrations under an advisory lock, so nodes that start together
// migrate once. Every call is one READ COMMITTED transaction on a pooled
// connection with prepared statements; the rows a call must serialize on are
// locked explicitly (FOR UPDATE on the account for device adds, on the device
// for queue ids and prekey uploads, FOR UPDATE SKIP LOCKED for taking
// one-time prekeys). Serialization failures and deadlocks are retried.
//
// Durability is the server's: a call that returned has committed, which with
// PostgreSQL's default synchronous_commit=on means the WAL is flushed.
//
// Thread safety: any number of threads; they share StoreOptions::
// postgres_pool_size connections.
#pragma once

#include <pqxx/connection>
#include <pqxx/transaction>

#include <memory>
#include <string>

#include "base/clock.h"
#include "store/postgres_connection_pool.h"
#include "store/server_store.h"

namespace parley::store {

class PostgresServerStore final : public ServerStore {
 public:
  // Connects to `url` (a libpq connection URL), migrates the schema and
  // prepares the pool. kUnavailable: the server cannot be reached.
  static StoreResult<std::unique_ptr<PostgresServerStore>> Open(const std::string& url, const Clock& clock,
                                                                const StoreOptions& options);

  std::string_view backend_name() const override { return "postgresql"; }

  StoreResult<StoreStats> CollectStats() override;

  StoreResult<AccountRecord> CreateAccount(const NewAccount& account) override;
  StoreResult<AccountRecord> GetAccount(const AccountId& id) override;
  StoreResult<AccountRecord> GetAccountByUsername(std::string_view username) override;
  StoreStatus ChangeUsername(const AccountId& id, std::string_view new_username) override;
  StoreStatus SetAccountDisabled(const AccountId& id, bool disabled) override;
  StoreResult<std::vector<AccountId>> FindDisabledAccounts(std::span<const AccountId> ids) override;
  StoreResult<std::vector<AccountId>> FindMissingAccounts(std::span<const AccountId> ids) override;
  StoreStatus DeleteAccount(const AccountId& id) override;
  // Always done, without a query: DeleteAccount deleted the idempotence
  // records in its own transaction.
  StoreResult<DeletedAccountsPurge> PurgeDeletedAccounts(std::size_t max_rows) override;
  StoreResult<std::vector<AccountRecord>> ListAccounts(std::string_view after_username,
                                                       std::size_t limit) override;
  StoreResult<std::uint64_t> CountAccounts() override;

  StoreResult<DeviceRecord> AddDevice(const AccountId& account, const NewDevice& device) override;
  StoreStatus RemoveDevice(const DeviceAddress& device) override;
  StoreResult<DeviceRecord> GetDevice(const DeviceAddress& device) override;
  StoreResult<std::vector<DeviceRecord>> ListDevices(const AccountId& account) override;
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
  // The sends and deletes of one group in one transaction (one WAL flush).
  StoreResult<QueueBatchResult> CommitQueueBatch(std::span<const EnqueueRequest> sends,
                                                 std::span<const QueuedCopy> deletes) override;
  StoreResult<std::uint64_t> QueueDepth(const DeviceAddress& device) override;
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
  PostgresServerStore(const std::string& url, const Clock& clock, const StoreOptions& options);

  // Runs body(pqxx::work&) -> StoreResult<T> in a transaction on a pooled
  // connection: committed when the body succeeds, rolled back otherwise;
  // pqxx exceptions become StoreErrc; serialization failures, deadlocks and
  // a connection found broken are retried a few times.
  template <class Body>
  auto InTransaction(Body&& body) -> decltype(body(std::declval<pqxx::work&>()));

  // The *Locked helpers run inside the caller's transaction.
  StoreResult<DeviceRecord> AddDeviceLocked(pqxx::work& txn, const AccountId& account,
                                            const NewDevice& device, std::int64_t now);
  // A device's keys, written with the device (NewDevice::keys).
  void SetNewDeviceKeysLocked(pqxx::work& txn, const DeviceAddress& device, const NewDeviceKeys& keys);
  StoreStatus UseInvitationLocked(pqxx::work& txn, const TokenHash& token_hash, const AccountId& used_by,
                                  std::int64_t now);
  StoreResult<AccountId> CheckProvisioningCodeLocked(pqxx::work& txn, const TokenHash& code_hash,
                                                     std::int64_t now);
  StoreResult<AttachmentInfo> GetAttachmentLocked(pqxx::work& txn, const AttachmentId& id, bool for_update);
  StoreResult<std::vector<StoreResult<EnqueueResult>>> EnqueueBatchLocked(
      pqxx::work& txn, std::span<const EnqueueRequest> requests, std::int64_t now);
  StoreResult<std::vector<bool>> DeleteMessagesLocked(pqxx::work& txn, std::span<const QueuedCopy> messages);
  StoreResult<EnqueueResult> EnqueueLocked(pqxx::transaction_base& txn, const EnqueueRequest& request,
                                           const std::vector<std::size_t>& order, std::int64_t now);

  const Clock& clock_;
  StoreOptions options_;
  PostgresConnectionPool pool_;
};

}  // namespace parley::store
