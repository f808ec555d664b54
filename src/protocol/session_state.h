// SessionState: one Double Ratchet session with one peer device, and the
// planning of a decryption against it.
//
// Decryption is two-phase so that nothing changes before a message has
// authenticated: PlanDecrypt computes, without touching the state, the
// message keys and every change the message would cause; the caller checks
// the MAC and decrypts the body; FinishPlan completes a DH ratchet step (new
// sending key pair); only then ApplyPlan changes the state, and cannot fail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/rng.h"
#include "base/strong_id.h"
#include "crypto/x25519.h"
#include "protocol/error.h"
#include "protocol/ratchet.h"
#include "protocol/signal_message.h"

namespace parley::protocol {

// What the initiator repeats in every message until the peer's first reply,
// so that the responder can run X3DH whichever message arrives first.
struct PendingPreKey {
  std::optional<PreKeyId> prekey_id;
  SignedPreKeyId signed_prekey_id;
  crypto::PublicKey base_key;
};

// The key seed of a message that was skipped over, kept for when it arrives.
struct SkippedMessageKey {
  std::uint32_t counter = 0;
  MessageKeySeed seed;
};

// A receiving chain, named by the peer's ratchet public key.
struct ReceiverChain {
  crypto::PublicKey ratchet_key;
  ChainKey chain_key;  // yields message chain_key.index next
  // Ascending counters, all below chain_key.index; at most kMaxMessageKeysPerChain.
  std::vector<SkippedMessageKey> skipped;
};

// SessionState is a plain aggregate: SessionBuilder creates states,
// SessionCipher changes them, SessionRecord stores them.
struct SessionState {
  crypto::PublicKey local_identity;
  crypto::PublicKey remote_identity;
  RegistrationId local_registration_id;
  RegistrationId remote_registration_id;
  // The initiator's X3DH base key: names the session on both sides.
  crypto::PublicKey base_key;
  RootKey root_key;
  crypto::KeyPair sender_ratchet;
  ChainKey sender_chain;
  // Messages sent on the previous sending chain, minus one (floored at 0).
  std::uint32_t previous_counter = 0;
  // Oldest first; at most kMaxReceiverChains.
  std::vector<ReceiverChain> receiver_chains;
  // Set on the initiator's side until the first message from the peer decrypts.
  std::optional<PendingPreKey> pending_prekey;

  // The receiving chain for ratchet_key, or nullptr.
  const ReceiverChain* FindReceiverChain(const crypto::PublicKey& ratchet_key) const;
  // Appends a receiving chain, dropping the oldest beyond kMaxReceiverChains.
  void AddReceiverChain(ReceiverChain chain);
};

// DecryptPlan: the outcome of PlanDecrypt. Valid only for the state it was
// planned against, as long as that state does not change.
struct DecryptPlan {
  enum class Kind {
    kSkippedKey,     // the key was stored for a message that arrived late
    kExistingChain,  // the message is on a known receiving chain, at or past its index
    kNewChain,       // a new ratchet key from the peer: a DH ratchet step
  };
  Kind kind = Kind::kExistingChain;
  MessageKeys keys;
  std::size_t chain_index = 0;    // kSkippedKey, kExistingChain
  std::size_t skipped_index = 0;  // kSkippedKey
  // kExistingChain, kNewChain: the receiving chain after this message, and the
  // skipped keys to add to it (only the newest kMaxMessageKeysPerChain).
  ChainKey next_chain;
  std::vector<SkippedMessageKey> new_skipped;
  // kNewChain.
  crypto::PublicKey their_ratchet_key;
  RootKey receiving_root;
  // kNewChain, filled by FinishPlan.
  bool finished = false;
  RootKey sending_root;
  crypto::KeyPair new_sender_ratchet;
  ChainKey new_sender_chain;
};

// PlanDecrypt: works out message's keys for state, changing nothing.
// kDuplicateMessage when its counter is below the chain's index and no
// skipped key is kept for it; kTooFarInFuture when it is more than
// max_jump past the chain's index (checked before any key is derived);
// kInvalidMessageKey when its ratchet key gives no shared secret. Work is
// bounded: at most max_jump chain steps. max_jump is kMaxForwardJump for a
// current state, kMaxArchivedForwardJump for a previous one.
ProtocolResult<DecryptPlan> PlanDecrypt(const SessionState& state, const SignalMessage& message,
                                        std::uint32_t max_jump);

// FinishPlan: for a kNewChain plan, generates the next sending ratchet key
// pair and its chain. Call it only after the message authenticated.
ProtocolStatus FinishPlan(DecryptPlan& plan, Rng& rng);

// ApplyPlan: commits a (finished) plan to the state it was planned against.
void ApplyPlan(SessionState& state, DecryptPlan&& plan);

}  // namespace parley::protocol
