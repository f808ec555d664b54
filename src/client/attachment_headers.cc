#include "client/attachment_headers.h"

#include <optional>

#include "base/hex.h"

namespace parley::client {

namespace {

constexpr std::string_view kAttachmentsPrefix = "/v1/attachments/";

AttachmentHeaderResult<std::uint64_t> Malformed() {
  return Fail(AttachmentHeaderErrc::kMalformed, "the header value is not the documented syntax");
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

AttachmentHeaderResult<std::uint64_t> ParseAttachmentDecimal(std::string_view text) {
  if (text.empty()) return Fail(AttachmentHeaderErrc::kMissing, "the header is missing");
  if (text.size() > kMaxAttachmentHeaderBytes) return Malformed();
  if (text.size() > 1 && text[0] == '0') return Malformed();
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Malformed();
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return Fail(AttachmentHeaderErrc::kOutOfRange, "the number does not fit in 64 bits");
    }
    value = value * 10 + digit;
  }
  return value;
}

AttachmentHeaderResult<ContentId> ParseAttachmentLocation(std::string_view text) {
  if (text.empty()) return Fail(AttachmentHeaderErrc::kMissing, "the header is missing");
  if (text.size() != kAttachmentsPrefix.size() + 2 * kContentIdSize ||
      !text.starts_with(kAttachmentsPrefix)) {
    return Fail(AttachmentHeaderErrc::kMalformed, "not the path of an attachment");
  }
  const std::string_view hex = text.substr(kAttachmentsPrefix.size());
  for (char c : hex) {
    if (!IsLowerHex(c)) return Fail(AttachmentHeaderErrc::kMalformed, "not the path of an attachment");
  }
  auto bytes = FromHex(hex);
  if (!bytes || bytes->size() != kContentIdSize) {
    return Fail(AttachmentHeaderErrc::kMalformed, "not the path of an attachment");
  }
  ContentId id{};
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

std::string AttachmentPath(const ContentId& id) { return std::string(kAttachmentsPrefix) + ToHex(id); }

AttachmentHeaderResult<ContentRange> ParseContentRange(std::string_view text) {
  if (text.empty()) return Fail(AttachmentHeaderErrc::kMissing, "the header is missing");
  constexpr std::string_view kUnit = "bytes ";
  if (text.size() > kMaxAttachmentHeaderBytes || !text.starts_with(kUnit)) {
    return Fail(AttachmentHeaderErrc::kMalformed, "the header value is not the documented syntax");
  }
  text.remove_prefix(kUnit.size());
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Fail(AttachmentHeaderErrc::kMalformed, "the header value is not the documented syntax");
  }
  auto length = ParseAttachmentDecimal(text.substr(slash + 1));
  if (!length) return tl::unexpected(length.error());
  const std::string_view range = text.substr(0, slash);
  ContentRange out;
  out.length = *length;
  if (range == "*") {
    out.unsatisfied = true;
    return out;
  }
  const std::size_t dash = range.find('-');
  if (dash == std::string_view::npos) {
    return Fail(AttachmentHeaderErrc::kMalformed, "the header value is not the documented syntax");
  }
  auto first = ParseAttachmentDecimal(range.substr(0, dash));
  if (!first) return tl::unexpected(first.error());
  auto last = ParseAttachmentDecimal(range.substr(dash + 1));
  if (!last) return tl::unexpected(last.error());
  if (*first > *last || *last >= out.length) {
    return Fail(AttachmentHeaderErrc::kOutOfRange, "the range contradicts itself");
  }
  out.first = *first;
  out.last = *last;
  return out;
}

}  // namespace parley::client
