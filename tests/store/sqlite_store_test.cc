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

#include "store/column_codec.h"
#include "store/schema_migration.h"
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

  // Writes a file as a parleyd at schema version `version` left it (its
  // migrations applied and recorded) with the accounts 0x11.. ("sender") and
  // 0x22.. ("recipient"), then runs `statements` on it.
  void WriteFileAtVersion(int version, const std::vector<std::string>& statements) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(backend_.path().c_str(), &db), SQLITE_OK);
    std::vector<std::string> all{
        "PRAGMA journal_mode=WAL",
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)"};
    for (int v = 1; v <= version; ++v) {
      all.push_back(SqliteMigrations()[static_cast<std::size_t>(v - 1)].sql);
      all.push_back("INSERT INTO schema_migrations VALUES (" + std::to_string(v) + ", 500)");
    }
    all.push_back("INSERT INTO accounts VALUES (x'11111111111111111111111111111111', 'sender', 1, 0)");
    all.push_back("INSERT INTO accounts VALUES (x'22222222222222222222222222222222', 'recipient', 1, 0)");
    all.insert(all.end(), statements.begin(), statements.end());
    for (const std::string& sql : all) {
      EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
          << sqlite3_errmsg(db) << " in: " << sql;
    }
    sqlite3_close(db);
  }

  // A messages row of an older file: queued for 0x22.. device 1 by 0x11..
  // device 1, client id and content derived from `server_id` (< 10).
  static std::string QueuedMessageRow(int server_id) {
    const std::string n = std::to_string(server_id);
    return "INSERT INTO messages VALUES (x'22222222222222222222222222222222', 1, " + n +
           ", 900, x'11111111111111111111111111111111', 1, 1, x'0" + n +
           "000000000000000000000000000000', x'abcd0" + n + "')";
  }

  ManualClock clock_{1'000};
  const AccountId sender_{Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950e").value()};
  const AccountId recipient_{Uuid::Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7").value()};

  // The sends of the files written at an old version (client ids 1..3 from
  // `sender`'s device 1, each queued once at 700 + n with server id n):
  // a retry of each is a duplicate answered with its old copy.
  static void ExpectOldSendsAreDuplicates(ServerStore& store, const AccountId& sender,
                                          const OutgoingEnvelope& envelope) {
    for (std::uint8_t n = 1; n <= 3; ++n) {
      std::array<std::uint8_t, 16> id{};
      id[0] = n;
      auto retry = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(id), std::span(&envelope, 1)});
      ASSERT_TRUE(retry) << int(n);
      EXPECT_TRUE(retry->duplicate) << int(n);
      EXPECT_EQ(retry->server_timestamp_ms, 700 + n);
      ASSERT_EQ(retry->copies.size(), 1u);
      EXPECT_EQ(retry->copies[0], (QueuedCopy{envelope.recipient, n}));
    }
  }

  // A store whose checkpoint thread is woken from 250 WAL pages (not 4,000).
  std::unique_ptr<SqliteServerStore> OpenWithSmallCheckpoints() {
    StoreOptions options;
    options.sqlite_checkpoint_pages = 250;
    auto opened = SqliteServerStore::Open(backend_.path(), clock_, options);
    EXPECT_TRUE(opened);
    return opened ? std::move(*opened) : nullptr;
  }

  // 128 KiB from sender_ to recipient_ with client message id number `n`.
  StoreResult<EnqueueResult> EnqueueLarge(ServerStore& store, int n) {
    static const std::vector<std::uint8_t> content(128 * 1024, 0x5a);
    const OutgoingEnvelope envelope{{recipient_, DeviceId(1)}, 1, content};
    std::array<std::uint8_t, 16> id{};
    id[0] = static_cast<std::uint8_t>(n);
    id[1] = static_cast<std::uint8_t>(n >> 8);
    return store.Enqueue({{sender_, DeviceId(1)}, ClientMessageId(id), std::span(&envelope, 1)});
  }

  // sender_ and recipient_, one device each.
  void CreateSenderAndRecipient(ServerStore& store) {
    ASSERT_TRUE(store.CreateAccount(
        {sender_, "sender", NewDevice{RegistrationId(1), "d", {{1}, {2}}}, std::nullopt}));
    ASSERT_TRUE(store.CreateAccount(
        {recipient_, "recipient", NewDevice{RegistrationId(2), "d", {{3}, {4}}}, std::nullopt}));
  }
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
  EXPECT_EQ(QueryFile("SELECT max(version) FROM schema_migrations"),
            std::to_string(SqliteMigrations().back().version));
  EXPECT_EQ(QueryFile("SELECT applied_ms FROM schema_migrations WHERE version = 1"), "1000");
}

