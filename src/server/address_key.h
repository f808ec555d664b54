// AddressKey: the one key under which every per-address control (the
// registration and unauthenticated-request token buckets, the attachment
// routes' bucket, limits.max_connections_per_address) counts a peer, and the
// only form of a peer's address the logs and metrics show.
//
// An IPv4 address is its own key ("198.51.100.7"), and so is an IPv4-mapped
// IPv6 address (a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d):
// "::ffff:198.51.100.7" is keyed "198.51.100.7". The IPv6 loopback ::1 is
// keyed as is ("::1"). Any other IPv6 address is keyed by its prefix of
// `ipv6_prefix_length` bits (rate_limits.ipv6_prefix_length, 32-128, default
// 64), written as the network with the host bits zeroed and the length:
// "2001:db8:1:2::/64". One holder of a /64 (the usual end-site assignment)
// thus shares one budget instead of having 2^64 of them. A zone index
// (fe80::1%eth0) is dropped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace boost::asio::ip {
class address;
}  // namespace boost::asio::ip

namespace parley::server {

// The key of `address`. `ipv6_prefix_length` must be within
// [kMinIpv6PrefixLength, kMaxIpv6PrefixLength] (server/limits.h); a value
// outside is clamped to them.
std::string AddressKey(const boost::asio::ip::address& address, unsigned ipv6_prefix_length);

// The key of an address given as text (IPv4 dotted quad or IPv6 text, with
// or without a zone index); nullopt when `address` is not an IP address.
std::optional<std::string> AddressKeyOfText(std::string_view address, unsigned ipv6_prefix_length);

}  // namespace parley::server
