#include "protocol/session_cipher.h"

#include <limits>
#include <optional>
#include <utility>

#include "crypto/cipher.h"
#include "protocol/limits.h"
#include "protocol/prekey_signal_message.h"
#include "protocol/signal_message.h"

namespace parley::protocol {

namespace {

// Authenticates and decrypts message against state without changing it; on
// success plan holds the (finished) change to apply.
// max_jump bounds how far ahead of its chain the message may be.
ProtocolResult<SecretBuffer> TryState(const SessionState& state, const SignalMessage& message,
                                      std::uint32_t max_jump, DecryptPlan& plan, Rng& rng) {
  auto planned = PlanDecrypt(state, message, max_jump);
  if (!planned) return tl::unexpected(planned.error());
  if (!message.VerifyMac(state.remote_identity, state.local_identity, planned->keys.mac_key.bytes())) {
    return Fail(ProtocolErrc::kInvalidMac, "message MAC does not verify");
  }
  auto body = crypto::Aes256CbcDecrypt(planned->keys.cipher_key.bytes(), planned->keys.iv.bytes(),
                                       message.ciphertext);
  if (!body) return Fail(ProtocolErrc::kDecryptFailed, "message body does not decrypt");
  if (auto finished = FinishPlan(*planned, rng); !finished) return tl::unexpected(finished.error());
  plan = std::move(*planned);
  return std::move(*body);
}

// Errors after which no other state is tried: the message was recognized.
bool IsFinal(ProtocolErrc code) {
  return code == ProtocolErrc::kDuplicateMessage || code == ProtocolErrc::kDecryptFailed;
}

// Decrypts with the current state, then the previous ones; a previous state
// that works becomes current. Changes record only on success.
ProtocolResult<SecretBuffer> DecryptWithRecord(SessionRecord& record, const SignalMessage& message,
                                               Rng& rng) {
  std::optional<ProtocolError> first_error;
  DecryptPlan plan;
  if (SessionState* current = record.current_state()) {
    auto plaintext = TryState(*current, message, kMaxForwardJump, plan, rng);
    if (plaintext) {
      ApplyPlan(*current, std::move(plan));
      return plaintext;
    }
    if (IsFinal(plaintext.error().code)) return plaintext;
    first_error = plaintext.error();
  }
  auto& previous = record.previous_states();
  for (std::size_t i = 0; i < previous.size(); ++i) {
    auto plaintext = TryState(previous[i], message, kMaxArchivedForwardJump, plan, rng);
    if (plaintext) {
      ApplyPlan(previous[i], std::move(plan));
      record.PromotePreviousState(i);
      return plaintext;
    }
    if (IsFinal(plaintext.error().code)) return plaintext;
    if (!first_error) first_error = plaintext.error();
  }
  if (first_error) return tl::unexpected(*first_error);
  return Fail(ProtocolErrc::kNoSession, "session record holds no state");
}

}  // namespace

ProtocolResult<CiphertextMessage> SessionCipher::Encrypt(Bytes plaintext) {
  if (plaintext.size() > kMaxPlaintextSize) return Fail(ProtocolErrc::kLimitExceeded, "plaintext too large");
  SessionRecord* record = stores_.sessions.LoadSession(remote_);
  SessionState* state = record != nullptr ? record->current_state() : nullptr;
  if (state == nullptr) return Fail(ProtocolErrc::kNoSession, "no session with this address");
  if (state->sender_chain.index == std::numeric_limits<std::uint32_t>::max()) {
    return Fail(ProtocolErrc::kLimitExceeded, "sending chain exhausted");
  }

  ChainKey::Step step = state->sender_chain.Advance();
  const MessageKeys keys = MessageKeys::Derive(step.seed);
  const std::vector<std::uint8_t> body =
      crypto::Aes256CbcEncrypt(keys.cipher_key.bytes(), keys.iv.bytes(), plaintext);
  CiphertextMessage out;
  out.bytes = EncodeSignalMessage(state->sender_ratchet.public_key, state->sender_chain.index,
                                  state->previous_counter, body, keys.mac_key.bytes(), state->local_identity,
                                  state->remote_identity);
  if (state->pending_prekey) {
    out.type = CiphertextType::kPreKey;
    out.bytes = EncodePreKeySignalMessage(state->local_registration_id, state->pending_prekey->prekey_id,
                                          state->pending_prekey->signed_prekey_id,
                                          state->pending_prekey->base_key, state->local_identity, out.bytes);
  }
  state->sender_chain = std::move(step.next);
  if (auto s = stores_.sessions.SessionUpdated(remote_); !s) return tl::unexpected(s.error());
  return out;
}

ProtocolResult<SecretBuffer> SessionCipher::Decrypt(CiphertextType type, Bytes serialized) {
  return type == CiphertextType::kPreKey ? DecryptPreKeySignalMessage(serialized)
                                         : DecryptSignalMessage(serialized);
}

ProtocolResult<SecretBuffer> SessionCipher::DecryptSignalMessage(Bytes serialized) {
  auto message = SignalMessage::Parse(serialized);
  if (!message) return tl::unexpected(message.error());
  SessionRecord* record = stores_.sessions.LoadSession(remote_);
  if (record == nullptr) return Fail(ProtocolErrc::kNoSession, "no session with this address");
  auto plaintext = DecryptWithRecord(*record, *message, rng_);
  if (!plaintext) return plaintext;
  if (auto s = stores_.sessions.SessionUpdated(remote_); !s) return tl::unexpected(s.error());
  return plaintext;
}

ProtocolResult<SecretBuffer> SessionCipher::DecryptPreKeySignalMessage(Bytes serialized) {
  auto message = PreKeySignalMessage::Parse(serialized);
  if (!message) return tl::unexpected(message.error());
  if (!stores_.identities.IsTrustedIdentity(remote_, message->identity_key)) {
    return Fail(ProtocolErrc::kUntrustedIdentity, "the sender's identity is not the trusted one");
  }
  SessionRecord* record = stores_.sessions.LoadSession(remote_);

  if (record != nullptr && record->HasStateWithBaseKey(message->base_key)) {
    // A repeat of a session already set up: just its embedded message.
    auto plaintext = DecryptWithRecord(*record, message->message, rng_);
    if (!plaintext) return plaintext;
    if (auto s = stores_.sessions.SessionUpdated(remote_); !s) return tl::unexpected(s.error());
    if (auto s = stores_.identities.SaveIdentity(remote_, message->identity_key); !s) {
      return tl::unexpected(s.error());
    }
    return plaintext;
  }

  SessionBuilder builder(stores_, remote_);
  auto setup = builder.PrepareResponder(*message);
  if (!setup) return tl::unexpected(setup.error());
  DecryptPlan plan;
  auto plaintext = TryState(setup->state, message->message, kMaxForwardJump, plan, rng_);
  if (!plaintext) return plaintext;
  ApplyPlan(setup->state, std::move(plan));

  if (record != nullptr) {
    record->PromoteState(std::move(setup->state));
    if (auto s = stores_.sessions.SessionUpdated(remote_); !s) return tl::unexpected(s.error());
  } else if (auto s = stores_.sessions.StoreSession(remote_, SessionRecord(std::move(setup->state))); !s) {
    return tl::unexpected(s.error());
  }
  if (auto s = stores_.identities.SaveIdentity(remote_, message->identity_key); !s)
    return tl::unexpected(s.error());
  if (setup->used_prekey) {
    if (auto s = stores_.prekeys.RemovePreKey(*setup->used_prekey); !s) return tl::unexpected(s.error());
  }
  return plaintext;
}

}  // namespace parley::protocol
