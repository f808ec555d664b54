// Two parties talking over a hostile network: the input bytes drive seeded
// steps (encrypt, deliver, drop, reorder, duplicate, start over). Every
// delivered message must decrypt to exactly what was sent, and every repeat
// must be kDuplicateMessage; anything else aborts.
//
// One step per input byte: low nibble = operation, high nibble = argument.
//   0/1  Alice/Bob encrypts a new message to the other
//   2/3  deliver the in-flight message (argument picks which) to Bob/Alice
//   4/5  drop an in-flight message to Bob/Alice
//   6/7  move an in-flight message to Bob/Alice to the back of its queue
//   8/9  deliver again a message Bob/Alice already decrypted
//   10/11 Bob/Alice starts a new session from the other's bundle
//         (at once with the other: simultaneous initiation)
//
// Bounds keep every message deliverable by design: at most 1,500 messages per
// sender (below the skipped-key cap) and 8 session starts (below the archive
// cap). A message whose receiving chain may have been evicted by the
// receiver-chain cap (five newer chains since its sender's ratchet step) may
// fail with kInvalidMac, and only that way.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "protocol/limits.h"
#include "protocol/test_party.h"

namespace {

using parley::protocol::CiphertextMessage;
using parley::protocol::ProtocolErrc;
using parley::protocol::testing::TestParty;
using parley::protocol::testing::ToString;

constexpr std::uint32_t kMaxSendsPerParty = 1500;
constexpr int kMaxSessionStarts = 8;

struct InFlight {
  CiphertextMessage message;
  std::string plaintext;
  std::uint64_t epoch_snapshot;  // receiver's chains_added when the sender's ratchet key was made
};

struct Side {
  TestParty party;
  std::vector<InFlight> inbox;      // messages on their way to this side
  std::vector<InFlight> delivered;  // messages this side decrypted
  std::uint32_t sent = 0;
  std::uint64_t chains_added = 0;  // receiving chains this side has created
  std::set<std::vector<std::uint8_t>> seen_chain_keys;
  std::vector<std::uint8_t> sending_key;     // current sending ratchet public key
  std::uint64_t sending_epoch_snapshot = 0;  // peer's chains_added when sending_key appeared

  Side(const char* name, std::uint64_t seed) : party(name, seed) {}
};

[[noreturn]] void Violation() { std::abort(); }

std::vector<std::uint8_t> CurrentSendingKey(Side& s, Side& peer) {
  const auto* record = s.party.Session(peer.party);
  if (record == nullptr || record->current_state() == nullptr) return {};
  const auto key = record->current_state()->sender_ratchet.public_key.Serialize();
  return {key.begin(), key.end()};
}

// After `to` changed its session: note new receiving chains and new sending keys.
void Observe(Side& to, Side& from) {
  const auto* record = to.party.Session(from.party);
  if (record != nullptr && record->current_state() != nullptr) {
    const auto& chains = record->current_state()->receiver_chains;
    if (!chains.empty()) {
      const auto key = chains.back().ratchet_key.Serialize();
      if (to.seen_chain_keys.insert({key.begin(), key.end()}).second) ++to.chains_added;
    }
  }
  auto key = CurrentSendingKey(to, from);
  if (key != to.sending_key) {
    to.sending_key = std::move(key);
    to.sending_epoch_snapshot = from.chains_added;
  }
}

void Encrypt(Side& from, Side& to, std::uint8_t arg) {
  if (from.sent >= kMaxSendsPerParty) return;
  std::string text = from.party.address().name + " #" + std::to_string(from.sent);
  text.append(arg * 7u, static_cast<char>('a' + arg));
  auto m = from.party.Encrypt(to.party, text);
  if (!m) {
    if (m.error().code == ProtocolErrc::kNoSession) return;
    Violation();
  }
  ++from.sent;
  Observe(from, to);
  to.inbox.push_back(InFlight{std::move(*m), std::move(text), from.sending_epoch_snapshot});
}

bool MayBeEvicted(const Side& to, const InFlight& m) {
  return to.chains_added >= m.epoch_snapshot + parley::protocol::kMaxReceiverChains;
}

void Deliver(Side& to, Side& from, std::uint8_t arg) {
  if (to.inbox.empty()) return;
  const std::size_t i = arg % to.inbox.size();
  InFlight m = std::move(to.inbox[i]);
  to.inbox.erase(to.inbox.begin() + static_cast<std::ptrdiff_t>(i));
  auto p = to.party.Decrypt(from.party, m.message);
  if (!p) {
    if (p.error().code == ProtocolErrc::kInvalidMac && MayBeEvicted(to, m)) return;
    Violation();
  }
  if (ToString(*p) != m.plaintext) Violation();
  Observe(to, from);
  to.delivered.push_back(std::move(m));
}

void Redeliver(Side& to, Side& from, std::uint8_t arg) {
  if (to.delivered.empty()) return;
  const InFlight& m = to.delivered[arg % to.delivered.size()];
  const auto before = to.party.SessionBytes(from.party);
  auto p = to.party.Decrypt(from.party, m.message);
  if (p) Violation();
  const bool evicted_ok = p.error().code == ProtocolErrc::kInvalidMac && MayBeEvicted(to, m);
  if (p.error().code != ProtocolErrc::kDuplicateMessage && !evicted_ok) Violation();
  if (to.party.SessionBytes(from.party) != before) Violation();
}

void Drop(Side& to, std::uint8_t arg) {
  if (to.inbox.empty()) return;
  to.inbox.erase(to.inbox.begin() + static_cast<std::ptrdiff_t>(arg % to.inbox.size()));
}

void MoveToBack(Side& to, std::uint8_t arg) {
  if (to.inbox.size() < 2) return;
  const std::size_t i = arg % to.inbox.size();
  InFlight m = std::move(to.inbox[i]);
  to.inbox.erase(to.inbox.begin() + static_cast<std::ptrdiff_t>(i));
  to.inbox.push_back(std::move(m));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Side alice("alice", 1);
  Side bob("bob", 2);
  // Fresh one-time prekey ids per session start, so that no two starts share one.
  std::uint32_t next_prekey_id = 1;
  int starts = 0;
  if (!alice.party.StartSession(bob.party, next_prekey_id++)) Violation();
  ++starts;
  Observe(alice, bob);
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t op = data[i] & 0x0F;
    const std::uint8_t arg = data[i] >> 4;
    switch (op) {
      case 0:
        Encrypt(alice, bob, arg);
        break;
      case 1:
        Encrypt(bob, alice, arg);
        break;
      case 2:
        Deliver(bob, alice, arg);
        break;
      case 3:
        Deliver(alice, bob, arg);
        break;
      case 4:
        Drop(bob, arg);
        break;
      case 5:
        Drop(alice, arg);
        break;
      case 6:
        MoveToBack(bob, arg);
        break;
      case 7:
        MoveToBack(alice, arg);
        break;
      case 8:
        Redeliver(bob, alice, arg);
        break;
      case 9:
        Redeliver(alice, bob, arg);
        break;
      case 10:
      case 11: {
        if (starts >= kMaxSessionStarts) break;
        Side& starter = op == 10 ? bob : alice;
        Side& peer = op == 10 ? alice : bob;
        if (!starter.party.StartSession(peer.party, next_prekey_id++)) Violation();
        ++starts;
        Observe(starter, peer);
        break;
      }
      default:
        break;
    }
  }
  return 0;
}
