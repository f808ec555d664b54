#include "store/sqlite_server_store.h"

#include <algorithm>
#include <map>
#include <utility>

#include "store/column_codec.h"
#include "store/limits.h"
#include "store/schema_migration.h"
#include "store/sqlite_wal_gather.h"
#include "store/try.h"
#include "store/validation.h"

namespace parley::store {

namespace {

using Lock = std::lock_guard<std::mutex>;

std::int64_t AsInt(std::uint64_t value) { return static_cast<std::int64_t>(value); }

template <std::size_t N>
Bytes AsBytes(const std::array<std::uint8_t, N>& value) {
  return Bytes(value.data(), value.size());
}

Bytes AsBytes(const std::vector<std::uint8_t>& value) { return Bytes(value.data(), value.size()); }

constexpr const char* kDeviceColumns =
    "account_id, device_id, registration_id, name, credential_salt, credential_hash, created_ms, "
    "last_seen_ms";

StoreResult<DeviceRecord> ReadDevice(const SqliteStatement& row) {
  PARLEY_STORE_ASSIGN(account, AccountIdFromBytes(row.Blob(0)));
  PARLEY_STORE_ASSIGN(device_id, CheckedInteger<std::uint32_t>(row.Int64(1)));
  PARLEY_STORE_ASSIGN(registration_id, CheckedInteger<std::uint32_t>(row.Int64(2)));
  DeviceRecord record;
  record.address = {account, DeviceId(device_id)};
  record.registration_id = RegistrationId(registration_id);
  record.name = std::string(row.Text(3));
  const Bytes salt = row.Blob(4);
  const Bytes hash = row.Blob(5);
  record.credential.salt.assign(salt.begin(), salt.end());
  record.credential.hash.assign(hash.begin(), hash.end());
  record.created_ms = row.Int64(6);
  record.last_seen_ms = row.Int64(7);
  return record;
}

StoreResult<AccountRecord> ReadAccount(const SqliteStatement& row) {
  PARLEY_STORE_ASSIGN(id, AccountIdFromBytes(row.Blob(0)));
  AccountRecord record;
  record.id = id;
  record.username = std::string(row.Text(1));
  record.created_ms = row.Int64(2);
  record.disabled = row.Int64(3) != 0;
  return record;
}

StoreResult<AttachmentInfo> ReadAttachmentInfo(const SqliteStatement& row) {
  PARLEY_STORE_ASSIGN(id, FixedBytes<16>(row.Blob(0)));
  PARLEY_STORE_ASSIGN(owner, AccountIdFromBytes(row.Blob(1)));
  PARLEY_STORE_ASSIGN(declared_size, CheckedInteger<std::uint64_t>(row.Int64(2)));
  PARLEY_STORE_ASSIGN(length, CheckedInteger<std::uint64_t>(row.Int64(3)));
  AttachmentInfo info;
  info.id = AttachmentId(id);
  info.owner = owner;
  info.declared_size = declared_size;
  info.length = length;
  info.created_ms = row.Int64(4);
  return info;
}

}  // namespace

StoreResult<std::unique_ptr<SqliteServerStore>> SqliteServerStore::Open(const std::string& path,
                                                                        const Clock& clock,
                                                                        const StoreOptions& options) {
  // The writer's WAL writes are gathered (store/sqlite_wal_gather.h); its
  // commits sync the WAL (synchronous=FULL below), which that requires.
  SqliteDatabase::InitializeLibrary();
  const char* vfs = RegisterWalGatherVfs() ? kWalGatherVfsName : nullptr;
  PARLEY_STORE_ASSIGN(db, SqliteDatabase::Open(path, options.sqlite_busy_timeout_ms, vfs));
  // journal_mode answers with the mode in force; anything but "wal" means the
  // file system cannot do WAL, and the durability argument would not hold.
  {
    PARLEY_STORE_ASSIGN(mode, db->Prepare("PRAGMA journal_mode=WAL"));
    PARLEY_STORE_ASSIGN(has_row, mode.Step());
    if (!has_row || mode.Text(0) != "wal") {
      return Fail(StoreErrc::kUnavailable, "SQLite cannot use WAL mode on this file");
    }
  }
  // A 64 MiB page cache (the default is 2 MiB) keeps the queue indexes of
  // active devices in memory.
  PARLEY_STORE_TRY(db->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;"));
  std::unique_ptr<SqliteServerStore> store(new SqliteServerStore(std::move(db), clock, options));
  PARLEY_STORE_TRY(store->Migrate());
  // The reads on the relay path (devices, accounts, queued messages) get a
  // second connection: in WAL mode it reads the last committed state while
  // the writer waits for its fsync, instead of queueing behind it.
  PARLEY_STORE_ASSIGN(reader, SqliteDatabase::Open(path, options.sqlite_busy_timeout_ms));
  // SQLite drops a connection's page cache whenever another connection
  // commits, and with the file memory-mapped it also unmaps the whole file
  // then (munmap, then mmap and a page fault for every page read again): the
  // reader does not map it, and reads the pages it needs again with pread.
  PARLEY_STORE_TRY(reader->Exec("PRAGMA query_only=ON; PRAGMA cache_size=-16384; PRAGMA mmap_size=0;"));
  store->reader_ = std::move(reader);
  PARLEY_STORE_ASSIGN(checkpointer, SqliteCheckpointer::Start(path, options.sqlite_busy_timeout_ms,
                                                              *store->db_, options.sqlite_checkpoint_pages));
  store->checkpointer_ = std::move(checkpointer);
  return store;
}

StoreStatus SqliteServerStore::Migrate() {
  const auto migrations = SqliteMigrations();
  return db_->InWriteTransaction([&]() -> StoreStatus {
    PARLEY_STORE_TRY(
        db_->Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms "
                  "INTEGER NOT NULL)"));
    std::int64_t current = 0;
    {
      PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations"));
      PARLEY_STORE_ASSIGN(has_row, query.Step());
      if (has_row) current = query.Int64(0);
    }
    const std::int64_t known = migrations.empty() ? 0 : migrations.back().version;
    if (current > known) {
      return Fail(StoreErrc::kIncompatibleSchema, "the database schema is newer than this build");
    }
    for (const auto& migration : migrations) {
      if (migration.version <= current) continue;
      PARLEY_STORE_TRY(db_->Exec(migration.sql));
      PARLEY_STORE_ASSIGN(record,
                          db_->Prepare("INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)"));
      record.Bind(1, migration.version).Bind(2, clock_.NowMillis());
      PARLEY_STORE_TRY(record.Run());
    }
    return Ok<StoreErrc>();
  });
}

StoreResult<StoreStats> SqliteServerStore::CollectStats() {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT (SELECT count(*) FROM accounts), "
                                          "(SELECT count(*) FROM accounts WHERE disabled <> 0), "
                                          "(SELECT count(*) FROM devices), "
                                          "(SELECT coalesce(sum(queued_count), 0) FROM device_queues), "
                                          "(SELECT count(*) FROM attachments), "
                                          "(SELECT coalesce(sum(length), 0) FROM attachments)"));
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kInternal, "stats returned no row");
  StoreStats stats;
  std::uint64_t* fields[] = {&stats.accounts,        &stats.disabled_accounts, &stats.devices,
                             &stats.queued_messages, &stats.attachments,       &stats.attachment_bytes};
  for (int i = 0; i < 6; ++i) {
    PARLEY_STORE_ASSIGN(value, CheckedInteger<std::uint64_t>(query.Int64(i)));
    *fields[i] = value;
  }
  return stats;
}

// ---------------------------------------------------------------- accounts

StoreResult<AccountRecord> SqliteServerStore::CreateAccount(const NewAccount& account) {
  PARLEY_STORE_ASSIGN(username, NormalizeUsername(account.username));
  PARLEY_STORE_TRY(ValidateNewDevice(account.primary));
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  return db_->InWriteTransaction([&]() -> StoreResult<AccountRecord> {
    PARLEY_STORE_TRY(ReuseDeletedAccountIdLocked(account.id, now));
    {
      PARLEY_STORE_ASSIGN(insert,
                          db_->Prepare("INSERT INTO accounts (id, username, created_ms) VALUES (?, ?, ?)"));
      insert.BindBlob(1, AccountIdBytes(account.id)).BindText(2, username).Bind(3, now);
      PARLEY_STORE_TRY(insert.Run());
    }
    {
      PARLEY_STORE_ASSIGN(insert,
                          db_->Prepare("INSERT INTO devices (account_id, device_id, registration_id, name, "
                                       "credential_salt, credential_hash, created_ms, last_seen_ms) "
                                       "VALUES (?, 1, ?, ?, ?, ?, ?, ?)"));
      insert.BindBlob(1, AccountIdBytes(account.id))
          .Bind(2, account.primary.registration_id.value())
          .BindText(3, account.primary.name)
          .BindBlob(4, AsBytes(account.primary.credential.salt))
          .BindBlob(5, AsBytes(account.primary.credential.hash))
          .Bind(6, now)
          .Bind(7, now);
      PARLEY_STORE_TRY(insert.Run());
    }
    PARLEY_STORE_TRY(InsertDeviceQueueLocked({account.id, DeviceId(1)}));
    if (account.primary.keys)
      PARLEY_STORE_TRY(SetNewDeviceKeysLocked({account.id, DeviceId(1)}, *account.primary.keys));
    if (account.invitation) PARLEY_STORE_TRY(UseInvitationLocked(*account.invitation, account.id, now));
    return AccountRecord{account.id, username, now, false};
  });
}

