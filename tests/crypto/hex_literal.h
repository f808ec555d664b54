// Test vectors are written in hex; this turns them into bytes.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "base/hex.h"

namespace parley::crypto::testing {

// Decodes a hex literal from a test vector; a malformed literal is a bug in
// the test itself, so it aborts rather than yield an empty vector.
inline std::vector<std::uint8_t> HexBytes(std::string_view hex) {
  auto bytes = FromHex(hex);
  if (!bytes) std::abort();
  return *bytes;
}

inline std::vector<std::uint8_t> TextBytes(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

}  // namespace parley::crypto::testing
