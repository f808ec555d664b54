// SessionRecord: all session states with one peer device — the current one
// and up to kMaxArchivedStates previous ones, newest first — and their
// versioned storage format.
//
// Several states exist because both sides may start a session at once, or a
// peer may start over: messages for an older state still decrypt, and a state
// that decrypts a message becomes current again (libsignal's behaviour).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/byte_reader.h"
#include "crypto/x25519.h"
#include "protocol/error.h"
#include "protocol/session_state.h"

namespace parley::protocol {

// Version of the storage format SessionRecord::Serialize writes.
inline constexpr std::uint32_t kSessionRecordFormatVersion = 1;

class SessionRecord {
 public:
  // A record with no state at all.
  SessionRecord() = default;
  explicit SessionRecord(SessionState current) : current_(std::move(current)) {}

  bool has_current_state() const { return current_.has_value(); }
  // The current state; nullptr if there is none.
  SessionState* current_state() { return current_ ? &*current_ : nullptr; }
  const SessionState* current_state() const { return current_ ? &*current_ : nullptr; }
  // Previous states, newest first.
  std::vector<SessionState>& previous_states() { return previous_; }
  const std::vector<SessionState>& previous_states() const { return previous_; }

  // True when the current or a previous state was set up with this
  // initiator base key (the same PreKeySignalMessage seen again).
  bool HasStateWithBaseKey(const crypto::PublicKey& base_key) const;

  // PromoteState: makes state current; the old current state becomes the
  // newest previous one, and the oldest beyond kMaxArchivedStates is dropped.
  void PromoteState(SessionState state);
  // PromotePreviousState: makes previous_states()[index] current (as above).
  void PromotePreviousState(std::size_t index);
  // ArchiveCurrentState: moves the current state (if any) to the previous
  // ones, leaving no current state: encryption then needs a new session.
  void ArchiveCurrentState();

  // Serialize: the storage form (see docs/protocol.md, "Session record
  // storage format"). Contains private keys: store it encrypted.
  std::vector<std::uint8_t> Serialize() const;
  // Deserialize: kInvalidState on anything Serialize would not write: an
  // unknown format version or a version not first, unknown, repeated or
  // missing fields, wrong key sizes, counts beyond the limits of limits.h, or
  // skipped keys out of order. Counts are checked before anything is kept.
  static ProtocolResult<SessionRecord> Deserialize(Bytes serialized);

 private:
  std::optional<SessionState> current_;
  std::vector<SessionState> previous_;
};

}  // namespace parley::protocol