TEST_F(SqliteStoreTest, ReopeningDoesNotReapplyMigrations) {
  { ASSERT_TRUE(SqliteServerStore::Open(backend_.path(), clock_, {})); }
  clock_.Advance(5);
  { ASSERT_TRUE(SqliteServerStore::Open(backend_.path(), clock_, {})); }
  EXPECT_EQ(QueryFile("SELECT count(*) FROM schema_migrations"), std::to_string(SqliteMigrations().size()));
  EXPECT_EQ(QueryFile("SELECT max(applied_ms) FROM schema_migrations"), "1000");
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
  auto store = OpenWithSmallCheckpoints();
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(CreateSenderAndRecipient(*store));
  EXPECT_EQ(store->background_checkpoints(), 0u);
  // 10 sends of 128 KiB: about 330 WAL pages, over the checkpoint mark.
  constexpr int kSends = 10;
  for (int n = 1; n <= kSends; ++n) ASSERT_TRUE(EnqueueLarge(*store, n));
  for (int i = 0; i < 2000 && store->background_checkpoints() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(store->background_checkpoints(), 1u);
  auto depth = store->QueueDepth({recipient_, DeviceId(1)});
  ASSERT_TRUE(depth);
  EXPECT_EQ(*depth, static_cast<std::uint64_t>(kSends));
}

// A file written at schema version 1 (send copies in send_copies) upgrades
// with its queued messages intact, and a retry of a send recorded then is
// still answered from that record.
TEST_F(SqliteStoreTest, UpgradesAVersion1FileWithItsQueueAndSendRecords) {
  std::vector<std::string> statements;
  // Sender 0x11.., recipient 0x22..; two queued messages (server ids 1, 2),
  // the second one's send recorded with its copy.
  statements.push_back(
      "INSERT INTO devices (account_id, device_id, registration_id, name, credential_salt, "
      "credential_hash, created_ms, last_seen_ms) VALUES (x'11111111111111111111111111111111', 1, 1, "
      "'d', x'00', x'00', 1, 1)");
  statements.push_back(
      "INSERT INTO devices (account_id, device_id, registration_id, name, credential_salt, "
      "credential_hash, created_ms, last_seen_ms, next_message_id, queued_count) VALUES "
      "(x'22222222222222222222222222222222', 1, 2, 'd', x'00', x'00', 1, 1, 3, 2)");
  for (int server_id = 1; server_id <= 2; ++server_id) statements.push_back(QueuedMessageRow(server_id));
  statements.push_back(
      "INSERT INTO sends VALUES (x'11111111111111111111111111111111', 1, "
      "x'02000000000000000000000000000000', 900)");
  statements.push_back(
      "INSERT INTO send_copies VALUES (x'11111111111111111111111111111111', 1, "
      "x'02000000000000000000000000000000', 0, x'22222222222222222222222222222222', 1, 2)");
  ASSERT_NO_FATAL_FAILURE(WriteFileAtVersion(1, statements));
  auto opened = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_TRUE(opened) << opened.error().message;
  auto& store = **opened;
  EXPECT_EQ(QueryFile("SELECT max(version) FROM schema_migrations"),
            std::to_string(SqliteMigrations().size()));

  AccountId sender(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x11)).value());
  AccountId recipient(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x22)).value());
  const DeviceAddress recipient_device{recipient, DeviceId(1)};
  auto queued = store.FetchMessages(recipient_device, 0, 10);
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].server_id, 1u);
  EXPECT_EQ((*queued)[1].server_id, 2u);
  EXPECT_EQ((*queued)[1].content, (std::vector<std::uint8_t>{0xab, 0xcd, 0x02}));
  EXPECT_EQ((*queued)[1].sender, (DeviceAddress{sender, DeviceId(1)}));

  // The retry of the old send: a duplicate with the old copy, nothing queued.
  const std::vector<std::uint8_t> content{1, 2, 3};
  const OutgoingEnvelope envelope{recipient_device, 1, content};
  std::array<std::uint8_t, 16> old_id{};
  old_id[0] = 0x02;
  auto retry = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(old_id), std::span(&envelope, 1)});
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->server_timestamp_ms, 900);
  ASSERT_EQ(retry->copies.size(), 1u);
  EXPECT_EQ(retry->copies[0], (QueuedCopy{recipient_device, 2}));

  // A new send continues the queue's ids, and its own retry is a duplicate.
  std::array<std::uint8_t, 16> new_id{};
  new_id[0] = 0x03;
  auto fresh = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(new_id), std::span(&envelope, 1)});
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->duplicate);
  ASSERT_EQ(fresh->copies.size(), 1u);
  EXPECT_EQ(fresh->copies[0], (QueuedCopy{recipient_device, 3}));
  auto again = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(new_id), std::span(&envelope, 1)});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->copies, fresh->copies);
  auto depth = store.QueueDepth(recipient_device);
  ASSERT_TRUE(depth);
  EXPECT_EQ(*depth, 3u);
}

