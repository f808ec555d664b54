// The client library end to end: real parleyd processes on 127.0.0.1 and
// several Client profiles (one account with two devices) talking through
// them over TLS WebSockets with the certificate pinned.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "client/client.h"
#include "client_fixture.h"
#include "parleyd_queue.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;

using testing::EventLog;

class ClientEndToEndTest : public testing::ClientFixture {
 protected:
  // parleyd again, letting more messages to one peer through than its default pair limit.
  void RestartServerWithoutPairLimit() {
    server_.reset();
    server_ = std::make_unique<testing::ParleydProcess>(
        dir_, 0, "messages_per_sender_recipient_pair = { capacity = 1000, refill_per_hour = 100000 }\n");
    ASSERT_NE(server_->port(), 0);
  }

  // The sender back online: its `count` messages in the conversation are all delivered.
  static void ExpectAllDelivered(Client& sender, const ConversationId& conversation, std::size_t count) {
    ASSERT_TRUE(sender.Connect());
    ASSERT_TRUE(sender.WaitUntilDrained(20s));
    auto history = sender.History(conversation, count);
    ASSERT_TRUE(history);
    ASSERT_EQ(history->size(), count);
    for (const StoredMessage& m : *history) EXPECT_EQ(m.status, MessageStatus::kDelivered) << m.body;
  }
};

TEST_F(ClientEndToEndTest, OneToOneBothWaysWithRequestGatingAndReceipts) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);

  auto sent = alice.client->SendText("bob", "hello bob");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  EXPECT_EQ(sent->status, MessageStatus::kSent);

  // Alice is a stranger to Bob: a message request (S2).
  auto received = bob.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "hello bob"; });
  ASSERT_TRUE(received);
  EXPECT_TRUE(received->message.request);
  EXPECT_EQ(received->message.sender, alice.client->account()->account);
  auto requests = bob.client->Requests();
  ASSERT_TRUE(requests);
  ASSERT_EQ(requests->size(), 1u);
  EXPECT_EQ((*requests)[0].account, alice.client->account()->account);
  // The request's claimed username was checked against the server.
  EXPECT_EQ((*requests)[0].username, "alice");

  // No delivery or read receipt goes to a request: Alice's message stays "sent".
  ASSERT_TRUE(bob.client->MarkRead(Conv(*alice.client)));
  std::this_thread::sleep_for(300ms);
  auto alice_view = alice.client->GetMessage(sent->id);
  ASSERT_TRUE(alice_view);
  EXPECT_EQ(alice_view->status, MessageStatus::kSent);

  // Accepted: Bob answers, Alice receives it and sends a delivery receipt.
  ASSERT_TRUE(bob.client->AcceptRequest("alice"));
  auto reply = bob.client->SendText("alice", "hi alice");
  ASSERT_TRUE(reply) << ClientErrcName(reply.error().code);
  auto at_alice = alice.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "hi alice"; });
  ASSERT_TRUE(at_alice);
  EXPECT_FALSE(at_alice->message.request);
  auto delivered = bob.log->WaitFor<MessageUpdated>([&](const MessageUpdated& e) {
    return e.message.id == reply->id && e.message.status == MessageStatus::kDelivered;
  });
  EXPECT_TRUE(delivered);
  // Accepting sends nothing for what came while it was a request (read then).
  alice_view = alice.client->GetMessage(sent->id);
  ASSERT_TRUE(alice_view);
  EXPECT_EQ(alice_view->status, MessageStatus::kSent);

  // Read receipt, edit, reaction and delete travel too.
  ASSERT_TRUE(alice.client->MarkRead(Conv(*bob.client)));
  EXPECT_TRUE(bob.log->WaitFor<MessageUpdated>([&](const MessageUpdated& e) {
    return e.message.id == reply->id && e.message.status == MessageStatus::kRead;
  }));
  ASSERT_TRUE(bob.client->Edit(Conv(*alice.client), reply->id, "hi alice!"));
  EXPECT_TRUE(alice.log->WaitFor<MessageUpdated>([&](const MessageUpdated& e) {
    return e.message.id == reply->id && e.message.body == "hi alice!" && e.message.edited;
  }));
  ASSERT_TRUE(alice.client->React(Conv(*bob.client), reply->id, "+1"));
  EXPECT_TRUE(bob.log->WaitFor<MessageUpdated>(
      [&](const MessageUpdated& e) { return e.message.id == reply->id && e.message.reactions.size() == 1; }));
  ASSERT_TRUE(bob.client->DeleteForEveryone(Conv(*alice.client), reply->id));
  EXPECT_TRUE(alice.log->WaitFor<MessageUpdated>([&](const MessageUpdated& e) {
    return e.message.id == reply->id && e.message.deleted && e.message.body.empty();
  }));
  // Alice cannot edit Bob's message.
  EXPECT_FALSE(alice.client->Edit(Conv(*bob.client), reply->id, "forged"));
}