StoreResult<AccountRecord> SqliteServerStore::GetAccountLocked(SqliteDatabase& db, const AccountId& id) {
  PARLEY_STORE_ASSIGN(query,
                      db.Prepare("SELECT id, username, created_ms, disabled FROM accounts WHERE id = ?"));
  query.BindBlob(1, AccountIdBytes(id));
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kNotFound, "no such account");
  return ReadAccount(query);
}

StoreResult<AccountRecord> SqliteServerStore::GetAccount(const AccountId& id) {
  Lock lock(read_mutex_);
  return GetAccountLocked(*reader_, id);
}

StoreResult<AccountRecord> SqliteServerStore::GetAccountByUsername(std::string_view username) {
  auto normalized = NormalizeUsername(username);
  if (!normalized) return Fail(StoreErrc::kNotFound, "no account has this username");
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(
      query, db_->Prepare("SELECT id, username, created_ms, disabled FROM accounts WHERE username = ?"));
  query.BindText(1, *normalized);
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kNotFound, "no account has this username");
  return ReadAccount(query);
}

StoreStatus SqliteServerStore::ChangeUsername(const AccountId& id, std::string_view new_username) {
  PARLEY_STORE_ASSIGN(username, NormalizeUsername(new_username));
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(update, db_->Prepare("UPDATE accounts SET username = ? WHERE id = ?"));
  update.BindText(1, username).BindBlob(2, AccountIdBytes(id));
  PARLEY_STORE_TRY(update.Run());
  if (db_->changes() == 0) return Fail(StoreErrc::kNotFound, "no such account");
  return Ok<StoreErrc>();
}

StoreStatus SqliteServerStore::SetAccountDisabled(const AccountId& id, bool disabled) {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(update, db_->Prepare("UPDATE accounts SET disabled = ? WHERE id = ?"));
  update.Bind(1, disabled ? 1 : 0).BindBlob(2, AccountIdBytes(id));
  PARLEY_STORE_TRY(update.Run());
  if (db_->changes() == 0) return Fail(StoreErrc::kNotFound, "no such account");
  return Ok<StoreErrc>();
}

StoreResult<std::vector<AccountId>> SqliteServerStore::FindDisabledAccounts(std::span<const AccountId> ids) {
  if (ids.size() > kMaxPageSize) return Fail(StoreErrc::kInvalidArgument, "too many account ids");
  Lock lock(read_mutex_);
  return reader_->InReadTransaction([&]() -> StoreResult<std::vector<AccountId>> {
    std::vector<AccountId> disabled;
    for (const AccountId& id : ids) {
      PARLEY_STORE_ASSIGN(query, reader_->Prepare("SELECT 1 FROM accounts WHERE id = ? AND disabled <> 0"));
      query.BindBlob(1, AccountIdBytes(id));
      PARLEY_STORE_ASSIGN(has_row, query.Step());
      if (has_row) disabled.push_back(id);
    }
    return disabled;
  });
}

StoreResult<std::vector<AccountId>> SqliteServerStore::FindMissingAccounts(std::span<const AccountId> ids) {
  if (ids.size() > kMaxPageSize) return Fail(StoreErrc::kInvalidArgument, "too many account ids");
  Lock lock(read_mutex_);
  return reader_->InReadTransaction([&]() -> StoreResult<std::vector<AccountId>> {
    std::vector<AccountId> missing;
    for (const AccountId& id : ids) {
      PARLEY_STORE_ASSIGN(query, reader_->Prepare("SELECT 1 FROM accounts WHERE id = ?"));
      query.BindBlob(1, AccountIdBytes(id));
      PARLEY_STORE_ASSIGN(has_row, query.Step());
      if (!has_row) missing.push_back(id);
    }
    return missing;
  });
}

StoreStatus SqliteServerStore::ReuseDeletedAccountIdLocked(const AccountId& id, std::int64_t now) {
  {
    PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT deleted_ms FROM deleted_accounts WHERE account_id = ?"));
    query.BindBlob(1, AccountIdBytes(id));
    PARLEY_STORE_ASSIGN(has_row, query.Step());
    if (!has_row || query.Int64(0) < now) return Ok<StoreErrc>();
  }
  // Deleted in this millisecond (or by a clock that was ahead): the old
  // account's records from `now` on are removed here, through sends_by_time
  // (only the records of that span are read), so that the dead ones are
  // exactly those before `now` and the new account's own records live.
  {
    PARLEY_STORE_ASSIGN(remove, db_->Prepare("DELETE FROM sends WHERE server_timestamp_ms >= ? "
                                             "AND sender_account = ?"));
    remove.Bind(1, now).BindBlob(2, AccountIdBytes(id));
    PARLEY_STORE_TRY(remove.Run());
  }
  PARLEY_STORE_ASSIGN(update,
                      db_->Prepare("UPDATE deleted_accounts SET deleted_ms = ? WHERE account_id = ?"));
  update.Bind(1, now - 1).BindBlob(2, AccountIdBytes(id));
  return update.Run();
}

StoreStatus SqliteServerStore::DeleteAccount(const AccountId& id) {
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  auto deleted = db_->InWriteTransaction([&]() -> StoreStatus {
    {
      PARLEY_STORE_ASSIGN(remove, db_->Prepare("DELETE FROM accounts WHERE id = ?"));
      remove.BindBlob(1, AccountIdBytes(id));
      PARLEY_STORE_TRY(remove.Run());
      if (db_->changes() == 0) return Fail(StoreErrc::kNotFound, "no such account");
    }
    // The idempotence records stay for PurgeDeletedAccounts; this row makes
    // them dead at once. A walk in progress may have passed some of them:
    // only the next one, begun after this, finishes the account (in_sweep 0).
    PARLEY_STORE_ASSIGN(record,
                        db_->Prepare("INSERT INTO deleted_accounts (account_id, deleted_ms) VALUES (?, ?) "
                                     "ON CONFLICT (account_id) DO UPDATE SET "
                                     "deleted_ms = max(deleted_ms, excluded.deleted_ms), in_sweep = 0"));
    record.BindBlob(1, AccountIdBytes(id)).Bind(2, now);
    return record.Run();
  });
  if (deleted) device_registrations_.Invalidate(id);
  return deleted;
}

