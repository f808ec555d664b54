// `parley chat` end to end: the real binary runs in a detached tmux session
// (send-keys types, capture-pane reads the screen) against a real parleyd;
// its peer is a Client in this process. Every wait is bounded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "parleyd_process.h"
#include "run_program.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;

using testing::RunProgram;

class ChatTmuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunProgram({"tmux", "-V"}).first, 0)
        << "tmux is not installed (scripts/install-deps installs it)";
    char pattern[] = "/tmp/parley-chat-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    server_ = std::make_unique<testing::ParleydProcess>(dir_);
    ASSERT_NE(server_->port(), 0) << testing::ReadWholeFile(dir_ / "parleyd.out");
    const ServerAddress address{"127.0.0.1", server_->port(), server_->fingerprint()};
    {
      auto alice = Open("alice");
      ASSERT_TRUE(alice);
      ASSERT_TRUE(alice->Register(address, "alice", "laptop"));
    }
    bob_ = Open("bob");
    ASSERT_TRUE(bob_);
    bob_->SetEventHandler([this](const Event& e) {
      std::lock_guard lock(mutex_);
      if (const auto* m = std::get_if<MessageReceived>(&e)) {
        bob_received_.push_back(m->message.body);
        bob_received_ids_.push_back(m->message.id);
      } else if (const auto* t = std::get_if<TypingChanged>(&e)) {
        bob_typing_.push_back(t->typing);
      } else if (const auto* g = std::get_if<GroupChanged>(&e)) {
        bob_groups_.push_back(store::GroupConversation(g->group.id));
      }
      cv_.notify_all();
    });
    ASSERT_TRUE(bob_->Register(address, "bob", "phone"));
  }

  void TearDown() override {
    if (!dir_.empty()) Tmux({"kill-server"});
    bob_.reset();
    server_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Client> Open(const std::string& name) {
    ClientOptions options;
    options.data_dir = dir_ / "profiles" / name;
    options.key.key_file = dir_ / "profiles" / (name + ".key");
    std::filesystem::create_directories(dir_ / "profiles");
    auto client = Client::Open(options);
    return client ? std::move(*client) : nullptr;
  }

  std::pair<int, std::string> Tmux(std::vector<std::string> args) {
    std::vector<std::string> all{"tmux", "-S", (dir_ / "tmux.sock").string(), "-f", "/dev/null"};
    all.insert(all.end(), args.begin(), args.end());
    return RunProgram(all);
  }

  void StartChat(int cols, int rows) {
    const std::string command = "env LANG=C.UTF-8 LC_ALL=C.UTF-8 " + std::string(PARLEY_PATH) +
                                " --data-dir " + (dir_ / "profiles" / "alice").string() + " --key-file " +
                                (dir_ / "profiles" / "alice.key").string() + " chat 2>" +
                                (dir_ / "chat.err").string();
    ASSERT_EQ(Tmux({"new-session", "-d", "-s", "chat", "-x", std::to_string(cols), "-y", std::to_string(rows),
                    command})
                  .first,
              0);
  }

  std::string Screen() { return Tmux({"capture-pane", "-p", "-t", "chat"}).second; }

  // Waits (at most 20 s) until the screen contains every one of `texts`.
  std::string WaitForScreen(const std::vector<std::string>& texts) {
    std::string screen;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      screen = Screen();
      bool all = true;
      for (const auto& t : texts) all = all && screen.find(t) != std::string::npos;
      if (all) return screen;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "the screen never showed \"" << texts.back() << "\":\n" << screen;
    return screen;
  }

  // Waits (at most 20 s) until one line of the screen holds both texts.
  bool WaitForLine(const std::string& first, const std::string& second) {
    std::string screen;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      screen = Screen();
      std::istringstream lines(screen);
      for (std::string line; std::getline(lines, line);) {
        if (line.find(first) != std::string::npos && line.find(second) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "no line showed \"" << first << "\" with \"" << second << "\":\n" << screen;
    return false;
  }

  void Keys(std::vector<std::string> keys) {
    keys.insert(keys.begin(), {"send-keys", "-t", "chat"});
    ASSERT_EQ(Tmux(keys).first, 0);
  }
  void Type(const std::string& text) { ASSERT_EQ(Tmux({"send-keys", "-t", "chat", "-l", text}).first, 0); }

  ConversationId alice_conversation() {
    if (auto list = bob_->Conversations()) {
      for (const auto& c : *list) {
        if (c.title == "alice") return c.id;
      }
    }
    return {};
  }

  bool BobReceived(const std::string& body) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 20s, [&] {
      return std::find(bob_received_.begin(), bob_received_.end(), body) != bob_received_.end();
    });
  }

  std::filesystem::path dir_;
  std::unique_ptr<testing::ParleydProcess> server_;
  std::unique_ptr<Client> bob_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> bob_received_;
  std::vector<MessageId> bob_received_ids_;
  std::vector<bool> bob_typing_;
  std::vector<ConversationId> bob_groups_;
};