// A read receipt made while parleyd is down is kept with the read mark and
// goes out, once, when the connection comes back by itself.
TEST_F(ClientEndToEndTest, AReadReceiptMadeWhileTheServerIsDownGoesOutOnceOnReconnect) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(bob.client->AddContact("alice"));
  auto sent = alice.client->SendText("bob", "read me later");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  // Alice goes offline: what Bob sends her stays in parleyd's queue, counted
  // there. First his delivery receipt.
  alice.client->Disconnect();
  const auto server_db = dir_ / "server" / "parley.db";
  const AccountId alice_id = alice.client->account()->account;
  const AccountId bob_id = bob.client->account()->account;
  ASSERT_TRUE(bob.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "read me later"; }));
  ASSERT_TRUE(
      testing::WaitUntil([&] { return testing::QueuedEnvelopesFrom(server_db, alice_id, bob_id) == 1; }));
  const std::size_t queued = 1;

  const std::uint16_t port = server_->port();
  server_.reset();
  ASSERT_TRUE(bob.log->WaitFor<ConnectionChanged>([](const ConnectionChanged& e) { return !e.connected; }));
  // Read while parleyd is down: marked at once, the receipt owed.
  ASSERT_TRUE(bob.client->MarkRead(Conv(*alice.client)));
  auto seen = bob.client->GetMessage(sent->id);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->status, MessageStatus::kSeen);

  server_ = std::make_unique<testing::ParleydProcess>(dir_, port);
  ASSERT_EQ(server_->port(), port) << testing::ReadWholeFile(dir_ / "parleyd.out");
  // Bob's connection comes back by itself and sends it; once drained, no second one follows.
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return testing::QueuedEnvelopesFrom(server_db, alice_id, bob_id) == queued + 1; }));
  ASSERT_TRUE(bob.client->WaitUntilDrained(20s));
  EXPECT_EQ(testing::QueuedEnvelopesFrom(server_db, alice_id, bob_id), queued + 1);
  ASSERT_TRUE(alice.client->Connect());
  EXPECT_TRUE(alice.log->WaitFor<MessageUpdated>([&](const MessageUpdated& e) {
    return e.message.id == sent->id && e.message.status == MessageStatus::kRead;
  }));
}

TEST_F(ClientEndToEndTest, OfflineDeliveryAndRestartWithoutLossOrDuplicates) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(alice.client->AddContact("bob"));
  const ConversationId from_alice = Conv(*alice.client);
  bob.client.reset();  // Bob goes offline (the store is closed)

  for (int i = 0; i < 5; ++i) {
    auto sent = alice.client->SendText("bob", "offline " + std::to_string(i));
    ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  }

  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) expected.push_back("offline " + std::to_string(i));
  for (int run = 0; run < 3; ++run) {
    auto reopened = OpenProfile("bob");
    ASSERT_TRUE(reopened);
    ASSERT_TRUE(reopened->Connect());
    ASSERT_TRUE(reopened->WaitUntilDrained(20s));
    EXPECT_EQ(Bodies(*reopened, from_alice), expected) << "run " << run;
    reopened.reset();
    // More arrive while Bob is closed again.
    if (run == 0) {
      for (int i = 5; i < 7; ++i) {
        ASSERT_TRUE(alice.client->SendText("bob", "offline " + std::to_string(i)));
        expected.push_back("offline " + std::to_string(i));
      }
    }
  }
}

