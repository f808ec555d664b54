// The push window a client asks for in AuthenticateRequest
// (docs/wire-protocol.md section 6): granted up to the operator's
// messages.max_push_window; a client that does not ask gets
// messages.push_window.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gated_store.h"
#include "handler_fixture.h"
#include "server/request_handling.h"

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

// Delivery while a pump's store read is slow (a PostgreSQL round trip, a busy
// SQLite file): the read runs without the session's delivery lock, so an ack
// (network thread) and a commit's notification (queue writer's thread) go on
// meanwhile, and neither is lost: the pump takes them into account after its
// read. One network thread, so an ack waiting for the lock would stall every
// connection.
class SlowQueueReadTest : public RequestHandlersTest {
 protected:
  static constexpr std::chrono::milliseconds kGateLimit{5'000};
  static constexpr std::chrono::milliseconds kPushLimit{10'000};

  void Configure(ServerConfig& config) override {
    config.threads = 1;
    config.messages.push_window = 2;
  }
  store::ServerStore& HandlerStore() override {
    gated_ = std::make_unique<GatedStore>(*store_);
    return *gated_;
  }
  void TearDown() override {
    if (gated_) gated_->OpenAll();
    RequestHandlersTest::TearDown();
  }

  // The next push within kPushLimit, which must be an envelope with `text`.
  static void ExpectEnvelope(WireClient& client, const std::string& text, std::uint64_t* push_id) {
    auto push = client.NextPushFor(kPushLimit);
    ASSERT_TRUE(push) << "no push of " << text;
    ASSERT_TRUE(std::holds_alternative<wire::Envelope>(push->body)) << "expected " << text;
    EXPECT_EQ(Text(std::get<wire::Envelope>(push->body)), text);
    *push_id = push->id;
  }

  // Acks commit in groups and have no answer: waits (about 5 s at most)
  // until the device's queue is down to `depth`.
  bool QueueDepthReaches(const store::DeviceAddress& device, std::uint64_t depth) {
    for (int i = 0; i < 500; ++i) {
      auto queued = store_->QueueDepth(device);
      if (!queued) return false;
      if (*queued <= depth) return *queued == depth;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<GatedStore> gated_;
};

TEST_F(SlowQueueReadTest, AcksAndCommitsDuringTheReadAreNeitherHeldUpNorLost) {
  WireClient bob_client(port());
  const DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  WireClient alice_client(port());
  (void)Register(alice_client, "alice", MakeKeys(20));
  // m0 and m1 fill Bob's window of 2; m2 waits in the store.
  for (const char* text : {"m0", "m1", "m2"}) {
    ASSERT_EQ(alice_client.Call(TextTo(bob, text)).status, ResponseStatus::kOk);
  }
  std::uint64_t p0 = 0;
  std::uint64_t p1 = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m0", &p0));
  ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m1", &p1));

  // The ack of m0 makes room: the pump's read (m2) is held.
  gated_->Arm(kGateLimit);
  bob_client.Ack(p0);
  ASSERT_TRUE(gated_->WaitUntilHeld(kGateLimit));
  // Meanwhile: Bob acks m1, and Alice's m3 is committed and answered.
  bob_client.Ack(p1);
  ASSERT_EQ(alice_client.Call(TextTo(bob, "m3")).status, ResponseStatus::kOk);
  EXPECT_FALSE(gated_->timed_out()) << "the ack or the commit waited for the store read";
  gated_->Open();

  // Both acks made room: m2 from the held read, then m3.
  std::uint64_t p2 = 0;
  std::uint64_t p3 = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m2", &p2));
  ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m3", &p3));
  bob_client.Ack(p2);
  bob_client.Ack(p3);
  // Bob's acks are handed to the queue writer before his Ping is answered,
  // and the writer commits in order: once Alice's next send is answered,
  // their deletes are committed.
  ASSERT_EQ(bob_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  ASSERT_EQ(alice_client.Call(TextTo(bob, "m4")).status, ResponseStatus::kOk);
  auto left = store_->FetchMessages({bob.account, bob.device}, 0, 10);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u) << "an ack was lost";
  EXPECT_EQ(std::string(left->front().content.begin(), left->front().content.end()), "m4");
  std::uint64_t p4 = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m4", &p4));
}

TEST_F(SlowQueueReadTest, AMessageCommittedDuringAnEmptyDrainIsPushed) {
  DeviceLogin bob;
  {
    WireClient registering(port());
    bob = Register(registering, "bob", MakeKeys(20));
  }
  WireClient alice_client(port());
  (void)Register(alice_client, "alice", MakeKeys(20));

  // Bob's drain reads an empty queue; its answer is held while m0 commits.
  gated_->Arm(kGateLimit);
  WireClient bob_client(port());
  ASSERT_EQ(Authenticate(bob_client, bob).status, ResponseStatus::kOk);
  ASSERT_TRUE(gated_->WaitUntilHeld(kGateLimit));
  ASSERT_EQ(alice_client.Call(TextTo(bob, "m0")).status, ResponseStatus::kOk);
  EXPECT_FALSE(gated_->timed_out()) << "the commit waited for the store read";
  gated_->Open();

  // m0 and QueueEmpty both come (m0 was committed during the drain: either
  // order is right); nothing else.
  bool got_envelope = false;
  bool got_queue_empty = false;
  for (int i = 0; i < 2; ++i) {
    auto push = bob_client.NextPushFor(kPushLimit);
    ASSERT_TRUE(push) << "m0 or QueueEmpty never came";
    if (std::holds_alternative<wire::QueueEmpty>(push->body)) {
      EXPECT_FALSE(got_queue_empty);
      got_queue_empty = true;
    } else {
      ASSERT_TRUE(std::holds_alternative<wire::Envelope>(push->body));
      EXPECT_EQ(Text(std::get<wire::Envelope>(push->body)), "m0");
      EXPECT_FALSE(got_envelope);
      got_envelope = true;
      bob_client.Ack(push->id);
    }
  }
  EXPECT_TRUE(got_envelope && got_queue_empty);
  EXPECT_EQ(bob_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  EXPECT_EQ(bob_client.buffered_pushes(), 0u);
}

TEST_F(SlowQueueReadTest, AConnectionClosedDuringTheReadLeavesItsMessagesQueued) {
  DeviceLogin bob;
  {
    WireClient registering(port());
    bob = Register(registering, "bob", MakeKeys(20));
  }
  WireClient alice_client(port());
  (void)Register(alice_client, "alice", MakeKeys(20));
  ASSERT_EQ(alice_client.Call(TextTo(bob, "m0")).status, ResponseStatus::kOk);

  gated_->Arm(kGateLimit);
  {
    WireClient bob_client(port());
    ASSERT_EQ(Authenticate(bob_client, bob).status, ResponseStatus::kOk);
    ASSERT_TRUE(gated_->WaitUntilHeld(kGateLimit));
    EXPECT_FALSE(bob_client.socket().Close());
  }
  // The close is taken while the read is held (it does not wait for it):
  // Alice's request on the one network thread is answered meanwhile.
  EXPECT_EQ(alice_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  EXPECT_FALSE(gated_->timed_out());
  gated_->Open();

  WireClient bob_client(port());
  ASSERT_EQ(Authenticate(bob_client, bob).status, ResponseStatus::kOk);
  std::uint64_t push_id = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m0", &push_id));
  bob_client.Ack(push_id);
  bob_client.ExpectQueueEmpty();
}

TEST_F(SlowQueueReadTest, APumpKeptGoingByAcksContinuesInAFreshTask) {
  // Bob, offline, has more queued than one pump reads: every read of his
  // window's one free place is held until he acks the envelope before it,
  // so the pump never finds its window full and ends only at its read bound.
  DeviceLogin bob;
  {
    WireClient registering(port());
    bob = Register(registering, "bob", MakeKeys(20));
  }
  WireClient alice_client(port());
  (void)Register(alice_client, "alice", MakeKeys(20));
  constexpr std::size_t kLongQueue = 3 * RequestFrameHandler::Impl::kMaxReadsPerPump + 2;
  for (std::size_t i = 0; i < kLongQueue; ++i) {
    ASSERT_EQ(alice_client.Call(TextTo(bob, "m" + std::to_string(i))).status, ResponseStatus::kOk);
  }

  // The drain fills the window of 2; the ack of m0 starts the held reads.
  WireClient bob_client(port());
  ASSERT_EQ(Authenticate(bob_client, bob).status, ResponseStatus::kOk);
  std::uint64_t previous = 0;
  std::uint64_t push_id = 0;
  ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m0", &previous));
  ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m1", &push_id));
  gated_->Arm(kGateLimit, kLongQueue - 2);
  bob_client.Ack(previous);
  previous = push_id;
  for (std::size_t i = 2; i < kLongQueue; ++i) {
    ASSERT_TRUE(gated_->WaitUntilHeld(kGateLimit)) << "no read for m" << i;
    // The ack is taken before the read's answer (its delete commits after
    // the network thread took it).
    bob_client.Ack(previous);
    ASSERT_TRUE(QueueDepthReaches({bob.account, bob.device}, kLongQueue - i));
    gated_->Open();
    ASSERT_NO_FATAL_FAILURE(ExpectEnvelope(bob_client, "m" + std::to_string(i), &previous));
  }
  EXPECT_FALSE(gated_->timed_out());
  // The drain that began at authentication ends with the queue.
  bob_client.ExpectQueueEmpty();
  bob_client.Ack(previous);
  EXPECT_EQ(bob_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  EXPECT_EQ(bob_client.buffered_pushes(), 0u);
}

}  // namespace
}  // namespace parley::server
