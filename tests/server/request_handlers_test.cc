// The request handlers over the real transport: an in-process server on
// 127.0.0.1 port 0 with a fresh store (SQLite in a temporary directory, or a
// PostgreSQL schema in the _postgres build of this file), driven by TLS
// WebSocket clients that speak the wire protocol.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "handler_fixture.h"
#include "server/admin_commands.h"
#include "server/disabled_account_check.h"
#include "server/queue_depth_metrics.h"

namespace parley::server {
namespace {

using namespace handler_testing;

// A request linking a device named "laptop" (registration id 555) with `keys`.
wire::LinkDeviceRequest LaptopLink(const std::string& code, const DeviceKeys& keys) {
  wire::LinkDeviceRequest link;
  link.code = code;
  link.registration_id = RegistrationId(555);
  link.identity_key = keys.identity.public_key.Serialize();
  link.signed_prekey = keys.signed_prekey;
  link.prekeys = keys.prekeys;
  link.device_name = "laptop";
  return link;
}

// Acks are committed in groups and have no answer: the device's queue depth
// once it is down to `wanted`, or what is left after a bounded wait (about
// 5 s).
std::uint64_t QueueDepthOnceDownTo(store::ServerStore& store, const store::DeviceAddress& device,
                                   std::uint64_t wanted) {
  std::uint64_t depth = wanted + 1;
  for (int i = 0; i < 500 && depth > wanted; ++i) {
    auto queued = store.QueueDepth(device);
    if (!queued) return ~std::uint64_t{0};
    depth = *queued;
    if (depth > wanted) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return depth;
}

TEST_F(RequestHandlersTest, RegistersTwoAccountsAndAuthenticates) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "Bob", MakeKeys(20));
  EXPECT_NE(alice.account, bob.account);

  // The name is taken whatever its case.
  WireClient third(port());
  wire::RegisterRequest again;
  again.username = "ALICE";
  again.registration_id = RegistrationId(5);
  DeviceKeys keys = MakeKeys(0);
  again.identity_key = keys.identity.public_key.Serialize();
  again.signed_prekey = keys.signed_prekey;
  EXPECT_EQ(third.Call(again).status, ResponseStatus::kConflict);

  WireClient reconnect(port());
  EXPECT_EQ(Authenticate(reconnect, alice).status, ResponseStatus::kOk);
  reconnect.ExpectQueueEmpty();
  // Authenticated: a second Authenticate is forbidden.
  EXPECT_EQ(Authenticate(reconnect, alice).status, ResponseStatus::kForbidden);
}

TEST_F(RequestHandlersTest, RegisterRefusesASignatureThatDoesNotVerify) {
  WireClient client(port());
  DeviceKeys keys = MakeKeys(1);
  wire::RegisterRequest request;
  request.username = "mallory";
  request.registration_id = RegistrationId(9);
  request.identity_key = MakeKeys(0).identity.public_key.Serialize();  // not the signer
  request.signed_prekey = keys.signed_prekey;
  wire::Response response = client.Call(request);
  EXPECT_EQ(response.status, ResponseStatus::kBadRequest);
  // Nothing was created: the name is still free.
  EXPECT_FALSE(store_->GetAccountByUsername("mallory"));
}

TEST_F(RequestHandlersTest, WrongCredentialIsUnauthorizedAndRepeatedFailuresClose) {
  WireClient owner(port());
  DeviceLogin alice = Register(owner, "alice", MakeKeys(20));
  DeviceLogin wrong = alice;
  wrong.credential.secret.bytes()[0] ^= 1;

  WireClient client(port());
  EXPECT_EQ(Authenticate(client, wrong).status, ResponseStatus::kUnauthorized);
  // An unknown device gets the same answer.
  DeviceLogin unknown = alice;
  unknown.device = DeviceId(2);
  EXPECT_EQ(Authenticate(client, unknown).status, ResponseStatus::kUnauthorized);
  // Still unauthenticated.
  EXPECT_EQ(client.Call(wire::ListDevicesRequest{}).status, ResponseStatus::kUnauthorized);
  EXPECT_EQ(Authenticate(client, wrong).status, ResponseStatus::kUnauthorized);
  EXPECT_EQ(client.ReadUntilClosed(), 1008);
}

TEST_F(RequestHandlersTest, UnauthenticatedRequestsAreRefusedButPingWorks) {
  WireClient client(port());
  EXPECT_EQ(client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  EXPECT_EQ(client.Call(wire::ListDevicesRequest{}).status, ResponseStatus::kUnauthorized);
  EXPECT_EQ(client.Call(wire::GetPreKeyCountRequest{}).status, ResponseStatus::kUnauthorized);
  WireClient other(port());
  DeviceLogin bob = Register(other, "bob", MakeKeys(20));
  EXPECT_EQ(client.Call(TextTo(bob, "hi")).status, ResponseStatus::kUnauthorized);
}

TEST_F(RequestHandlersTest, BundleFetchesConsumeOnePreKeyEachAndWarnTheOwner) {
  WireClient alice_client(port());
  DeviceKeys alice_keys = MakeKeys(11);
  DeviceLogin alice = Register(alice_client, "alice", alice_keys);
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));

  wire::GetBundlesRequest by_name;
  by_name.target = std::string("ALICE");
  wire::Response first = bob_client.Call(by_name);
  ASSERT_EQ(first.status, ResponseStatus::kOk);
  auto& bundles = std::get<wire::BundlesResult>(first.body);
  EXPECT_EQ(bundles.account_id, alice.account);
  ASSERT_EQ(bundles.devices.size(), 1u);
  EXPECT_EQ(bundles.devices[0].identity_key, alice_keys.identity.public_key.Serialize());
  EXPECT_EQ(bundles.devices[0].signed_prekey, alice_keys.signed_prekey);
  EXPECT_EQ(bundles.devices[0].registration_id, RegistrationId(1234));
  ASSERT_TRUE(bundles.devices[0].prekey);
  EXPECT_EQ(*bundles.devices[0].prekey, alice_keys.prekeys[0]);

  wire::GetBundlesRequest by_id;
  by_id.target = alice.account;
  wire::Response second = bob_client.Call(by_id);
  ASSERT_EQ(second.status, ResponseStatus::kOk);
  EXPECT_EQ(*std::get<wire::BundlesResult>(second.body).devices[0].prekey, alice_keys.prekeys[1]);

  // 11 - 2 = 9 < 10: the owner hears about it, and counts 9.
  wire::Push low = alice_client.NextPush();
  ASSERT_TRUE(std::holds_alternative<wire::PreKeysLow>(low.body));
  EXPECT_EQ(std::get<wire::PreKeysLow>(low.body).count, 9u);
  wire::Response count = alice_client.Call(wire::GetPreKeyCountRequest{});
  ASSERT_EQ(count.status, ResponseStatus::kOk);
  EXPECT_EQ(std::get<wire::PreKeyCountResult>(count.body).count, 9u);

