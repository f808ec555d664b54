#include "wire/response_status.h"

namespace parley::wire {

bool IsKnownResponseStatus(std::uint64_t value) {
  return value >= static_cast<std::uint32_t>(ResponseStatus::kOk) &&
         value <= static_cast<std::uint32_t>(ResponseStatus::kInternal);
}

std::string_view ResponseStatusName(ResponseStatus status) {
  switch (status) {
    case ResponseStatus::kOk:
      return "ok";
    case ResponseStatus::kBadRequest:
      return "bad_request";
    case ResponseStatus::kUnauthorized:
      return "unauthorized";
    case ResponseStatus::kForbidden:
      return "forbidden";
    case ResponseStatus::kNotFound:
      return "not_found";
    case ResponseStatus::kConflict:
      return "conflict";
    case ResponseStatus::kMismatchedDevices:
      return "mismatched_devices";
    case ResponseStatus::kRateLimited:
      return "rate_limited";
    case ResponseStatus::kTooLarge:
      return "too_large";
    case ResponseStatus::kQueueFull:
      return "queue_full";
    case ResponseStatus::kGone:
      return "gone";
    case ResponseStatus::kUnavailable:
      return "unavailable";
    case ResponseStatus::kInternal:
      return "internal";
  }
  return "unknown";
}

ResponseStatus StatusForDecodeError(WireErrc code) {
  switch (code) {
    case WireErrc::kTooLarge:
    case WireErrc::kTooMany:
      return ResponseStatus::kTooLarge;
    default:
      return ResponseStatus::kBadRequest;
  }
}

}  // namespace parley::wire