StoreResult<DeletedAccountsPurge> SqliteServerStore::PurgeDeletedAccounts(std::size_t max_rows) {
  max_rows = std::max<std::size_t>(1, ClampLimit(max_rows, kMaxPurgeBatch));
  Lock lock(mutex_);
  return db_->InWriteTransaction([&]() -> StoreResult<DeletedAccountsPurge> {
    DeletedAccountsPurge result;
    // The walk's position: the key of the last record it passed.
    std::vector<std::uint8_t> after_id;
    std::vector<std::uint8_t> after_account;
    std::int64_t after_device = 0;
    {
      PARLEY_STORE_ASSIGN(position, db_->Prepare("SELECT client_message_id, sender_account, sender_device "
                                                 "FROM send_record_sweep WHERE id = 1"));
      PARLEY_STORE_ASSIGN(walking, position.Step());
      if (walking) {
        const Bytes id = position.Blob(0);
        const Bytes account = position.Blob(1);
        after_id.assign(id.begin(), id.end());
        after_account.assign(account.begin(), account.end());
        after_device = position.Int64(2);
      } else {
        // A new walk, from before the first record (an empty blob sorts
        // before every id), for the accounts deleted until now.
        PARLEY_STORE_ASSIGN(begin, db_->Prepare("UPDATE deleted_accounts SET in_sweep = 1"));
        PARLEY_STORE_TRY(begin.Run());
        if (db_->changes() == 0) return result;
        PARLEY_STORE_TRY(
            RunCached("INSERT INTO send_record_sweep (id, client_message_id, sender_account, "
                      "sender_device) VALUES (1, x'', x'', 0)"));
      }
    }
    // This step covers the records after the position up to the max_rows-th
    // one, or to the end of the table.
    bool at_end = false;
    std::vector<std::uint8_t> upto_id;
    std::vector<std::uint8_t> upto_account;
    std::int64_t upto_device = 0;
    {
      PARLEY_STORE_ASSIGN(
          last, db_->Prepare("SELECT client_message_id, sender_account, sender_device FROM sends "
                             "WHERE (client_message_id, sender_account, sender_device) > (?, ?, ?) "
                             "ORDER BY client_message_id, sender_account, sender_device LIMIT 1 OFFSET ?"));
      last.BindBlob(1, AsBytes(after_id))
          .BindBlob(2, AsBytes(after_account))
          .Bind(3, after_device)
          .Bind(4, AsInt(max_rows - 1));
      PARLEY_STORE_ASSIGN(has_row, last.Step());
      at_end = !has_row;
      if (has_row) {
        const Bytes id = last.Blob(0);
        const Bytes account = last.Blob(1);
        upto_id.assign(id.begin(), id.end());
        upto_account.assign(account.begin(), account.end());
        upto_device = last.Int64(2);
        result.rows_examined = max_rows;
      }
    }
    if (at_end) {
      PARLEY_STORE_ASSIGN(count,
                          db_->Prepare("SELECT count(*) FROM sends WHERE "
                                       "(client_message_id, sender_account, sender_device) > (?, ?, ?)"));
      count.BindBlob(1, AsBytes(after_id)).BindBlob(2, AsBytes(after_account)).Bind(3, after_device);
      PARLEY_STORE_ASSIGN(has_row, count.Step());
      if (!has_row) return Fail(StoreErrc::kInternal, "count returned no row");
      PARLEY_STORE_ASSIGN(examined, CheckedInteger<std::uint64_t>(count.Int64(0)));
      result.rows_examined = examined;
    }
    {
      // The deleted accounts' dead records in the step's range; the range is
      // on the primary key, so only the step's records are read.
      static constexpr const char* kDeadInRange =
          "DELETE FROM sends WHERE (client_message_id, sender_account, sender_device) IN "
          "(SELECT s.client_message_id, s.sender_account, s.sender_device FROM sends s "
          "CROSS JOIN deleted_accounts d WHERE "
          "(s.client_message_id, s.sender_account, s.sender_device) > (?1, ?2, ?3) "
          "AND (s.client_message_id, s.sender_account, s.sender_device) <= (?4, ?5, ?6) "
          "AND d.account_id = s.sender_account AND s.server_timestamp_ms <= d.deleted_ms)";
      static constexpr const char* kDeadToEnd =
          "DELETE FROM sends WHERE (client_message_id, sender_account, sender_device) IN "
          "(SELECT s.client_message_id, s.sender_account, s.sender_device FROM sends s "
          "CROSS JOIN deleted_accounts d WHERE "
          "(s.client_message_id, s.sender_account, s.sender_device) > (?1, ?2, ?3) "
          "AND d.account_id = s.sender_account AND s.server_timestamp_ms <= d.deleted_ms)";
      PARLEY_STORE_ASSIGN(remove, db_->Prepare(at_end ? kDeadToEnd : kDeadInRange));
      remove.BindBlob(1, AsBytes(after_id)).BindBlob(2, AsBytes(after_account)).Bind(3, after_device);
      if (!at_end) {
        remove.BindBlob(4, AsBytes(upto_id)).BindBlob(5, AsBytes(upto_account)).Bind(6, upto_device);
      }
      PARLEY_STORE_TRY(remove.Run());
      result.send_records = static_cast<std::uint64_t>(db_->changes());
    }
    if (!at_end) {
      PARLEY_STORE_ASSIGN(advance, db_->Prepare("UPDATE send_record_sweep SET client_message_id = ?, "
                                                "sender_account = ?, sender_device = ? WHERE id = 1"));
      advance.BindBlob(1, AsBytes(upto_id)).BindBlob(2, AsBytes(upto_account)).Bind(3, upto_device);
      PARLEY_STORE_TRY(advance.Run());
      result.done = false;
      return result;
    }
    // The walk has covered every record: the accounts deleted before it
    // began are finished; those deleted since wait for the next walk.
    {
      PARLEY_STORE_ASSIGN(finish, db_->Prepare("DELETE FROM deleted_accounts WHERE in_sweep = 1"));
      PARLEY_STORE_TRY(finish.Run());
      result.accounts_finished = static_cast<std::uint64_t>(db_->changes());
    }
    PARLEY_STORE_TRY(RunCached("DELETE FROM send_record_sweep"));
    PARLEY_STORE_ASSIGN(waiting, db_->Prepare("SELECT 1 FROM deleted_accounts LIMIT 1"));
    PARLEY_STORE_ASSIGN(has_waiting, waiting.Step());
    result.done = !has_waiting;
    return result;
  });
}

StoreResult<std::vector<AccountRecord>> SqliteServerStore::ListAccounts(std::string_view after_username,
                                                                        std::size_t limit) {
  limit = ClampLimit(limit, kMaxPageSize);
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT id, username, created_ms, disabled FROM accounts "
                                          "WHERE username > ? ORDER BY username LIMIT ?"));
  query.BindText(1, after_username).Bind(2, AsInt(limit));
  std::vector<AccountRecord> accounts;
  while (true) {
    PARLEY_STORE_ASSIGN(has_row, query.Step());
    if (!has_row) break;
    PARLEY_STORE_ASSIGN(account, ReadAccount(query));
    accounts.push_back(std::move(account));
  }
  return accounts;
}

StoreResult<std::uint64_t> SqliteServerStore::CountAccounts() {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT count(*) FROM accounts"));
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kInternal, "count returned no row");
  return CheckedInteger<std::uint64_t>(query.Int64(0));
}

// ----------------------------------------------------------------- devices

