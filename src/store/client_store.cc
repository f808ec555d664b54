#include "store/client_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <set>

#include "base/byte_writer.h"
#include "base/hex.h"

namespace parley::store {

namespace {

using protocol::ProtocolAddress;
using protocol::ProtocolErrc;
using protocol::ProtocolStatus;

// Schema history; a released step is never edited.
struct ClientMigration {
  int version;
  const char* sql;
};

// Version 9: receipts owed until parleyd takes them. A table of its own that
// reads no other, so the step applies on top of version 7 or 8 alike.
constexpr ClientMigration kOwedReceiptsMigration{9, R"sql(
CREATE TABLE owed_receipts(seq INTEGER PRIMARY KEY AUTOINCREMENT, to_account TEXT NOT NULL,
                           group_id TEXT NOT NULL, kind INTEGER NOT NULL, own_devices INTEGER NOT NULL,
                           message BLOB NOT NULL, send_id BLOB NOT NULL,
                           UNIQUE(to_account, group_id, kind, own_devices, message));
CREATE INDEX owed_receipts_by_peer ON owed_receipts(to_account, seq);
CREATE INDEX owed_receipts_by_send ON owed_receipts(send_id, seq);
)sql"};

constexpr ClientMigration kMigrations[] = {
    {1, R"sql(
CREATE TABLE settings(name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE prekeys(id INTEGER PRIMARY KEY, private_key BLOB NOT NULL);
CREATE TABLE signed_prekeys(id INTEGER PRIMARY KEY, private_key BLOB NOT NULL, signature BLOB NOT NULL,
                            created_ms INTEGER NOT NULL);
CREATE TABLE identities(account TEXT NOT NULL, device INTEGER NOT NULL, public_key BLOB NOT NULL,
                        verified INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(account, device));
CREATE TABLE sessions(account TEXT NOT NULL, device INTEGER NOT NULL, record BLOB NOT NULL,
                      PRIMARY KEY(account, device));
CREATE TABLE sender_keys(group_id TEXT NOT NULL, account TEXT NOT NULL, device INTEGER NOT NULL,
                         record BLOB NOT NULL, PRIMARY KEY(group_id, account, device));
CREATE TABLE contacts(account TEXT PRIMARY KEY, username TEXT NOT NULL, username_lower TEXT NOT NULL,
                      state INTEGER NOT NULL, verified INTEGER NOT NULL DEFAULT 0,
                      identity_changed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX contacts_by_username ON contacts(username_lower);
CREATE TABLE conversations(id TEXT PRIMARY KEY, disappearing_seconds INTEGER NOT NULL DEFAULT 0);
CREATE TABLE messages(seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL UNIQUE,
                      conversation TEXT NOT NULL, direction INTEGER NOT NULL, sender TEXT NOT NULL,
                      sender_device INTEGER NOT NULL, sent_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
                      body TEXT NOT NULL, status INTEGER NOT NULL, quote BLOB, edited INTEGER NOT NULL,
                      deleted INTEGER NOT NULL, expires_ms INTEGER NOT NULL, request INTEGER NOT NULL);
CREATE INDEX messages_by_conversation ON messages(conversation, seq);
CREATE INDEX messages_by_expiry ON messages(expires_ms) WHERE expires_ms > 0;
CREATE TABLE reactions(message BLOB NOT NULL, account TEXT NOT NULL, emoji TEXT NOT NULL,
                       PRIMARY KEY(message, account));
CREATE TABLE processed(sender TEXT NOT NULL, sender_device INTEGER NOT NULL, client_message_id BLOB NOT NULL,
                       processed_ms INTEGER NOT NULL, PRIMARY KEY(sender, sender_device, client_message_id));
)sql"},
    {2, R"sql(
CREATE TABLE attachments(message BLOB PRIMARY KEY, pointer BLOB NOT NULL, path TEXT NOT NULL DEFAULT '');
)sql"},
    {3, R"sql(
CREATE TABLE groups(id TEXT PRIMARY KEY, name TEXT NOT NULL, active INTEGER NOT NULL, request INTEGER NOT NULL,
                    key_distributed INTEGER NOT NULL);
CREATE TABLE group_members(group_id TEXT NOT NULL, account TEXT NOT NULL, position INTEGER NOT NULL,
                           admin INTEGER NOT NULL, PRIMARY KEY(group_id, account));
)sql"},
    {4, R"sql(
ALTER TABLE groups ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN version_author TEXT NOT NULL DEFAULT '';
ALTER TABLE groups ADD COLUMN base_admins TEXT NOT NULL DEFAULT '';
CREATE TABLE receipts(message BLOB NOT NULL, account TEXT NOT NULL, status INTEGER NOT NULL,
                      at_ms INTEGER NOT NULL, PRIMARY KEY(message, account));
)sql"},
    {5, R"sql(
ALTER TABLE groups ADD COLUMN left_members TEXT NOT NULL DEFAULT '';
)sql"},
    {6, R"sql(
CREATE TABLE group_changes(group_id TEXT NOT NULL, version INTEGER NOT NULL, author TEXT NOT NULL,
                           device INTEGER NOT NULL, ops BLOB NOT NULL,
                           PRIMARY KEY(group_id, version, author, device));
)sql"},
    {7, R"sql(
CREATE TABLE group_pending(seq INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL,
                           arrival INTEGER NOT NULL, sender TEXT NOT NULL, sender_device INTEGER NOT NULL,
                           version INTEGER NOT NULL, author TEXT NOT NULL, device INTEGER NOT NULL,
                           ops BLOB NOT NULL);
CREATE INDEX group_pending_by_group ON group_pending(group_id, arrival, seq);
)sql"},
    {8, R"sql(
ALTER TABLE group_changes ADD COLUMN signature BLOB;
ALTER TABLE group_pending ADD COLUMN signature BLOB;
CREATE INDEX group_pending_by_sender ON group_pending(sender, group_id);
)sql"},
    kOwedReceiptsMigration,
};

ClientStoreErrc CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return ClientStoreErrc::kBadKey;
    case SQLITE_CORRUPT:
      return ClientStoreErrc::kCorrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return ClientStoreErrc::kUnavailable;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
      return ClientStoreErrc::kInvalidArgument;
    default:
      return ClientStoreErrc::kInternal;
  }
}

tl::unexpected<Error<ClientStoreErrc>> SqlFail(int rc) {
  switch (CodeFor(rc)) {
    case ClientStoreErrc::kBadKey:
      return Fail(ClientStoreErrc::kBadKey, "the key does not open the client store");
    case ClientStoreErrc::kCorrupt:
      return Fail(ClientStoreErrc::kCorrupt, "the client store is damaged");
    case ClientStoreErrc::kUnavailable:
      return Fail(ClientStoreErrc::kUnavailable, "the client store cannot be read or written");
    case ClientStoreErrc::kInvalidArgument:
      return Fail(ClientStoreErrc::kInvalidArgument, "a value the client store cannot hold");
    default:
      return Fail(ClientStoreErrc::kInternal, "unexpected SQLite error in the client store");
  }
}

ProtocolStatus ProtocolStorageFailed() {
  return Fail(ProtocolErrc::kStorageFailed, "the client store could not read or write a record");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// ---- Database: one SQLCipher connection with cached statements ---------------

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Statement& Bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Blob(int i, Bytes v) {
    // A zero-length blob must still be a blob, not NULL.
    static const std::uint8_t kEmpty = 0;
    sqlite3_bind_blob(stmt_, i, v.empty() ? &kEmpty : v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Text(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // NULL for no bytes (an optional column), else the blob.
  Statement& BlobOrNull(int i, Bytes v) { return v.empty() ? Null(i) : Blob(i, v); }
  // NULL for none (a filter that matches all), else the text.
  Statement& TextOrNull(int i, const std::optional<std::string>& v) { return v ? Text(i, *v) : Null(i); }
  ClientStoreResult<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlFail(rc);
  }
  ClientStoreStatus Run() {
    auto row = Step();
    if (!row) return tl::unexpected(row.error());
    return {};
  }
  bool IsNull(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  std::int64_t Int(int c) const { return sqlite3_column_int64(stmt_, c); }
  Bytes ColumnBlob(int c) const {
    const void* p = sqlite3_column_blob(stmt_, c);
    const int n = sqlite3_column_bytes(stmt_, c);
    if (p == nullptr || n <= 0) return {};
    return {static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(n)};
  }
  std::string ColumnText(int c) const {
    const unsigned char* p = sqlite3_column_text(stmt_, c);
    const int n = sqlite3_column_bytes(stmt_, c);
    if (p == nullptr || n <= 0) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
  }

 private:
  sqlite3_stmt* stmt_;
};

class ClientStore::Database {
 public:
  explicit Database(sqlite3* db) : db_(db) {}
  ~Database() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }
  ClientStoreResult<Statement> Prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      sqlite3_stmt* stmt = nullptr;
      const int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
      if (rc != SQLITE_OK) return SqlFail(rc);
      it = statements_.emplace(sql, stmt).first;
    }
    // A statement handed out again starts afresh, even if a caller still
    // iterates it (callers finish one before preparing the same SQL).
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return Statement(it->second);
  }
  ClientStoreStatus Exec(const char* sql) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqlFail(rc);
    return {};
  }
  std::int64_t changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

#define CS_TRY(expr)                            \
  do {                                          \
    if (auto cs_status = (expr); !cs_status) {  \
      return tl::unexpected(cs_status.error()); \
    }                                           \
  } while (false)

#define CS_CONCAT_INNER(a, b) a##b
#define CS_CONCAT(a, b) CS_CONCAT_INNER(a, b)
#define CS_ASSIGN(var, expr)                                        \
  auto CS_CONCAT(cs_result_, __LINE__) = (expr);                    \
  if (!CS_CONCAT(cs_result_, __LINE__)) {                           \
    return tl::unexpected(CS_CONCAT(cs_result_, __LINE__).error()); \
  }                                                                 \
  auto& var = *CS_CONCAT(cs_result_, __LINE__)

std::string_view ClientStoreErrcName(ClientStoreErrc code) {
  switch (code) {
    case ClientStoreErrc::kBadKey:
      return "bad_key";
    case ClientStoreErrc::kKeyFilePermissions:
      return "key_file_permissions";
    case ClientStoreErrc::kNotFound:
      return "not_found";
    case ClientStoreErrc::kInvalidArgument:
      return "invalid_argument";
    case ClientStoreErrc::kCorrupt:
      return "corrupt";
    case ClientStoreErrc::kUnavailable:
      return "unavailable";
    case ClientStoreErrc::kIncompatibleSchema:
      return "incompatible_schema";
    case ClientStoreErrc::kInternal:
      return "internal";
  }
  return "internal";
}

std::string MessageIdToHex(const MessageId& id) { return ToHex(id); }

std::optional<MessageId> MessageIdFromHex(std::string_view hex) {
  auto bytes = FromHex(hex);
  if (!bytes || bytes->size() != 16) return std::nullopt;
  MessageId id{};
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

// ---- Keys ---------------------------------------------------------------------

namespace {

// Reads exactly out.size() bytes from a file that must be owned by us and not
// accessible to group or others.
ClientStoreStatus ReadPrivateFile(const std::filesystem::path& path, std::span<std::uint8_t> out,
                                  bool check_mode) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Fail(ClientStoreErrc::kUnavailable, "cannot open the key or salt file");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return Fail(ClientStoreErrc::kUnavailable, "cannot stat the key or salt file");
  }
  if (check_mode && ((st.st_mode & 077) != 0 || st.st_uid != geteuid())) {
    close(fd);
    return Fail(ClientStoreErrc::kKeyFilePermissions,
                "the key file must be owned by this user with mode 0600 or stricter");
  }
  if (st.st_size != static_cast<off_t>(out.size())) {
    close(fd);
    return Fail(ClientStoreErrc::kInvalidArgument, "the key or salt file has the wrong size");
  }
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fd);
  if (got != out.size()) return Fail(ClientStoreErrc::kUnavailable, "cannot read the key or salt file");
  return {};
}

// Creates path (mode 0600, failing if it exists) holding `bytes`.
ClientStoreStatus WritePrivateFile(const std::filesystem::path& path, Bytes bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Fail(ClientStoreErrc::kUnavailable, "cannot create the key or salt file");
  std::size_t put = 0;
  while (put < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + put, bytes.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    put += static_cast<std::size_t>(n);
  }
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (put != bytes.size() || !synced) {
    unlink(path.c_str());
    return Fail(ClientStoreErrc::kUnavailable, "cannot write the key or salt file");
  }
  return {};
}

bool InitSodium() { return sodium_init() >= 0; }

}  // namespace

