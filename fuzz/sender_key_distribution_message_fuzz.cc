// Decodes arbitrary bytes as a SenderKeyDistributionMessage. A decoded message
// re-encodes to one that decodes to the same fields, and processing it stores
// a state with exactly those fields.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "base/rng.h"
#include "protocol/group_session_builder.h"
#include "protocol/sender_key_distribution_message.h"
#include "protocol/sender_key_store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::protocol;
  auto parsed = SenderKeyDistributionMessage::Deserialize(parley::Bytes(data, size));
  if (!parsed) return 0;

  const auto rebuilt = SenderKeyDistributionMessage::Create(parsed->key_id(), parsed->iteration(),
                                                            parsed->chain_key(), parsed->signing_key());
  auto reparsed = SenderKeyDistributionMessage::Deserialize(rebuilt.serialized());
  if (!reparsed || reparsed->key_id() != parsed->key_id() || reparsed->iteration() != parsed->iteration() ||
      !std::ranges::equal(reparsed->chain_key().bytes(), parsed->chain_key().bytes()) ||
      !(reparsed->signing_key() == parsed->signing_key())) {
    std::abort();
  }

  const SenderKeyName sender{"g", ProtocolAddress{"s", parley::DeviceId(1)}};
  InMemorySenderKeyStore store;
  parley::DeterministicRng rng(1);
  if (!GroupSessionBuilder(store, rng).Process(sender, *parsed)) std::abort();
  auto record = store.LoadSenderKey(sender);
  if (!record || !*record) std::abort();
  const SenderKeyState* state = (*record)->NewestState();
  if (state == nullptr || state->key_id() != parsed->key_id() ||
      state->chain_key().iteration() != parsed->iteration() || state->signing_private().has_value() ||
      !(state->signing_public() == parsed->signing_key())) {
    std::abort();
  }
  return 0;
}
