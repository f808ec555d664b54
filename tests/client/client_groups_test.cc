// Groups end to end: a real parleyd on 127.0.0.1, three accounts, one of
// them on two devices; membership changes and sender-key rotation.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/content.h"
#include "client_fixture.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;

using testing::EventLog;
using testing::WaitUntil;

class ClientGroupsTest : public testing::ClientFixture {};

bool Received(EventLog& log, const std::string& body, const ConversationId& conversation) {
  return log
      .WaitFor<MessageReceived>([&](const MessageReceived& e) {
        return e.message.body == body && e.message.conversation == conversation;
      })
      .has_value();
}

bool HasBody(Client& client, const ConversationId& conversation, const std::string& body) {
  auto history = client.History(conversation, 100);
  if (!history) return false;
  return std::any_of(history->begin(), history->end(),
                     [&](const StoredMessage& m) { return m.body == body; });
}

TEST_F(ClientGroupsTest, MembershipChangesReachEveryDeviceAndRemovedMembersReadNothingAfter) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  Profile carol = Register("carol");
  ASSERT_TRUE(alice.client && bob.client && carol.client);
  auto code = alice.client->CreateLinkCode();
  ASSERT_TRUE(code);
  Profile laptop;
  laptop.client = OpenProfile("alice-laptop");
  laptop.log->Attach(*laptop.client);
  ASSERT_TRUE(laptop.client->Link(Address(), code->code, "alice-laptop"));
  ASSERT_TRUE(alice.client->ListDevices());
  const AccountId alice_id = alice.client->account()->account;
  const AccountId bob_id = bob.client->account()->account;
  const AccountId carol_id = carol.client->account()->account;

  // Created by a stranger: a request for Bob and Carol (S2).
  auto created = alice.client->CreateGroup("climbers", {"bob", "carol"});
  ASSERT_TRUE(created) << ClientErrcName(created.error().code);
  const ConversationId group = GroupConversation(created->id);
  EXPECT_EQ(created->admins, std::vector<AccountId>{alice_id});
  ASSERT_EQ(created->members.size(), 3u);
  for (EventLog* log : {bob.log.get(), carol.log.get(), laptop.log.get()}) {
    auto changed =
        log->WaitFor<GroupChanged>([&](const GroupChanged& e) { return e.group.id == created->id; });
    ASSERT_TRUE(changed);
    EXPECT_EQ(changed->group.name, "climbers");
    EXPECT_EQ(changed->group.members, created->members);
    EXPECT_EQ(changed->by, alice_id);
  }
  EXPECT_TRUE(bob.client->GetGroup(group)->request);
  EXPECT_FALSE(laptop.client->GetGroup(group)->request);

  // One sender-key message reaches every member device.
  ASSERT_TRUE(alice.client->SendGroupText(group, "hello climbers"));
  for (EventLog* log : {bob.log.get(), carol.log.get(), laptop.log.get()}) {
    EXPECT_TRUE(Received(*log, "hello climbers", group));
  }
  auto at_bob = bob.client->History(group, 10);
  ASSERT_TRUE(at_bob && at_bob->size() == 1u);
  EXPECT_TRUE(at_bob->front().request);
  EXPECT_EQ(at_bob->front().sender, alice_id);

  // Bob answers (accepting the request); both of Alice's devices and Carol read it.
  auto answer = bob.client->SendGroupText(group, "hi from bob");
  ASSERT_TRUE(answer) << ClientErrcName(answer.error().code);
  EXPECT_FALSE(bob.client->GetGroup(group)->request);
  for (EventLog* log : {alice.log.get(), carol.log.get(), laptop.log.get()}) {
    EXPECT_TRUE(Received(*log, "hi from bob", group));
  }

  // Only admins change the group.
  auto refused = bob.client->RenameGroup(group, "bob's group");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kForbidden);

  // A new name is the same everywhere.
  ASSERT_TRUE(alice.client->RenameGroup(group, "summit team"));
  for (auto* p : {&bob, &carol, &laptop}) {
    ASSERT_TRUE(
        p->log->WaitFor<GroupChanged>([](const GroupChanged& e) { return e.group.name == "summit team"; }));
    EXPECT_EQ(p->client->GetGroup(group)->name, "summit team");
  }

  // Carol is removed: she learns it, and reads nothing sent afterwards, by
  // Alice or by Bob (whose sender keys are new and never sent to her).
  auto removed = alice.client->RemoveGroupMembers(group, {"carol"});
  ASSERT_TRUE(removed) << ClientErrcName(removed.error().code);
  ASSERT_TRUE(carol.log->WaitFor<GroupChanged>([](const GroupChanged& e) { return !e.group.active; }));
  EXPECT_FALSE(carol.client->GetGroup(group)->active);
  ASSERT_TRUE(bob.log->WaitFor<GroupChanged>(
      [&](const GroupChanged& e) { return e.group.members.size() == 2u && e.group.id == created->id; }));
  ASSERT_TRUE(alice.client->SendGroupText(group, "secret plan"));
  ASSERT_TRUE(bob.client->SendGroupText(group, "secret reply"));
  EXPECT_TRUE(Received(*bob.log, "secret plan", group));
  EXPECT_TRUE(Received(*laptop.log, "secret plan", group));
  EXPECT_TRUE(Received(*alice.log, "secret reply", group));
  EXPECT_TRUE(Received(*laptop.log, "secret reply", group));
  // Carol, connected all along, has had time to get anything meant for her.
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(HasBody(*carol.client, group, "secret plan"));
  EXPECT_FALSE(HasBody(*carol.client, group, "secret reply"));
  auto carol_send = carol.client->SendGroupText(group, "am I still here?");
  ASSERT_FALSE(carol_send);
  EXPECT_EQ(carol_send.error().code, ClientErrc::kNotFound);

  // Added back, she reads what follows (a new key reaches her).
  ASSERT_TRUE(alice.client->AddGroupMembers(group, {"carol"}));
  ASSERT_TRUE(WaitUntil([&] {
    auto state = carol.client->GetGroup(group);
    return state && state->active && state->members.size() == 3u;
  }));
  ASSERT_TRUE(WaitUntil([&] {
    auto state = bob.client->GetGroup(group);
    return state && state->members.size() == 3u;
  }));
  ASSERT_TRUE(alice.client->SendGroupText(group, "welcome back"));
  EXPECT_TRUE(Received(*carol.log, "welcome back", group));
  ASSERT_TRUE(bob.client->SendGroupText(group, "hi again carol"));
  EXPECT_TRUE(Received(*carol.log, "hi again carol", group));

  // Bob leaves: everyone sees it, and he reads nothing after.
  ASSERT_TRUE(bob.client->LeaveGroup(group));
  EXPECT_FALSE(bob.client->GetGroup(group)->active);
  for (auto* p : {&alice, &carol, &laptop}) {
    ASSERT_TRUE(p->log->WaitFor<GroupChanged>(
        [&](const GroupChanged& e) { return e.by == bob_id && e.group.members.size() == 2u; }));
    auto state = p->client->GetGroup(group);
    ASSERT_TRUE(state);
    EXPECT_EQ(std::count(state->members.begin(), state->members.end(), bob_id), 0);
    EXPECT_EQ(std::count(state->members.begin(), state->members.end(), carol_id), 1);
  }
  ASSERT_TRUE(laptop.client->SendGroupText(group, "from the laptop"));
  EXPECT_TRUE(Received(*carol.log, "from the laptop", group));
  EXPECT_TRUE(Received(*alice.log, "from the laptop", group));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(HasBody(*bob.client, group, "from the laptop"));

  auto groups = alice.client->Groups();
  ASSERT_TRUE(groups && groups->size() == 1u);
  EXPECT_EQ(groups->front().name, "summit team");
}

