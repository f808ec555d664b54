#include "base/base64.h"

#include "base/byte_reader.h"

namespace parley {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int SymbolValue(std::uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Base64Encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> Base64Decode(std::string_view text, std::size_t max_size) {
  if (text.size() % 4 != 0) return std::nullopt;
  const std::size_t padding =
      text.empty() ? 0 : (text.back() == '=') + (text.size() >= 2 && text[text.size() - 2] == '=');
  const std::size_t decoded_size = text.size() / 4 * 3 - padding;
  if (decoded_size > max_size) return std::nullopt;

  ByteReader reader(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  std::vector<std::uint8_t> out;
  out.reserve(decoded_size);
  while (!reader.empty()) {
    std::uint8_t quad[4];
    if (!reader.CopyBytes(quad)) return std::nullopt;
    const bool last = reader.empty();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      if (quad[k] == '=') {
        // '=' only in the last quad, only in positions 2 and 3, and only trailing.
        if (!last || k < 2) return std::nullopt;
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad != 0) return std::nullopt;
      v[k] = SymbolValue(quad[k]);
      if (v[k] < 0) return std::nullopt;
    }
    const std::uint32_t word = (static_cast<std::uint32_t>(v[0]) << 18) |
                               (static_cast<std::uint32_t>(v[1]) << 12) |
                               (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<std::uint8_t>(word >> 16));
    if (pad == 2) {
      if ((word & 0xFFFF) != 0) return std::nullopt;  // non-canonical trailing bits
      break;
    }
    out.push_back(static_cast<std::uint8_t>(word >> 8));
    if (pad == 1) {
      if ((word & 0xFF) != 0) return std::nullopt;
      break;
    }
    out.push_back(static_cast<std::uint8_t>(word));
  }
  return out;
}

}  // namespace parley
