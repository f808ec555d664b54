// Standard base64 (RFC 4648 section 4) with padding, strict in both directions.
//
// Decoding accepts only the canonical encoding: the standard alphabet, length
// a multiple of 4, '=' only as final padding, and zero bits in the unused
// low bits of the last symbol. Anything else is rejected, so each byte string
// has exactly one accepted text form.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

std::string Base64Encode(std::span<const std::uint8_t> bytes);
// nullopt on any non-canonical input, or when the output would exceed max_size.
std::optional<std::vector<std::uint8_t>> Base64Decode(std::string_view text, std::size_t max_size = SIZE_MAX);

}  // namespace parley