// A file written at schema version 2 (queue counters in devices) upgrades:
// each device's counters move to device_queues unchanged, so server ids
// continue and the queue bound counts the messages queued before; devices
// keeps no counters; removing a device still drops its counters.
TEST_F(SqliteStoreTest, UpgradesAVersion2FileMovingTheQueueCounters) {
  std::vector<std::string> statements;
  statements.push_back(
      "INSERT INTO devices (account_id, device_id, registration_id, name, credential_salt, "
      "credential_hash, created_ms, last_seen_ms, next_message_id, queued_count) VALUES "
      "(x'11111111111111111111111111111111', 1, 1, 'd', x'00', x'00', 1, 1, 41, 0)");
  // The recipient's device 1 has two messages queued (server ids 7 and 9;
  // 8 was acknowledged) and its next id is 10; device 2 has none.
  statements.push_back(
      "INSERT INTO devices (account_id, device_id, registration_id, name, credential_salt, "
      "credential_hash, created_ms, last_seen_ms, next_message_id, queued_count) VALUES "
      "(x'22222222222222222222222222222222', 1, 2, 'd', x'00', x'00', 1, 1, 10, 2), "
      "(x'22222222222222222222222222222222', 2, 3, 'e', x'00', x'00', 1, 1, 5, 0)");
  for (int server_id : {7, 9}) statements.push_back(QueuedMessageRow(server_id));
  statements.push_back(
      "INSERT INTO sends (sender_account, sender_device, client_message_id, server_timestamp_ms) "
      "VALUES (x'11111111111111111111111111111111', 1, x'09000000000000000000000000000000', 900)");
  ASSERT_NO_FATAL_FAILURE(WriteFileAtVersion(2, statements));
  StoreOptions options;
  options.max_queue_depth = 3;
  auto opened = SqliteServerStore::Open(backend_.path(), clock_, options);
  ASSERT_TRUE(opened) << opened.error().message;
  auto& store = **opened;
  EXPECT_EQ(QueryFile("SELECT max(version) FROM schema_migrations"),
            std::to_string(SqliteMigrations().back().version));
  EXPECT_EQ(QueryFile("SELECT count(*) FROM pragma_table_info('devices') "
                      "WHERE name IN ('next_message_id', 'queued_count')"),
            "0");
  EXPECT_EQ(QueryFile("SELECT group_concat(device_id || ':' || next_message_id || ':' || queued_count, ' ') "
                      "FROM (SELECT * FROM device_queues ORDER BY account_id, device_id)"),
            "1:41:0 1:10:2 2:5:0");

  AccountId sender(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x11)).value());
  AccountId recipient(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x22)).value());
  const DeviceAddress recipient_device{recipient, DeviceId(1)};
  auto depth = store.QueueDepth(recipient_device);
  ASSERT_TRUE(depth);
  EXPECT_EQ(*depth, 2u);
  auto stats = store.CollectStats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->queued_messages, 2u);
  auto queued = store.FetchMessages(recipient_device, 0, 10);
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].server_id, 7u);
  EXPECT_EQ((*queued)[1].server_id, 9u);

  // The send recorded before is still a duplicate; a new one continues at
  // id 10 and fills the queue to its bound of 3; the next one is refused.
  const std::vector<std::uint8_t> content{1, 2, 3};
  const OutgoingEnvelope envelope{recipient_device, 1, content};
  std::array<std::uint8_t, 16> id{};
  id[0] = 0x09;
  auto retry = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(id), std::span(&envelope, 1)});
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  id[0] = 0x0a;
  auto fresh = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(id), std::span(&envelope, 1)});
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->duplicate);
  ASSERT_EQ(fresh->copies.size(), 1u);
  EXPECT_EQ(fresh->copies[0], (QueuedCopy{recipient_device, 10}));
  id[0] = 0x0b;
  auto full = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(id), std::span(&envelope, 1)});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, StoreErrc::kQueueFull);
  ASSERT_TRUE(store.DeleteMessage(recipient_device, 7));
  depth = store.QueueDepth(recipient_device);
  ASSERT_TRUE(depth);
  EXPECT_EQ(*depth, 2u);

  // Removing a device removes its counters with it.
  ASSERT_TRUE(store.RemoveDevice({recipient, DeviceId(2)}));
  EXPECT_EQ(QueryFile("SELECT count(*) FROM device_queues WHERE device_id = 2"), "0");
  auto removed = store.QueueDepth({recipient, DeviceId(2)});
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, StoreErrc::kNotFound);
}

