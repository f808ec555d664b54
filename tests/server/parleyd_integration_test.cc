// The real parleyd binary: started with a temporary data directory on
// 127.0.0.1 port 0, checked over HTTPS, stopped with SIGTERM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "handler_fixture.h"
#include "parleyd_child.h"
#include "server/self_signed_certificate.h"
#include "test_client.h"

namespace parley::server {
namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;
using namespace parleyd_child;

class ParleydTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parleyd-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ / "parleyd.toml")
        << "[server]\nlisten_address = \"127.0.0.1\"\nport = 0\nthreads = 2\n"
        << "data_dir = \"" << (dir_ / "data").string() << "\"\n"
        << "drain_timeout_seconds = 5\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // parleyd serving with the account check every second; its port (0 when
  // it did not start), its pid in `server_`.
  std::uint16_t ServeCheckingAccountsEverySecond() {
    std::ofstream(dir_ / "parleyd.toml", std::ios::app) << "disabled_account_check_seconds = 1\n";
    const auto port_file = dir_ / "port";
    server_ = StartParleyd(dir_, {"--config", config(), "serve", "--port-file", port_file.string()});
    return WaitForPort(server_, port_file, 20s);
  }
  std::string config() const { return (dir_ / "parleyd.toml").string(); }

  // A registration of `username` with fresh keys.
  static wire::RegisterRequest Registration(const std::string& username) {
    const handler_testing::DeviceKeys keys = handler_testing::MakeKeys(20);
    wire::RegisterRequest request;
    request.username = username;
    request.registration_id = RegistrationId(1);
    request.identity_key = keys.identity.public_key.Serialize();
    request.signed_prekey = keys.signed_prekey;
    request.prekeys = keys.prekeys;
    return request;
  }

  std::filesystem::path dir_;
  pid_t server_ = -1;
};

TEST_F(ParleydTest, HelpExitsZero) {
  const pid_t pid = StartParleyd(dir_, {"--help"});
  EXPECT_EQ(WaitForExit(pid, 10s), 0);
  EXPECT_NE(ReadFile(dir_ / "stdout.txt").find("serve"), std::string::npos);
}

TEST_F(ParleydTest, InvalidConfigurationExitsNonZero) {
  std::ofstream(dir_ / "bad.toml") << "[limits]\nmax_frame_bytes = 1\n";
  const pid_t pid = StartParleyd(dir_, {"--config", (dir_ / "bad.toml").string(), "serve"});
  EXPECT_EQ(WaitForExit(pid, 10s), 2);
  EXPECT_NE(ReadFile(dir_ / "stderr.txt").find("limits.max_frame_bytes"), std::string::npos);
}

