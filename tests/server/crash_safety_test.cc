// Crash safety of the real parleyd on SQLite: while senders keep sends in
// flight, parleyd is killed with SIGKILL and restarted on the same data
// directory. Every send it had acknowledged must then be delivered to the
// recipient exactly once; sends it never answered may be delivered or not,
// but never twice, also when the senders retry everything after the restart
// (idempotence on the client message id survives the crash).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "handler_fixture.h"

namespace parley::server {
namespace {

using namespace handler_testing;
using namespace std::chrono_literals;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// parleyd serving `config`, output appended to files in `dir`.
pid_t StartParleyd(const std::filesystem::path& dir, const std::filesystem::path& config,
                   const std::filesystem::path& port_file) {
  std::filesystem::remove(port_file);
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open((dir / "stdout.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int err = open((dir / "stderr.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    const std::string config_arg = config.string();
    const std::string port_arg = port_file.string();
    std::vector<char*> argv = {const_cast<char*>(PARLEYD_PATH),
                               const_cast<char*>("--config"),
                               const_cast<char*>(config_arg.c_str()),
                               const_cast<char*>("serve"),
                               const_cast<char*>("--port-file"),
                               const_cast<char*>(port_arg.c_str()),
                               nullptr};
    execv(PARLEYD_PATH, argv.data());
    _exit(127);
  }
  return pid;
}

std::uint16_t WaitForPort(pid_t pid, const std::filesystem::path& port_file) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(port_file)) return static_cast<std::uint16_t>(std::stoi(ReadFile(port_file)));
    if (waitpid(pid, nullptr, WNOHANG) == pid) return 0;
    std::this_thread::sleep_for(20ms);
  }
  return 0;
}

void Kill(pid_t pid, int signal) {
  kill(pid, signal);
  waitpid(pid, nullptr, 0);
}

std::string IdKey(const wire::ClientMessageId& id) { return std::string(id.begin(), id.end()); }

// One sender connection that keeps up to `window` sends in flight until the
// server goes away or `stop` is set. Records which sends were acknowledged.
struct Sender {
  Sender(std::uint16_t port, DeviceLogin sender_login, DeviceLogin recipient_login)
      : socket(port), login(std::move(sender_login)), recipient(std::move(recipient_login)) {}

  bool Send(const wire::SendMessagesRequest& send) {
    wire::Request request{next_id++, send};
    auto bytes = wire::EncodeFrame(request);
    if (!bytes) return false;
    in_flight[request.id] = send.client_message_id;
    return !socket.SendBinary(std::string(bytes->begin(), bytes->end()));
  }

  // The next response; pushes (QueueEmpty after authenticating) are skipped.
  bool ReadResponse(wire::Response& response) {
    for (int skipped = 0; skipped < 8; ++skipped) {
      std::string message;
      if (socket.Read(message)) return false;
      auto frame =
          wire::DecodeServerFrame({reinterpret_cast<const std::uint8_t*>(message.data()), message.size()});
      if (!frame) return false;
      if (std::holds_alternative<wire::Response>(*frame)) {
        response = std::get<wire::Response>(*frame);
        return true;
      }
    }
    return false;
  }

  bool Authenticate() {
    if (socket.Connect()) return false;
    auto bytes = wire::EncodeFrame(
        wire::Request{next_id++, wire::AuthenticateRequest{login.account, login.device, login.credential}});
    if (!bytes || socket.SendBinary(std::string(bytes->begin(), bytes->end()))) return false;
    wire::Response response;
    return ReadResponse(response) && response.status == ResponseStatus::kOk;
  }

  // Sends fresh messages, `window` at a time, until the connection fails or
  // `stop`. Returns after the first failure.
  void Run(const std::atomic<bool>& stop, std::size_t window) {
    std::size_t outstanding = 0;
    while (!stop.load()) {
      while (outstanding < window) {
        wire::SendMessagesRequest send;
        send.recipient = recipient.account;
        send.client_message_id = RandomMessageId();
        send.messages.push_back({recipient.device, RegistrationId(1234), 3, {'m'}});
        {
          std::lock_guard lock(mutex);
          sent.push_back(send.client_message_id);
        }
        if (!Send(send)) return;
        ++outstanding;
      }
      wire::Response response;
      if (!ReadResponse(response)) return;
      --outstanding;
      auto it = in_flight.find(response.id);
      if (it == in_flight.end()) continue;
      if (response.status == ResponseStatus::kOk) {
        std::lock_guard lock(mutex);
        acked.insert(IdKey(it->second));
      }
      in_flight.erase(it);
    }
  }

  testing::WebSocketClient socket;
  DeviceLogin login;
  DeviceLogin recipient;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, wire::ClientMessageId> in_flight;
  std::mutex mutex;
  std::vector<wire::ClientMessageId> sent;
  std::set<std::string> acked;
};

