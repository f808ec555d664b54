#include "client/message_id.h"

namespace parley::client {

std::array<std::uint8_t, 16> TimeOrderedId(std::int64_t now_ms, Rng& rng) {
  std::array<std::uint8_t, 16> id{};
  rng.Fill(id);
  const std::uint64_t ms = now_ms < 0 ? 0 : static_cast<std::uint64_t>(now_ms) & 0xFFFF'FFFF'FFFF;
  for (int i = 0; i < 6; ++i) id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  id[6] = static_cast<std::uint8_t>(0x70 | (id[6] & 0x0F));
  id[8] = static_cast<std::uint8_t>(0x80 | (id[8] & 0x3F));
  return id;
}

}  // namespace parley::client