ClientStoreResult<ClientStoreKey> KeyFromPassphrase(std::string_view passphrase,
                                                    const std::filesystem::path& salt_file) {
  if (passphrase.empty()) return Fail(ClientStoreErrc::kInvalidArgument, "the passphrase is empty");
  if (!InitSodium()) return Fail(ClientStoreErrc::kInternal, "libsodium did not initialize");
  std::array<std::uint8_t, kPassphraseSaltSize> salt{};
  std::error_code ec;
  if (!std::filesystem::exists(salt_file, ec)) {
    randombytes_buf(salt.data(), salt.size());
    CS_TRY(WritePrivateFile(salt_file, salt));
  } else {
    CS_TRY(ReadPrivateFile(salt_file, salt, false));
  }
  static_assert(kPassphraseSaltSize == crypto_pwhash_SALTBYTES);
  ClientStoreKey key;
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt.data(),
                    crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Fail(ClientStoreErrc::kUnavailable, "Argon2id ran out of memory");
  }
  return key;
}

ClientStoreResult<ClientStoreKey> KeyFromFile(const std::filesystem::path& key_file) {
  if (!InitSodium()) return Fail(ClientStoreErrc::kInternal, "libsodium did not initialize");
  ClientStoreKey key;
  std::error_code ec;
  if (!std::filesystem::exists(key_file, ec)) {
    randombytes_buf(key.data(), key.size());
    CS_TRY(WritePrivateFile(key_file, key.bytes()));
    return key;
  }
  CS_TRY(ReadPrivateFile(key_file, key.bytes(), true));
  return key;
}

// ---- Open and migrations ------------------------------------------------------

ClientStore::ClientStore(std::unique_ptr<Database> db, const Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

ClientStore::~ClientStore() {
  if (in_transaction_) Rollback();
  if (in_batch_) RollbackBatch();
}

namespace {

// The raw key as SQLCipher's x'<hex>' literal: no passphrase derivation by
// SQLCipher itself (ours is Argon2id).
std::string KeyLiteral(const ClientStoreKey& key) { return "x'" + ToHex(key.bytes()) + "'"; }

bool SyncPath(const std::filesystem::path& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = fsync(fd) == 0;
  close(fd);
  return synced;
}

}  // namespace

ClientStoreResult<std::unique_ptr<ClientStore::Database>> ClientStore::OpenDatabase(
    const std::filesystem::path& path, const ClientStoreKey& key, int page_size) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  auto db = std::make_unique<Database>(raw);
  if (rc != SQLITE_OK) return Fail(ClientStoreErrc::kUnavailable, "cannot open or create the client store");
  sqlite3_busy_timeout(raw, 5'000);
  chmod(path.c_str(), 0600);

  std::string pragma = "PRAGMA key = \"" + KeyLiteral(key) + "\";";
  const auto keyed = db->Exec(pragma.c_str());
  sodium_memzero(pragma.data(), pragma.size());
  if (!keyed) return tl::unexpected(keyed.error());
  const std::string page = "PRAGMA cipher_page_size = " + std::to_string(page_size) + ";";
  CS_TRY(db->Exec(page.c_str()));
  // The first read shows whether the key (and page size) is right.
  if (auto probe = db->Exec("SELECT count(*) FROM sqlite_master;"); !probe) {
    if (probe.error().code == ClientStoreErrc::kBadKey || probe.error().code == ClientStoreErrc::kInternal) {
      return Fail(ClientStoreErrc::kBadKey, "the key does not open the client store");
    }
    return tl::unexpected(probe.error());
  }
  return db;
}

ClientStoreStatus ClientStore::MigratePageSize(std::unique_ptr<Database> old_db,
                                               const std::filesystem::path& path, const ClientStoreKey& key) {
  std::filesystem::path migrating = path;
  migrating += ".migrating";
  std::error_code ec;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    std::filesystem::path stale = migrating;
    stale += suffix;
    std::filesystem::remove(stale, ec);
  }
  // Out of WAL mode first, so that the old file alone holds everything and
  // no write-ahead log is left to be replayed onto the new file.
  CS_TRY(old_db->Exec("PRAGMA journal_mode = DELETE;"));
  {
    CS_ASSIGN(attach, old_db->Prepare("ATTACH DATABASE ? AS migrated KEY ?"));
    std::string literal = KeyLiteral(key);
    attach.Text(1, migrating.string()).Text(2, literal);
    auto attached = attach.Run();
    sodium_memzero(literal.data(), literal.size());
    CS_TRY(attached);
  }
  const std::string page = "PRAGMA migrated.cipher_page_size = " + std::to_string(kClientStorePageSize) + ";";
  auto exported = old_db->Exec(page.c_str());
  if (exported) exported = old_db->Exec("SELECT sqlcipher_export('migrated');");
  (void)old_db->Exec("DETACH DATABASE migrated;");
  old_db.reset();
  std::filesystem::path wal = path;
  wal += "-wal";
  if (!exported || std::filesystem::exists(wal, ec)) {
    std::filesystem::remove(migrating, ec);
    return exported ? Fail(ClientStoreErrc::kUnavailable, "the client store's log could not be folded in")
                    : exported;
  }
  chmod(migrating.c_str(), 0600);
  // Durable before it replaces the old file; the rename is atomic, so a crash
  // leaves either store whole.
  if (!SyncPath(migrating, O_RDONLY) || rename(migrating.c_str(), path.c_str()) != 0 ||
      !SyncPath(path.parent_path().empty() ? "." : path.parent_path(), O_RDONLY | O_DIRECTORY)) {
    std::filesystem::remove(migrating, ec);
    return Fail(ClientStoreErrc::kUnavailable, "cannot replace the client store with its migrated copy");
  }
  return {};
}

ClientStoreResult<std::unique_ptr<ClientStore>> ClientStore::Open(const std::filesystem::path& path,
                                                                  const ClientStoreKey& key,
                                                                  const Clock& clock) {
  auto opened = OpenDatabase(path, key, kClientStorePageSize);
  if (!opened && opened.error().code == ClientStoreErrc::kBadKey) {
    // A store made with SQLCipher 3's default page size: copied once into
    // the larger one (each page costs a fixed price to encrypt).
    auto old_db = OpenDatabase(path, key, kClientStoreOldPageSize);
    if (!old_db) return tl::unexpected(old_db.error());
    CS_TRY(MigratePageSize(std::move(*old_db), path, key));
    opened = OpenDatabase(path, key, kClientStorePageSize);
  }
  if (!opened) return tl::unexpected(opened.error());
  std::unique_ptr<Database> db = std::move(*opened);
  CS_TRY(db->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"));
  CS_TRY(db->Exec("CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY);"));

  // Every step not recorded yet, even one below the highest recorded: steps
  // made on different branches are numbered apart and may arrive in either
  // order (each one's SQL stands on its own).
  std::set<int> recorded;
  {
    CS_ASSIGN(stmt, db->Prepare("SELECT version FROM schema_migrations"));
    for (;;) {
      CS_ASSIGN(row, stmt.Step());
      if (!row) break;
      recorded.insert(static_cast<int>(stmt.Int(0)));
    }
  }
  if (!recorded.empty() && *recorded.rbegin() > kClientSchemaVersion) {
    return Fail(ClientStoreErrc::kIncompatibleSchema, "the client store was written by a newer Parley");
  }
  for (const ClientMigration& m : kMigrations) {
    if (recorded.contains(m.version)) continue;
    CS_TRY(db->Exec("BEGIN IMMEDIATE;"));
    auto applied = db->Exec(m.sql);
    if (applied) {
      auto stmt = db->Prepare("INSERT INTO schema_migrations(version) VALUES (?)");
      if (!stmt) {
        applied = tl::unexpected(stmt.error());
      } else {
        applied = stmt->Bind(1, m.version).Run();
      }
    }
    if (!applied) {
      (void)db->Exec("ROLLBACK;");
      return tl::unexpected(applied.error());
    }
    CS_TRY(db->Exec("COMMIT;"));
  }
  std::unique_ptr<ClientStore> store(new ClientStore(std::move(db), clock));
  CS_TRY(store->LoadIdentity());
  return store;
}

// ---- Transactions -------------------------------------------------------------

ClientStoreStatus ClientStore::Begin() {
  if (in_transaction_) return Fail(ClientStoreErrc::kInternal, "a client store transaction is already open");
  if (in_batch_) {
    if (batch_failed_) return Fail(ClientStoreErrc::kUnavailable, "an earlier change in this batch failed");
    changes_at_begin_ = sqlite3_total_changes(db_->handle());
    sessions_changed_ = false;
  } else {
    CS_TRY(db_->Exec("BEGIN IMMEDIATE;"));
  }
  in_transaction_ = true;
  transaction_failed_ = false;
  return {};
}

ClientStoreStatus ClientStore::Commit() {
  if (!in_transaction_) return Fail(ClientStoreErrc::kInternal, "no client store transaction is open");
  if (transaction_failed_) {
    Rollback();
    return Fail(ClientStoreErrc::kUnavailable, "a change in the transaction could not be written");
  }
  if (in_batch_) {
    in_transaction_ = false;
    return {};
  }
  if (auto committed = db_->Exec("COMMIT;"); !committed) {
    Rollback();
    return committed;
  }
  in_transaction_ = false;
  return {};
}

void ClientStore::Rollback() {
  transaction_failed_ = false;
  if (in_transaction_ && in_batch_) {
    in_transaction_ = false;
    if (sessions_changed_ || sqlite3_total_changes(db_->handle()) != changes_at_begin_) FailBatch();
    return;
  }
  if (in_transaction_) (void)db_->Exec("ROLLBACK;");
  in_transaction_ = false;
  sessions_.clear();
}

void ClientStore::FailBatch() {
  (void)db_->Exec("ROLLBACK;");
  (void)db_->Exec("BEGIN IMMEDIATE;");
  batch_failed_ = true;
  sessions_.clear();
  unwritten_sessions_.clear();
}

ClientStoreStatus ClientStore::BeginBatch() {
  if (in_batch_ || in_transaction_) {
    return Fail(ClientStoreErrc::kInternal, "a client store transaction is already open");
  }
  CS_TRY(db_->Exec("BEGIN IMMEDIATE;"));
  in_batch_ = true;
  batch_failed_ = false;
  return {};
}

ClientStoreStatus ClientStore::CommitBatch() {
  if (!in_batch_) return Fail(ClientStoreErrc::kInternal, "no client store batch is open");
  if (in_transaction_) {
    RollbackBatch();
    return Fail(ClientStoreErrc::kInternal, "a transaction is still open in the batch");
  }
  if (batch_failed_) {
    RollbackBatch();
    return Fail(ClientStoreErrc::kUnavailable, "a change in the batch failed; the batch is undone");
  }
  auto committed = FlushSessions();
  if (committed) committed = db_->Exec("COMMIT;");
  if (!committed) {
    RollbackBatch();
    return committed;
  }
  in_batch_ = false;
  return {};
}

void ClientStore::RollbackBatch() {
  if (in_batch_) (void)db_->Exec("ROLLBACK;");
  in_batch_ = false;
  batch_failed_ = false;
  in_transaction_ = false;
  sessions_.clear();
  unwritten_sessions_.clear();
}

// ---- This device --------------------------------------------------------------

ClientStoreStatus ClientStore::LoadIdentity() {
  crypto::CryptoResult<crypto::PrivateKey> private_key = crypto::PrivateKey();
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT value FROM settings WHERE name = ?"));
    stmt.Text(1, "identity_private_key");
    CS_ASSIGN(row, stmt.Step());
    if (!row) return {};
    private_key = crypto::PrivateKey::FromBytes(stmt.ColumnBlob(0));
  }
  if (!private_key) return Fail(ClientStoreErrc::kCorrupt, "the stored identity key is malformed");
  CS_ASSIGN(registration, GetCounter("registration_id"));
  if (!registration) return Fail(ClientStoreErrc::kCorrupt, "the identity has no registration id");
  identity_ = LocalIdentity{crypto::KeyPair::FromPrivate(std::move(*private_key)),
                            RegistrationId(static_cast<std::uint32_t>(*registration))};
  return {};
}

