// A receiving client killed with SIGKILL in the middle of draining its queue
// and started again loses nothing and shows nothing twice: each message and
// the ratchet state it advanced are committed together before the ack, and
// the delivery receipt it owes with them, so the sender sees every message
// delivered.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/client.h"
#include "parleyd_process.h"
#include "parleyd_queue.h"
#include "store/client_store.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;

constexpr int kMessages = 400;

// The receiver process, its stdout read line by line.
class Receiver {
 public:
  // With `stay`, the receiver stays connected after the drain until killed.
  Receiver(const std::filesystem::path& data_dir, const std::filesystem::path& key_file, bool stay = false) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl(CRASH_RECEIVER_PATH, CRASH_RECEIVER_PATH, data_dir.c_str(), key_file.c_str(),
            stay ? "stay" : static_cast<char*>(nullptr), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Receiver() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ != nullptr) fclose(out_);
  }

  // The next line, or nullopt at end of output.
  std::optional<std::string> ReadLine() {
    char buffer[256];
    if (out_ == nullptr || fgets(buffer, sizeof(buffer), out_) == nullptr) return std::nullopt;
    std::string line(buffer);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }

  void Kill() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // The exit status after the output ended.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

class ClientCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-client-crash-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    server_ = std::make_unique<testing::ParleydProcess>(
        dir_, 0, "messages_per_sender_recipient_pair = { capacity = 100000, refill_per_hour = 10000000 }\n");
    ASSERT_NE(server_->port(), 0) << testing::ReadWholeFile(dir_ / "parleyd.out");
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Client> Open(const std::string& name) {
    ClientOptions options;
    options.data_dir = DataDir(name);
    options.key.kind = StoreKeySource::Kind::kKeyFile;
    options.key.key_file = KeyFile(name);
    auto client = Client::Open(options);
    EXPECT_TRUE(client);
    return client ? std::move(*client) : nullptr;
  }
  // parleyd again on the same port and data, with another pair limit.
  void RestartServer(const std::string& pair_limit) {
    const std::uint16_t port = server_->port();
    server_.reset();
    server_ = std::make_unique<testing::ParleydProcess>(
        dir_, port, "messages_per_sender_recipient_pair = " + pair_limit + "\n");
    ASSERT_EQ(server_->port(), port) << testing::ReadWholeFile(dir_ / "parleyd.out");
  }

  // The receipts the profile's store holds as owed (the client closed).
  std::vector<store::OwedReceipt> OwedReceipts(const std::string& name) {
    SystemClock clock;
    auto key = store::KeyFromFile(KeyFile(name));
    EXPECT_TRUE(key);
    if (!key) return {};
    auto store = store::ClientStore::Open(DataDir(name) / "parley.db", *key, clock);
    EXPECT_TRUE(store);
    if (!store) return {};
    auto owed = (*store)->OwedReceipts(1'000);
    EXPECT_TRUE(owed);
    return owed ? *owed : std::vector<store::OwedReceipt>{};
  }

  // Waits (at most 20 s) until every message of ours in the conversation is delivered.
  static bool AllDelivered(Client& sender, const ConversationId& conversation, std::size_t count) {
    for (int i = 0; i < 400; ++i) {
      auto history = sender.History(conversation, count);
      if (history && history->size() == count &&
          std::all_of(history->begin(), history->end(),
                      [](const StoredMessage& m) { return m.status == MessageStatus::kDelivered; })) {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::filesystem::path DataDir(const std::string& name) const { return dir_ / name; }
  std::filesystem::path KeyFile(const std::string& name) const { return dir_ / (name + ".key"); }
  ServerAddress Address() const { return {"127.0.0.1", server_->port(), server_->fingerprint()}; }

  std::filesystem::path dir_;
  std::unique_ptr<testing::ParleydProcess> server_;
};

TEST_F(ClientCrashTest, KilledMidReceiveThenRestartedLosesNothingAndShowsNothingTwice) {
  auto alice = Open("alice");
  auto bob = Open("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(alice->Register(Address(), "alice", "alice-phone"));
  ASSERT_TRUE(bob->Register(Address(), "bob", "bob-phone"));
  ASSERT_TRUE(bob->AddContact("alice"));
  const ConversationId conversation = alice->account()->account.value().ToString();
  bob.reset();  // offline: everything below waits in the server's queue

  for (int i = 0; i < kMessages; ++i) {
    auto sent = alice->SendText("bob", "m" + std::to_string(i));
    ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  }

  std::map<std::string, int> shown;
  {
    Receiver first(DataDir("bob"), KeyFile("bob"));
    // Killed while messages are still arriving.
    for (int i = 0; i < kMessages / 4; ++i) {
      auto line = first.ReadLine();
      ASSERT_TRUE(line) << "the receiver ended early";
      ++shown[*line];
    }
    first.Kill();
  }
  ASSERT_LT(shown.size(), static_cast<std::size_t>(kMessages));
  {
    Receiver second(DataDir("bob"), KeyFile("bob"));
    while (auto line = second.ReadLine()) ++shown[*line];
    ASSERT_EQ(second.Wait(), 0);
  }
  for (const auto& [body, times] : shown) EXPECT_EQ(times, 1) << body << " was shown " << times << " times";

  // Everything is in Bob's store exactly once, in order; what was shown was
  // stored.
  bob = Open("bob");
  ASSERT_TRUE(bob);
  auto history = bob->History(conversation, 2 * kMessages);
  ASSERT_TRUE(history);
  std::vector<std::string> bodies;
  for (const auto& m : *history) bodies.push_back(m.body);
  ASSERT_EQ(bodies.size(), static_cast<std::size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(bodies[i], "m" + std::to_string(i));
  const std::set<std::string> stored(bodies.begin(), bodies.end());
  for (const auto& [body, times] : shown) EXPECT_TRUE(stored.contains(body)) << body;

  // And the server holds nothing more for Bob.
  std::atomic<int> more{0};
  bob->SetEventHandler([&](const Event& e) {
    if (std::holds_alternative<MessageReceived>(e)) ++more;
  });
  ASSERT_TRUE(bob->Connect());
  ASSERT_TRUE(bob->WaitUntilDrained(20s));
  EXPECT_EQ(more.load(), 0);

  // Whenever the kill came, no delivery receipt was lost: a receipt owed at
  // the kill went out with the restart.
  EXPECT_TRUE(AllDelivered(*alice, bob->account()->account.value().ToString(), kMessages));
  bob.reset();
  EXPECT_TRUE(OwedReceipts("bob").empty());
}

// Killed while the receipts for what it stored could not be sent, the
// receiver sends them once it runs again: parleyd refuses them first (Bob
// used up what the pair limit lets him send Alice), Bob is killed with them
// owed, and the restarted Bob sends each receipt (one per stored run the
// three messages came in) once.
TEST_F(ClientCrashTest, ReceiptsOwedWhenKilledGoOutOnceAfterTheRestart) {
  ASSERT_NO_FATAL_FAILURE(RestartServer("{ capacity = 3, refill_per_hour = 1 }"));
  auto alice = Open("alice");
  auto bob = Open("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(alice->Register(Address(), "alice", "alice-phone"));
  ASSERT_TRUE(bob->Register(Address(), "bob", "bob-phone"));
  const AccountId alice_id = alice->account()->account;
  const AccountId bob_id = bob->account()->account;
  ASSERT_TRUE(bob->AddContact("alice"));
  // Three messages to Alice use up Bob's budget; he is a request to her, so
  // she sends him no receipt.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bob->SendText("alice", "b" + std::to_string(i)));
  bob.reset();
  // Alice has them (acknowledged: nothing from Bob is queued for her).
  const auto server_db = dir_ / "server" / "parley.db";
  bool taken = false;
  for (int i = 0; i < 400 && !taken; ++i) {
    taken = testing::QueuedEnvelopesFrom(server_db, alice_id, bob_id) == 0;
    if (!taken) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(taken);
  for (int i = 0; i < 3; ++i) {
    auto sent = alice->SendText("bob", "a" + std::to_string(i));
    ASSERT_TRUE(sent) << ClientErrcName(sent.error().code);
  }
  const ConversationId to_bob = bob_id.value().ToString();
  alice.reset();  // offline: what reaches her stays in parleyd's queue, to be counted
  const std::size_t queued = 0;

  {
    Receiver first(DataDir("bob"), KeyFile("bob"), true);
    for (int i = 0; i < 3; ++i) {
      auto line = first.ReadLine();
      ASSERT_TRUE(line) << "the receiver ended early";
    }
    first.Kill();
  }
  const auto owed = OwedReceipts("bob");
  ASSERT_EQ(owed.size(), 3u);
  std::set<std::array<std::uint8_t, 16>> receipts;
  for (const store::OwedReceipt& r : owed) {
    EXPECT_EQ(r.to, alice_id);
    EXPECT_EQ(r.kind, MessageStatus::kDelivered);
    receipts.insert(r.send_id);
  }
  EXPECT_EQ(testing::QueuedEnvelopesFrom(server_db, alice_id, bob_id), queued);

  ASSERT_NO_FATAL_FAILURE(RestartServer("{ capacity = 1000, refill_per_hour = 100000 }"));
  {
    Receiver second(DataDir("bob"), KeyFile("bob"));
    while (second.ReadLine()) {
    }
    ASSERT_EQ(second.Wait(), 0);
  }
  EXPECT_TRUE(OwedReceipts("bob").empty());
  EXPECT_EQ(testing::QueuedEnvelopesFrom(server_db, alice_id, bob_id), queued + receipts.size());

  alice = Open("alice");
  ASSERT_TRUE(alice && alice->Connect());
  ASSERT_TRUE(alice->WaitUntilDrained(20s));
  EXPECT_TRUE(AllDelivered(*alice, to_bob, 3));
}

}  // namespace
}  // namespace parley::client
