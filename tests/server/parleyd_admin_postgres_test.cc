// `parleyd admin` on a PostgreSQL store: the real binary, pointed by its
// configuration at a fresh schema on the PostgreSQL server that the CTest
// fixture store_postgres started, next to a store the test opens itself.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "handler_fixture.h"
#include "parleyd_child.h"
#include "store/server_store.h"

namespace parley::server {
namespace {

using namespace std::chrono_literals;
using namespace parleyd_child;

// Runs parleyd with `args` to its end (at most 30 s); stdout.txt and
// stderr.txt in `dir` hold this run's output only. Returns the exit status,
// -1 on a timeout.
int RunParleyd(const std::filesystem::path& dir, const std::vector<std::string>& args) {
  std::filesystem::remove(dir / "stdout.txt");
  std::filesystem::remove(dir / "stderr.txt");
  return WaitForExit(StartParleyd(dir, args), 30s);
}

TEST(ParleydAdminOnPostgres, CommandsWorkOnThePostgresStore) {
  char pattern[] = "/tmp/parleyd-admin-pg-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  handler_testing::TestDatabase database;
  ASSERT_NO_FATAL_FAILURE(database.Create(dir));
  std::ofstream(dir / "parleyd.toml") << "[server]\ndata_dir = \"" << (dir / "data").string()
                                      << "\"\n[store]\nurl = \"" << database.url() << "\"\n";
  const std::string config = (dir / "parleyd.toml").string();

  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "stats"}), 0) << ReadFile(dir / "stderr.txt");
  EXPECT_NE(ReadFile(dir / "stdout.txt").find("store=postgresql accounts=0 disabled_accounts=0 devices=0"),
            std::string::npos)
      << ReadFile(dir / "stdout.txt");
  EXPECT_NE(ReadFile(dir / "stderr.txt").find("parley_rate_limit_hits_total"), std::string::npos);

  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "create-invitation"}), 0)
      << ReadFile(dir / "stderr.txt");
  EXPECT_EQ(ReadFile(dir / "stdout.txt").size(), 33u);  // 32 hex characters and a newline

  SystemClock clock;
  auto store = store::OpenServerStore(database.url(), clock);
  ASSERT_TRUE(store) << store.error().message;
  crypto::SystemRng rng;
  store::NewAccount account;
  account.id = AccountId(Uuid::Random(rng));
  account.username = "alice";
  account.primary.registration_id = RegistrationId(1);
  account.primary.credential = {std::vector<std::uint8_t>(16, 1), std::vector<std::uint8_t>(32, 2)};
  ASSERT_TRUE((*store)->CreateAccount(account));

  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "list-accounts"}), 0)
      << ReadFile(dir / "stderr.txt");
  EXPECT_NE(ReadFile(dir / "stdout.txt").find(account.id.value().ToString() + " alice "), std::string::npos)
      << ReadFile(dir / "stdout.txt");
  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "disable-account", "alice"}), 0)
      << ReadFile(dir / "stderr.txt");
  EXPECT_TRUE((*store)->GetAccountByUsername("alice")->disabled);
  EXPECT_EQ(RunParleyd(dir, {"--config", config, "admin", "disable-account", "nobody"}), 1);
  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "stats"}), 0) << ReadFile(dir / "stderr.txt");
  EXPECT_NE(ReadFile(dir / "stdout.txt").find("store=postgresql accounts=1 disabled_accounts=1 devices=1"),
            std::string::npos)
      << ReadFile(dir / "stdout.txt");

  // delete-account: refused without --yes, then the account, its device and
  // its name are gone from the PostgreSQL store.
  EXPECT_EQ(RunParleyd(dir, {"--config", config, "admin", "delete-account", "alice"}), 1);
  EXPECT_NE(ReadFile(dir / "stderr.txt").find("--yes"), std::string::npos) << ReadFile(dir / "stderr.txt");
  EXPECT_TRUE((*store)->GetAccount(account.id));
  EXPECT_EQ(RunParleyd(dir, {"--config", config, "admin", "delete-account", "nobody", "--yes"}), 1);
  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "delete-account", "alice", "--yes"}), 0)
      << ReadFile(dir / "stderr.txt");
  EXPECT_EQ(ReadFile(dir / "stdout.txt"), "alice deleted (" + account.id.value().ToString() + ")\n");
  EXPECT_EQ((*store)->GetAccount(account.id).error().code, store::StoreErrc::kNotFound);
  EXPECT_EQ(*(*store)->FindMissingAccounts(std::vector<AccountId>{account.id}),
            std::vector<AccountId>{account.id});
  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "stats"}), 0) << ReadFile(dir / "stderr.txt");
  EXPECT_NE(ReadFile(dir / "stdout.txt").find("store=postgresql accounts=0 disabled_accounts=0 devices=0"),
            std::string::npos)
      << ReadFile(dir / "stdout.txt");
  account.id = AccountId(Uuid::Random(rng));
  EXPECT_TRUE((*store)->CreateAccount(account));  // the name is free again

  store->reset();
  database.Destroy();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::server
