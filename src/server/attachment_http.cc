#include "server/attachment_http.h"

#include <array>
#include <optional>
#include <vector>

#include "base/base64.h"
#include "base/byte_reader.h"
#include "base/secret.h"
#include "wire/limits.h"

namespace parley::server {
namespace {

using Errc = AttachmentHeaderErrc;

Bytes AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::optional<std::uint8_t> LowerHexDigit(std::uint8_t c) {
  if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
  return std::nullopt;
}

// Reads exactly out.size() bytes written as 2 * out.size() lower-case hex digits.
bool ReadLowerHex(ByteReader& reader, std::span<std::uint8_t> out) {
  for (std::uint8_t& byte : out) {
    std::uint8_t high = 0;
    std::uint8_t low = 0;
    if (!reader.ReadU8(high) || !reader.ReadU8(low)) return false;
    auto h = LowerHexDigit(high);
    auto l = LowerHexDigit(low);
    if (!h || !l) return false;
    byte = static_cast<std::uint8_t>(*h << 4 | *l);
  }
  return true;
}

// Reads decimal digits up to (not including) the first non-digit or the end.
// kMalformed: no digit, or a leading zero in a longer number. kOutOfRange:
// more than 64 bits.
HeaderResult<std::uint64_t> ReadDecimal(ByteReader& reader) {
  std::uint64_t value = 0;
  std::size_t digits = 0;
  bool leading_zero = false;
  while (!reader.empty() && reader.rest()[0] >= '0' && reader.rest()[0] <= '9') {
    std::uint8_t c = 0;
    (void)reader.ReadU8(c);
    const std::uint64_t digit = c - '0';
    if (digits == 0 && digit == 0) leading_zero = true;
    ++digits;
    if (leading_zero && digits > 1) return Fail(Errc::kMalformed, "a number has a leading zero");
    if (value > (UINT64_MAX - digit) / 10) return Fail(Errc::kOutOfRange, "a number does not fit in 64 bits");
    value = value * 10 + digit;
  }
  if (digits == 0) return Fail(Errc::kMalformed, "a number was expected");
  return value;
}

bool EqualsIgnoringAsciiCase(Bytes bytes, std::string_view lower) {
  if (bytes.size() != lower.size()) return false;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::uint8_t c = bytes[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<std::uint8_t>(c - 'A' + 'a');
    if (c != static_cast<std::uint8_t>(lower[i])) return false;
  }
  return true;
}

}  // namespace

HeaderResult<DeviceLoginCredentials> ParseBasicAuthorization(std::string_view value) {
  if (value.empty()) return Fail(Errc::kMissing, "no Authorization header");
  if (value.size() > kMaxAttachmentHeaderValueBytes)
    return Fail(Errc::kMalformed, "Authorization is too long");
  ByteReader reader(AsBytes(value));
  Bytes scheme;
  std::uint8_t space = 0;
  if (!reader.ReadBytes(5, scheme) || !EqualsIgnoringAsciiCase(scheme, "basic") || !reader.ReadU8(space) ||
      space != ' ') {
    return Fail(Errc::kMalformed, "Authorization is not Basic");
  }
  const Bytes encoded = reader.rest();
  // uuid (36) + '.' + up to 3 digits + ':' + 64 hex digits.
  constexpr std::size_t kMaxDecoded = 36 + 1 + 3 + 1 + 2 * wire::kCredentialSize;
  auto decoded = Base64Decode(std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()),
                              kMaxDecoded);
  if (!decoded) return Fail(Errc::kMalformed, "Authorization is not canonical base64 of the expected size");
  // The decoded bytes hold the credential: wiped when this function returns.
  struct Wiper {
    std::vector<std::uint8_t>& bytes;
    ~Wiper() { WipeMemory(bytes.data(), bytes.size()); }
  } wiper{*decoded};

  ByteReader user(*decoded);
  Bytes uuid_text;
  std::uint8_t dot = 0;
  if (!user.ReadBytes(36, uuid_text) || !user.ReadU8(dot) || dot != '.') {
    return Fail(Errc::kMalformed, "the user name is not <account uuid>.<device id>");
  }
  auto uuid =
      Uuid::Parse(std::string_view(reinterpret_cast<const char*>(uuid_text.data()), uuid_text.size()));
  if (!uuid) return Fail(Errc::kMalformed, "the account id is not a UUID");
  auto device = ReadDecimal(user);
  if (!device) return Fail(device.error().code, "the device id is not a decimal number");
  if (*device < wire::kPrimaryDeviceId || *device > wire::kMaxDeviceId) {
    return Fail(Errc::kOutOfRange, "the device id is out of range");
  }
  std::uint8_t colon = 0;
  if (!user.ReadU8(colon) || colon != ':') return Fail(Errc::kMalformed, "no ':' after the device id");
  DeviceLoginCredentials result;
  result.account = AccountId(*uuid);
  result.device = DeviceId(static_cast<std::uint32_t>(*device));
  if (!ReadLowerHex(user, result.credential.secret.bytes()) || !user.empty()) {
    return Fail(Errc::kMalformed, "the credential is not 64 lower-case hex digits");
  }
  return result;
}

HeaderResult<store::AttachmentId> ParseAttachmentId(std::string_view text) {
  if (text.empty()) return Fail(Errc::kMissing, "no attachment id");
  ByteReader reader(AsBytes(text));
  std::array<std::uint8_t, 16> bytes{};
  if (!ReadLowerHex(reader, bytes) || !reader.empty()) {
    return Fail(Errc::kMalformed, "an attachment id is 32 lower-case hex digits");
  }
  return store::AttachmentId(bytes);
}

std::string AttachmentIdToString(const store::AttachmentId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (std::uint8_t b : id.value()) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

HeaderResult<std::uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty()) return Fail(Errc::kMissing, "no number");
  if (text.size() > kMaxAttachmentHeaderValueBytes) return Fail(Errc::kMalformed, "the number is too long");
  ByteReader reader(AsBytes(text));
  auto value = ReadDecimal(reader);
  if (!value) return value;
  if (!reader.empty()) return Fail(Errc::kMalformed, "a number has trailing characters");
  return value;
}

HeaderResult<std::uint64_t> ParseRangeStart(std::string_view value) {
  if (value.empty()) return Fail(Errc::kMissing, "no Range header");
  if (value.size() > kMaxAttachmentHeaderValueBytes) return Fail(Errc::kMalformed, "Range is too long");
  ByteReader reader(AsBytes(value));
  Bytes unit;
  if (!reader.ReadBytes(6, unit) || !EqualsIgnoringAsciiCase(unit, "bytes=")) {
    return Fail(Errc::kMalformed, "Range is not bytes=<from>-");
  }
  auto from = ReadDecimal(reader);
  if (!from) return from;
  std::uint8_t dash = 0;
  if (!reader.ReadU8(dash) || dash != '-' || !reader.empty()) {
    return Fail(Errc::kMalformed, "Range is not bytes=<from>-");
  }
  return from;
}

}  // namespace parley::server
