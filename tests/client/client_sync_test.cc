// Our own devices agree: contacts (verified, blocked, accepted requests)
// reach a newly linked device and every later change reaches the others,
// end to end through a real parleyd on 127.0.0.1.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "base/clock.h"
#include "client/client.h"
#include "client/connection.h"
#include "client/content.h"
#include "client_fixture.h"
#include "crypto/random.h"
#include "parleyd_queue.h"
#include "protocol/session_cipher.h"
#include "store/client_store.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;

using testing::WaitUntil;

class ClientSyncTest : public testing::ClientFixture {
 protected:
  static std::optional<Contact> ContactOf(Client& client, const AccountId& account) {
    auto contacts = client.Contacts();
    if (!contacts) return std::nullopt;
    for (const Contact& c : *contacts) {
      if (c.account == account) return c;
    }
    return std::nullopt;
  }

  // Waits until the client holds the contact in `state` (and verified, when asked).
  static bool HasContact(Client& client, const AccountId& account, ContactState state,
                         bool verified = false) {
    return WaitUntil([&] {
      auto c = ContactOf(client, account);
      return c && c->state == state && (!verified || c->verified);
    });
  }

  static AccountId Id(Client& client) { return client.account()->account; }

  // Waits until the client holds the group with this name and member count.
  static bool HasGroup(Client& client, const ConversationId& group, const std::string& name,
                       std::size_t members) {
    return WaitUntil([&] {
      auto got = client.GetGroup(group);
      return got && got->name == name && got->members.size() == members;
    });
  }
};

TEST_F(ClientSyncTest, LinkedDeviceGetsContactsAndLaterChangesReachEveryDevice) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  Profile carol = Register("carol");
  Profile dave = Register("dave");
  Profile erin = Register("erin");
  Profile frank = Register("frank");
  ASSERT_TRUE(alice.client && bob.client && carol.client && dave.client && erin.client && frank.client);

  // Before the laptop exists: Bob added and verified, Carol's request
  // accepted, Dave's request blocked.
  ASSERT_TRUE(alice.client->AddContact("bob"));
  ASSERT_TRUE(alice.client->MarkVerified("bob"));
  ASSERT_TRUE(carol.client->SendText("alice", "hi from carol"));
  ASSERT_TRUE(dave.client->SendText("alice", "hi from dave"));
  ASSERT_TRUE(HasContact(*alice.client, Id(*carol.client), ContactState::kRequest));
  ASSERT_TRUE(HasContact(*alice.client, Id(*dave.client), ContactState::kRequest));
  ASSERT_TRUE(alice.client->AcceptRequest("carol"));
  ASSERT_TRUE(alice.client->Block("dave"));

  // The laptop is linked; the phone sends it the contacts when it sees it.
  Profile laptop = LinkDevice(alice, "alice-laptop");
  ASSERT_TRUE(laptop.client);
  ASSERT_TRUE(alice.client->ListDevices());
  EXPECT_TRUE(HasContact(*laptop.client, Id(*bob.client), ContactState::kAccepted, true));
  EXPECT_TRUE(HasContact(*laptop.client, Id(*carol.client), ContactState::kAccepted));
  EXPECT_TRUE(HasContact(*laptop.client, Id(*dave.client), ContactState::kBlocked));
  EXPECT_EQ(ContactOf(*laptop.client, Id(*bob.client))->username, "bob");
  // Verified for the same identity key: the laptop's safety number says so
  // and it sends to Bob without verifying again.
  auto number = laptop.client->GetSafetyNumber("bob");
  ASSERT_TRUE(number) << ClientErrcName(number.error().code);
  EXPECT_TRUE(number->verified);
  auto to_bob = laptop.client->SendText("bob", "from the laptop");
  ASSERT_TRUE(to_bob) << ClientErrcName(to_bob.error().code);
  // Dave is blocked on the laptop too: it refuses to send to him.
  auto to_dave = laptop.client->SendText("dave", "no");
  ASSERT_FALSE(to_dave);
  EXPECT_EQ(to_dave.error().code, ClientErrc::kBlocked);

  // Later changes, from either device, reach the other.
  ASSERT_TRUE(erin.client->SendText("alice", "hi from erin"));
  ASSERT_TRUE(HasContact(*laptop.client, Id(*erin.client), ContactState::kRequest));
  ASSERT_TRUE(laptop.client->AcceptRequest("erin"));  // accept
  EXPECT_TRUE(HasContact(*alice.client, Id(*erin.client), ContactState::kAccepted));
  ASSERT_TRUE(alice.client->Unblock("dave"));  // unblock
  EXPECT_TRUE(HasContact(*laptop.client, Id(*dave.client), ContactState::kAccepted));
  ASSERT_TRUE(laptop.client->Block("carol"));  // block
  EXPECT_TRUE(HasContact(*alice.client, Id(*carol.client), ContactState::kBlocked));
  ASSERT_TRUE(laptop.client->MarkVerified("erin"));  // verify
  EXPECT_TRUE(HasContact(*alice.client, Id(*erin.client), ContactState::kAccepted, true));
  ASSERT_TRUE(laptop.client->AddContact("frank"));  // add
  EXPECT_TRUE(HasContact(*alice.client, Id(*frank.client), ContactState::kAccepted));
  EXPECT_EQ(ContactOf(*alice.client, Id(*frank.client))->username, "frank");
}

