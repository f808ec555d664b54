// The WAL-gathering VFS: commits through it are read back by connections on
// SQLite's default VFS (the same process's other connections, another
// process, recovery after the writer is gone), and a commit of many pages
// reaches the WAL file in far fewer writes than SQLite made.
#include "store/sqlite_wal_gather.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace parley::store {
namespace {

class SqliteWalGatherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterWalGatherVfs());
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-wal-gather-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (writer_ != nullptr) sqlite3_close(writer_);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string path() const { return (dir_ / "gather.db").string(); }

  // The gathering writer, in WAL mode with synchronous=FULL.
  void OpenWriter(const char* extra_pragmas = "") {
    ASSERT_EQ(sqlite3_open_v2(path().c_str(), &writer_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                              kWalGatherVfsName),
              SQLITE_OK);
    Exec(writer_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;");
    Exec(writer_, extra_pragmas);
    Exec(writer_, "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)");
  }

  static void Exec(sqlite3* db, const char* sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
    sqlite3_free(error);
  }

  // Inserts rows [first, first + count) of `bytes` random bytes each.
  void Insert(sqlite3* db, int first, int count, int bytes) {
    sqlite3_stmt* insert = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO t (k, v) VALUES (?, randomblob(?))", -1, &insert, nullptr),
              SQLITE_OK);
    for (int k = first; k < first + count; ++k) {
      sqlite3_bind_int(insert, 1, k);
      sqlite3_bind_int(insert, 2, bytes);
      ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
  }

  // Rows and total blob bytes as another connection on the default VFS sees them.
  std::pair<long long, long long> CountFromDefaultVfs() {
    sqlite3* reader = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path().c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* query = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(reader, "SELECT count(*), coalesce(sum(length(v)), 0) FROM t", -1, &query,
                                 nullptr),
              SQLITE_OK);
    EXPECT_EQ(sqlite3_step(query), SQLITE_ROW);
    const std::pair<long long, long long> result{sqlite3_column_int64(query, 0),
                                                 sqlite3_column_int64(query, 1)};
    sqlite3_finalize(query);
    sqlite3_close(reader);
    return result;
  }

  std::string IntegrityFromDefaultVfs() {
    sqlite3* reader = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path().c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* query = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(reader, "PRAGMA integrity_check", -1, &query, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(query), SQLITE_ROW);
    std::string result(reinterpret_cast<const char*>(sqlite3_column_text(query, 0)));
    sqlite3_finalize(query);
    sqlite3_close(reader);
    return result;
  }

  std::filesystem::path dir_;
  sqlite3* writer_ = nullptr;
};

TEST_F(SqliteWalGatherTest, ACommitOfManyPagesIsFewFileWrites) {
  OpenWriter();
  const WalGatherCounts before = WalGatherCountsSoFar();
  Exec(writer_, "BEGIN");
  Insert(writer_, 0, 40, 1000);  // about a dozen pages, each a frame of two SQLite writes
  Exec(writer_, "COMMIT");
  const WalGatherCounts after = WalGatherCountsSoFar();
  const std::uint64_t sqlite_writes = after.sqlite_writes - before.sqlite_writes;
  const std::uint64_t file_writes = after.file_writes - before.file_writes;
  EXPECT_GE(sqlite_writes, 20u);
  EXPECT_GE(file_writes, 1u);
  EXPECT_LE(file_writes, 2u);  // the frames; at most the WAL header before them
  EXPECT_EQ(CountFromDefaultVfs(), std::make_pair(40LL, 40'000LL));
}

TEST_F(SqliteWalGatherTest, CommitsLargerThanTheBufferAreComplete) {
  OpenWriter();
  const WalGatherCounts before = WalGatherCountsSoFar();
  Exec(writer_, "BEGIN");
  Insert(writer_, 0, 200, 4000);  // ~800 KiB: several buffers
  Exec(writer_, "COMMIT");
  const WalGatherCounts after = WalGatherCountsSoFar();
  EXPECT_GE(after.file_writes - before.file_writes, 800'000 / kWalGatherBytes);
  EXPECT_EQ(CountFromDefaultVfs(), std::make_pair(200LL, 800'000LL));
  EXPECT_EQ(IntegrityFromDefaultVfs(), "ok");
}

TEST_F(SqliteWalGatherTest, ATransactionThatSpillsItsCacheReadsItsOwnFramesBack) {
  // A tiny page cache makes SQLite write pages to the WAL before the commit
  // and read them back (and rewrite them in place) while the transaction
  // goes on.
  OpenWriter("PRAGMA cache_size=10; PRAGMA cache_spill=ON;");
  Exec(writer_, "BEGIN");
  Insert(writer_, 0, 300, 3000);
  Exec(writer_, "UPDATE t SET v = randomblob(2000) WHERE k % 3 = 0");
  Exec(writer_, "COMMIT");
  EXPECT_EQ(CountFromDefaultVfs(), std::make_pair(300LL, 100LL * 2000 + 200LL * 3000));
  EXPECT_EQ(IntegrityFromDefaultVfs(), "ok");
}

TEST_F(SqliteWalGatherTest, ARolledBackTransactionLeavesNothing) {
  OpenWriter("PRAGMA cache_size=10;");
  Insert(writer_, 0, 5, 100);
  Exec(writer_, "BEGIN");
  Insert(writer_, 5, 200, 3000);
  Exec(writer_, "ROLLBACK");
  Insert(writer_, 5, 1, 100);
  EXPECT_EQ(CountFromDefaultVfs(), std::make_pair(6LL, 600LL));
  EXPECT_EQ(IntegrityFromDefaultVfs(), "ok");
}

TEST_F(SqliteWalGatherTest, TheWalIsRecoveredWithoutTheWriter) {
  OpenWriter();
  for (int i = 0; i < 20; ++i) {
    Exec(writer_, "BEGIN");
    Insert(writer_, i * 10, 10, 500);
    Exec(writer_, "COMMIT");
  }
  // A checkpoint, then a restarted WAL (its header written again at offset 0).
  Exec(writer_, "PRAGMA wal_checkpoint(RESTART)");
  Insert(writer_, 1000, 10, 500);
  // No checkpoint on close: the next connection recovers the index from the WAL.
  ASSERT_EQ(sqlite3_db_config(writer_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_close(writer_), SQLITE_OK);
  writer_ = nullptr;
  EXPECT_EQ(CountFromDefaultVfs(), std::make_pair(210LL, 105'000LL));
  EXPECT_EQ(IntegrityFromDefaultVfs(), "ok");
}

}  // namespace
}  // namespace parley::store
