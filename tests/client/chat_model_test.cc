// `parley chat`'s model and layout without a terminal: events, keys, what
// each screen shows, and that every frame fits its screen at any size.
#include <gtest/gtest.h>
#include <locale.h>

#include "chat_model.h"

namespace parley::chat {
namespace {

using namespace parley::client;

const char* kBob = "2f1c5b4e-0000-4000-8000-00000000000b";
const char* kCarol = "2f1c5b4e-0000-4000-8000-00000000000c";

Conversation Conv(const std::string& id, const std::string& title, std::int64_t unread, std::int64_t activity,
                  bool request = false) {
  Conversation c;
  c.id = id;
  c.title = title;
  c.unread = unread;
  c.last_activity_ms = activity;
  c.request = request;
  return c;
}

StoredMessage Message(const std::string& conversation, const std::string& body, Direction direction,
                      std::uint8_t tag, MessageStatus status = MessageStatus::kReceived) {
  StoredMessage m;
  m.id[0] = tag;
  m.conversation = conversation;
  m.direction = direction;
  m.sender = AccountId(*Uuid::Parse(conversation));
  m.body = body;
  m.status = status;
  m.received_at_ms = 1'700'000'000'000 + tag;
  return m;
}

std::string RowText(const Row& row) {
  std::string text;
  for (const auto& span : row) text += span.text;
  return text;
}

std::string Screen(const ChatModel& model, int rows = 24, int cols = 100) {
  std::string all;
  for (const auto& row : RenderChat(model, rows, cols).rows) all += RowText(row) + "\n";
  return all;
}

KeyPress Char(char32_t c) { return {KeyKind::kChar, c}; }
KeyPress Ctrl(char c) { return {KeyKind::kCtrl, static_cast<char32_t>(c)}; }

// Types text; a key asks for nothing but, at times, a typing indicator.
void Type(ChatModel& model, const std::string& ascii) {
  for (char c : ascii) {
    const auto kind = model.HandleKey(Char(static_cast<unsigned char>(c))).kind;
    EXPECT_TRUE(kind == ChatCommand::Kind::kNone || kind == ChatCommand::Kind::kTyping);
  }
}

const char* kTeam = "group:00112233445566778899aabbccddeeff";

AttachmentInfo File(std::uint8_t tag, const std::string& name, std::uint64_t size) {
  AttachmentInfo a;
  a.message[0] = tag;
  a.file_name = name;
  a.size = size;
  return a;
}

class ChatModelTest : public ::testing::Test {
 protected:
  void SetUp() override { setlocale(LC_ALL, "C.UTF-8"); }
  ChatModel model_{"alice", true};
};

TEST_F(ChatModelTest, ListShowsUnreadCountsNewestFirst) {
  model_.SetConversations({Conv(kBob, "bob", 2, 100), Conv(kCarol, "carol", 0, 200)});
  ASSERT_EQ(model_.conversations().size(), 2u);
  EXPECT_EQ(model_.conversations()[0].title, "carol");
  const std::string screen = Screen(model_);
  EXPECT_NE(screen.find("bob (2)"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("carol ("), std::string::npos);
  EXPECT_NE(screen.find("Parley \xe2\x80\x94 alice"), std::string::npos);
}

TEST_F(ChatModelTest, IncomingMessagesCountUnlessOpenAndUnknownOnesAskForAReload) {
  model_.SetConversations({Conv(kBob, "bob", 0, 100), Conv(kCarol, "carol", 0, 200)});
  model_.Open(kCarol, "carol");
  model_.SetHistory(kCarol, {});
  EXPECT_FALSE(model_.Apply(MessageReceived{Message(kBob, "from bob", Direction::kIncoming, 1)}));
  EXPECT_EQ(model_.conversations()[0].title, "bob");  // newest activity first
  EXPECT_EQ(model_.conversations()[0].unread, 1);
  EXPECT_FALSE(model_.Apply(MessageReceived{Message(kCarol, "from carol", Direction::kIncoming, 2)}));
  ASSERT_EQ(model_.messages().size(), 1u);
  EXPECT_EQ(model_.open_entry()->unread, 0);
  const std::string screen = Screen(model_);
  EXPECT_NE(screen.find("carol: from carol"), std::string::npos) << screen;
  EXPECT_TRUE(model_.Apply(
      MessageReceived{Message("2f1c5b4e-0000-4000-8000-0000000000dd", "new", Direction::kIncoming, 3)}));
}

TEST_F(ChatModelTest, DeliveryAndReadMarksFollowUpdates) {
  model_.SetConversations({Conv(kBob, "bob", 0, 100)});
  model_.Open(kBob, "bob");
  auto sent = Message(kBob, "hello", Direction::kOutgoing, 1, MessageStatus::kSent);
  model_.AddOutgoing(sent);
  EXPECT_NE(Screen(model_).find("alice: hello \xe2\x9c\x93"), std::string::npos);
  sent.status = MessageStatus::kDelivered;
  model_.Apply(MessageUpdated{sent});
  EXPECT_NE(Screen(model_).find("hello \xe2\x9c\x93\xe2\x9c\x93"), std::string::npos);
  sent.status = MessageStatus::kRead;
  sent.edited = true;
  sent.body = "hello!";
  model_.Apply(MessageUpdated{sent});
  EXPECT_NE(Screen(model_).find("hello! (edited) \xe2\x9c\x93\xe2\x9c\x93 read"), std::string::npos)
      << Screen(model_);

  // A group message's receipt summary follows its mark; another conversation drops it.
  model_.SetReceiptSummary(sent.id, " (delivered to 2 of 3, read by 1)");
  EXPECT_NE(Screen(model_).find("\xe2\x9c\x93\xe2\x9c\x93 read (delivered to 2 of 3, read by 1)"),
            std::string::npos)
      << Screen(model_);
  model_.Open(kCarol, "carol");
  model_.Open(kBob, "bob");
  model_.AddOutgoing(sent);
  EXPECT_EQ(Screen(model_).find("read by 1"), std::string::npos) << Screen(model_);

  ChatModel ascii("alice", false);
  ascii.SetConversations({Conv(kBob, "bob", 0, 100)});
  ascii.Open(kBob, "bob");
  ascii.AddOutgoing(sent);
  EXPECT_NE(Screen(ascii).find("hello! (edited) [read]"), std::string::npos);
}

TEST_F(ChatModelTest, ComposeSendsToTheOpenConversation) {
  model_.SetConversations({Conv(kBob, "bob", 0, 100)});
  Type(model_, "hi");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);  // nothing open
  EXPECT_NE(model_.status().find("/new"), std::string::npos);
  auto open = model_.HandleKey({KeyKind::kDown, 0});
  EXPECT_EQ(open.kind, ChatCommand::Kind::kOpen);
  EXPECT_EQ(open.conversation, kBob);
  model_.HandleKey(Char(U'\u00e9'));
  EXPECT_EQ(model_.compose(), "hi\xc3\xa9");
  model_.HandleKey({KeyKind::kBackspace, 0});
  EXPECT_EQ(model_.compose(), "hi");
  model_.HandleKey(Char(0x1b));  // a control character is not typed
  EXPECT_EQ(model_.compose(), "hi");
  EXPECT_NE(Screen(model_).find("> hi"), std::string::npos);
  auto send = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(send.kind, ChatCommand::Kind::kSend);
  EXPECT_EQ(send.conversation, kBob);
  EXPECT_EQ(send.text, "hi");
  EXPECT_TRUE(model_.compose().empty());
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);  // empty line
}

TEST_F(ChatModelTest, SlashCommands) {
  Type(model_, "/new carol");
  auto added = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(added.kind, ChatCommand::Kind::kNewConversation);
  EXPECT_EQ(added.text, "carol");
  Type(model_, "/accept");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);  // nothing open
  model_.Open(kBob, "bob");
  Type(model_, "/verify");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kShowSafety);
  Type(model_, "/bogus");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);
  EXPECT_NE(model_.status().find("unknown command"), std::string::npos);
  Type(model_, "/help");
  model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(model_.overlay(), Overlay::kHelp);
  EXPECT_NE(Screen(model_).find("/new USERNAME"), std::string::npos);
  model_.HandleKey({KeyKind::kEscape, 0});
  EXPECT_EQ(model_.overlay(), Overlay::kNone);
  Type(model_, "/quit");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kQuit);
  EXPECT_EQ(model_.HandleKey(Ctrl('q')).kind, ChatCommand::Kind::kQuit);
}