TEST_F(ClientGroupsTest, ANewlyLinkedDeviceGetsTheGroupsAndReadsThem) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  auto created = alice.client->CreateGroup("before the laptop", {"bob"});
  ASSERT_TRUE(created);
  const ConversationId group = GroupConversation(created->id);
  ASSERT_TRUE(
      bob.log->WaitFor<GroupChanged>([&](const GroupChanged& e) { return e.group.id == created->id; }));

  auto code = alice.client->CreateLinkCode();
  ASSERT_TRUE(code);
  Profile laptop;
  laptop.client = OpenProfile("alice-laptop");
  laptop.log->Attach(*laptop.client);
  ASSERT_TRUE(laptop.client->Link(Address(), code->code, "alice-laptop"));
  ASSERT_TRUE(alice.client->ListDevices());
  auto synced =
      laptop.log->WaitFor<GroupChanged>([&](const GroupChanged& e) { return e.group.id == created->id; });
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->group.name, "before the laptop");
  EXPECT_EQ(synced->group.members, created->members);
  EXPECT_FALSE(synced->group.request);

  // Both members' messages reach the new device (their sender keys follow).
  ASSERT_TRUE(alice.client->SendGroupText(group, "from the phone"));
  EXPECT_TRUE(Received(*laptop.log, "from the phone", group));
  ASSERT_TRUE(bob.client->SendGroupText(group, "from bob"));
  EXPECT_TRUE(Received(*laptop.log, "from bob", group));
  EXPECT_TRUE(Received(*alice.log, "from bob", group));
}

TEST_F(ClientGroupsTest, DeleteAccountRemovesItOnTheServerAndWipesTheProfile) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  ASSERT_TRUE(bob.client->SendText("alice", "hello alice"));
  ASSERT_TRUE(alice.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "hello alice"; }));

  auto deleted = alice.client->DeleteAccount();
  ASSERT_TRUE(deleted) << ClientErrcName(deleted.error().code);
  EXPECT_FALSE(alice.client->account());
  auto conversations = alice.client->Conversations();
  ASSERT_TRUE(conversations);
  EXPECT_TRUE(conversations->empty());
  auto contacts = alice.client->Contacts();
  ASSERT_TRUE(contacts);
  EXPECT_TRUE(contacts->empty());

  // The server no longer knows the account: a lookup of its username fails.
  Profile carol = Register("carol");
  auto lookup = carol.client->AddContact("alice");
  ASSERT_FALSE(lookup);
  EXPECT_EQ(lookup.error().code, ClientErrc::kNotFound);
  // The wiped profile registers again (the username is free).
  auto again = alice.client->Register(Address(), "alice", "alice-phone");
  ASSERT_TRUE(again) << ClientErrcName(again.error().code);
}

TEST_F(ClientGroupsTest, GroupSizeIsCapped) {
  Profile alice = Register("alice");
  ASSERT_TRUE(alice.client);
  std::vector<std::string> too_many(kMaxGroupMembers, "bob");
  auto created = alice.client->CreateGroup("big", too_many);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ClientErrc::kTooLarge);
}

}  // namespace
}  // namespace parley::client
