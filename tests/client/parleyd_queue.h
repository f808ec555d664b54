// What a test parleyd holds queued, read from its SQLite store while it runs
// (WAL lets a reader in): how the tests count envelopes on the server side.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstddef>
#include <filesystem>

#include "base/strong_id.h"

namespace parley::client::testing {

// The envelopes queued for any device of `account` that `sender` sent.
inline std::size_t QueuedEnvelopesFrom(const std::filesystem::path& db_path, const AccountId& account,
                                       const AccountId& sender) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 5'000);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(
      sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM messages WHERE account_id = ? AND sender_account = ?", -1,
                         &stmt, nullptr),
      SQLITE_OK);
  const auto to = account.value().bytes();
  const auto from = sender.value().bytes();
  sqlite3_bind_blob(stmt, 1, to.data(), static_cast<int>(to.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(stmt, 2, from.data(), static_cast<int>(from.size()), SQLITE_TRANSIENT);
  std::size_t count = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) count = static_cast<std::size_t>(sqlite3_column_int64(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

}  // namespace parley::client::testing