StoreResult<DeviceRecord> SqliteServerStore::AddDeviceLocked(const AccountId& account,
                                                             const NewDevice& device, std::int64_t now) {
  {
    PARLEY_STORE_ASSIGN(exists, db_->Prepare("SELECT 1 FROM accounts WHERE id = ?"));
    exists.BindBlob(1, AccountIdBytes(account));
    PARLEY_STORE_ASSIGN(has_row, exists.Step());
    if (!has_row) return Fail(StoreErrc::kNotFound, "no such account");
  }
  std::uint32_t free_id = 0;
  {
    PARLEY_STORE_ASSIGN(
        ids, db_->Prepare("SELECT device_id FROM devices WHERE account_id = ? ORDER BY device_id"));
    ids.BindBlob(1, AccountIdBytes(account));
    std::uint32_t candidate = 1;
    while (true) {
      PARLEY_STORE_ASSIGN(has_row, ids.Step());
      if (!has_row || ids.Int64(0) != candidate) break;
      ++candidate;
    }
    if (candidate > kMaxDevicesPerAccount) {
      return Fail(StoreErrc::kLimitExceeded, "the account has the maximum number of devices");
    }
    free_id = candidate;
  }
  PARLEY_STORE_ASSIGN(insert,
                      db_->Prepare("INSERT INTO devices (account_id, device_id, registration_id, name, "
                                   "credential_salt, credential_hash, created_ms, last_seen_ms) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  insert.BindBlob(1, AccountIdBytes(account))
      .Bind(2, free_id)
      .Bind(3, device.registration_id.value())
      .BindText(4, device.name)
      .BindBlob(5, AsBytes(device.credential.salt))
      .BindBlob(6, AsBytes(device.credential.hash))
      .Bind(7, now)
      .Bind(8, now);
  PARLEY_STORE_TRY(insert.Run());
  PARLEY_STORE_TRY(InsertDeviceQueueLocked({account, DeviceId(free_id)}));
  if (device.keys) PARLEY_STORE_TRY(SetNewDeviceKeysLocked({account, DeviceId(free_id)}, *device.keys));
  return DeviceRecord{
      {account, DeviceId(free_id)}, device.registration_id, device.name, device.credential, now, now};
}

StoreStatus SqliteServerStore::InsertDeviceQueueLocked(const DeviceAddress& device) {
  PARLEY_STORE_ASSIGN(insert,
                      db_->Prepare("INSERT INTO device_queues (account_id, device_id) VALUES (?, ?)"));
  insert.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
  return insert.Run();
}

StoreResult<bool> SqliteServerStore::InsertOneTimePreKeyLocked(const DeviceAddress& device,
                                                               const OneTimePreKeyRecord& key) {
  PARLEY_STORE_ASSIGN(insert, db_->Prepare("INSERT INTO one_time_prekeys (account_id, device_id, prekey_id, "
                                           "public_key) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"));
  insert.BindBlob(1, AccountIdBytes(device.account))
      .Bind(2, device.device.value())
      .Bind(3, key.id.value())
      .BindBlob(4, AsBytes(key.public_key));
  PARLEY_STORE_TRY(insert.Run());
  return db_->changes() > 0;
}

StoreStatus SqliteServerStore::SetNewDeviceKeysLocked(const DeviceAddress& device,
                                                      const NewDeviceKeys& keys) {
  {
    PARLEY_STORE_ASSIGN(update, db_->Prepare("UPDATE devices SET identity_key = ?, signed_prekey_id = ?, "
                                             "signed_prekey = ?, signed_prekey_signature = ? "
                                             "WHERE account_id = ? AND device_id = ?"));
    update.BindBlob(1, AsBytes(keys.identity_key))
        .Bind(2, keys.signed_prekey.id.value())
        .BindBlob(3, AsBytes(keys.signed_prekey.public_key))
        .BindBlob(4, AsBytes(keys.signed_prekey.signature))
        .BindBlob(5, AccountIdBytes(device.account))
        .Bind(6, device.device.value());
    PARLEY_STORE_TRY(update.Run());
  }
  for (const OneTimePreKeyRecord& key : keys.one_time_prekeys) {
    PARLEY_STORE_TRY(InsertOneTimePreKeyLocked(device, key));
  }
  return Ok<StoreErrc>();
}

StoreResult<DeviceRecord> SqliteServerStore::AddDevice(const AccountId& account, const NewDevice& device) {
  PARLEY_STORE_TRY(ValidateNewDevice(device));
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  auto added = db_->InWriteTransaction([&] { return AddDeviceLocked(account, device, now); });
  if (added) device_registrations_.Invalidate(account);
  return added;
}

StoreStatus SqliteServerStore::RemoveDevice(const DeviceAddress& device) {
  Lock lock(mutex_);
  auto removed = db_->InWriteTransaction([&]() -> StoreStatus {
    PARLEY_STORE_ASSIGN(remove, db_->Prepare("DELETE FROM devices WHERE account_id = ? AND device_id = ?"));
    remove.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
    PARLEY_STORE_TRY(remove.Run());
    if (db_->changes() == 0) return Fail(StoreErrc::kNotFound, "no such device");
    return Ok<StoreErrc>();
  });
  if (removed) device_registrations_.Invalidate(device.account);
  return removed;
}

StoreResult<DeviceRecord> SqliteServerStore::GetDeviceLocked(SqliteDatabase& db,
                                                             const DeviceAddress& device) {
  static const std::string sql =
      std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE account_id = ? AND device_id = ?";
  PARLEY_STORE_ASSIGN(query, db.Prepare(sql));
  query.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kNotFound, "no such device");
  return ReadDevice(query);
}

StoreResult<DeviceRecord> SqliteServerStore::GetDevice(const DeviceAddress& device) {
  Lock lock(read_mutex_);
  return GetDeviceLocked(*reader_, device);
}

StoreResult<std::vector<DeviceRecord>> SqliteServerStore::ListDevices(const AccountId& account) {
  Lock lock(read_mutex_);
  return reader_->InReadTransaction([&]() -> StoreResult<std::vector<DeviceRecord>> {
    PARLEY_STORE_TRY(GetAccountLocked(*reader_, account));
    static const std::string sql =
        std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE account_id = ? ORDER BY device_id";
    PARLEY_STORE_ASSIGN(query, reader_->Prepare(sql));
    query.BindBlob(1, AccountIdBytes(account));
    std::vector<DeviceRecord> devices;
    while (true) {
      PARLEY_STORE_ASSIGN(has_row, query.Step());
      if (!has_row) break;
      PARLEY_STORE_ASSIGN(record, ReadDevice(query));
      devices.push_back(std::move(record));
    }
    return devices;
  });
}

StoreResult<std::vector<DeviceRegistration>> SqliteServerStore::ListDeviceRegistrations(
    const AccountId& account) {
  std::uint64_t generation = 0;
  if (auto cached = device_registrations_.Find(account, generation)) return std::move(*cached);
  Lock lock(read_mutex_);
  // The account's row joined with its devices: one row of NULLs when it has
  // none, no row when it does not exist.
  PARLEY_STORE_ASSIGN(query, reader_->Prepare("SELECT d.device_id, d.registration_id FROM accounts a "
                                              "LEFT JOIN devices d ON d.account_id = a.id "
                                              "WHERE a.id = ? ORDER BY d.device_id"));
  query.BindBlob(1, AccountIdBytes(account));
  std::vector<DeviceRegistration> devices;
  bool account_found = false;
  while (true) {
    PARLEY_STORE_ASSIGN(has_row, query.Step());
    if (!has_row) break;
    account_found = true;
    if (query.IsNull(0)) continue;
    PARLEY_STORE_ASSIGN(device_id, CheckedInteger<std::uint32_t>(query.Int64(0)));
    PARLEY_STORE_ASSIGN(registration_id, CheckedInteger<std::uint32_t>(query.Int64(1)));
    devices.push_back({DeviceId(device_id), RegistrationId(registration_id)});
  }
  if (!account_found) return Fail(StoreErrc::kNotFound, "no such account");
  device_registrations_.Insert(account, devices, generation);
  return devices;
}

StoreStatus SqliteServerStore::TouchDevice(const DeviceAddress& device) {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(
      update, db_->Prepare("UPDATE devices SET last_seen_ms = ? WHERE account_id = ? AND device_id = ?"));
  update.Bind(1, clock_.NowMillis())
      .BindBlob(2, AccountIdBytes(device.account))
      .Bind(3, device.device.value());
  PARLEY_STORE_TRY(update.Run());
  if (db_->changes() == 0) return Fail(StoreErrc::kNotFound, "no such device");
  return Ok<StoreErrc>();
}

// -------------------------------------------------------------------- keys

StoreStatus SqliteServerStore::SetIdentityKey(const DeviceAddress& device, const PublicKeyBytes& key) {
  Lock lock(mutex_);
  return db_->InWriteTransaction([&]() -> StoreStatus {
    bool replaces_other_key = false;
    {
      PARLEY_STORE_ASSIGN(
          query, db_->Prepare("SELECT identity_key FROM devices WHERE account_id = ? AND device_id = ?"));
      query.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
      PARLEY_STORE_ASSIGN(has_row, query.Step());
      if (!has_row) return Fail(StoreErrc::kNotFound, "no such device");
      if (!query.IsNull(0)) {
        const Bytes stored = query.Blob(0);
        replaces_other_key = !std::equal(stored.begin(), stored.end(), key.begin(), key.end());
      }
    }
    if (replaces_other_key) {
      PARLEY_STORE_ASSIGN(
          clear, db_->Prepare("UPDATE devices SET signed_prekey_id = NULL, signed_prekey = NULL, "
                              "signed_prekey_signature = NULL WHERE account_id = ? AND device_id = ?"));
      clear.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
      PARLEY_STORE_TRY(clear.Run());
      PARLEY_STORE_ASSIGN(
          remove, db_->Prepare("DELETE FROM one_time_prekeys WHERE account_id = ? AND device_id = ?"));
      remove.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
      PARLEY_STORE_TRY(remove.Run());
    }
    PARLEY_STORE_ASSIGN(
        update, db_->Prepare("UPDATE devices SET identity_key = ? WHERE account_id = ? AND device_id = ?"));
    update.BindBlob(1, AsBytes(key))
        .BindBlob(2, AccountIdBytes(device.account))
        .Bind(3, device.device.value());
    return update.Run();
  });
}

StoreResult<PublicKeyBytes> SqliteServerStore::GetIdentityKey(const DeviceAddress& device) {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(
      query, db_->Prepare("SELECT identity_key FROM devices WHERE account_id = ? AND device_id = ?"));
  query.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kNotFound, "no such device");
  if (query.IsNull(0)) return Fail(StoreErrc::kNotFound, "the device has no identity key");
  return FixedBytes<kPublicKeyBytes>(query.Blob(0));
}

StoreStatus SqliteServerStore::SetSignedPreKey(const DeviceAddress& device, const SignedPreKeyRecord& key) {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(update,
                      db_->Prepare("UPDATE devices SET signed_prekey_id = ?, signed_prekey = ?, "
                                   "signed_prekey_signature = ? WHERE account_id = ? AND device_id = ?"));
  update.Bind(1, key.id.value())
      .BindBlob(2, AsBytes(key.public_key))
      .BindBlob(3, AsBytes(key.signature))
      .BindBlob(4, AccountIdBytes(device.account))
      .Bind(5, device.device.value());
  PARLEY_STORE_TRY(update.Run());
  if (db_->changes() == 0) return Fail(StoreErrc::kNotFound, "no such device");
  return Ok<StoreErrc>();
}

StoreResult<std::size_t> SqliteServerStore::AddOneTimePreKeys(const DeviceAddress& device,
                                                              std::span<const OneTimePreKeyRecord> keys) {
  Lock lock(mutex_);
  return db_->InWriteTransaction([&]() -> StoreResult<std::size_t> {
    {
      PARLEY_STORE_ASSIGN(exists,
                          db_->Prepare("SELECT 1 FROM devices WHERE account_id = ? AND device_id = ?"));
      exists.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
      PARLEY_STORE_ASSIGN(has_row, exists.Step());
      if (!has_row) return Fail(StoreErrc::kNotFound, "no such device");
    }
    std::int64_t stored = 0;
    {
      PARLEY_STORE_ASSIGN(
          count,
          db_->Prepare("SELECT count(*) FROM one_time_prekeys WHERE account_id = ? AND device_id = ?"));
      count.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
      PARLEY_STORE_ASSIGN(has_row, count.Step());
      if (has_row) stored = count.Int64(0);
    }
    std::size_t added = 0;
    for (const auto& key : keys) {
      PARLEY_STORE_ASSIGN(inserted, InsertOneTimePreKeyLocked(device, key));
      if (inserted) ++added;
      if (static_cast<std::size_t>(stored) + added > kMaxOneTimePreKeysPerDevice) {
        return Fail(StoreErrc::kLimitExceeded, "the device would hold too many one-time prekeys");
      }
    }
    return added;
  });
}