// A file written at schema version 3 (idempotence records keyed by sender
// first) upgrades: both kinds of record (copies in the row, and copies in
// send_copies from before version 2) are rebuilt under the key that starts
// with the client message id, and retries of those sends are still answered
// from them; deleting the sender's account removes its records.
TEST_F(SqliteStoreTest, UpgradesAVersion3FileRekeyingTheSendRecords) {
  std::vector<std::string> statements;
  statements.push_back(
      "INSERT INTO devices (account_id, device_id, registration_id, name, credential_salt, "
      "credential_hash, created_ms, last_seen_ms) VALUES (x'11111111111111111111111111111111', 1, 1, "
      "'d', x'00', x'00', 1, 1), (x'22222222222222222222222222222222', 1, 2, 'd', x'00', x'00', 1, 1)");
  statements.push_back(
      "INSERT INTO device_queues VALUES (x'11111111111111111111111111111111', 1, 1, 0), "
      "(x'22222222222222222222222222222222', 1, 4, 3)");
  for (int server_id = 1; server_id <= 3; ++server_id) statements.push_back(QueuedMessageRow(server_id));
  // Send 1: recorded at version 1, its copy in send_copies. Sends 2 and 3
  // (below): copies in the row, as EncodeQueuedCopies writes them.
  statements.push_back(
      "INSERT INTO sends (sender_account, sender_device, client_message_id, server_timestamp_ms) VALUES "
      "(x'11111111111111111111111111111111', 1, x'01000000000000000000000000000000', 701)");
  statements.push_back(
      "INSERT INTO send_copies VALUES (x'11111111111111111111111111111111', 1, "
      "x'01000000000000000000000000000000', 0, x'22222222222222222222222222222222', 1, 1)");
  ASSERT_NO_FATAL_FAILURE(WriteFileAtVersion(3, statements));
  // The copies blobs of sends 2 and 3, as this build encodes them.
  for (std::uint64_t server_id : {2u, 3u}) {
    const std::vector<QueuedCopy> copies{
        {{AccountId(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x22)).value()), DeviceId(1)}, server_id}};
    std::string hex;
    for (std::uint8_t byte : EncodeQueuedCopies(copies)) {
      static const char* digits = "0123456789abcdef";
      hex += digits[byte >> 4];
      hex += digits[byte & 15];
    }
    QueryFile(
        "INSERT INTO sends (sender_account, sender_device, client_message_id, server_timestamp_ms, "
        "copies) VALUES (x'11111111111111111111111111111111', 1, x'0" +
        std::to_string(server_id) + "000000000000000000000000000000', " + std::to_string(700 + server_id) +
        ", x'" + hex + "')");
  }
  EXPECT_EQ(QueryFile("SELECT count(*) FROM sends"), "3");

  auto opened = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_TRUE(opened) << opened.error().message;
  auto& store = **opened;
  EXPECT_EQ(QueryFile("SELECT max(version) FROM schema_migrations"),
            std::to_string(SqliteMigrations().back().version));
  // Every record kept, under the new key; send_copies follows it.
  EXPECT_EQ(QueryFile("SELECT count(*) FROM sends"), "3");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM send_copies"), "1");
  EXPECT_EQ(QueryFile("SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info("
                      "'sqlite_autoindex_sends_1') ORDER BY seqno)"),
            "client_message_id,sender_account,sender_device");
  EXPECT_EQ(QueryFile("SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info("
                      "'sqlite_autoindex_send_copies_1') ORDER BY seqno)"),
            "client_message_id,sender_account,sender_device,position");
  EXPECT_EQ(
      QueryFile("SELECT count(*) FROM pragma_foreign_key_list('send_copies') WHERE \"table\" = 'sends'"),
      "3");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM sqlite_master WHERE name = 'sends_by_time'"), "1");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM pragma_foreign_key_check"), "0");

  AccountId sender(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x11)).value());
  AccountId recipient(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x22)).value());
  const DeviceAddress recipient_device{recipient, DeviceId(1)};
  const std::vector<std::uint8_t> content{1, 2, 3};
  const OutgoingEnvelope envelope{recipient_device, 1, content};
  // Each old send's retry is a duplicate answered with its old copy.
  ASSERT_NO_FATAL_FAILURE(ExpectOldSendsAreDuplicates(store, sender, envelope));
  // A new send is recorded under the new key and deduplicated too.
  std::array<std::uint8_t, 16> new_id{};
  new_id[0] = 0x04;
  auto fresh = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(new_id), std::span(&envelope, 1)});
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->duplicate);
  EXPECT_EQ(fresh->copies[0], (QueuedCopy{recipient_device, 4}));
  auto again = store.Enqueue({{sender, DeviceId(1)}, ClientMessageId(new_id), std::span(&envelope, 1)});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->copies, fresh->copies);

  // Deleting the sender's account deletes every record of it, old and new
  // (the rows in steps, after the deletion).
  ASSERT_TRUE(store.DeleteAccount(sender));
  auto purged = store.PurgeDeletedAccounts(100);
  ASSERT_TRUE(purged);
  EXPECT_TRUE(purged->done);
  EXPECT_EQ(purged->send_records, 4u);
  EXPECT_EQ(QueryFile("SELECT count(*) FROM sends"), "0");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM send_copies"), "0");
}