ClientStoreStatus ClientStore::SetLocalIdentity(const crypto::KeyPair& identity,
                                                RegistrationId registration_id) {
  {
    CS_ASSIGN(stmt, db_->Prepare("INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)"));
    CS_TRY(stmt.Text(1, "identity_private_key").Blob(2, identity.private_key.bytes().bytes()).Run());
  }
  CS_TRY(SetCounter("registration_id", registration_id.value()));
  identity_ = LocalIdentity{identity, registration_id};
  return {};
}

ClientStoreResult<std::optional<std::int64_t>> ClientStore::GetCounter(std::string_view name) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT value FROM settings WHERE name = ?"));
  stmt.Text(1, name);
  CS_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt.Int(0));
}

ClientStoreStatus ClientStore::SetCounter(std::string_view name, std::int64_t value) {
  CS_ASSIGN(stmt, db_->Prepare("INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)"));
  return stmt.Text(1, name).Bind(2, value).Run();
}

ClientStoreStatus ClientStore::DeleteCounter(std::string_view name) {
  CS_ASSIGN(stmt, db_->Prepare("DELETE FROM settings WHERE name = ?"));
  return stmt.Text(1, name).Run();
}

ClientStoreResult<std::vector<std::pair<std::string, std::int64_t>>> ClientStore::CountersWithPrefix(
    std::string_view prefix) {
  // substr rather than LIKE: a prefix may hold '_' or '%'.
  CS_ASSIGN(stmt,
            db_->Prepare("SELECT name, value FROM settings WHERE substr(name, 1, ?) = ? AND typeof(value) = "
                         "'integer' ORDER BY name"));
  stmt.Bind(1, static_cast<std::int64_t>(prefix.size())).Text(2, prefix);
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    out.emplace_back(stmt.ColumnText(0), stmt.Int(1));
  }
  return out;
}

ClientStoreResult<std::optional<LocalAccount>> ClientStore::LoadAccount() {
  CS_ASSIGN(stmt, db_->Prepare("SELECT value FROM settings WHERE name = 'account'"));
  CS_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<LocalAccount>();
  // account(16) device(4) credential(32) port(2) then three length-prefixed strings.
  ByteReader reader(stmt.ColumnBlob(0));
  Bytes account_bytes, credential;
  std::uint32_t device = 0;
  std::uint16_t port = 0;
  std::string strings[3];
  bool ok = reader.ReadBytes(16, account_bytes) && reader.ReadU32BE(device) &&
            reader.ReadBytes(32, credential) && reader.ReadU16BE(port);
  for (std::string& s : strings) {
    ByteReader child;
    ok = ok && reader.ReadU32Prefixed(child);
    if (ok) s.assign(reinterpret_cast<const char*>(child.rest().data()), child.rest().size());
  }
  if (!ok || !reader.empty()) return Fail(ClientStoreErrc::kCorrupt, "the stored account is malformed");
  auto uuid = Uuid::FromBytes(account_bytes);
  if (!uuid) return Fail(ClientStoreErrc::kCorrupt, "the stored account id is malformed");
  LocalAccount account;
  account.account = AccountId(*uuid);
  account.device = DeviceId(device);
  account.credential = SecretArray<32>(std::span<const std::uint8_t, 32>(credential.data(), 32));
  account.port = port;
  account.username = std::move(strings[0]);
  account.host = std::move(strings[1]);
  account.pin = std::move(strings[2]);
  return std::optional<LocalAccount>(std::move(account));
}

ClientStoreStatus ClientStore::SaveAccount(const LocalAccount& account) {
  // Reserved up front so that the credential is never left behind in a
  // reallocated buffer.
  ByteWriter w(64 + account.username.size() + account.host.size() + account.pin.size() + 12);
  w.WriteBytes(account.account.value().bytes());
  w.WriteU32BE(account.device.value());
  w.WriteBytes(account.credential.bytes());
  w.WriteU16BE(account.port);
  for (const std::string* s : {&account.username, &account.host, &account.pin}) {
    w.WriteU32BE(static_cast<std::uint32_t>(s->size()));
    w.WriteBytes({reinterpret_cast<const std::uint8_t*>(s->data()), s->size()});
  }
  std::vector<std::uint8_t> plain = w.Take();
  SecretBuffer bytes(plain);
  WipeMemory(plain.data(), plain.size());
  CS_ASSIGN(stmt, db_->Prepare("INSERT OR REPLACE INTO settings(name, value) VALUES ('account', ?)"));
  return stmt.Blob(1, bytes.bytes()).Run();
}

ClientStoreResult<std::size_t> ClientStore::CountPreKeys() {
  CS_ASSIGN(stmt, db_->Prepare("SELECT count(*) FROM prekeys"));
  CS_ASSIGN(row, stmt.Step());
  return row ? static_cast<std::size_t>(stmt.Int(0)) : 0;
}

// ---- Identities ---------------------------------------------------------------

const crypto::KeyPair& ClientStore::GetIdentityKeyPair() const { return identity_->key_pair; }

RegistrationId ClientStore::GetLocalRegistrationId() const { return identity_->registration_id; }

std::optional<crypto::PublicKey> ClientStore::GetIdentity(const ProtocolAddress& address) const {
  auto stmt = db_->Prepare("SELECT public_key FROM identities WHERE account = ? AND device = ?");
  if (!stmt) return std::nullopt;
  stmt->Text(1, address.name).Bind(2, address.device.value());
  auto row = stmt->Step();
  if (!row || !*row) return std::nullopt;
  auto key = crypto::PublicKey::Deserialize(stmt->ColumnBlob(0));
  if (!key) return std::nullopt;
  return *key;
}

bool ClientStore::IsTrustedIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) const {
  auto stmt = db_->Prepare("SELECT public_key FROM identities WHERE account = ? AND device = ?");
  if (!stmt) return false;
  stmt->Text(1, address.name).Bind(2, address.device.value());
  auto row = stmt->Step();
  if (!row) return false;
  if (!*row) return true;
  const auto serialized = key.Serialize();
  const Bytes stored = stmt->ColumnBlob(0);
  return stored.size() == serialized.size() && std::equal(stored.begin(), stored.end(), serialized.begin());
}

ProtocolStatus ClientStore::SaveIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) {
  if (!IsTrustedIdentity(address, key)) {
    return Fail(ProtocolErrc::kUntrustedIdentity, "a different identity is trusted for this device");
  }
  auto stmt = db_->Prepare("INSERT OR IGNORE INTO identities(account, device, public_key) VALUES (?, ?, ?)");
  if (!stmt) return ProtocolStorageFailed();
  if (!stmt->Text(1, address.name).Bind(2, address.device.value()).Blob(3, key.Serialize()).Run()) {
    return ProtocolStorageFailed();
  }
  return {};
}

ProtocolStatus ClientStore::ReplaceIdentity(const ProtocolAddress& address, const crypto::PublicKey& key) {
  auto stmt = db_->Prepare(
      "INSERT OR REPLACE INTO identities(account, device, public_key, verified) VALUES (?, ?, ?, 0)");
  if (!stmt) return ProtocolStorageFailed();
  if (!stmt->Text(1, address.name).Bind(2, address.device.value()).Blob(3, key.Serialize()).Run()) {
    return ProtocolStorageFailed();
  }
  return {};
}

ClientStoreResult<std::vector<KnownIdentity>> ClientStore::Identities(const AccountId& account) {
  CS_ASSIGN(
      stmt,
      db_->Prepare("SELECT device, public_key, verified FROM identities WHERE account = ? ORDER BY device"));
  stmt.Text(1, account.value().ToString());
  std::vector<KnownIdentity> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    auto key = crypto::PublicKey::Deserialize(stmt.ColumnBlob(1));
    if (!key) return Fail(ClientStoreErrc::kCorrupt, "a stored identity key is malformed");
    out.push_back({DeviceId(static_cast<std::uint32_t>(stmt.Int(0))), *key, stmt.Int(2) != 0});
  }
  return out;
}

