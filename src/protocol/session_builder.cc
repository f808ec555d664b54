#include "protocol/session_builder.h"

#include "protocol/limits.h"
#include "protocol/ratchet.h"

namespace parley::protocol {

ProtocolStatus SessionBuilder::ProcessPreKeyBundle(const PreKeyBundle& bundle, Rng& rng) {
  if (!stores_.identities.IsTrustedIdentity(remote_, bundle.identity_key)) {
    return Fail(ProtocolErrc::kUntrustedIdentity, "the bundle's identity is not the trusted one");
  }
  if (!bundle.VerifySignature()) return Fail(ProtocolErrc::kInvalidKey, "bad signed prekey signature");
  if (bundle.prekey_id.has_value() != bundle.prekey.has_value()) {
    return Fail(ProtocolErrc::kInvalidKey, "bundle has a prekey id without a prekey or the reverse");
  }

  const crypto::KeyPair& identity = stores_.identities.GetIdentityKeyPair();
  crypto::KeyPair base_key = crypto::KeyPair::Generate(rng);
  auto agreed =
      InitiatorAgreement(identity, base_key, bundle.identity_key, bundle.signed_prekey, bundle.prekey);
  if (!agreed) return tl::unexpected(agreed.error());
  crypto::KeyPair sending = crypto::KeyPair::Generate(rng);
  auto step = RootStep(agreed->root, bundle.signed_prekey, sending.private_key);
  if (!step) return Fail(ProtocolErrc::kInvalidKey, "bundle key gives no shared secret");

  SessionState state;
  state.local_identity = identity.public_key;
  state.remote_identity = bundle.identity_key;
  state.local_registration_id = stores_.identities.GetLocalRegistrationId();
  state.remote_registration_id = bundle.registration_id;
  state.base_key = base_key.public_key;
  state.root_key = std::move(step->root);
  state.sender_ratchet = std::move(sending);
  state.sender_chain = std::move(step->chain);
  // The signed prekey is the responder's first ratchet key.
  state.receiver_chains.push_back(ReceiverChain{bundle.signed_prekey, std::move(agreed->chain), {}});
  state.pending_prekey = PendingPreKey{bundle.prekey_id, bundle.signed_prekey_id, base_key.public_key};

  if (SessionRecord* record = stores_.sessions.LoadSession(remote_)) {
    record->PromoteState(std::move(state));
    if (auto s = stores_.sessions.SessionUpdated(remote_); !s) return s;
  } else {
    if (auto s = stores_.sessions.StoreSession(remote_, SessionRecord(std::move(state))); !s) return s;
  }
  return stores_.identities.SaveIdentity(remote_, bundle.identity_key);
}

ProtocolResult<SessionBuilder::ResponderSetup> SessionBuilder::PrepareResponder(
    const PreKeySignalMessage& message) const {
  auto signed_prekey = stores_.signed_prekeys.LoadSignedPreKey(message.signed_prekey_id);
  if (!signed_prekey) return tl::unexpected(signed_prekey.error());
  std::optional<crypto::KeyPair> one_time;
  if (message.prekey_id) {
    auto prekey = stores_.prekeys.LoadPreKey(*message.prekey_id);
    if (!prekey) return tl::unexpected(prekey.error());
    one_time = std::move(prekey->key_pair);
  }
  const crypto::KeyPair& identity = stores_.identities.GetIdentityKeyPair();
  auto agreed =
      ResponderAgreement(identity, signed_prekey->key_pair, one_time, message.identity_key, message.base_key);
  if (!agreed) return tl::unexpected(agreed.error());

  ResponderSetup setup;
  SessionState& state = setup.state;
  state.local_identity = identity.public_key;
  state.remote_identity = message.identity_key;
  state.local_registration_id = stores_.identities.GetLocalRegistrationId();
  state.remote_registration_id = message.registration_id;
  state.base_key = message.base_key;
  state.root_key = std::move(agreed->root);
  // The signed prekey pair is the responder's first sending ratchet key.
  state.sender_ratchet = std::move(signed_prekey->key_pair);
  state.sender_chain = std::move(agreed->chain);
  if (message.prekey_id && message.prekey_id->value() != kLastResortPreKeyId)
    setup.used_prekey = message.prekey_id;
  return setup;
}

}  // namespace parley::protocol
