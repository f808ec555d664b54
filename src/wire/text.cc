#include "wire/text.h"

#include <cstdint>

#include "wire/limits.h"

namespace parley::wire {
namespace {

bool IsUsernameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

bool IsControl(std::uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// Decodes one UTF-8 sequence starting at s[i]; false if it is not well formed.
bool NextCodePoint(std::string_view s, std::size_t& i, std::uint32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t lead = byte(i);
  std::size_t length = 0;
  std::uint32_t min = 0;
  if (lead < 0x80) {
    cp = lead;
    ++i;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    min = 0x80;
    cp = lead & 0x1Fu;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    min = 0x800;
    cp = lead & 0x0Fu;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    min = 0x10000;
    cp = lead & 0x07u;
  } else {
    return false;
  }
  if (s.size() - i < length) return false;
  for (std::size_t k = 1; k < length; ++k) {
    const std::uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += length;
  return true;
}

}  // namespace

bool IsValidUsername(std::string_view username) {
  if (username.size() < kMinUsernameSize || username.size() > kMaxUsernameSize) return false;
  for (char c : username) {
    if (!IsUsernameChar(c)) return false;
  }
  return true;
}

std::string CanonicalUsername(std::string_view username) {
  std::string out(username);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsValidDeviceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceNameSize) return false;
  std::size_t i = 0;
  while (i < name.size()) {
    std::uint32_t cp = 0;
    if (!NextCodePoint(name, i, cp) || IsControl(cp)) return false;
  }
  return true;
}

bool IsValidLinkCode(std::string_view code) {
  if (code.size() < kMinLinkCodeSize || code.size() > kMaxLinkCodeSize) return false;
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool IsValidInvitationToken(std::string_view token) {
  if (token.empty() || token.size() > kMaxInvitationTokenSize) return false;
  for (char c : token) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

bool IsValidErrorDetail(std::string_view detail) {
  if (detail.size() > kMaxErrorDetailSize) return false;
  for (char c : detail) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace parley::wire