TEST_F(ClientSyncTest, AChangeMadeOfflineReachesTheOtherDevicesOnTheNextConnect) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(alice.client->AddContact("bob"));
  Profile laptop = LinkDevice(alice, "alice-laptop");
  ASSERT_TRUE(laptop.client);
  ASSERT_TRUE(alice.client->ListDevices());
  ASSERT_TRUE(HasContact(*laptop.client, Id(*bob.client), ContactState::kAccepted));

  // The phone blocks Bob while offline; the block goes out when it connects.
  alice.client->Disconnect();
  ASSERT_TRUE(alice.client->Block("bob"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ContactOf(*laptop.client, Id(*bob.client))->state, ContactState::kAccepted);
  ASSERT_TRUE(alice.client->Connect());
  EXPECT_TRUE(HasContact(*laptop.client, Id(*bob.client), ContactState::kBlocked));
}

TEST_F(ClientSyncTest, ASnapshotDoesNotUndoWhatTheNewDeviceDecidedItself) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(bob.client->SendText("alice", "hi"));
  ASSERT_TRUE(HasContact(*alice.client, Id(*bob.client), ContactState::kRequest));

  // The laptop is linked while the phone is away, and blocks Bob's request
  // itself; the phone's list (Bob still a request there) arrives later.
  alice.client->Disconnect();
  Profile laptop = LinkDevice(alice, "alice-laptop");
  ASSERT_TRUE(laptop.client);
  ASSERT_TRUE(bob.client->SendText("alice", "hello laptop"));
  ASSERT_TRUE(HasContact(*laptop.client, Id(*bob.client), ContactState::kRequest));
  ASSERT_TRUE(laptop.client->Block("bob"));
  ASSERT_TRUE(alice.client->Connect());
  // The block (a change) reaches the phone; the phone's snapshot leaves the laptop's block alone.
  EXPECT_TRUE(HasContact(*alice.client, Id(*bob.client), ContactState::kBlocked));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ContactOf(*laptop.client, Id(*bob.client))->state, ContactState::kBlocked);
}

TEST_F(ClientSyncTest, APrimaryConnectedThroughoutServesANewDeviceItsContactsAndGroups) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  Profile dave = Register("dave");
  ASSERT_TRUE(alice.client && bob.client && dave.client);
  ASSERT_TRUE(alice.client->AddContact("bob"));
  ASSERT_TRUE(alice.client->MarkVerified("bob"));
  ASSERT_TRUE(dave.client->SendText("alice", "hi from dave"));
  ASSERT_TRUE(HasContact(*alice.client, Id(*dave.client), ContactState::kRequest));
  ASSERT_TRUE(alice.client->Block("dave"));
  auto group = alice.client->CreateGroup("climbing", {"bob"});
  ASSERT_TRUE(group) << ClientErrcName(group.error().code);

  // The phone stays connected and never lists its devices: the laptop's
  // sync request is what makes it send.
  ASSERT_TRUE(alice.client->connected());
  Profile laptop = LinkDevice(alice, "alice-laptop");
  ASSERT_TRUE(laptop.client);
  EXPECT_TRUE(HasContact(*laptop.client, Id(*bob.client), ContactState::kAccepted, true));
  EXPECT_TRUE(HasContact(*laptop.client, Id(*dave.client), ContactState::kBlocked));
  const ConversationId group_id = GroupConversation(group->id);
  ASSERT_TRUE(HasGroup(*laptop.client, group_id, "climbing", 2));
  EXPECT_TRUE(alice.client->connected());
  // The laptop writes to the group and Bob reads it.
  ASSERT_TRUE(laptop.client->SendGroupText(group_id, "from the laptop"));
  EXPECT_TRUE(WaitUntil([&] {
    auto bodies = Bodies(*bob.client, group_id);
    return std::find(bodies.begin(), bodies.end(), "from the laptop") != bodies.end();
  }));
}

