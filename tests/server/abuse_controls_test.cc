// What a connection may do before it authenticates, and the per-device
// request limit, with the request handlers on the real transport
// (docs/wire-protocol.md sections 2 and 7):
// - before authentication the transport reads frames of at most 8 KiB: a
//   larger one is refused from its header (close 1009), whatever length it
//   announces; after Register or Authenticate, frames up to 512 KiB;
// - a connection that has not registered, linked or authenticated within
//   limits.authentication_timeout_seconds is closed (1008), pings or not;
// - every request of an authenticated device takes from its bucket
//   (rate_limits.requests_per_device), sends included.
#include <gtest/gtest.h>

#include <string>

#include "handler_fixture.h"
#include "wire/limits.h"

namespace parley::server {
namespace {

using namespace handler_testing;
using namespace std::chrono_literals;

class AbuseControlsTest : public RequestHandlersTest {
 protected:
  void Configure(ServerConfig& config) override { config.rate_limits.requests_per_device = {4, 3600}; }
};

std::string CloseReason(testing::WebSocketClient& socket) {
  return std::string(socket.close_reason().reason.c_str());
}

TEST_F(AbuseControlsTest, UnauthenticatedFrameIsRefusedFromItsHeader) {
  // A 512 KiB frame (the authenticated limit) announced before
  // authentication: refused before its payload is read.
  WireClient client(port());
  ASSERT_FALSE(client.socket().SendFrameHeader(wire::kMaxFrameSize));
  std::string message;
  const auto result = client.socket().ReadFor(5000ms, message);
  ASSERT_TRUE(result.has_value()) << "the server waits for the announced payload";
  EXPECT_EQ(*result, websocket::error::closed);
  EXPECT_EQ(client.socket().close_reason().code, static_cast<std::uint16_t>(CloseCode::kMessageTooBig));
}

TEST_F(AbuseControlsTest, UnauthenticatedMessageIsRefusedPastEightKibibytes) {
  // In fragments the message reaches the limit exactly, then one byte more.
  WireClient client(port());
  ASSERT_FALSE(client.socket().SendFragment(std::string(wire::kMaxUnauthenticatedFrameSize, '\0'), false));
  ASSERT_FALSE(client.socket().SendFragment(std::string(1, '\0'), true));
  EXPECT_EQ(client.ReadUntilClosed(), static_cast<std::uint16_t>(CloseCode::kMessageTooBig));
}

TEST_F(AbuseControlsTest, UnauthenticatedFrameAtTheLimitIsRead) {
  // 8 KiB of a frame that does not decode: read and answered with a close
  // for the protocol error, not for its size.
  WireClient client(port());
  client.SendRaw(std::string(wire::kMaxUnauthenticatedFrameSize, '\xff'));
  EXPECT_EQ(client.ReadUntilClosed(), static_cast<std::uint16_t>(CloseCode::kProtocolError));
}

TEST_F(AbuseControlsTest, AuthenticatedConnectionReadsLargeFrames) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  // A frame of about 200 KiB, well past the unauthenticated limit.
  const std::string content(200 * 1024, 'x');
  EXPECT_EQ(alice_client.Call(TextTo(bob, content)).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(bob_client.NextEnvelope()), content);

  // A device that authenticates (not registers) gets the same.
  WireClient again(port());
  EXPECT_EQ(Authenticate(again, alice).status, ResponseStatus::kOk);
  again.ExpectQueueEmpty();
  EXPECT_EQ(again.Call(TextTo(bob, content + "y")).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(bob_client.NextEnvelope()), content + "y");
}

TEST_F(AbuseControlsTest, RequestsPerDevice) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  // Registration is not counted (it is limited per address); every request
  // after it is, sends too.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(alice_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  EXPECT_EQ(alice_client.Call(TextTo(bob, "fourth")).status, ResponseStatus::kOk);
  wire::Response refused = alice_client.Call(TextTo(bob, "fifth"));
  EXPECT_EQ(refused.status, ResponseStatus::kRateLimited) << refused.error_detail;
  EXPECT_EQ(refused.error_detail, "too many requests from this device");
  ASSERT_TRUE(refused.retry_after_ms.has_value());
  // 3600 per hour: one a second.
  EXPECT_GE(*refused.retry_after_ms, 900u);
  EXPECT_LE(*refused.retry_after_ms, 1001u);
  EXPECT_EQ(alice_client.Call(wire::PingRequest{}).status, ResponseStatus::kRateLimited);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"device\"}"), 2u);
  // Another device has its own bucket.
  EXPECT_EQ(bob_client.Call(TextTo(alice, "reply")).status, ResponseStatus::kOk);
  clock_.Advance(static_cast<std::int64_t>(*refused.retry_after_ms));
  EXPECT_EQ(alice_client.Call(TextTo(bob, "later")).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(bob_client.NextEnvelope()), "fourth");
}