TEST_F(ChatModelTest, RequestsOfferAcceptAndBlockOnlyForRequests) {
  model_.SetConversations({Conv(kBob, "bob", 1, 100, true), Conv(kCarol, "carol", 0, 50)});
  model_.Open(kCarol, "carol");
  EXPECT_EQ(model_.HandleKey(Ctrl('a')).kind, ChatCommand::Kind::kNone);
  EXPECT_EQ(model_.HandleKey(Ctrl('b')).kind, ChatCommand::Kind::kNone);
  EXPECT_EQ(model_.HandleKey(Ctrl('p')).conversation, kBob);
  const std::string screen = Screen(model_);
  EXPECT_NE(screen.find("? bob"), std::string::npos) << screen;
  EXPECT_NE(screen.find("message request: Ctrl-A accept, Ctrl-B block"), std::string::npos);
  auto accept = model_.HandleKey(Ctrl('a'));
  EXPECT_EQ(accept.kind, ChatCommand::Kind::kAccept);
  EXPECT_EQ(accept.conversation, kBob);
  EXPECT_EQ(model_.HandleKey(Ctrl('b')).kind, ChatCommand::Kind::kBlock);
}

TEST_F(ChatModelTest, SafetyNumberScreen) {
  model_.SetConversations({Conv(kBob, "bob", 0, 100)});
  model_.Open(kBob, "bob");
  EXPECT_EQ(model_.HandleKey(Ctrl('v')).kind, ChatCommand::Kind::kShowSafety);
  SafetyNumber number;
  for (int i = 0; i < 60; ++i) number.digits.push_back(static_cast<char>('0' + i % 10));
  model_.SetSafetyNumber(kBob, number);
  EXPECT_EQ(model_.overlay(), Overlay::kSafetyNumber);
  std::string screen = Screen(model_);
  EXPECT_NE(screen.find("Safety number with bob"), std::string::npos);
  EXPECT_NE(screen.find("01234 56789 01234 56789"), std::string::npos) << screen;
  EXPECT_NE(screen.find("not verified"), std::string::npos);
  // Keys go to the screen, not the compose line.
  auto mark = model_.HandleKey(Char('m'));
  EXPECT_EQ(mark.kind, ChatCommand::Kind::kMarkVerified);
  EXPECT_TRUE(model_.compose().empty());
  number.verified = true;
  model_.SetSafetyNumber(kBob, number);
  screen = Screen(model_);
  EXPECT_EQ(screen.find("not verified"), std::string::npos);
  EXPECT_NE(screen.find("verified"), std::string::npos);
  model_.HandleKey({KeyKind::kEscape, 0});
  EXPECT_EQ(model_.overlay(), Overlay::kNone);
}

