// SessionBuilder: starts sessions with one peer device by X3DH.
//
// As initiator it processes the peer's PreKeyBundle; as responder it builds
// the state a PreKeySignalMessage asks for (SessionCipher calls that, so that
// the state is stored only once the embedded message has decrypted).
#pragma once

#include <optional>

#include "base/rng.h"
#include "protocol/address.h"
#include "protocol/error.h"
#include "protocol/identity_key_store.h"
#include "protocol/prekey_bundle.h"
#include "protocol/prekey_signal_message.h"
#include "protocol/prekey_store.h"
#include "protocol/session_state.h"
#include "protocol/session_store.h"

namespace parley::protocol {

// The stores one device's protocol state lives in. The referenced stores must
// outlive every SessionBuilder and SessionCipher given them.
struct ProtocolStores {
  IdentityKeyStore& identities;
  PreKeyStore& prekeys;
  SignedPreKeyStore& signed_prekeys;
  SessionStore& sessions;
};

class SessionBuilder {
 public:
  SessionBuilder(ProtocolStores stores, ProtocolAddress remote)
      : stores_(stores), remote_(std::move(remote)) {}

  // ProcessPreKeyBundle: X3DH as initiator from the peer's bundle. The new
  // state becomes current (an existing current state is archived), and
  // every message sent on it is a PreKeySignalMessage until the peer replies.
  // The bundle's identity is trusted on first use. Fails, changing nothing,
  // with kUntrustedIdentity if a different identity is trusted for the peer,
  // kInvalidKey if the signed prekey's signature does not verify or a key
  // gives no shared secret, or a store's error.
  ProtocolStatus ProcessPreKeyBundle(const PreKeyBundle& bundle, Rng& rng);

  // A responder state built from a PreKeySignalMessage, not stored yet, and
  // the one-time prekey it used (to delete once the message decrypted).
  struct ResponderSetup {
    SessionState state;
    std::optional<PreKeyId> used_prekey;
  };
  // PrepareResponder: X3DH as responder. kInvalidKeyId if the message names
  // a signed prekey or one-time prekey this device does not have;
  // kInvalidMessageKey if a key gives no shared secret. Changes nothing.
  ProtocolResult<ResponderSetup> PrepareResponder(const PreKeySignalMessage& message) const;

 private:
  ProtocolStores stores_;
  ProtocolAddress remote_;
};

}  // namespace parley::protocol