TEST_F(ChatTmuxTest, ConversationBothWaysRequestAndResize) {
  ASSERT_TRUE(bob_->SendText("alice", "hi alice, it's bob"));
  StartChat(100, 30);
  // The request arrives once the chat is connected; it lists bob as a request.
  WaitForScreen({"Parley", "alice", "? bob (1)", "connected"});
  Keys({"Down"});
  WaitForScreen({"bob: hi alice, it's bob", "message request: Ctrl-A accept"});
  Keys({"C-a"});
  WaitForScreen({"request accepted"});

  Type("hello bob, from the chat");
  WaitForScreen({"> hello bob, from the chat"});
  Keys({"Enter"});
  EXPECT_TRUE(BobReceived("hello bob, from the chat"));
  // Bob's device confirms delivery, then reads it.
  WaitForScreen({"alice: hello bob, from the chat \xe2\x9c\x93\xe2\x9c\x93"});
  ASSERT_TRUE(bob_->MarkRead(alice_conversation()));
  WaitForScreen({"from the chat \xe2\x9c\x93\xe2\x9c\x93 read"});

  ASSERT_TRUE(bob_->SendText("alice", "and an incoming one"));
  WaitForScreen({"bob: and an incoming one"});

  // Smaller: the conversation alone, every line within the new width.
  ASSERT_EQ(Tmux({"resize-window", "-t", "chat", "-x", "50", "-y", "14"}).first, 0);
  std::string small = WaitForScreen({"bob: and an incoming one", "Enter: send"});
  std::istringstream lines(small);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    int columns = 0;
    for (unsigned char c : line) columns += (c & 0xc0) != 0x80;
    EXPECT_LE(columns, 50) << line;
  }
  EXPECT_LE(count, 14);
  EXPECT_EQ(small.find("? bob"), std::string::npos);  // no list at this width
  // Larger again: the list is back beside the conversation.
  ASSERT_EQ(Tmux({"resize-window", "-t", "chat", "-x", "120", "-y", "35"}).first, 0);
  WaitForScreen({"  bob", "|", "bob: and an incoming one", "hello bob, from the chat"});

  Keys({"C-q"});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline && Tmux({"has-session", "-t", "chat"}).first == 0)
    std::this_thread::sleep_for(100ms);
  EXPECT_NE(Tmux({"has-session", "-t", "chat"}).first, 0) << "parley chat did not quit on Ctrl-Q";
  EXPECT_EQ(testing::ReadWholeFile(dir_ / "chat.err"), "");
}

