// ParseStoreUrl and OpenServerStore's choice of backend.
#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "store/server_store.h"

namespace parley::store {
namespace {

void ExpectLocation(std::string_view url, StoreBackend backend, std::string_view target) {
  auto location = ParseStoreUrl(url);
  ASSERT_TRUE(location) << url;
  EXPECT_EQ(location->backend, backend) << url;
  EXPECT_EQ(location->target, target) << url;
}

void ExpectInvalid(std::string_view url) {
  auto location = ParseStoreUrl(url);
  ASSERT_FALSE(location) << url;
  EXPECT_EQ(location.error().code, StoreErrc::kInvalidArgument) << url;
}

TEST(StoreUrl, SqliteForms) {
  ExpectLocation("sqlite:///var/lib/parley/parley.db", StoreBackend::kSqlite, "/var/lib/parley/parley.db");
  ExpectLocation("sqlite:data/parley.db", StoreBackend::kSqlite, "data/parley.db");
  ExpectLocation("/var/lib/parley/parley.db", StoreBackend::kSqlite, "/var/lib/parley/parley.db");
  ExpectLocation("parley.db", StoreBackend::kSqlite, "parley.db");
  // A colon inside a bare path is not a scheme.
  ExpectLocation("data/a:b.db", StoreBackend::kSqlite, "data/a:b.db");
}

TEST(StoreUrl, PostgresForms) {
  ExpectLocation("postgresql://parley@127.0.0.1:5432/parley", StoreBackend::kPostgres,
                 "postgresql://parley@127.0.0.1:5432/parley");
  ExpectLocation("postgres://db.example/parley?sslmode=require", StoreBackend::kPostgres,
                 "postgres://db.example/parley?sslmode=require");
}

TEST(StoreUrl, RejectsTheRest) {
  ExpectInvalid("");
  ExpectInvalid("sqlite://");
  ExpectInvalid("sqlite:///");
  ExpectInvalid("sqlite:");
  ExpectInvalid("sqlite://host/file.db");
  ExpectInvalid("mysql://root@localhost/parley");
  ExpectInvalid("file:///tmp/x.db");
}

TEST(OpenServerStore, OpensSqliteByUrlAndByPath) {
  std::string pattern = (std::filesystem::temp_directory_path() / "parley-store-url-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path dir = pattern;
  ManualClock clock(1);
  {
    auto by_url = OpenServerStore("sqlite://" + (dir / "a.db").string(), clock);
    ASSERT_TRUE(by_url);
    EXPECT_EQ((*by_url)->backend_name(), "sqlite");
    auto by_path = OpenServerStore((dir / "b.db").string(), clock);
    ASSERT_TRUE(by_path);
    EXPECT_EQ((*by_path)->backend_name(), "sqlite");
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "a.db"));
  EXPECT_TRUE(std::filesystem::exists(dir / "b.db"));
  auto bad = OpenServerStore("redis://localhost", clock);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, StoreErrc::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::store
