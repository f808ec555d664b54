// The lookups the command line and the daemon share (apps/parley/views.h):
// the server address a user types, and the receipt summary of a group message.
#include "views.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace parley::cli {
namespace {

using client::ClientErrc;
using client::MessageStatus;

AccountId Account(char last) {
  return AccountId(*Uuid::Parse(std::string("2f1c5b4e-0000-4000-8000-00000000000") + last));
}

TEST(ViewsTest, GroupReceiptSummaryCountsTheOtherCurrentMembersOnly) {
  client::Group group;
  group.members = {Account('a'), Account('b'), Account('c'), Account('d')};
  const std::optional<AccountId> own = Account('a');
  EXPECT_EQ(GroupReceiptSummary(group, {}, own), " (delivered to 0 of 3, read by 0)");
  const std::vector<client::MessageReceipt> receipts{
      {Account('b'), MessageStatus::kRead, 1},
      {Account('c'), MessageStatus::kDelivered, 2},
      {Account('e'), MessageStatus::kRead, 3},  // no longer a member: not counted
  };
  EXPECT_EQ(GroupReceiptSummary(group, receipts, own), " (delivered to 2 of 3, read by 1)");
  // "sent" only says it went to that member.
  auto with_sent = receipts;
  with_sent.push_back({Account('d'), MessageStatus::kSent, 4});
  EXPECT_EQ(GroupReceiptSummary(group, with_sent, own), " (delivered to 2 of 3, read by 1)");
  const auto j = GroupReceiptsJson(group, with_sent, own);
  EXPECT_EQ(j["members"], 3);
  EXPECT_EQ(j["delivered"], 2);
  EXPECT_EQ(j["read"], 1);
  ASSERT_EQ(j["from"].size(), 4u);
  EXPECT_EQ(j["from"][3]["account"], Account('d').value().ToString());
  EXPECT_EQ(j["from"][3]["status"], "sent");
  EXPECT_EQ(j["from"][3]["at"], 4);
  group.members = {Account('a')};
  EXPECT_EQ(GroupReceiptSummary(group, receipts, own), "");  // nobody else to count
}

TEST(ViewsTest, ParseServerTakesHostPortAndAPin) {
  auto plain = ParseServer("127.0.0.1:8443", "");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 8443);
  EXPECT_EQ(plain->pin, "");
  const std::string pin(64, 'a');
  auto pinned = ParseServer("chat.example.org:1", pin);
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned->host, "chat.example.org");
  EXPECT_EQ(pinned->port, 1);
  EXPECT_EQ(pinned->pin, pin);
}

TEST(ViewsTest, ParseServerRefusesWhatIsNotHostPortOrAPin) {
  for (const char* bad : {"localhost", ":8443", "host:", "host:0", "host:65536", "host:123456", "host:84a3",
                          "host:-1", "host: 8443"}) {
    auto parsed = ParseServer(bad, "");
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ClientErrc::kInvalidArgument) << bad;
  }
  for (const std::string& pin : {std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'g')}) {
    auto parsed = ParseServer("host:8443", pin);
    ASSERT_FALSE(parsed) << pin;
    EXPECT_EQ(parsed.error().code, ClientErrc::kInvalidArgument);
  }
}

}  // namespace
}  // namespace parley::cli