  // Upload more; the count follows.
  wire::UploadKeysRequest upload;
  upload.prekeys = MakeKeys(5, 100).prekeys;
  EXPECT_EQ(alice_client.Call(upload).status, ResponseStatus::kOk);
  count = alice_client.Call(wire::GetPreKeyCountRequest{});
  EXPECT_EQ(std::get<wire::PreKeyCountResult>(count.body).count, 14u);

  // A signed prekey signed by another identity is refused.
  wire::UploadKeysRequest bad;
  bad.signed_prekey = MakeKeys(0).signed_prekey;
  EXPECT_EQ(alice_client.Call(bad).status, ResponseStatus::kBadRequest);

  wire::GetBundlesRequest nobody;
  nobody.target = std::string("nobody");
  EXPECT_EQ(bob_client.Call(nobody).status, ResponseStatus::kNotFound);
}

TEST_F(RequestHandlersTest, UsernameLookupGivesTheAccountAndUsesNoPreKey) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(11));
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));

  wire::Response found = bob_client.Call(wire::LookupUsernameRequest{"ALICE"});
  ASSERT_EQ(found.status, ResponseStatus::kOk);
  EXPECT_EQ(std::get<wire::UsernameLookupResult>(found.body).account_id, alice.account);
  EXPECT_EQ(bob_client.Call(wire::LookupUsernameRequest{"alice"}).status, ResponseStatus::kOk);
  wire::Response count = alice_client.Call(wire::GetPreKeyCountRequest{});
  ASSERT_EQ(count.status, ResponseStatus::kOk);
  EXPECT_EQ(std::get<wire::PreKeyCountResult>(count.body).count, 11u);

  EXPECT_EQ(bob_client.Call(wire::LookupUsernameRequest{"nobody"}).status, ResponseStatus::kNotFound);
  WireClient stranger(port());
  EXPECT_EQ(stranger.Call(wire::LookupUsernameRequest{"alice"}).status, ResponseStatus::kUnauthorized);
}

TEST_F(RequestHandlersTest, IdentityKeysOfEveryDeviceOrOneUseUpNoPreKey) {
  WireClient alice_primary(port());
  const DeviceKeys primary_keys = MakeKeys(11);
  DeviceLogin alice = Register(alice_primary, "alice", primary_keys);
  wire::Response code = alice_primary.Call(wire::CreateLinkCodeRequest{});
  ASSERT_EQ(code.status, ResponseStatus::kOk);
  WireClient alice_laptop(port());
  const DeviceKeys laptop_keys = MakeKeys(7);
  wire::Response linked =
      alice_laptop.Call(LaptopLink(std::get<wire::CreateLinkCodeResult>(code.body).code, laptop_keys));
  ASSERT_EQ(linked.status, ResponseStatus::kOk) << linked.error_detail;
  const DeviceId laptop = std::get<wire::LinkDeviceResult>(linked.body).device_id;
  alice_laptop.ExpectQueueEmpty();
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));

  wire::GetIdentityKeysRequest all;
  all.target = alice.account;
  wire::Response every = bob_client.Call(all);
  ASSERT_EQ(every.status, ResponseStatus::kOk) << every.error_detail;
  const auto& result = std::get<wire::IdentityKeysResult>(every.body);
  EXPECT_EQ(result.account_id, alice.account);
  ASSERT_EQ(result.devices.size(), 2u);
  EXPECT_EQ(result.devices[0].device_id, DeviceId(1));
  EXPECT_EQ(result.devices[0].identity_key, primary_keys.identity.public_key.Serialize());
  EXPECT_EQ(result.devices[1].device_id, laptop);
  EXPECT_EQ(result.devices[1].identity_key, laptop_keys.identity.public_key.Serialize());

  // By username (any case), one device.
  wire::GetIdentityKeysRequest one;
  one.target = std::string("ALICE");
  one.device_id = laptop;
  wire::Response single = bob_client.Call(one);
  ASSERT_EQ(single.status, ResponseStatus::kOk) << single.error_detail;
  const auto& only = std::get<wire::IdentityKeysResult>(single.body);
  EXPECT_EQ(only.account_id, alice.account);
  ASSERT_EQ(only.devices.size(), 1u);
  EXPECT_EQ(only.devices[0].device_id, laptop);
  EXPECT_EQ(only.devices[0].identity_key, laptop_keys.identity.public_key.Serialize());

  // Neither device's one-time prekeys were touched, and nobody was told to upload more.
  wire::Response primary_count = alice_primary.Call(wire::GetPreKeyCountRequest{});
  ASSERT_EQ(primary_count.status, ResponseStatus::kOk);
  EXPECT_EQ(std::get<wire::PreKeyCountResult>(primary_count.body).count, 11u);
  wire::Response laptop_count = alice_laptop.Call(wire::GetPreKeyCountRequest{});
  ASSERT_EQ(laptop_count.status, ResponseStatus::kOk);
  EXPECT_EQ(std::get<wire::PreKeyCountResult>(laptop_count.body).count, 7u);
  EXPECT_EQ(*store_->CountOneTimePreKeys({alice.account, DeviceId(1)}), 11u);
  EXPECT_EQ(*store_->CountOneTimePreKeys({alice.account, laptop}), 7u);

  wire::GetIdentityKeysRequest no_device = one;
  no_device.device_id = DeviceId(5);
  EXPECT_EQ(bob_client.Call(no_device).status, ResponseStatus::kNotFound);
  wire::GetIdentityKeysRequest no_name;
  no_name.target = std::string("nobody");
  EXPECT_EQ(bob_client.Call(no_name).status, ResponseStatus::kNotFound);
  wire::GetIdentityKeysRequest no_account;
  crypto::SystemRng rng;
  no_account.target = AccountId(Uuid::Random(rng));
  EXPECT_EQ(bob_client.Call(no_account).status, ResponseStatus::kNotFound);

  WireClient stranger(port());
  EXPECT_EQ(stranger.Call(all).status, ResponseStatus::kUnauthorized);
}

TEST_F(RequestHandlersTest, BundlesFallBackToTheSignedPreKeyWhenPreKeysRunOut) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(1));
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  wire::GetBundlesRequest request;
  request.target = alice.account;
  wire::Response first = bob_client.Call(request);
  ASSERT_EQ(first.status, ResponseStatus::kOk);
  EXPECT_TRUE(std::get<wire::BundlesResult>(first.body).devices[0].prekey);
  wire::Response second = bob_client.Call(request);
  ASSERT_EQ(second.status, ResponseStatus::kOk);
  EXPECT_FALSE(std::get<wire::BundlesResult>(second.body).devices[0].prekey);
}