TEST_F(ParleydTest, ServesHealthAndStopsCleanlyOnSigterm) {
  std::string first_fingerprint;
  for (int run = 0; run < 2; ++run) {
    const auto port_file = dir_ / ("port-" + std::to_string(run));
    const pid_t pid = StartParleyd(
        dir_, {"--config", (dir_ / "parleyd.toml").string(), "serve", "--port-file", port_file.string()});
    const std::uint16_t port = WaitForPort(pid, port_file, 20s);
    ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");

    testing::HttpsClient client(port);
    ASSERT_FALSE(client.Connect());
    const std::string fingerprint = testing::PeerFingerprint(client.native_ssl());
    boost::system::error_code ec;
    auto health = client.Request(http::verb::get, "/healthz", ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(health.result_int(), 200);
    EXPECT_EQ(health.body(), "ok\n");

    // The certificate is generated on the first start and reused after.
    auto stored = CertificateFingerprint(dir_ / "data" / "tls-certificate.pem");
    ASSERT_TRUE(stored);
    EXPECT_EQ(fingerprint, *stored);
    if (run == 0) {
      first_fingerprint = fingerprint;
      EXPECT_NE(ReadFile(dir_ / "stdout.txt").find(fingerprint), std::string::npos);
    } else {
      EXPECT_EQ(fingerprint, first_fingerprint);
    }

    ASSERT_EQ(kill(pid, SIGTERM), 0);
    EXPECT_EQ(WaitForExit(pid, 20s), 0) << ReadFile(dir_ / "stderr.txt");
  }
  const std::string log = ReadFile(dir_ / "stderr.txt");
  EXPECT_NE(log.find("event=listening address=127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("event=open_file_limit"), std::string::npos) << log;
  EXPECT_NE(log.find("event=stopped drained=true"), std::string::npos) << log;
}

TEST_F(ParleydTest, AdminCommandsWorkOnTheStore) {
  const std::string config = (dir_ / "parleyd.toml").string();
  pid_t pid = StartParleyd(dir_, {"--config", config, "admin", "create-invitation", "--valid-days", "7"});
  ASSERT_EQ(WaitForExit(pid, 20s), 0) << ReadFile(dir_ / "stderr.txt");
  const std::string token = ReadFile(dir_ / "stdout.txt");
  EXPECT_EQ(token.size(), 33u) << token;  // 32 hex characters and a newline
  EXPECT_NE(ReadFile(dir_ / "stderr.txt").find("valid until"), std::string::npos);

  pid = StartParleyd(dir_, {"--config", config, "admin", "stats"});
  ASSERT_EQ(WaitForExit(pid, 20s), 0) << ReadFile(dir_ / "stderr.txt");
  EXPECT_NE(ReadFile(dir_ / "stdout.txt").find("store=sqlite accounts=0 disabled_accounts=0 devices=0"),
            std::string::npos);

  pid = StartParleyd(dir_, {"--config", config, "admin", "disable-account", "nobody"});
  EXPECT_EQ(WaitForExit(pid, 20s), 1);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "data" / "parley.db"));

  pid = StartParleyd(dir_, {"--config", config, "admin"});
  EXPECT_NE(WaitForExit(pid, 20s), 0);  // a subcommand is required
}

// `parleyd admin disable-account` is a separate process that writes the
// store; the running server closes the account's connection with 1008 at its
// next check (every second here).
TEST_F(ParleydTest, AdminDisableAccountClosesTheRunningServersConnections) {
  const std::string config = this->config();
  const std::uint16_t port = ServeCheckingAccountsEverySecond();
  ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");
  const pid_t server = server_;

  const wire::RegisterRequest request = Registration("alice");
  handler_testing::WireClient client(port);
  ASSERT_EQ(client.Call(request).status, wire::ResponseStatus::kOk);

  const pid_t admin = StartParleyd(dir_, {"--config", config, "admin", "disable-account", "alice"});
  ASSERT_EQ(WaitForExit(admin, 20s), 0) << ReadFile(dir_ / "stderr.txt");
  EXPECT_EQ(client.ReadUntilClosed(), 1008);
  EXPECT_EQ(client.socket().close_reason().reason, "account disabled");

  ASSERT_EQ(kill(server, SIGTERM), 0);
  EXPECT_EQ(WaitForExit(server, 20s), 0) << ReadFile(dir_ / "stderr.txt");
  EXPECT_NE(ReadFile(dir_ / "stderr.txt").find("event=disabled_account_connections_closed connections=1"),
            std::string::npos);
}

// `parleyd admin delete-account` refuses without --yes; with it, it deletes
// the account in the store, and the running server closes the account's
// connection with 1008 at its next check (every second here). The name is
// free again at once.
TEST_F(ParleydTest, AdminDeleteAccountClosesTheRunningServersConnectionsAndFreesTheName) {
  const std::string config = this->config();
  const std::uint16_t port = ServeCheckingAccountsEverySecond();
  ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");
  const pid_t server = server_;

  const wire::RegisterRequest request = Registration("alice");
  handler_testing::WireClient client(port);
  ASSERT_EQ(client.Call(request).status, wire::ResponseStatus::kOk);
  handler_testing::WireClient bob(port);
  const wire::Response bob_registered = bob.Call(Registration("bob"));
  ASSERT_EQ(bob_registered.status, wire::ResponseStatus::kOk);
  // Alice's send leaves an idempotence record, which the command removes.
  wire::SendMessagesRequest send;
  send.recipient = std::get<wire::RegisterResult>(bob_registered.body).account_id;
  send.client_message_id = handler_testing::RandomMessageId();
  send.messages.push_back({DeviceId(1), RegistrationId(1), 3, {'h', 'i'}});
  ASSERT_EQ(client.Call(send).status, wire::ResponseStatus::kOk);

  pid_t admin = StartParleyd(dir_, {"--config", config, "admin", "delete-account", "alice"});
  EXPECT_EQ(WaitForExit(admin, 20s), 1);
  EXPECT_NE(ReadFile(dir_ / "stderr.txt").find("run the command again with --yes"), std::string::npos)
      << ReadFile(dir_ / "stderr.txt");
  ASSERT_EQ(client.Call(wire::PingRequest{}).status, wire::ResponseStatus::kOk);
  admin = StartParleyd(dir_, {"--config", config, "admin", "delete-account", "nobody", "--yes"});
  EXPECT_EQ(WaitForExit(admin, 20s), 1);

  admin = StartParleyd(dir_, {"--config", config, "admin", "delete-account", "alice", "--yes"});
  ASSERT_EQ(WaitForExit(admin, 20s), 0) << ReadFile(dir_ / "stderr.txt");
  EXPECT_NE(ReadFile(dir_ / "stdout.txt").find("alice deleted ("), std::string::npos)
      << ReadFile(dir_ / "stdout.txt");
  EXPECT_NE(ReadFile(dir_ / "stderr.txt").find("idempotence records of deleted accounts removed: 1\n"),
            std::string::npos)
      << ReadFile(dir_ / "stderr.txt");
  EXPECT_EQ(client.ReadUntilClosed(), 1008);
  EXPECT_EQ(client.socket().close_reason().reason, "account deleted");
  ASSERT_EQ(bob.Call(wire::PingRequest{}).status, wire::ResponseStatus::kOk);

  handler_testing::WireClient again(port);
  EXPECT_EQ(again.Call(request).status, wire::ResponseStatus::kOk);

  // Closed by the clients, so the shutdown has nothing to drain.
  EXPECT_FALSE(again.socket().Close());
  EXPECT_FALSE(bob.socket().Close());
  ASSERT_EQ(kill(server, SIGTERM), 0);
  EXPECT_EQ(WaitForExit(server, 20s), 0) << ReadFile(dir_ / "stderr.txt");
  EXPECT_NE(ReadFile(dir_ / "stderr.txt").find("event=deleted_account_connections_closed connections=1"),
            std::string::npos);
}

}  // namespace
}  // namespace parley::server
