// The `parley` command line end to end, as the README walks a newcomer
// through it: the real binary against a real parleyd on loopback, two
// profiles, a message request accepted, replies both ways, a file sent and
// fetched, a group made, written to and given a second admin; and the exit
// codes of a few failures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client_fixture.h"
#include "run_program.h"

namespace parley::client {
namespace {

using testing::RunProgram;

// The fixture's parleyd; the profiles here are the binary's own.
class CliTest : public testing::ClientFixture {
 protected:
  // `parley` on the profile `who` with these arguments: exit status and stdout.
  std::pair<int, std::string> Parley(const std::string& who, std::vector<std::string> args) {
    std::vector<std::string> all{PARLEY_PATH, "--data-dir", (dir_ / "profiles" / who).string(), "--key-file",
                                 (dir_ / (who + ".key")).string()};
    all.insert(all.end(), args.begin(), args.end());
    return RunProgram(all);
  }
  std::string Server() const { return "127.0.0.1:" + std::to_string(server_->port()); }
};

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(CliTest, TheReadmeWalkThrough) {
  const std::string pin = server_->fingerprint();
  for (const char* who : {"alice", "bob"}) {
    auto registered = Parley(who, {"register", who, "--server", Server(), "--pin", pin});
    ASSERT_EQ(registered.first, 0) << registered.second;
    EXPECT_TRUE(Has(registered.second, std::string("registered ") + who)) << registered.second;
  }
  ASSERT_EQ(Parley("alice", {"send", "bob", "hello bob"}).first, 0);
  auto request = Parley("bob", {"receive"});
  EXPECT_TRUE(Has(request.second, "<- alice (request): hello bob")) << request.second;
  ASSERT_EQ(Parley("bob", {"requests", "accept", "alice"}).first, 0);
  ASSERT_EQ(Parley("bob", {"send", "alice", "hi alice"}).first, 0);
  auto reply = Parley("alice", {"receive"});
  EXPECT_TRUE(Has(reply.second, "<- bob: hi alice")) << reply.second;

  // A file: announced by `receive` with the command that fetches it.
  const std::string content(300'000, 'n');
  std::ofstream(dir_ / "notes.txt", std::ios::binary) << content;
  ASSERT_EQ(Parley("alice", {"attach", "bob", (dir_ / "notes.txt").string(), "--caption", "the notes"}).first,
            0);
  auto with_file = Parley("bob", {"receive"});
  EXPECT_TRUE(Has(with_file.second, "<- alice: the notes")) << with_file.second;
  const std::string marker = "parley attach alice --download ";
  const auto at = with_file.second.find(marker);
  ASSERT_NE(at, std::string::npos) << with_file.second;
  const std::string id = with_file.second.substr(at + marker.size(), 8);
  auto fetched = Parley("bob", {"attach", "alice", "--download", id});
  ASSERT_EQ(fetched.first, 0) << fetched.second;
  std::string path = fetched.second.substr(0, fetched.second.find('\n'));
  EXPECT_EQ(testing::ReadWholeFile(path), content);

  // A group: made, written to, a second admin who then renames it.
  ASSERT_EQ(Parley("alice", {"groups", "create", "friends", "bob"}).first, 0);
  ASSERT_EQ(Parley("alice", {"groups", "send", "friends", "hello, group"}).first, 0);
  auto in_group = Parley("bob", {"receive"});
  EXPECT_TRUE(Has(in_group.second, "<- alice in friends: hello, group")) << in_group.second;
  // Alice's history counts the members' receipts: delivered, then read once
  // bob has shown the group.
  ASSERT_EQ(Parley("alice", {"receive"}).first, 0);
  auto delivered = Parley("alice", {"history", "friends"});
  EXPECT_TRUE(Has(delivered.second, "-> friends: hello, group [delivered] (delivered to 1 of 1, read by 0)"))
      << delivered.second;
  ASSERT_EQ(Parley("bob", {"history", "friends"}).first, 0);
  ASSERT_EQ(Parley("alice", {"receive"}).first, 0);
  auto read = Parley("alice", {"history", "friends"});
  EXPECT_TRUE(Has(read.second, "-> friends: hello, group [read] (delivered to 1 of 1, read by 1)"))
      << read.second;
  // --json carries the same counts and each member's receipt.
  auto read_json = Parley("alice", {"--json", "history", "friends"});
  ASSERT_EQ(read_json.first, 0) << read_json.second;
  auto history = nlohmann::json::parse(read_json.second, nullptr, false);
  ASSERT_TRUE(history.is_array() && history.size() == 1u) << read_json.second;
  const auto& receipts = history[0]["receipts"];
  EXPECT_EQ(receipts["members"], 1);
  EXPECT_EQ(receipts["delivered"], 1);
  EXPECT_EQ(receipts["read"], 1);
  ASSERT_EQ(receipts["from"].size(), 1u) << read_json.second;
  EXPECT_EQ(receipts["from"][0]["status"], "read");
  EXPECT_EQ(history[0]["groupName"], "friends");
  EXPECT_EQ(Parley("bob", {"groups", "rename", "friends", "mine"}).first, 10);  // not an admin: forbidden
  auto bob_list = Parley("bob", {"groups"});  // the human list marks the admins
  EXPECT_TRUE(Has(bob_list.second, "friends  2 members: ")) << bob_list.second;
  EXPECT_TRUE(Has(bob_list.second, "alice (admin)")) << bob_list.second;
  EXPECT_TRUE(Has(bob_list.second, "you") && !Has(bob_list.second, "you (admin)")) << bob_list.second;
  ASSERT_EQ(Parley("alice", {"groups", "admin", "friends", "bob"}).first, 0);
  auto alice_list = Parley("alice", {"groups", "list"});
  EXPECT_TRUE(Has(alice_list.second, "you (admin)") && Has(alice_list.second, "bob (admin)"))
      << alice_list.second;
  auto listed = Parley("alice", {"--json", "groups", "list"});
  ASSERT_EQ(listed.first, 0);
  auto groups = nlohmann::json::parse(listed.second, nullptr, false);
  ASSERT_TRUE(groups.is_array() && groups.size() == 1u) << listed.second;
  EXPECT_EQ(groups[0]["admins"].size(), 2u);
  // A file to the group, named as `groups send` names it; `receive` shows it
  // in the group with the command that fetches it.
  ASSERT_EQ(
      Parley("alice", {"attach", "friends", (dir_ / "notes.txt").string(), "--caption", "for all"}).first, 0);
  auto group_file = Parley("bob", {"receive"});
  ASSERT_EQ(group_file.first, 0);
  EXPECT_TRUE(Has(group_file.second, "<- alice in friends: for all")) << group_file.second;
  const std::string group_id = groups[0]["id"];
  const std::string group_marker = "parley attach " + group_id + " --download ";
  const auto group_at = group_file.second.find(group_marker);
  ASSERT_NE(group_at, std::string::npos) << group_file.second;
  auto group_fetched = Parley("bob", {"attach", "friends", "--download",
                                      group_file.second.substr(group_at + group_marker.size(), 8)});
  ASSERT_EQ(group_fetched.first, 0) << group_fetched.second;
  EXPECT_EQ(testing::ReadWholeFile(group_fetched.second.substr(0, group_fetched.second.find('\n'))), content);
  auto renamed = Parley("bob", {"groups", "rename", "friends", "pals"});
  EXPECT_EQ(renamed.first, 0);
  EXPECT_TRUE(Has(renamed.second, "pals")) << renamed.second;
  // Admin rights taken back: bob's, then alice cannot drop the last ones.
  auto unadmin = Parley("alice", {"--json", "groups", "admin", "--remove", group_id, "bob"});
  ASSERT_EQ(unadmin.first, 0) << unadmin.second;
  auto after = nlohmann::json::parse(unadmin.second, nullptr, false);
  ASSERT_TRUE(after.is_object()) << unadmin.second;
  EXPECT_EQ(after["admins"].size(), 1u);
  EXPECT_EQ(Parley("alice", {"groups", "admin", "--remove", group_id, "alice"}).first, 2);  // the last admin
  auto help = Parley("alice", {"groups", "admin", "--help"});
  EXPECT_TRUE(Has(help.second, "--remove")) << help.second;
}

TEST_F(CliTest, FailuresHaveTheirExitCodes) {
  EXPECT_EQ(Parley("alice", {"send", "bob", "x"}).first, 3);  // not registered
  EXPECT_EQ(Parley("alice", {"register", "alice", "--server", "localhost"}).first, 2);
  ASSERT_EQ(
      Parley("alice", {"register", "alice", "--server", Server(), "--pin", server_->fingerprint()}).first, 0);
  EXPECT_EQ(Parley("alice", {"send", "nobody", "x"}).first, 5);  // no such username
  auto refused = Parley("alice", {"--json", "send", "nobody", "x"});
  auto error = nlohmann::json::parse(refused.second, nullptr, false);
  EXPECT_EQ(error["error"], "not_found") << refused.second;
  // The primary holds the account's contacts and groups: it has nobody to ask.
  auto sync = Parley("alice", {"--json", "sync"});
  EXPECT_EQ(sync.first, 10) << sync.second;
  EXPECT_EQ(nlohmann::json::parse(sync.second, nullptr, false)["error"], "forbidden") << sync.second;
}

}  // namespace
}  // namespace parley::client