TEST_F(RequestHandlersTest, OnlineDeliveryPushesAtOnceAndAckDeletes) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));

  wire::SendMessagesRequest send = TextTo(bob, "hello bob");
  wire::Response sent = alice_client.Call(send);
  ASSERT_EQ(sent.status, ResponseStatus::kOk) << sent.error_detail;
  const std::uint64_t timestamp = std::get<wire::SendResult>(sent.body).server_timestamp_ms;

  std::uint64_t push_id = 0;
  wire::Envelope envelope = bob_client.NextEnvelope(&push_id);
  EXPECT_EQ(Text(envelope), "hello bob");
  EXPECT_EQ(envelope.sender, alice.account);
  EXPECT_EQ(envelope.sender_device, alice.device);
  EXPECT_EQ(envelope.type, 3u);
  EXPECT_EQ(envelope.client_message_id, send.client_message_id);
  EXPECT_EQ(envelope.server_timestamp_ms, timestamp);
  bob_client.Ack(push_id);
  // The ack's delete joins a coming group commit; nothing answers it, so
  // the queue is watched until it empties (bounded wait).
  EXPECT_EQ(QueueDepthOnceDownTo(*store_, {bob.account, bob.device}, 0), 0u);

  // Reconnecting gets nothing.
  WireClient again(port());
  ASSERT_EQ(Authenticate(again, bob).status, ResponseStatus::kOk);
  again.ExpectQueueEmpty();
}

TEST_F(RequestHandlersTest, OfflineMessagesDrainInOrderThenQueueEmpty) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  DeviceLogin bob;
  {
    WireClient bob_client(port());
    bob = Register(bob_client, "bob", MakeKeys(20));
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(alice_client.Call(TextTo(bob, "m" + std::to_string(i))).status, ResponseStatus::kOk);
  }
  WireClient bob_client(port());
  ASSERT_EQ(Authenticate(bob_client, bob).status, ResponseStatus::kOk);
  std::uint64_t last_server_id = 0;
  for (int i = 0; i < 5; ++i) {
    std::uint64_t push_id = 0;
    wire::Envelope envelope = bob_client.NextEnvelope(&push_id);
    EXPECT_EQ(Text(envelope), "m" + std::to_string(i));
    EXPECT_GT(envelope.server_id, last_server_id);
    last_server_id = envelope.server_id;
    if (i < 3) bob_client.Ack(push_id);  // the last two stay unacked
  }
  bob_client.ExpectQueueEmpty();
  ASSERT_EQ(QueueDepthOnceDownTo(*store_, {bob.account, bob.device}, 2), 2u);

  // Unacked envelopes come again on the next connection; acked ones do not.
  WireClient again(port());
  ASSERT_EQ(Authenticate(again, bob).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(again.NextEnvelope()), "m3");
  EXPECT_EQ(Text(again.NextEnvelope()), "m4");
  again.ExpectQueueEmpty();
  (void)alice;
}

TEST_F(RequestHandlersTest, IdempotentRetryIsDeliveredOnce) {
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  DeviceLogin bob;
  {
    WireClient bob_client(port());
    bob = Register(bob_client, "bob", MakeKeys(20));
  }
  wire::SendMessagesRequest send = TextTo(bob, "once");
  wire::Response first = alice_client.Call(send);
  ASSERT_EQ(first.status, ResponseStatus::kOk);
  wire::Response retry = alice_client.Call(send);
  ASSERT_EQ(retry.status, ResponseStatus::kOk);
  EXPECT_EQ(std::get<wire::SendResult>(retry.body), std::get<wire::SendResult>(first.body));

  WireClient bob_client(port());
  ASSERT_EQ(Authenticate(bob_client, bob).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(bob_client.NextEnvelope()), "once");
  bob_client.ExpectQueueEmpty();
}

TEST_F(RequestHandlersTest, MismatchedDevicesListMissingExtraAndStale) {
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20), RegistrationId(77));

  // Device 3 does not exist and device 1 is left out.
  wire::SendMessagesRequest extra = TextTo(bob, "x", RegistrationId(77));
  extra.messages[0].device_id = DeviceId(3);
  wire::Response response = alice_client.Call(extra);
  ASSERT_EQ(response.status, ResponseStatus::kMismatchedDevices);
  auto mismatch = std::get<wire::MismatchedDevices>(response.body);
  EXPECT_EQ(mismatch.missing, std::vector<DeviceId>{DeviceId(1)});
  EXPECT_EQ(mismatch.extra, std::vector<DeviceId>{DeviceId(3)});
  EXPECT_TRUE(mismatch.stale.empty());

  // The right device with an old registration id.
  wire::SendMessagesRequest stale = TextTo(bob, "x", RegistrationId(76));
  response = alice_client.Call(stale);
  ASSERT_EQ(response.status, ResponseStatus::kMismatchedDevices);
  mismatch = std::get<wire::MismatchedDevices>(response.body);
  EXPECT_TRUE(mismatch.missing.empty());
  EXPECT_TRUE(mismatch.extra.empty());
  EXPECT_EQ(mismatch.stale, std::vector<DeviceId>{DeviceId(1)});

  // A rejected send reserves nothing: the same id works once corrected.
  stale.messages[0].registration_id = RegistrationId(77);
  EXPECT_EQ(alice_client.Call(stale).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(bob_client.NextEnvelope()), "x");

  // Unknown recipient.
  DeviceLogin nobody{AccountId(Uuid::Random(*std::make_unique<crypto::SystemRng>())), DeviceId(1), {}};
  EXPECT_EQ(alice_client.Call(TextTo(nobody, "x")).status, ResponseStatus::kNotFound);
}

