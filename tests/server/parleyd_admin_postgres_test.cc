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
#include "store/server_store.h"

namespace parley::server {
namespace {

using namespace std::chrono_literals;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs parleyd with `args` to its end (at most 30 s); stdout and stderr go to
// out.txt and err.txt in `dir`, replaced. Returns the exit status, -1 on a
// timeout.
int RunParleyd(const std::filesystem::path& dir, const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open((dir / "out.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open((dir / "err.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(PARLEYD_PATH));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(PARLEYD_PATH, argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(20ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
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

  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "stats"}), 0) << ReadFile(dir / "err.txt");
  EXPECT_NE(ReadFile(dir / "out.txt").find("store=postgresql accounts=0 disabled_accounts=0 devices=0"),
            std::string::npos)
      << ReadFile(dir / "out.txt");
  EXPECT_NE(ReadFile(dir / "err.txt").find("parley_rate_limit_hits_total"), std::string::npos);

  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "create-invitation"}), 0)
      << ReadFile(dir / "err.txt");
  EXPECT_EQ(ReadFile(dir / "out.txt").size(), 33u);  // 32 hex characters and a newline

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

  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "list-accounts"}), 0) << ReadFile(dir / "err.txt");
  EXPECT_NE(ReadFile(dir / "out.txt").find(account.id.value().ToString() + " alice "), std::string::npos)
      << ReadFile(dir / "out.txt");
  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "disable-account", "alice"}), 0)
      << ReadFile(dir / "err.txt");
  EXPECT_TRUE((*store)->GetAccountByUsername("alice")->disabled);
  EXPECT_EQ(RunParleyd(dir, {"--config", config, "admin", "disable-account", "nobody"}), 1);
  ASSERT_EQ(RunParleyd(dir, {"--config", config, "admin", "stats"}), 0) << ReadFile(dir / "err.txt");
  EXPECT_NE(ReadFile(dir / "out.txt").find("store=postgresql accounts=1 disabled_accounts=1 devices=1"),
            std::string::npos)
      << ReadFile(dir / "out.txt");

  store->reset();
  database.Destroy();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::server