TEST_F(ClientEndToEndTest, ADrainSendsOneDeliveryReceiptPerSenderAndHundredMessages) {
  ASSERT_NO_FATAL_FAILURE(RestartServerWithoutPairLimit());
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(alice.client->AddContact("bob"));
  ASSERT_TRUE(bob.client->AddContact("alice"));
  const AccountId alice_id = alice.client->account()->account;
  const AccountId bob_id = bob.client->account()->account;
  bob.client->Disconnect();

  constexpr std::size_t kMessages = 250;
  for (std::size_t i = 0; i < kMessages; ++i) {
    auto m = alice.client->SendText("bob", "queued " + std::to_string(i));
    ASSERT_TRUE(m) << ClientErrcName(m.error().code);
  }
  // Alice offline too: Bob's receipts wait in her queue, where they are counted.
  alice.client->Disconnect();
  ASSERT_TRUE(bob.client->Connect());
  ASSERT_TRUE(bob.client->WaitUntilDrained(20s));
  EXPECT_EQ(Bodies(*bob.client, Conv(*alice.client)).size(), 100u);  // History's limit here

  // At most 100 ids per receipt, one receipt per run of pushes Bob stored
  // (a run holds up to 512): 3 when all came in one run, never one each.
  const std::size_t receipts = testing::QueuedEnvelopesFrom(dir_ / "server" / "parley.db", alice_id, bob_id);
  EXPECT_GE(receipts, 3u);
  EXPECT_LE(receipts, 12u);

  ExpectAllDelivered(*alice.client, Conv(*bob.client), kMessages);
}

TEST_F(ClientEndToEndTest, AGroupDrainSendsOneDeliveryReceiptPerSenderAndHundredMessages) {
  ASSERT_NO_FATAL_FAILURE(RestartServerWithoutPairLimit());
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(bob.client->AddContact("alice"));  // so the group is no request and he sends receipts
  auto group = alice.client->CreateGroup("batch", {"bob"});
  ASSERT_TRUE(group) << ClientErrcName(group.error().code);
  const ConversationId conversation = GroupConversation(group->id);
  ASSERT_TRUE(testing::WaitUntil([&] { return static_cast<bool>(bob.client->GetGroup(conversation)); }));
  const AccountId alice_id = alice.client->account()->account;
  const AccountId bob_id = bob.client->account()->account;
  bob.client->Disconnect();

  constexpr std::size_t kMessages = 150;
  for (std::size_t i = 0; i < kMessages; ++i) {
    auto m = alice.client->SendGroupText(conversation, "group " + std::to_string(i));
    ASSERT_TRUE(m) << ClientErrcName(m.error().code);
  }
  alice.client->Disconnect();
  const std::size_t before = testing::QueuedEnvelopesFrom(dir_ / "server" / "parley.db", alice_id, bob_id);
  ASSERT_TRUE(bob.client->Connect());
  ASSERT_TRUE(bob.client->WaitUntilDrained(20s));
  const std::size_t receipts =
      testing::QueuedEnvelopesFrom(dir_ / "server" / "parley.db", alice_id, bob_id) - before;
  EXPECT_GE(receipts, 2u);
  EXPECT_LE(receipts, 8u);

  ExpectAllDelivered(*alice.client, conversation, kMessages);
}

TEST_F(ClientEndToEndTest, LinkedDeviceReceivesAndGetsSyncCopies) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);

  auto code = alice.client->CreateLinkCode();
  ASSERT_TRUE(code) << ClientErrcName(code.error().code);
  Profile laptop;
  laptop.client = OpenProfile("alice-laptop");
  laptop.log->Attach(*laptop.client);
  auto linked = laptop.client->Link(Address(), code->code, "alice-laptop");
  ASSERT_TRUE(linked) << ClientErrcName(linked.error().code);
  EXPECT_EQ(linked->account, alice.client->account()->account);
  EXPECT_EQ(linked->device.value(), 2u);
  auto devices = alice.client->ListDevices();
  ASSERT_TRUE(devices);
  EXPECT_EQ(devices->size(), 2u);

  // Bob's message reaches both of Alice's devices.
  ASSERT_TRUE(bob.client->SendText("alice", "to all of alice"));
  EXPECT_TRUE(alice.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "to all of alice"; }));
  EXPECT_TRUE(laptop.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "to all of alice"; }));

  // What the phone sends appears on the laptop as sent.
  auto sent = alice.client->SendText("bob", "from the phone");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  auto copy = laptop.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "from the phone"; });
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->message.direction, Direction::kOutgoing);
  EXPECT_EQ(copy->message.id, sent->id);
  EXPECT_EQ(copy->message.conversation, Conv(*bob.client));
  EXPECT_TRUE(bob.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "from the phone"; }));

  // And the laptop can write too; Bob sees one sender account.
  ASSERT_TRUE(laptop.client->SendText("bob", "from the laptop"));
  auto at_bob = bob.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "from the laptop"; });
  ASSERT_TRUE(at_bob);
  EXPECT_EQ(at_bob->message.sender, alice.client->account()->account);
  EXPECT_EQ(at_bob->message.sender_device.value(), 2u);
}

