// The conformance suite on the SQLite backend, plus what only SQLite has: the
// file's pragmas, damaged files, schema versions.
#include <sqlite3.h>
#include <stdlib.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_server_store.h"
#include "store_conformance_test.h"

namespace parley::store::conformance {
namespace {

// A fresh directory per test; the database is store.db inside it.
class SqliteBackend final : public StoreBackend {
 public:
  void Create() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  StoreResult<std::unique_ptr<ServerStore>> Open(const Clock& clock, const StoreOptions& options) override {
    auto opened = SqliteServerStore::Open(path(), clock, options);
    if (!opened) return tl::unexpected(opened.error());
    return std::unique_ptr<ServerStore>(std::move(*opened));
  }
  void Destroy() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string path() const { return (dir_ / "store.db").string(); }

 private:
  std::filesystem::path dir_;
};

std::unique_ptr<StoreBackend> MakeSqliteBackend() { return std::make_unique<SqliteBackend>(); }

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
                         ::testing::Values(BackendParam{"Sqlite", &MakeSqliteBackend}),
                         [](const auto& instance) { return std::string(instance.param.name); });

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { backend_.Create(); }
  void TearDown() override { backend_.Destroy(); }

  // Runs one SQL statement on the file with a separate connection and
  // returns the first column of the first row as text ("" if none).
  std::string QueryFile(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(backend_.path().c_str(), &db), SQLITE_OK);
    std::string value;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    const int rc = sqlite3_step(stmt);
    EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
  }

  ManualClock clock_{1'000};
  SqliteBackend backend_;
};

TEST_F(SqliteStoreTest, UsesWalAndFullSynchronousAndForeignKeys) {
  auto store = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_TRUE(store);
  // journal_mode=WAL is stored in the file; any connection sees it.
  EXPECT_EQ(QueryFile("PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(std::filesystem::exists(backend_.path() + "-wal"));
  // synchronous and foreign_keys are per connection; the store's own
  // connection is checked through their effects in the conformance suite
  // (cascading deletes) and here through the schema it created.
  EXPECT_EQ(QueryFile("SELECT max(version) FROM schema_migrations"), "1");
  EXPECT_EQ(QueryFile("SELECT applied_ms FROM schema_migrations WHERE version = 1"), "1000");
}

TEST_F(SqliteStoreTest, ReopeningDoesNotReapplyMigrations) {
  { ASSERT_TRUE(SqliteServerStore::Open(backend_.path(), clock_, {})); }
  clock_.Advance(5);
  { ASSERT_TRUE(SqliteServerStore::Open(backend_.path(), clock_, {})); }
  EXPECT_EQ(QueryFile("SELECT count(*) FROM schema_migrations"), "1");
  EXPECT_EQ(QueryFile("SELECT applied_ms FROM schema_migrations"), "1000");
}

TEST_F(SqliteStoreTest, RefusesASchemaNewerThanTheBuild) {
  { ASSERT_TRUE(SqliteServerStore::Open(backend_.path(), clock_, {})); }
  QueryFile("INSERT INTO schema_migrations (version, applied_ms) VALUES (999, 0)");
  auto store = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreErrc::kIncompatibleSchema);
}

TEST_F(SqliteStoreTest, DamagedFileIsCorrupt) {
  {
    std::ofstream file(backend_.path(), std::ios::binary);
    file << std::string(8192, 'x');
  }
  auto store = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreErrc::kCorrupt);
}

TEST_F(SqliteStoreTest, MissingDirectoryIsUnavailable) {
  auto store = SqliteServerStore::Open(backend_.path() + ".d/missing/store.db", clock_, {});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreErrc::kUnavailable);
}

TEST_F(SqliteStoreTest, DamagedKeyColumnIsCorrupt) {
  auto opened = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_TRUE(opened);
  auto& store = **opened;
  const AccountId id(Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950e").value());
  NewDevice device{RegistrationId(1), "d", {{1}, {2}}};
  ASSERT_TRUE(store.CreateAccount({id, "user", device, std::nullopt}));
  QueryFile("UPDATE devices SET identity_key = x'0506'");
  auto key = store.GetIdentityKey({id, DeviceId(1)});
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, StoreErrc::kCorrupt);
}

TEST_F(SqliteStoreTest, WaitsForAnotherWriterThenReportsUnavailable) {
  StoreOptions options;
  options.sqlite_busy_timeout_ms = 50;
  auto opened = SqliteServerStore::Open(backend_.path(), clock_, options);
  ASSERT_TRUE(opened);
  // Another process (here: connection) holds the write lock past the timeout.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(backend_.path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const AccountId id(Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950e").value());
  NewDevice device{RegistrationId(1), "d", {{1}, {2}}};
  auto blocked = (*opened)->CreateAccount({id, "user", device, std::nullopt});
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, StoreErrc::kUnavailable);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE((*opened)->CreateAccount({id, "user", device, std::nullopt}));
}

TEST_F(SqliteStoreTest, CheckpointsTheWalOffTheWritersThread) {
  auto opened = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_TRUE(opened);
  auto& store = **opened;
  const AccountId sender(Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950e").value());
  const AccountId recipient(Uuid::Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7").value());
  ASSERT_TRUE(
      store.CreateAccount({sender, "sender", NewDevice{RegistrationId(1), "d", {{1}, {2}}}, std::nullopt}));
  ASSERT_TRUE(store.CreateAccount(
      {recipient, "recipient", NewDevice{RegistrationId(2), "d", {{3}, {4}}}, std::nullopt}));
  EXPECT_EQ(store.background_checkpoints(), 0u);
  // 40 sends of 128 KiB: about 1,300 WAL pages, over the checkpoint mark.
  const std::vector<std::uint8_t> content(128 * 1024, 0x5a);
  constexpr int kSends = 40;
  for (int i = 0; i < kSends; ++i) {
    const OutgoingEnvelope envelope{{recipient, DeviceId(1)}, 1, content};
    std::array<std::uint8_t, 16> id{};
    id[0] = static_cast<std::uint8_t>(i + 1);
    ASSERT_TRUE(store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(id), std::span(&envelope, 1)}));
  }
  for (int i = 0; i < 2000 && store.background_checkpoints() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(store.background_checkpoints(), 1u);
  auto depth = store.QueueDepth({recipient, DeviceId(1)});
  ASSERT_TRUE(depth);
  EXPECT_EQ(*depth, static_cast<std::uint64_t>(kSends));
}

}  // namespace
}  // namespace parley::store::conformance
