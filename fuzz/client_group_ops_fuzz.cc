// Decodes arbitrary bytes as a group change's operations in the form the
// client store keeps them, then as a whole content: whatever decodes must
// encode and decode to the same operations, a group context's changes
// (their signatures included) must survive re-encoding, their signed bytes
// must be made and checked against a key without fault (a signature found
// here would have to come from that key's private half, which no input
// holds), and merged into a log and replayed they give a well-formed state.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "client/content.h"
#include "client/group_signature.h"
#include "client/group_state.h"
#include "crypto/x25519.h"

namespace {

namespace client = parley::client;

void CheckOps(parley::Bytes bytes) {
  auto ops = client::DecodeGroupOps(bytes);
  if (!ops) return;
  auto encoded = client::EncodeGroupOps(*ops);
  if (!encoded) std::abort();  // the decoder accepted what the encoder refuses
  auto again = client::DecodeGroupOps(*encoded);
  if (!again || *again != *ops) std::abort();
}

void CheckReplay(parley::Bytes bytes) {
  auto content = client::DecodeContent(bytes);
  if (!content || !content->group || content->group->changes.empty()) return;
  std::vector<client::GroupChange> changes = content->group->changes;
  auto encoded = client::EncodeContent(*content);
  if (!encoded) std::abort();
  auto again = client::DecodeContent(encoded->bytes());
  if (!again || !again->group || again->group->changes != changes) std::abort();
  // A fixed key whose private half is no input's: nothing verifies under it.
  static const auto key = [] {
    std::array<std::uint8_t, 32> raw{};
    raw.fill(0x42);
    auto private_key = parley::crypto::PrivateKey::FromBytes(raw);
    if (!private_key) std::abort();
    return parley::crypto::KeyPair::FromPrivate(std::move(*private_key)).public_key;
  }();
  for (const client::GroupChange& c : changes) {
    if (!client::GroupChangeSignedBytes(content->group->id, c)) std::abort();  // decoded ops always encode
    if (client::VerifyGroupChange(content->group->id, c, key)) std::abort();
  }
  std::sort(changes.begin(), changes.end(),
            [](const client::GroupChange& a, const client::GroupChange& b) { return a.stamp < b.stamp; });
  std::vector<client::GroupChange> log;
  for (const client::GroupChange& c : changes) client::MergeGroupChange(log, c);
  auto state = client::ReplayGroup(log);
  if (!state) std::abort();
  for (const parley::AccountId& a : state->admins) {
    if (std::find(state->members.begin(), state->members.end(), a) == state->members.end()) std::abort();
  }
  if (state->members.size() > client::kMaxGroupStateMembers) std::abort();
  if (state->admins.empty() != state->members.empty()) std::abort();
  // The same changes merged in the reverse order after the first: the same
  // stamps, operations and state. (Signatures may differ: of two changes
  // with one stamp and the same operations, each signed, the one that came
  // first is kept; both are its author's.)
  std::vector<client::GroupChange> reversed = {log.front()};
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) client::MergeGroupChange(reversed, *it);
  if (!std::equal(reversed.begin(), reversed.end(), log.begin(), log.end(), client::SameGroupChange) ||
      client::ReplayGroup(reversed) != state) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  CheckOps(parley::Bytes(data, size));
  CheckReplay(parley::Bytes(data, size));
  return 0;
}