StoreResult<std::uint64_t> SqliteServerStore::CountOneTimePreKeys(const DeviceAddress& device) {
  Lock lock(read_mutex_);
  return reader_->InReadTransaction([&]() -> StoreResult<std::uint64_t> {
    {
      PARLEY_STORE_ASSIGN(exists,
                          reader_->Prepare("SELECT 1 FROM devices WHERE account_id = ? AND device_id = ?"));
      exists.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
      PARLEY_STORE_ASSIGN(has_row, exists.Step());
      if (!has_row) return Fail(StoreErrc::kNotFound, "no such device");
    }
    PARLEY_STORE_ASSIGN(
        count,
        reader_->Prepare("SELECT count(*) FROM one_time_prekeys WHERE account_id = ? AND device_id = ?"));
    count.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
    PARLEY_STORE_ASSIGN(has_row, count.Step());
    if (!has_row) return Fail(StoreErrc::kInternal, "count returned no row");
    return CheckedInteger<std::uint64_t>(count.Int64(0));
  });
}

StoreResult<PreKeyBundleRecord> SqliteServerStore::TakePreKeyBundle(const DeviceAddress& device) {
  Lock lock(mutex_);
  return db_->InWriteTransaction([&]() -> StoreResult<PreKeyBundleRecord> {
    PreKeyBundleRecord bundle;
    bundle.address = device;
    {
      PARLEY_STORE_ASSIGN(
          query, db_->Prepare("SELECT registration_id, identity_key, signed_prekey_id, signed_prekey, "
                              "signed_prekey_signature FROM devices "
                              "WHERE account_id = ? AND device_id = ?"));
      query.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
      PARLEY_STORE_ASSIGN(has_row, query.Step());
      if (!has_row) return Fail(StoreErrc::kNotFound, "no such device");
      if (query.IsNull(1)) return Fail(StoreErrc::kNotFound, "the device has no identity key");
      if (query.IsNull(2) || query.IsNull(3) || query.IsNull(4)) {
        return Fail(StoreErrc::kNotFound, "the device has no signed prekey");
      }
      PARLEY_STORE_ASSIGN(registration_id, CheckedInteger<std::uint32_t>(query.Int64(0)));
      PARLEY_STORE_ASSIGN(identity_key, FixedBytes<kPublicKeyBytes>(query.Blob(1)));
      PARLEY_STORE_ASSIGN(signed_id, CheckedInteger<std::uint32_t>(query.Int64(2)));
      PARLEY_STORE_ASSIGN(signed_key, FixedBytes<kPublicKeyBytes>(query.Blob(3)));
      PARLEY_STORE_ASSIGN(signature, FixedBytes<kSignatureBytes>(query.Blob(4)));
      bundle.registration_id = RegistrationId(registration_id);
      bundle.identity_key = identity_key;
      bundle.signed_prekey = {SignedPreKeyId(signed_id), signed_key, signature};
    }
    PARLEY_STORE_ASSIGN(take,
                        db_->Prepare("DELETE FROM one_time_prekeys WHERE account_id = ?1 AND device_id = ?2 "
                                     "AND prekey_id = (SELECT min(prekey_id) FROM one_time_prekeys "
                                     "WHERE account_id = ?1 AND device_id = ?2) "
                                     "RETURNING prekey_id, public_key"));
    take.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
    PARLEY_STORE_ASSIGN(has_row, take.Step());
    if (has_row) {
      PARLEY_STORE_ASSIGN(prekey_id, CheckedInteger<std::uint32_t>(take.Int64(0)));
      PARLEY_STORE_ASSIGN(public_key, FixedBytes<kPublicKeyBytes>(take.Blob(1)));
      bundle.one_time_prekey = OneTimePreKeyRecord{PreKeyId(prekey_id), public_key};
      PARLEY_STORE_TRY(take.Run());
    }
    return bundle;
  });
}

// ---------------------------------------------------------------- messages

StoreStatus SqliteServerStore::UndoEnqueueOneLocked(Bytes recipient_account, std::int64_t recipient_device,
                                                    std::int64_t server_id, bool message_written) {
  if (message_written) {
    PARLEY_STORE_ASSIGN(
        remove,
        db_->Prepare("DELETE FROM messages WHERE account_id = ? AND device_id = ? AND server_id = ?"));
    remove.BindBlob(1, recipient_account).Bind(2, recipient_device).Bind(3, server_id);
    PARLEY_STORE_TRY(remove.Run());
  }
  PARLEY_STORE_ASSIGN(release,
                      db_->Prepare("UPDATE device_queues SET next_message_id = next_message_id - 1, "
                                   "queued_count = queued_count - 1 WHERE account_id = ? AND device_id = ?"));
  release.BindBlob(1, recipient_account).Bind(2, recipient_device);
  return release.Run();
}

