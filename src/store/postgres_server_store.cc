#include "store/postgres_server_store.h"

#include <pqxx/binarystring>
#include <pqxx/except>
#include <pqxx/result>

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

#include "store/column_codec.h"
#include "store/limits.h"
#include "store/schema_migration.h"
#include "store/try.h"
#include "store/validation.h"

namespace parley::store {

namespace {

// Every statement the store runs, prepared on each pooled connection.
struct PreparedStatement {
  const char* name;
  const char* sql;
};

constexpr PreparedStatement kStatements[] = {
    // accounts
    {"insert_account", "INSERT INTO accounts (id, username, created_ms) VALUES ($1, $2, $3)"},
    {"get_account", "SELECT id, username, created_ms, disabled FROM accounts WHERE id = $1"},
    {"lock_account", "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE"},
    {"get_account_by_username",
     "SELECT id, username, created_ms, disabled FROM accounts WHERE username = $1"},
    {"rename_account", "UPDATE accounts SET username = $2 WHERE id = $1"},
    {"disable_account", "UPDATE accounts SET disabled = $2 WHERE id = $1"},
    {"find_disabled_accounts", "SELECT id FROM accounts WHERE disabled AND id = ANY($1::uuid[])"},
    {"find_missing_accounts",
     "SELECT asked.id FROM unnest($1::uuid[]) AS asked(id) "
     "WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE accounts.id = asked.id)"},
    {"delete_account", "DELETE FROM accounts WHERE id = $1"},
    {"list_accounts",
     "SELECT id, username, created_ms, disabled FROM accounts WHERE username > $1 ORDER BY username LIMIT "
     "$2"},
    {"count_accounts", "SELECT count(*) FROM accounts"},
    {"collect_stats",
     "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM accounts WHERE disabled), "
     "(SELECT count(*) FROM devices), (SELECT coalesce(sum(queued_count), 0) FROM devices), "
     "(SELECT count(*) FROM attachments), (SELECT coalesce(sum(length), 0) FROM attachments)"},
    // devices
    {"insert_device",
     "INSERT INTO devices (account_id, device_id, registration_id, name, credential_salt, credential_hash, "
     "created_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"},
    {"device_ids", "SELECT device_id FROM devices WHERE account_id = $1 ORDER BY device_id"},
    {"delete_device", "DELETE FROM devices WHERE account_id = $1 AND device_id = $2"},
    {"get_device",
     "SELECT account_id, device_id, registration_id, name, credential_salt, credential_hash, created_ms, "
     "last_seen_ms FROM devices WHERE account_id = $1 AND device_id = $2"},
    {"list_devices",
     "SELECT account_id, device_id, registration_id, name, credential_salt, credential_hash, created_ms, "
     "last_seen_ms FROM devices WHERE account_id = $1 ORDER BY device_id"},
    {"touch_device", "UPDATE devices SET last_seen_ms = $3 WHERE account_id = $1 AND device_id = $2"},
    {"lock_device", "SELECT 1 FROM devices WHERE account_id = $1 AND device_id = $2 FOR UPDATE"},
    // keys
    {"lock_identity_key",
     "SELECT identity_key FROM devices WHERE account_id = $1 AND device_id = $2 FOR UPDATE"},
    {"get_identity_key", "SELECT identity_key FROM devices WHERE account_id = $1 AND device_id = $2"},
    {"set_identity_key", "UPDATE devices SET identity_key = $3 WHERE account_id = $1 AND device_id = $2"},
    {"clear_signed_prekey",
     "UPDATE devices SET signed_prekey_id = NULL, signed_prekey = NULL, signed_prekey_signature = NULL "
     "WHERE account_id = $1 AND device_id = $2"},
    {"delete_one_time_prekeys", "DELETE FROM one_time_prekeys WHERE account_id = $1 AND device_id = $2"},
    {"set_signed_prekey",
     "UPDATE devices SET signed_prekey_id = $3, signed_prekey = $4, signed_prekey_signature = $5 "
     "WHERE account_id = $1 AND device_id = $2"},
    {"count_one_time_prekeys",
     "SELECT count(*) FROM one_time_prekeys WHERE account_id = $1 AND device_id = $2"},
    {"insert_one_time_prekey",
     "INSERT INTO one_time_prekeys (account_id, device_id, prekey_id, public_key) VALUES ($1, $2, $3, $4) "
     "ON CONFLICT DO NOTHING"},
    {"get_bundle_keys",
     "SELECT registration_id, identity_key, signed_prekey_id, signed_prekey, signed_prekey_signature "
     "FROM devices WHERE account_id = $1 AND device_id = $2"},
    // Concurrent takers skip each other's locked row: never the same prekey.
    {"take_one_time_prekey",
     "DELETE FROM one_time_prekeys WHERE (account_id, device_id, prekey_id) = "
     "(SELECT account_id, device_id, prekey_id FROM one_time_prekeys WHERE account_id = $1 AND device_id = "
     "$2 "
     "ORDER BY prekey_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING prekey_id, public_key"},
    // messages
    {"insert_send",
     "INSERT INTO sends (sender_account, sender_device, client_message_id, server_timestamp_ms) "
     "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"},
    {"get_send",
     "SELECT server_timestamp_ms FROM sends WHERE sender_account = $1 AND sender_device = $2 "
     "AND client_message_id = $3"},
    {"get_send_copies",
     "SELECT recipient_account, recipient_device, server_id FROM send_copies WHERE sender_account = $1 "
     "AND sender_device = $2 AND client_message_id = $3 ORDER BY position"},
    {"reserve_message_id",
     "UPDATE devices SET next_message_id = next_message_id + 1, queued_count = queued_count + 1 "
     "WHERE account_id = $1 AND device_id = $2 AND queued_count < $3 RETURNING next_message_id - 1"},
    {"device_exists", "SELECT 1 FROM devices WHERE account_id = $1 AND device_id = $2"},
    {"insert_message",
     "INSERT INTO messages (account_id, device_id, server_id, server_timestamp_ms, sender_account, "
     "sender_device, type, client_message_id, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"},
    {"insert_send_copy",
     "INSERT INTO send_copies (sender_account, sender_device, client_message_id, position, "
     "recipient_account, "
     "recipient_device, server_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"},
    // Picks the ids first (sizes only), then sends the contents of those
    // whose preceding contents stay under the byte budget: the client never
    // receives more than about one budget.
    {"fetch_messages",
     "WITH picked AS (SELECT server_id, sum(octet_length(content)) OVER (ORDER BY server_id) "
     "- octet_length(content) AS bytes_before FROM messages WHERE account_id = $1 AND device_id = $2 "
     "AND server_id > $3 ORDER BY server_id LIMIT $4) "
     "SELECT m.server_id, m.server_timestamp_ms, m.sender_account, m.sender_device, m.type, "
     "m.client_message_id, m.content FROM messages m JOIN picked p ON m.server_id = p.server_id "
     "WHERE m.account_id = $1 AND m.device_id = $2 AND p.bytes_before < $5 ORDER BY m.server_id"},
    {"delete_message", "DELETE FROM messages WHERE account_id = $1 AND device_id = $2 AND server_id = $3"},
    {"decrement_queue",
     "UPDATE devices SET queued_count = queued_count - $3 WHERE account_id = $1 AND device_id = $2"},
    {"queue_depth", "SELECT queued_count FROM devices WHERE account_id = $1 AND device_id = $2"},
    {"summarize_queue_depths",
     "SELECT coalesce(sum(queued_count), 0), coalesce(max(queued_count), 0), "
     "count(*) FILTER (WHERE queued_count > 0) FROM devices"},
    {"purge_messages",
     "WITH victims AS (SELECT account_id, device_id, server_id FROM messages WHERE server_timestamp_ms < $1 "
     "ORDER BY server_timestamp_ms LIMIT $2 FOR UPDATE SKIP LOCKED) "
     "DELETE FROM messages m USING victims v WHERE m.account_id = v.account_id AND m.device_id = v.device_id "
     "AND m.server_id = v.server_id RETURNING m.account_id, m.device_id"},
    {"purge_sends",
     "DELETE FROM sends WHERE (sender_account, sender_device, client_message_id) IN "
     "(SELECT sender_account, sender_device, client_message_id FROM sends WHERE server_timestamp_ms < $1 "
     "ORDER BY server_timestamp_ms LIMIT $2 FOR UPDATE SKIP LOCKED)"},
    // attachments
    {"insert_attachment",
     "INSERT INTO attachments (id, owner, declared_size, created_ms) VALUES ($1, $2, $3, $4)"},
    {"get_attachment", "SELECT id, owner, declared_size, length, created_ms FROM attachments WHERE id = $1"},
    {"lock_attachment",
     "SELECT id, owner, declared_size, length, created_ms FROM attachments WHERE id = $1 FOR UPDATE"},
    {"insert_chunk", "INSERT INTO attachment_chunks (attachment_id, chunk_offset, data) VALUES ($1, $2, $3)"},
    {"set_attachment_length", "UPDATE attachments SET length = $2 WHERE id = $1"},
    {"read_chunks",
     "SELECT chunk_offset, data FROM attachment_chunks WHERE attachment_id = $1 AND chunk_offset > $2 "
     "AND chunk_offset < $3 ORDER BY chunk_offset"},
    {"delete_attachment", "DELETE FROM attachments WHERE id = $1"},
    {"expired_attachments",
     "SELECT id FROM attachments WHERE created_ms < $1 ORDER BY created_ms, id LIMIT $2"},
    {"unfinished_attachments",
     "SELECT id FROM attachments WHERE created_ms < $1 AND length < declared_size "
     "ORDER BY created_ms, id LIMIT $2"},
    // invitations
    {"insert_invitation", "INSERT INTO invitations (token_hash, created_ms, expires_ms) VALUES ($1, $2, $3)"},
    {"get_invitation",
     "SELECT created_ms, expires_ms, used_ms, used_by FROM invitations WHERE token_hash = $1"},
    {"lock_invitation", "SELECT expires_ms, used_ms FROM invitations WHERE token_hash = $1 FOR UPDATE"},
    {"use_invitation", "UPDATE invitations SET used_ms = $2, used_by = $3 WHERE token_hash = $1"},
    // provisioning
    {"insert_provisioning_code",
     "INSERT INTO provisioning_codes (code_hash, account_id, created_ms, expires_ms) VALUES ($1, $2, $3, "
     "$4)"},
    {"lock_provisioning_code",
     "SELECT account_id, expires_ms, used_ms FROM provisioning_codes WHERE code_hash = $1 FOR UPDATE"},
    {"use_provisioning_code", "UPDATE provisioning_codes SET used_ms = $2 WHERE code_hash = $1"},
    {"purge_provisioning_codes",
     "DELETE FROM provisioning_codes WHERE used_ms IS NOT NULL OR expires_ms <= $1"},
};

// Serializes migrations of concurrently starting nodes (an arbitrary constant).
constexpr std::int64_t kMigrationLockKey = 0x7061726c6579;  // "parley"

// binarystring copies its input; a null pointer is avoided for empty input.
pqxx::binarystring Blob(Bytes bytes) {
  static constexpr std::uint8_t kEmpty[1] = {0};
  return pqxx::binarystring(bytes.empty() ? kEmpty : bytes.data(), bytes.size());
}

template <std::size_t N>
pqxx::binarystring Blob(const std::array<std::uint8_t, N>& bytes) {
  return Blob(Bytes(bytes.data(), bytes.size()));
}

std::string Text(const AccountId& id) { return id.value().ToString(); }

std::int64_t AsInt(std::uint64_t value) { return static_cast<std::int64_t>(value); }
std::int64_t DeviceNumber(const DeviceAddress& device) { return device.device.value(); }

Bytes FieldBytes(const pqxx::binarystring& value) { return Bytes(value.data(), value.size()); }

StoreResult<AccountId> FieldAccountId(const pqxx::field& field) { return AccountIdFromText(field.c_str()); }

// A uuid[] literal: {id,id,...} (uuids need no quoting).
std::string AccountIdArray(std::span<const AccountId> ids) {
  std::string array = "{";
  for (const AccountId& id : ids) {
    if (array.size() > 1) array += ',';
    array += Text(id);
  }
  array += '}';
  return array;
}

template <std::size_t N>
StoreResult<std::array<std::uint8_t, N>> FieldFixed(const pqxx::field& field) {
  const pqxx::binarystring value(field);
  return FixedBytes<N>(FieldBytes(value));
}

StoreResult<std::int64_t> FieldInt(const pqxx::field& field) {
  if (field.is_null()) return Fail(StoreErrc::kCorrupt, "stored integer is null");
  return field.as<std::int64_t>();
}

template <class T>
StoreResult<T> FieldChecked(const pqxx::field& field) {
  PARLEY_STORE_ASSIGN(value, FieldInt(field));
  return CheckedInteger<T>(value);
}

StoreResult<AccountRecord> ReadAccount(const pqxx::row& row) {
  PARLEY_STORE_ASSIGN(id, FieldAccountId(row[0]));
  AccountRecord record;
  record.id = id;
  record.username = row[1].as<std::string>();
  record.created_ms = row[2].as<std::int64_t>();
  record.disabled = row[3].as<bool>();
  return record;
}

StoreResult<DeviceRecord> ReadDevice(const pqxx::row& row) {
  PARLEY_STORE_ASSIGN(account, FieldAccountId(row[0]));
  PARLEY_STORE_ASSIGN(device_id, FieldChecked<std::uint32_t>(row[1]));
  PARLEY_STORE_ASSIGN(registration_id, FieldChecked<std::uint32_t>(row[2]));
  DeviceRecord record;
  record.address = {account, DeviceId(device_id)};
  record.registration_id = RegistrationId(registration_id);
  record.name = row[3].as<std::string>();
  const pqxx::binarystring salt(row[4]);
  const pqxx::binarystring hash(row[5]);
  record.credential.salt.assign(salt.begin(), salt.end());
  record.credential.hash.assign(hash.begin(), hash.end());
  record.created_ms = row[6].as<std::int64_t>();
  record.last_seen_ms = row[7].as<std::int64_t>();
  return record;
}

StoreResult<AttachmentInfo> ReadAttachmentInfo(const pqxx::row& row) {
  PARLEY_STORE_ASSIGN(id, FieldFixed<16>(row[0]));
  PARLEY_STORE_ASSIGN(owner, FieldAccountId(row[1]));
  PARLEY_STORE_ASSIGN(declared_size, FieldChecked<std::uint64_t>(row[2]));
  PARLEY_STORE_ASSIGN(length, FieldChecked<std::uint64_t>(row[3]));
  AttachmentInfo info;
  info.id = AttachmentId(id);
  info.owner = owner;
  info.declared_size = declared_size;
  info.length = length;
  info.created_ms = row[4].as<std::int64_t>();
  return info;
}

// What an SQLSTATE means for the caller, and whether the connection is done.
struct SqlStateClass {
  StoreError error;
  bool connection_lost;
};

SqlStateClass ClassifySqlState(std::string_view state) {
  const auto starts = [&](std::string_view prefix) { return state.substr(0, prefix.size()) == prefix; };
  if (starts("08") || starts("57P")) {
    return {{StoreErrc::kUnavailable, "the PostgreSQL connection was lost or the server is shutting down"},
            true};
  }
  if (starts("53") || starts("54") || starts("55") || starts("57")) {
    return {{StoreErrc::kUnavailable, "PostgreSQL is out of resources or cancelled the statement"}, false};
  }
  if (starts("23")) return {{StoreErrc::kConflict, "a database constraint was violated"}, false};
  if (starts("22")) return {{StoreErrc::kInvalidArgument, "PostgreSQL refused a value"}, false};
  if (starts("XX")) return {{StoreErrc::kCorrupt, "PostgreSQL reported internal damage"}, false};
  return {{StoreErrc::kInternal, "unexpected PostgreSQL error"}, false};
}

void PrepareStatements(pqxx::connection& connection) {
  for (const auto& statement : kStatements) connection.prepare(statement.name, statement.sql);
}

}  // namespace

template <class Body>
auto PostgresServerStore::InTransaction(Body&& body) -> decltype(body(std::declval<pqxx::work&>())) {
  using ResultType = decltype(body(std::declval<pqxx::work&>()));
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    PARLEY_STORE_ASSIGN(lease, pool_.Acquire());
    StoreError error{StoreErrc::kInternal, "unexpected PostgreSQL client error"};
    bool retry = false;
    try {
      pqxx::work txn(lease.connection());
      ResultType result = body(txn);
      if (result) txn.commit();  // otherwise the destructor rolls back
      return result;
    } catch (const pqxx::serialization_failure&) {
      error = {StoreErrc::kUnavailable, "PostgreSQL kept reporting serialization failures"};
      retry = true;
    } catch (const pqxx::deadlock_detected&) {
      error = {StoreErrc::kUnavailable, "PostgreSQL kept reporting deadlocks"};
      retry = true;
    } catch (const pqxx::in_doubt_error&) {
      lease.Discard();
      error = {StoreErrc::kUnavailable, "the connection broke during commit; the outcome is unknown"};
    } catch (const pqxx::broken_connection&) {
      // The transaction did not commit, so running it again is safe; a
      // pooled connection may have been closed by a database restart.
      lease.Discard();
      error = {StoreErrc::kUnavailable, "lost the connection to PostgreSQL"};
      retry = attempt == 1;
    } catch (const pqxx::unique_violation&) {
      error = {StoreErrc::kConflict, "the value is taken"};
    } catch (const pqxx::foreign_key_violation&) {
      error = {StoreErrc::kNotFound, "a referenced account or device does not exist"};
    } catch (const pqxx::sql_error& e) {
      const SqlStateClass classified = ClassifySqlState(e.sqlstate());
      if (classified.connection_lost) lease.Discard();
      error = classified.error;
    } catch (const pqxx::conversion_error&) {
      error = {StoreErrc::kCorrupt, "a stored value has the wrong type"};
    } catch (const std::exception&) {
      lease.Discard();
    }
    if (!retry || attempt >= kAttempts) return tl::unexpected(error);
  }
}

