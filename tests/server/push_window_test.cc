// The push window a client asks for in AuthenticateRequest
// (docs/wire-protocol.md section 6): granted up to the operator's
// messages.max_push_window; a client that does not ask gets
// messages.push_window.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "handler_fixture.h"

namespace parley::server {
namespace {

using namespace handler_testing;

constexpr std::uint32_t kDefaultWindow = 4;
constexpr std::uint32_t kMaxWindow = 6;
constexpr std::size_t kQueued = 12;

class PushWindowTest : public RequestHandlersTest {
 protected:
  void Configure(ServerConfig& config) override {
    config.messages.push_window = kDefaultWindow;
    config.messages.max_push_window = kMaxWindow;
  }

  // Bob (offline) with kQueued messages from Alice waiting for him.
  DeviceLogin BobWithQueue() {
    DeviceLogin bob;
    {
      WireClient registering(port());
      bob = Register(registering, "bob", MakeKeys(20));
    }
    WireClient alice_client(port());
    (void)Register(alice_client, "alice", MakeKeys(20));
    for (std::size_t i = 0; i < kQueued; ++i) {
      const wire::Response sent = alice_client.Call(TextTo(bob, "m" + std::to_string(i)));
      EXPECT_EQ(sent.status, ResponseStatus::kOk) << sent.error_detail;
    }
    return bob;
  }

  // Authenticates Bob asking for `window` (none: the server's default),
  // reads the envelopes the window allows without acking, and returns how
  // many more the server had pushed before it answered a Ping (0 when it
  // kept to the window).
  std::size_t PushedPastTheWindow(WireClient& client, const DeviceLogin& bob,
                                  std::optional<std::uint32_t> window, std::vector<std::uint64_t>& push_ids) {
    wire::AuthenticateRequest login{bob.account, bob.device, bob.credential, window};
    EXPECT_EQ(client.Call(login).status, ResponseStatus::kOk);
    const std::uint64_t expected = window ? std::min(*window, kMaxWindow) : kDefaultWindow;
    for (std::uint64_t i = 0; i < expected; ++i) {
      std::uint64_t push_id = 0;
      EXPECT_EQ(Text(client.NextEnvelope(&push_id)), "m" + std::to_string(i));
      push_ids.push_back(push_id);
    }
    EXPECT_EQ(client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
    return client.buffered_pushes();
  }

  // Acks what was pushed and reads the rest of the queue from message
  // `next` on, acking each.
  void DrainRest(WireClient& client, const std::vector<std::uint64_t>& push_ids, std::size_t next) {
    for (std::uint64_t id : push_ids) client.Ack(id);
    for (std::size_t i = next; i < kQueued; ++i) {
      std::uint64_t push_id = 0;
      EXPECT_EQ(Text(client.NextEnvelope(&push_id)), "m" + std::to_string(i));
      client.Ack(push_id);
    }
    client.ExpectQueueEmpty();
  }

  // Bob asks for `asked` and gets `granted` pushes before he acks.
  void ExpectGranted(std::optional<std::uint32_t> asked, std::size_t granted) {
    const DeviceLogin bob = BobWithQueue();
    WireClient client(port());
    std::vector<std::uint64_t> push_ids;
    EXPECT_EQ(PushedPastTheWindow(client, bob, asked, push_ids), 0u);
    EXPECT_EQ(push_ids.size(), granted);
    DrainRest(client, push_ids, push_ids.size());
  }
};

TEST_F(PushWindowTest, ASmallerWindowIsGranted) {
  const DeviceLogin bob = BobWithQueue();
  WireClient client(port());
  std::vector<std::uint64_t> push_ids;
  EXPECT_EQ(PushedPastTheWindow(client, bob, 2, push_ids), 0u);
  // One ack makes room for exactly one more.
  client.Ack(push_ids.front());
  push_ids.erase(push_ids.begin());
  std::uint64_t push_id = 0;
  EXPECT_EQ(Text(client.NextEnvelope(&push_id)), "m2");
  EXPECT_EQ(client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  EXPECT_EQ(client.buffered_pushes(), 0u);
  push_ids.push_back(push_id);
  DrainRest(client, push_ids, 3);
}

TEST_F(PushWindowTest, ALargerWindowIsCappedByTheOperator) {
  ExpectGranted(wire::kMaxPushWindow, kMaxWindow);
}

TEST_F(PushWindowTest, AClientThatDoesNotAskGetsTheDefault) { ExpectGranted(std::nullopt, kDefaultWindow); }

}  // namespace
}  // namespace parley::server