StoreResult<EnqueueResult> SqliteServerStore::EnqueueLocked(const EnqueueRequest& request,
                                                            const std::vector<std::size_t>& order,
                                                            std::int64_t now, bool undo_by_hand) {
  const auto client_id_bytes = request.client_message_id.value();
  const Bytes client_id = AsBytes(client_id_bytes);
  const auto sender_account = AccountIdBytes(request.sender.account);
  const std::int64_t sender_device = request.sender.device.value();
  EnqueueResult result;
  // A retry: the first send's record answers it. Looked up first (inside the
  // write transaction, so nothing can come between) because the record is
  // written last, with the copies. A dead record (of a deleted account
  // whose id the sender has again, see DeleteAccount) answers nothing: it is
  // removed and the send is new.
  bool dead_record = false;
  {
    PARLEY_STORE_ASSIGN(
        first,
        db_->Prepare("SELECT s.server_timestamp_ms, s.copies, EXISTS (SELECT 1 FROM deleted_accounts d "
                     "WHERE d.account_id = s.sender_account AND d.deleted_ms >= s.server_timestamp_ms) "
                     "FROM sends s WHERE "
                     "client_message_id = ? AND sender_account = ? AND sender_device = ?"));
    first.BindBlob(1, client_id).BindBlob(2, sender_account).Bind(3, sender_device);
    PARLEY_STORE_ASSIGN(has_row, first.Step());
    if (has_row && first.Int64(2) != 0) {
      dead_record = true;
    } else if (has_row) {
      result.duplicate = true;
      result.server_timestamp_ms = first.Int64(0);
      if (!first.IsNull(1)) {
        PARLEY_STORE_ASSIGN(copies, DecodeQueuedCopies(first.Blob(1)));
        result.copies = std::move(copies);
        return result;
      }
    }
  }
  if (result.duplicate) {
    // A send recorded before schema version 2: its copies are rows of send_copies.
    PARLEY_STORE_ASSIGN(copies,
                        db_->Prepare("SELECT recipient_account, recipient_device, server_id FROM send_copies "
                                     "WHERE sender_account = ? AND sender_device = ? "
                                     "AND client_message_id = ? ORDER BY position"));
    copies.BindBlob(1, sender_account).Bind(2, sender_device).BindBlob(3, client_id);
    while (true) {
      PARLEY_STORE_ASSIGN(has_row, copies.Step());
      if (!has_row) break;
      PARLEY_STORE_ASSIGN(account, AccountIdFromBytes(copies.Blob(0)));
      PARLEY_STORE_ASSIGN(device_id, CheckedInteger<std::uint32_t>(copies.Int64(1)));
      PARLEY_STORE_ASSIGN(server_id, CheckedInteger<std::uint64_t>(copies.Int64(2)));
      result.copies.push_back({{account, DeviceId(device_id)}, server_id});
    }
    return result;
  }
  // The record has no foreign key to accounts (schema version 5): checked
  // here, before anything is written, so a refused send leaves nothing.
  {
    PARLEY_STORE_ASSIGN(sender, db_->Prepare("SELECT 1 FROM accounts WHERE id = ?"));
    sender.BindBlob(1, sender_account);
    PARLEY_STORE_ASSIGN(has_row, sender.Step());
    if (!has_row) return Fail(StoreErrc::kNotFound, "the sender account does not exist");
  }
  if (dead_record) {
    PARLEY_STORE_ASSIGN(remove, db_->Prepare("DELETE FROM sends WHERE client_message_id = ? "
                                             "AND sender_account = ? AND sender_device = ?"));
    remove.BindBlob(1, client_id).BindBlob(2, sender_account).Bind(3, sender_device);
    PARLEY_STORE_TRY(remove.Run());
  }

  result.server_timestamp_ms = now;
  result.copies.resize(request.envelopes.size());
  for (std::size_t index : order) {
    const OutgoingEnvelope& envelope = request.envelopes[index];
    const auto recipient_account = AccountIdBytes(envelope.recipient.account);
    const std::int64_t recipient_device = envelope.recipient.device.value();
    std::int64_t server_id = 0;
    {
      PARLEY_STORE_ASSIGN(reserve,
                          db_->Prepare("UPDATE device_queues SET next_message_id = next_message_id + 1, "
                                       "queued_count = queued_count + 1 WHERE account_id = ? "
                                       "AND device_id = ? AND queued_count < ? "
                                       "RETURNING next_message_id - 1"));
      reserve.BindBlob(1, recipient_account)
          .Bind(2, recipient_device)
          .Bind(3, AsInt(options_.max_queue_depth));
      PARLEY_STORE_ASSIGN(has_row, reserve.Step());
      if (has_row) {
        server_id = reserve.Int64(0);
        PARLEY_STORE_TRY(reserve.Run());
      }
    }
    if (server_id == 0) {
      PARLEY_STORE_ASSIGN(exists,
                          db_->Prepare("SELECT 1 FROM devices WHERE account_id = ? AND device_id = ?"));
      exists.BindBlob(1, recipient_account).Bind(2, recipient_device);
      PARLEY_STORE_ASSIGN(has_row, exists.Step());
      if (!has_row) return Fail(StoreErrc::kNotFound, "a recipient device does not exist");
      return Fail(StoreErrc::kQueueFull, "a recipient device's queue is full");
    }
    {
      PARLEY_STORE_ASSIGN(insert,
                          db_->Prepare("INSERT INTO messages (account_id, device_id, server_id, "
                                       "server_timestamp_ms, sender_account, sender_device, type, "
                                       "client_message_id, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      insert.BindBlob(1, recipient_account)
          .Bind(2, recipient_device)
          .Bind(3, server_id)
          .Bind(4, now)
          .BindBlob(5, sender_account)
          .Bind(6, sender_device)
          .Bind(7, envelope.type)
          .BindBlob(8, client_id)
          .BindBlobView(9, envelope.content);
      if (auto inserted = insert.Run(); !inserted) {
        if (undo_by_hand && IsSendLevelError(inserted.error().code)) {
          PARLEY_STORE_TRY(UndoEnqueueOneLocked(recipient_account, recipient_device, server_id, false));
        }
        return tl::unexpected(inserted.error());
      }
    }
    result.copies[index] = {envelope.recipient, static_cast<std::uint64_t>(server_id)};
  }
  const std::vector<std::uint8_t> copies = EncodeQueuedCopies(result.copies);
  PARLEY_STORE_ASSIGN(record,
                      db_->Prepare("INSERT INTO sends (sender_account, sender_device, client_message_id, "
                                   "server_timestamp_ms, copies) VALUES (?, ?, ?, ?, ?)"));
  record.BindBlob(1, sender_account)
      .Bind(2, sender_device)
      .BindBlob(3, client_id)
      .Bind(4, now)
      .BindBlob(5, AsBytes(copies));
  if (auto recorded = record.Run(); !recorded) {
    if (undo_by_hand && IsSendLevelError(recorded.error().code)) {
      const OutgoingEnvelope& envelope = request.envelopes.front();
      PARLEY_STORE_TRY(UndoEnqueueOneLocked(AccountIdBytes(envelope.recipient.account),
                                            envelope.recipient.device.value(),
                                            AsInt(result.copies.front().server_id), true));
    }
    return tl::unexpected(recorded.error());
  }
  return result;
}

StoreStatus SqliteServerStore::RunCached(std::string_view sql) {
  PARLEY_STORE_ASSIGN(statement, db_->Prepare(sql));
  return statement.Run();
}

StoreResult<EnqueueResult> SqliteServerStore::Enqueue(const EnqueueRequest& request) {
  PARLEY_STORE_ASSIGN(results, EnqueueBatch(std::span(&request, 1)));
  return std::move(results.front());
}

StoreResult<std::vector<StoreResult<EnqueueResult>>> SqliteServerStore::EnqueueBatch(
    std::span<const EnqueueRequest> requests) {
  if (requests.size() > kMaxEnqueueBatch)
    return Fail(StoreErrc::kInvalidArgument, "too many sends in one batch");
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  return db_->InWriteTransaction([&] { return EnqueueBatchLocked(requests, now); });
}

StoreResult<std::vector<StoreResult<EnqueueResult>>> SqliteServerStore::EnqueueBatchLocked(
    std::span<const EnqueueRequest> requests, std::int64_t now) {
  std::vector<StoreResult<EnqueueResult>> results;
  results.reserve(requests.size());
  for (const auto& request : requests) {
    auto order = ValidateEnqueue(request);
    if (!order) {
      results.push_back(tl::unexpected(order.error()));
      continue;
    }
    // A failed send is undone alone: a send to several devices in a
    // savepoint of its own; a send to one device (most of them) without one,
    // since a savepoint copies every page the send changes into a
    // sub-journal. Its first write, the queue reservation, fails without
    // writing anything, and EnqueueLocked takes back what it wrote before a
    // later failure.
    const bool savepoint = request.envelopes.size() > 1;
    if (savepoint) PARLEY_STORE_TRY(RunCached("SAVEPOINT enqueue_one"));
    auto result = EnqueueLocked(request, *order, now, !savepoint);
    if (!result) {
      if (savepoint) PARLEY_STORE_TRY(RunCached("ROLLBACK TO enqueue_one"));
      if (!IsSendLevelError(result.error().code)) return tl::unexpected(result.error());
    }
    if (savepoint) PARLEY_STORE_TRY(RunCached("RELEASE enqueue_one"));
    results.push_back(std::move(result));
  }
  return results;
}

StoreResult<MessageQueueStore::QueueBatchResult> SqliteServerStore::CommitQueueBatch(
    std::span<const EnqueueRequest> sends, std::span<const QueuedCopy> deletes) {
  PARLEY_STORE_TRY(CheckQueueBatchSize(sends.size(), deletes.size()));
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  return db_->InWriteTransaction([&]() -> StoreResult<QueueBatchResult> {
    QueueBatchResult result;
    PARLEY_STORE_ASSIGN(queued, EnqueueBatchLocked(sends, now));
    PARLEY_STORE_ASSIGN(deleted, DeleteMessagesLocked(deletes));
    result.sends = std::move(queued);
    result.deleted = std::move(deleted);
    return result;
  });
}

StoreResult<std::vector<StoredEnvelope>> SqliteServerStore::FetchMessages(const DeviceAddress& device,
                                                                          std::uint64_t after_server_id,
                                                                          std::size_t max_count) {
  max_count = ClampLimit(max_count, kMaxFetchCount);
  Lock lock(read_mutex_);
  PARLEY_STORE_ASSIGN(
      query, reader_->Prepare("SELECT server_id, server_timestamp_ms, sender_account, sender_device, "
                              "type, client_message_id, content FROM messages "
                              "WHERE account_id = ? AND device_id = ? AND server_id > ? "
                              "ORDER BY server_id LIMIT ?"));
  query.BindBlob(1, AccountIdBytes(device.account))
      .Bind(2, device.device.value())
      .Bind(3, AsInt(std::min<std::uint64_t>(after_server_id, std::numeric_limits<std::int64_t>::max())))
      .Bind(4, AsInt(max_count));
  std::vector<StoredEnvelope> envelopes;
  std::size_t bytes = 0;
  while (bytes < kMaxFetchBytes) {
    PARLEY_STORE_ASSIGN(has_row, query.Step());
    if (!has_row) break;
    PARLEY_STORE_ASSIGN(server_id, CheckedInteger<std::uint64_t>(query.Int64(0)));
    PARLEY_STORE_ASSIGN(sender_account, AccountIdFromBytes(query.Blob(2)));
    PARLEY_STORE_ASSIGN(sender_device, CheckedInteger<std::uint32_t>(query.Int64(3)));
    PARLEY_STORE_ASSIGN(type, CheckedInteger<std::uint32_t>(query.Int64(4)));
    PARLEY_STORE_ASSIGN(client_id, FixedBytes<16>(query.Blob(5)));
    StoredEnvelope envelope;
    envelope.server_id = server_id;
    envelope.server_timestamp_ms = query.Int64(1);
    envelope.sender = {sender_account, DeviceId(sender_device)};
    envelope.recipient = device;
    envelope.type = type;
    envelope.client_message_id = ClientMessageId(client_id);
    const Bytes content = query.Blob(6);
    envelope.content.assign(content.begin(), content.end());
    bytes += content.size();
    envelopes.push_back(std::move(envelope));
  }
  return envelopes;
}

StoreStatus SqliteServerStore::DeleteMessage(const DeviceAddress& device, std::uint64_t server_id) {
  const QueuedCopy message{device, server_id};
  PARLEY_STORE_ASSIGN(found, DeleteMessages(std::span(&message, 1)));
  if (!found.front()) return Fail(StoreErrc::kNotFound, "no such message in this queue");
  return Ok<StoreErrc>();
}

StoreResult<std::vector<bool>> SqliteServerStore::DeleteMessages(std::span<const QueuedCopy> messages) {
  if (messages.size() > kMaxDeleteBatch)
    return Fail(StoreErrc::kInvalidArgument, "too many messages in one batch");
  Lock lock(mutex_);
  return db_->InWriteTransaction([&] { return DeleteMessagesLocked(messages); });
}

StoreResult<std::vector<bool>> SqliteServerStore::DeleteMessagesLocked(std::span<const QueuedCopy> messages) {
  std::vector<bool> found(messages.size(), false);
  std::map<DeviceAddress, std::int64_t> removed_per_device;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const QueuedCopy& message = messages[i];
    if (message.server_id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) continue;
    PARLEY_STORE_ASSIGN(
        remove,
        db_->Prepare("DELETE FROM messages WHERE account_id = ? AND device_id = ? AND server_id = ?"));
    remove.BindBlob(1, AccountIdBytes(message.recipient.account))
        .Bind(2, message.recipient.device.value())
        .Bind(3, AsInt(message.server_id));
    PARLEY_STORE_TRY(remove.Run());
    if (db_->changes() == 0) continue;
    found[i] = true;
    ++removed_per_device[message.recipient];
  }
  for (const auto& [device, removed] : removed_per_device) {
    PARLEY_STORE_ASSIGN(update, db_->Prepare("UPDATE device_queues SET queued_count = queued_count - ? "
                                             "WHERE account_id = ? AND device_id = ?"));
    update.Bind(1, removed).BindBlob(2, AccountIdBytes(device.account)).Bind(3, device.device.value());
    PARLEY_STORE_TRY(update.Run());
  }
  return found;
}

StoreResult<std::uint64_t> SqliteServerStore::QueueDepth(const DeviceAddress& device) {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(
      query, db_->Prepare("SELECT queued_count FROM device_queues WHERE account_id = ? AND device_id = ?"));
  query.BindBlob(1, AccountIdBytes(device.account)).Bind(2, device.device.value());
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kNotFound, "no such device");
  return CheckedInteger<std::uint64_t>(query.Int64(0));
}