class RateLimitTableCapTest : public RequestHandlersTest {
 protected:
  void Configure(ServerConfig& config) override {
    config.rate_limits.requests_per_device = {4, 3600};
    // One key per limit: the one address of the test, then one device.
    config.rate_limits.max_tracked_keys = 1;
  }
};

TEST_F(RateLimitTableCapTest, NewDeviceIsRefusedWhileTheTableIsFull) {
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  // Alice's bucket, one token short, fills the device table.
  EXPECT_EQ(alice_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  wire::Response refused = bob_client.Call(wire::PingRequest{});
  EXPECT_EQ(refused.status, ResponseStatus::kRateLimited);
  EXPECT_EQ(refused.error_detail, "too many requests from this device");
  ASSERT_TRUE(refused.retry_after_ms.has_value());
  // Until alice's bucket is full again (one token at one a second).
  EXPECT_GE(*refused.retry_after_ms, 1000u);
  EXPECT_LE(*refused.retry_after_ms, 1002u);
  EXPECT_EQ(MetricValue("parley_rate_limit_keys_refused_total{limit=\"device\"}"), 1u);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"device\"}"), 1u);
  // The tracked device is served as before.
  EXPECT_EQ(alice_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  // Alice's two tokens are back 2 s after her second ping: the sweep then
  // forgets her bucket and bob's takes its place.
  clock_.Advance(2001);
  EXPECT_EQ(bob_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  EXPECT_EQ(alice_client.Call(wire::PingRequest{}).status, ResponseStatus::kRateLimited);
  EXPECT_EQ(MetricValue("parley_rate_limit_keys_refused_total{limit=\"device\"}"), 2u);
}

class AuthenticationTimeoutTest : public RequestHandlersTest {
 protected:
  void Configure(ServerConfig& config) override {
    config.limits.authentication_timeout_seconds = 1;
    // Pings every half second: answering them keeps no one past the deadline.
    config.limits.idle_timeout_seconds = 1;
    config.limits.keepalive_pings = true;
  }
};

TEST_F(AuthenticationTimeoutTest, UnauthenticatedConnectionIsClosedAtTheDeadline) {
  WireClient idle(port());
  // Requests allowed before authentication do not extend the deadline.
  EXPECT_EQ(idle.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  // The client's read answers the server's pings meanwhile; nothing else
  // arrives but the close.
  std::string message;
  const auto result = idle.socket().ReadFor(10s, message);
  ASSERT_TRUE(result.has_value()) << "still open 10 s after a deadline of 1 s";
  EXPECT_EQ(*result, websocket::error::closed);
  EXPECT_EQ(idle.socket().close_reason().code, static_cast<std::uint16_t>(CloseCode::kPolicyViolation));
  EXPECT_EQ(CloseReason(idle.socket()), "authentication timeout");
  EXPECT_EQ(MetricValue("parley_websocket_closes_total{reason=\"authentication_timeout\"}"), 1u);
}

TEST_F(AuthenticationTimeoutTest, RegisteredAndAuthenticatedConnectionsStayOpen) {
  WireClient registered(port());
  DeviceLogin alice = Register(registered, "alice", MakeKeys(20));
  WireClient authenticated(port());
  EXPECT_EQ(Authenticate(authenticated, alice).status, ResponseStatus::kOk);
  authenticated.ExpectQueueEmpty();
  // The first connection was replaced by the second (same device): a close
  // for that, not for the deadline.
  EXPECT_EQ(registered.ReadUntilClosed(), static_cast<std::uint16_t>(CloseCode::kNormal));
  // Past the deadline, answering pings, the authenticated one stays open.
  std::string message;
  EXPECT_FALSE(authenticated.socket().ReadFor(2500ms, message).has_value())
      << "closed: " << CloseReason(authenticated.socket());
  EXPECT_EQ(MetricValue("parley_websocket_closes_total{reason=\"authentication_timeout\"}"), 0u);
}

}  // namespace
}  // namespace parley::server
