#include "wire/error.h"

namespace parley::wire {

std::string_view WireErrcName(WireErrc code) {
  switch (code) {
    case WireErrc::kMalformed:
      return "malformed";
    case WireErrc::kWrongWireType:
      return "wrong_wire_type";
    case WireErrc::kDuplicateField:
      return "duplicate_field";
    case WireErrc::kMissingField:
      return "missing_field";
    case WireErrc::kNoBody:
      return "no_body";
    case WireErrc::kMultipleBodies:
      return "multiple_bodies";
    case WireErrc::kWrongDirection:
      return "wrong_direction";
    case WireErrc::kTooLarge:
      return "too_large";
    case WireErrc::kTooMany:
      return "too_many";
    case WireErrc::kBadLength:
      return "bad_length";
    case WireErrc::kBadKeyType:
      return "bad_key_type";
    case WireErrc::kOutOfRange:
      return "out_of_range";
    case WireErrc::kUnknownEnumValue:
      return "unknown_enum_value";
    case WireErrc::kInvalidText:
      return "invalid_text";
    case WireErrc::kDuplicateEntry:
      return "duplicate_entry";
    case WireErrc::kInconsistentFields:
      return "inconsistent_fields";
  }
  return "unknown";
}

}  // namespace parley::wire