TEST_F(ChatModelTest, EventsSetStatusTypingAndConnection) {
  model_.SetConversations({Conv(kBob, "bob", 0, 100)});
  model_.Open(kBob, "bob");
  model_.Apply(TypingChanged{kBob, AccountId(*Uuid::Parse(kBob)), true});
  EXPECT_NE(Screen(model_).find("bob is typing"), std::string::npos);
  model_.Apply(TypingChanged{kBob, AccountId(*Uuid::Parse(kBob)), false});
  EXPECT_EQ(Screen(model_).find("bob is typing"), std::string::npos);
  model_.Apply(ConnectionChanged{true});
  EXPECT_NE(Screen(model_).find("connected"), std::string::npos);
  model_.Apply(ConnectionChanged{false});
  EXPECT_NE(Screen(model_).find("offline"), std::string::npos);
  model_.Apply(IdentityChanged{AccountId(*Uuid::Parse(kBob)), "bob", true});
  EXPECT_NE(Screen(model_).find("! the safety number with bob changed; verify again"), std::string::npos);
}

TEST_F(ChatModelTest, TypingIsSentThrottledStoppedWhenIdleAndNeverToRequests) {
  model_.SetConversations({Conv(kBob, "bob", 0, 100), Conv(kCarol, "carol", 1, 50, true)});
  model_.Open(kBob, "bob");
  model_.Tick(1'000);
  auto started = model_.HandleKey(Char('h'));
  EXPECT_EQ(started.kind, ChatCommand::Kind::kTyping);
  EXPECT_EQ(started.conversation, kBob);
  EXPECT_TRUE(started.typing);
  // Throttled: nothing more until kTypingRefreshMs passed, while keys keep coming.
  for (std::int64_t t = 2'000; t < 1'000 + kTypingRefreshMs; t += 1'000) {
    EXPECT_EQ(model_.Tick(t).kind, ChatCommand::Kind::kNone);
    EXPECT_EQ(model_.HandleKey(Char('i')).kind, ChatCommand::Kind::kNone);
  }
  EXPECT_EQ(model_.Tick(1'000 + kTypingRefreshMs).kind, ChatCommand::Kind::kNone);
  auto refreshed = model_.HandleKey(Char('!'));
  EXPECT_EQ(refreshed.kind, ChatCommand::Kind::kTyping);
  EXPECT_TRUE(refreshed.typing);
  // Idle: "stopped" once, then nothing.
  const std::int64_t last_key = 1'000 + kTypingRefreshMs;
  EXPECT_EQ(model_.Tick(last_key + kTypingIdleMs - 1).kind, ChatCommand::Kind::kNone);
  auto stopped = model_.Tick(last_key + kTypingIdleMs);
  EXPECT_EQ(stopped.kind, ChatCommand::Kind::kTyping);
  EXPECT_FALSE(stopped.typing);
  EXPECT_EQ(stopped.conversation, kBob);
  EXPECT_EQ(model_.Tick(last_key + kTypingIdleMs + 1).kind, ChatCommand::Kind::kNone);
  // Sending ends it without a separate "stopped" (the message does that).
  EXPECT_EQ(model_.HandleKey(Char('x')).kind, ChatCommand::Kind::kTyping);
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kSend);
  EXPECT_EQ(model_.Tick(last_key + kTypingIdleMs + 2).kind, ChatCommand::Kind::kNone);
  // Clearing the line stops it.
  EXPECT_EQ(model_.HandleKey(Char('y')).kind, ChatCommand::Kind::kTyping);
  model_.HandleKey({KeyKind::kEscape, 0});
  EXPECT_FALSE(model_.Tick(last_key + kTypingIdleMs + 3).typing);
  // A command is not typing; a message request never gets one (S2).
  EXPECT_EQ(model_.HandleKey(Char('/')).kind, ChatCommand::Kind::kNone);
  model_.HandleKey({KeyKind::kEscape, 0});
  model_.Open(kCarol, "carol");
  for (char c : std::string("hello carol"))
    EXPECT_EQ(model_.HandleKey(Char(static_cast<unsigned char>(c))).kind, ChatCommand::Kind::kNone);
}

TEST_F(ChatModelTest, TypingShownByNameUntilItExpires) {
  model_.SetConversations({Conv(kTeam, "team", 0, 100)});
  model_.SetNames({{kBob, "bob"}, {kCarol, "carol"}});
  model_.Open(kTeam, "team");
  model_.Tick(10'000);
  model_.Apply(TypingChanged{kTeam, AccountId(*Uuid::Parse(kBob)), true});
  EXPECT_NE(Screen(model_).find("bob is typing\xe2\x80\xa6"), std::string::npos) << Screen(model_);
  model_.Apply(TypingChanged{kTeam, AccountId(*Uuid::Parse(kCarol)), true});
  EXPECT_NE(Screen(model_).find("bob and carol are typing"), std::string::npos);
  // A message from bob ends his.
  auto from_bob = Message(kBob, "done", Direction::kIncoming, 1);
  from_bob.conversation = kTeam;
  model_.Apply(MessageReceived{from_bob});
  EXPECT_NE(Screen(model_).find("carol is typing"), std::string::npos);
  // Not refreshed: gone after kTypingShownMs.
  model_.Tick(10'000 + kTypingShownMs);
  EXPECT_EQ(Screen(model_).find("is typing"), std::string::npos);
}

TEST_F(ChatModelTest, GroupViewShowsSenderNamesAndMembers) {
  Group team;
  team.id[0] = 0x00;
  team.id = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  team.name = "team";
  team.members = {AccountId(*Uuid::Parse(kBob)), AccountId(*Uuid::Parse(kCarol))};
  model_.SetConversations({Conv(kTeam, "team", 0, 100)});
  model_.SetGroups({team});
  model_.SetNames({{kBob, "bob"}, {kCarol, "carol"}});
  model_.Open(kTeam, "team");
  auto from_carol = Message(kCarol, "hello team", Direction::kIncoming, 1);
  from_carol.conversation = kTeam;
  auto from_stranger = Message("2f1c5b4e-0000-4000-8000-0000000000dd", "who am i", Direction::kIncoming, 2);
  from_stranger.conversation = kTeam;
  model_.SetHistory(kTeam, {from_carol, from_stranger});
  const std::string screen = Screen(model_);
  EXPECT_NE(screen.find("carol: hello team"), std::string::npos) << screen;
  EXPECT_NE(screen.find("2f1c5b4e: who am i"), std::string::npos);  // no name known: a short id
  EXPECT_NE(screen.find("# team  bob, carol"), std::string::npos);
  EXPECT_NE(screen.find("# team"), std::string::npos);
  // Admins are marked.
  team.admins = {AccountId(*Uuid::Parse(kCarol))};
  model_.Apply(GroupChanged{team, AccountId(*Uuid::Parse(kCarol))});
  EXPECT_NE(Screen(model_).find("# team  bob, carol (admin)"), std::string::npos) << Screen(model_);
  team.active = false;
  model_.Apply(GroupChanged{team, AccountId(*Uuid::Parse(kBob))});
  EXPECT_NE(Screen(model_).find("(not a member any more)"), std::string::npos);
}

TEST_F(ChatModelTest, GroupCommands) {
  Type(model_, "/group create team bob carol");
  auto created = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(created.kind, ChatCommand::Kind::kGroupCreate);
  EXPECT_EQ(created.text, "team");
  EXPECT_EQ(created.args, (std::vector<std::string>{"bob", "carol"}));
  Type(model_, "/group create lonely");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);
  Type(model_, "/group add dave");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);  // no group open
  EXPECT_NE(model_.status().find("open a group first"), std::string::npos);
  model_.Open(kTeam, "team");
  Type(model_, "/group add dave  erin");
  auto added = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(added.kind, ChatCommand::Kind::kGroupAdd);
  EXPECT_EQ(added.conversation, kTeam);
  EXPECT_EQ(added.args, (std::vector<std::string>{"dave", "erin"}));
  Type(model_, "/group remove dave");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kGroupRemove);
  Type(model_, "/group admin erin");
  auto admin = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(admin.kind, ChatCommand::Kind::kGroupAdmin);
  EXPECT_EQ(admin.conversation, kTeam);
  EXPECT_EQ(admin.args, (std::vector<std::string>{"erin"}));
  Type(model_, "/group unadmin erin");
  auto unadmin = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(unadmin.kind, ChatCommand::Kind::kGroupUnadmin);
  EXPECT_EQ(unadmin.conversation, kTeam);
  EXPECT_EQ(unadmin.args, (std::vector<std::string>{"erin"}));
  Type(model_, "/group unadmin");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);
  EXPECT_NE(model_.status().find("/group unadmin USER..."), std::string::npos);
  Type(model_, "/group admin");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);
  EXPECT_NE(model_.status().find("/group admin USER..."), std::string::npos);
  Type(model_, "/group rename the team");
  auto renamed = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(renamed.kind, ChatCommand::Kind::kGroupRename);
  EXPECT_EQ(renamed.text, "the team");
  Type(model_, "/group leave");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kGroupLeave);
  Type(model_, "/group leave now");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);
  Type(model_, "/attach /tmp/a.txt");  // a file goes to the group as to a peer
  auto attach = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(attach.kind, ChatCommand::Kind::kAttach);
  EXPECT_EQ(attach.conversation, kTeam);
  EXPECT_EQ(attach.text, "/tmp/a.txt");
}

