#include "store/validation.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

#include "store/limits.h"

namespace parley::store {

namespace {

// Usernames are compared case-insensitively by ASCII lower-casing, so only
// printable ASCII (no space) is stored.
bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f;
  });
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF) without NUL: what a PostgreSQL text column accepts, so both
// backends refuse the same names.
bool IsStorableUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead == 0) return false;
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kSmallest[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

StoreResult<std::string> NormalizeUsername(std::string_view username) {
  if (username.empty()) return Fail(StoreErrc::kInvalidArgument, "username is empty");
  if (username.size() > kMaxUsernameBytes) return Fail(StoreErrc::kInvalidArgument, "username is too long");
  if (!IsPrintableAscii(username)) {
    return Fail(StoreErrc::kInvalidArgument, "username has a byte outside printable ASCII");
  }
  std::string lower(username);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

StoreStatus ValidateNewDevice(const NewDevice& device) {
  if (device.name.size() > kMaxDeviceNameBytes) {
    return Fail(StoreErrc::kInvalidArgument, "device name is too long");
  }
  if (!IsStorableUtf8(device.name)) {
    return Fail(StoreErrc::kInvalidArgument, "device name is not UTF-8 or contains NUL");
  }
  const auto& credential = device.credential;
  if (credential.salt.empty() || credential.hash.empty()) {
    return Fail(StoreErrc::kInvalidArgument, "device credential is empty");
  }
  if (credential.salt.size() > kMaxCredentialFieldBytes ||
      credential.hash.size() > kMaxCredentialFieldBytes) {
    return Fail(StoreErrc::kInvalidArgument, "device credential is too long");
  }
  if (device.keys && device.keys->one_time_prekeys.size() > kMaxOneTimePreKeysPerDevice) {
    return Fail(StoreErrc::kInvalidArgument, "too many one-time prekeys for a new device");
  }
  return Ok<StoreErrc>();
}

StoreResult<std::vector<std::size_t>> ValidateEnqueue(const EnqueueRequest& request) {
  const auto& envelopes = request.envelopes;
  if (envelopes.empty()) return Fail(StoreErrc::kInvalidArgument, "send has no envelopes");
  if (envelopes.size() > kMaxEnvelopesPerEnqueue) {
    return Fail(StoreErrc::kInvalidArgument, "send has too many envelopes");
  }
  for (const auto& envelope : envelopes) {
    if (envelope.content.size() > kMaxEnvelopeContentBytes) {
      return Fail(StoreErrc::kInvalidArgument, "envelope content is too large");
    }
  }
  std::vector<std::size_t> order(envelopes.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return envelopes[a].recipient < envelopes[b].recipient; });
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (envelopes[order[i - 1]].recipient == envelopes[order[i]].recipient) {
      return Fail(StoreErrc::kInvalidArgument, "send addresses one device twice");
    }
  }
  return order;
}

bool IsSendLevelError(StoreErrc code) {
  return code == StoreErrc::kNotFound || code == StoreErrc::kQueueFull ||
         code == StoreErrc::kInvalidArgument || code == StoreErrc::kConflict ||
         code == StoreErrc::kLimitExceeded;
}

std::size_t ClampLimit(std::size_t limit, std::size_t cap) { return std::min(limit, cap); }

}  // namespace parley::store