StoreResult<QueueDepthSummary> SqliteServerStore::SummarizeQueueDepths() {
  Lock lock(read_mutex_);
  PARLEY_STORE_ASSIGN(query, reader_->Prepare("SELECT coalesce(sum(queued_count), 0), "
                                              "coalesce(max(queued_count), 0), "
                                              "coalesce(sum(queued_count > 0), 0) FROM device_queues"));
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kInternal, "queue summary returned no row");
  PARLEY_STORE_ASSIGN(queued, CheckedInteger<std::uint64_t>(query.Int64(0)));
  PARLEY_STORE_ASSIGN(deepest, CheckedInteger<std::uint64_t>(query.Int64(1)));
  PARLEY_STORE_ASSIGN(nonempty, CheckedInteger<std::uint64_t>(query.Int64(2)));
  return QueueDepthSummary{queued, deepest, nonempty};
}

StoreResult<PurgeCounts> SqliteServerStore::PurgeExpiredMessages(std::int64_t cutoff_ms,
                                                                 std::size_t max_rows) {
  max_rows = ClampLimit(max_rows, kMaxPurgeBatch);
  Lock lock(mutex_);
  return db_->InWriteTransaction([&]() -> StoreResult<PurgeCounts> {
    PurgeCounts counts;
    std::map<std::pair<std::vector<std::uint8_t>, std::int64_t>, std::int64_t> removed_per_device;
    {
      PARLEY_STORE_ASSIGN(remove,
                          db_->Prepare("DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages "
                                       "WHERE server_timestamp_ms < ? ORDER BY server_timestamp_ms LIMIT ?) "
                                       "RETURNING account_id, device_id"));
      remove.Bind(1, cutoff_ms).Bind(2, AsInt(max_rows));
      while (true) {
        PARLEY_STORE_ASSIGN(has_row, remove.Step());
        if (!has_row) break;
        const Bytes account = remove.Blob(0);
        ++removed_per_device[{std::vector<std::uint8_t>(account.begin(), account.end()), remove.Int64(1)}];
        ++counts.messages;
      }
    }
    for (const auto& [device, removed] : removed_per_device) {
      PARLEY_STORE_ASSIGN(update, db_->Prepare("UPDATE device_queues SET queued_count = queued_count - ? "
                                               "WHERE account_id = ? AND device_id = ?"));
      update.Bind(1, removed).BindBlob(2, AsBytes(device.first)).Bind(3, device.second);
      PARLEY_STORE_TRY(update.Run());
    }
    // Dead records (of deleted accounts) go too, counted apart.
    PARLEY_STORE_ASSIGN(
        sends, db_->Prepare("DELETE FROM sends WHERE (client_message_id, sender_account, "
                            "sender_device) IN (SELECT client_message_id, sender_account, "
                            "sender_device FROM sends WHERE server_timestamp_ms < ? "
                            "ORDER BY server_timestamp_ms LIMIT ?) "
                            "RETURNING EXISTS (SELECT 1 FROM deleted_accounts d WHERE d.account_id = "
                            "sender_account AND d.deleted_ms >= server_timestamp_ms)"));
    sends.Bind(1, cutoff_ms).Bind(2, AsInt(max_rows));
    while (true) {
      PARLEY_STORE_ASSIGN(has_row, sends.Step());
      if (!has_row) break;
      ++(sends.Int64(0) != 0 ? counts.deleted_account_records : counts.send_records);
    }
    return counts;
  });
}

// ------------------------------------------------------------- attachments

StoreResult<AttachmentInfo> SqliteServerStore::CreateAttachment(const AttachmentId& id,
                                                                const AccountId& owner,
                                                                std::uint64_t declared_size) {
  if (declared_size == 0) return Fail(StoreErrc::kInvalidArgument, "attachment size is zero");
  if (declared_size > options_.max_attachment_bytes) {
    return Fail(StoreErrc::kLimitExceeded, "attachment is larger than the maximum");
  }
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  PARLEY_STORE_ASSIGN(
      insert,
      db_->Prepare("INSERT INTO attachments (id, owner, declared_size, created_ms) VALUES (?, ?, ?, ?)"));
  insert.BindBlob(1, AsBytes(id.value()))
      .BindBlob(2, AccountIdBytes(owner))
      .Bind(3, AsInt(declared_size))
      .Bind(4, now);
  PARLEY_STORE_TRY(insert.Run());
  return AttachmentInfo{id, owner, declared_size, 0, now};
}

StoreResult<AttachmentInfo> SqliteServerStore::GetAttachmentLocked(const AttachmentId& id) {
  PARLEY_STORE_ASSIGN(query,
                      db_->Prepare("SELECT id, owner, declared_size, length, created_ms FROM attachments "
                                   "WHERE id = ?"));
  query.BindBlob(1, AsBytes(id.value()));
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kNotFound, "no such attachment");
  return ReadAttachmentInfo(query);
}

StoreResult<AttachmentInfo> SqliteServerStore::AppendAttachmentChunk(const AttachmentId& id,
                                                                     std::uint64_t offset, Bytes chunk) {
  if (chunk.empty()) return Fail(StoreErrc::kInvalidArgument, "attachment chunk is empty");
  if (chunk.size() > kMaxAttachmentChunkBytes) {
    return Fail(StoreErrc::kInvalidArgument, "attachment chunk is too large");
  }
  Lock lock(mutex_);
  return db_->InWriteTransaction([&]() -> StoreResult<AttachmentInfo> {
    PARLEY_STORE_ASSIGN(info, GetAttachmentLocked(id));
    if (offset != info.length) return Fail(StoreErrc::kConflict, "chunk offset is not the uploaded length");
    if (chunk.size() > info.declared_size - info.length) {
      return Fail(StoreErrc::kLimitExceeded, "chunk passes the declared attachment size");
    }
    {
      PARLEY_STORE_ASSIGN(insert,
                          db_->Prepare("INSERT INTO attachment_chunks (attachment_id, chunk_offset, data) "
                                       "VALUES (?, ?, ?)"));
      insert.BindBlob(1, AsBytes(id.value())).Bind(2, AsInt(offset)).BindBlobView(3, chunk);
      PARLEY_STORE_TRY(insert.Run());
    }
    info.length += chunk.size();
    PARLEY_STORE_ASSIGN(update, db_->Prepare("UPDATE attachments SET length = ? WHERE id = ?"));
    update.Bind(1, AsInt(info.length)).BindBlob(2, AsBytes(id.value()));
    PARLEY_STORE_TRY(update.Run());
    return info;
  });
}

StoreResult<AttachmentInfo> SqliteServerStore::GetAttachment(const AttachmentId& id) {
  Lock lock(mutex_);
  return GetAttachmentLocked(id);
}

StoreResult<std::vector<std::uint8_t>> SqliteServerStore::ReadAttachment(const AttachmentId& id,
                                                                         std::uint64_t offset,
                                                                         std::size_t max_bytes) {
  max_bytes = ClampLimit(max_bytes, kMaxAttachmentReadBytes);
  Lock lock(mutex_);
  return db_->InReadTransaction([&]() -> StoreResult<std::vector<std::uint8_t>> {
    PARLEY_STORE_ASSIGN(info, GetAttachmentLocked(id));
    if (offset > info.length)
      return Fail(StoreErrc::kInvalidArgument, "read offset is past the uploaded length");
    const std::uint64_t end = std::min<std::uint64_t>(info.length, offset + max_bytes);
    std::vector<std::uint8_t> out;
    if (end == offset) return out;
    out.reserve(static_cast<std::size_t>(end - offset));
    // A chunk is at most kMaxAttachmentChunkBytes long, so every chunk that
    // overlaps [offset, end) starts after offset - kMaxAttachmentChunkBytes.
    PARLEY_STORE_ASSIGN(
        query, db_->Prepare("SELECT chunk_offset, data FROM attachment_chunks WHERE attachment_id = ? "
                            "AND chunk_offset > ? AND chunk_offset < ? ORDER BY chunk_offset"));
    query.BindBlob(1, AsBytes(id.value()))
        .Bind(2, AsInt(offset) - static_cast<std::int64_t>(kMaxAttachmentChunkBytes))
        .Bind(3, AsInt(end));
    std::uint64_t position = offset;
    while (position < end) {
      PARLEY_STORE_ASSIGN(has_row, query.Step());
      if (!has_row) break;
      PARLEY_STORE_ASSIGN(chunk_offset, CheckedInteger<std::uint64_t>(query.Int64(0)));
      const Bytes data = query.Blob(1);
      const std::uint64_t chunk_end = chunk_offset + data.size();
      if (chunk_end <= position) continue;
      if (chunk_offset > position) return Fail(StoreErrc::kCorrupt, "attachment chunks have a gap");
      const auto from = static_cast<std::size_t>(position - chunk_offset);
      const auto to = static_cast<std::size_t>(std::min(chunk_end, end) - chunk_offset);
      out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(from),
                 data.begin() + static_cast<std::ptrdiff_t>(to));
      position = chunk_offset + to;
    }
    if (position != end) return Fail(StoreErrc::kCorrupt, "attachment chunks are missing");
    return out;
  });
}