ClientStoreStatus ClientStore::MarkIdentitiesVerified(const AccountId& account) {
  CS_ASSIGN(stmt, db_->Prepare("UPDATE identities SET verified = 1 WHERE account = ?"));
  return stmt.Text(1, account.value().ToString()).Run();
}

// ---- Prekeys ------------------------------------------------------------------

protocol::ProtocolResult<protocol::PreKeyRecord> ClientStore::LoadPreKey(PreKeyId id) const {
  auto stmt = db_->Prepare("SELECT private_key FROM prekeys WHERE id = ?");
  if (!stmt) return tl::unexpected(ProtocolStorageFailed().error());
  stmt->Bind(1, id.value());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(ProtocolStorageFailed().error());
  if (!*row) return Fail(ProtocolErrc::kInvalidKeyId, "no prekey with this id");
  auto key = crypto::PrivateKey::FromBytes(stmt->ColumnBlob(0));
  if (!key) return Fail(ProtocolErrc::kInvalidState, "a stored prekey is malformed");
  return protocol::PreKeyRecord{id, crypto::KeyPair::FromPrivate(std::move(*key))};
}

protocol::ProtocolStatus ClientStore::StorePreKey(protocol::PreKeyRecord record) {
  auto stmt = db_->Prepare("INSERT OR REPLACE INTO prekeys(id, private_key) VALUES (?, ?)");
  if (!stmt || !stmt->Bind(1, record.id.value()).Blob(2, record.key_pair.private_key.bytes().bytes()).Run()) {
    return ProtocolStorageFailed();
  }
  return {};
}

bool ClientStore::ContainsPreKey(PreKeyId id) const {
  auto stmt = db_->Prepare("SELECT 1 FROM prekeys WHERE id = ?");
  if (!stmt) return false;
  stmt->Bind(1, id.value());
  auto row = stmt->Step();
  return row && *row;
}

protocol::ProtocolStatus ClientStore::RemovePreKey(PreKeyId id) {
  auto stmt = db_->Prepare("DELETE FROM prekeys WHERE id = ?");
  if (!stmt || !stmt->Bind(1, id.value()).Run()) return ProtocolStorageFailed();
  return {};
}

protocol::ProtocolResult<protocol::SignedPreKeyRecord> ClientStore::LoadSignedPreKey(
    SignedPreKeyId id) const {
  auto stmt = db_->Prepare("SELECT private_key, signature, created_ms FROM signed_prekeys WHERE id = ?");
  if (!stmt) return tl::unexpected(ProtocolStorageFailed().error());
  stmt->Bind(1, id.value());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(ProtocolStorageFailed().error());
  if (!*row) return Fail(ProtocolErrc::kInvalidKeyId, "no signed prekey with this id");
  auto key = crypto::PrivateKey::FromBytes(stmt->ColumnBlob(0));
  const Bytes signature = stmt->ColumnBlob(1);
  if (!key || signature.size() != crypto::Signature{}.size()) {
    return Fail(ProtocolErrc::kInvalidState, "a stored signed prekey is malformed");
  }
  protocol::SignedPreKeyRecord record;
  record.id = id;
  record.key_pair = crypto::KeyPair::FromPrivate(std::move(*key));
  std::copy(signature.begin(), signature.end(), record.signature.begin());
  record.timestamp_millis = stmt->Int(2);
  return record;
}

protocol::ProtocolStatus ClientStore::StoreSignedPreKey(protocol::SignedPreKeyRecord record) {
  auto stmt = db_->Prepare(
      "INSERT OR REPLACE INTO signed_prekeys(id, private_key, signature, created_ms) VALUES (?, ?, ?, ?)");
  if (!stmt || !stmt->Bind(1, record.id.value())
                    .Blob(2, record.key_pair.private_key.bytes().bytes())
                    .Blob(3, record.signature)
                    .Bind(4, record.timestamp_millis)
                    .Run()) {
    return ProtocolStorageFailed();
  }
  return {};
}

bool ClientStore::ContainsSignedPreKey(SignedPreKeyId id) const {
  auto stmt = db_->Prepare("SELECT 1 FROM signed_prekeys WHERE id = ?");
  if (!stmt) return false;
  stmt->Bind(1, id.value());
  auto row = stmt->Step();
  return row && *row;
}

protocol::ProtocolStatus ClientStore::RemoveSignedPreKey(SignedPreKeyId id) {
  auto stmt = db_->Prepare("DELETE FROM signed_prekeys WHERE id = ?");
  if (!stmt || !stmt->Bind(1, id.value()).Run()) return ProtocolStorageFailed();
  return {};
}

ClientStoreResult<std::vector<SignedPreKeyId>> ClientStore::SignedPreKeysOlderThan(std::int64_t before_ms,
                                                                                   SignedPreKeyId keep) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT id FROM signed_prekeys WHERE created_ms < ? AND id != ?"));
  stmt.Bind(1, before_ms).Bind(2, keep.value());
  std::vector<SignedPreKeyId> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    out.emplace_back(static_cast<std::uint32_t>(stmt.Int(0)));
  }
  return out;
}

// ---- Sessions -----------------------------------------------------------------

protocol::SessionRecord* ClientStore::LoadSession(const ProtocolAddress& address) {
  if (auto it = sessions_.find(address); it != sessions_.end()) return &it->second;
  auto stmt = db_->Prepare("SELECT record FROM sessions WHERE account = ? AND device = ?");
  if (!stmt) return nullptr;
  stmt->Text(1, address.name).Bind(2, address.device.value());
  auto row = stmt->Step();
  if (!row || !*row) return nullptr;
  auto record = protocol::SessionRecord::Deserialize(stmt->ColumnBlob(0));
  if (!record) return nullptr;
  return &sessions_.insert_or_assign(address, std::move(*record)).first->second;
}

protocol::ProtocolStatus ClientStore::StoreSession(const ProtocolAddress& address,
                                                   protocol::SessionRecord record) {
  sessions_.insert_or_assign(address, std::move(record));
  return SessionUpdated(address);
}

protocol::ProtocolStatus ClientStore::SessionUpdated(const ProtocolAddress& address) {
  auto it = sessions_.find(address);
  if (it == sessions_.end()) return Fail(ProtocolErrc::kInvalidState, "no loaded session record to persist");
  if (in_batch_) {
    // Written by CommitBatch, in the commit that makes the messages durable.
    unwritten_sessions_.insert(address);
    sessions_changed_ = true;
    return {};
  }
  SecretBuffer bytes(it->second.Serialize());
  auto stmt = db_->Prepare("INSERT OR REPLACE INTO sessions(account, device, record) VALUES (?, ?, ?)");
  if (!stmt || !stmt->Text(1, address.name).Bind(2, address.device.value()).Blob(3, bytes.bytes()).Run()) {
    sessions_.erase(it);
    return ProtocolStorageFailed();
  }
  return {};
}

ClientStoreStatus ClientStore::FlushSessions() {
  for (const ProtocolAddress& address : unwritten_sessions_) {
    auto it = sessions_.find(address);
    if (it == sessions_.end()) continue;
    SecretBuffer bytes(it->second.Serialize());
    CS_ASSIGN(stmt,
              db_->Prepare("INSERT OR REPLACE INTO sessions(account, device, record) VALUES (?, ?, ?)"));
    CS_TRY(stmt.Text(1, address.name).Bind(2, address.device.value()).Blob(3, bytes.bytes()).Run());
  }
  unwritten_sessions_.clear();
  return {};
}

protocol::ProtocolStatus ClientStore::DeleteSession(const ProtocolAddress& address) {
  sessions_.erase(address);
  if (unwritten_sessions_.erase(address) > 0) sessions_changed_ = true;
  auto stmt = db_->Prepare("DELETE FROM sessions WHERE account = ? AND device = ?");
  if (!stmt || !stmt->Text(1, address.name).Bind(2, address.device.value()).Run()) {
    return ProtocolStorageFailed();
  }
  return {};
}

ClientStoreResult<std::vector<DeviceId>> ClientStore::SessionDevices(const AccountId& account) {
  CS_TRY(FlushSessions());
  CS_ASSIGN(stmt, db_->Prepare("SELECT device FROM sessions WHERE account = ? ORDER BY device"));
  stmt.Text(1, account.value().ToString());
  std::vector<DeviceId> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    out.emplace_back(static_cast<std::uint32_t>(stmt.Int(0)));
  }
  return out;
}

// ---- Sender keys --------------------------------------------------------------

protocol::ProtocolResult<std::optional<protocol::SenderKeyRecord>> ClientStore::LoadSenderKey(
    const protocol::SenderKeyName& name) {
  auto stmt =
      db_->Prepare("SELECT record FROM sender_keys WHERE group_id = ? AND account = ? AND device = ?");
  if (!stmt) return tl::unexpected(ProtocolStorageFailed().error());
  stmt->Text(1, name.group_id).Text(2, name.sender.name).Bind(3, name.sender.device.value());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(ProtocolStorageFailed().error());
  if (!*row) return std::optional<protocol::SenderKeyRecord>();
  auto record = protocol::SenderKeyRecord::Deserialize(stmt->ColumnBlob(0));
  if (!record) return tl::unexpected(record.error());
  return std::optional<protocol::SenderKeyRecord>(std::move(*record));
}

protocol::ProtocolResult<void> ClientStore::StoreSenderKey(const protocol::SenderKeyName& name,
                                                           const protocol::SenderKeyRecord& record) {
  SecretBuffer bytes = record.Serialize();
  auto stmt = db_->Prepare(
      "INSERT OR REPLACE INTO sender_keys(group_id, account, device, record) VALUES (?, ?, ?, ?)");
  if (!stmt || !stmt->Text(1, name.group_id)
                    .Text(2, name.sender.name)
                    .Bind(3, name.sender.device.value())
                    .Blob(4, bytes.bytes())
                    .Run()) {
    return ProtocolStorageFailed();
  }
  return {};
}

ClientStoreStatus ClientStore::DeleteSenderKey(const protocol::SenderKeyName& name) {
  CS_ASSIGN(stmt, db_->Prepare("DELETE FROM sender_keys WHERE group_id = ? AND account = ? AND device = ?"));
  return stmt.Text(1, name.group_id).Text(2, name.sender.name).Bind(3, name.sender.device.value()).Run();
}

// ---- Groups -------------------------------------------------------------------

ConversationId GroupConversation(const GroupId& id) { return "group:" + ToHex(id); }

