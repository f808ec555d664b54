// Errors of the wire layer.
//
// Decoders return Result<T, WireErrc>: each code names one precise way a frame
// can be wrong. Error messages are static strings, never frame contents.
#pragma once

#include <string_view>

#include "base/result.h"

namespace parley::wire {

enum class WireErrc {
  kMalformed,           // not protobuf wire format: truncated, bad varint, group, field number 0
  kWrongWireType,       // a known field with a wire type other than its schema's
  kDuplicateField,      // a singular field appears twice
  kMissingField,        // a required field (or the one entry a list needs) is absent
  kNoBody,              // a Frame, Request or Push with no body this version knows
  kMultipleBodies,      // a Frame, Request, Response or Push with more than one body
  kWrongDirection,      // a server frame where a client frame belongs, or the reverse
  kTooLarge,            // a frame, string or byte field over its size cap
  kTooMany,             // a list with more entries than its cap
  kBadLength,           // a fixed-size field (key, signature, id, credential) of another length
  kBadKeyType,          // a public key whose type byte is not 0x05
  kOutOfRange,          // an integer outside its range (device id, registration id, ...)
  kUnknownEnumValue,    // an enum value this version does not know in a required position
  kInvalidText,         // a string outside its character set or below its minimum length
  kDuplicateEntry,      // the same device or recipient twice in one list
  kInconsistentFields,  // fields that contradict each other (e.g. status ok with an error body)
};

template <class T>
using WireResult = Result<T, WireErrc>;
using WireStatus = Status<WireErrc>;
using WireError = Error<WireErrc>;

// A stable snake_case name for logs and metrics, e.g. "too_large".
std::string_view WireErrcName(WireErrc code);

}  // namespace parley::wire
