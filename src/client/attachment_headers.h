// Decoders for what parleyd's attachment routes answer in headers
// (docs/wire-protocol.md section 8): Upload-Offset, the Location of a new
// attachment and a download's Content-Range. The server is authenticated by
// TLS and the pin, but its bytes are still checked like any other input:
// pure functions over text, each failure a typed error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "client/content.h"

namespace parley::client {

enum class AttachmentHeaderErrc {
  kMissing = 1,  // absent or empty
  kMalformed,    // not the documented syntax
  kOutOfRange,   // a number past 64 bits, or a range that contradicts itself
};
template <class T>
using AttachmentHeaderResult = Result<T, AttachmentHeaderErrc>;

// Longer header values are malformed (the documented ones are short).
inline constexpr std::size_t kMaxAttachmentHeaderBytes = 128;

// A decimal number: digits only, no sign, no leading zeros except "0".
AttachmentHeaderResult<std::uint64_t> ParseAttachmentDecimal(std::string_view text);

// "/v1/attachments/" followed by 32 lower-case hex digits.
AttachmentHeaderResult<ContentId> ParseAttachmentLocation(std::string_view text);
// The path of an attachment: "/v1/attachments/<32 hex digits>".
std::string AttachmentPath(const ContentId& id);

// "bytes <first>-<last>/<length>" (first <= last < length) or, with
// unsatisfied, "bytes */<length>" (first and last are then 0).
struct ContentRange {
  bool unsatisfied = false;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length = 0;
};
AttachmentHeaderResult<ContentRange> ParseContentRange(std::string_view text);

}  // namespace parley::client