// A file written at schema version 4 upgrades to 5: sends is rebuilt
// without its foreign key to accounts, keeping every record (copies in the
// row and in send_copies), its key, sends_by_time and send_copies' key to
// it; retries are still answered from the records; deleting the sender's
// account then leaves the rows to PurgeDeletedAccounts.
TEST_F(SqliteStoreTest, UpgradesAVersion4FileDroppingTheSendersForeignKey) {
  std::vector<std::string> statements;
  statements.push_back(
      "INSERT INTO devices (account_id, device_id, registration_id, name, credential_salt, "
      "credential_hash, created_ms, last_seen_ms) VALUES (x'11111111111111111111111111111111', 1, 1, "
      "'d', x'00', x'00', 1, 1), (x'22222222222222222222222222222222', 1, 2, 'd', x'00', x'00', 1, 1)");
  statements.push_back(
      "INSERT INTO device_queues VALUES (x'11111111111111111111111111111111', 1, 1, 0), "
      "(x'22222222222222222222222222222222', 1, 4, 3)");
  for (int server_id = 1; server_id <= 3; ++server_id) statements.push_back(QueuedMessageRow(server_id));
  // Send 1's copy in send_copies (recorded before version 2).
  statements.push_back(
      "INSERT INTO sends (client_message_id, sender_account, sender_device, server_timestamp_ms) VALUES "
      "(x'01000000000000000000000000000000', x'11111111111111111111111111111111', 1, 701)");
  statements.push_back(
      "INSERT INTO send_copies VALUES (x'01000000000000000000000000000000', "
      "x'11111111111111111111111111111111', 1, 0, x'22222222222222222222222222222222', 1, 1)");
  ASSERT_NO_FATAL_FAILURE(WriteFileAtVersion(4, statements));
  for (std::uint64_t server_id : {2u, 3u}) {
    const std::vector<QueuedCopy> copies{
        {{AccountId(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x22)).value()), DeviceId(1)}, server_id}};
    std::string hex;
    for (std::uint8_t byte : EncodeQueuedCopies(copies)) {
      static const char* digits = "0123456789abcdef";
      hex += digits[byte >> 4];
      hex += digits[byte & 15];
    }
    QueryFile(
        "INSERT INTO sends (client_message_id, sender_account, sender_device, server_timestamp_ms, "
        "copies) VALUES (x'0" +
        std::to_string(server_id) +
        "000000000000000000000000000000', x'11111111111111111111111111111111', 1, " +
        std::to_string(700 + server_id) + ", x'" + hex + "')");
  }
  EXPECT_EQ(QueryFile("SELECT count(*) FROM pragma_foreign_key_list('sends')"), "1");
  const std::string before = QueryFile(
      "SELECT group_concat(hex(client_message_id) || hex(sender_account) || sender_device || ':' || "
      "server_timestamp_ms || ':' || coalesce(hex(copies), '-'), ' ') FROM sends");

  auto opened = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_TRUE(opened) << opened.error().message;
  auto& store = **opened;
  EXPECT_EQ(QueryFile("SELECT max(version) FROM schema_migrations"), "5");
  EXPECT_EQ(QueryFile("SELECT group_concat(hex(client_message_id) || hex(sender_account) || sender_device || "
                      "':' || server_timestamp_ms || ':' || coalesce(hex(copies), '-'), ' ') FROM sends"),
            before);
  EXPECT_EQ(QueryFile("SELECT count(*) FROM send_copies"), "1");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM pragma_foreign_key_list('sends')"), "0");
  EXPECT_EQ(QueryFile("SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info("
                      "'sqlite_autoindex_sends_1') ORDER BY seqno)"),
            "client_message_id,sender_account,sender_device");
  EXPECT_EQ(
      QueryFile("SELECT count(*) FROM pragma_foreign_key_list('send_copies') WHERE \"table\" = 'sends'"),
      "3");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM sqlite_master WHERE name = 'sends_by_time'"), "1");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v5'"), "0");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM pragma_foreign_key_check"), "0");

  AccountId sender(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x11)).value());
  AccountId recipient(Uuid::FromBytes(std::vector<std::uint8_t>(16, 0x22)).value());
  const DeviceAddress recipient_device{recipient, DeviceId(1)};
  const std::vector<std::uint8_t> content{1, 2, 3};
  const OutgoingEnvelope envelope{recipient_device, 1, content};
  // Each old send's retry is a duplicate answered with its old copy.
  ASSERT_NO_FATAL_FAILURE(ExpectOldSendsAreDuplicates(store, sender, envelope));

  // The deletion only records the account; the rows go in the purge.
  ASSERT_TRUE(store.DeleteAccount(sender));
  EXPECT_EQ(QueryFile("SELECT count(*) FROM sends"), "3");
  EXPECT_EQ(QueryFile("SELECT hex(account_id) || ':' || deleted_ms FROM deleted_accounts"),
            "11111111111111111111111111111111:1000");
  auto purged = store.PurgeDeletedAccounts(2);
  ASSERT_TRUE(purged);
  EXPECT_FALSE(purged->done);
  purged = store.PurgeDeletedAccounts(2);
  ASSERT_TRUE(purged);
  EXPECT_TRUE(purged->done);
  EXPECT_EQ(purged->accounts_finished, 1u);
  EXPECT_EQ(QueryFile("SELECT count(*) FROM sends"), "0");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM send_copies"), "0");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM deleted_accounts"), "0");
}