// Run with one event-loop thread (no strands; the writer's answers and
// pushes reach the loop in one post per commit) and with two (a strand per
// connection, a post per frame).
class CrashSafetyTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parleyd-crash-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    config_ = dir_ / "parleyd.toml";
    std::ofstream(config_)
        << "[server]\nlisten_address = \"127.0.0.1\"\nport = 0\nthreads = " << GetParam() << "\n"
        << "data_dir = \"" << (dir_ / "data").string() << "\"\n"
        << "drain_timeout_seconds = 2\n"
        << "[rate_limits]\n"
        << "messages_per_sender_recipient_pair = { capacity = 0, refill_per_hour = 0 }\n"
        << "unauthenticated_requests_per_address = { capacity = 0, refill_per_hour = 0 }\n";
  }
  void TearDown() override {
    if (pid_ > 0) Kill(pid_, SIGKILL);
    std::filesystem::remove_all(dir_);
  }

  std::uint16_t Start(int run) {
    pid_ = StartParleyd(dir_, config_, dir_ / ("port-" + std::to_string(run)));
    return WaitForPort(pid_, dir_ / ("port-" + std::to_string(run)));
  }

  DeviceLogin Register(std::uint16_t port, const std::string& username) {
    WireClient client(port);
    DeviceKeys keys = MakeKeys(20);
    wire::RegisterRequest request;
    request.username = username;
    request.registration_id = RegistrationId(1234);
    request.identity_key = keys.identity.public_key.Serialize();
    request.signed_prekey = keys.signed_prekey;
    request.prekeys = keys.prekeys;
    wire::Response response = client.Call(request);
    EXPECT_EQ(response.status, ResponseStatus::kOk) << response.error_detail;
    if (!std::holds_alternative<wire::RegisterResult>(response.body)) return {};
    auto& result = std::get<wire::RegisterResult>(response.body);
    return {result.account_id, result.device_id, result.credential};
  }

  std::filesystem::path dir_;
  std::filesystem::path config_;
  pid_t pid_ = -1;
};

TEST_P(CrashSafetyTest, AcknowledgedSendsSurviveKillNineExactlyOnce) {
  std::uint16_t port = Start(0);
  ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");
  const DeviceLogin bob = Register(port, "bob");
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < 3; ++i) {
    senders.push_back(std::make_unique<Sender>(port, Register(port, "sender" + std::to_string(i)), bob));
    ASSERT_TRUE(senders.back()->Authenticate());
  }

  // Load, then SIGKILL in the middle of it.
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (auto& sender : senders) threads.emplace_back([&, s = sender.get()] { s->Run(stop, 16); });
  std::size_t acked = 0;
  for (int i = 0; i < 300 && acked < 400; ++i) {
    std::this_thread::sleep_for(10ms);
    acked = 0;
    for (auto& sender : senders) {
      std::lock_guard lock(sender->mutex);
      acked += sender->acked.size();
    }
  }
  ASSERT_GT(acked, 0u) << "no send was acknowledged before the kill";
  Kill(pid_, SIGKILL);
  pid_ = -1;
  stop = true;
  for (std::thread& t : threads) t.join();

  std::set<std::string> acknowledged;
  std::vector<wire::ClientMessageId> everything;
  for (auto& sender : senders) {
    acknowledged.insert(sender->acked.begin(), sender->acked.end());
    everything.insert(everything.end(), sender->sent.begin(), sender->sent.end());
  }
  ASSERT_LT(acknowledged.size(), everything.size()) << "the kill came after the load; nothing was in flight";

  // Restart on the same file. The senders retry every send they made, in
  // order, each with its original client message id.
  port = Start(1);
  ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");
  for (auto& sender : senders) {
    Sender retry(port, sender->login, bob);
    ASSERT_TRUE(retry.Authenticate());
    for (const wire::ClientMessageId& id : sender->sent) {
      wire::SendMessagesRequest send;
      send.recipient = bob.account;
      send.client_message_id = id;
      send.messages.push_back({bob.device, RegistrationId(1234), 3, {'r'}});
      ASSERT_TRUE(retry.Send(send));
      wire::Response response;
      ASSERT_TRUE(retry.ReadResponse(response));
      ASSERT_EQ(response.status, ResponseStatus::kOk) << response.error_detail;
    }
  }

  // Bob drains his queue: each send exactly once.
  WireClient bob_client(port);
  ASSERT_EQ(bob_client.Call(wire::AuthenticateRequest{bob.account, bob.device, bob.credential}).status,
            ResponseStatus::kOk);
  std::map<std::string, int> delivered;
  std::size_t retried_content = 0;
  for (std::size_t i = 0; i <= everything.size(); ++i) {
    wire::Push push = bob_client.NextPush();
    if (std::holds_alternative<wire::QueueEmpty>(push.body)) break;
    ASSERT_TRUE(std::holds_alternative<wire::Envelope>(push.body));
    const auto& envelope = std::get<wire::Envelope>(push.body);
    ++delivered[IdKey(envelope.client_message_id)];
    if (envelope.content == std::vector<std::uint8_t>{'r'}) ++retried_content;
    bob_client.Ack(push.id);
  }
  for (const auto& [id, count] : delivered) EXPECT_EQ(count, 1) << "a send was delivered twice";
  for (const std::string& id : acknowledged) {
    EXPECT_EQ(delivered.count(id), 1u) << "an acknowledged send was lost";
  }
  EXPECT_EQ(delivered.size(), everything.size());  // the retries filled in the rest
  // An acknowledged send is never queued again by its retry.
  EXPECT_LE(retried_content, everything.size() - acknowledged.size());
  Kill(pid_, SIGTERM);
  pid_ = -1;
}

}  // namespace
INSTANTIATE_TEST_SUITE_P(EventLoopThreads, CrashSafetyTest, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return "Threads" + std::to_string(param_info.param);
                         });

}  // namespace parley::server