TEST_F(ChatModelTest, AttachmentsAreMarkedNumberedAndSavedOnRequestOnly) {
  model_.SetConversations({Conv(kBob, "bob", 0, 100), Conv(kCarol, "carol", 1, 50, true)});
  model_.Open(kBob, "bob");
  auto plain = Message(kBob, "no file", Direction::kIncoming, 1);
  auto with_file = Message(kBob, "the notes", Direction::kIncoming, 2);
  auto second_file = Message(kBob, "", Direction::kIncoming, 3);
  model_.SetHistory(kBob, {plain, with_file, second_file});
  model_.SetAttachment(File(2, "notes.txt", 12));
  model_.SetAttachment(File(3, "photo\x1b[2J.jpg", 3 * 1024 * 1024 + 400 * 1024));
  const std::string screen = Screen(model_, 24, 140);
  EXPECT_NE(screen.find("bob: the notes [file 1: notes.txt, 12 B; /save 1 PATH]"), std::string::npos)
      << screen;
  EXPECT_NE(screen.find("bob: [file 2: photo\xef\xbf\xbd[2J.jpg, 3.4 MiB; /save 2 PATH]"), std::string::npos);
  EXPECT_EQ(screen.find("[attachment]"), std::string::npos);

  Type(model_, "/save 2 /tmp/out dir/p.jpg");
  auto save = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(save.kind, ChatCommand::Kind::kSave);
  ASSERT_TRUE(save.message);
  EXPECT_EQ((*save.message)[0], 3);
  EXPECT_EQ(save.text, "/tmp/out dir/p.jpg");
  Type(model_, "/save 1");
  auto keep = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(keep.kind, ChatCommand::Kind::kSave);
  EXPECT_TRUE(keep.text.empty());
  for (const char* bad : {"/save 3", "/save 0", "/save x", "/save"}) {
    Type(model_, bad);
    EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone) << bad;
  }
  Type(model_, "/attach /home/alice/report 1.pdf");
  auto attach = model_.HandleKey({KeyKind::kEnter, 0});
  EXPECT_EQ(attach.kind, ChatCommand::Kind::kAttach);
  EXPECT_EQ(attach.conversation, kBob);
  EXPECT_EQ(attach.text, "/home/alice/report 1.pdf");
  auto saved = File(2, "notes.txt", 12);
  saved.path = "/data/attachments/x-notes.txt";
  model_.SetAttachment(saved);
  EXPECT_NE(Screen(model_, 24, 140).find("[file 1: notes.txt, 12 B, saved]"), std::string::npos);

  // S2: a message request's file is shown as not fetched, and /save does not ask for it.
  model_.Open(kCarol, "carol");
  auto request = Message(kCarol, "", Direction::kIncoming, 4);
  request.request = true;
  model_.SetHistory(kCarol, {request});
  model_.SetAttachment(File(4, "invoice.pdf", 2048));
  EXPECT_NE(Screen(model_, 24, 140).find("[file 1: invoice.pdf, 2.0 KiB, not fetched: message request]"),
            std::string::npos);
  Type(model_, "/save 1 /tmp/x");
  EXPECT_EQ(model_.HandleKey({KeyKind::kEnter, 0}).kind, ChatCommand::Kind::kNone);
  EXPECT_NE(model_.status().find("accept it first"), std::string::npos);
}