std::optional<GroupId> GroupIdOf(std::string_view conversation) {
  constexpr std::string_view kPrefix = "group:";
  if (conversation.size() != kPrefix.size() + 32 || conversation.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  auto bytes = FromHex(conversation.substr(kPrefix.size()));
  if (!bytes || bytes->size() != 16) return std::nullopt;
  GroupId id{};
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

ClientStoreStatus ClientStore::SaveGroup(const Group& group) {
  const std::string id = ToHex(group.id);
  {
    if (group.version > static_cast<std::uint64_t>(INT64_MAX)) {
      return Fail(ClientStoreErrc::kInvalidArgument, "a group version the client store cannot hold");
    }
    CS_ASSIGN(stmt, db_->Prepare("INSERT OR REPLACE INTO groups(id, name, active, request, key_distributed, "
                                 "version, version_author) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    CS_TRY(stmt.Text(1, id)
               .Text(2, group.name)
               .Bind(3, group.active ? 1 : 0)
               .Bind(4, group.request ? 1 : 0)
               .Bind(5, group.key_distributed ? 1 : 0)
               .Bind(6, static_cast<std::int64_t>(group.version))
               .Text(7, group.version_author ? group.version_author->value().ToString() : std::string())
               .Run());
  }
  {
    CS_ASSIGN(stmt, db_->Prepare("DELETE FROM group_members WHERE group_id = ?"));
    CS_TRY(stmt.Text(1, id).Run());
  }
  std::int64_t position = 0;
  for (const AccountId& member : group.members) {
    const bool admin = std::find(group.admins.begin(), group.admins.end(), member) != group.admins.end();
    CS_ASSIGN(stmt, db_->Prepare("INSERT OR REPLACE INTO group_members(group_id, account, position, admin) "
                                 "VALUES (?, ?, ?, ?)"));
    CS_TRY(
        stmt.Text(1, id).Text(2, member.value().ToString()).Bind(3, position++).Bind(4, admin ? 1 : 0).Run());
  }
  return {};
}

ClientStoreStatus ClientStore::ReadGroupMembers(Group& group) {
  CS_ASSIGN(stmt,
            db_->Prepare("SELECT account, admin FROM group_members WHERE group_id = ? ORDER BY position"));
  stmt.Text(1, ToHex(group.id));
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    auto uuid = Uuid::Parse(stmt.ColumnText(0));
    if (!uuid) return Fail(ClientStoreErrc::kCorrupt, "a stored group member is malformed");
    group.members.emplace_back(*uuid);
    if (stmt.Int(1) != 0) group.admins.emplace_back(*uuid);
  }
  return {};
}

namespace {

ClientStoreResult<Group> ReadGroup(const Statement& stmt) {
  Group g;
  auto id = FromHex(stmt.ColumnText(0));
  if (!id || id->size() != g.id.size())
    return Fail(ClientStoreErrc::kCorrupt, "a stored group id is malformed");
  std::copy(id->begin(), id->end(), g.id.begin());
  g.name = stmt.ColumnText(1);
  g.active = stmt.Int(2) != 0;
  g.request = stmt.Int(3) != 0;
  g.key_distributed = stmt.Int(4) != 0;
  if (stmt.Int(5) < 0) return Fail(ClientStoreErrc::kCorrupt, "a stored group version is negative");
  g.version = static_cast<std::uint64_t>(stmt.Int(5));
  if (const std::string author = stmt.ColumnText(6); !author.empty()) {
    auto uuid = Uuid::Parse(author);
    if (!uuid) return Fail(ClientStoreErrc::kCorrupt, "a stored group version author is malformed");
    g.version_author = AccountId(*uuid);
  }
  return g;
}

}  // namespace

ClientStoreResult<std::optional<Group>> ClientStore::FindGroup(const GroupId& id) {
  std::optional<Group> found;
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT id, name, active, request, key_distributed, version, version_author "
                                 "FROM groups WHERE id = ?"));
    stmt.Text(1, ToHex(id));
    CS_ASSIGN(row, stmt.Step());
    if (!row) return found;
    CS_ASSIGN(g, ReadGroup(stmt));
    found = std::move(g);
  }
  CS_TRY(ReadGroupMembers(*found));
  return found;
}

ClientStoreResult<std::vector<Group>> ClientStore::ListGroups() {
  std::vector<Group> out;
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT id, name, active, request, key_distributed, version, version_author "
                                 "FROM groups ORDER BY name"));
    for (;;) {
      CS_ASSIGN(row, stmt.Step());
      if (!row) break;
      CS_ASSIGN(g, ReadGroup(stmt));
      out.push_back(std::move(g));
    }
  }
  for (Group& g : out) CS_TRY(ReadGroupMembers(g));
  return out;
}

ClientStoreStatus ClientStore::SaveGroupChange(const GroupId& group, const StoredGroupChange& change) {
  if (change.version > static_cast<std::uint64_t>(INT64_MAX)) {
    return Fail(ClientStoreErrc::kInvalidArgument, "a group version the client store cannot hold");
  }
  CS_ASSIGN(
      stmt,
      db_->Prepare("INSERT OR REPLACE INTO group_changes(group_id, version, author, device, ops, signature) "
                   "VALUES (?, ?, ?, ?, ?, ?)"));
  stmt.Text(1, ToHex(group))
      .Bind(2, static_cast<std::int64_t>(change.version))
      .Text(3, change.author.value().ToString())
      .Bind(4, static_cast<std::int64_t>(change.device))
      .Blob(5, change.ops)
      .BlobOrNull(6, change.signature);
  return stmt.Run();
}

namespace {
// A stored change's version, author, device, ops and signature, in five columns from `first`.
std::optional<StoredGroupChange> ReadStoredGroupChange(const Statement& stmt, int first) {
  auto author = Uuid::Parse(stmt.ColumnText(first + 1));
  const std::int64_t version = stmt.Int(first), device = stmt.Int(first + 2);
  if (version < 0 || !author || device < 0 || device > INT32_MAX) return std::nullopt;
  StoredGroupChange change;
  change.version = static_cast<std::uint64_t>(version);
  change.author = AccountId(*author);
  change.device = static_cast<std::uint32_t>(device);
  const Bytes ops = stmt.ColumnBlob(first + 3);
  change.ops.assign(ops.begin(), ops.end());
  const Bytes signature = stmt.ColumnBlob(first + 4);
  change.signature.assign(signature.begin(), signature.end());
  return change;
}
}  // namespace

ClientStoreResult<std::vector<StoredGroupChange>> ClientStore::GroupChanges(const GroupId& group) {
  std::vector<StoredGroupChange> out;
  CS_ASSIGN(stmt, db_->Prepare(
                      "SELECT version, author, device, ops, signature FROM group_changes WHERE group_id = ? "
                      "ORDER BY version, author, device"));
  stmt.Text(1, ToHex(group));
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    auto change = ReadStoredGroupChange(stmt, 0);
    if (!change) return Fail(ClientStoreErrc::kCorrupt, "a stored group change is malformed");
    out.push_back(std::move(*change));
  }
  return out;
}

ClientStoreResult<std::int64_t> ClientStore::AddPendingGroupChanges(const GroupId& group,
                                                                    const PendingGroupChanges& pending) {
  std::int64_t arrival = pending.arrival;
  if (arrival == 0) {
    CS_ASSIGN(stmt, db_->Prepare("SELECT COALESCE(MAX(arrival), 0) + 1 FROM group_pending"));
    CS_ASSIGN(row, stmt.Step());
    if (!row) return Fail(ClientStoreErrc::kInternal, "no next arrival of pending group changes");
    arrival = stmt.Int(0);
  }
  for (const StoredGroupChange& change : pending.changes) {
    if (change.version > static_cast<std::uint64_t>(INT64_MAX)) {
      return Fail(ClientStoreErrc::kInvalidArgument, "a group version the client store cannot hold");
    }
    CS_ASSIGN(stmt,
              db_->Prepare("INSERT INTO group_pending(group_id, arrival, sender, sender_device, version, "
                           "author, device, ops, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    stmt.Text(1, ToHex(group))
        .Bind(2, arrival)
        .Text(3, pending.sender.value().ToString())
        .Bind(4, static_cast<std::int64_t>(pending.sender_device))
        .Bind(5, static_cast<std::int64_t>(change.version))
        .Text(6, change.author.value().ToString())
        .Bind(7, static_cast<std::int64_t>(change.device))
        .Blob(8, change.ops)
        .BlobOrNull(9, change.signature);
    CS_TRY(stmt.Run());
  }
  return arrival;
}

ClientStoreResult<std::vector<PendingGroupChanges>> ClientStore::PendingGroupChangesOf(const GroupId& group) {
  std::vector<PendingGroupChanges> out;
  CS_ASSIGN(stmt, db_->Prepare("SELECT arrival, sender, sender_device, version, author, device, ops, "
                               "signature FROM group_pending WHERE group_id = ? ORDER BY arrival, seq"));
  stmt.Text(1, ToHex(group));
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    auto sender = Uuid::Parse(stmt.ColumnText(1));
    auto change = ReadStoredGroupChange(stmt, 3);
    if (!sender || !change || stmt.Int(2) < 0 || stmt.Int(2) > INT32_MAX) {
      return Fail(ClientStoreErrc::kCorrupt, "a pending group change is malformed");
    }
    const std::int64_t arrival = stmt.Int(0);
    if (out.empty() || out.back().arrival != arrival) {
      out.push_back(
          PendingGroupChanges{arrival, AccountId(*sender), static_cast<std::uint32_t>(stmt.Int(2)), {}});
    }
    out.back().changes.push_back(std::move(*change));
  }
  return out;
}

ClientStoreStatus ClientStore::DeletePendingGroupChanges(const GroupId& group, std::int64_t arrival) {
  CS_ASSIGN(stmt, db_->Prepare("DELETE FROM group_pending WHERE group_id = ? AND arrival = ?"));
  return stmt.Text(1, ToHex(group)).Bind(2, arrival).Run();
}

// The size a pending row counts for (a literal: statements are cached by their text's address).
#define PARLEY_PENDING_ROW_BYTES "(length(ops) + COALESCE(length(signature), 0))"

ClientStoreResult<std::size_t> ClientStore::KeepPendingGroupChanges(const GroupId& group,
                                                                    const PendingGroupChanges& pending,
                                                                    const PendingGroupLimits& limits) {
  if (pending.changes.empty()) return std::size_t{0};
  const std::string group_hex = ToHex(group);
  const std::string sender = pending.sender.value().ToString();
  std::int64_t first_new = 0;
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT COALESCE(MAX(seq), 0) FROM group_pending"));
    CS_ASSIGN(row, stmt.Step());
    if (!row) return Fail(ClientStoreErrc::kInternal, "no last pending group change");
    first_new = stmt.Int(0) + 1;
  }
  PendingGroupChanges fresh = pending;
  fresh.arrival = 0;
  CS_TRY(AddPendingGroupChanges(group, fresh));
  auto remove = [&](const std::vector<std::int64_t>& seqs) -> ClientStoreStatus {
    for (std::int64_t seq : seqs) {
      CS_ASSIGN(stmt, db_->Prepare("DELETE FROM group_pending WHERE seq = ?"));
      CS_TRY(stmt.Bind(1, seq).Run());
    }
    return {};
  };

  // The sender's own: its newest changes for this group, within its share.
  {
    std::vector<std::int64_t> over;
    {
      CS_ASSIGN(stmt, db_->Prepare("SELECT seq, " PARLEY_PENDING_ROW_BYTES
                                   " FROM group_pending WHERE group_id = ? AND sender = ? "
                                   "ORDER BY arrival DESC, seq DESC"));
      stmt.Text(1, group_hex).Text(2, sender);
      std::size_t count = 0;
      std::int64_t bytes = 0;
      for (;;) {
        CS_ASSIGN(row, stmt.Step());
        if (!row) break;
        ++count;
        bytes += stmt.Int(1);
        if (count > limits.changes_per_sender || bytes > static_cast<std::int64_t>(limits.bytes_per_sender)) {
          over.push_back(stmt.Int(0));
        }
      }
    }
    CS_TRY(remove(over));
  }
  // The sender's own unknown groups: its newest ones, within its share.
  bool unknown = false;
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT NOT EXISTS (SELECT 1 FROM groups WHERE id = ?)"));
    stmt.Text(1, group_hex);
    CS_ASSIGN(row, stmt.Step());
    unknown = row && stmt.Int(0) != 0;
  }
  if (unknown) {
    std::vector<std::string> dropped;
    {
      CS_ASSIGN(stmt, db_->Prepare("SELECT group_id FROM group_pending WHERE sender = ? AND group_id NOT IN "
                                   "(SELECT id FROM groups) GROUP BY group_id ORDER BY MAX(arrival) DESC"));
      stmt.Text(1, sender);
      std::size_t groups = 0;
      for (;;) {
        CS_ASSIGN(row, stmt.Step());
        if (!row) break;
        if (++groups > limits.unknown_groups_per_sender) dropped.push_back(stmt.ColumnText(0));
      }
    }
    for (const std::string& g : dropped) {
      CS_ASSIGN(stmt, db_->Prepare("DELETE FROM group_pending WHERE group_id = ? AND sender = ?"));
      CS_TRY(stmt.Text(1, g).Text(2, sender).Run());
    }
  }

  // What is left of the arrival, newest first: what does not fit goes.
  std::vector<std::pair<std::int64_t, std::int64_t>> arrived;  // seq, bytes
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT seq, " PARLEY_PENDING_ROW_BYTES
                                 " FROM group_pending WHERE group_id = ? AND seq >= ? ORDER BY seq DESC"));
    stmt.Text(1, group_hex).Bind(2, first_new);
    for (;;) {
      CS_ASSIGN(row, stmt.Step());
      if (!row) break;
      arrived.emplace_back(stmt.Int(0), stmt.Int(1));
    }
  }
  std::int64_t group_count = 0, group_bytes = 0, all_bytes = 0, unknown_groups = 0;
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT COUNT(*), COALESCE(SUM(" PARLEY_PENDING_ROW_BYTES
                                 "), 0) FROM group_pending WHERE group_id = ?"));
    stmt.Text(1, group_hex);
    CS_ASSIGN(row, stmt.Step());
    if (!row) return Fail(ClientStoreErrc::kInternal, "no size of the pending group changes");
    group_count = stmt.Int(0);
    group_bytes = stmt.Int(1);
  }
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT COALESCE(SUM(" PARLEY_PENDING_ROW_BYTES
                                 "), 0), (SELECT COUNT(DISTINCT group_id) FROM group_pending WHERE group_id "
                                 "NOT IN (SELECT id FROM groups)) FROM group_pending"));
    CS_ASSIGN(row, stmt.Step());
    if (!row) return Fail(ClientStoreErrc::kInternal, "no size of the pending group changes");
    all_bytes = stmt.Int(0);
    unknown_groups = stmt.Int(1);
  }
  // A group the store does not hold, past the count of such groups, and new
  // here: none of the arrival is kept.
  const bool group_is_new = group_count == static_cast<std::int64_t>(arrived.size());
  const bool refuse_all =
      unknown && group_is_new && unknown_groups > static_cast<std::int64_t>(limits.unknown_groups);
  std::vector<std::int64_t> over;
  for (const auto& [seq, bytes] : arrived) {
    if (!refuse_all && group_count <= static_cast<std::int64_t>(limits.changes_per_group) &&
        group_bytes <= static_cast<std::int64_t>(limits.bytes_per_group) &&
        all_bytes <= static_cast<std::int64_t>(limits.bytes_in_all)) {
      break;
    }
    over.push_back(seq);
    --group_count;
    group_bytes -= bytes;
    all_bytes -= bytes;
  }
  CS_TRY(remove(over));
  return arrived.size() - over.size();
}