TEST_F(ClientEndToEndTest, IdentityChangeBlocksSendingToAVerifiedContactUntilReverified) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  auto code = alice.client->CreateLinkCode();
  ASSERT_TRUE(code);
  {
    auto laptop = OpenProfile("laptop-1");
    ASSERT_TRUE(laptop->Link(Address(), code->code, "laptop"));
  }
  ASSERT_TRUE(bob.client->SendText("alice", "first"));
  ASSERT_TRUE(alice.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "first"; }));
  auto number = bob.client->GetSafetyNumber("alice");
  ASSERT_TRUE(number);
  EXPECT_EQ(number->digits.size(), 60u);
  auto alice_number = alice.client->GetSafetyNumber(bob.client->account()->account.value().ToString());
  ASSERT_TRUE(alice_number);
  EXPECT_EQ(alice_number->digits, number->digits);
  // Scanning one's own code is not a match; scanning the peer's is.
  auto own_scan = bob.client->MarkVerified("alice", number->scannable);
  ASSERT_FALSE(own_scan);
  EXPECT_EQ(own_scan.error().code, ClientErrc::kUntrustedIdentity);
  ASSERT_TRUE(bob.client->MarkVerified("alice", alice_number->scannable));

  // The laptop is replaced by a new install on the same device id: a new identity.
  ASSERT_TRUE(alice.client->UnlinkDevice(DeviceId(2)));
  auto code2 = alice.client->CreateLinkCode();
  ASSERT_TRUE(code2);
  auto laptop2 = OpenProfile("laptop-2");
  auto relinked = laptop2->Link(Address(), code2->code, "laptop");
  ASSERT_TRUE(relinked);
  ASSERT_EQ(relinked->device.value(), 2u);

  auto refused = bob.client->SendText("alice", "second");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kUntrustedIdentity);
  EXPECT_TRUE(bob.log->WaitFor<IdentityChanged>([](const IdentityChanged& e) { return e.was_verified; }));
  auto contacts = bob.client->Contacts();
  ASSERT_TRUE(contacts);
  ASSERT_EQ(contacts->size(), 1u);
  EXPECT_TRUE((*contacts)[0].identity_changed);

  ASSERT_TRUE(bob.client->MarkVerified("alice"));
  auto sent = bob.client->SendText("alice", "second");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  EXPECT_TRUE(alice.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "second"; }));
}

TEST_F(ClientEndToEndTest, ReconnectsAfterTheServerRestartsAndDeliversWhatWasQueued) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(alice.client->SendText("bob", "before"));
  ASSERT_TRUE(
      bob.log->WaitFor<MessageReceived>([](const MessageReceived& e) { return e.message.body == "before"; }));
  const std::uint16_t port = server_->port();
  const std::string fingerprint = server_->fingerprint();

  server_.reset();  // parleyd stops; both clients lose their connections
  ASSERT_TRUE(bob.log->WaitFor<ConnectionChanged>([](const ConnectionChanged& e) { return !e.connected; }));
  server_ = std::make_unique<testing::ParleydProcess>(dir_, port);
  ASSERT_EQ(server_->port(), port) << testing::ReadWholeFile(dir_ / "parleyd.out");

  // Alice's send waits for her reconnection; Bob's reconnection resumes his queue.
  auto sent = alice.client->SendText("bob", "after the restart");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  EXPECT_TRUE(bob.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "after the restart"; }));
  EXPECT_EQ(bob.log->Count<MessageReceived>(), 2u);
}

