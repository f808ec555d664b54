// Uuid: a 128-bit identifier (RFC 9562), used for account ids.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/byte_reader.h"
#include "base/rng.h"
#include "base/strong_id.h"

namespace parley {

class Uuid {
 public:
  static constexpr std::size_t kSize = 16;

  Uuid() = default;
  explicit Uuid(const std::array<std::uint8_t, kSize>& bytes) : bytes_(bytes) {}
  // A random version-4 UUID.
  static Uuid Random(Rng& rng);
  // Exactly 16 bytes; nullopt otherwise.
  static std::optional<Uuid> FromBytes(Bytes bytes);
  // The canonical 36-character form, either case; nullopt otherwise.
  static std::optional<Uuid> Parse(std::string_view text);

  // Lower-case canonical form, e.g. "0f8fad5b-d9cb-469f-a165-70867728950e".
  std::string ToString() const;
  const std::array<std::uint8_t, kSize>& bytes() const { return bytes_; }
  bool is_nil() const;

  friend auto operator<=>(const Uuid&, const Uuid&) = default;

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

using AccountId = StrongId<struct AccountIdTag, Uuid>;

}  // namespace parley

template <>
struct std::hash<parley::Uuid> {
  std::size_t operator()(const parley::Uuid& u) const noexcept {
    std::size_t h = 0;
    for (std::uint8_t b : u.bytes()) h = h * 131 + b;
    return h;
  }
};
