// Decoders for the untrusted parts of an attachment request
// (docs/wire-protocol.md section 8): the Basic credentials, the attachment
// id in the path, the Upload-Length / Upload-Offset numbers and a download's
// Range. Pure functions over text, no I/O; each returns a typed error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/uuid.h"
#include "store/records.h"
#include "wire/messages.h"

namespace parley::server {

enum class AttachmentHeaderErrc {
  kMissing,    // the header is absent or empty
  kMalformed,  // not the documented syntax
  kOutOfRange  // a number that does not fit in 64 bits or is not allowed
};

template <class T>
using HeaderResult = Result<T, AttachmentHeaderErrc>;

// Longest header value the decoders look at; longer values are malformed.
inline constexpr std::size_t kMaxAttachmentHeaderValueBytes = 512;

struct DeviceLoginCredentials {
  AccountId account;
  DeviceId device;
  wire::DeviceCredential credential;
};

// "Basic base64(<account uuid>.<device id>:<64 lower-case hex digits>)".
// The scheme name is case-insensitive; nothing may follow the base64.
HeaderResult<DeviceLoginCredentials> ParseBasicAuthorization(std::string_view value);

// 32 lower-case hex digits.
HeaderResult<store::AttachmentId> ParseAttachmentId(std::string_view text);
std::string AttachmentIdToString(const store::AttachmentId& id);

// A decimal number without sign, spaces or leading zeros (except "0").
HeaderResult<std::uint64_t> ParseDecimal(std::string_view text);

// "bytes=<from>-": the only Range form the download accepts.
HeaderResult<std::uint64_t> ParseRangeStart(std::string_view value);

}  // namespace parley::server