TEST_F(ClientEndToEndTest, DisappearingTimerReachesThePeerAndMessagesExpire) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(bob.client->AddContact("alice"));
  ASSERT_TRUE(alice.client->SendText("bob", "hello"));
  ASSERT_TRUE(
      bob.log->WaitFor<MessageReceived>([](const MessageReceived& e) { return e.message.body == "hello"; }));
  ASSERT_TRUE(alice.client->SetDisappearingTimer(Conv(*bob.client), 1));
  auto sent = alice.client->SendText("bob", "gone soon");
  ASSERT_TRUE(sent);
  EXPECT_GT(sent->expires_at_ms, 0);
  auto received = bob.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "gone soon"; });
  ASSERT_TRUE(received);
  EXPECT_GT(received->message.expires_at_ms, 0);
  auto conversations = bob.client->Conversations();
  ASSERT_TRUE(conversations);
  ASSERT_EQ(conversations->size(), 1u);
  EXPECT_EQ((*conversations)[0].disappearing_seconds, 1u);
  // One second later both sides delete it by themselves (nobody calls
  // ExpireMessages), each saying so with an event; the first message stays.
  for (auto* p : {&alice, &bob}) {
    auto gone = p->log->WaitFor<MessageUpdated>(
        [&](const MessageUpdated& e) { return e.message.id == sent->id && e.message.deleted; });
    ASSERT_TRUE(gone);
    EXPECT_TRUE(gone->message.body.empty());
  }
  EXPECT_FALSE(alice.client->GetMessage(sent->id));
  EXPECT_EQ(Bodies(*bob.client, Conv(*alice.client)), std::vector<std::string>{"hello"});
  EXPECT_EQ(Bodies(*alice.client, Conv(*bob.client)), std::vector<std::string>{"hello"});
  auto nothing_left = bob.client->ExpireMessages();
  ASSERT_TRUE(nothing_left);
  EXPECT_EQ(*nothing_left, 0u);
}

TEST_F(ClientEndToEndTest, DisappearingMessagesExpireOnALinkedDeviceAndAfterARestart) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  Profile laptop = LinkDevice(alice, "alice-laptop");
  ASSERT_TRUE(laptop.client && laptop.client->account());
  ASSERT_TRUE(alice.client->ListDevices());
  ASSERT_TRUE(bob.client->AddContact("alice"));
  ASSERT_TRUE(bob.client->SetDisappearingTimer(Conv(*alice.client), 2));
  auto sent = bob.client->SendText("alice", "short-lived");
  ASSERT_TRUE(sent);
  ASSERT_TRUE(laptop.log->WaitFor<MessageReceived>(
      [&](const MessageReceived& e) { return e.message.id == sent->id; }));
  ASSERT_TRUE(alice.log->WaitFor<MessageReceived>(
      [&](const MessageReceived& e) { return e.message.id == sent->id; }));
  // The phone is closed before the message is due and opened after: it
  // expires the message on opening, without connecting.
  alice.client.reset();
  EXPECT_TRUE(laptop.log->WaitFor<MessageUpdated>(
      [&](const MessageUpdated& e) { return e.message.id == sent->id && e.message.deleted; }));
  EXPECT_FALSE(laptop.client->GetMessage(sent->id));
  std::this_thread::sleep_for(200ms);
  alice.client = OpenProfile("alice");
  ASSERT_TRUE(alice.client);
  EXPECT_TRUE(testing::WaitUntil([&] { return !alice.client->GetMessage(sent->id); }));
}

TEST_F(ClientEndToEndTest, WrongPinIsRefused) {
  auto client = OpenProfile("mallory");
  ASSERT_TRUE(client);
  ServerAddress address = Address();
  address.pin = std::string(64, '0');
  auto registered = client->Register(address, "mallory", "phone");
  ASSERT_FALSE(registered);
  EXPECT_EQ(registered.error().code, ClientErrc::kNetwork);
  EXPECT_FALSE(client->account());
}

TEST_F(ClientEndToEndTest, BlockedContactsMessagesAreDropped) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(alice.client->SendText("bob", "one"));
  ASSERT_TRUE(
      bob.log->WaitFor<MessageReceived>([](const MessageReceived& e) { return e.message.body == "one"; }));
  ASSERT_TRUE(bob.client->Block("alice"));
  ASSERT_TRUE(alice.client->SendText("bob", "two"));
  ASSERT_TRUE(alice.client->SendText("bob", "three"));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(Bodies(*bob.client, Conv(*alice.client)), std::vector<std::string>{"one"});
  auto refused = bob.client->SendText("alice", "no");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kBlocked);
}

}  // namespace
}  // namespace parley::client
