// ProtocolAddress: whom a session or sender key belongs to — a name (an
// account) and one of its devices.
#pragma once

#include <compare>
#include <functional>
#include <string>

#include "base/strong_id.h"

namespace parley::protocol {

struct ProtocolAddress {
  std::string name;
  DeviceId device;

  friend auto operator<=>(const ProtocolAddress&, const ProtocolAddress&) = default;
  friend bool operator==(const ProtocolAddress&, const ProtocolAddress&) = default;
};

}  // namespace parley::protocol

template <>
struct std::hash<parley::protocol::ProtocolAddress> {
  std::size_t operator()(const parley::protocol::ProtocolAddress& a) const noexcept {
    return std::hash<std::string>{}(a.name) * 31 + std::hash<std::uint32_t>{}(a.device.value());
  }
};
