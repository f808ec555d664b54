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
// empty, longer than kMaxUsernameBytes, or containing a control character.
StoreResult<std::string> NormalizeUsername(std::string_view username);

// Checks a new device's name and credential against their caps (the name may
// be empty; salt and hash may not).
StoreStatus ValidateNewDevice(const NewDevice& device);

// Checks an enqueue request and returns the indexes of its envelopes ordered
// by recipient. Backends lock recipient queues in this order, so two
// concurrent fan-outs cannot deadlock. kInvalidArgument: no envelopes, too
// many, content too large, or one recipient twice.
StoreResult<std::vector<std::size_t>> ValidateEnqueue(const EnqueueRequest& request);

// `limit`, at most `cap`.
std::size_t ClampLimit(std::size_t limit, std::size_t cap);

}  // namespace parley::store
