// Groups end to end: a real parleyd on 127.0.0.1, three accounts, one of
// them on two devices; membership changes and sender-key rotation.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "client/client.h"
#include "client/connection.h"
#include "client/content.h"
#include "client/group_signature.h"
#include "client_fixture.h"
#include "crypto/random.h"
#include "protocol/group_cipher.h"
#include "protocol/session_cipher.h"
#include "store/client_store.h"
#include "wire/messages.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;

using testing::EventLog;
using testing::WaitUntil;

class ClientGroupsTest : public testing::ClientFixture {
 protected:
  // A group `admin` creates, once every profile in `waiting` has it.
  std::optional<Group> CreateAndWait(Profile& admin, const std::string& name,
                                     const std::vector<std::string>& members,
                                     const std::vector<Profile*>& waiting) {
    auto created = admin.client->CreateGroup(name, members);
    EXPECT_TRUE(created);
    if (!created) return std::nullopt;
    for (Profile* p : waiting) {
      if (!p->log->WaitFor<GroupChanged>([&](const GroupChanged& e) { return e.group.id == created->id; })) {
        ADD_FAILURE() << "a member never got the group";
        return std::nullopt;
      }
    }
    return *created;
  }

  // Alice's group `name` with Bob, Carol and Dave, which every one of them holds.
  struct FourMembers {
    Profile alice, bob, carol, dave;
    AccountId alice_id, dave_id;
    ConversationId group;
  };
  std::optional<FourMembers> SetUpFourMembers(const std::string& name) {
    FourMembers scene;
    scene.alice = Register("alice");
    scene.bob = Register("bob");
    scene.carol = Register("carol");
    scene.dave = Register("dave");
    for (Profile* p : {&scene.alice, &scene.bob, &scene.carol, &scene.dave}) {
      if (!p->client || !p->client->account()) return std::nullopt;
    }
    auto created =
        CreateAndWait(scene.alice, name, {"bob", "carol", "dave"}, {&scene.bob, &scene.carol, &scene.dave});
    if (!created) return std::nullopt;
    scene.group = GroupConversation(created->id);
    scene.alice_id = scene.alice.client->account()->account;
    scene.dave_id = scene.dave.client->account()->account;
    return scene;
  }

  // Alice's group with Bob and Carol, and a fourth account; Carol has a 1:1
  // session from each of the other three (Alice's and Bob's from their
  // sender keys, the fourth's from a text), so any of them can send her
  // crafted contents.
  struct CraftingScene {
    Profile alice, bob, carol, fourth;
    AccountId alice_id, bob_id, carol_id, fourth_id;
    Group created;
    ConversationId group;
  };
  std::optional<CraftingScene> SetUpCrafting(const std::string& fourth, const std::string& group_name) {
    CraftingScene scene;
    scene.alice = Register("alice");
    scene.bob = Register("bob");
    scene.carol = Register("carol");
    scene.fourth = Register(fourth);
    for (Profile* p : {&scene.alice, &scene.bob, &scene.carol, &scene.fourth}) {
      if (!p->client || !p->client->account()) return std::nullopt;
    }
    scene.alice_id = scene.alice.client->account()->account;
    scene.bob_id = scene.bob.client->account()->account;
    scene.carol_id = scene.carol.client->account()->account;
    scene.fourth_id = scene.fourth.client->account()->account;
    auto created = CreateAndWait(scene.alice, group_name, {"bob", "carol"}, {&scene.bob, &scene.carol});
    if (!created) return std::nullopt;
    scene.created = *created;
    scene.group = GroupConversation(created->id);
    EXPECT_TRUE(scene.bob.client->SendGroupText(scene.group, "from bob"));
    EXPECT_TRUE(scene.fourth.client->SendText("carol", "hi carol"));
    const auto received = [&](const std::string& body, const ConversationId& conversation) {
      return scene.carol.log
          ->WaitFor<MessageReceived>([&](const MessageReceived& e) {
            return e.message.body == body && e.message.conversation == conversation;
          })
          .has_value();
    };
    if (!received("from bob", scene.group) || !received("hi carol", Conv(*scene.fourth.client))) {
      ADD_FAILURE() << "Carol never got the first messages";
      return std::nullopt;
    }
    return scene;
  }

  // Sends `plaintexts`, in order, from `from`'s device to every device of
  // `to` it has a 1:1 session with, as a modified client would, past every
  // check the API makes: the profile's client is closed, its store opened,
  // its sessions encrypt the bytes and a connection authenticated as its
  // device hands them to parleyd. The client is opened and connected again
  // after.
  void SendCrafted(Profile& from, const std::string& name, const AccountId& to,
                   const std::vector<std::vector<std::uint8_t>>& plaintexts) {
    SendCrafted(from, name, to, [&](store::ClientStore&) { return plaintexts; });
  }
  // The same, with the plaintexts made from the sender's store while it is
  // open (its identity key signs changes in the sender's name).
  using Crafter = std::function<std::vector<std::vector<std::uint8_t>>(store::ClientStore&)>;
  void SendCrafted(Profile& from, const std::string& name, const AccountId& to, const Crafter& craft) {
    from.client.reset();
    {
      auto key = store::KeyFromFile(dir_ / "profiles" / (name + ".key"));
      ASSERT_TRUE(key);
      SystemClock clock;
      auto opened = store::ClientStore::Open(dir_ / "profiles" / name / "parley.db", *key, clock);
      ASSERT_TRUE(opened);
      store::ClientStore& store = **opened;
      auto account = store.LoadAccount();
      ASSERT_TRUE(account && *account);
      const std::vector<std::vector<std::uint8_t>> plaintexts = craft(store);
      auto devices = store.SessionDevices(to);
      ASSERT_TRUE(devices && !devices->empty());
      ConnectionOptions options;
      options.port = server_->port();
      options.pin = server_->fingerprint();
      options.reconnect = false;
      Connection connection(
          options, [](wire::Push) {}, [](bool) {});
      connection.SetAuthentication(wire::AuthenticateRequest{(*account)->account, (*account)->device,
                                                             wire::DeviceCredential{(*account)->credential}});
      ASSERT_TRUE(connection.Start());
      crypto::SystemRng rng;
      for (const auto& plaintext : plaintexts) {
        wire::SendMessagesRequest request;
        request.recipient = to;
        rng.Fill(request.client_message_id);
        for (DeviceId device : *devices) {
          const protocol::ProtocolAddress address{to.value().ToString(), device};
          protocol::SessionRecord* record = store.LoadSession(address);
          ASSERT_TRUE(record != nullptr && record->has_current_state());
          const auto registration = record->current_state()->remote_registration_id;
          protocol::SessionCipher cipher({store, store, store, store}, address, rng);
          auto encrypted = cipher.Encrypt(plaintext);
          ASSERT_TRUE(encrypted);
          request.messages.push_back({device, registration, static_cast<std::uint32_t>(encrypted->type),
                                      std::move(encrypted->bytes)});
        }
        auto response = connection.Call(request, 10s);
        ASSERT_TRUE(response);
        ASSERT_EQ(response->status, wire::ResponseStatus::kOk);
      }
      connection.Stop();
    }
    from.client = OpenProfile(name);
    ASSERT_TRUE(from.client);
    from.log->Attach(*from.client);
    ASSERT_TRUE(from.client->Connect());
  }

  // Restarts `profile`'s client; while it is closed, counts the group
  // changes its store keeps pending (for `group`, or all of them).
  std::int64_t RestartCountingPending(Profile& profile, const std::string& name,
                                      const std::optional<GroupId>& group) {
    return RestartMeasuringPending(profile, name, group, nullptr);
  }
  // The same, with their size in bytes in `bytes`.
  std::int64_t RestartMeasuringPending(Profile& profile, const std::string& name,
                                       const std::optional<GroupId>& group, std::int64_t* bytes) {
    profile.client.reset();
    std::int64_t count = -1;
    {
      auto key = store::KeyFromFile(dir_ / "profiles" / (name + ".key"));
      EXPECT_TRUE(key);
      SystemClock clock;
      auto opened = store::ClientStore::Open(dir_ / "profiles" / name / "parley.db", *key, clock);
      EXPECT_TRUE(opened);
      if (key && opened) {
        auto counted = (*opened)->CountPendingGroupChanges(group);
        EXPECT_TRUE(counted);
        if (counted) count = *counted;
        if (bytes != nullptr) {
          auto measured = (*opened)->PendingGroupBytes(group);
          EXPECT_TRUE(measured);
          if (measured) *bytes = *measured;
        }
      }
    }
    profile.client = OpenProfile(name);
    EXPECT_TRUE(profile.client);
    if (!profile.client) return count;
    profile.log->Attach(*profile.client);
    EXPECT_TRUE(profile.client->Connect());
    return count;
  }
};