TEST_F(ChatModelTest, PeerTextCannotReachTheTerminalAsControls) {
  EXPECT_EQ(SanitizeForTerminal("a\x1b[2Jb", true), "a\xef\xbf\xbd[2Jb");
  EXPECT_EQ(SanitizeForTerminal("a\x1b[2Jb", false), "a?[2Jb");
  EXPECT_EQ(SanitizeForTerminal("x\xc2\x9b"
                                "y",
                                true),
            "x\xef\xbf\xbdy");  // C1 CSI
  EXPECT_EQ(SanitizeForTerminal("\xe2\x80\xae"
                                "evil",
                                true),
            "\xef\xbf\xbd"
            "evil");  // RTL override
  EXPECT_EQ(SanitizeForTerminal("\xff\xc0\xaf", true),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // invalid, overlong
  EXPECT_EQ(SanitizeForTerminal("line\nbreak\ttab", true), "line break tab");
  EXPECT_EQ(SanitizeForTerminal("caf\xc3\xa9", false), "caf?");
  model_.SetConversations({Conv(kBob, "b\x1bob", 0, 100)});
  model_.Open(kBob, "bob");
  model_.Apply(MessageReceived{Message(kBob, "\x1b]0;pwned\x07", Direction::kIncoming, 1)});
  for (const auto& row : RenderChat(model_, 24, 80).rows) {
    for (const auto& span : row) {
      for (char c : span.text) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f);
    }
  }
}