PostgresServerStore::PostgresServerStore(const std::string& url, const Clock& clock,
                                         const StoreOptions& options)
    : clock_(clock),
      options_(options),
      pool_(url, options.postgres_pool_size, options.postgres_acquire_timeout_ms, &PrepareStatements) {}

StoreResult<std::unique_ptr<PostgresServerStore>> PostgresServerStore::Open(const std::string& url,
                                                                            const Clock& clock,
                                                                            const StoreOptions& options) {
  std::unique_ptr<PostgresServerStore> store(new PostgresServerStore(url, clock, options));
  // Migrate on a connection of its own: the pool prepares statements on
  // tables that must exist first.
  try {
    pqxx::connection connection(url);
    pqxx::work txn(connection);
    txn.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
    txn.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_ms bigint NOT "
        "NULL)");
    const std::int64_t current =
        txn.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<std::int64_t>();
    const auto migrations = PostgresMigrations();
    const std::int64_t known = migrations.empty() ? 0 : migrations.back().version;
    if (current > known) {
      return Fail(StoreErrc::kIncompatibleSchema, "the database schema is newer than this build");
    }
    for (const auto& migration : migrations) {
      if (migration.version <= current) continue;
      txn.exec(migration.sql);
      txn.exec_params("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                      migration.version, clock.NowMillis());
    }
    txn.commit();
  } catch (const pqxx::broken_connection&) {
    return Fail(StoreErrc::kUnavailable, "cannot connect to PostgreSQL");
  } catch (const pqxx::sql_error& e) {
    return tl::unexpected(ClassifySqlState(e.sqlstate()).error);
  } catch (const std::exception&) {
    return Fail(StoreErrc::kUnavailable, "cannot migrate the PostgreSQL schema");
  }
  // Fail now, not at the first request, if the pool cannot connect.
  PARLEY_STORE_TRY(store->pool_.Acquire());
  return store;
}

