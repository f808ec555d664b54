// SenderKeyState: what a group member knows of one sender chain — its key id,
// the current chain key, the sender's signing key (with the private half only
// for our own chain), and message keys kept for messages that arrived out of
// order, bounded by kMaxSenderMessageKeys (the oldest go first).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "crypto/x25519.h"
#include "protocol/sender_key_chain.h"

namespace parley::protocol {

class SenderKeyState {
 public:
  SenderKeyState(std::uint32_t key_id, SenderChainKey chain_key, crypto::PublicKey signing_public,
                 std::optional<crypto::PrivateKey> signing_private)
      : key_id_(key_id),
        chain_key_(std::move(chain_key)),
        signing_public_(signing_public),
        signing_private_(std::move(signing_private)) {}

  std::uint32_t key_id() const { return key_id_; }
  const SenderChainKey& chain_key() const { return chain_key_; }
  void set_chain_key(SenderChainKey chain_key) { chain_key_ = std::move(chain_key); }
  const crypto::PublicKey& signing_public() const { return signing_public_; }
  // Set only on the state of our own chain.
  const std::optional<crypto::PrivateKey>& signing_private() const { return signing_private_; }

  // Keeps a skipped message key; past kMaxSenderMessageKeys the oldest kept
  // key is dropped.
  void AddMessageKey(SenderMessageKey key);
  bool HasMessageKey(std::uint32_t iteration) const;
  // Removes and returns the kept key of `iteration`, if any: a key is used once.
  std::optional<SenderMessageKey> TakeMessageKey(std::uint32_t iteration);
  // Oldest first.
  const std::deque<SenderMessageKey>& message_keys() const { return message_keys_; }

 private:
  std::uint32_t key_id_;
  SenderChainKey chain_key_;
  crypto::PublicKey signing_public_;
  std::optional<crypto::PrivateKey> signing_private_;
  std::deque<SenderMessageKey> message_keys_;
};

}  // namespace parley::protocol