// A group update as `Client` sends it, with whatever state the caller chose.
std::vector<std::uint8_t> GroupUpdate(const ContentId& group, const std::string& name,
                                      const std::vector<AccountId>& members,
                                      const std::vector<AccountId>& admins, std::uint64_t version) {
  Content content;
  crypto::SystemRng rng;
  rng.Fill(content.message_id);
  content.sent_at_ms = 1'700'000'000'000;
  content.group = GroupContext{group, name, members, admins, version, std::nullopt};
  content.body = GroupUpdateBody{};
  auto encoded = EncodeContent(content);
  EXPECT_TRUE(encoded);
  return encoded ? std::vector<std::uint8_t>(encoded->bytes().begin(), encoded->bytes().end())
                 : std::vector<std::uint8_t>{};
}

// A group update carrying `changes` in its group context.
std::vector<std::uint8_t> ChangesUpdate(const ContentId& group, const std::vector<GroupChange>& changes) {
  Content content;
  crypto::SystemRng rng;
  rng.Fill(content.message_id);
  content.sent_at_ms = 1'700'000'000'000;
  content.group = GroupContext{group, std::nullopt, {}, {}, 0, std::nullopt};
  content.group->changes = changes;
  content.body = GroupUpdateBody{};
  auto encoded = EncodeContent(content);
  EXPECT_TRUE(encoded);
  return encoded ? std::vector<std::uint8_t>(encoded->bytes().begin(), encoded->bytes().end())
                 : std::vector<std::uint8_t>{};
}

GroupChange Change(std::uint64_t version, const AccountId& author, std::vector<GroupOp> ops) {
  return GroupChange{GroupStamp{version, author, wire::kPrimaryDeviceId}, std::move(ops)};
}
GroupOp Op(GroupOpKind kind, const AccountId& target) { return GroupOp{kind, target, {}}; }

// `change` signed with the identity key `store` holds, as its author device signs it.
GroupChange Signed(const GroupId& group, const GroupChange& change, store::ClientStore& store) {
  crypto::SystemRng rng;
  auto signed_change = SignGroupChange(group, change, store.GetIdentityKeyPair(), rng);
  EXPECT_TRUE(signed_change);
  return signed_change ? *signed_change : change;
}
GroupOp RenameOp(const std::string& name) { return GroupOp{GroupOpKind::kRename, AccountId{}, name}; }

// A group update whose group context lists a member id one byte short.
std::vector<std::uint8_t> MalformedGroupUpdate(const ContentId& group) {
  std::vector<std::uint8_t> context{0x0a, 16};  // 1: id
  context.insert(context.end(), group.begin(), group.end());
  context.insert(context.end(), {0x12, 3, 'b', 'a', 'd'});  // 2: name
  context.insert(context.end(), {0x1a, 15});                // 3: a member, 15 bytes
  context.insert(context.end(), 15, 0x42);
  context.insert(context.end(), {0x28, 9});  // 5: version
  std::vector<std::uint8_t> out{0x0a, 16};   // 1: message id
  out.insert(out.end(), 16, 0x17);
  out.insert(out.end(), {0x10, 0x01});  // 2: sent at
  out.insert(out.end(), {0x1a, static_cast<std::uint8_t>(context.size())});
  out.insert(out.end(), context.begin(), context.end());
  out.insert(out.end(), {0x92, 0x01, 0x00});  // 18: group_update, empty
  return out;
}

// A 1:1 text: once it is received, everything sent before it was handled.
std::vector<std::uint8_t> Barrier(const std::string& text) {
  Content content;
  crypto::SystemRng rng;
  rng.Fill(content.message_id);
  content.sent_at_ms = 1'700'000'000'000;
  content.body = DataBody{text, std::nullopt, std::nullopt, 0};
  auto encoded = EncodeContent(content);
  EXPECT_TRUE(encoded);
  return encoded ? std::vector<std::uint8_t>(encoded->bytes().begin(), encoded->bytes().end())
                 : std::vector<std::uint8_t>{};
}

bool Received(EventLog& log, const std::string& body, const ConversationId& conversation) {
  return log
      .WaitFor<MessageReceived>([&](const MessageReceived& e) {
        return e.message.body == body && e.message.conversation == conversation;
      })
      .has_value();
}

// The contents of the group envelopes parleyd holds queued for `account`
// (its SQLite store, read while it runs: WAL lets a reader in).
std::vector<std::vector<std::uint8_t>> QueuedGroupEnvelopes(const std::filesystem::path& db_path,
                                                            const AccountId& account) {
  std::vector<std::vector<std::uint8_t>> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 5'000);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(
                db, "SELECT content FROM messages WHERE account_id = ? AND type = ? ORDER BY server_id", -1,
                &stmt, nullptr),
            SQLITE_OK);
  const auto id = account.value().bytes();
  sqlite3_bind_blob(stmt, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, kGroupEnvelopeType);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* bytes = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, 0));
    out.emplace_back(bytes, bytes + sqlite3_column_bytes(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// The one-time prekeys parleyd holds for the devices of `account` (its
// SQLite store, read while it runs).
std::int64_t ServerPreKeyCount(const std::filesystem::path& db_path, const AccountId& account) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 5'000);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM one_time_prekeys WHERE account_id = ?", -1, &stmt,
                               nullptr),
            SQLITE_OK);
  const auto id = account.value().bytes();
  sqlite3_bind_blob(stmt, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  std::int64_t count = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) count = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

// Two devices hold the same state of a group.
void ExpectSameGroupState(const Group& held, const Group& expected) {
  EXPECT_EQ(held.name, expected.name);
  EXPECT_EQ(held.members, expected.members);
  EXPECT_EQ(held.admins, expected.admins);
  EXPECT_EQ(held.version, expected.version);
  EXPECT_EQ(held.version_author, expected.version_author);
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
  // Bob offline: what Alice sends now waits in his queue on the server.
  bob.client->Disconnect();
  auto plan = alice.client->SendGroupText(group, "secret plan");
  ASSERT_TRUE(plan);
  auto queued = QueuedGroupEnvelopes(dir_ / "server" / "parley.db", bob_id);
  ASSERT_EQ(queued.size(), 1u);
  auto envelope = DecodeGroupEnvelope(queued.front());
  ASSERT_TRUE(envelope);
  EXPECT_EQ(envelope->group, created->id);
  {
    // That envelope, forwarded to Carol's device, does not decrypt there:
    // she holds Alice's old sender key, and the new one never reached her.
    carol.client.reset();
    auto key = store::KeyFromFile(dir_ / "profiles" / "carol.key");
    ASSERT_TRUE(key);
    SystemClock clock;
    auto carol_store = store::ClientStore::Open(dir_ / "profiles" / "carol" / "parley.db", *key, clock);
    ASSERT_TRUE(carol_store);
    const protocol::SenderKeyName alice_key{
        ToHex(created->id),
        protocol::ProtocolAddress{alice_id.value().ToString(), alice.client->account()->device}};
    auto old_key = (*carol_store)->LoadSenderKey(alice_key);
    ASSERT_TRUE(old_key);
    EXPECT_TRUE(old_key->has_value());
    crypto::SystemRng rng;
    protocol::GroupCipher cipher(**carol_store, alice_key, rng);
    auto opened = cipher.Decrypt(envelope->message);
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().code, protocol::ProtocolErrc::kStorageFailed);
  }
  carol.client = OpenProfile("carol");
  ASSERT_TRUE(carol.client);
  carol.log->Attach(*carol.client);
  ASSERT_TRUE(carol.client->Connect());
  // The same envelope reads fine on Bob's device, a member.
  ASSERT_TRUE(bob.client->Connect());
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
  auto created = CreateAndWait(alice, "before the laptop", {"bob"}, {&bob});
  ASSERT_TRUE(created);
  const ConversationId group = GroupConversation(created->id);

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