ClientStoreResult<std::int64_t> ClientStore::PendingGroupBytes(const std::optional<GroupId>& group) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT COALESCE(SUM(" PARLEY_PENDING_ROW_BYTES
                               "), 0) FROM group_pending WHERE ?1 IS NULL OR group_id = ?1"));
  stmt.TextOrNull(1, group ? std::optional(ToHex(*group)) : std::nullopt);
  CS_ASSIGN(row, stmt.Step());
  if (!row) return Fail(ClientStoreErrc::kInternal, "no size of the pending group changes");
  return stmt.Int(0);
}
#undef PARLEY_PENDING_ROW_BYTES

ClientStoreResult<std::int64_t> ClientStore::CountPendingGroupChanges(const std::optional<GroupId>& group) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT COUNT(*) FROM group_pending "
                               "WHERE ?1 IS NULL OR group_id = ?1"));
  stmt.TextOrNull(1, group ? std::optional(ToHex(*group)) : std::nullopt);
  CS_ASSIGN(row, stmt.Step());
  if (!row) return Fail(ClientStoreErrc::kInternal, "no count of pending group changes");
  return stmt.Int(0);
}

// ---- Contacts -----------------------------------------------------------------

namespace {

constexpr const char* kContactColumns = "account, username, state, verified, identity_changed";

ClientStoreResult<Contact> ReadContact(const Statement& stmt) {
  auto uuid = Uuid::Parse(stmt.ColumnText(0));
  const std::int64_t state = stmt.Int(2);
  if (!uuid || state < 0 || state > 2)
    return Fail(ClientStoreErrc::kCorrupt, "a stored contact is malformed");
  Contact c;
  c.account = AccountId(*uuid);
  c.username = stmt.ColumnText(1);
  c.state = static_cast<ContactState>(state);
  c.verified = stmt.Int(3) != 0;
  c.identity_changed = stmt.Int(4) != 0;
  return c;
}

}  // namespace

ClientStoreResult<std::optional<Contact>> ClientStore::FindContact(const AccountId& account) {
  static const std::string sql =
      std::string("SELECT ") + kContactColumns + " FROM contacts WHERE account = ?";
  CS_ASSIGN(stmt, db_->Prepare(sql.c_str()));
  stmt.Text(1, account.value().ToString());
  CS_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<Contact>();
  CS_ASSIGN(contact, ReadContact(stmt));
  return std::optional<Contact>(std::move(contact));
}

ClientStoreResult<std::optional<Contact>> ClientStore::FindContactByUsername(std::string_view username) {
  static const std::string sql =
      std::string("SELECT ") + kContactColumns + " FROM contacts WHERE username_lower = ? LIMIT 1";
  CS_ASSIGN(stmt, db_->Prepare(sql.c_str()));
  stmt.Text(1, Lower(username));
  CS_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<Contact>();
  CS_ASSIGN(contact, ReadContact(stmt));
  return std::optional<Contact>(std::move(contact));
}

ClientStoreStatus ClientStore::SaveContact(const Contact& contact) {
  CS_ASSIGN(stmt, db_->Prepare("INSERT OR REPLACE INTO contacts(account, username, username_lower, state, "
                               "verified, identity_changed) VALUES (?, ?, ?, ?, ?, ?)"));
  return stmt.Text(1, contact.account.value().ToString())
      .Text(2, contact.username)
      .Text(3, Lower(contact.username))
      .Bind(4, static_cast<std::int64_t>(contact.state))
      .Bind(5, contact.verified ? 1 : 0)
      .Bind(6, contact.identity_changed ? 1 : 0)
      .Run();
}

ClientStoreResult<std::vector<Contact>> ClientStore::ListContacts(std::optional<ContactState> state) {
  static const std::string all =
      std::string("SELECT ") + kContactColumns + " FROM contacts ORDER BY username_lower";
  static const std::string by_state =
      std::string("SELECT ") + kContactColumns + " FROM contacts WHERE state = ? ORDER BY username_lower";
  CS_ASSIGN(stmt, db_->Prepare(state ? by_state.c_str() : all.c_str()));
  if (state) stmt.Bind(1, static_cast<std::int64_t>(*state));
  std::vector<Contact> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    CS_ASSIGN(contact, ReadContact(stmt));
    out.push_back(std::move(contact));
  }
  return out;
}

// ---- Messages -----------------------------------------------------------------

namespace {

constexpr const char* kMessageColumns =
    "id, conversation, direction, sender, sender_device, sent_ms, received_ms, body, status, quote, edited, "
    "deleted, expires_ms, request";

ClientStoreResult<StoredMessage> ReadMessage(const Statement& stmt) {
  StoredMessage m;
  const Bytes id = stmt.ColumnBlob(0);
  auto sender = Uuid::Parse(stmt.ColumnText(3));
  const std::int64_t direction = stmt.Int(2);
  const std::int64_t status = stmt.Int(8);
  if (id.size() != m.id.size() || !sender || direction < 0 || direction > 1 || status < 0 || status > 6) {
    return Fail(ClientStoreErrc::kCorrupt, "a stored message is malformed");
  }
  std::copy(id.begin(), id.end(), m.id.begin());
  m.conversation = stmt.ColumnText(1);
  m.direction = static_cast<Direction>(direction);
  m.sender = AccountId(*sender);
  m.sender_device = DeviceId(static_cast<std::uint32_t>(stmt.Int(4)));
  m.sent_at_ms = stmt.Int(5);
  m.received_at_ms = stmt.Int(6);
  m.body = stmt.ColumnText(7);
  m.status = static_cast<MessageStatus>(status);
  if (!stmt.IsNull(9)) {
    const Bytes quote = stmt.ColumnBlob(9);
    if (quote.size() != 16) return Fail(ClientStoreErrc::kCorrupt, "a stored quote is malformed");
    MessageId q{};
    std::copy(quote.begin(), quote.end(), q.begin());
    m.quote = q;
  }
  m.edited = stmt.Int(10) != 0;
  m.deleted = stmt.Int(11) != 0;
  m.expires_at_ms = stmt.Int(12);
  m.request = stmt.Int(13) != 0;
  return m;
}

}  // namespace