TEST_F(ClientSyncTest, WithThePrimaryOfflineALinkedDeviceAnswersAndTheFirstAnswerWins) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  Profile carol = Register("carol");
  ASSERT_TRUE(alice.client && bob.client && carol.client);
  ASSERT_TRUE(alice.client->AddContact("bob"));
  ASSERT_TRUE(alice.client->MarkVerified("bob"));
  auto group = alice.client->CreateGroup("climbing", {"bob"});
  ASSERT_TRUE(group) << ClientErrcName(group.error().code);
  const ConversationId group_id = GroupConversation(group->id);
  Profile laptop = LinkDevice(alice, "alice-laptop");
  ASSERT_TRUE(laptop.client);
  ASSERT_TRUE(
      laptop.log->WaitFor<OwnDeviceSynced>([](const OwnDeviceSynced& e) { return e.from == DeviceId(1); }));
  ASSERT_TRUE(HasGroup(*laptop.client, group_id, "climbing", 2));
  const DeviceId laptop_device = laptop.client->account()->device;

  // The phone makes a code and goes offline; the tablet links with it and
  // gets everything from the laptop.
  auto code = alice.client->CreateLinkCode();
  ASSERT_TRUE(code);
  alice.client->Disconnect();
  Profile tablet;
  tablet.client = OpenProfile("alice-tablet");
  ASSERT_TRUE(tablet.client);
  tablet.log->Attach(*tablet.client);
  ASSERT_TRUE(tablet.client->Link(Address(), code->code, "alice-tablet"));
  EXPECT_TRUE(HasContact(*tablet.client, Id(*bob.client), ContactState::kAccepted, true));
  EXPECT_TRUE(HasGroup(*tablet.client, group_id, "climbing", 2));
  auto synced = tablet.log->WaitFor<OwnDeviceSynced>([](const OwnDeviceSynced&) { return true; });
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->from, laptop_device);

  // The phone comes back to the tablet's requests and the laptop's answer
  // behind them in its queue: answered already, it sends the tablet nothing
  // (counted in parleyd's queue while the tablet is away). A contact the
  // phone adds afterwards marks when it has arrived.
  const DeviceId tablet_device = tablet.client->account()->device;
  tablet.client->Disconnect();
  ASSERT_TRUE(alice.client->Connect());
  ASSERT_TRUE(alice.client->WaitUntilDrained(20s));
  const AccountId id = Id(*alice.client);
  EXPECT_EQ(testing::QueuedEnvelopesFrom(dir_ / "server" / "parley.db", id, id, tablet_device, DeviceId(1)),
            0u);
  ASSERT_TRUE(tablet.client->Connect());
  ASSERT_TRUE(alice.client->AddContact("carol"));
  ASSERT_TRUE(HasContact(*tablet.client, Id(*carol.client), ContactState::kAccepted));
  EXPECT_EQ(tablet.log->Count<OwnDeviceSynced>(), 1u);

  // Asked again, the tablet takes one answer: the phone's, now that it is here.
  ASSERT_TRUE(tablet.client->RequestSync());
  EXPECT_TRUE(WaitUntil([&] { return tablet.log->Count<OwnDeviceSynced>() == 2u; }));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(tablet.log->Count<OwnDeviceSynced>(), 2u);
  auto again =
      tablet.log->WaitFor<OwnDeviceSynced>([&](const OwnDeviceSynced& e) { return e.from == DeviceId(1); });
  EXPECT_TRUE(again);

  // The primary holds the account's state: it has nobody to ask.
  auto on_primary = alice.client->RequestSync();
  ASSERT_FALSE(on_primary);
  EXPECT_EQ(on_primary.error().code, ClientErrc::kForbidden);
  // A profile that belongs to no account has nobody to ask either.
  auto unregistered = OpenProfile("nobody");
  ASSERT_TRUE(unregistered);
  auto none = unregistered->RequestSync();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ClientErrc::kNotRegistered);
}