TEST_F(ClientGroupsTest, ConcurrentChangesByTwoAdminsEndInTheSameStateEverywhere) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  Profile carol = Register("carol");
  ASSERT_TRUE(alice.client && bob.client && carol.client);
  auto created = alice.client->CreateGroup("base camp", {"bob", "carol"});
  ASSERT_TRUE(created);
  EXPECT_EQ(created->version, 1u);
  const ConversationId group = GroupConversation(created->id);
  auto admins = alice.client->AddGroupAdmins(group, {"bob"});
  ASSERT_TRUE(admins);
  EXPECT_EQ(admins->version, 2u);
  for (auto* p : {&bob, &carol}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->version == 2u && state->admins.size() == 2u;
    }));
  }

  // Both admins change the group from version 2 before either sees the
  // other's change: Bob is offline while Alice renames it.
  bob.client->Disconnect();
  auto by_alice = alice.client->RenameGroup(group, "alice's camp");
  ASSERT_TRUE(by_alice);
  auto by_bob = bob.client->RenameGroup(group, "bob's camp");
  ASSERT_TRUE(by_bob);
  ASSERT_EQ(by_alice->version, 3u);
  ASSERT_EQ(by_bob->version, 3u);

  // The tie goes to the larger account id, on every device.
  const AccountId alice_id = alice.client->account()->account;
  const AccountId bob_id = bob.client->account()->account;
  const Group& winner = alice_id < bob_id ? *by_bob : *by_alice;
  for (auto* p : {&alice, &bob, &carol}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->name == winner.name;
    })) << p->client->GetGroup(group)->name;
  }
  // Nothing later moves it (the losing change, seen after, is stale).
  ASSERT_TRUE(alice.client->SendGroupText(group, "barrier a"));
  ASSERT_TRUE(bob.client->SendGroupText(group, "barrier b"));
  for (auto* p : {&alice, &bob, &carol}) {
    if (p != &alice) {
      EXPECT_TRUE(Received(*p->log, "barrier a", group));
    }
    if (p != &bob) {
      EXPECT_TRUE(Received(*p->log, "barrier b", group));
    }
    auto state = p->client->GetGroup(group);
    ASSERT_TRUE(state);
    EXPECT_EQ(state->name, winner.name);
    EXPECT_EQ(state->version, 3u);
    EXPECT_EQ(state->version_author, winner.version_author);
    EXPECT_EQ(state->members, winner.members);
    EXPECT_EQ(state->admins, winner.admins);
  }

  // A member leaving while an admin (offline) changes the group from the
  // same version: the change and the leave both hold on every device.
  const AccountId carol_id = carol.client->account()->account;
  bob.client->Disconnect();
  ASSERT_TRUE(carol.client->LeaveGroup(group));
  auto renamed = bob.client->RenameGroup(group, "bob's second camp");
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->version, 4u);
  ASSERT_EQ(std::count(renamed->members.begin(), renamed->members.end(), carol_id), 1);
  for (auto* p : {&alice, &bob}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->name == "bob's second camp" && state->members.size() == 2u;
    }));
  }
  ASSERT_TRUE(alice.client->SendGroupText(group, "barrier c"));
  EXPECT_TRUE(Received(*bob.log, "barrier c", group));
  auto at_alice = alice.client->GetGroup(group);
  auto at_bob = bob.client->GetGroup(group);
  ASSERT_TRUE(at_alice && at_bob);
  EXPECT_EQ(std::count(at_alice->members.begin(), at_alice->members.end(), carol_id), 0);
  EXPECT_EQ(at_alice->members, at_bob->members);
  EXPECT_EQ(at_alice->admins, at_bob->admins);
  EXPECT_EQ(at_alice->version, at_bob->version);
  EXPECT_FALSE(carol.client->GetGroup(group)->active);
}

TEST_F(ClientGroupsTest, TwoLeavesRacingAnAdminsChangeAllHoldWhateverTheOrder) {
  auto scene = SetUpFourMembers("col");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, dave, alice_id, dave_id, group] = *scene;

  // Bob and Carol (offline) each leave version 1 while Alice, offline,
  // renames it: Dave gets both leaves, then the rename (version 2 as well,
  // made from 1, which wins the tie against a leave); Alice gets the rename
  // first.
  alice.client->Disconnect();
  carol.client->Disconnect();
  ASSERT_TRUE(bob.client->LeaveGroup(group));
  ASSERT_TRUE(WaitUntil([&] { return dave.client->GetGroup(group)->members.size() == 3u; }));
  ASSERT_TRUE(carol.client->LeaveGroup(group));
  ASSERT_TRUE(WaitUntil([&] { return dave.client->GetGroup(group)->members.size() == 2u; }));
  auto renamed = alice.client->RenameGroup(group, "col, renamed");
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->version, 2u);
  ASSERT_EQ(renamed->members.size(), 4u);
  const std::vector<AccountId> remaining{alice_id, dave_id};
  for (auto* p : {&alice, &dave}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->name == "col, renamed" && state->members == remaining;
    })) << p->client->GetGroup(group)->members.size();
  }
  ASSERT_TRUE(alice.client->SendGroupText(group, "barrier"));
  ASSERT_TRUE(Received(*dave.log, "barrier", group));
  auto at_alice = alice.client->GetGroup(group);
  auto at_dave = dave.client->GetGroup(group);
  ASSERT_TRUE(at_alice && at_dave);
  EXPECT_EQ(at_alice->members, remaining);
  EXPECT_EQ(at_dave->members, remaining);
  EXPECT_EQ(at_alice->admins, at_dave->admins);
  EXPECT_EQ(at_alice->version, at_dave->version);
}

TEST_F(ClientGroupsTest, ReceiptsPerMemberAndTypingButNoneForARequestGroup) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  Profile carol = Register("carol");
  Profile dave = Register("dave");
  ASSERT_TRUE(alice.client && bob.client && carol.client && dave.client);
  // Bob and Carol know Alice: her group is not a request for them.
  ASSERT_TRUE(bob.client->AddContact("alice"));
  ASSERT_TRUE(carol.client->AddContact("alice"));
  auto created = CreateAndWait(alice, "receipts", {"bob", "carol"}, {&bob, &carol});
  ASSERT_TRUE(created);
  const ConversationId group = GroupConversation(created->id);
  const AccountId bob_id = bob.client->account()->account;
  const AccountId carol_id = carol.client->account()->account;

  auto sent = alice.client->SendGroupText(group, "did everyone get this?");
  ASSERT_TRUE(sent);
  const auto receipt_of = [&](const AccountId& who) -> std::optional<MessageStatus> {
    auto receipts = alice.client->Receipts(sent->id);
    if (!receipts) return std::nullopt;
    for (const MessageReceipt& r : *receipts) {
      if (r.from == who) return r.status;
    }
    return std::nullopt;
  };
  ASSERT_TRUE(WaitUntil([&] {
    return receipt_of(bob_id) == MessageStatus::kDelivered &&
           receipt_of(carol_id) == MessageStatus::kDelivered;
  }));
  EXPECT_EQ(alice.client->GetMessage(sent->id)->status, MessageStatus::kDelivered);

  // Bob reads: his receipt says so; the message is read once Carol reads too.
  ASSERT_TRUE(bob.client->MarkRead(group));
  ASSERT_TRUE(WaitUntil([&] { return receipt_of(bob_id) == MessageStatus::kRead; }));
  EXPECT_EQ(alice.client->GetMessage(sent->id)->status, MessageStatus::kDelivered);
  ASSERT_TRUE(carol.client->MarkRead(group));
  ASSERT_TRUE(WaitUntil([&] { return alice.client->GetMessage(sent->id)->status == MessageStatus::kRead; }));
  EXPECT_EQ(receipt_of(carol_id), MessageStatus::kRead);
  auto unknown = alice.client->Receipts(MessageId{});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ClientErrc::kNotFound);

  // Typing reaches the other members.
  ASSERT_TRUE(bob.client->SendTyping(group, true));
  for (auto* p : {&alice, &carol}) {
    EXPECT_TRUE(p->log->WaitFor<TypingChanged>(
        [&](const TypingChanged& e) { return e.conversation == group && e.who == bob_id && e.typing; }));
  }

  // Dave is a stranger to Bob: his group is a request, and Bob sends it no
  // receipt and no typing (S2).
  auto strangers = dave.client->CreateGroup("strangers", {"bob"});
  ASSERT_TRUE(strangers);
  const ConversationId dave_group = GroupConversation(strangers->id);
  auto hello = dave.client->SendGroupText(dave_group, "hello bob");
  ASSERT_TRUE(hello);
  ASSERT_TRUE(Received(*bob.log, "hello bob", dave_group));
  EXPECT_TRUE(bob.client->GetGroup(dave_group)->request);
  ASSERT_TRUE(bob.client->MarkRead(dave_group));
  ASSERT_TRUE(bob.client->SendTyping(dave_group, true));
  // Whatever Bob sent before this reached Dave before it (one queue, in order).
  ASSERT_TRUE(bob.client->SendText("dave", "a 1:1 barrier"));
  ASSERT_TRUE(dave.log->WaitFor<MessageReceived>(
      [](const MessageReceived& e) { return e.message.body == "a 1:1 barrier"; }));
  auto dave_receipts = dave.client->Receipts(hello->id);
  ASSERT_TRUE(dave_receipts);
  EXPECT_EQ(*dave_receipts, (std::vector<MessageReceipt>{{bob_id, MessageStatus::kSent, hello->sent_at_ms}}));
  EXPECT_EQ(dave.client->GetMessage(hello->id)->status, MessageStatus::kSent);
  EXPECT_EQ(dave.log->Count<TypingChanged>(), 0u);
}

