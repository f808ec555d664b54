// Conversions between stored columns and record fields, shared by the
// backends. A stored value of the wrong shape is kCorrupt: the database was
// damaged or written by something else.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/byte_reader.h"
#include "base/byte_writer.h"
#include "base/uuid.h"
#include "store/error.h"
#include "store/records.h"
#include "store/try.h"

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

// Where a send's copies went, as one column (SQLite's sends.copies): per
// copy, in the send's envelope order, the recipient account (16 bytes), its
// device id (4 bytes) and the copy's server id (8 bytes), big-endian.
inline constexpr std::size_t kStoredCopyBytes = Uuid::kSize + 4 + 8;

inline std::vector<std::uint8_t> EncodeQueuedCopies(std::span<const QueuedCopy> copies) {
  ByteWriter out(copies.size() * kStoredCopyBytes);
  for (const QueuedCopy& copy : copies) {
    out.WriteBytes(AccountIdBytes(copy.recipient.account));
    out.WriteU32BE(copy.recipient.device.value());
    out.WriteU64BE(copy.server_id);
  }
  return out.Take();
}

// kCorrupt: not a whole number of copies, or a server id over the stored
// integer range.
inline StoreResult<std::vector<QueuedCopy>> DecodeQueuedCopies(Bytes stored) {
  if (stored.size() % kStoredCopyBytes != 0) return Fail(StoreErrc::kCorrupt, "stored copies are truncated");
  std::vector<QueuedCopy> copies;
  copies.reserve(stored.size() / kStoredCopyBytes);
  ByteReader in(stored);
  while (!in.empty()) {
    Bytes account;
    std::uint32_t device = 0;
    std::uint64_t server_id = 0;
    if (!in.ReadBytes(Uuid::kSize, account) || !in.ReadU32BE(device) || !in.ReadU64BE(server_id)) {
      return Fail(StoreErrc::kCorrupt, "stored copies are truncated");
    }
    if (server_id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Fail(StoreErrc::kCorrupt, "stored copy is out of range");
    }
    PARLEY_STORE_ASSIGN(recipient, AccountIdFromBytes(account));
    copies.push_back({{recipient, DeviceId(device)}, server_id});
  }
  return copies;
}

}  // namespace parley::store
