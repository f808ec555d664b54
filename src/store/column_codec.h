// Conversions between stored columns and record fields, shared by the
// backends. A stored value of the wrong shape is kCorrupt: the database was
// damaged or written by something else.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "base/byte_reader.h"
#include "base/uuid.h"
#include "store/error.h"

namespace parley::store {

// By value: StrongId::value() returns a copy, so a view into it would dangle.
inline std::array<std::uint8_t, Uuid::kSize> AccountIdBytes(const AccountId& id) {
  return id.value().bytes();
}

inline StoreResult<AccountId> AccountIdFromBytes(Bytes bytes) {
  auto uuid = Uuid::FromBytes(bytes);
  if (!uuid) return Fail(StoreErrc::kCorrupt, "stored account id is not 16 bytes");
  return AccountId(*uuid);
}

inline StoreResult<AccountId> AccountIdFromText(std::string_view text) {
  auto uuid = Uuid::Parse(text);
  if (!uuid) return Fail(StoreErrc::kCorrupt, "stored account id is not a UUID");
  return AccountId(*uuid);
}

template <std::size_t N>
StoreResult<std::array<std::uint8_t, N>> FixedBytes(Bytes bytes) {
  if (bytes.size() != N) return Fail(StoreErrc::kCorrupt, "stored value has the wrong length");
  std::array<std::uint8_t, N> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

// Stored integer columns are signed 64-bit; a negative value or one too large
// for the field means the row is damaged.
template <class T>
StoreResult<T> CheckedInteger(std::int64_t value) {
  if (value < 0 ||
      static_cast<std::uint64_t>(value) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
    return Fail(StoreErrc::kCorrupt, "stored integer is out of range");
  }
  return static_cast<T>(value);
}

}  // namespace parley::store