// The records of deleted accounts, interleaved in key order with those of
// others, removed by PurgeDeletedAccounts with a small step: each call looks
// at no more than its max_rows records, the walk resumes where it stopped
// also across a restart (the store closed and opened again between steps),
// an account deleted during a walk waits for the next one, and every other
// record stays.
class DeletedAccountsPurgeTest : public SqliteStoreTest {
 protected:
  static constexpr int kAccounts = 4;
  static constexpr int kSendsEach = 30;

  void SetUp() override {
    SqliteStoreTest::SetUp();
    Reopen();
    for (int a = 0; a < kAccounts; ++a) {
      std::array<std::uint8_t, 16> bytes{};
      bytes.fill(static_cast<std::uint8_t>(0x10 * (a + 1)));
      accounts_.emplace_back(Uuid(bytes));
      ASSERT_TRUE(store_->CreateAccount({accounts_.back(), "user" + std::to_string(a),
                                         NewDevice{RegistrationId(1), "d", {{1}, {2}}}, std::nullopt}));
    }
    // Ids in time order across all senders, as clients make them: the
    // accounts' records alternate in the table.
    const std::vector<std::uint8_t> content{9};
    int sequence = 0;
    for (int n = 0; n < kSendsEach; ++n) {
      for (int a = 0; a < kAccounts; ++a) {
        ++sequence;
        const OutgoingEnvelope envelope{{accounts_[(a + 1) % kAccounts], DeviceId(1)}, 1, content};
        ASSERT_TRUE(store_->Enqueue({{accounts_[a], DeviceId(1)}, Id(sequence), std::span(&envelope, 1)}));
        senders_.push_back(a);
      }
      clock_.Advance(1);
    }
  }
  void TearDown() override {
    store_.reset();
    SqliteStoreTest::TearDown();
  }
  void Reopen() {
    store_.reset();
    auto opened = SqliteServerStore::Open(backend_.path(), clock_, {});
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }
  static ClientMessageId Id(int sequence) {
    std::array<std::uint8_t, 16> id{};
    id[0] = static_cast<std::uint8_t>(sequence >> 8);
    id[1] = static_cast<std::uint8_t>(sequence);
    return ClientMessageId(id);
  }
  // A retry of every send of account `a`: how many are answered as duplicates.
  int Duplicates(int a) {
    const std::vector<std::uint8_t> content{9};
    const OutgoingEnvelope envelope{{accounts_[(a + 1) % kAccounts], DeviceId(1)}, 1, content};
    int duplicates = 0;
    for (std::size_t i = 0; i < senders_.size(); ++i) {
      if (senders_[i] != a) continue;
      auto retry = store_->Enqueue(
          {{accounts_[a], DeviceId(1)}, Id(static_cast<int>(i) + 1), std::span(&envelope, 1)});
      EXPECT_TRUE(retry);
      if (retry && retry->duplicate) ++duplicates;
    }
    return duplicates;
  }
  std::string Records(int a) {
    std::string hex;
    for (int i = 0; i < 16; ++i) hex += std::string(1, "0123456789abcdef"[a + 1]) + "0";
    return QueryFile("SELECT count(*) FROM sends WHERE sender_account = x'" + hex + "'");
  }

