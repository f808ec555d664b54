// What a test parleyd holds queued, read from its SQLite store while it runs
// (WAL lets a reader in): how the tests count envelopes on the server side.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "base/strong_id.h"

namespace parley::client::testing {

// The envelopes queued for `account` (only its `device`, when given) that
// `sender` (only its `sender_device`, when given) sent.
inline std::size_t QueuedEnvelopesFrom(const std::filesystem::path& db_path, const AccountId& account,
                                       const AccountId& sender, std::optional<DeviceId> device = std::nullopt,
                                       std::optional<DeviceId> sender_device = std::nullopt) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 5'000);
  sqlite3_stmt* stmt = nullptr;
  const std::string sql =
      "SELECT COUNT(*) FROM messages WHERE account_id = ?1 AND sender_account = ?2 AND (?3 IS NULL OR "
      "device_id = ?3) AND (?4 IS NULL OR sender_device = ?4)";
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
  const auto to = account.value().bytes();
  const auto from = sender.value().bytes();
  sqlite3_bind_blob(stmt, 1, to.data(), static_cast<int>(to.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(stmt, 2, from.data(), static_cast<int>(from.size()), SQLITE_TRANSIENT);
  if (device) sqlite3_bind_int64(stmt, 3, device->value());
  if (sender_device) sqlite3_bind_int64(stmt, 4, sender_device->value());
  std::size_t count = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) count = static_cast<std::size_t>(sqlite3_column_int64(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

}  // namespace parley::client::testing