StoreResult<StoreStats> PostgresServerStore::CollectStats() {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<StoreStats> {
    const pqxx::result rows = txn.exec_prepared("collect_stats");
    StoreStats stats;
    std::uint64_t* fields[] = {&stats.accounts,        &stats.disabled_accounts, &stats.devices,
                               &stats.queued_messages, &stats.attachments,       &stats.attachment_bytes};
    for (int i = 0; i < 6; ++i) {
      PARLEY_STORE_ASSIGN(value, FieldChecked<std::uint64_t>(rows[0][i]));
      *fields[i] = value;
    }
    return stats;
  });
}

// ---------------------------------------------------------------- accounts

StoreResult<AccountRecord> PostgresServerStore::CreateAccount(const NewAccount& account) {
  PARLEY_STORE_ASSIGN(username, NormalizeUsername(account.username));
  PARLEY_STORE_TRY(ValidateNewDevice(account.primary));
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) -> StoreResult<AccountRecord> {
    txn.exec_prepared("insert_account", Text(account.id), username, now);
    txn.exec_prepared("insert_device", Text(account.id), 1,
                      static_cast<std::int64_t>(account.primary.registration_id.value()),
                      account.primary.name, Blob(account.primary.credential.salt),
                      Blob(account.primary.credential.hash), now);
    if (account.primary.keys) SetNewDeviceKeysLocked(txn, {account.id, DeviceId(1)}, *account.primary.keys);
    if (account.invitation) PARLEY_STORE_TRY(UseInvitationLocked(txn, *account.invitation, account.id, now));
    return AccountRecord{account.id, username, now, false};
  });
}