StoreStatus SqliteServerStore::DeleteAttachment(const AttachmentId& id) {
  Lock lock(mutex_);
  return db_->InWriteTransaction([&]() -> StoreStatus {
    PARLEY_STORE_ASSIGN(remove, db_->Prepare("DELETE FROM attachments WHERE id = ?"));
    remove.BindBlob(1, AsBytes(id.value()));
    PARLEY_STORE_TRY(remove.Run());
    if (db_->changes() == 0) return Fail(StoreErrc::kNotFound, "no such attachment");
    return Ok<StoreErrc>();
  });
}

StoreResult<std::vector<AttachmentId>> SqliteServerStore::ListExpiredAttachments(
    std::int64_t created_before_ms, std::size_t limit) {
  limit = ClampLimit(limit, kMaxPageSize);
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT id FROM attachments WHERE created_ms < ? "
                                          "ORDER BY created_ms, id LIMIT ?"));
  query.Bind(1, created_before_ms).Bind(2, AsInt(limit));
  std::vector<AttachmentId> ids;
  while (true) {
    PARLEY_STORE_ASSIGN(has_row, query.Step());
    if (!has_row) break;
    PARLEY_STORE_ASSIGN(id, FixedBytes<16>(query.Blob(0)));
    ids.emplace_back(id);
  }
  return ids;
}

StoreResult<std::vector<AttachmentId>> SqliteServerStore::ListUnfinishedAttachments(
    std::int64_t created_before_ms, std::size_t limit) {
  limit = ClampLimit(limit, kMaxPageSize);
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT id FROM attachments WHERE created_ms < ? "
                                          "AND length < declared_size ORDER BY created_ms, id LIMIT ?"));
  query.Bind(1, created_before_ms).Bind(2, AsInt(limit));
  std::vector<AttachmentId> ids;
  while (true) {
    PARLEY_STORE_ASSIGN(has_row, query.Step());
    if (!has_row) break;
    PARLEY_STORE_ASSIGN(id, FixedBytes<16>(query.Blob(0)));
    ids.emplace_back(id);
  }
  return ids;
}

// ------------------------------------------------------------- invitations

StoreStatus SqliteServerStore::CreateInvitation(const TokenHash& token_hash,
                                                std::optional<std::int64_t> expires_ms) {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(
      insert, db_->Prepare("INSERT INTO invitations (token_hash, created_ms, expires_ms) VALUES (?, ?, ?)"));
  insert.BindBlob(1, AsBytes(token_hash)).Bind(2, clock_.NowMillis());
  if (expires_ms) {
    insert.Bind(3, *expires_ms);
  } else {
    insert.BindNull(3);
  }
  return insert.Run();
}

StoreResult<InvitationRecord> SqliteServerStore::GetInvitation(const TokenHash& token_hash) {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT created_ms, expires_ms, used_ms, used_by FROM invitations "
                                          "WHERE token_hash = ?"));
  query.BindBlob(1, AsBytes(token_hash));
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kNotFound, "no such invitation");
  InvitationRecord record;
  record.token_hash = token_hash;
  record.created_ms = query.Int64(0);
  if (!query.IsNull(1)) record.expires_ms = query.Int64(1);
  if (!query.IsNull(2)) record.used_ms = query.Int64(2);
  if (!query.IsNull(3)) {
    PARLEY_STORE_ASSIGN(used_by, AccountIdFromBytes(query.Blob(3)));
    record.used_by = used_by;
  }
  return record;
}

StoreStatus SqliteServerStore::UseInvitationLocked(const TokenHash& token_hash, const AccountId& used_by,
                                                   std::int64_t now) {
  {
    PARLEY_STORE_ASSIGN(query,
                        db_->Prepare("SELECT expires_ms, used_ms FROM invitations WHERE token_hash = ?"));
    query.BindBlob(1, AsBytes(token_hash));
    PARLEY_STORE_ASSIGN(has_row, query.Step());
    if (!has_row) return Fail(StoreErrc::kNotFound, "no such invitation");
    if (!query.IsNull(1)) return Fail(StoreErrc::kAlreadyUsed, "the invitation was used");
    if (!query.IsNull(0) && now >= query.Int64(0)) return Fail(StoreErrc::kExpired, "the invitation expired");
  }
  PARLEY_STORE_ASSIGN(update,
                      db_->Prepare("UPDATE invitations SET used_ms = ?, used_by = ? WHERE token_hash = ?"));
  update.Bind(1, now).BindBlob(2, AccountIdBytes(used_by)).BindBlob(3, AsBytes(token_hash));
  return update.Run();
}

StoreStatus SqliteServerStore::ConsumeInvitation(const TokenHash& token_hash, const AccountId& used_by) {
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  return db_->InWriteTransaction([&] { return UseInvitationLocked(token_hash, used_by, now); });
}

// ------------------------------------------------------------ provisioning

StoreStatus SqliteServerStore::CreateProvisioningCode(const TokenHash& code_hash, const AccountId& account,
                                                      std::int64_t expires_ms) {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(insert,
                      db_->Prepare("INSERT INTO provisioning_codes (code_hash, account_id, created_ms, "
                                   "expires_ms) VALUES (?, ?, ?, ?)"));
  insert.BindBlob(1, AsBytes(code_hash))
      .BindBlob(2, AccountIdBytes(account))
      .Bind(3, clock_.NowMillis())
      .Bind(4, expires_ms);
  return insert.Run();
}

StoreResult<AccountId> SqliteServerStore::CheckProvisioningCodeLocked(const TokenHash& code_hash,
                                                                      std::int64_t now) {
  PARLEY_STORE_ASSIGN(query, db_->Prepare("SELECT account_id, expires_ms, used_ms FROM provisioning_codes "
                                          "WHERE code_hash = ?"));
  query.BindBlob(1, AsBytes(code_hash));
  PARLEY_STORE_ASSIGN(has_row, query.Step());
  if (!has_row) return Fail(StoreErrc::kNotFound, "no such provisioning code");
  if (!query.IsNull(2)) return Fail(StoreErrc::kAlreadyUsed, "the provisioning code was used");
  if (now >= query.Int64(1)) return Fail(StoreErrc::kExpired, "the provisioning code expired");
  return AccountIdFromBytes(query.Blob(0));
}

StoreResult<AccountId> SqliteServerStore::ConsumeProvisioningCode(const TokenHash& code_hash) {
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  return db_->InWriteTransaction([&]() -> StoreResult<AccountId> {
    PARLEY_STORE_ASSIGN(account, CheckProvisioningCodeLocked(code_hash, now));
    PARLEY_STORE_ASSIGN(update,
                        db_->Prepare("UPDATE provisioning_codes SET used_ms = ? WHERE code_hash = ?"));
    update.Bind(1, now).BindBlob(2, AsBytes(code_hash));
    PARLEY_STORE_TRY(update.Run());
    return account;
  });
}

StoreResult<DeviceRecord> SqliteServerStore::LinkDevice(const TokenHash& code_hash, const NewDevice& device) {
  PARLEY_STORE_TRY(ValidateNewDevice(device));
  Lock lock(mutex_);
  const std::int64_t now = clock_.NowMillis();
  auto linked = db_->InWriteTransaction([&]() -> StoreResult<DeviceRecord> {
    PARLEY_STORE_ASSIGN(account, CheckProvisioningCodeLocked(code_hash, now));
    PARLEY_STORE_ASSIGN(record, AddDeviceLocked(account, device, now));
    PARLEY_STORE_ASSIGN(update,
                        db_->Prepare("UPDATE provisioning_codes SET used_ms = ? WHERE code_hash = ?"));
    update.Bind(1, now).BindBlob(2, AsBytes(code_hash));
    PARLEY_STORE_TRY(update.Run());
    return record;
  });
  if (linked) device_registrations_.Invalidate(linked->address.account);
  return linked;
}

StoreResult<std::uint64_t> SqliteServerStore::PurgeProvisioningCodes() {
  Lock lock(mutex_);
  PARLEY_STORE_ASSIGN(remove, db_->Prepare("DELETE FROM provisioning_codes WHERE used_ms IS NOT NULL "
                                           "OR expires_ms <= ?"));
  remove.Bind(1, clock_.NowMillis());
  PARLEY_STORE_TRY(remove.Run());
  return static_cast<std::uint64_t>(db_->changes());
}

}  // namespace parley::store