TEST_F(ClientGroupsTest, AMessageIsDeliveredOnceTheMembersItWasSentToHaveItWhoeverJoinedSince) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  Profile carol = Register("carol");
  ASSERT_TRUE(alice.client && bob.client && carol.client);
  ASSERT_TRUE(bob.client->AddContact("alice"));
  ASSERT_TRUE(carol.client->AddContact("alice"));
  auto created = CreateAndWait(alice, "before carol", {"bob"}, {&bob});
  ASSERT_TRUE(created);
  const ConversationId group = GroupConversation(created->id);
  const AccountId bob_id = bob.client->account()->account;

  // Sent while Bob is offline; Carol joins before he delivers it.
  bob.client->Disconnect();
  auto sent = alice.client->SendGroupText(group, "for bob only");
  ASSERT_TRUE(sent);
  auto pending = alice.client->Receipts(sent->id);
  ASSERT_TRUE(pending);
  EXPECT_EQ(*pending, (std::vector<MessageReceipt>{{bob_id, MessageStatus::kSent, sent->sent_at_ms}}));
  ASSERT_TRUE(alice.client->AddGroupMembers(group, {"carol"}));
  ASSERT_TRUE(carol.log->WaitFor<GroupChanged>(
      [&](const GroupChanged& e) { return e.group.id == created->id && e.group.members.size() == 3u; }));
  auto later = alice.client->SendGroupText(group, "for both");
  ASSERT_TRUE(later);
  ASSERT_TRUE(Received(*carol.log, "for both", group));

  ASSERT_TRUE(bob.client->Connect());
  ASSERT_TRUE(Received(*bob.log, "for bob only", group));
  ASSERT_TRUE(
      WaitUntil([&] { return alice.client->GetMessage(sent->id)->status == MessageStatus::kDelivered; }));
  auto receipts = alice.client->Receipts(sent->id);
  ASSERT_TRUE(receipts && receipts->size() == 1u);
  EXPECT_EQ(receipts->front().from, bob_id);
  ASSERT_TRUE(bob.client->MarkRead(group));
  ASSERT_TRUE(WaitUntil([&] { return alice.client->GetMessage(sent->id)->status == MessageStatus::kRead; }));
  // The later message waits for both; Carol's read does not move the first.
  ASSERT_TRUE(WaitUntil([&] {
    auto r = alice.client->Receipts(later->id);
    return r && r->size() == 2u && r->front().status >= MessageStatus::kDelivered &&
           r->back().status >= MessageStatus::kDelivered;
  }));
  EXPECT_EQ(alice.client->GetMessage(later->id)->status, MessageStatus::kDelivered);
  ASSERT_TRUE(carol.client->MarkRead(group));
  ASSERT_TRUE(WaitUntil([&] { return alice.client->GetMessage(later->id)->status == MessageStatus::kRead; }));
  EXPECT_EQ(alice.client->Receipts(sent->id)->size(), 1u);
}

TEST_F(ClientGroupsTest, AttachmentsInAGroupAreFetchedOnlyOnceTheRequestIsAccepted) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  auto created = CreateAndWait(alice, "files", {"bob"}, {&bob});
  ASSERT_TRUE(created);
  const ConversationId group = GroupConversation(created->id);

  const std::filesystem::path file = dir_ / "route.bin";
  std::string contents;
  for (int i = 0; i < 200'000; ++i) contents.push_back(static_cast<char>((i * 131) % 251));
  std::ofstream(file, std::ios::binary) << contents;
  auto sent = alice.client->SendAttachment(group, file, "the route", "application/octet-stream");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  EXPECT_EQ(sent->conversation, group);
  auto received = bob.log->WaitFor<MessageReceived>([&](const MessageReceived& e) {
    return e.message.body == "the route" && e.message.conversation == group;
  });
  ASSERT_TRUE(received);
  auto info = bob.client->GetAttachment(received->message.id);
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->size, contents.size());
  EXPECT_EQ((*info)->file_name, "route.bin");
  EXPECT_TRUE((*info)->path.empty());

  // A request group's attachment is not fetched (S2) until Bob writes to it.
  auto refused = bob.client->DownloadAttachment(received->message.id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kForbidden);
  ASSERT_TRUE(bob.client->SendGroupText(group, "thanks"));
  auto downloaded = bob.client->DownloadAttachment(received->message.id);
  ASSERT_TRUE(downloaded) << ClientErrcName(downloaded.error().code);
  std::ifstream in(downloaded->path, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, contents);

  // Not a member: no group attachment.
  auto outsider = bob.client->SendAttachment("group:" + std::string(32, '0'), file);
  ASSERT_FALSE(outsider);
  EXPECT_EQ(outsider.error().code, ClientErrc::kNotFound);
}

