// The lookups the command line and the daemon share (apps/parley/views.h):
// the server address a user types.
#include "views.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::cli {
namespace {

using client::ClientErrc;

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
