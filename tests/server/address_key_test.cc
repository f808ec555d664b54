// The one key every per-address control counts a peer under: IPv4 by the
// full address, IPv4-mapped IPv6 as IPv4, ::1 as is, other IPv6 by its
// prefix (64 bits by default, 32-128 configurable).
#include "server/address_key.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>
#include <string>

#include "server/limits.h"

namespace parley::server {
namespace {

std::string Key(const std::string& text, unsigned prefix = kDefaultIpv6PrefixLength) {
  auto key = AddressKeyOfText(text, prefix);
  EXPECT_TRUE(key.has_value()) << text;
  return key.value_or("<not an address>");
}

TEST(AddressKey, Ipv4IsTheFullAddress) {
  EXPECT_EQ(Key("198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(Key("198.51.100.8"), "198.51.100.8");
  EXPECT_EQ(Key("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(Key("127.0.0.2"), "127.0.0.2");
  EXPECT_EQ(Key("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(Key("255.255.255.255"), "255.255.255.255");
  // The IPv6 prefix length does not apply to IPv4.
  EXPECT_EQ(Key("198.51.100.7", 32), "198.51.100.7");
  EXPECT_EQ(Key("198.51.100.7", 128), "198.51.100.7");
}

TEST(AddressKey, Ipv4MappedIpv6CountsAsIpv4) {
  EXPECT_EQ(Key("::ffff:198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(Key("::ffff:c633:6407"), "198.51.100.7");
  EXPECT_EQ(Key("::ffff:127.0.0.1"), "127.0.0.1");
  // Two mapped addresses in one IPv6 /64 are still two IPv4 addresses.
  EXPECT_NE(Key("::ffff:198.51.100.7"), Key("::ffff:198.51.100.8"));
  EXPECT_EQ(Key("::ffff:198.51.100.7", 32), "198.51.100.7");
}

TEST(AddressKey, LoopbackIsKeptAsIs) {
  EXPECT_EQ(Key("::1"), "::1");
  EXPECT_EQ(Key("::1", 32), "::1");
  EXPECT_EQ(Key("::1", 128), "::1");
  // Not loopback: :: and ::2 are keyed by their prefix like any address.
  EXPECT_EQ(Key("::2"), "::/64");
  EXPECT_EQ(Key("::"), "::/64");
}

TEST(AddressKey, Ipv6IsItsSlash64ByDefault) {
  EXPECT_EQ(Key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(Key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(Key("2001:db8:1:2:1234:5678:9abc:def0"), "2001:db8:1:2::/64");
  EXPECT_EQ(Key("2001:DB8:1:2::ABCD"), "2001:db8:1:2::/64");
  EXPECT_NE(Key("2001:db8:1:2::1"), Key("2001:db8:1:3::1"));
  EXPECT_EQ(Key("fe80::1%1"), "fe80::/64");  // the zone index is dropped
  EXPECT_EQ(Key("fd00::2"), "fd00::/64");
}

TEST(AddressKey, PrefixLengths) {
  const std::string a = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff";
  EXPECT_EQ(Key(a, 32), "2001:db8::/32");
  EXPECT_EQ(Key(a, 48), "2001:db8:aaaa::/48");
  EXPECT_EQ(Key(a, 56), "2001:db8:aaaa:bb00::/56");
  EXPECT_EQ(Key(a, 60), "2001:db8:aaaa:bbb0::/60");
  EXPECT_EQ(Key(a, 63), "2001:db8:aaaa:bbba::/63");  // 0xb = 1011: the last bit goes
  EXPECT_EQ(Key(a, 64), "2001:db8:aaaa:bbbb::/64");
  EXPECT_EQ(Key(a, 65), "2001:db8:aaaa:bbbb:8000::/65");
  EXPECT_EQ(Key(a, 96), "2001:db8:aaaa:bbbb:cccc:dddd::/96");
  EXPECT_EQ(Key(a, 127), "2001:db8:aaaa:bbbb:cccc:dddd:eeee:fffe/127");
  EXPECT_EQ(Key(a, 128), "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff/128");
  // /56 groups what /64 tells apart.
  EXPECT_NE(Key("2001:db8:1:2::1", 64), Key("2001:db8:1:3::1", 64));
  EXPECT_EQ(Key("2001:db8:1:2::1", 56), Key("2001:db8:1:3::1", 56));
  EXPECT_NE(Key("2001:db8:1:2::1", 128), Key("2001:db8:1:2::2", 128));
}

TEST(AddressKey, PrefixLengthOutsideItsBoundsIsClamped) {
  const std::string a = "2001:db8:aaaa:bbbb::1";
  EXPECT_EQ(Key(a, 0), Key(a, kMinIpv6PrefixLength));
  EXPECT_EQ(Key(a, 8), "2001:db8::/32");
  EXPECT_EQ(Key(a, 129), Key(a, kMaxIpv6PrefixLength));
  EXPECT_EQ(Key(a, 1000), "2001:db8:aaaa:bbbb::1/128");
}

TEST(AddressKey, TextThatIsNoAddressHasNoKey) {
  EXPECT_FALSE(AddressKeyOfText("", 64));
  EXPECT_FALSE(AddressKeyOfText("localhost", 64));
  EXPECT_FALSE(AddressKeyOfText("198.51.100", 64));
  EXPECT_FALSE(AddressKeyOfText("198.51.100.256", 64));
  EXPECT_FALSE(AddressKeyOfText("2001:db8::1/64", 64));
  EXPECT_FALSE(AddressKeyOfText("2001:db8:::1", 64));
  EXPECT_FALSE(AddressKeyOfText(std::string("127.0.0.1\0x", 11), 64));
}

TEST(AddressKey, ParsedAndTextFormsAgree) {
  for (const char* text : {"198.51.100.7", "::ffff:198.51.100.7", "::1", "2001:db8:1:2::1"}) {
    EXPECT_EQ(AddressKey(boost::asio::ip::make_address(text), 64), Key(text)) << text;
  }
}

}  // namespace
}  // namespace parley::server