StoreResult<AccountRecord> PostgresServerStore::GetAccount(const AccountId& id) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<AccountRecord> {
    const pqxx::result rows = txn.exec_prepared("get_account", Text(id));
    if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such account");
    return ReadAccount(rows[0]);
  });
}

StoreResult<AccountRecord> PostgresServerStore::GetAccountByUsername(std::string_view username) {
  auto normalized = NormalizeUsername(username);
  if (!normalized) return Fail(StoreErrc::kNotFound, "no account has this username");
  return InTransaction([&](pqxx::work& txn) -> StoreResult<AccountRecord> {
    const pqxx::result rows = txn.exec_prepared("get_account_by_username", *normalized);
    if (rows.empty()) return Fail(StoreErrc::kNotFound, "no account has this username");
    return ReadAccount(rows[0]);
  });
}

StoreStatus PostgresServerStore::ChangeUsername(const AccountId& id, std::string_view new_username) {
  PARLEY_STORE_ASSIGN(username, NormalizeUsername(new_username));
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    if (txn.exec_prepared("rename_account", Text(id), username).affected_rows() == 0) {
      return Fail(StoreErrc::kNotFound, "no such account");
    }
    return Ok<StoreErrc>();
  });
}

StoreStatus PostgresServerStore::SetAccountDisabled(const AccountId& id, bool disabled) {
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    if (txn.exec_prepared("disable_account", Text(id), disabled).affected_rows() == 0) {
      return Fail(StoreErrc::kNotFound, "no such account");
    }
    return Ok<StoreErrc>();
  });
}

StoreResult<std::vector<AccountId>> PostgresServerStore::FindDisabledAccounts(
    std::span<const AccountId> ids) {
  if (ids.size() > kMaxPageSize) return Fail(StoreErrc::kInvalidArgument, "too many account ids");
  if (ids.empty()) return std::vector<AccountId>{};
  const std::string array = AccountIdArray(ids);
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::vector<AccountId>> {
    std::vector<AccountId> disabled;
    for (const auto& row : txn.exec_prepared("find_disabled_accounts", array)) {
      PARLEY_STORE_ASSIGN(id, FieldAccountId(row[0]));
      disabled.push_back(id);
    }
    return disabled;
  });
}

StoreResult<std::vector<AccountId>> PostgresServerStore::FindMissingAccounts(std::span<const AccountId> ids) {
  if (ids.size() > kMaxPageSize) return Fail(StoreErrc::kInvalidArgument, "too many account ids");
  if (ids.empty()) return std::vector<AccountId>{};
  const std::string array = AccountIdArray(ids);
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::vector<AccountId>> {
    std::vector<AccountId> missing;
    for (const auto& row : txn.exec_prepared("find_missing_accounts", array)) {
      PARLEY_STORE_ASSIGN(id, FieldAccountId(row[0]));
      missing.push_back(id);
    }
    return missing;
  });
}

StoreStatus PostgresServerStore::DeleteAccount(const AccountId& id) {
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    if (txn.exec_prepared("delete_account", Text(id)).affected_rows() == 0) {
      return Fail(StoreErrc::kNotFound, "no such account");
    }
    return Ok<StoreErrc>();
  });
}

// Nothing to do, and correctly so: sends is keyed by sender first here and
// keeps its ON DELETE CASCADE from accounts, so DeleteAccount removed the
// account's records (and their send_copies) through that key, in its own
// transaction. No row of a deleted account is left behind for later.
StoreResult<DeletedAccountsPurge> PostgresServerStore::PurgeDeletedAccounts(std::size_t) {
  return DeletedAccountsPurge{};
}

StoreResult<std::vector<AccountRecord>> PostgresServerStore::ListAccounts(std::string_view after_username,
                                                                          std::size_t limit) {
  limit = ClampLimit(limit, kMaxPageSize);
  // NUL cannot travel in a text parameter; no stored name contains one.
  const std::string after(after_username.substr(0, after_username.find('\0')));
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::vector<AccountRecord>> {
    std::vector<AccountRecord> accounts;
    for (const auto& row : txn.exec_prepared("list_accounts", after, AsInt(limit))) {
      PARLEY_STORE_ASSIGN(account, ReadAccount(row));
      accounts.push_back(std::move(account));
    }
    return accounts;
  });
}

StoreResult<std::uint64_t> PostgresServerStore::CountAccounts() {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::uint64_t> {
    return FieldChecked<std::uint64_t>(txn.exec_prepared("count_accounts")[0][0]);
  });
}

// ----------------------------------------------------------------- devices

StoreResult<DeviceRecord> PostgresServerStore::AddDeviceLocked(pqxx::work& txn, const AccountId& account,
                                                               const NewDevice& device, std::int64_t now) {
  // The account row lock serializes concurrent adds: the count and the
  // chosen id hold until commit.
  if (txn.exec_prepared("lock_account", Text(account)).empty())
    return Fail(StoreErrc::kNotFound, "no such account");
  std::uint32_t candidate = 1;
  for (const auto& row : txn.exec_prepared("device_ids", Text(account))) {
    if (row[0].as<std::int64_t>() != candidate) break;
    ++candidate;
  }
  if (candidate > kMaxDevicesPerAccount) {
    return Fail(StoreErrc::kLimitExceeded, "the account has the maximum number of devices");
  }
  txn.exec_prepared("insert_device", Text(account), static_cast<std::int64_t>(candidate),
                    static_cast<std::int64_t>(device.registration_id.value()), device.name,
                    Blob(device.credential.salt), Blob(device.credential.hash), now);
  if (device.keys) SetNewDeviceKeysLocked(txn, {account, DeviceId(candidate)}, *device.keys);
  return DeviceRecord{
      {account, DeviceId(candidate)}, device.registration_id, device.name, device.credential, now, now};
}

void PostgresServerStore::SetNewDeviceKeysLocked(pqxx::work& txn, const DeviceAddress& device,
                                                 const NewDeviceKeys& keys) {
  const std::string account = Text(device.account);
  txn.exec_prepared("set_identity_key", account, DeviceNumber(device), Blob(keys.identity_key));
  txn.exec_prepared("set_signed_prekey", account, DeviceNumber(device),
                    static_cast<std::int64_t>(keys.signed_prekey.id.value()),
                    Blob(keys.signed_prekey.public_key), Blob(keys.signed_prekey.signature));
  for (const OneTimePreKeyRecord& key : keys.one_time_prekeys) {
    txn.exec_prepared("insert_one_time_prekey", account, DeviceNumber(device),
                      static_cast<std::int64_t>(key.id.value()), Blob(key.public_key));
  }
}

StoreResult<DeviceRecord> PostgresServerStore::AddDevice(const AccountId& account, const NewDevice& device) {
  PARLEY_STORE_TRY(ValidateNewDevice(device));
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) { return AddDeviceLocked(txn, account, device, now); });
}

