#include "store/error.h"

namespace parley::store {

std::string_view ToString(StoreErrc code) {
  switch (code) {
    case StoreErrc::kNotFound:
      return "not_found";
    case StoreErrc::kConflict:
      return "conflict";
    case StoreErrc::kAlreadyUsed:
      return "already_used";
    case StoreErrc::kExpired:
      return "expired";
    case StoreErrc::kQueueFull:
      return "queue_full";
    case StoreErrc::kLimitExceeded:
      return "limit_exceeded";
    case StoreErrc::kInvalidArgument:
      return "invalid_argument";
    case StoreErrc::kUnavailable:
      return "unavailable";
    case StoreErrc::kCorrupt:
      return "corrupt";
    case StoreErrc::kIncompatibleSchema:
      return "incompatible_schema";
    case StoreErrc::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace parley::store
