// ResponseStatus: the outcome of a request, carried in every Response.
//
// The numbers are part of the wire format and never change; 0 is never sent
// (a proto3 reader would see an absent status as 0), and a status this
// version does not know is a decoding error, not a silent "ok".
#pragma once

#include <cstdint>
#include <string_view>

#include "wire/error.h"

namespace parley::wire {

enum class ResponseStatus : std::uint32_t {
  kOk = 1,
  kBadRequest = 2,         // the request is malformed or breaks a rule of the schema
  kUnauthorized = 3,       // wrong credential, or a request that needs authentication
  kForbidden = 4,          // authenticated, but not allowed (e.g. unlinking the primary)
  kNotFound = 5,           // no such account, device, username or link code
  kConflict = 6,           // the username is taken, or the state changed under the request
  kMismatchedDevices = 7,  // the send's device list is wrong; the body says how
  kRateLimited = 8,        // try again after retry_after_ms
  kTooLarge = 9,           // a frame or field over its cap
  kQueueFull = 10,         // a recipient device's queue is at its bound
  kGone = 11,              // expired (a link code, an attachment)
  kUnavailable = 12,       // temporarily unable (shutting down, store down); retry later
  kInternal = 13,          // a server fault; the request may or may not have taken effect
};

// True for the values listed above.
bool IsKnownResponseStatus(std::uint64_t value);

// A stable snake_case name for logs and metrics, e.g. "mismatched_devices".
std::string_view ResponseStatusName(ResponseStatus status);

// The status a server answers a request with when the request's body did not
// decode: too_large for size and count caps, bad_request for the rest.
ResponseStatus StatusForDecodeError(WireErrc code);

}  // namespace parley::wire
