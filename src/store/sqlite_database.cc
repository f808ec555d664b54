#include "store/sqlite_database.h"

#include <algorithm>
#include <utility>

namespace parley::store {

namespace {

// sqlite3_bind_blob binds NULL for a null pointer, even with length 0.
constexpr std::uint8_t kEmptyBlob[1] = {0};

}  // namespace

StoreErrc SqliteErrorCode(int result_code) {
  switch (result_code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return StoreErrc::kConflict;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return StoreErrc::kNotFound;
    default:
      break;
  }
  switch (result_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return StoreErrc::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StoreErrc::kCorrupt;
    default:
      return StoreErrc::kInternal;
  }
}

std::string_view SqliteErrorMessage(int result_code) { return sqlite3_errstr(result_code); }

SqliteStatement::~SqliteStatement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

SqliteStatement& SqliteStatement::Bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::BindBlob(int index, Bytes value) {
  const void* data = value.empty() ? kEmptyBlob : value.data();
  sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::BindBlobView(int index, Bytes value) {
  const void* data = value.empty() ? kEmptyBlob : value.data();
  sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_STATIC);
  return *this;
}

SqliteStatement& SqliteStatement::BindText(int index, std::string_view value) {
  const char* data = value.empty() ? reinterpret_cast<const char*>(kEmptyBlob) : value.data();
  sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

StoreResult<bool> SqliteStatement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // With prepare_v3 the step code is the extended code.
  return Fail(SqliteErrorCode(rc), SqliteErrorMessage(rc));
}

StoreStatus SqliteStatement::Run() {
  while (true) {
    auto stepped = Step();
    if (!stepped) return tl::unexpected(stepped.error());
    if (!*stepped) return Ok<StoreErrc>();
  }
}

bool SqliteStatement::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t SqliteStatement::Int64(int column) const { return sqlite3_column_int64(stmt_, column); }

Bytes SqliteStatement::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return Bytes(static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size));
}

std::string_view SqliteStatement::Text(int column) const {
  const unsigned char* data = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
}

void SqliteDatabase::InitializeLibrary() {
  static const bool initialized = [] {
    // Only possible before the library is initialized; refused (harmlessly)
    // if something else in the process initialized it first.
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return sqlite3_initialize() == SQLITE_OK;
  }();
  (void)initialized;
}

StoreResult<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path,
                                                                  std::int64_t busy_timeout_ms,
                                                                  const char* vfs) {
  InitializeLibrary();
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    return Fail(SqliteErrorCode(rc), "cannot open the SQLite database file");
  }
  sqlite3_extended_result_codes(db, 1);
  const auto timeout = static_cast<int>(std::clamp<std::int64_t>(busy_timeout_ms, 0, 3'600'000));
  sqlite3_busy_timeout(db, timeout);
  return std::unique_ptr<SqliteDatabase>(new SqliteDatabase(db));
}

SqliteDatabase::~SqliteDatabase() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

StoreResult<SqliteStatement> SqliteDatabase::Prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Fail(SqliteErrorCode(rc), SqliteErrorMessage(rc));
    }
    it = statements_.emplace(std::string(sql), stmt).first;
  }
  return SqliteStatement(it->second);
}

StoreStatus SqliteDatabase::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    const int extended = sqlite3_extended_errcode(db_);
    return Fail(SqliteErrorCode(extended), SqliteErrorMessage(extended));
  }
  return Ok<StoreErrc>();
}

std::int64_t SqliteDatabase::changes() const { return sqlite3_changes64(db_); }

void SqliteDatabase::RollBack() {
  if (sqlite3_get_autocommit(db_) == 0) {
    (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace parley::store