StoreStatus PostgresServerStore::RemoveDevice(const DeviceAddress& device) {
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    if (txn.exec_prepared("delete_device", Text(device.account), DeviceNumber(device)).affected_rows() == 0) {
      return Fail(StoreErrc::kNotFound, "no such device");
    }
    return Ok<StoreErrc>();
  });
}

StoreResult<DeviceRecord> PostgresServerStore::GetDevice(const DeviceAddress& device) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<DeviceRecord> {
    const pqxx::result rows = txn.exec_prepared("get_device", Text(device.account), DeviceNumber(device));
    if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such device");
    return ReadDevice(rows[0]);
  });
}

StoreResult<std::vector<DeviceRecord>> PostgresServerStore::ListDevices(const AccountId& account) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::vector<DeviceRecord>> {
    if (txn.exec_prepared("get_account", Text(account)).empty())
      return Fail(StoreErrc::kNotFound, "no such account");
    std::vector<DeviceRecord> devices;
    for (const auto& row : txn.exec_prepared("list_devices", Text(account))) {
      PARLEY_STORE_ASSIGN(record, ReadDevice(row));
      devices.push_back(std::move(record));
    }
    return devices;
  });
}

StoreStatus PostgresServerStore::TouchDevice(const DeviceAddress& device) {
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    if (txn.exec_prepared("touch_device", Text(device.account), DeviceNumber(device), now).affected_rows() ==
        0) {
      return Fail(StoreErrc::kNotFound, "no such device");
    }
    return Ok<StoreErrc>();
  });
}

// -------------------------------------------------------------------- keys

StoreStatus PostgresServerStore::SetIdentityKey(const DeviceAddress& device, const PublicKeyBytes& key) {
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    const std::string account = Text(device.account);
    const pqxx::result rows = txn.exec_prepared("lock_identity_key", account, DeviceNumber(device));
    if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such device");
    if (!rows[0][0].is_null()) {
      const pqxx::binarystring stored(rows[0][0]);
      if (!std::equal(stored.begin(), stored.end(), key.begin(), key.end())) {
        txn.exec_prepared("clear_signed_prekey", account, DeviceNumber(device));
        txn.exec_prepared("delete_one_time_prekeys", account, DeviceNumber(device));
      }
    }
    txn.exec_prepared("set_identity_key", account, DeviceNumber(device), Blob(key));
    return Ok<StoreErrc>();
  });
}

StoreResult<PublicKeyBytes> PostgresServerStore::GetIdentityKey(const DeviceAddress& device) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<PublicKeyBytes> {
    const pqxx::result rows =
        txn.exec_prepared("get_identity_key", Text(device.account), DeviceNumber(device));
    if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such device");
    if (rows[0][0].is_null()) return Fail(StoreErrc::kNotFound, "the device has no identity key");
    return FieldFixed<kPublicKeyBytes>(rows[0][0]);
  });
}

StoreStatus PostgresServerStore::SetSignedPreKey(const DeviceAddress& device, const SignedPreKeyRecord& key) {
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    const auto changed = txn.exec_prepared("set_signed_prekey", Text(device.account), DeviceNumber(device),
                                           static_cast<std::int64_t>(key.id.value()), Blob(key.public_key),
                                           Blob(key.signature))
                             .affected_rows();
    if (changed == 0) return Fail(StoreErrc::kNotFound, "no such device");
    return Ok<StoreErrc>();
  });
}

StoreResult<std::size_t> PostgresServerStore::AddOneTimePreKeys(const DeviceAddress& device,
                                                                std::span<const OneTimePreKeyRecord> keys) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::size_t> {
    const std::string account = Text(device.account);
    // The device row lock serializes uploads, so the count check holds.
    if (txn.exec_prepared("lock_device", account, DeviceNumber(device)).empty()) {
      return Fail(StoreErrc::kNotFound, "no such device");
    }
    PARLEY_STORE_ASSIGN(stored, FieldChecked<std::uint64_t>(txn.exec_prepared(
                                    "count_one_time_prekeys", account, DeviceNumber(device))[0][0]));
    std::size_t added = 0;
    for (const auto& key : keys) {
      added += txn.exec_prepared("insert_one_time_prekey", account, DeviceNumber(device),
                                 static_cast<std::int64_t>(key.id.value()), Blob(key.public_key))
                   .affected_rows();
      if (stored + added > kMaxOneTimePreKeysPerDevice) {
        return Fail(StoreErrc::kLimitExceeded, "the device would hold too many one-time prekeys");
      }
    }
    return added;
  });
}

StoreResult<std::uint64_t> PostgresServerStore::CountOneTimePreKeys(const DeviceAddress& device) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::uint64_t> {
    const std::string account = Text(device.account);
    if (txn.exec_prepared("device_exists", account, DeviceNumber(device)).empty()) {
      return Fail(StoreErrc::kNotFound, "no such device");
    }
    return FieldChecked<std::uint64_t>(
        txn.exec_prepared("count_one_time_prekeys", account, DeviceNumber(device))[0][0]);
  });
}

StoreResult<PreKeyBundleRecord> PostgresServerStore::TakePreKeyBundle(const DeviceAddress& device) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<PreKeyBundleRecord> {
    const std::string account = Text(device.account);
    const pqxx::result rows = txn.exec_prepared("get_bundle_keys", account, DeviceNumber(device));
    if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such device");
    const pqxx::row row = rows[0];
    if (row[1].is_null()) return Fail(StoreErrc::kNotFound, "the device has no identity key");
    if (row[2].is_null() || row[3].is_null() || row[4].is_null()) {
      return Fail(StoreErrc::kNotFound, "the device has no signed prekey");
    }
    PARLEY_STORE_ASSIGN(registration_id, FieldChecked<std::uint32_t>(row[0]));
    PARLEY_STORE_ASSIGN(identity_key, FieldFixed<kPublicKeyBytes>(row[1]));
    PARLEY_STORE_ASSIGN(signed_id, FieldChecked<std::uint32_t>(row[2]));
    PARLEY_STORE_ASSIGN(signed_key, FieldFixed<kPublicKeyBytes>(row[3]));
    PARLEY_STORE_ASSIGN(signature, FieldFixed<kSignatureBytes>(row[4]));
    PreKeyBundleRecord bundle;
    bundle.address = device;
    bundle.registration_id = RegistrationId(registration_id);
    bundle.identity_key = identity_key;
    bundle.signed_prekey = {SignedPreKeyId(signed_id), signed_key, signature};
    const pqxx::result taken = txn.exec_prepared("take_one_time_prekey", account, DeviceNumber(device));
    if (!taken.empty()) {
      PARLEY_STORE_ASSIGN(prekey_id, FieldChecked<std::uint32_t>(taken[0][0]));
      PARLEY_STORE_ASSIGN(public_key, FieldFixed<kPublicKeyBytes>(taken[0][1]));
      bundle.one_time_prekey = OneTimePreKeyRecord{PreKeyId(prekey_id), public_key};
    }
    return bundle;
  });
}

// ---------------------------------------------------------------- messages

