#include "store/validation.h"

#include <algorithm>
#include <numeric>

#include "store/limits.h"

namespace parley::store {

namespace {

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

}  // namespace

StoreResult<std::string> NormalizeUsername(std::string_view username) {
  if (username.empty()) return Fail(StoreErrc::kInvalidArgument, "username is empty");
  if (username.size() > kMaxUsernameBytes) return Fail(StoreErrc::kInvalidArgument, "username is too long");
  if (HasControlCharacter(username)) {
    return Fail(StoreErrc::kInvalidArgument, "username contains a control character");
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
  // PostgreSQL text cannot hold NUL; refuse it on every backend alike.
  if (device.name.find('\0') != std::string::npos) {
    return Fail(StoreErrc::kInvalidArgument, "device name contains NUL");
  }
  const auto& credential = device.credential;
  if (credential.salt.empty() || credential.hash.empty()) {
    return Fail(StoreErrc::kInvalidArgument, "device credential is empty");
  }
  if (credential.salt.size() > kMaxCredentialFieldBytes ||
      credential.hash.size() > kMaxCredentialFieldBytes) {
    return Fail(StoreErrc::kInvalidArgument, "device credential is too long");
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

std::size_t ClampLimit(std::size_t limit, std::size_t cap) { return std::min(limit, cap); }

}  // namespace parley::store