ClientStoreResult<bool> ClientStore::InsertMessage(const StoredMessage& m) {
  CS_ASSIGN(stmt, db_->Prepare("INSERT OR IGNORE INTO messages(id, conversation, direction, sender, "
                               "sender_device, sent_ms, received_ms, body, status, quote, edited, deleted, "
                               "expires_ms, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  stmt.Blob(1, m.id)
      .Text(2, m.conversation)
      .Bind(3, static_cast<std::int64_t>(m.direction))
      .Text(4, m.sender.value().ToString())
      .Bind(5, m.sender_device.value())
      .Bind(6, m.sent_at_ms)
      .Bind(7, m.received_at_ms)
      .Text(8, m.body)
      .Bind(9, static_cast<std::int64_t>(m.status));
  if (m.quote) {
    stmt.Blob(10, *m.quote);
  } else {
    stmt.Null(10);
  }
  stmt.Bind(11, m.edited ? 1 : 0)
      .Bind(12, m.deleted ? 1 : 0)
      .Bind(13, m.expires_at_ms)
      .Bind(14, m.request ? 1 : 0);
  CS_TRY(stmt.Run());
  return db_->changes() == 1;
}

ClientStoreResult<std::vector<Reaction>> ClientStore::Reactions(const MessageId& id) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT account, emoji FROM reactions WHERE message = ? ORDER BY account"));
  stmt.Blob(1, id);
  std::vector<Reaction> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    auto uuid = Uuid::Parse(stmt.ColumnText(0));
    if (!uuid) return Fail(ClientStoreErrc::kCorrupt, "a stored reaction is malformed");
    out.push_back({AccountId(*uuid), stmt.ColumnText(1)});
  }
  return out;
}

ClientStoreResult<std::optional<StoredMessage>> ClientStore::FindMessage(const MessageId& id) {
  static const std::string sql = std::string("SELECT ") + kMessageColumns + " FROM messages WHERE id = ?";
  std::optional<StoredMessage> found;
  {
    CS_ASSIGN(stmt, db_->Prepare(sql.c_str()));
    stmt.Blob(1, id);
    CS_ASSIGN(row, stmt.Step());
    if (!row) return found;
    CS_ASSIGN(message, ReadMessage(stmt));
    found = std::move(message);
  }
  CS_ASSIGN(reactions, Reactions(id));
  found->reactions = std::move(reactions);
  return found;
}

ClientStoreStatus ClientStore::UpdateStatus(const MessageId& id, MessageStatus status) {
  // Outgoing statuses only move forward: a late "sent" never hides "read".
  CS_ASSIGN(stmt,
            db_->Prepare("UPDATE messages SET status = ?1 WHERE id = ?2 AND (direction = 0 OR status < ?1 "
                         "OR status = 2)"));
  return stmt.Bind(1, static_cast<std::int64_t>(status)).Blob(2, id).Run();
}

ClientStoreResult<bool> ClientStore::SetReceipt(const MessageId& id, const AccountId& from,
                                                MessageStatus status, std::int64_t at_ms) {
  if (status != MessageStatus::kSent && status != MessageStatus::kDelivered &&
      status != MessageStatus::kRead) {
    return Fail(ClientStoreErrc::kInvalidArgument, "a receipt is sent, delivered or read");
  }
  // A member's receipt only moves forward: a late "delivered" never hides "read".
  {
    CS_ASSIGN(stmt, db_->Prepare("UPDATE receipts SET status = ?1, at_ms = ?2 WHERE message = ?3 AND "
                                 "account = ?4 AND status < ?1"));
    CS_TRY(stmt.Bind(1, static_cast<std::int64_t>(status))
               .Bind(2, at_ms)
               .Blob(3, id)
               .Text(4, from.value().ToString())
               .Run());
    if (db_->changes() == 1) return true;
  }
  CS_ASSIGN(stmt, db_->Prepare(
                      "INSERT OR IGNORE INTO receipts(message, account, status, at_ms) VALUES (?, ?, ?, ?)"));
  CS_TRY(stmt.Blob(1, id)
             .Text(2, from.value().ToString())
             .Bind(3, static_cast<std::int64_t>(status))
             .Bind(4, at_ms)
             .Run());
  return db_->changes() == 1;
}

ClientStoreResult<std::vector<MessageReceipt>> ClientStore::Receipts(const MessageId& id) {
  CS_ASSIGN(stmt,
            db_->Prepare("SELECT account, status, at_ms FROM receipts WHERE message = ? ORDER BY account"));
  stmt.Blob(1, id);
  std::vector<MessageReceipt> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    auto uuid = Uuid::Parse(stmt.ColumnText(0));
    const std::int64_t status = stmt.Int(1);
    if (!uuid || (status != static_cast<std::int64_t>(MessageStatus::kSent) &&
                  status != static_cast<std::int64_t>(MessageStatus::kDelivered) &&
                  status != static_cast<std::int64_t>(MessageStatus::kRead))) {
      return Fail(ClientStoreErrc::kCorrupt, "a stored receipt is malformed");
    }
    out.push_back({AccountId(*uuid), static_cast<MessageStatus>(status), stmt.Int(2)});
  }
  return out;
}

ClientStoreStatus ClientStore::EditMessage(const MessageId& id, std::string_view body) {
  CS_ASSIGN(stmt, db_->Prepare("UPDATE messages SET body = ?, edited = 1 WHERE id = ? AND deleted = 0"));
  return stmt.Text(1, body).Blob(2, id).Run();
}

ClientStoreStatus ClientStore::DeleteMessageForEveryone(const MessageId& id) {
  {
    CS_ASSIGN(stmt, db_->Prepare("UPDATE messages SET body = '', deleted = 1 WHERE id = ?"));
    CS_TRY(stmt.Blob(1, id).Run());
  }
  {
    CS_ASSIGN(stmt, db_->Prepare("DELETE FROM attachments WHERE message = ?"));
    CS_TRY(stmt.Blob(1, id).Run());
  }
  CS_ASSIGN(stmt, db_->Prepare("DELETE FROM reactions WHERE message = ?"));
  return stmt.Blob(1, id).Run();
}

ClientStoreStatus ClientStore::SetReaction(const MessageId& id, const AccountId& from,
                                           std::string_view emoji) {
  if (emoji.empty()) {
    CS_ASSIGN(stmt, db_->Prepare("DELETE FROM reactions WHERE message = ? AND account = ?"));
    return stmt.Blob(1, id).Text(2, from.value().ToString()).Run();
  }
  CS_ASSIGN(stmt, db_->Prepare("INSERT OR REPLACE INTO reactions(message, account, emoji) VALUES (?, ?, ?)"));
  return stmt.Blob(1, id).Text(2, from.value().ToString()).Text(3, emoji).Run();
}

ClientStoreResult<std::vector<StoredMessage>> ClientStore::History(const ConversationId& conversation,
                                                                   std::size_t limit) {
  static const std::string sql = std::string("SELECT ") + kMessageColumns +
                                 " FROM messages WHERE conversation = ? ORDER BY seq DESC LIMIT ?";
  std::vector<StoredMessage> out;
  {
    CS_ASSIGN(stmt, db_->Prepare(sql.c_str()));
    stmt.Text(1, conversation).Bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, 1'000'000)));
    for (;;) {
      CS_ASSIGN(row, stmt.Step());
      if (!row) break;
      CS_ASSIGN(message, ReadMessage(stmt));
      out.push_back(std::move(message));
    }
  }
  std::reverse(out.begin(), out.end());
  for (StoredMessage& m : out) {
    CS_ASSIGN(reactions, Reactions(m.id));
    m.reactions = std::move(reactions);
  }
  return out;
}

ClientStoreResult<std::vector<Conversation>> ClientStore::Conversations() {
  CS_ASSIGN(stmt, db_->Prepare(
                      "SELECT m.conversation, MAX(m.received_ms), SUM(m.direction = 0 AND m.status = 5), "
                      "MAX(m.request), COALESCE(c.username, g.name, ''), COALESCE(v.disappearing_seconds, 0) "
                      "FROM messages m LEFT JOIN contacts c ON c.account = m.conversation "
                      "LEFT JOIN groups g ON 'group:' || g.id = m.conversation "
                      "LEFT JOIN conversations v ON v.id = m.conversation "
                      "GROUP BY m.conversation ORDER BY MAX(m.seq) DESC"));
  std::vector<Conversation> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    Conversation c;
    c.id = stmt.ColumnText(0);
    c.last_activity_ms = stmt.Int(1);
    c.unread = stmt.Int(2);
    c.request = stmt.Int(3) != 0;
    c.title = stmt.ColumnText(4);
    c.disappearing_seconds = static_cast<std::uint32_t>(stmt.Int(5));
    out.push_back(std::move(c));
  }
  return out;
}

ClientStoreResult<std::vector<MessageId>> ClientStore::MarkConversationRead(
    const ConversationId& conversation) {
  std::vector<MessageId> ids;
  {
    CS_ASSIGN(stmt, db_->Prepare("SELECT id FROM messages WHERE conversation = ? AND direction = 0 AND "
                                 "status = 5 ORDER BY seq"));
    stmt.Text(1, conversation);
    for (;;) {
      CS_ASSIGN(row, stmt.Step());
      if (!row) break;
      const Bytes id = stmt.ColumnBlob(0);
      if (id.size() != 16) return Fail(ClientStoreErrc::kCorrupt, "a stored message id is malformed");
      MessageId m{};
      std::copy(id.begin(), id.end(), m.begin());
      ids.push_back(m);
    }
  }
  CS_ASSIGN(stmt, db_->Prepare("UPDATE messages SET status = 6 WHERE conversation = ? AND direction = 0 AND "
                               "status = 5"));
  CS_TRY(stmt.Text(1, conversation).Run());
  return ids;
}

ClientStoreStatus ClientStore::SetConversationRequest(const ConversationId& conversation, bool request) {
  CS_ASSIGN(stmt, db_->Prepare("UPDATE messages SET request = ? WHERE conversation = ?"));
  return stmt.Bind(1, request ? 1 : 0).Text(2, conversation).Run();
}

ClientStoreResult<std::uint32_t> ClientStore::DisappearingSeconds(const ConversationId& conversation) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT disappearing_seconds FROM conversations WHERE id = ?"));
  stmt.Text(1, conversation);
  CS_ASSIGN(row, stmt.Step());
  return row ? static_cast<std::uint32_t>(stmt.Int(0)) : 0u;
}

ClientStoreStatus ClientStore::SetDisappearingSeconds(const ConversationId& conversation,
                                                      std::uint32_t seconds) {
  CS_ASSIGN(stmt,
            db_->Prepare("INSERT OR REPLACE INTO conversations(id, disappearing_seconds) VALUES (?, ?)"));
  return stmt.Text(1, conversation).Bind(2, seconds).Run();
}

