// SqliteDatabase: one SQLite connection with a cache of prepared statements,
// SQLite result codes mapped to StoreErrc, and write transactions.
//
// Not thread-safe: SqliteServerStore serializes every use behind its mutex.
// Internal to the store layer.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/byte_reader.h"
#include "store/error.h"

namespace parley::store {

// A cached prepared statement in use. Binds parameters (1-based), steps, and
// reads columns (0-based). Resets the statement and clears its bindings when
// it goes out of scope, so a buffer bound as a view need only outlive this
// handle.
class SqliteStatement {
 public:
  explicit SqliteStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  SqliteStatement& Bind(int index, std::int64_t value);
  // Copies the bytes: the argument may be a temporary.
  SqliteStatement& BindBlob(int index, Bytes value);
  // Does not copy: for large values that outlive this handle.
  SqliteStatement& BindBlobView(int index, Bytes value);
  // Copies the text.
  SqliteStatement& BindText(int index, std::string_view value);
  SqliteStatement& BindNull(int index);

  // Advances: true with a row to read, false when done.
  StoreResult<bool> Step();
  // Steps to completion, ignoring any rows.
  StoreStatus Run();

  bool IsNull(int column) const;
  std::int64_t Int64(int column) const;
  // Valid until the next Step or until this handle is destroyed.
  Bytes Blob(int column) const;
  std::string_view Text(int column) const;

 private:
  sqlite3_stmt* stmt_;
};

class SqliteDatabase {
 public:
  // Configures and initializes the SQLite library once per process (Open
  // does it too; call it first when anything else touches SQLite before the
  // first Open): memory statistics off, so SQLite's allocations take no
  // process-wide mutex (nothing in parleyd reads those statistics).
  static void InitializeLibrary();

  // Opens (creating if needed) the file, through the VFS named `vfs` (nullptr:
  // SQLite's default). kUnavailable: cannot open or create.
  static StoreResult<std::unique_ptr<SqliteDatabase>> Open(const std::string& path,
                                                           std::int64_t busy_timeout_ms,
                                                           const char* vfs = nullptr);
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // The cached statement for `sql`, prepared on first use.
  StoreResult<SqliteStatement> Prepare(std::string_view sql);
  // Runs one or more statements without parameters (pragmas, schema, BEGIN).
  StoreStatus Exec(const char* sql);
  // Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;

  // Runs `body` (returning StoreResult<T> or StoreStatus) in a BEGIN IMMEDIATE
  // transaction: committed when it succeeds, rolled back when it fails or the
  // commit fails.
  template <class Body>
  auto InWriteTransaction(Body&& body) -> decltype(body()) {
    if (auto begun = Exec("BEGIN IMMEDIATE"); !begun) return tl::unexpected(begun.error());
    auto result = body();
    if (!result) {
      RollBack();
      return result;
    }
    if (auto committed = Exec("COMMIT"); !committed) {
      RollBack();
      return tl::unexpected(committed.error());
    }
    return result;
  }

  // Like InWriteTransaction with a read (deferred) transaction: a consistent
  // snapshot for several statements.
  template <class Body>
  auto InReadTransaction(Body&& body) -> decltype(body()) {
    if (auto begun = Exec("BEGIN"); !begun) return tl::unexpected(begun.error());
    auto result = body();
    if (auto ended = Exec("COMMIT"); !ended) {
      RollBack();
      if (result) return tl::unexpected(ended.error());
    }
    return result;
  }

  sqlite3* handle() { return db_; }

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  void RollBack();

  sqlite3* db_;
  // Looked up by the caller's string_view, without building a string.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> statements_;
};

// The StoreErrc for an SQLite (extended) result code.
StoreErrc SqliteErrorCode(int result_code);
// A static explanation for logs.
std::string_view SqliteErrorMessage(int result_code);

}  // namespace parley::store