TEST_F(ClientSyncTest, LinkedDevicesWaitingForTheStateDoNotKeepAskingEachOther) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(alice.client->AddContact("bob"));
  auto laptop_code = alice.client->CreateLinkCode();
  auto tablet_code = alice.client->CreateLinkCode();
  ASSERT_TRUE(laptop_code && tablet_code);
  alice.client->Disconnect();
  const auto link = [&](const std::string& name, const std::string& code) {
    Profile p;
    p.client = OpenProfile(name);
    p.log->Attach(*p.client);
    EXPECT_TRUE(p.client && p.client->Link(Address(), code, name));
    return p;
  };
  // Neither has the state while the phone is away: each asks, none answers.
  Profile laptop = link("alice-laptop", laptop_code->code);
  laptop.client->Disconnect();
  Profile tablet = link("alice-tablet", tablet_code->code);
  tablet.client->Disconnect();
  // Past the 5 s after which an unanswered request is repeated for any
  // device: the laptop's one request on connecting is that one already.
  std::this_thread::sleep_for(5500ms);
  ASSERT_TRUE(laptop.client->Connect());
  ASSERT_TRUE(laptop.client->WaitUntilDrained(20s));
  // The laptop found the tablet's request: it asks once (on connecting) and
  // does not ask again in answer.
  const AccountId id = Id(*alice.client);
  EXPECT_EQ(testing::QueuedEnvelopesFrom(dir_ / "server" / "parley.db", id, id,
                                         tablet.client->account()->device, laptop.client->account()->device),
            1u);
  // The phone comes back and answers both.
  ASSERT_TRUE(tablet.client->Connect());
  ASSERT_TRUE(alice.client->Connect());
  EXPECT_TRUE(HasContact(*laptop.client, Id(*bob.client), ContactState::kAccepted));
  EXPECT_TRUE(HasContact(*tablet.client, Id(*bob.client), ContactState::kAccepted));
}

// With three devices and the phone online, one answer travels to a new
// device: the phone's; the laptop, which holds the state too, leaves it to
// the phone (counted in parleyd's queue while the new device is away).
TEST_F(ClientSyncTest, WithThePrimaryOnlineOneAnswerTravelsToANewDevice) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(alice.client->AddContact("bob"));
  Profile laptop = LinkDevice(alice, "alice-laptop");
  ASSERT_TRUE(laptop.client);
  ASSERT_TRUE(
      laptop.log->WaitFor<OwnDeviceSynced>([](const OwnDeviceSynced& e) { return e.from == DeviceId(1); }));
  const DeviceId laptop_device = laptop.client->account()->device;

  // The tablet links (and asks), then goes away.
  Profile tablet = LinkDevice(alice, "alice-tablet");
  ASSERT_TRUE(tablet.client);
  const DeviceId tablet_device = tablet.client->account()->device;
  tablet.client->Disconnect();
  // A message the phone sends next reaches the laptop behind the tablet's
  // request: once the laptop shows it, it has handled the request.
  ASSERT_TRUE(alice.client->SendText("bob", "after the request"));
  ASSERT_TRUE(laptop.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "after the request"; }));
  const AccountId id = Id(*alice.client);
  const auto db = dir_ / "server" / "parley.db";
  // From the phone: its answer (one contact) and the copy of its message.
  EXPECT_TRUE(
      WaitUntil([&] { return testing::QueuedEnvelopesFrom(db, id, id, tablet_device, DeviceId(1)) == 2u; }));
  EXPECT_EQ(testing::QueuedEnvelopesFrom(db, id, id, tablet_device, laptop_device), 0u);

  // Back, the tablet takes the phone's answer.
  ASSERT_TRUE(tablet.client->Connect());
  EXPECT_TRUE(HasContact(*tablet.client, Id(*bob.client), ContactState::kAccepted));
  auto synced = tablet.log->WaitFor<OwnDeviceSynced>([](const OwnDeviceSynced&) { return true; });
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->from, DeviceId(1));
}

