// The conformance suite on the PostgreSQL backend, against a real PostgreSQL
// 15 that CTest starts on loopback (scripts/postgres-test-server, fixture
// store_postgres), plus what only PostgreSQL has: connections, a shared
// schema, concurrent migrations. Each test gets its own schema.
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres_server_store.h"
#include "store_conformance_test.h"

namespace parley::store::conformance {
namespace {

// The URL the fixture wrote. Missing is a failure: these tests never skip.
std::string ServerUrl() {
  const char* file = std::getenv("PARLEY_TEST_POSTGRES_URL_FILE");
  if (file == nullptr) {
    ADD_FAILURE()
        << "PARLEY_TEST_POSTGRES_URL_FILE is not set (run through ctest: the store_postgres fixture "
           "starts the server)";
    return "";
  }
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  if (url.empty()) ADD_FAILURE() << "no PostgreSQL URL in " << file << " (did store.postgres.start fail?)";
  return url;
}

// A fresh schema per test; the store finds its tables through search_path.
class PostgresBackend final : public StoreBackend {
 public:
  void Create() override {
    server_url_ = ServerUrl();
    ASSERT_FALSE(server_url_.empty());
    static std::atomic<int> counter{0};
    schema_ = "t" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    try {
      pqxx::connection admin(server_url_);
      pqxx::work txn(admin);
      txn.exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
      txn.exec("CREATE SCHEMA " + schema_);
      txn.commit();
    } catch (const std::exception& e) {
      FAIL() << "cannot prepare a schema on " << server_url_ << ": " << e.what();
    }
  }
  StoreResult<std::unique_ptr<ServerStore>> Open(const Clock& clock, const StoreOptions& options) override {
    return OpenServerStore(url(), clock, options);
  }
  void Destroy() override {
    if (schema_.empty()) return;
    try {
      pqxx::connection admin(server_url_);
      pqxx::work txn(admin);
      txn.exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
      txn.commit();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot drop schema " << schema_ << ": " << e.what();
    }
  }
  // application_name tags this test's connections (other tests run in
  // parallel on the same database).
  std::string url() const {
    return server_url_ + "?options=-csearch_path%3D" + schema_ + "&application_name=" + schema_;
  }
  const std::string& server_url() const { return server_url_; }
  const std::string& schema() const { return schema_; }

 private:
  std::string server_url_;
  std::string schema_;
};

std::unique_ptr<StoreBackend> MakePostgresBackend() { return std::make_unique<PostgresBackend>(); }

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest,
                         ::testing::Values(BackendParam{"Postgres", &MakePostgresBackend}),
                         [](const auto& instance) { return std::string(instance.param.name); });

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { backend_.Create(); }
  void TearDown() override { backend_.Destroy(); }

  std::string QueryOne(const std::string& sql) {
    pqxx::connection connection(backend_.url());
    pqxx::work txn(connection);
    const pqxx::result rows = txn.exec(sql);
    txn.commit();
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].as<std::string>();
  }

  ManualClock clock_{1'000};
  PostgresBackend backend_;
};

TEST_F(PostgresStoreTest, OpensThroughTheFactoryAndMigratesOnce) {
  {
    auto store = OpenServerStore(backend_.url(), clock_);
    ASSERT_TRUE(IsOk(store));
    EXPECT_EQ((*store)->backend_name(), "postgresql");
  }
  clock_.Advance(5);
  ASSERT_TRUE(IsOk(OpenServerStore(backend_.url(), clock_)));
  EXPECT_EQ(QueryOne("SELECT count(*) FROM schema_migrations"), "1");
  EXPECT_EQ(QueryOne("SELECT applied_ms FROM schema_migrations"), "1000");
}

TEST_F(PostgresStoreTest, ConcurrentOpensMigrateOnce) {
  std::atomic<int> opened{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto store = OpenServerStore(backend_.url(), clock_);
      EXPECT_TRUE(IsOk(store));
      if (store) ++opened;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(opened.load(), 4);
  EXPECT_EQ(QueryOne("SELECT count(*) FROM schema_migrations"), "1");
}

TEST_F(PostgresStoreTest, RefusesASchemaNewerThanTheBuild) {
  ASSERT_TRUE(IsOk(OpenServerStore(backend_.url(), clock_)));
  QueryOne("INSERT INTO schema_migrations (version, applied_ms) VALUES (999, 0)");
  auto store = OpenServerStore(backend_.url(), clock_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreErrc::kIncompatibleSchema);
}

TEST_F(PostgresStoreTest, UnreachableServerIsUnavailable) {
  // A port that was free a moment ago: nothing listens there.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);
  close(fd);
  auto store =
      OpenServerStore("postgresql://parley_test@127.0.0.1:" + std::to_string(port) + "/parley_test", clock_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, StoreErrc::kUnavailable);
}

TEST_F(PostgresStoreTest, RecoversWhenTheServerDropsItsConnections) {
  StoreOptions options;
  options.postgres_pool_size = 2;
  auto opened = OpenServerStore(backend_.url(), clock_, options);
  ASSERT_TRUE(IsOk(opened));
  ServerStore& store = **opened;
  const AccountId id(Uuid::Parse("0f8fad5b-d9cb-469f-a165-70867728950e").value());
  ASSERT_TRUE(IsOk(store.CreateAccount({id, "user", {RegistrationId(1), "d", {{1}, {2}}}, std::nullopt})));
  // What a database restart does to the pool: every connection is closed.
  {
    pqxx::connection admin(backend_.server_url());
    pqxx::work txn(admin);
    const auto killed =
        txn.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                        backend_.schema());
    txn.commit();
    EXPECT_GE(killed.size(), 1u);
  }
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(IsOk(store.GetAccount(id)));
  EXPECT_TRUE(IsOk(store.ChangeUsername(id, "renamed")));
  EXPECT_EQ(store.GetAccount(id)->username, "renamed");
}

}  // namespace
}  // namespace parley::store::conformance
