// Strong ids: distinct types for numbers that must not be swapped.
//
// A DeviceId cannot be passed where a PreKeyId is expected; each converts to
// its number only through value().
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace parley {

template <class Tag, class Rep>
class StrongId {
 public:
  using rep = Rep;
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : value_(v) {}
  constexpr Rep value() const { return value_; }
  friend constexpr auto operator<=>(const StrongId&, const StrongId&) = default;

 private:
  Rep value_{};
};

using DeviceId = StrongId<struct DeviceIdTag, std::uint32_t>;
using PreKeyId = StrongId<struct PreKeyIdTag, std::uint32_t>;
using SignedPreKeyId = StrongId<struct SignedPreKeyIdTag, std::uint32_t>;
using RegistrationId = StrongId<struct RegistrationIdTag, std::uint32_t>;

}  // namespace parley

template <class Tag, class Rep>
struct std::hash<parley::StrongId<Tag, Rep>> {
  std::size_t operator()(const parley::StrongId<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};
