// Hex encoding for test vectors and diagnostics of public values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

std::string ToHex(std::span<const std::uint8_t> bytes);
// Lower- or upper-case hex, even length; nullopt otherwise.
std::optional<std::vector<std::uint8_t>> FromHex(std::string_view hex);

}  // namespace parley
