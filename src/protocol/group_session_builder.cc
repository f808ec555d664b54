#include "protocol/group_session_builder.h"

#include <array>
#include <cstdint>

namespace parley::protocol {

namespace {

std::uint32_t RandomKeyId(Rng& rng) {
  std::array<std::uint8_t, 4> bytes{};
  rng.Fill(bytes);
  const std::uint32_t value = (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
                              (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
  return value & 0x7FFFFFFFu;
}

}  // namespace

ProtocolResult<SenderKeyDistributionMessage> GroupSessionBuilder::CreateDistribution(
    const SenderKeyName& own) {
  auto loaded = store_.LoadSenderKey(own);
  if (!loaded) return tl::unexpected(loaded.error());
  SenderKeyRecord record = loaded->has_value() ? std::move(**loaded) : SenderKeyRecord();

  SenderKeyState* state = record.NewestState();
  if (state == nullptr || !state->signing_private()) {
    const std::uint32_t key_id = RandomKeyId(rng_);
    SecretArray<kSenderChainKeySize> chain_key;
    rng_.Fill(chain_key.bytes());
    const crypto::KeyPair signing_key = crypto::KeyPair::Generate(rng_);
    record.SetOwnState(key_id, 0, chain_key, signing_key);
    if (auto stored = store_.StoreSenderKey(own, record); !stored) return tl::unexpected(stored.error());
    state = record.NewestState();
  }
  return SenderKeyDistributionMessage::Create(state->key_id(), state->chain_key().iteration(),
                                              state->chain_key().key(), state->signing_public());
}

ProtocolResult<void> GroupSessionBuilder::Process(const SenderKeyName& sender,
                                                  const SenderKeyDistributionMessage& message) {
  auto loaded = store_.LoadSenderKey(sender);
  if (!loaded) return tl::unexpected(loaded.error());
  SenderKeyRecord record = loaded->has_value() ? std::move(**loaded) : SenderKeyRecord();
  record.AddState(message.key_id(), message.iteration(), message.chain_key(), message.signing_key());
  return store_.StoreSenderKey(sender, record);
}

}  // namespace parley::protocol
