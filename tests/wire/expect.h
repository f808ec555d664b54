// Small helpers for wire tests: the error a decoder or encoder fails with,
// and readable gtest output for error codes.
#pragma once

#include <optional>
#include <ostream>
#include <stdexcept>

#include "field_surgery.h"
#include "wire/codec.h"

namespace parley::wire {

inline void PrintTo(WireErrc code, std::ostream* os) { *os << WireErrcName(code); }

namespace testing {

// nullopt when `bytes` decodes as T.
template <class T>
std::optional<WireErrc> DecodeError(Bytes bytes) {
  const auto decoded = DecodeMessage<T>(bytes);
  if (decoded) return std::nullopt;
  return decoded.error().code;
}

// nullopt when `message` encodes.
template <class T>
std::optional<WireErrc> EncodeError(const T& message) {
  const auto encoded = EncodeMessage(message);
  if (encoded) return std::nullopt;
  return encoded.error().code;
}

// The encoding of a message the test knows to be valid.
template <class T>
Buffer Encoded(const T& message) {
  auto encoded = EncodeMessage(message);
  if (!encoded) throw std::invalid_argument("Encoded: the message does not encode");
  return std::move(*encoded);
}

// Decodes as T, and also checks that re-encoding gives the same bytes.
template <class T>
bool DecodesAndRoundTrips(const Buffer& bytes) {
  const auto decoded = DecodeMessage<T>(bytes);
  if (!decoded) return false;
  const auto again = EncodeMessage(*decoded);
  return again && *again == bytes;
}

}  // namespace testing
}  // namespace parley::wire
