// Ids of the messages this client sends, ordered by creation time.
#pragma once

#include <array>
#include <cstdint>

#include "base/rng.h"

namespace parley::client {

// A 16-byte id in the layout of a UUIDv7 (RFC 9562): 48 bits of Unix
// milliseconds, big-endian, then the version (7), 12 random bits, the
// variant (0b10) and 62 random bits. Ids made later sort after earlier ones
// (to the millisecond), so the store and server indexes keyed by them grow at
// their end instead of touching a random page per message. 74 random bits
// keep ids of one millisecond apart. Receivers treat ids as opaque: random
// ids from other clients are as valid. A time before 1970 counts as 0.
std::array<std::uint8_t, 16> TimeOrderedId(std::int64_t now_ms, Rng& rng);

}  // namespace parley::client
