// GroupSessionBuilder: sets up sender keys (libsignal's group_session_builder).
//
// A member creates its own chain for a group once and sends the resulting
// SenderKeyDistributionMessage to every other member over 1:1 sessions; each
// member processes the distribution messages it receives, after which it can
// decrypt that sender's group messages with GroupCipher.
#pragma once

#include "base/rng.h"
#include "protocol/error.h"
#include "protocol/sender_key_distribution_message.h"
#include "protocol/sender_key_store.h"

namespace parley::protocol {

class GroupSessionBuilder {
 public:
  // Neither store nor rng is owned; both must outlive the builder.
  GroupSessionBuilder(SenderKeyStore& store, Rng& rng) : store_(store), rng_(rng) {}

  // The distribution message for our own chain under `own` (our address in
  // the group). When we have no chain of our own there yet, one is created
  // and stored first: a random 31-bit key id, a random chain key at
  // iteration 0 and a fresh signing key pair. Otherwise the message carries
  // our chain's current iteration. Fails only with the store's errors.
  ProtocolResult<SenderKeyDistributionMessage> CreateDistribution(const SenderKeyName& own);

  // Records a sender's chain from its distribution message (see
  // SenderKeyRecord::AddState). Fails only with the store's errors.
  ProtocolResult<void> Process(const SenderKeyName& sender, const SenderKeyDistributionMessage& message);

 private:
  SenderKeyStore& store_;
  Rng& rng_;
};

}  // namespace parley::protocol
