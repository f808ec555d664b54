// The fixed group the sender-key fuzz targets decrypt in, shared with the
// program that writes their seed corpora (tests/protocol/
// sender_key_fuzz_seeds_main.cc), so that seed messages verify and decrypt.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "base/rng.h"
#include "protocol/group_session_builder.h"
#include "protocol/sender_key_distribution_message.h"
#include "protocol/sender_key_store.h"

namespace parley::fuzz {

inline const protocol::SenderKeyName kFuzzSender{"fuzz-group",
                                                 protocol::ProtocolAddress{"sender", DeviceId(1)}};

// The sender's own chain and its distribution message, made from a fixed seed.
struct FuzzGroup {
  DeterministicRng rng{0x5E4D};
  protocol::InMemorySenderKeyStore sender_store;
  std::vector<std::uint8_t> distribution;
};

inline void MakeFuzzGroup(FuzzGroup& group) {
  auto d = protocol::GroupSessionBuilder(group.sender_store, group.rng).CreateDistribution(kFuzzSender);
  if (!d) std::abort();
  group.distribution.assign(d->serialized().begin(), d->serialized().end());
}

// A receiver's store that has processed the sender's distribution message.
inline protocol::InMemorySenderKeyStore MakeFuzzReceiver(const FuzzGroup& group) {
  auto d = protocol::SenderKeyDistributionMessage::Deserialize(group.distribution);
  if (!d) std::abort();
  protocol::InMemorySenderKeyStore store;
  DeterministicRng rng(1);
  if (!protocol::GroupSessionBuilder(store, rng).Process(kFuzzSender, *d)) std::abort();
  return store;
}

}  // namespace parley::fuzz
