// Crash safety of the real parleyd, on SQLite and (built with
// PARLEY_HANDLERS_ON_POSTGRES) on PostgreSQL: while senders keep sends in
// flight, parleyd is killed with SIGKILL and restarted on the same store.
// Every send it had acknowledged must then be delivered; sends it never
// answered may be delivered or not, also when the senders retry everything
// after the restart (idempotence on the client message id survives the
// crash). With the recipient offline during the kill, each send is delivered
// exactly once. With the recipient online and acking, delivery is at least
// once: an ack still waiting for its group commit is lost with the process,
// so the envelopes whose acks were lost come again after the restart (the
// last ones delivered before the kill, since acks are committed in order),
// and nothing else twice.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
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
#include "parleyd_child.h"

namespace parley::server {
namespace {

using namespace handler_testing;
using namespace std::chrono_literals;
using namespace parleyd_child;

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

// The recipient, online during the load: acks every envelope as soon as it
// reads it, until the connection fails. Records the client message ids in
// the order they were pushed.
struct AckingRecipient {
  AckingRecipient(std::uint16_t port, DeviceLogin recipient_login)
      : socket(port), login(std::move(recipient_login)) {}

  bool Authenticate() {
    if (socket.Connect()) return false;
    auto bytes = wire::EncodeFrame(
        wire::Request{1, wire::AuthenticateRequest{login.account, login.device, login.credential}});
    if (!bytes || socket.SendBinary(std::string(bytes->begin(), bytes->end()))) return false;
    std::string message;
    if (socket.Read(message)) return false;
    auto frame =
        wire::DecodeServerFrame({reinterpret_cast<const std::uint8_t*>(message.data()), message.size()});
    return frame && std::holds_alternative<wire::Response>(*frame) &&
           std::get<wire::Response>(*frame).status == ResponseStatus::kOk;
  }

  void Run() {
    for (;;) {
      std::string message;
      if (socket.Read(message)) return;
      auto frame =
          wire::DecodeServerFrame({reinterpret_cast<const std::uint8_t*>(message.data()), message.size()});
      if (!frame || !std::holds_alternative<wire::Push>(*frame)) return;
      const auto& push = std::get<wire::Push>(*frame);
      if (const auto* envelope = std::get_if<wire::Envelope>(&push.body)) {
        {
          std::lock_guard lock(mutex);
          delivered.push_back(IdKey(envelope->client_message_id));
        }
        auto ack = wire::EncodeFrame(wire::PushAck{push.id});
        if (!ack || socket.SendBinary(std::string(ack->begin(), ack->end()))) return;
      }
    }
  }

  testing::WebSocketClient socket;
  DeviceLogin login;
  std::mutex mutex;
  std::vector<std::string> delivered;
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
    ASSERT_NO_FATAL_FAILURE(database_.Create(dir_ / "data"));
    config_ = dir_ / "parleyd.toml";
    std::ofstream config(config_);
    config << "[server]\nlisten_address = \"127.0.0.1\"\nport = 0\nthreads = " << GetParam() << "\n"
           << "data_dir = \"" << (dir_ / "data").string() << "\"\n"
           << "drain_timeout_seconds = 2\n"
           << "[rate_limits]\n"
           << "messages_per_sender_recipient_pair = { capacity = 0, refill_per_hour = 0 }\n"
           << "unauthenticated_requests_per_address = { capacity = 0, refill_per_hour = 0 }\n";
#ifdef PARLEY_HANDLERS_ON_POSTGRES
    config << "[store]\nurl = \"" << database_.url() << "\"\n";
#endif
  }
  void TearDown() override {
    if (pid_ > 0) Kill(pid_, SIGKILL);
    database_.Destroy();
    std::filesystem::remove_all(dir_);
  }

