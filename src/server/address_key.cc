#include "server/address_key.h"

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>

#include "server/limits.h"

namespace parley::server {

namespace ip = boost::asio::ip;

std::string AddressKey(const ip::address& address, unsigned ipv6_prefix_length) {
  if (address.is_v4()) return address.to_v4().to_string();
  const ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6).to_string();
  if (v6.is_loopback()) return "::1";
  const unsigned prefix = std::clamp(ipv6_prefix_length, kMinIpv6PrefixLength, kMaxIpv6PrefixLength);
  ip::address_v6::bytes_type bytes = v6.to_bytes();
  for (unsigned i = 0; i < bytes.size(); ++i) {
    const unsigned bit = i * 8;
    if (bit + 8 <= prefix) continue;
    const unsigned keep = prefix > bit ? prefix - bit : 0;  // 0..7 leading bits of this byte
    bytes[i] = static_cast<unsigned char>(bytes[i] & (0xFFu << (8 - keep)));
  }
  return ip::address_v6(bytes).to_string() + "/" + std::to_string(prefix);
}

std::optional<std::string> AddressKeyOfText(std::string_view address, unsigned ipv6_prefix_length) {
  if (address.find('\0') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  const ip::address parsed = ip::make_address(std::string(address), ec);
  if (ec) return std::nullopt;
  return AddressKey(parsed, ipv6_prefix_length);
}

}  // namespace parley::server