StoreResult<EnqueueResult> PostgresServerStore::EnqueueLocked(pqxx::transaction_base& txn,
                                                              const EnqueueRequest& request,
                                                              const std::vector<std::size_t>& order,
                                                              std::int64_t now) {
  const std::string sender_account = Text(request.sender.account);
  const std::int64_t sender_device = DeviceNumber(request.sender);
  const pqxx::binarystring client_id = Blob(request.client_message_id.value());
  EnqueueResult result;
  // A concurrent retry of the same send waits here on the unique key until
  // the first commits (then it is a duplicate) or rolls back (then it is new).
  const auto recorded =
      txn.exec_prepared("insert_send", sender_account, sender_device, client_id, now).affected_rows();
  if (recorded == 0) {
    result.duplicate = true;
    const pqxx::result first = txn.exec_prepared("get_send", sender_account, sender_device, client_id);
    if (first.empty()) return Fail(StoreErrc::kInternal, "send record vanished");
    result.server_timestamp_ms = first[0][0].as<std::int64_t>();
    for (const auto& row : txn.exec_prepared("get_send_copies", sender_account, sender_device, client_id)) {
      PARLEY_STORE_ASSIGN(account, FieldAccountId(row[0]));
      PARLEY_STORE_ASSIGN(device_id, FieldChecked<std::uint32_t>(row[1]));
      PARLEY_STORE_ASSIGN(server_id, FieldChecked<std::uint64_t>(row[2]));
      result.copies.push_back({{account, DeviceId(device_id)}, server_id});
    }
    return result;
  }

  result.server_timestamp_ms = now;
  result.copies.resize(request.envelopes.size());
  // Queues are locked in address order, so fan-outs cannot deadlock.
  for (std::size_t index : order) {
    const OutgoingEnvelope& envelope = request.envelopes[index];
    const std::string recipient_account = Text(envelope.recipient.account);
    const std::int64_t recipient_device = DeviceNumber(envelope.recipient);
    const pqxx::result reserved = txn.exec_prepared("reserve_message_id", recipient_account, recipient_device,
                                                    AsInt(options_.max_queue_depth));
    if (reserved.empty()) {
      if (txn.exec_prepared("device_exists", recipient_account, recipient_device).empty()) {
        return Fail(StoreErrc::kNotFound, "a recipient device does not exist");
      }
      return Fail(StoreErrc::kQueueFull, "a recipient device's queue is full");
    }
    PARLEY_STORE_ASSIGN(server_id, FieldChecked<std::uint64_t>(reserved[0][0]));
    txn.exec_prepared("insert_message", recipient_account, recipient_device, AsInt(server_id), now,
                      sender_account, sender_device, static_cast<std::int64_t>(envelope.type), client_id,
                      Blob(envelope.content));
    result.copies[index] = {envelope.recipient, server_id};
  }
  for (std::size_t position = 0; position < result.copies.size(); ++position) {
    const QueuedCopy& copy = result.copies[position];
    txn.exec_prepared("insert_send_copy", sender_account, sender_device, client_id, AsInt(position),
                      Text(copy.recipient.account), DeviceNumber(copy.recipient), AsInt(copy.server_id));
  }
  return result;
}

StoreResult<EnqueueResult> PostgresServerStore::Enqueue(const EnqueueRequest& request) {
  PARLEY_STORE_ASSIGN(results, EnqueueBatch(std::span(&request, 1)));
  return std::move(results.front());
}

StoreResult<std::vector<StoreResult<EnqueueResult>>> PostgresServerStore::EnqueueBatch(
    std::span<const EnqueueRequest> requests) {
  if (requests.size() > kMaxEnqueueBatch)
    return Fail(StoreErrc::kInvalidArgument, "too many sends in one batch");
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) { return EnqueueBatchLocked(txn, requests, now); });
}

StoreResult<std::vector<StoreResult<EnqueueResult>>> PostgresServerStore::EnqueueBatchLocked(
    pqxx::work& txn, std::span<const EnqueueRequest> requests, std::int64_t now) {
  std::vector<StoreResult<EnqueueResult>> results;
  results.reserve(requests.size());
  for (const auto& request : requests) {
    auto order = ValidateEnqueue(request);
    if (!order) {
      results.push_back(tl::unexpected(order.error()));
      continue;
    }
    // A savepoint per send: a failed send is undone alone. (Plain SQL:
    // libpqxx 6.4's subtransaction issues no SAVEPOINT before a prepared
    // statement.)
    txn.exec("SAVEPOINT enqueue_one");
    StoreResult<EnqueueResult> result = Fail(StoreErrc::kInternal, "send not attempted");
    try {
      result = EnqueueLocked(txn, request, *order, now);
    } catch (const pqxx::foreign_key_violation&) {
      result = Fail(StoreErrc::kNotFound, "the sender account does not exist");
    }
    if (!result) txn.exec("ROLLBACK TO SAVEPOINT enqueue_one");
    txn.exec("RELEASE SAVEPOINT enqueue_one");
    if (!result && !IsSendLevelError(result.error().code)) return tl::unexpected(result.error());
    results.push_back(std::move(result));
  }
  return results;
}

StoreResult<MessageQueueStore::QueueBatchResult> PostgresServerStore::CommitQueueBatch(
    std::span<const EnqueueRequest> sends, std::span<const QueuedCopy> deletes) {
  PARLEY_STORE_TRY(CheckQueueBatchSize(sends.size(), deletes.size()));
  const std::int64_t now = clock_.NowMillis();
  // One transaction, so one WAL flush, for the group's sends and acks.
  return InTransaction([&](pqxx::work& txn) -> StoreResult<QueueBatchResult> {
    QueueBatchResult result;
    PARLEY_STORE_ASSIGN(queued, EnqueueBatchLocked(txn, sends, now));
    PARLEY_STORE_ASSIGN(deleted, DeleteMessagesLocked(txn, deletes));
    result.sends = std::move(queued);
    result.deleted = std::move(deleted);
    return result;
  });
}

StoreResult<std::vector<StoredEnvelope>> PostgresServerStore::FetchMessages(const DeviceAddress& device,
                                                                            std::uint64_t after_server_id,
                                                                            std::size_t max_count) {
  max_count = ClampLimit(max_count, kMaxFetchCount);
  const std::int64_t after =
      AsInt(std::min<std::uint64_t>(after_server_id, std::numeric_limits<std::int64_t>::max()));
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::vector<StoredEnvelope>> {
    std::vector<StoredEnvelope> envelopes;
    const pqxx::result rows = txn.exec_prepared("fetch_messages", Text(device.account), DeviceNumber(device),
                                                after, AsInt(max_count), AsInt(kMaxFetchBytes));
    for (const auto& row : rows) {
      PARLEY_STORE_ASSIGN(server_id, FieldChecked<std::uint64_t>(row[0]));
      PARLEY_STORE_ASSIGN(sender_account, FieldAccountId(row[2]));
      PARLEY_STORE_ASSIGN(sender_device, FieldChecked<std::uint32_t>(row[3]));
      PARLEY_STORE_ASSIGN(type, FieldChecked<std::uint32_t>(row[4]));
      PARLEY_STORE_ASSIGN(client_id, FieldFixed<16>(row[5]));
      StoredEnvelope envelope;
      envelope.server_id = server_id;
      envelope.server_timestamp_ms = row[1].as<std::int64_t>();
      envelope.sender = {sender_account, DeviceId(sender_device)};
      envelope.recipient = device;
      envelope.type = type;
      envelope.client_message_id = ClientMessageId(client_id);
      const pqxx::binarystring content(row[6]);
      envelope.content.assign(content.begin(), content.end());
      envelopes.push_back(std::move(envelope));
    }
    return envelopes;
  });
}

