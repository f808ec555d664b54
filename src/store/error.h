// StoreErrc: the precise failures of the server store.
//
// Every store operation returns StoreResult<T> (or StoreStatus). The codes are
// stable: the request handlers map them to wire error codes, so a backend
// must report the same code for the same situation (the conformance suite in
// tests/store checks that both backends do).
#pragma once

#include <string_view>

#include "base/result.h"

namespace parley::store {

enum class StoreErrc {
  // The account, device, message, attachment, invitation or code does not exist.
  kNotFound = 1,
  // A unique value is taken: username, account id, attachment id, invitation;
  // or an attachment chunk's offset is not the current length.
  kConflict,
  // An invitation or provisioning code was already consumed.
  kAlreadyUsed,
  // An invitation or provisioning code is past its expiry.
  kExpired,
  // A recipient device's queue holds the configured maximum of messages.
  kQueueFull,
  // A count limit would be passed: devices per account, stored one-time
  // prekeys per device, declared attachment size.
  kLimitExceeded,
  // An argument breaks a storage cap or invariant (see store/limits.h): too
  // long, empty, duplicated where it must be unique.
  kInvalidArgument,
  // The backend cannot be reached or did not answer in time (database down,
  // locked past the busy timeout, disk full, connection pool exhausted).
  kUnavailable,
  // Stored data is malformed (wrong key length, damaged database file).
  kCorrupt,
  // The database was written by a newer schema version than this build knows.
  kIncompatibleSchema,
  // The backend reported an error the store does not expect (a bug).
  kInternal,
};

using StoreError = Error<StoreErrc>;
template <class T>
using StoreResult = Result<T, StoreErrc>;
using StoreStatus = Status<StoreErrc>;

// A stable lower-case name for logs and metrics, e.g. "queue_full".
std::string_view ToString(StoreErrc code);

}  // namespace parley::store