TEST_F(ClientGroupsTest, CraftedUpdatesThatAreStaleFromNonAdminsFromStrangersOrMalformedChangeNothing) {
  auto scene = SetUpCrafting("mallory", "ridge");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, mallory, alice_id, bob_id, carol_id, mallory_id, created, group] = *scene;
  ASSERT_TRUE(alice.client->RenameGroup(group, "ridge v2"));
  ASSERT_TRUE(WaitUntil([&] { return carol.client->GetGroup(group)->version == 2u; }));
  const Group before = *carol.client->GetGroup(group);
  const std::vector<AccountId> members = before.members;
  const auto barrier_from = [&](const std::string& text, const AccountId& who) {
    return Received(*carol.log, text, who.value().ToString());
  };

  // The admin's stale changes (signed): a whole state without changes (an
  // older client's), her rename again, and a rename stamped before it.
  SendCrafted(
      alice, "alice", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
        return {GroupUpdate(created.id, "stale", members, {alice_id}, 3),
                ChangesUpdate(created.id,
                              {Signed(created.id, Change(2, alice_id, {RenameOp("ridge v2")}), store)}),
                ChangesUpdate(created.id,
                              {Signed(created.id,
                                      GroupChange{GroupStamp{1, alice_id, 2}, {RenameOp("older")}}, store)}),
                Barrier("after the stale ones")};
      });
  ASSERT_TRUE(barrier_from("after the stale ones", alice_id));
  EXPECT_EQ(carol.client->GetGroup(group)->name, "ridge v2");
  EXPECT_EQ(carol.client->GetGroup(group)->version, 2u);

  // A member who is not an admin: no change of his counts (renaming, making
  // himself admin, removing the admin; each signed by him), nor one he
  // relays in the admin's name; a malformed context is a typed error.
  SendCrafted(bob, "bob", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
    const auto own = [&](GroupChange c) { return Signed(created.id, c, store); };
    return {ChangesUpdate(created.id, {own(Change(3, bob_id, {RenameOp("bob's ridge")}))}),
            ChangesUpdate(created.id, {own(Change(4, bob_id, {Op(GroupOpKind::kMakeAdmin, bob_id)}))}),
            ChangesUpdate(created.id, {own(Change(9, bob_id, {Op(GroupOpKind::kRemove, alice_id)}))}),
            ChangesUpdate(created.id, {Change(3, alice_id, {Op(GroupOpKind::kMakeAdmin, bob_id)}),
                                       own(Change(4, bob_id, {RenameOp("bob's, says alice")}))}),
            MalformedGroupUpdate(created.id),
            Barrier("after bob's")};
  });
  ASSERT_TRUE(barrier_from("after bob's", bob_id));
  EXPECT_TRUE(carol.log->WaitFor<DecryptionFailed>(
      [&](const DecryptionFailed& e) { return e.sender == bob_id && e.reason == ClientErrc::kProtocol; }));
  EXPECT_FALSE(DecodeContent(MalformedGroupUpdate(created.id)));

  // A stranger: not for a group she is not in, not for a group naming
  // someone else its admin; a group naming her admin is a request only.
  ContentId unknown{};
  ContentId offered{};
  crypto::SystemRng rng;
  rng.Fill(unknown);
  rng.Fill(offered);
  SendCrafted(
      mallory, "mallory", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
        return {ChangesUpdate(created.id, {Signed(created.id,
                                                  Change(10, mallory_id,
                                                         {Op(GroupOpKind::kAdd, mallory_id),
                                                          Op(GroupOpKind::kMakeAdmin, mallory_id)}),
                                                  store)}),
                ChangesUpdate(created.id, {Change(3, alice_id,
                                                  {Op(GroupOpKind::kAdd, mallory_id),
                                                   Op(GroupOpKind::kMakeAdmin, mallory_id)})}),
                ChangesUpdate(unknown, {GroupSnapshot(GroupStamp{1, alice_id, 1}, "alice's, says mallory",
                                                      {alice_id, carol_id}, {alice_id})}),
                ChangesUpdate(offered, {Signed(offered,
                                               GroupSnapshot(GroupStamp{1, mallory_id, 1}, "mallory's own",
                                                             {mallory_id, carol_id}, {mallory_id}),
                                               store)}),
                Barrier("after mallory's")};
      });
  ASSERT_TRUE(barrier_from("after mallory's", mallory_id));
  auto after = carol.client->GetGroup(group);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->name, before.name);
  EXPECT_EQ(after->version, before.version);
  EXPECT_EQ(after->version_author, before.version_author);
  EXPECT_EQ(after->members, before.members);
  EXPECT_EQ(after->admins, before.admins);
  EXPECT_TRUE(after->active);
  auto not_kept = carol.client->GetGroup(GroupConversation(unknown));
  ASSERT_FALSE(not_kept);
  EXPECT_EQ(not_kept.error().code, ClientErrc::kNotFound);
  auto offer = carol.client->GetGroup(GroupConversation(offered));
  ASSERT_TRUE(offer);
  EXPECT_TRUE(offer->request);
  EXPECT_EQ(offer->admins, std::vector<AccountId>{mallory_id});

  // The state still moves with the admin, and Bob's and Mallory's clients
  // (their ratchets advanced by the crafted messages) still reach Carol.
  ASSERT_TRUE(alice.client->RenameGroup(group, "ridge v3"));
  ASSERT_TRUE(WaitUntil([&] { return carol.client->GetGroup(group)->name == "ridge v3"; }));
  EXPECT_EQ(carol.client->GetGroup(group)->members, members);
  ASSERT_TRUE(bob.client->SendGroupText(group, "bob again"));
  EXPECT_TRUE(Received(*carol.log, "bob again", group));
  ASSERT_TRUE(mallory.client->SendText("carol", "mallory again"));
  EXPECT_TRUE(Received(*carol.log, "mallory again", Conv(*mallory.client)));
}

// Documented failure (c) of the whole-state rule: a member taken back by
// an admin who became admin after it left stayed out on its own device.
TEST_F(ClientGroupsTest, AMemberTakenBackByAnAdminWhoBecameAdminLaterIsBackOnItsOwnDevice) {
  auto scene = SetUpCrafting("dave", "crag");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, dave, alice_id, bob_id, carol_id, dave_id, created, group] = *scene;

  // Carol is removed (version 2); Dave joins and becomes admin after (3, 4).
  ASSERT_TRUE(alice.client->RemoveGroupMembers(group, {"carol"}));
  ASSERT_TRUE(WaitUntil([&] { return !carol.client->GetGroup(group)->active; }));
  ASSERT_TRUE(alice.client->AddGroupMembers(group, {"dave"}));
  ASSERT_TRUE(alice.client->AddGroupAdmins(group, {"dave"}));
  ASSERT_TRUE(WaitUntil([&] {
    auto state = dave.client->GetGroup(group);
    return state && state->version == 4u;
  }));

  // Bob, a member but no admin, cannot take her back: not with a change of
  // his own, nor with a log that makes him admin in Alice's name.
  SendCrafted(bob, "bob", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
    return {ChangesUpdate(created.id,
                          {Signed(created.id, Change(5, bob_id, {Op(GroupOpKind::kAdd, carol_id)}), store)}),
            ChangesUpdate(created.id,
                          {Change(5, alice_id, {Op(GroupOpKind::kMakeAdmin, bob_id)}),
                           Signed(created.id, Change(6, bob_id, {Op(GroupOpKind::kAdd, carol_id)}), store)}),
            Barrier("after bob's")};
  });
  ASSERT_TRUE(Received(*carol.log, "after bob's", Conv(*bob.client)));
  auto still_out = carol.client->GetGroup(group);
  ASSERT_TRUE(still_out);
  EXPECT_FALSE(still_out->active);
  EXPECT_EQ(still_out->version, 2u);
  auto refused = carol.client->SendGroupText(group, "am I back?");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kNotFound);

  // Dave, made admin after she left, takes her back: Alice (an admin when
  // she left) passes the log on, so her device has the grant too.
  auto back = dave.client->AddGroupMembers(group, {"carol"});
  ASSERT_TRUE(back) << ClientErrcName(back.error().code);
  ASSERT_TRUE(WaitUntil([&] {
    auto state = carol.client->GetGroup(group);
    return state && state->active && state->version == back->version;
  }));
  for (auto* p : {&alice, &bob, &carol}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->members == back->members && state->admins == back->admins &&
             state->version == back->version && state->name == back->name;
    }));
  }
  ASSERT_TRUE(dave.client->SendGroupText(group, "welcome back"));
  EXPECT_TRUE(Received(*carol.log, "welcome back", group));
  ASSERT_TRUE(carol.client->SendGroupText(group, "glad to be back"));
  EXPECT_TRUE(Received(*alice.log, "glad to be back", group));
}

// Documented failure (a) of the whole-state rule: Bob leaves version 1
// while Alice, offline, renames it; Carol, having seen Bob's leave, leaves
// version 2. Devices ended with different names and versions.
TEST_F(ClientGroupsTest, RacingLeavesAndAnOfflineAdminsRenameEndTheSameEverywhere) {
  auto scene = SetUpFourMembers("ledge");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, dave, alice_id, dave_id, group] = *scene;

  alice.client->Disconnect();
  ASSERT_TRUE(bob.client->LeaveGroup(group));
  for (auto* p : {&carol, &dave}) {
    ASSERT_TRUE(WaitUntil([&] { return p->client->GetGroup(group)->members.size() == 3u; }));
  }
  ASSERT_TRUE(carol.client->LeaveGroup(group));
  EXPECT_EQ(carol.client->GetGroup(group)->version, 3u);
  ASSERT_TRUE(WaitUntil([&] { return dave.client->GetGroup(group)->members.size() == 2u; }));
  auto renamed = alice.client->RenameGroup(group, "ledge, renamed");
  ASSERT_TRUE(renamed);
  const std::vector<AccountId> remaining{alice_id, dave_id};
  for (auto* p : {&alice, &dave}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->name == "ledge, renamed" && state->members == remaining &&
             state->version == std::max<std::uint64_t>(3, renamed->version);
    })) << p->client->GetGroup(group)->name;
  }
  ASSERT_TRUE(alice.client->SendGroupText(group, "barrier"));
  ASSERT_TRUE(Received(*dave.log, "barrier", group));
  auto at_alice = alice.client->GetGroup(group);
  auto at_dave = dave.client->GetGroup(group);
  ASSERT_TRUE(at_alice && at_dave);
  EXPECT_EQ(at_alice->name, at_dave->name);
  EXPECT_EQ(at_alice->admins, at_dave->admins);
  EXPECT_EQ(at_alice->version, at_dave->version);
  EXPECT_EQ(at_alice->version_author, at_dave->version_author);
}