StoreStatus PostgresServerStore::DeleteMessage(const DeviceAddress& device, std::uint64_t server_id) {
  const QueuedCopy message{device, server_id};
  PARLEY_STORE_ASSIGN(found, DeleteMessages(std::span(&message, 1)));
  if (!found.front()) return Fail(StoreErrc::kNotFound, "no such message in this queue");
  return Ok<StoreErrc>();
}

StoreResult<std::vector<bool>> PostgresServerStore::DeleteMessages(std::span<const QueuedCopy> messages) {
  if (messages.size() > kMaxDeleteBatch)
    return Fail(StoreErrc::kInvalidArgument, "too many messages in one batch");
  return InTransaction([&](pqxx::work& txn) { return DeleteMessagesLocked(txn, messages); });
}

StoreResult<std::vector<bool>> PostgresServerStore::DeleteMessagesLocked(
    pqxx::work& txn, std::span<const QueuedCopy> messages) {
  std::vector<bool> found(messages.size(), false);
  // Ordered: the queue counters are then locked in address order, as
  // Enqueue locks them, so the two cannot deadlock.
  std::map<DeviceAddress, std::int64_t> removed_per_device;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const QueuedCopy& message = messages[i];
    if (message.server_id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) continue;
    const auto deleted = txn.exec_prepared("delete_message", Text(message.recipient.account),
                                           DeviceNumber(message.recipient), AsInt(message.server_id))
                             .affected_rows();
    if (deleted == 0) continue;
    found[i] = true;
    ++removed_per_device[message.recipient];
  }
  for (const auto& [device, removed] : removed_per_device) {
    txn.exec_prepared("decrement_queue", Text(device.account), DeviceNumber(device), removed);
  }
  return found;
}

StoreResult<std::uint64_t> PostgresServerStore::QueueDepth(const DeviceAddress& device) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::uint64_t> {
    const pqxx::result rows = txn.exec_prepared("queue_depth", Text(device.account), DeviceNumber(device));
    if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such device");
    return FieldChecked<std::uint64_t>(rows[0][0]);
  });
}

StoreResult<QueueDepthSummary> PostgresServerStore::SummarizeQueueDepths() {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<QueueDepthSummary> {
    const pqxx::result rows = txn.exec_prepared("summarize_queue_depths");
    PARLEY_STORE_ASSIGN(queued, FieldChecked<std::uint64_t>(rows[0][0]));
    PARLEY_STORE_ASSIGN(deepest, FieldChecked<std::uint64_t>(rows[0][1]));
    PARLEY_STORE_ASSIGN(nonempty, FieldChecked<std::uint64_t>(rows[0][2]));
    return QueueDepthSummary{queued, deepest, nonempty};
  });
}

StoreResult<PurgeCounts> PostgresServerStore::PurgeExpiredMessages(std::int64_t cutoff_ms,
                                                                   std::size_t max_rows) {
  max_rows = ClampLimit(max_rows, kMaxPurgeBatch);
  return InTransaction([&](pqxx::work& txn) -> StoreResult<PurgeCounts> {
    PurgeCounts counts;
    // Ordered map: device rows are then locked in address order.
    std::map<std::pair<std::string, std::int64_t>, std::int64_t> removed_per_device;
    for (const auto& row : txn.exec_prepared("purge_messages", cutoff_ms, AsInt(max_rows))) {
      ++removed_per_device[{row[0].as<std::string>(), row[1].as<std::int64_t>()}];
      ++counts.messages;
    }
    for (const auto& [device, removed] : removed_per_device) {
      txn.exec_prepared("decrement_queue", device.first, device.second, removed);
    }
    counts.send_records = txn.exec_prepared("purge_sends", cutoff_ms, AsInt(max_rows)).affected_rows();
    return counts;
  });
}

// ------------------------------------------------------------- attachments

StoreResult<AttachmentInfo> PostgresServerStore::CreateAttachment(const AttachmentId& id,
                                                                  const AccountId& owner,
                                                                  std::uint64_t declared_size) {
  if (declared_size == 0) return Fail(StoreErrc::kInvalidArgument, "attachment size is zero");
  if (declared_size > options_.max_attachment_bytes) {
    return Fail(StoreErrc::kLimitExceeded, "attachment is larger than the maximum");
  }
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) -> StoreResult<AttachmentInfo> {
    txn.exec_prepared("insert_attachment", Blob(id.value()), Text(owner), AsInt(declared_size), now);
    return AttachmentInfo{id, owner, declared_size, 0, now};
  });
}

StoreResult<AttachmentInfo> PostgresServerStore::GetAttachmentLocked(pqxx::work& txn, const AttachmentId& id,
                                                                     bool for_update) {
  const pqxx::result rows =
      txn.exec_prepared(for_update ? "lock_attachment" : "get_attachment", Blob(id.value()));
  if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such attachment");
  return ReadAttachmentInfo(rows[0]);
}

StoreResult<AttachmentInfo> PostgresServerStore::AppendAttachmentChunk(const AttachmentId& id,
                                                                       std::uint64_t offset, Bytes chunk) {
  if (chunk.empty()) return Fail(StoreErrc::kInvalidArgument, "attachment chunk is empty");
  if (chunk.size() > kMaxAttachmentChunkBytes) {
    return Fail(StoreErrc::kInvalidArgument, "attachment chunk is too large");
  }
  return InTransaction([&](pqxx::work& txn) -> StoreResult<AttachmentInfo> {
    PARLEY_STORE_ASSIGN(info, GetAttachmentLocked(txn, id, /*for_update=*/true));
    if (offset != info.length) return Fail(StoreErrc::kConflict, "chunk offset is not the uploaded length");
    if (chunk.size() > info.declared_size - info.length) {
      return Fail(StoreErrc::kLimitExceeded, "chunk passes the declared attachment size");
    }
    txn.exec_prepared("insert_chunk", Blob(id.value()), AsInt(offset), Blob(chunk));
    info.length += chunk.size();
    txn.exec_prepared("set_attachment_length", Blob(id.value()), AsInt(info.length));
    return info;
  });
}

StoreResult<AttachmentInfo> PostgresServerStore::GetAttachment(const AttachmentId& id) {
  return InTransaction([&](pqxx::work& txn) { return GetAttachmentLocked(txn, id, /*for_update=*/false); });
}