TEST_F(ChatTmuxTest, GroupMessagesShowTheSenderTypingAndFiles) {
  {
    auto alice = Open("alice");
    ASSERT_TRUE(alice && alice->Connect());
    ASSERT_TRUE(alice->AddContact("bob"));
  }
  ASSERT_TRUE(bob_->AddContact("alice"));
  StartChat(110, 30);
  WaitForScreen({"Parley", "connected"});

  // A group made in the chat; a message from bob shows his name, not his id.
  Type("/group create team bob");
  Keys({"Enter"});
  WaitForScreen({"# team  "});
  ConversationId team;
  {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(cv_.wait_for(lock, 20s, [&] { return !bob_groups_.empty(); }));
    team = bob_groups_.back();
  }
  // Bob made an admin from the chat: marked on screen, and an admin on his device.
  Type("/group admin bob");
  Keys({"Enter"});
  WaitForScreen({"bob (admin)"});
  const AccountId bob_id = bob_->account()->account;
  bool bob_is_admin = false;
  for (int i = 0; i < 200 && !bob_is_admin; ++i) {
    auto group = bob_->GetGroup(team);
    bob_is_admin =
        group && std::find(group->admins.begin(), group->admins.end(), bob_id) != group->admins.end();
    if (!bob_is_admin) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(bob_is_admin);
  ASSERT_TRUE(bob_->SendGroupText(team, "hello from bob"));
  WaitForScreen({"# team", "bob: hello from bob"});
  Type("hi team");
  Keys({"Enter"});
  EXPECT_TRUE(BobReceived("hi team"));
  // With bob away, a group message shows its receipt summary from the send
  // on, and it moves once his device has stored the message.
  bob_->Disconnect();
  Type("away msg");
  Keys({"Enter"});
  EXPECT_TRUE(WaitForLine("away msg", "(delivered to 0 of 1, read by 0)"));
  ASSERT_TRUE(bob_->Connect());
  EXPECT_TRUE(BobReceived("away msg"));
  EXPECT_TRUE(WaitForLine("away msg", "(delivered to 1 of 1, read by 0)"));

  // Typing both ways in the 1:1 conversation.
  Type("/new bob");
  Keys({"Enter"});
  WaitForScreen({"bob", "Enter: send"});
  ConversationId alice_id;
  if (auto contacts = bob_->Contacts()) {
    for (const auto& c : *contacts) {
      if (c.username == "alice") alice_id = c.account.value().ToString();
    }
  }
  ASSERT_FALSE(alice_id.empty());
  ASSERT_TRUE(bob_->SendTyping(alice_id, true));
  WaitForScreen({"bob is typing"});
  ASSERT_TRUE(bob_->SendTyping(alice_id, false));
  Type("hel");
  {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(cv_.wait_for(lock, 20s, [&] { return !bob_typing_.empty() && bob_typing_.back(); }));
  }
  Keys({"Escape"});  // a cleared line stops it
  {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(cv_.wait_for(lock, 20s, [&] { return !bob_typing_.empty() && !bob_typing_.back(); }));
  }

  // A file from bob: marked, and saved only on /save.
  std::string content(5000, 'n');
  for (std::size_t i = 0; i < content.size(); i += 7) content[i] = static_cast<char>('a' + i % 26);
  std::ofstream(dir_ / "notes.txt", std::ios::binary) << content;
  ASSERT_TRUE(bob_->SendAttachment("alice", dir_ / "notes.txt", "the notes"));
  WaitForScreen({"bob: the notes [file 1: notes.txt, 4.9 KiB; /save 1 PATH]"});
  Type("/save 1 " + (dir_ / "saved.txt").string());
  Keys({"Enter"});
  WaitForScreen({"saved notes.txt to"});
  EXPECT_EQ(testing::ReadWholeFile(dir_ / "saved.txt"), content);
  WaitForScreen({"[file 1: notes.txt, 4.9 KiB, saved]"});

  // A file from the chat.
  std::ofstream(dir_ / "reply.txt") << "a reply file";
  Type("/attach " + (dir_ / "reply.txt").string());
  Keys({"Enter"});
  WaitForScreen({"file sent", "alice: [file 2: reply.txt, 12 B]"});
  ASSERT_TRUE(BobReceived(""));  // a file without a caption: an empty body
  std::optional<AttachmentInfo> received;
  {
    std::lock_guard lock(mutex_);
    auto got = bob_->GetAttachment(bob_received_ids_.back());
    ASSERT_TRUE(got && *got);
    received = **got;
  }
  EXPECT_EQ(received->file_name, "reply.txt");
  auto downloaded = bob_->DownloadAttachment(received->message);
  ASSERT_TRUE(downloaded) << downloaded.error().message;
  EXPECT_EQ(testing::ReadWholeFile(downloaded->path), "a reply file");

  Keys({"C-q"});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline && Tmux({"has-session", "-t", "chat"}).first == 0)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(testing::ReadWholeFile(dir_ / "chat.err"), "");
}

}  // namespace
}  // namespace parley::client