// Documented failure (b) of the whole-state rule, a security gap: an admin
// change made from a version that missed a member's leave listed the leaver
// again, and the others sent it their new sender keys.
TEST_F(ClientGroupsTest, AnAdminChangeThatMissedALeaveNeverListsTheLeaverAgain) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  Profile carol = Register("carol");
  Profile erin = Register("erin");
  ASSERT_TRUE(alice.client && bob.client && carol.client && erin.client);
  auto created = CreateAndWait(alice, "traverse", {"bob", "carol"}, {&bob, &carol});
  ASSERT_TRUE(created);
  const ConversationId group = GroupConversation(created->id);
  const AccountId bob_id = bob.client->account()->account;

  // Alice, offline, adds Erin and renames from version 1 while Bob leaves it.
  alice.client->Disconnect();
  ASSERT_TRUE(bob.client->LeaveGroup(group));
  ASSERT_TRUE(WaitUntil([&] { return carol.client->GetGroup(group)->members.size() == 2u; }));
  auto added = alice.client->AddGroupMembers(group, {"erin"});
  ASSERT_TRUE(added);
  ASSERT_TRUE(alice.client->RenameGroup(group, "traverse, with erin"));
  for (auto* p : {&alice, &carol, &erin}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->name == "traverse, with erin" && state->members.size() == 3u &&
             std::count(state->members.begin(), state->members.end(), bob_id) == 0;
    })) << p->client->GetGroup(group)->members.size();
  }
  // Nothing of the group reaches Bob any more: no message, no sender key.
  bob.client->Disconnect();
  ASSERT_TRUE(carol.client->SendGroupText(group, "from carol"));
  ASSERT_TRUE(erin.client->SendGroupText(group, "from erin"));
  ASSERT_TRUE(alice.client->SendGroupText(group, "from alice"));
  for (const char* text : {"from carol", "from erin"}) EXPECT_TRUE(Received(*alice.log, text, group));
  EXPECT_TRUE(Received(*erin.log, "from alice", group));
  EXPECT_TRUE(QueuedGroupEnvelopes(dir_ / "server" / "parley.db", bob_id).empty());
  ASSERT_TRUE(bob.client->Connect());
  std::this_thread::sleep_for(300ms);
  for (const char* text : {"from carol", "from erin", "from alice"}) {
    EXPECT_FALSE(HasBody(*bob.client, group, text));
  }
}

// A group from before the change log (schema 6): the device's log is
// emptied with its client closed, as an older store holds the group; the
// client starts the log with a snapshot of the state at its version, and its
// next change counts everywhere.
TEST_F(ClientGroupsTest, AGroupFromBeforeTheChangeLogStartsFromASnapshotOfItsState) {
  Profile alice = Register("alice");
  Profile bob = Register("bob");
  ASSERT_TRUE(alice.client && bob.client);
  auto created = CreateAndWait(alice, "moraine", {"bob"}, {&bob});
  ASSERT_TRUE(created);
  const ConversationId group = GroupConversation(created->id);
  ASSERT_TRUE(alice.client->RenameGroup(group, "moraine v2"));
  ASSERT_TRUE(WaitUntil([&] { return bob.client->GetGroup(group)->version == 2u; }));

  alice.client.reset();
  {
    auto key = store::KeyFromFile(dir_ / "profiles" / "alice.key");
    ASSERT_TRUE(key);
    const std::filesystem::path path = dir_ / "profiles" / "alice" / "parley.db";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string sql = "PRAGMA key = \"x'" + ToHex(key->bytes()) +
                            "'\"; PRAGMA cipher_page_size = " + std::to_string(store::kClientStorePageSize) +
                            "; DELETE FROM group_changes; SELECT count(*) FROM groups;";
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  alice.client = OpenProfile("alice");
  ASSERT_TRUE(alice.client);
  alice.log->Attach(*alice.client);
  ASSERT_TRUE(alice.client->Connect());
  auto held = alice.client->GetGroup(group);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->name, "moraine v2");
  EXPECT_EQ(held->version, 2u);

  auto renamed = alice.client->RenameGroup(group, "moraine v3");
  ASSERT_TRUE(renamed) << ClientErrcName(renamed.error().code);
  EXPECT_EQ(renamed->version, 3u);
  ASSERT_TRUE(WaitUntil([&] {
    auto state = bob.client->GetGroup(group);
    return state && state->name == "moraine v3" && state->version == 3u;
  }));
  ASSERT_TRUE(bob.client->SendGroupText(group, "still here"));
  EXPECT_TRUE(Received(*alice.log, "still here", group));
}

TEST_F(ClientGroupsTest, AdminRightsAreTakenBackAndTheRevokedAdminsChangesNoLongerCount) {
  auto scene = SetUpCrafting("dave", "spire");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, dave, alice_id, bob_id, carol_id, dave_id, created, group] = *scene;
  ASSERT_TRUE(alice.client->AddGroupAdmins(group, {"bob"}));
  ASSERT_TRUE(WaitUntil([&] { return carol.client->GetGroup(group)->admins.size() == 2u; }));

  // The last admin cannot step down while members remain; a non-member is
  // not found; a member who is not an admin is left as it is.
  auto revoked = alice.client->RemoveGroupAdmins(group, {"bob"});
  ASSERT_TRUE(revoked) << ClientErrcName(revoked.error().code);
  EXPECT_EQ(revoked->admins, std::vector<AccountId>{alice_id});
  auto last = alice.client->RemoveGroupAdmins(group, {"alice"});
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().code, ClientErrc::kInvalidArgument);
  auto stranger = alice.client->RemoveGroupAdmins(group, {"dave"});
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.error().code, ClientErrc::kNotFound);
  auto unchanged = alice.client->RemoveGroupAdmins(group, {"carol"});
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->version, revoked->version);
  for (auto* p : {&bob, &carol}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->admins == std::vector<AccountId>{alice_id} && state->version == revoked->version;
    }));
  }
  auto refused = bob.client->RenameGroup(group, "bob's spire");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kForbidden);
  // A change Bob's modified client makes after the revocation does not count.
  SendCrafted(bob, "bob", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
    return {ChangesUpdate(
                created.id,
                {Signed(created.id,
                        Change(revoked->version + 1, bob_id, {Op(GroupOpKind::kRemove, alice_id)}), store)}),
            Barrier("after bob's")};
  });
  ASSERT_TRUE(Received(*carol.log, "after bob's", Conv(*bob.client)));
  EXPECT_EQ(carol.client->GetGroup(group)->members, revoked->members);
  // An admin may step down while another admin remains.
  ASSERT_TRUE(alice.client->AddGroupAdmins(group, {"carol"}));
  auto stepped_down = alice.client->RemoveGroupAdmins(group, {"alice"});
  ASSERT_TRUE(stepped_down);
  EXPECT_EQ(stepped_down->admins, std::vector<AccountId>{carol_id});
  ASSERT_TRUE(
      WaitUntil([&] { return carol.client->GetGroup(group)->admins == std::vector<AccountId>{carol_id}; }));
  ASSERT_TRUE(carol.client->RenameGroup(group, "carol's spire"));
  ASSERT_TRUE(WaitUntil([&] { return alice.client->GetGroup(group)->name == "carol's spire"; }));
  EXPECT_EQ(alice.client->RenameGroup(group, "x").error().code, ClientErrc::kForbidden);
}