  std::unique_ptr<SqliteServerStore> store_;
  std::vector<AccountId> accounts_;
  std::vector<int> senders_;  // the sending account of send i + 1
};

TEST_F(DeletedAccountsPurgeTest, RemovesTheRecordsInBoundedResumableSteps) {
  const int total = kAccounts * kSendsEach;
  ASSERT_EQ(QueryFile("SELECT count(*) FROM sends"), std::to_string(total));
  ASSERT_TRUE(store_->DeleteAccount(accounts_[0]));
  ASSERT_TRUE(store_->DeleteAccount(accounts_[2]));
  // Nothing of them is removed by the deletion itself.
  EXPECT_EQ(Records(0), std::to_string(kSendsEach));

  constexpr std::uint64_t kStep = 7;
  std::uint64_t examined = 0;
  std::uint64_t removed = 0;
  std::uint64_t finished = 0;
  int calls = 0;
  bool done = false;
  while (!done && calls < 1'000) {
    // A restart every third step: the walk goes on from where it was.
    if (calls % 3 == 2) {
      ASSERT_NO_FATAL_FAILURE(Reopen());
    }
    auto purged = store_->PurgeDeletedAccounts(kStep);
    ASSERT_TRUE(purged) << purged.error().message;
    EXPECT_LE(purged->rows_examined, kStep);
    EXPECT_LE(purged->send_records, purged->rows_examined);
    examined += purged->rows_examined;
    removed += purged->send_records;
    finished += purged->accounts_finished;
    done = purged->done;
    ++calls;
    if (!done) {
      EXPECT_EQ(QueryFile("SELECT count(*) FROM send_record_sweep"), "1");
    }
  }
  ASSERT_TRUE(done);
  // One walk over the table, never back to its start: each record once.
  EXPECT_EQ(examined, static_cast<std::uint64_t>(total));
  EXPECT_EQ(calls, (total + kStep - 1) / kStep);
  EXPECT_EQ(removed, 2u * kSendsEach);
  EXPECT_EQ(finished, 2u);
  EXPECT_EQ(Records(0), "0");
  EXPECT_EQ(Records(2), "0");
  EXPECT_EQ(Records(1), std::to_string(kSendsEach));
  EXPECT_EQ(Records(3), std::to_string(kSendsEach));
  EXPECT_EQ(QueryFile("SELECT count(*) FROM deleted_accounts"), "0");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM send_record_sweep"), "0");
  // The other accounts' sends are still answered from their records.
  EXPECT_EQ(Duplicates(1), kSendsEach);
  EXPECT_EQ(Duplicates(3), kSendsEach);
  auto idle = store_->PurgeDeletedAccounts(kStep);
  ASSERT_TRUE(idle);
  EXPECT_TRUE(idle->done);
  EXPECT_EQ(idle->rows_examined, 0u);
}

TEST_F(DeletedAccountsPurgeTest, AnAccountDeletedDuringAWalkWaitsForTheNext) {
  ASSERT_TRUE(store_->DeleteAccount(accounts_[0]));
  auto first = store_->PurgeDeletedAccounts(kAccounts * kSendsEach / 2);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->done);
  // The walk is half way: account 1's records behind it stay until a walk
  // that begins after its deletion passes them.
  ASSERT_TRUE(store_->DeleteAccount(accounts_[1]));
  auto second = store_->PurgeDeletedAccounts(kAccounts * kSendsEach);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->accounts_finished, 1u);
  EXPECT_FALSE(second->done);
  EXPECT_EQ(Records(0), "0");
  EXPECT_EQ(Records(1), std::to_string(kSendsEach / 2));
  EXPECT_EQ(QueryFile("SELECT count(*) FROM deleted_accounts"), "1");
  auto third = store_->PurgeDeletedAccounts(kAccounts * kSendsEach);
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->done);
  EXPECT_EQ(third->accounts_finished, 1u);
  EXPECT_EQ(Records(1), "0");
  EXPECT_EQ(Records(2), std::to_string(kSendsEach));
}