TEST_F(ChatModelTest, WidthsCountColumns) {
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("\xe6\xbc\xa2\xe5\xad\x97"), 4);  // two wide CJK characters
  EXPECT_EQ(FitWidth("\xe6\xbc\xa2\xe5\xad\x97", 3), "\xe6\xbc\xa2");
  EXPECT_EQ(FitWidth("caf\xc3\xa9!", 4), "caf\xc3\xa9");
}

TEST_F(ChatModelTest, EveryFrameFitsItsScreenAtAnySize) {
  model_.SetConversations({Conv(kBob, "bob", 3, 100, true), Conv(kCarol, std::string(80, 'c'), 12, 50)});
  model_.Open(kBob, "bob");
  std::vector<StoredMessage> history;
  for (int i = 0; i < 40; ++i) {
    history.push_back(Message(kBob, std::string(static_cast<std::size_t>(i * 7), 'w') + " \xe6\xbc\xa2 end",
                              i % 2 ? Direction::kIncoming : Direction::kOutgoing,
                              static_cast<std::uint8_t>(i),
                              i % 2 ? MessageStatus::kReceived : MessageStatus::kRead));
  }
  model_.SetHistory(kBob, history);
  Type(model_, std::string(300, 'x'));
  for (int rows = 1; rows <= 50; rows += 7) {
    for (int cols = 1; cols <= 160; cols += 9) {
      const auto frame = RenderChat(model_, rows, cols);
      ASSERT_EQ(frame.rows.size(), static_cast<std::size_t>(rows)) << rows << "x" << cols;
      for (const auto& row : frame.rows) ASSERT_EQ(DisplayWidth(RowText(row)), cols) << rows << "x" << cols;
      if (rows >= 6 && cols >= 24) {
        EXPECT_EQ(frame.cursor_row, rows - 1);
        EXPECT_LT(frame.cursor_col, cols);
      }
    }
  }
  // The newest message is at the bottom; scrolling up shows older ones.
  std::string screen = Screen(model_, 20, 100);
  EXPECT_NE(screen.find(std::string(39 * 7, 'w').substr(0, 30)), std::string::npos);
  for (int i = 0; i < 60; ++i) model_.HandleKey({KeyKind::kPageUp, 0});
  screen = Screen(model_, 20, 100);
  EXPECT_NE(screen.find(": " + std::string(7, 'w') + " "), std::string::npos) << screen;
  EXPECT_NE(Screen(model_, 3, 10).find("terminal"), std::string::npos);
}

}  // namespace
}  // namespace parley::chat