// A new member's leave that reaches a device before the admin's change that
// adds it (envelopes from different senders are not ordered) is kept, across
// a restart, and counts once the add arrives: every device ends the same.
TEST_F(ClientGroupsTest, ANewMembersLeaveThatOvertakesItsAddCountsOnceTheAddArrives) {
  auto scene = SetUpCrafting("erin", "cirque");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, erin, alice_id, bob_id, carol_id, erin_id, created, group] = *scene;
  ASSERT_EQ(carol.client->GetGroup(group)->version, 1u);

  // Erin's leave of version 3 (made from Alice's add, version 2) reaches
  // Carol first: it is kept, not taken.
  SendCrafted(
      erin, "erin", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
        return {ChangesUpdate(
                    created.id,
                    {Signed(created.id, Change(3, erin_id, {Op(GroupOpKind::kLeave, erin_id)}), store)}),
                Barrier("after erin's leave")};
      });
  ASSERT_TRUE(Received(*carol.log, "after erin's leave", Conv(*erin.client)));
  EXPECT_EQ(carol.client->GetGroup(group)->version, 1u);
  EXPECT_EQ(RestartCountingPending(carol, "carol", created.id), 1);

  // The add arrives: the kept leave counts at once, before Erin's own
  // client has left anything.
  auto added = alice.client->AddGroupMembers(group, {"erin"});
  ASSERT_TRUE(added);
  ASSERT_EQ(added->version, 2u);
  ASSERT_TRUE(WaitUntil([&] {
    auto state = carol.client->GetGroup(group);
    return state && state->version == 3u && state->version_author == erin_id;
  }));
  const std::vector<AccountId> remaining{alice_id, bob_id, carol_id};
  EXPECT_EQ(carol.client->GetGroup(group)->members, remaining);

  // Erin's client leaves for real (the same change): every device holds
  // the same state, and Carol keeps nothing pending.
  ASSERT_TRUE(WaitUntil([&] {
    auto state = erin.client->GetGroup(group);
    return state && state->active && state->version == 2u;
  }));
  ASSERT_TRUE(erin.client->LeaveGroup(group));
  for (auto* p : {&alice, &bob, &carol}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto state = p->client->GetGroup(group);
      return state && state->version == 3u && state->members == remaining;
    }));
  }
  ASSERT_TRUE(alice.client->SendGroupText(group, "barrier"));
  for (auto* p : {&bob, &carol}) ASSERT_TRUE(Received(*p->log, "barrier", group));
  const Group at_alice = *alice.client->GetGroup(group);
  for (auto* p : {&bob, &carol}) {
    auto state = p->client->GetGroup(group);
    ASSERT_TRUE(state);
    ExpectSameGroupState(*state, at_alice);
  }
  EXPECT_EQ(at_alice.version_author, erin_id);
  EXPECT_FALSE(erin.client->GetGroup(group)->active);
  EXPECT_EQ(RestartCountingPending(carol, "carol", created.id), 0);
}

// A stranger's changes are kept no longer than their bounds allow and never
// count, however the log grows after them; her flood evicts nothing of
// another sender's: a new member's leave that overtook its add, kept before
// the flood, still counts once the add arrives.
TEST_F(ClientGroupsTest, AStrangersChangesNeverCountAndWhatIsKeptOfThemStaysBounded) {
  auto scene = SetUpCrafting("mallory", "serac");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, mallory, alice_id, bob_id, carol_id, mallory_id, created, group] = *scene;
  const Group before = *carol.client->GetGroup(group);

  // A change of hers that adds herself is no way in: it is kept, not taken.
  SendCrafted(mallory, "mallory", carol_id,
              [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
                return {ChangesUpdate(created.id, {Signed(created.id,
                                                          Change(90, mallory_id,
                                                                 {Op(GroupOpKind::kAdd, mallory_id),
                                                                  Op(GroupOpKind::kMakeAdmin, mallory_id)}),
                                                          store)}),
                        Barrier("after mallory's self-add")};
              });
  ASSERT_TRUE(Received(*carol.log, "after mallory's self-add", Conv(*mallory.client)));
  EXPECT_EQ(RestartCountingPending(carol, "carol", created.id), 1);

  // Erin's leave of the version after her add (4, made after the changes
  // below) overtakes the add: it is kept, before Mallory floods the group.
  Profile erin = Register("erin");
  ASSERT_TRUE(erin.client);
  const AccountId erin_id = erin.client->account()->account;
  ASSERT_TRUE(erin.client->SendText("carol", "hi carol, erin here"));
  ASSERT_TRUE(Received(*carol.log, "hi carol, erin here", Conv(*erin.client)));
  SendCrafted(
      erin, "erin", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
        return {ChangesUpdate(
                    created.id,
                    {Signed(created.id, Change(5, erin_id, {Op(GroupOpKind::kLeave, erin_id)}), store)}),
                Barrier("after erin's leave")};
      });
  ASSERT_TRUE(Received(*carol.log, "after erin's leave", Conv(*erin.client)));
  EXPECT_EQ(RestartCountingPending(carol, "carol", created.id), 2);

  // 80 small changes of Mallory's own to the group (two contents), then 4
  // large ones (1,200 adds each, about 26 KB), and one for each of 20
  // groups Carol does not know; all signed by her. An unsigned change is
  // not even kept.
  std::vector<GroupId> unknown(20);
  crypto::SystemRng rng;
  for (GroupId& id : unknown) rng.Fill(id);
  SendCrafted(mallory, "mallory", carol_id, [&](store::ClientStore& store) {
    std::vector<std::vector<std::uint8_t>> crafted;
    for (std::uint64_t first : {2u, 42u}) {
      std::vector<GroupChange> changes;
      for (std::uint64_t v = first; v < first + 40; ++v) {
        changes.push_back(
            Signed(created.id,
                   Change(v, mallory_id,
                          {RenameOp("mallory's " + std::to_string(v)), Op(GroupOpKind::kRemove, alice_id)}),
                   store));
      }
      crafted.push_back(ChangesUpdate(created.id, changes));
    }
    std::vector<GroupChange> large;
    for (std::uint64_t v = 100; v < 104; ++v) {
      std::vector<GroupOp> adds;
      for (int i = 0; i < 1'200; ++i) {
        std::array<std::uint8_t, Uuid::kSize> bytes{};
        rng.Fill(bytes);
        adds.push_back(Op(GroupOpKind::kAdd, AccountId(Uuid(bytes))));
      }
      large.push_back(Signed(created.id, Change(v, mallory_id, std::move(adds)), store));
    }
    crafted.push_back(ChangesUpdate(created.id, large));
    crafted.push_back(ChangesUpdate(created.id, {Change(200, mallory_id, {RenameOp("unsigned")})}));
    for (const GroupId& id : unknown) {
      crafted.push_back(
          ChangesUpdate(id, {Signed(id, Change(2, mallory_id, {Op(GroupOpKind::kAdd, mallory_id)}), store)}));
    }
    crafted.push_back(Barrier("after mallory's"));
    return crafted;
  });
  ASSERT_TRUE(Received(*carol.log, "after mallory's", Conv(*mallory.client)));

  // The log grows (the pending changes are tried again); none of them counts.
  ASSERT_TRUE(alice.client->RenameGroup(group, "serac v2"));
  ASSERT_TRUE(WaitUntil([&] { return carol.client->GetGroup(group)->name == "serac v2"; }));
  ASSERT_TRUE(alice.client->AddGroupAdmins(group, {"bob"}));
  ASSERT_TRUE(WaitUntil([&] { return carol.client->GetGroup(group)->admins.size() == 2u; }));
  auto after = carol.client->GetGroup(group);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->members, before.members);
  EXPECT_EQ(after->version, 3u);
  EXPECT_EQ(after->version_author, alice_id);
  for (const GroupId& id : unknown) EXPECT_FALSE(carol.client->GetGroup(GroupConversation(id)));

  // What is kept of hers is within her share: her newest two large changes
  // (a third is past her bytes), and her four newest unknown groups; Erin's
  // leave is still there.
  std::int64_t bytes = 0;
  EXPECT_EQ(RestartMeasuringPending(carol, "carol", created.id, &bytes), 3);
  EXPECT_LE(bytes, static_cast<std::int64_t>(kMaxPendingBytesPerSender + 1'024));
  EXPECT_GT(bytes, static_cast<std::int64_t>(kMaxPendingBytesPerSender / 2));
  EXPECT_LE(bytes, static_cast<std::int64_t>(kMaxPendingGroupBytes));
  EXPECT_EQ(RestartMeasuringPending(carol, "carol", std::nullopt, &bytes),
            static_cast<std::int64_t>(3 + kMaxPendingUnknownGroupsPerSender));
  EXPECT_LE(bytes, static_cast<std::int64_t>(kMaxPendingBytes));
  EXPECT_EQ(RestartCountingPending(carol, "carol", unknown.front()), 0);
  EXPECT_EQ(RestartCountingPending(carol, "carol", unknown.back()), 1);

  auto added = alice.client->AddGroupMembers(group, {"erin"});
  ASSERT_TRUE(added);
  ASSERT_EQ(added->version, 4u);
  ASSERT_TRUE(WaitUntil([&] {
    auto state = carol.client->GetGroup(group);
    return state && state->version == 5u && state->version_author == erin_id;
  }));
  EXPECT_EQ(carol.client->GetGroup(group)->members, before.members);
  EXPECT_EQ(RestartCountingPending(carol, "carol", created.id), 2);
  ASSERT_TRUE(alice.client->SendGroupText(group, "still alice's"));
  EXPECT_TRUE(Received(*carol.log, "still alice's", group));
}

// An admin's change for a group a device does not know yet (it overtook the
// add that sends the device the group's log) is kept and counts once the
// log arrives.
TEST_F(ClientGroupsTest, AChangeForAGroupNotKnownYetCountsOnceTheGroupArrives) {
  auto scene = SetUpCrafting("dave", "arete");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, dave, alice_id, bob_id, carol_id, dave_id, created, group] = *scene;
  auto second = CreateAndWait(alice, "col", {"bob"}, {&bob});
  ASSERT_TRUE(second);
  const ConversationId second_group = GroupConversation(second->id);

  // Alice's rename of version 3 (made after she adds Carol in 2) reaches
  // Carol before the group does.
  SendCrafted(
      alice, "alice", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
        return {ChangesUpdate(second->id,
                              {Signed(second->id, Change(3, alice_id, {RenameOp("col, renamed")}), store)}),
                Barrier("after the rename")};
      });
  ASSERT_TRUE(Received(*carol.log, "after the rename", Conv(*alice.client)));
  EXPECT_FALSE(carol.client->GetGroup(second_group));
  EXPECT_EQ(RestartCountingPending(carol, "carol", second->id), 1);

  auto added = alice.client->AddGroupMembers(second_group, {"carol"});
  ASSERT_TRUE(added);
  ASSERT_EQ(added->version, 2u);
  ASSERT_TRUE(WaitUntil([&] {
    auto state = carol.client->GetGroup(second_group);
    return state && state->version == 3u && state->name == "col, renamed";
  }));
  // Alice's client makes the same change: every device ends the same.
  auto renamed = alice.client->RenameGroup(second_group, "col, renamed");
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->version, 3u);
  ASSERT_TRUE(WaitUntil([&] { return bob.client->GetGroup(second_group)->version == 3u; }));
  EXPECT_EQ(renamed->version_author, alice_id);
  for (auto* p : {&bob, &carol}) {
    auto state = p->client->GetGroup(second_group);
    ASSERT_TRUE(state);
    ExpectSameGroupState(*state, *renamed);
  }
  EXPECT_EQ(RestartCountingPending(carol, "carol", second->id), 0);
}

