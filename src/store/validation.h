// Argument checks shared by every backend, so both refuse the same inputs
// with the same codes (store/limits.h has the caps).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "store/error.h"
#include "store/records.h"

namespace parley::store {

// The stored form of a username: ASCII lower-cased. kInvalidArgument when
// empty, longer than kMaxUsernameBytes, or holding a byte outside printable
// ASCII (space and control characters included).
StoreResult<std::string> NormalizeUsername(std::string_view username);

// Checks a new device's name (UTF-8 without NUL, may be empty) and credential
// (salt and hash non-empty) against their caps.
StoreStatus ValidateNewDevice(const NewDevice& device);

// Checks an enqueue request and returns the indexes of its envelopes ordered
// by recipient. Backends lock recipient queues in this order, so two
// concurrent fan-outs cannot deadlock. kInvalidArgument: no envelopes, too
// many, content too large, or one recipient twice.
StoreResult<std::vector<std::size_t>> ValidateEnqueue(const EnqueueRequest& request);

// True for the errors that concern one send (its arguments, recipients or
// queues), false for failures of the backend itself. EnqueueBatch isolates
// the first kind and aborts on the second.
bool IsSendLevelError(StoreErrc code);

// `limit`, at most `cap`.
std::size_t ClampLimit(std::size_t limit, std::size_t cap);

}  // namespace parley::store
