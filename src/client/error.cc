#include "client/error.h"

namespace parley::client {

std::string_view ClientErrcName(ClientErrc code) {
  switch (code) {
    case ClientErrc::kInvalidArgument:
      return "invalid_argument";
    case ClientErrc::kNotRegistered:
      return "not_registered";
    case ClientErrc::kAlreadyRegistered:
      return "already_registered";
    case ClientErrc::kNotFound:
      return "not_found";
    case ClientErrc::kConflict:
      return "conflict";
    case ClientErrc::kForbidden:
      return "forbidden";
    case ClientErrc::kUnauthorized:
      return "unauthorized";
    case ClientErrc::kRateLimited:
      return "rate_limited";
    case ClientErrc::kUntrustedIdentity:
      return "untrusted_identity";
    case ClientErrc::kBlocked:
      return "blocked";
    case ClientErrc::kTooLarge:
      return "too_large";
    case ClientErrc::kNetwork:
      return "network";
    case ClientErrc::kTimeout:
      return "timeout";
    case ClientErrc::kServerError:
      return "server_error";
    case ClientErrc::kProtocol:
      return "protocol";
    case ClientErrc::kStorage:
      return "storage";
    case ClientErrc::kBadPassphrase:
      return "bad_passphrase";
    case ClientErrc::kIncompatibleStore:
      return "incompatible_store";
  }
  return "internal";
}

}  // namespace parley::client
