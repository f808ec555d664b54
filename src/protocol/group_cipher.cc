#include "protocol/group_cipher.h"

#include <limits>
#include <optional>
#include <utility>

#include "crypto/cipher.h"
#include "protocol/limits.h"
#include "protocol/sender_key_chain.h"
#include "protocol/sender_key_record.h"
#include "protocol/sender_key_state.h"

namespace parley::protocol {

namespace {

constexpr std::uint32_t kLastIteration = std::numeric_limits<std::uint32_t>::max();

// The message key of `iteration`, taking it from the kept keys or advancing
// the chain to it (keeping the keys skipped on the way).
ProtocolResult<SenderMessageKey> MessageKeyFor(SenderKeyState& state, std::uint32_t iteration) {
  const std::uint32_t current = state.chain_key().iteration();
  if (iteration < current) {
    std::optional<SenderMessageKey> kept = state.TakeMessageKey(iteration);
    if (!kept) return Fail(ProtocolErrc::kDuplicateMessage, "sender-key message key already used");
    return std::move(*kept);
  }
  if (iteration - current > kMaxForwardJump) {
    return Fail(ProtocolErrc::kTooFarInFuture, "sender-key message too far in the future");
  }
  if (iteration == kLastIteration) return Fail(ProtocolErrc::kLimitExceeded, "sender-key chain exhausted");

  SenderChainKey chain = state.chain_key();
  while (chain.iteration() < iteration) {
    // Keys older than the newest kMaxSenderMessageKeys would be dropped at
    // once, so they are not derived at all.
    if (iteration - chain.iteration() <= kMaxSenderMessageKeys) {
      SenderChainKey::Step step = chain.Advance();
      state.AddMessageKey(std::move(step.message_key));
      chain = std::move(step.next);
    } else {
      chain = chain.Next();
    }
  }
  SenderChainKey::Step step = chain.Advance();
  state.set_chain_key(std::move(step.next));
  return std::move(step.message_key);
}

}  // namespace

ProtocolResult<std::vector<std::uint8_t>> GroupCipher::Encrypt(Bytes plaintext) {
  if (plaintext.size() > kMaxPlaintextSize) return Fail(ProtocolErrc::kLimitExceeded, "plaintext too large");
  auto loaded = store_.LoadSenderKey(name_);
  if (!loaded) return tl::unexpected(loaded.error());
  if (!loaded->has_value()) return Fail(ProtocolErrc::kNoSession, "no sender key of our own");
  SenderKeyRecord record = std::move(**loaded);
  SenderKeyState* state = record.NewestState();
  if (state == nullptr || !state->signing_private()) {
    return Fail(ProtocolErrc::kNoSession, "no sender key of our own");
  }
  if (state->chain_key().iteration() == kLastIteration)
    return Fail(ProtocolErrc::kLimitExceeded, "sender-key chain exhausted");

  SenderChainKey::Step step = state->chain_key().Advance();
  const SenderCipherKeys keys = step.message_key.DeriveCipherKeys();
  const std::vector<std::uint8_t> ciphertext =
      crypto::Aes256CbcEncrypt(keys.cipher_key.bytes(), keys.iv.bytes(), plaintext);
  SenderKeyMessage message = SenderKeyMessage::Create(state->key_id(), step.message_key.iteration(),
                                                      ciphertext, *state->signing_private(), rng_);
  state->set_chain_key(std::move(step.next));
  if (auto stored = store_.StoreSenderKey(name_, record); !stored) return tl::unexpected(stored.error());
  return message.serialized();
}

ProtocolResult<SecretBuffer> GroupCipher::Decrypt(Bytes serialized) {
  auto message = SenderKeyMessage::Deserialize(serialized);
  if (!message) return tl::unexpected(message.error());
  return Decrypt(*message);
}

ProtocolResult<SecretBuffer> GroupCipher::Decrypt(const SenderKeyMessage& message) {
  auto loaded = store_.LoadSenderKey(name_);
  if (!loaded) return tl::unexpected(loaded.error());
  if (!loaded->has_value() || (*loaded)->empty()) {
    return Fail(ProtocolErrc::kNoSession, "no sender key from this sender");
  }
  SenderKeyRecord record = std::move(**loaded);
  SenderKeyState* state = record.StateForKeyId(message.key_id());
  if (state == nullptr) return Fail(ProtocolErrc::kUnknownSenderKeyId, "no sender-key state for this key id");
  if (auto verified = message.VerifySignature(state->signing_public()); !verified) {
    return tl::unexpected(verified.error());
  }
  auto key = MessageKeyFor(*state, message.iteration());
  if (!key) return tl::unexpected(key.error());

  const SenderCipherKeys keys = key->DeriveCipherKeys();
  auto plaintext = crypto::Aes256CbcDecrypt(keys.cipher_key.bytes(), keys.iv.bytes(), message.ciphertext());
  if (!plaintext) return Fail(ProtocolErrc::kDecryptFailed, "sender-key message does not decrypt");
  if (auto stored = store_.StoreSenderKey(name_, record); !stored) return tl::unexpected(stored.error());
  return std::move(*plaintext);
}

}  // namespace parley::protocol