ClientStoreResult<std::size_t> ClientStore::DeleteExpiredMessages(std::int64_t now_ms) {
  {
    CS_ASSIGN(stmt, db_->Prepare("DELETE FROM receipts WHERE message IN (SELECT id FROM messages WHERE "
                                 "expires_ms > 0 AND expires_ms <= ?)"));
    CS_TRY(stmt.Bind(1, now_ms).Run());
  }
  {
    CS_ASSIGN(stmt, db_->Prepare("DELETE FROM reactions WHERE message IN (SELECT id FROM messages WHERE "
                                 "expires_ms > 0 AND expires_ms <= ?)"));
    CS_TRY(stmt.Bind(1, now_ms).Run());
  }
  {
    CS_ASSIGN(stmt, db_->Prepare("DELETE FROM attachments WHERE message IN (SELECT id FROM messages WHERE "
                                 "expires_ms > 0 AND expires_ms <= ?)"));
    CS_TRY(stmt.Bind(1, now_ms).Run());
  }
  CS_ASSIGN(stmt, db_->Prepare("DELETE FROM messages WHERE expires_ms > 0 AND expires_ms <= ?"));
  CS_TRY(stmt.Bind(1, now_ms).Run());
  return static_cast<std::size_t>(db_->changes());
}

ClientStoreResult<std::vector<MessageId>> ClientStore::ExpiredMessages(std::int64_t now_ms,
                                                                       std::size_t limit) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT id FROM messages WHERE expires_ms > 0 AND expires_ms <= ? "
                               "ORDER BY expires_ms LIMIT ?"));
  stmt.Bind(1, now_ms).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<MessageId> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    const Bytes id = stmt.ColumnBlob(0);
    if (id.size() != MessageId().size())
      return Fail(ClientStoreErrc::kCorrupt, "a stored message id is malformed");
    MessageId m{};
    std::copy(id.begin(), id.end(), m.begin());
    out.push_back(m);
  }
  return out;
}

ClientStoreResult<std::optional<std::int64_t>> ClientStore::NextExpiry() {
  CS_ASSIGN(stmt, db_->Prepare("SELECT MIN(expires_ms) FROM messages WHERE expires_ms > 0"));
  CS_ASSIGN(row, stmt.Step());
  if (!row || stmt.IsNull(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt.Int(0));
}

ClientStoreStatus ClientStore::DeleteMessage(const MessageId& id) {
  for (const char* sql :
       {"DELETE FROM reactions WHERE message = ?", "DELETE FROM receipts WHERE message = ?"}) {
    CS_ASSIGN(stmt, db_->Prepare(sql));
    CS_TRY(stmt.Blob(1, id).Run());
  }
  {
    CS_ASSIGN(stmt, db_->Prepare("DELETE FROM attachments WHERE message = ?"));
    CS_TRY(stmt.Blob(1, id).Run());
  }
  CS_ASSIGN(stmt, db_->Prepare("DELETE FROM messages WHERE id = ?"));
  return stmt.Blob(1, id).Run();
}

// ---- Attachments -----------------------------------------------------------------

ClientStoreStatus ClientStore::SaveAttachment(const MessageId& message, Bytes pointer) {
  CS_ASSIGN(stmt, db_->Prepare("INSERT OR REPLACE INTO attachments(message, pointer) VALUES (?, ?)"));
  return stmt.Blob(1, message).Blob(2, pointer).Run();
}

ClientStoreResult<std::optional<StoredAttachment>> ClientStore::FindAttachment(const MessageId& message) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT pointer, path FROM attachments WHERE message = ?"));
  stmt.Blob(1, message);
  CS_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<StoredAttachment>();
  return std::optional<StoredAttachment>(
      StoredAttachment{SecretBuffer(stmt.ColumnBlob(0)), stmt.ColumnText(1)});
}

ClientStoreStatus ClientStore::SetAttachmentPath(const MessageId& message, std::string_view path) {
  {
    CS_ASSIGN(stmt, db_->Prepare("UPDATE attachments SET path = ? WHERE message = ?"));
    CS_TRY(stmt.Text(1, path).Blob(2, message).Run());
  }
  if (db_->changes() != 1) return Fail(ClientStoreErrc::kNotFound, "the message has no attachment");
  return {};
}

// ---- Owed receipts --------------------------------------------------------------

namespace {

std::string GroupColumn(const std::optional<GroupId>& group) { return group ? ToHex(*group) : std::string(); }

}  // namespace

ClientStoreStatus ClientStore::AllOrNothing(const std::function<ClientStoreStatus()>& changes) {
  // Inside a transaction or batch the caller's commit covers them; alone,
  // one commit (one sync) for all.
  const bool own = !in_transaction_ && !in_batch_;
  if (own) CS_TRY(db_->Exec("BEGIN IMMEDIATE;"));
  auto done = changes();
  if (own) {
    if (done) done = db_->Exec("COMMIT;");
    if (!done) (void)db_->Exec("ROLLBACK;");
  }
  return done;
}

ClientStoreStatus ClientStore::OweReceipts(const std::vector<OwedReceipt>& receipts,
                                           std::size_t max_per_peer) {
  auto owed = AllOrNothing([&]() -> ClientStoreStatus {
    std::set<std::string> peers;
    for (const OwedReceipt& r : receipts) {
      if (r.kind != MessageStatus::kDelivered && r.kind != MessageStatus::kRead) {
        return Fail(ClientStoreErrc::kInvalidArgument, "a receipt is for delivery or reading");
      }
      const std::string to = r.to.value().ToString();
      const std::string group = GroupColumn(r.group);
      if (r.kind == MessageStatus::kRead && !r.own_devices) {
        // A read receipt says delivered too: a delivery receipt of the same
        // message still owed is no longer needed (taken out of its send, the
        // rest goes under the same id: parleyd, if it took the whole, takes
        // the rest as the same send).
        CS_ASSIGN(stmt, db_->Prepare("DELETE FROM owed_receipts WHERE to_account = ? AND group_id = ? AND "
                                     "kind = ? AND own_devices = 0 AND message = ?"));
        CS_TRY(stmt.Text(1, to)
                   .Text(2, group)
                   .Bind(3, static_cast<std::int64_t>(MessageStatus::kDelivered))
                   .Blob(4, r.message)
                   .Run());
      }
      CS_ASSIGN(stmt, db_->Prepare("INSERT OR IGNORE INTO owed_receipts(to_account, group_id, kind, "
                                   "own_devices, message, send_id) VALUES (?, ?, ?, ?, ?, ?)"));
      CS_TRY(stmt.Text(1, to)
                 .Text(2, group)
                 .Bind(3, static_cast<std::int64_t>(r.kind))
                 .Bind(4, r.own_devices ? 1 : 0)
                 .Blob(5, r.message)
                 .Blob(6, r.send_id)
                 .Run());
      peers.insert(to);
    }
    for (const std::string& to : peers) {
      CS_ASSIGN(stmt, db_->Prepare("DELETE FROM owed_receipts WHERE to_account = ?1 AND seq <= "
                                   "(SELECT seq FROM owed_receipts WHERE to_account = ?1 "
                                   "ORDER BY seq DESC LIMIT 1 OFFSET ?2)"));
      CS_TRY(stmt.Text(1, to).Bind(2, static_cast<std::int64_t>(max_per_peer)).Run());
    }
    return {};
  });
  if (!owed && in_transaction_) transaction_failed_ = true;
  return owed;
}

ClientStoreResult<std::vector<OwedReceipt>> ClientStore::OwedReceipts(std::size_t limit) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT seq, to_account, group_id, kind, own_devices, message, send_id "
                               "FROM owed_receipts ORDER BY send_id, seq LIMIT ?"));
  stmt.Bind(1, static_cast<std::int64_t>(limit));
  std::vector<OwedReceipt> out;
  for (;;) {
    CS_ASSIGN(row, stmt.Step());
    if (!row) break;
    OwedReceipt r;
    r.seq = stmt.Int(0);
    auto to = Uuid::Parse(stmt.ColumnText(1));
    const std::string group = stmt.ColumnText(2);
    const std::int64_t kind = stmt.Int(3);
    const Bytes message = stmt.ColumnBlob(5);
    const Bytes send_id = stmt.ColumnBlob(6);
    if (!to ||
        (kind != static_cast<std::int64_t>(MessageStatus::kDelivered) &&
         kind != static_cast<std::int64_t>(MessageStatus::kRead)) ||
        message.size() != r.message.size() || send_id.size() != r.send_id.size()) {
      return Fail(ClientStoreErrc::kCorrupt, "an owed receipt is malformed");
    }
    r.to = AccountId(*to);
    if (!group.empty()) {
      auto id = FromHex(group);
      if (!id || id->size() != GroupId{}.size()) {
        return Fail(ClientStoreErrc::kCorrupt, "an owed receipt's group is malformed");
      }
      r.group.emplace();
      std::copy(id->begin(), id->end(), r.group->begin());
    }
    r.kind = static_cast<MessageStatus>(kind);
    r.own_devices = stmt.Int(4) != 0;
    std::copy(message.begin(), message.end(), r.message.begin());
    std::copy(send_id.begin(), send_id.end(), r.send_id.begin());
    out.push_back(r);
  }
  return out;
}

ClientStoreStatus ClientStore::DeleteOwedReceipts(const std::vector<std::int64_t>& seqs) {
  return AllOrNothing([&]() -> ClientStoreStatus {
    for (std::int64_t seq : seqs) {
      CS_ASSIGN(stmt, db_->Prepare("DELETE FROM owed_receipts WHERE seq = ?"));
      CS_TRY(stmt.Bind(1, seq).Run());
    }
    return {};
  });
}

ClientStoreResult<std::int64_t> ClientStore::CountOwedReceipts(const std::optional<AccountId>& to) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT COUNT(*) FROM owed_receipts WHERE ?1 IS NULL OR to_account = ?1"));
  stmt.TextOrNull(1, to ? std::optional(to->value().ToString()) : std::nullopt);
  CS_ASSIGN(row, stmt.Step());
  if (!row) return Fail(ClientStoreErrc::kInternal, "no count of owed receipts");
  return stmt.Int(0);
}

// ---- Processed server messages -------------------------------------------------

ClientStoreResult<bool> ClientStore::IsProcessed(const AccountId& sender, DeviceId device,
                                                 Bytes client_message_id) {
  CS_ASSIGN(stmt, db_->Prepare("SELECT 1 FROM processed WHERE sender = ? AND sender_device = ? AND "
                               "client_message_id = ?"));
  stmt.Text(1, sender.value().ToString()).Bind(2, device.value()).Blob(3, client_message_id);
  return stmt.Step();
}

ClientStoreResult<std::size_t> ClientStore::PurgeProcessed(std::int64_t before_ms) {
  CS_ASSIGN(stmt, db_->Prepare("DELETE FROM processed WHERE processed_ms < ?"));
  CS_TRY(stmt.Bind(1, before_ms).Run());
  return static_cast<std::size_t>(db_->changes());
}

ClientStoreStatus ClientStore::MarkProcessed(const AccountId& sender, DeviceId device,
                                             Bytes client_message_id) {
  CS_ASSIGN(stmt, db_->Prepare("INSERT OR IGNORE INTO processed(sender, sender_device, client_message_id, "
                               "processed_ms) VALUES (?, ?, ?, ?)"));
  return stmt.Text(1, sender.value().ToString())
      .Bind(2, device.value())
      .Blob(3, client_message_id)
      .Bind(4, clock_.NowMillis())
      .Run();
}

}  // namespace parley::store
