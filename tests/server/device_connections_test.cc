#include "server/device_connections.h"

#include <gtest/gtest.h>

#include "base/rng.h"

namespace parley::server {
namespace {

TEST(DeviceConnections, BindFindReplaceUnbind) {
  DeterministicRng rng(7);
  const DeviceKey alice_1{AccountId(Uuid::Random(rng)), DeviceId(1)};
  const DeviceKey alice_2{alice_1.account, DeviceId(2)};
  DeviceConnections online;
  const ConnectionHandle first({}, 11);
  const ConnectionHandle second({}, 12);

  EXPECT_FALSE(online.Bind(alice_1, first));
  EXPECT_EQ(online.Find(alice_1)->id(), 11u);
  EXPECT_FALSE(online.Find(alice_2));

  // The device connects again: the old connection is returned for closing.
  auto replaced = online.Bind(alice_1, second);
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->id(), 11u);
  EXPECT_FALSE(online.Bind(alice_1, second));  // same connection again: nothing replaced

  // The old connection's close does not unbind the new one.
  EXPECT_FALSE(online.Unbind(alice_1, 11));
  EXPECT_EQ(online.Find(alice_1)->id(), 12u);
  EXPECT_TRUE(online.Unbind(alice_1, 12));
  EXPECT_FALSE(online.Find(alice_1));
  EXPECT_EQ(online.size(), 0u);
}

}  // namespace
}  // namespace parley::server