// The expiry purge meets records of a deleted account before
// PurgeDeletedAccounts did: it removes them, counted apart from the
// records of live senders.
TEST_F(DeletedAccountsPurgeTest, ExpiryCountsRecordsOfDeletedAccountsApart) {
  ASSERT_TRUE(store_->DeleteAccount(accounts_[3]));
  // The first ten milliseconds: ten sends of each account.
  auto purged = store_->PurgeExpiredMessages(1'010, kMaxPurgeBatch);
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->send_records, 30u);
  EXPECT_EQ(purged->deleted_account_records, 10u);
  EXPECT_EQ(Records(3), std::to_string(kSendsEach - 10));
  for (int step = 0; step < 10; ++step) {
    auto rest = store_->PurgeDeletedAccounts(kMaxPurgeBatch);
    ASSERT_TRUE(rest);
    if (rest->done) break;
  }
  EXPECT_EQ(Records(3), "0");
  EXPECT_EQ(QueryFile("SELECT count(*) FROM deleted_accounts"), "0");
}

// Commits that never pause still let SQLite start the WAL over: the writer
// finishes what the checkpoint thread left, so the WAL stays far below what
// was written through it.
TEST_F(SqliteStoreTest, TheWalStartsOverUnderContinuousCommits) {
  auto store = OpenWithSmallCheckpoints();
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(CreateSenderAndRecipient(*store));
  // 60 sends of 128 KiB, each acknowledged (deleted) right away: about
  // 1,950 WAL pages (7.7 MiB) written in all, below the writer's own
  // checkpoint at 2,000; the WAL starts over from about 500 pages.
  // Every 10 sends (about 330 pages, past the mark) the test lets the
  // checkpointer's thread finish the checkpoint they asked for, as a relay's
  // pace would; on a loaded machine it could otherwise be starved through
  // all 60 and the WAL grow past the limit below.
  std::uint64_t checkpoints = store->background_checkpoints();
  for (int n = 1; n <= 60; ++n) {
    auto queued = EnqueueLarge(*store, n);
    ASSERT_TRUE(queued);
    ASSERT_TRUE(store->DeleteMessage({recipient_, DeviceId(1)}, queued->copies.front().server_id));
    if (n % 10 != 0) continue;
    for (int i = 0; i < 2000 && store->background_checkpoints() == checkpoints; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GT(store->background_checkpoints(), checkpoints) << "after " << n << " sends";
    checkpoints = store->background_checkpoints();
  }
  const auto wal_bytes = std::filesystem::file_size(backend_.path() + "-wal");
  EXPECT_LT(wal_bytes, 4u * 1024 * 1024);
  EXPECT_GE(store->background_checkpoints(), 1u);
}

TEST_F(SqliteStoreTest, DamagedSendCopiesAreCorrupt) {
  auto opened = SqliteServerStore::Open(backend_.path(), clock_, {});
  ASSERT_TRUE(opened);
  auto& store = **opened;
  ASSERT_NO_FATAL_FAILURE(CreateSenderAndRecipient(store));
  const std::vector<std::uint8_t> content{1};
  const OutgoingEnvelope envelope{{recipient_, DeviceId(1)}, 1, content};
  const std::array<std::uint8_t, 16> id{7};
  const EnqueueRequest send{{sender_, DeviceId(1)}, ClientMessageId(id), std::span(&envelope, 1)};
  ASSERT_TRUE(store.Enqueue(send));
  QueryFile("UPDATE sends SET copies = substr(copies, 1, 27)");
  auto retry = store.Enqueue(send);
  ASSERT_FALSE(retry);
  EXPECT_EQ(retry.error().code, StoreErrc::kCorrupt);
}

TEST(StoredCopiesTest, RoundTripAndDamage) {
  const AccountId a(Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950e").value());
  const AccountId b(Uuid::Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7").value());
  const std::vector<QueuedCopy> copies{{{a, DeviceId(1)}, 5}, {{b, DeviceId(7)}, (1ull << 40) + 3}};
  const std::vector<std::uint8_t> stored = EncodeQueuedCopies(copies);
  ASSERT_EQ(stored.size(), 2 * kStoredCopyBytes);
  auto decoded = DecodeQueuedCopies(stored);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, copies);

  auto empty = DecodeQueuedCopies({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());

  auto truncated = DecodeQueuedCopies(Bytes(stored).first(stored.size() - 1));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, StoreErrc::kCorrupt);

  std::vector<std::uint8_t> too_large = stored;
  too_large[kStoredCopyBytes - 8] = 0x80;  // server id of the first copy >= 2^63
  auto out_of_range = DecodeQueuedCopies(too_large);
  ASSERT_FALSE(out_of_range);
  EXPECT_EQ(out_of_range.error().code, StoreErrc::kCorrupt);
}

}  // namespace
}  // namespace parley::store::conformance