TEST_F(RequestHandlersTest, NoDeviceCanAckAnotherDevicesMessage) {
  // Three queues whose first message has the same server id (ids are per
  // queue) and the same push id on its connection: Bob's phone, Bob's laptop
  // (same account) and Alice.
  WireClient alice_client(port());
  const DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_phone(port());
  const DeviceLogin bob = Register(bob_phone, "bob", MakeKeys(20));
  wire::Response code = bob_phone.Call(wire::CreateLinkCodeRequest{});
  ASSERT_EQ(code.status, ResponseStatus::kOk);
  WireClient bob_laptop(port());
  wire::Response linked =
      bob_laptop.Call(LaptopLink(std::get<wire::CreateLinkCodeResult>(code.body).code, MakeKeys(20)));
  ASSERT_EQ(linked.status, ResponseStatus::kOk) << linked.error_detail;
  const DeviceId laptop = std::get<wire::LinkDeviceResult>(linked.body).device_id;
  bob_laptop.ExpectQueueEmpty();

  const auto to_both = [&](const std::string& text) {
    wire::SendMessagesRequest send = TextTo(bob, text);
    send.messages.push_back({laptop, RegistrationId(555), 3, {text.begin(), text.end()}});
    return send;
  };
  ASSERT_EQ(alice_client.Call(to_both("secret")).status, ResponseStatus::kOk);
  ASSERT_EQ(bob_phone.Call(TextTo(alice, "for alice")).status, ResponseStatus::kOk);
  std::uint64_t phone_push = 0;
  std::uint64_t laptop_push = 0;
  std::uint64_t alice_push = 0;
  EXPECT_EQ(Text(bob_phone.NextEnvelope(&phone_push)), "secret");  // never acked
  EXPECT_EQ(Text(bob_laptop.NextEnvelope(&laptop_push)), "secret");
  EXPECT_EQ(Text(alice_client.NextEnvelope(&alice_push)), "for alice");
  EXPECT_EQ(laptop_push, phone_push);
  EXPECT_EQ(alice_push, phone_push);

  // The laptop and Alice each ack every id up to well past the phone's push
  // id and its message's server id: their own message's among them.
  constexpr std::uint64_t kForged = 64;
  for (std::uint64_t id = 0; id <= kForged; ++id) {
    bob_laptop.Ack(id);
    alice_client.Ack(id);
  }
  // Acks are handed to the queue writer before a later Ping on the same
  // connection is answered, and the writer commits in order: once Alice's
  // next send is answered, the deletes those acks caused are committed.
  ASSERT_EQ(bob_laptop.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  ASSERT_EQ(alice_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  ASSERT_EQ(alice_client.Call(to_both("after")).status, ResponseStatus::kOk);

  // Their own messages are gone; the phone's is still queued.
  EXPECT_EQ(*store_->QueueDepth({alice.account, alice.device}), 0u);
  auto laptop_queue = store_->FetchMessages({bob.account, laptop}, 0, 10);
  ASSERT_TRUE(laptop_queue);
  ASSERT_EQ(laptop_queue->size(), 1u);
  EXPECT_EQ(std::string(laptop_queue->front().content.begin(), laptop_queue->front().content.end()), "after");
  auto phone_queue = store_->FetchMessages({bob.account, bob.device}, 0, 10);
  ASSERT_TRUE(phone_queue);
  ASSERT_EQ(phone_queue->size(), 2u) << "a forged ack deleted the phone's message";
  EXPECT_EQ(std::string(phone_queue->front().content.begin(), phone_queue->front().content.end()), "secret");

  // And the phone gets it again on its next connection.
  WireClient phone_again(port());
  ASSERT_EQ(Authenticate(phone_again, bob).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(phone_again.NextEnvelope()), "secret");
  EXPECT_EQ(Text(phone_again.NextEnvelope()), "after");
  phone_again.ExpectQueueEmpty();
}

TEST_F(RequestHandlersTest, MalformedRequestGetsAnErrorAndTheConnectionKeepsWorking) {
  WireClient client(port());
  // Frame{request{id: 5}} without a body.
  client.SendRaw(std::string("\x0a\x02\x08\x05", 4));
  wire::Response response = client.WaitForResponse(5);
  EXPECT_EQ(response.status, ResponseStatus::kBadRequest);
  EXPECT_EQ(response.error_detail, "no_body");
  EXPECT_EQ(client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);

  // Bytes that are no frame at all close with 1002.
  client.SendRaw(std::string("\xff\xff\xff", 3));
  EXPECT_EQ(client.ReadUntilClosed(), 1002);
}

TEST_F(RequestHandlersTest, OversizedFrameBeforeAuthenticationCloses) {
  WireClient client(port());
  client.SendRaw(std::string(wire::kMaxUnauthenticatedFrameSize + 1, '\0'));
  EXPECT_EQ(client.ReadUntilClosed(), 1009);  // the transport refuses it (abuse_controls_test.cc)
}

TEST_F(RequestHandlersTest, LinkedDeviceGetsMessagesAndSyncCopies) {
  WireClient alice_primary(port());
  DeviceLogin alice = Register(alice_primary, "alice", MakeKeys(20));
  wire::Response code = alice_primary.Call(wire::CreateLinkCodeRequest{});
  ASSERT_EQ(code.status, ResponseStatus::kOk);
  const std::string link_code = std::get<wire::CreateLinkCodeResult>(code.body).code;
  EXPECT_EQ(link_code.size(), 26u);

  WireClient alice_second(port());
  const wire::LinkDeviceRequest link = LaptopLink(link_code, MakeKeys(20));
  wire::Response linked = alice_second.Call(link);
  ASSERT_EQ(linked.status, ResponseStatus::kOk) << linked.error_detail;
  EXPECT_EQ(std::get<wire::LinkDeviceResult>(linked.body).device_id, DeviceId(2));
  alice_second.ExpectQueueEmpty();
  // The code is single-use.
  WireClient third(port());
  EXPECT_EQ(third.Call(link).status, ResponseStatus::kNotFound);

  wire::Response devices = alice_primary.Call(wire::ListDevicesRequest{});
  ASSERT_EQ(devices.status, ResponseStatus::kOk);
  EXPECT_EQ(std::get<wire::ListDevicesResult>(devices.body).devices.size(), 2u);

  // Bob must now address both of alice's devices.
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  wire::SendMessagesRequest one = TextTo(alice, "to both?");
  wire::Response response = bob_client.Call(one);
  ASSERT_EQ(response.status, ResponseStatus::kMismatchedDevices);
  EXPECT_EQ(std::get<wire::MismatchedDevices>(response.body).missing, std::vector<DeviceId>{DeviceId(2)});
  one.messages.push_back({DeviceId(2), RegistrationId(555), 1, {'b'}});
  ASSERT_EQ(bob_client.Call(one).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(alice_primary.NextEnvelope()), "to both?");
  EXPECT_EQ(Text(alice_second.NextEnvelope()), "b");

  // A sync copy from the primary to the laptop.
  wire::SendMessagesRequest sync;
  sync.recipient = alice.account;
  sync.client_message_id = RandomMessageId();
  sync.sync = true;
  sync.messages.push_back({DeviceId(2), RegistrationId(555), 1, {'s'}});
  ASSERT_EQ(alice_primary.Call(sync).status, ResponseStatus::kOk);
  wire::Envelope copy = alice_second.NextEnvelope();
  EXPECT_EQ(copy.sender, alice.account);
  EXPECT_EQ(Text(copy), "s");

  // The companion cannot unlink the primary; the primary unlinks it and
  // its connection closes.
  EXPECT_EQ(alice_second.Call(wire::UnlinkDeviceRequest{DeviceId(1)}).status, ResponseStatus::kForbidden);
  EXPECT_EQ(alice_primary.Call(wire::UnlinkDeviceRequest{DeviceId(2)}).status, ResponseStatus::kOk);
  EXPECT_EQ(alice_second.ReadUntilClosed(), 1008);
}

TEST_F(RequestHandlersTest, SetUsernameAndDeleteAccount) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  EXPECT_EQ(alice_client.Call(wire::SetUsernameRequest{"bob"}).status, ResponseStatus::kConflict);
  EXPECT_EQ(alice_client.Call(wire::SetUsernameRequest{"alicia"}).status, ResponseStatus::kOk);
  auto renamed = store_->GetAccountByUsername("alicia");
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->id, alice.account);

  EXPECT_EQ(accounts_deleted_.load(), 0);
  EXPECT_EQ(alice_client.Call(wire::DeleteAccountRequest{}).status, ResponseStatus::kOk);
  // Told before the answer went out: the purge of what is left starts now.
  EXPECT_EQ(accounts_deleted_.load(), 1);
  EXPECT_EQ(alice_client.ReadUntilClosed(), 1008);
  WireClient again(port());
  EXPECT_EQ(Authenticate(again, alice).status, ResponseStatus::kUnauthorized);
}