StoreResult<std::vector<std::uint8_t>> PostgresServerStore::ReadAttachment(const AttachmentId& id,
                                                                           std::uint64_t offset,
                                                                           std::size_t max_bytes) {
  max_bytes = ClampLimit(max_bytes, kMaxAttachmentReadBytes);
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::vector<std::uint8_t>> {
    PARLEY_STORE_ASSIGN(info, GetAttachmentLocked(txn, id, /*for_update=*/false));
    if (offset > info.length)
      return Fail(StoreErrc::kInvalidArgument, "read offset is past the uploaded length");
    const std::uint64_t end = std::min<std::uint64_t>(info.length, offset + max_bytes);
    std::vector<std::uint8_t> out;
    if (end == offset) return out;
    out.reserve(static_cast<std::size_t>(end - offset));
    // Every chunk overlapping [offset, end) starts after offset minus the
    // largest chunk size.
    const pqxx::result rows =
        txn.exec_prepared("read_chunks", Blob(id.value()),
                          AsInt(offset) - static_cast<std::int64_t>(kMaxAttachmentChunkBytes), AsInt(end));
    std::uint64_t position = offset;
    for (const auto& row : rows) {
      if (position >= end) break;
      PARLEY_STORE_ASSIGN(chunk_offset, FieldChecked<std::uint64_t>(row[0]));
      const pqxx::binarystring data(row[1]);
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

StoreStatus PostgresServerStore::DeleteAttachment(const AttachmentId& id) {
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    if (txn.exec_prepared("delete_attachment", Blob(id.value())).affected_rows() == 0) {
      return Fail(StoreErrc::kNotFound, "no such attachment");
    }
    return Ok<StoreErrc>();
  });
}

StoreResult<std::vector<AttachmentId>> PostgresServerStore::ListExpiredAttachments(
    std::int64_t created_before_ms, std::size_t limit) {
  limit = ClampLimit(limit, kMaxPageSize);
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::vector<AttachmentId>> {
    std::vector<AttachmentId> ids;
    for (const auto& row : txn.exec_prepared("expired_attachments", created_before_ms, AsInt(limit))) {
      PARLEY_STORE_ASSIGN(id, FieldFixed<16>(row[0]));
      ids.emplace_back(id);
    }
    return ids;
  });
}

StoreResult<std::vector<AttachmentId>> PostgresServerStore::ListUnfinishedAttachments(
    std::int64_t created_before_ms, std::size_t limit) {
  limit = ClampLimit(limit, kMaxPageSize);
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::vector<AttachmentId>> {
    std::vector<AttachmentId> ids;
    for (const auto& row : txn.exec_prepared("unfinished_attachments", created_before_ms, AsInt(limit))) {
      PARLEY_STORE_ASSIGN(id, FieldFixed<16>(row[0]));
      ids.emplace_back(id);
    }
    return ids;
  });
}

// ------------------------------------------------------------- invitations

StoreStatus PostgresServerStore::CreateInvitation(const TokenHash& token_hash,
                                                  std::optional<std::int64_t> expires_ms) {
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    if (expires_ms) {
      txn.exec_prepared("insert_invitation", Blob(token_hash), now, *expires_ms);
    } else {
      txn.exec_prepared("insert_invitation", Blob(token_hash), now, nullptr);
    }
    return Ok<StoreErrc>();
  });
}

StoreResult<InvitationRecord> PostgresServerStore::GetInvitation(const TokenHash& token_hash) {
  return InTransaction([&](pqxx::work& txn) -> StoreResult<InvitationRecord> {
    const pqxx::result rows = txn.exec_prepared("get_invitation", Blob(token_hash));
    if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such invitation");
    const pqxx::row row = rows[0];
    InvitationRecord record;
    record.token_hash = token_hash;
    record.created_ms = row[0].as<std::int64_t>();
    if (!row[1].is_null()) record.expires_ms = row[1].as<std::int64_t>();
    if (!row[2].is_null()) record.used_ms = row[2].as<std::int64_t>();
    if (!row[3].is_null()) {
      PARLEY_STORE_ASSIGN(used_by, FieldAccountId(row[3]));
      record.used_by = used_by;
    }
    return record;
  });
}

StoreStatus PostgresServerStore::UseInvitationLocked(pqxx::work& txn, const TokenHash& token_hash,
                                                     const AccountId& used_by, std::int64_t now) {
  // FOR UPDATE: a concurrent consumer waits, then sees the row used.
  const pqxx::result rows = txn.exec_prepared("lock_invitation", Blob(token_hash));
  if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such invitation");
  if (!rows[0][1].is_null()) return Fail(StoreErrc::kAlreadyUsed, "the invitation was used");
  if (!rows[0][0].is_null() && now >= rows[0][0].as<std::int64_t>()) {
    return Fail(StoreErrc::kExpired, "the invitation expired");
  }
  txn.exec_prepared("use_invitation", Blob(token_hash), now, Text(used_by));
  return Ok<StoreErrc>();
}

StoreStatus PostgresServerStore::ConsumeInvitation(const TokenHash& token_hash, const AccountId& used_by) {
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) { return UseInvitationLocked(txn, token_hash, used_by, now); });
}

// ------------------------------------------------------------ provisioning

StoreStatus PostgresServerStore::CreateProvisioningCode(const TokenHash& code_hash, const AccountId& account,
                                                        std::int64_t expires_ms) {
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) -> StoreStatus {
    txn.exec_prepared("insert_provisioning_code", Blob(code_hash), Text(account), now, expires_ms);
    return Ok<StoreErrc>();
  });
}

StoreResult<AccountId> PostgresServerStore::CheckProvisioningCodeLocked(pqxx::work& txn,
                                                                        const TokenHash& code_hash,
                                                                        std::int64_t now) {
  const pqxx::result rows = txn.exec_prepared("lock_provisioning_code", Blob(code_hash));
  if (rows.empty()) return Fail(StoreErrc::kNotFound, "no such provisioning code");
  if (!rows[0][2].is_null()) return Fail(StoreErrc::kAlreadyUsed, "the provisioning code was used");
  if (now >= rows[0][1].as<std::int64_t>()) return Fail(StoreErrc::kExpired, "the provisioning code expired");
  return FieldAccountId(rows[0][0]);
}

StoreResult<AccountId> PostgresServerStore::ConsumeProvisioningCode(const TokenHash& code_hash) {
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) -> StoreResult<AccountId> {
    PARLEY_STORE_ASSIGN(account, CheckProvisioningCodeLocked(txn, code_hash, now));
    txn.exec_prepared("use_provisioning_code", Blob(code_hash), now);
    return account;
  });
}

StoreResult<DeviceRecord> PostgresServerStore::LinkDevice(const TokenHash& code_hash,
                                                          const NewDevice& device) {
  PARLEY_STORE_TRY(ValidateNewDevice(device));
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) -> StoreResult<DeviceRecord> {
    PARLEY_STORE_ASSIGN(account, CheckProvisioningCodeLocked(txn, code_hash, now));
    PARLEY_STORE_ASSIGN(record, AddDeviceLocked(txn, account, device, now));
    txn.exec_prepared("use_provisioning_code", Blob(code_hash), now);
    return record;
  });
}

StoreResult<std::uint64_t> PostgresServerStore::PurgeProvisioningCodes() {
  const std::int64_t now = clock_.NowMillis();
  return InTransaction([&](pqxx::work& txn) -> StoreResult<std::uint64_t> {
    return static_cast<std::uint64_t>(txn.exec_prepared("purge_provisioning_codes", now).affected_rows());
  });
}

}  // namespace parley::store
