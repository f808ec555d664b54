#include "base/uuid.h"

#include "base/hex.h"

namespace parley {

Uuid Uuid::Random(Rng& rng) {
  std::array<std::uint8_t, kSize> b{};
  rng.Fill(b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  return Uuid(b);
}

std::optional<Uuid> Uuid::FromBytes(Bytes bytes) {
  if (bytes.size() != kSize) return std::nullopt;
  std::array<std::uint8_t, kSize> b{};
  for (std::size_t i = 0; i < kSize; ++i) b[i] = bytes[i];
  return Uuid(b);
}

std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string hex;
  hex.reserve(32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position != (text[i] == '-')) return std::nullopt;
    if (!dash_position) hex.push_back(text[i]);
  }
  auto bytes = FromHex(hex);
  if (!bytes) return std::nullopt;
  return FromBytes(*bytes);
}

std::string Uuid::ToString() const {
  const std::string hex = ToHex(bytes_);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

bool Uuid::is_nil() const {
  for (std::uint8_t b : bytes_) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace parley