TEST_F(RequestHandlersTest, MultiRecipientSendReportsEachRecipient) {
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  WireClient carol_client(port());
  DeviceLogin carol = Register(carol_client, "carol", MakeKeys(20), RegistrationId(9));

  wire::SendMultiRecipientRequest request;
  request.recipients.push_back(
      {bob.account, RandomMessageId(), {{DeviceId(1), RegistrationId(1234), 1, {'g'}}}});
  request.recipients.push_back(
      {carol.account, RandomMessageId(), {{DeviceId(1), RegistrationId(1234), 1, {'g'}}}});
  wire::Response response = alice_client.Call(request);
  ASSERT_EQ(response.status, ResponseStatus::kOk);
  auto& results = std::get<wire::SendMultiRecipientResult>(response.body).results;
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, ResponseStatus::kOk);
  EXPECT_EQ(results[1].status, ResponseStatus::kMismatchedDevices);
  ASSERT_TRUE(results[1].mismatched_devices);
  EXPECT_EQ(results[1].mismatched_devices->stale, std::vector<DeviceId>{DeviceId(1)});
  EXPECT_EQ(Text(bob_client.NextEnvelope()), "g");
}

TEST_F(RequestHandlersTest, MultiRecipientRetryAnswersWithEachRecipientsOriginalTime) {
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  WireClient carol_client(port());
  DeviceLogin carol = Register(carol_client, "carol", MakeKeys(20), RegistrationId(9));

  // Carol's part names a stale registration id: only Bob's is queued.
  wire::SendMultiRecipientRequest request;
  request.recipients.push_back(
      {bob.account, RandomMessageId(), {{DeviceId(1), RegistrationId(1234), 1, {'g'}}}});
  request.recipients.push_back(
      {carol.account, RandomMessageId(), {{DeviceId(1), RegistrationId(1234), 1, {'g'}}}});
  const std::uint64_t first_ms = static_cast<std::uint64_t>(clock_.NowMillis());
  wire::Response first = alice_client.Call(request);
  ASSERT_EQ(first.status, ResponseStatus::kOk);
  const auto& first_result = std::get<wire::SendMultiRecipientResult>(first.body);
  ASSERT_EQ(first_result.results.size(), 2u);
  EXPECT_EQ(first_result.results[0].status, ResponseStatus::kOk);
  EXPECT_EQ(first_result.results[0].server_timestamp_ms, first_ms);
  EXPECT_EQ(first_result.results[1].status, ResponseStatus::kMismatchedDevices);
  EXPECT_FALSE(first_result.results[1].server_timestamp_ms.has_value());
  EXPECT_EQ(first_result.server_timestamp_ms, first_ms);
  std::uint64_t push_id = 0;
  EXPECT_EQ(bob_client.NextEnvelope(&push_id).server_timestamp_ms, first_ms);
  bob_client.Ack(push_id);

  // A minute later the client retries with Carol's part corrected: Bob's id
  // was accepted then and keeps its time; Carol's is stored now.
  clock_.Advance(60'000);
  const std::uint64_t retry_ms = static_cast<std::uint64_t>(clock_.NowMillis());
  request.recipients[1].messages[0].registration_id = RegistrationId(9);
  wire::Response retry = alice_client.Call(request);
  ASSERT_EQ(retry.status, ResponseStatus::kOk);
  const auto& retry_result = std::get<wire::SendMultiRecipientResult>(retry.body);
  ASSERT_EQ(retry_result.results.size(), 2u);
  EXPECT_EQ(retry_result.results[0].status, ResponseStatus::kOk);
  EXPECT_EQ(retry_result.results[0].server_timestamp_ms, first_ms);
  EXPECT_EQ(retry_result.results[1].status, ResponseStatus::kOk);
  EXPECT_EQ(retry_result.results[1].server_timestamp_ms, retry_ms);
  EXPECT_EQ(retry_result.server_timestamp_ms, first_ms);
  EXPECT_EQ(carol_client.NextEnvelope().server_timestamp_ms, retry_ms);
  // Bob got his copy once: the next thing he reads is the answer to a ping.
  ASSERT_EQ(bob_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  EXPECT_EQ(bob_client.buffered_pushes(), 0u);
}

TEST_F(RequestHandlersTest, FreshSendsToAnOnlineDeviceArePushedWithoutAStoreRead) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  WireClient carol_client(port());
  DeviceLogin carol = Register(carol_client, "carol", MakeKeys(20));

  for (const char* text : {"one", "two", "three"}) {
    ASSERT_EQ(alice_client.Call(TextTo(bob, text)).status, ResponseStatus::kOk);
  }
  for (const char* text : {"one", "two", "three"}) {
    std::uint64_t push_id = 0;
    EXPECT_EQ(Text(bob_client.NextEnvelope(&push_id)), text);
    bob_client.Ack(push_id);
  }
  // Bob's connection handles frames in order: once the ping is answered, the
  // acks are done (an ack that came later could pump the next send first).
  ASSERT_EQ(bob_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  // A group send: both recipients queued by one batch, both pushed directly.
  wire::SendMultiRecipientRequest group;
  for (const DeviceLogin* member : {&bob, &carol}) {
    wire::RecipientMessages part;
    part.recipient = member->account;
    part.client_message_id = RandomMessageId();
    part.messages.push_back({member->device, RegistrationId(1234), 3, {'g'}});
    group.recipients.push_back(part);
  }
  wire::Response response = alice_client.Call(group);
  ASSERT_EQ(response.status, ResponseStatus::kOk);
  for (const auto& result : std::get<wire::SendMultiRecipientResult>(response.body).results) {
    EXPECT_EQ(result.status, ResponseStatus::kOk);
  }
  EXPECT_EQ(Text(bob_client.NextEnvelope()), "g");
  EXPECT_EQ(Text(carol_client.NextEnvelope()), "g");
  EXPECT_EQ(MetricValue("parley_envelopes_pushed_direct_total"), 5u);
  EXPECT_EQ(MetricValue("parley_envelopes_pushed_total"), 5u);
}

// Sends from many connections at once are committed in groups (QueueWriter):
// every send answered ok is delivered exactly once, each sender's messages in
// the order it sent them, and a retry pipelined right behind its first
// attempt (most likely in the same group commit) is not delivered again.
// Authentication writes the device's last-seen time only when the stored one
// is an hour old: a reconnect storm costs no durable write per connection.
TEST_F(RequestHandlersTest, LastSeenIsWrittenAtMostOncePerHour) {
  DeviceLogin alice;
  {
    WireClient client(port());
    alice = Register(client, "alice", MakeKeys(20));
  }
  const auto last_seen = [&] {
    WireClient client(port());
    EXPECT_EQ(Authenticate(client, alice).status, ResponseStatus::kOk);
    wire::Response listed = client.Call(wire::ListDevicesRequest{});
    EXPECT_EQ(listed.status, ResponseStatus::kOk);
    if (!std::holds_alternative<wire::ListDevicesResult>(listed.body)) return std::uint64_t{0};
    return std::get<wire::ListDevicesResult>(listed.body).devices.front().last_seen_at_ms;
  };
  const std::uint64_t registered = last_seen();
  EXPECT_GT(registered, 0u);
  clock_.Advance(30 * 60 * 1000);
  EXPECT_EQ(last_seen(), registered) << "half an hour later: not written";
  clock_.Advance(31 * 60 * 1000);
  EXPECT_EQ(last_seen(), static_cast<std::uint64_t>(clock_.NowMillis())) << "an hour later: written";
}

class GroupCommitTest : public RequestHandlersTest {
 protected:
  // Nine accounts register from one address.
  void Configure(ServerConfig& config) override { config.rate_limits.registrations_per_address = {}; }

  // `count` connections, each registered as "sender<i>".
  std::vector<std::unique_ptr<WireClient>> RegisterSenders(int count) {
    std::vector<std::unique_ptr<WireClient>> senders;
    for (int s = 0; s < count; ++s) {
      senders.push_back(std::make_unique<WireClient>(port()));
      Register(*senders.back(), "sender" + std::to_string(s), MakeKeys(20));
    }
    return senders;
  }
};

TEST_F(GroupCommitTest, ConcurrentSendersAreDeliveredExactlyOnceInOrder) {
  constexpr int kSenders = 8;
  constexpr int kPerSender = 25;
  constexpr int kRetried = 5;  // this sequence number is sent twice
  WireClient bob_client(port());
  const DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  const std::vector<std::unique_ptr<WireClient>> senders = RegisterSenders(kSenders);
  // Pipelined, interleaved across the connections; nobody waits for an answer.
  std::vector<std::vector<std::uint64_t>> request_ids(kSenders);
  std::vector<wire::SendMessagesRequest> retried(kSenders);
  for (int seq = 0; seq < kPerSender; ++seq) {
    for (int s = 0; s < kSenders; ++s) {
      wire::SendMessagesRequest send = TextTo(bob, std::to_string(s) + ":" + std::to_string(seq));
      request_ids[s].push_back(senders[s]->Send(send));
      if (seq == kRetried) {
        retried[s] = send;
        request_ids[s].push_back(senders[s]->Send(send));
      }
    }
  }
  for (int s = 0; s < kSenders; ++s) {
    std::optional<wire::SendResult> first_attempt;
    for (std::size_t r = 0; r < request_ids[s].size(); ++r) {
      wire::Response response = senders[s]->WaitForResponse(request_ids[s][r]);
      ASSERT_EQ(response.status, ResponseStatus::kOk) << response.error_detail;
      const auto& result = std::get<wire::SendResult>(response.body);
      if (r == kRetried) first_attempt = result;
      if (r == kRetried + 1) {
        EXPECT_EQ(result, *first_attempt) << "the retry answers like the first";
      }
    }
  }
  // Bob acks as he reads; the push window (64) is smaller than what waits.
  std::vector<int> next_seq(kSenders, 0);
  for (int received = 0; received < kSenders * kPerSender; ++received) {
    std::uint64_t push_id = 0;
    const std::string text = Text(bob_client.NextEnvelope(&push_id));
    const std::size_t colon = text.find(':');
    ASSERT_NE(colon, std::string::npos) << text;
    const int s = std::stoi(text.substr(0, colon));
    ASSERT_GE(s, 0);
    ASSERT_LT(s, kSenders);
    EXPECT_EQ(std::stoi(text.substr(colon + 1)), next_seq[s]) << "sender " << s << " out of order or twice";
    next_seq[s] = std::stoi(text.substr(colon + 1)) + 1;
    bob_client.Ack(push_id);
  }
  for (int s = 0; s < kSenders; ++s) EXPECT_EQ(next_seq[s], kPerSender);
  EXPECT_EQ(MetricValue("parley_messages_queued_total"), std::uint64_t{kSenders * kPerSender});
  EXPECT_EQ(MetricValue("parley_messages_duplicate_total"), std::uint64_t{kSenders});
  // The acks are committed in groups too; the queue empties (bounded wait).
  EXPECT_EQ(QueueDepthOnceDownTo(*store_, {bob.account, bob.device}, 0), 0u);
  // Nothing is left to deliver a second time.
  WireClient again(port());
  ASSERT_EQ(Authenticate(again, bob).status, ResponseStatus::kOk);
  again.ExpectQueueEmpty();
}

// Senders pipeline while the recipient reads and acks at the same time:
// pushes made by the queue writer right after its commits race the acks
// (taken on the network thread) and the pumps they start once the push
// window was full. Every send is still delivered exactly once, each sender's
// in order, and every ack deletes.
TEST_F(GroupCommitTest, DeliveryWhileTheRecipientAcksIsExactlyOnceInOrder) {
  constexpr int kSenders = 4;
  constexpr int kPerSender = 100;  // 400 pipelined sends: past the window of 64
  WireClient bob_client(port());
  const DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  const std::vector<std::unique_ptr<WireClient>> senders = RegisterSenders(kSenders);
  std::vector<int> next_seq(kSenders, 0);
  bool in_order = true;
  std::thread reader([&] {
    for (int received = 0; received < kSenders * kPerSender; ++received) {
      std::uint64_t push_id = 0;
      const std::string text = Text(bob_client.NextEnvelope(&push_id));
      const std::size_t colon = text.find(':');
      const int s = colon == std::string::npos ? -1 : std::stoi(text.substr(0, colon));
      if (s < 0 || s >= kSenders || std::stoi(text.substr(colon + 1)) != next_seq[s]) {
        in_order = false;
        return;
      }
      ++next_seq[s];
      bob_client.Ack(push_id);
    }
  });
  std::vector<std::vector<std::uint64_t>> request_ids(kSenders);
  for (int seq = 0; seq < kPerSender; ++seq) {
    for (int s = 0; s < kSenders; ++s) {
      request_ids[s].push_back(senders[s]->Send(TextTo(bob, std::to_string(s) + ":" + std::to_string(seq))));
    }
  }
  for (int s = 0; s < kSenders; ++s) {
    for (std::uint64_t id : request_ids[s]) {
      ASSERT_EQ(senders[s]->WaitForResponse(id).status, ResponseStatus::kOk);
    }
  }
  reader.join();
  EXPECT_TRUE(in_order) << "a sender's messages arrived out of order or twice";
  for (int s = 0; s < kSenders; ++s) EXPECT_EQ(next_seq[s], kPerSender);
  EXPECT_EQ(MetricValue("parley_envelopes_pushed_total"), std::uint64_t{kSenders * kPerSender});
  EXPECT_EQ(QueueDepthOnceDownTo(*store_, {bob.account, bob.device}, 0), 0u);
}

// A send pipelined right behind another request of the same connection is
// checked after it, although sends are otherwise checked on the network
// thread: here the unlink happens first, so the sync copy to the unlinked
// device is refused as extra.
TEST_F(RequestHandlersTest, SendPipelinedBehindAnotherRequestSeesItsEffect) {
  WireClient alice_primary(port());
  DeviceLogin alice = Register(alice_primary, "alice", MakeKeys(20));
  for (int round = 0; round < 3; ++round) {
    wire::Response code = alice_primary.Call(wire::CreateLinkCodeRequest{});
    ASSERT_EQ(code.status, ResponseStatus::kOk);
    WireClient alice_second(port());
    wire::Response linked =
        alice_second.Call(LaptopLink(std::get<wire::CreateLinkCodeResult>(code.body).code, MakeKeys(5)));
    ASSERT_EQ(linked.status, ResponseStatus::kOk) << linked.error_detail;
    const DeviceId second = std::get<wire::LinkDeviceResult>(linked.body).device_id;
    alice_second.ExpectQueueEmpty();

    wire::SendMessagesRequest sync;
    sync.recipient = alice.account;
    sync.client_message_id = RandomMessageId();
    sync.sync = true;
    sync.messages.push_back({second, RegistrationId(555), 1, {'s'}});
    const std::uint64_t unlink = alice_primary.Send(wire::UnlinkDeviceRequest{second});
    const std::uint64_t send = alice_primary.Send(sync);
    EXPECT_EQ(alice_primary.WaitForResponse(unlink).status, ResponseStatus::kOk);
    wire::Response response = alice_primary.WaitForResponse(send);
    ASSERT_EQ(response.status, ResponseStatus::kMismatchedDevices) << "round " << round;
    EXPECT_EQ(std::get<wire::MismatchedDevices>(response.body).extra, std::vector<DeviceId>{second});
  }
  // A send with nothing before it is still answered at once.
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(5));
  EXPECT_EQ(alice_primary.Call(TextTo(bob, "hi")).status, ResponseStatus::kOk);
  EXPECT_EQ(Text(bob_client.NextEnvelope()), "hi");
}

// The value of one series in the text GET /metrics serves; -1 when absent.
double ScrapedValue(std::uint16_t port, const std::string& series) {
  testing::HttpsClient client(port);
  EXPECT_FALSE(client.Connect());
  boost::system::error_code ec;
  auto response = client.Request(boost::beast::http::verb::get, "/metrics", ec);
  EXPECT_FALSE(ec);
  const std::string& text = response.body();
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST_F(RequestHandlersTest, MetricsExportQueueDepthsReadAtMostOncePerMaxAge) {
  QueueDepthMetrics depths(*store_, clock_, *metrics_, 5'000);
  DeviceLogin bob, carol;
  {
    WireClient bob_client(port());
    bob = Register(bob_client, "bob", MakeKeys(20));
    WireClient carol_client(port());
    carol = Register(carol_client, "carol", MakeKeys(20));
  }
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  EXPECT_EQ(ScrapedValue(port(), "parley_queued_messages"), 0);
  EXPECT_EQ(ScrapedValue(port(), "parley_queue_depth_max"), 0);
  EXPECT_EQ(ScrapedValue(port(), "parley_queues_nonempty"), 0);

  for (const char* text : {"one", "two", "three"})
    ASSERT_EQ(alice_client.Call(TextTo(bob, text)).status, ResponseStatus::kOk);
  ASSERT_EQ(alice_client.Call(TextTo(carol, "hi")).status, ResponseStatus::kOk);
  // Within max_age a scrape shows what was read before, without a query.
  EXPECT_EQ(ScrapedValue(port(), "parley_queued_messages"), 0);
  clock_.Advance(5'000);
  EXPECT_EQ(ScrapedValue(port(), "parley_queued_messages"), 4);
  EXPECT_EQ(ScrapedValue(port(), "parley_queue_depth_max"), 3);
  EXPECT_EQ(ScrapedValue(port(), "parley_queues_nonempty"), 2);

  // Bob connects, takes his three and acknowledges them.
  WireClient bob_again(port());
  ASSERT_EQ(Authenticate(bob_again, bob).status, ResponseStatus::kOk);
  for (int i = 0; i < 3; ++i) {
    std::uint64_t push_id = 0;
    bob_again.NextEnvelope(&push_id);
    bob_again.Ack(push_id);
  }
  bob_again.ExpectQueueEmpty();
  ASSERT_EQ(bob_again.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  clock_.Advance(5'000);
  EXPECT_EQ(ScrapedValue(port(), "parley_queued_messages"), 1);
  EXPECT_EQ(ScrapedValue(port(), "parley_queue_depth_max"), 1);
  EXPECT_EQ(ScrapedValue(port(), "parley_queues_nonempty"), 1);
  EXPECT_EQ(ScrapedValue(port(), "parley_queue_depth_read_failures_total"), 0);
}

// What `parleyd admin disable-account` does (SetAccountDisabledByUsername on
// the store, here through a second store object as the admin process would
// open it) reaches the running server through its periodic check.
TEST_F(RequestHandlersTest, DisablingAConnectedAccountClosesItsConnectionsWith1008) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  DisabledAccountCheck check(*handler_, HandlerStore(), *metrics_, std::chrono::milliseconds(50));
  EXPECT_EQ(check.CheckNow(), 0u);

  auto admin_store = store::OpenServerStore(database_.url(), clock_);
  ASSERT_TRUE(admin_store) << admin_store.error().message;
  ASSERT_TRUE(SetAccountDisabledByUsername(**admin_store, "alice", true));
  check.Start();
  EXPECT_EQ(alice_client.ReadUntilClosed(), 1008);
  check.Stop();
  EXPECT_EQ(alice_client.socket().close_reason().reason, "account disabled");
  EXPECT_EQ(MetricValue("parley_disabled_account_closes_total"), 1u);

  // Bob is not affected; Alice cannot come back until enabled again.
  ASSERT_EQ(bob_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  WireClient again(port());
  EXPECT_EQ(Authenticate(again, alice).status, ResponseStatus::kForbidden);
  ASSERT_TRUE(SetAccountDisabledByUsername(**admin_store, "alice", false));
  WireClient back(port());
  EXPECT_EQ(Authenticate(back, alice).status, ResponseStatus::kOk);
  EXPECT_EQ(check.CheckNow(), 0u);
  EXPECT_EQ(MetricValue("parley_disabled_account_check_failures_total"), 0u);
  EXPECT_EQ(bob.device, DeviceId(1));
}

// What `parleyd admin delete-account` does (DeleteAccountByUsername on the
// store, here through a second store object as the admin process would open
// it) reaches the running server through the same periodic check: every
// connection of the account closes with 1008 "account deleted", and the
// check tells the purge (here a counter) that an account went.
TEST_F(RequestHandlersTest, DeletingAConnectedAccountClosesItsConnectionsWith1008) {
  WireClient alice_phone(port());
  DeviceLogin alice = Register(alice_phone, "alice", MakeKeys(20));
  wire::Response code = alice_phone.Call(wire::CreateLinkCodeRequest{});
  ASSERT_EQ(code.status, ResponseStatus::kOk);
  WireClient alice_laptop(port());
  ASSERT_EQ(alice_laptop.Call(LaptopLink(std::get<wire::CreateLinkCodeResult>(code.body).code, MakeKeys(20)))
                .status,
            ResponseStatus::kOk);
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  std::atomic<int> deletions_told{0};
  DisabledAccountCheck check(*handler_, HandlerStore(), *metrics_, std::chrono::milliseconds(50),
                             [&deletions_told] { ++deletions_told; });
  EXPECT_EQ(check.CheckNow(), 0u);
  EXPECT_EQ(deletions_told, 0);

  auto admin_store = store::OpenServerStore(database_.url(), clock_);
  ASSERT_TRUE(admin_store) << admin_store.error().message;
  ASSERT_TRUE(DeleteAccountByUsername(**admin_store, "alice"));
  check.Start();
  EXPECT_EQ(alice_phone.ReadUntilClosed(), 1008);
  EXPECT_EQ(alice_laptop.ReadUntilClosed(), 1008);
  check.Stop();
  EXPECT_EQ(alice_phone.socket().close_reason().reason, "account deleted");
  EXPECT_EQ(alice_laptop.socket().close_reason().reason, "account deleted");
  EXPECT_EQ(MetricValue("parley_deleted_account_closes_total"), 2u);
  EXPECT_EQ(MetricValue("parley_disabled_account_closes_total"), 0u);
  EXPECT_GE(deletions_told, 1);

  // Bob is not affected; Alice's credential no longer authenticates, and
  // her name can be registered again.
  ASSERT_EQ(bob_client.Call(wire::PingRequest{}).status, ResponseStatus::kOk);
  WireClient again(port());
  EXPECT_NE(Authenticate(again, alice).status, ResponseStatus::kOk);
  WireClient newcomer(port());
  Register(newcomer, "alice", MakeKeys(20));
  const int told = deletions_told;
  EXPECT_EQ(check.CheckNow(), 0u);
  EXPECT_EQ(deletions_told, told);
  EXPECT_EQ(MetricValue("parley_disabled_account_check_failures_total"), 0u);
}

class ShortLinkCodeTest : public RequestHandlersTest {
 protected:
  void Configure(ServerConfig& config) override { config.devices.link_code_validity_seconds = 120; }
};

TEST_F(ShortLinkCodeTest, LinkCodeLivesAsLongAsConfigured) {
  WireClient alice_primary(port());
  Register(alice_primary, "alice", MakeKeys(20));
  const std::int64_t now = clock_.NowMillis();
  wire::Response code = alice_primary.Call(wire::CreateLinkCodeRequest{});
  ASSERT_EQ(code.status, ResponseStatus::kOk);
  const auto& created = std::get<wire::CreateLinkCodeResult>(code.body);
  EXPECT_EQ(created.expires_at_ms, static_cast<std::uint64_t>(now + 120'000));
  clock_.Advance(120'000);
  WireClient laptop(port());
  EXPECT_EQ(laptop.Call(LaptopLink(created.code, MakeKeys(20))).status, ResponseStatus::kGone);
}

class InvitationRegistrationTest : public RequestHandlersTest {
 protected:
  void SetUp() override {
    registration_mode_ = RegistrationMode::kInvitation;
    RequestHandlersTest::SetUp();
  }
};

TEST_F(InvitationRegistrationTest, RegistrationNeedsAValidUnusedInvitation) {
  crypto::SystemRng rng;
  auto invitation = CreateInvitation(*store_, rng, clock_, std::nullopt);
  ASSERT_TRUE(invitation);
  DeviceKeys keys = MakeKeys(20);
  wire::RegisterRequest request;
  request.username = "alice";
  request.registration_id = RegistrationId(1);
  request.identity_key = keys.identity.public_key.Serialize();
  request.signed_prekey = keys.signed_prekey;

  WireClient client(port());
  EXPECT_EQ(client.Call(request).status, ResponseStatus::kForbidden);
  request.invitation_token = "not-a-real-token";
  EXPECT_EQ(client.Call(request).status, ResponseStatus::kForbidden);
  request.invitation_token = invitation->token;
  EXPECT_EQ(client.Call(request).status, ResponseStatus::kOk);

  WireClient second(port());
  request.username = "bob";
  EXPECT_EQ(second.Call(request).status, ResponseStatus::kForbidden);  // used
}

}  // namespace
}  // namespace parley::server