// A sync request is honoured only from our own devices: from a stranger,
// encrypted and sent by hand over a session its client set up, it is
// decrypted and then ignored (it does not even make a message request).
TEST_F(ClientSyncTest, ASyncRequestFromAnotherAccountIsIgnored) {
  Profile alice = Register("alice");
  Profile mallory = Register("mallory");
  ASSERT_TRUE(alice.client && mallory.client);
  const AccountId alice_id = Id(*alice.client);
  ASSERT_TRUE(mallory.client->AddContact("alice"));  // a session with alice's device, nothing sent
  const AccountInfo mallory_info = *mallory.client->account();
  mallory.client.reset();
  alice.client->Disconnect();

  // Mallory's sync request, encrypted with its stored session.
  std::vector<std::uint8_t> ciphertext;
  std::uint32_t type = 0;
  RegistrationId registration(0);
  std::optional<store::LocalAccount> local;
  {
    SystemClock clock;
    crypto::SystemRng rng;
    auto key = store::KeyFromFile(dir_ / "profiles" / "mallory.key");
    ASSERT_TRUE(key);
    auto opened = store::ClientStore::Open(dir_ / "profiles" / "mallory" / "parley.db", *key, clock);
    ASSERT_TRUE(opened);
    store::ClientStore& store = **opened;
    auto account = store.LoadAccount();
    ASSERT_TRUE(account && *account);
    local = **account;
    const protocol::ProtocolAddress address{alice_id.value().ToString(), DeviceId(1)};
    protocol::SessionRecord* record = store.LoadSession(address);
    ASSERT_TRUE(record != nullptr && record->has_current_state());
    registration = record->current_state()->remote_registration_id;
    Content content;
    content.message_id.fill(0x5a);
    content.sent_at_ms = 1'700'000'000'000;
    content.body = SyncRequestBody{SyncRequestKind::kContactsAndGroups};
    auto plaintext = EncodeContent(content);
    ASSERT_TRUE(plaintext);
    protocol::SessionCipher cipher({store, store, store, store}, address, rng);
    auto encrypted = cipher.Encrypt(plaintext->bytes());
    ASSERT_TRUE(encrypted);
    ciphertext = std::move(encrypted->bytes);
    type = static_cast<std::uint32_t>(encrypted->type);
  }
  {
    ConnectionOptions options{"127.0.0.1", mallory_info.server.port, mallory_info.server.pin};
    options.reconnect = false;
    Connection connection(
        options, [](wire::Push) {}, [](bool) {});
    connection.SetAuthentication(
        wire::AuthenticateRequest{local->account, local->device, wire::DeviceCredential{local->credential}});
    ASSERT_TRUE(connection.Start());
    wire::SendMessagesRequest send;
    send.recipient = alice_id;
    send.client_message_id.fill(0x33);
    send.messages.push_back({DeviceId(1), registration, type, ciphertext});
    auto sent = connection.Call(send, 10s);
    ASSERT_TRUE(sent);
    ASSERT_EQ(sent->status, wire::ResponseStatus::kOk);
    connection.Stop();
  }

  // Alice drains it: no request, no contact, no decryption failure.
  ASSERT_TRUE(alice.client->Connect());
  ASSERT_TRUE(alice.client->WaitUntilDrained(20s));
  EXPECT_FALSE(ContactOf(*alice.client, mallory_info.account));
  auto requests = alice.client->Requests();
  ASSERT_TRUE(requests);
  EXPECT_TRUE(requests->empty());
  EXPECT_EQ(alice.log->Count<DecryptionFailed>(), 0u);
  // The session went on: mallory's next message is a request as usual.
  mallory.client = OpenProfile("mallory");
  ASSERT_TRUE(mallory.client && mallory.client->Connect());
  ASSERT_TRUE(mallory.client->SendText("alice", "hi alice"));
  EXPECT_TRUE(HasContact(*alice.client, mallory_info.account, ContactState::kRequest));
  EXPECT_EQ(alice.log->Count<DecryptionFailed>(), 0u);
}

}  // namespace
}  // namespace parley::client