// An admin passes on changes in another member's name: none counts unless
// that member's device signed exactly it (its group, stamp and operations).
// A change the member signed counts however it travels, and a device that
// has no session with its author yet (a new member) gets the author's
// identity from parleyd to check it.
TEST_F(ClientGroupsTest, ChangesRelayedInAnotherMembersNameCountOnlyWithThatMembersSignature) {
  auto scene = SetUpCrafting("dave", "tor");
  ASSERT_TRUE(scene);
  auto& [alice, bob, carol, dave, alice_id, bob_id, carol_id, dave_id, created, group] = *scene;
  // Bob becomes an admin (2) and renames the group with his own client (3).
  ASSERT_TRUE(alice.client->AddGroupAdmins(group, {"bob"}));
  ASSERT_TRUE(WaitUntil([&] { return bob.client->GetGroup(group)->admins.size() == 2u; }));
  auto renamed = bob.client->RenameGroup(group, "tor, by bob");
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->version, 3u);
  for (auto* p : {&alice, &carol}) {
    ASSERT_TRUE(WaitUntil([&] { return p->client->GetGroup(group)->version == 3u; }));
  }
  const Group before = *carol.client->GetGroup(group);
  EXPECT_EQ(before.name, "tor, by bob");
  EXPECT_EQ(before.version_author, bob_id);

  // Alice, an admin, states changes in Bob's name to Carol: (a) without a
  // signature, (b) signed with her own key, (c) with the signature of Bob's
  // real change (as her store holds it) over other operations, and over
  // another stamp.
  SendCrafted(
      alice, "alice", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
        auto held = store.GroupChanges(created.id);
        EXPECT_TRUE(held);
        std::optional<GroupChange> genuine;
        for (const store::StoredGroupChange& c : held ? *held : std::vector<store::StoredGroupChange>{}) {
          if (c.version != 3 || c.author != bob_id) continue;
          auto ops = DecodeGroupOps(c.ops);
          EXPECT_TRUE(ops);
          EXPECT_EQ(c.signature.size(), kGroupChangeSignatureSize);
          if (!ops || c.signature.size() != kGroupChangeSignatureSize) continue;
          genuine = GroupChange{GroupStamp{c.version, c.author, c.device}, *ops};
          genuine->signature.emplace();
          std::copy(c.signature.begin(), c.signature.end(), genuine->signature->begin());
        }
        EXPECT_TRUE(genuine);
        if (!genuine) return {};
        GroupChange other_ops = *genuine;
        other_ops.ops = {RenameOp("a tor, says alice")};  // sorts before Bob's: it would replace his
        GroupChange other_stamp = *genuine;
        other_stamp.stamp.version = 5;
        return {
            ChangesUpdate(created.id, {Change(4, bob_id, {Op(GroupOpKind::kRemove, carol_id)})}),
            ChangesUpdate(created.id,
                          {Signed(created.id, Change(4, bob_id, {RenameOp("bob's, says alice")}), store)}),
            ChangesUpdate(created.id, {other_ops}), ChangesUpdate(created.id, {other_stamp}),
            Barrier("after alice's")};
      });
  ASSERT_TRUE(Received(*carol.log, "after alice's", Conv(*alice.client)));
  auto held = carol.client->GetGroup(group);
  ASSERT_TRUE(held);
  ExpectSameGroupState(*held, before);
  EXPECT_TRUE(held->active);
  EXPECT_EQ(RestartCountingPending(carol, "carol", created.id), 0);

  // A change Bob's device signed that reaches Carol only through Alice counts.
  GroupChange bobs;
  SendCrafted(bob, "bob", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
    bobs = Signed(created.id, Change(4, bob_id, {RenameOp("tor, passed on")}), store);
    return {};
  });
  SendCrafted(alice, "alice", carol_id,
              {ChangesUpdate(created.id, {bobs}), Barrier("after the change alice passed on")});
  ASSERT_TRUE(Received(*carol.log, "after the change alice passed on", Conv(*alice.client)));
  held = carol.client->GetGroup(group);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->name, "tor, passed on");
  EXPECT_EQ(held->version, 4u);
  EXPECT_EQ(held->version_author, bob_id);

  // A change stamped by a device of Bob's that parleyd does not know: its
  // signature cannot be checked, so it does not count; it is kept for when
  // the identity can be had.
  SendCrafted(
      alice, "alice", carol_id, [&](store::ClientStore& store) -> std::vector<std::vector<std::uint8_t>> {
        return {ChangesUpdate(
                    created.id,
                    {Signed(created.id, GroupChange{GroupStamp{6, bob_id, 7}, {RenameOp("bob's seventh")}},
                            store)}),
                Barrier("after the unknown device's")};
      });
  ASSERT_TRUE(Received(*carol.log, "after the unknown device's", Conv(*alice.client)));
  EXPECT_EQ(carol.client->GetGroup(group)->name, "tor, passed on");
  EXPECT_EQ(RestartCountingPending(carol, "carol", created.id), 1);

  // Dave, added by Alice, gets her log, Bob's signed rename in it; he has
  // no session with Bob (and Bob, offline, passes him nothing), so his
  // device fetches Bob's identity to check it: the identity key alone,
  // which uses up none of Bob's one-time prekeys.
  bob.client->Disconnect();
  const std::filesystem::path server_db = dir_ / "server" / "parley.db";
  const std::int64_t bob_prekeys = ServerPreKeyCount(server_db, bob_id);
  ASSERT_GT(bob_prekeys, 0);
  auto added = alice.client->AddGroupMembers(group, {"dave"});
  ASSERT_TRUE(added);
  ASSERT_TRUE(WaitUntil([&] {
    auto state = dave.client->GetGroup(group);
    return state && state->version == added->version;
  }));
  auto at_dave = dave.client->GetGroup(group);
  ASSERT_TRUE(at_dave);
  ExpectSameGroupState(*at_dave, *added);
  EXPECT_EQ(at_dave->name, "tor, by bob");
  EXPECT_TRUE(at_dave->active);
  EXPECT_EQ(ServerPreKeyCount(server_db, bob_id), bob_prekeys);
}

}  // namespace
}  // namespace parley::client