  std::uint16_t Start(int run) {
    const std::filesystem::path port_file = dir_ / ("port-" + std::to_string(run));
    std::filesystem::remove(port_file);
    pid_ = StartParleyd(dir_, {"--config", config_.string(), "serve", "--port-file", port_file.string()});
    return WaitForPort(pid_, port_file, 20s);
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

  // Registers three senders to `bob`, authenticated on `port`.
  void AddSenders(std::uint16_t port, const DeviceLogin& bob) {
    for (int i = 0; i < 3; ++i) {
      senders_.push_back(std::make_unique<Sender>(port, Register(port, "sender" + std::to_string(i)), bob));
      ASSERT_TRUE(senders_.back()->Authenticate());
    }
  }

  // Runs the senders and kills parleyd with SIGKILL in the middle of the
  // load; then fills acknowledged_ and everything_.
  void LoadAndKill() {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (auto& sender : senders_) threads.emplace_back([&, s = sender.get()] { s->Run(stop, 16); });
    std::size_t acked = 0;
    for (int i = 0; i < 300 && acked < 400; ++i) {
      std::this_thread::sleep_for(10ms);
      acked = 0;
      for (auto& sender : senders_) {
        std::lock_guard lock(sender->mutex);
        acked += sender->acked.size();
      }
    }
    Kill(pid_, SIGKILL);
    pid_ = -1;
    stop = true;
    for (std::thread& t : threads) t.join();
    ASSERT_GT(acked, 0u) << "no send was acknowledged before the kill";
    for (auto& sender : senders_) {
      acknowledged_.insert(sender->acked.begin(), sender->acked.end());
      everything_.insert(everything_.end(), sender->sent.begin(), sender->sent.end());
    }
    ASSERT_LT(acknowledged_.size(), everything_.size())
        << "the kill came after the load; nothing was in flight";
  }

  // After the restart: each sender retries every send it made, in order,
  // each with its original client message id and content 'r'.
  void RetryEverything(std::uint16_t port, const DeviceLogin& bob) {
    for (auto& sender : senders_) {
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
  }

  // Bob drains his queue, acking each envelope: their client message ids
  // in order, and how many carried a retry's content.
  void Drain(std::uint16_t port, const DeviceLogin& bob, std::vector<std::string>& delivered,
             std::size_t& retried_content) {
    WireClient bob_client(port);
    ASSERT_EQ(bob_client.Call(wire::AuthenticateRequest{bob.account, bob.device, bob.credential}).status,
              ResponseStatus::kOk);
    retried_content = 0;
    for (std::size_t i = 0; i <= 2 * everything_.size(); ++i) {
      wire::Push push = bob_client.NextPush();
      if (std::holds_alternative<wire::QueueEmpty>(push.body)) return;
      ASSERT_TRUE(std::holds_alternative<wire::Envelope>(push.body));
      const auto& envelope = std::get<wire::Envelope>(push.body);
      delivered.push_back(IdKey(envelope.client_message_id));
      if (envelope.content == std::vector<std::uint8_t>{'r'}) ++retried_content;
      bob_client.Ack(push.id);
    }
    ADD_FAILURE() << "no QueueEmpty after the drain";
  }

  std::filesystem::path dir_;
  std::filesystem::path config_;
  TestDatabase database_;
  pid_t pid_ = -1;
  std::vector<std::unique_ptr<Sender>> senders_;
  std::set<std::string> acknowledged_;
  std::vector<wire::ClientMessageId> everything_;
};

TEST_P(CrashSafetyTest, AcknowledgedSendsSurviveKillNineExactlyOnce) {
  std::uint16_t port = Start(0);
  ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");
  const DeviceLogin bob = Register(port, "bob");
  ASSERT_NO_FATAL_FAILURE(AddSenders(port, bob));
  ASSERT_NO_FATAL_FAILURE(LoadAndKill());

  port = Start(1);
  ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");
  ASSERT_NO_FATAL_FAILURE(RetryEverything(port, bob));

  // Bob drains his queue: each send exactly once.
  std::vector<std::string> delivered;
  std::size_t retried_content = 0;
  ASSERT_NO_FATAL_FAILURE(Drain(port, bob, delivered, retried_content));
  std::map<std::string, int> count;
  for (const std::string& id : delivered) ++count[id];
  for (const auto& [id, n] : count) EXPECT_EQ(n, 1) << "a send was delivered twice";
  for (const std::string& id : acknowledged_) {
    EXPECT_EQ(count.count(id), 1u) << "an acknowledged send was lost";
  }
  EXPECT_EQ(count.size(), everything_.size());  // the retries filled in the rest
  // An acknowledged send is never queued again by its retry.
  EXPECT_LE(retried_content, everything_.size() - acknowledged_.size());
  Kill(pid_, SIGTERM);
  pid_ = -1;
}

TEST_P(CrashSafetyTest, AcknowledgedSendsSurviveKillNineWhileTheRecipientAcksAtLeastOnce) {
  std::uint16_t port = Start(0);
  ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");
  const DeviceLogin bob = Register(port, "bob");
  ASSERT_NO_FATAL_FAILURE(AddSenders(port, bob));
  AckingRecipient online(port, bob);
  ASSERT_TRUE(online.Authenticate());
  std::thread receiving([&] { online.Run(); });
  LoadAndKill();     // kills parleyd, also when it fails
  receiving.join();  // its connection died with parleyd
  if (HasFatalFailure()) return;
  const std::vector<std::string>& before = online.delivered;
  ASSERT_FALSE(before.empty()) << "nothing was delivered before the kill";

  port = Start(1);
  ASSERT_NE(port, 0) << ReadFile(dir_ / "stderr.txt");
  ASSERT_NO_FATAL_FAILURE(RetryEverything(port, bob));
  std::vector<std::string> after;
  std::size_t retried_content = 0;
  ASSERT_NO_FATAL_FAILURE(Drain(port, bob, after, retried_content));

  // Neither connection got an envelope twice.
  const std::set<std::string> before_set(before.begin(), before.end());
  const std::set<std::string> after_set(after.begin(), after.end());
  EXPECT_EQ(before_set.size(), before.size()) << "an envelope was pushed twice before the kill";
  EXPECT_EQ(after_set.size(), after.size()) << "an envelope was pushed twice after the restart";
  // Delivered again: only envelopes whose acks may have been lost. Acks are
  // committed in the order they arrived, so those are the last ones
  // delivered before the kill, and they come first after the restart.
  std::size_t again = 0;
  for (const std::string& id : before) again += after_set.count(id);
  ASSERT_LE(again, after.size());
  for (std::size_t i = 0; i < again; ++i) {
    EXPECT_EQ(after[i], before[before.size() - again + i])
        << "an envelope whose ack was committed before a later one's came again";
  }
  // Nothing lost: every acknowledged send, and with the retries every send.
  for (const std::string& id : acknowledged_) {
    EXPECT_TRUE(before_set.count(id) != 0 || after_set.count(id) != 0) << "an acknowledged send was lost";
  }
  std::set<std::string> all = before_set;
  all.insert(after_set.begin(), after_set.end());
  EXPECT_EQ(all.size(), everything_.size());
  EXPECT_LE(retried_content, everything_.size() - acknowledged_.size());
  std::printf("delivered before the kill: %zu, again after the restart: %zu, after only: %zu\n",
              before.size(), again, after.size() - again);
  Kill(pid_, SIGTERM);
  pid_ = -1;
}

}  // namespace
// On PostgreSQL one event-loop thread count is enough: the store is what
// differs, and the suite's time is kept small.
#ifdef PARLEY_HANDLERS_ON_POSTGRES
constexpr int kEventLoopThreads[] = {2};
#else
constexpr int kEventLoopThreads[] = {1, 2};
#endif
INSTANTIATE_TEST_SUITE_P(EventLoopThreads, CrashSafetyTest, ::testing::ValuesIn(kEventLoopThreads),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return "Threads" + std::to_string(param_info.param);
                         });

}  // namespace parley::server
