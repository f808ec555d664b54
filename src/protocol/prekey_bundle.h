// PreKeyBundle: what a server hands out so that a peer can start a session
// with one device (X3DH as initiator, see SessionBuilder).
#pragma once

#include <optional>

#include "base/byte_reader.h"
#include "base/strong_id.h"
#include "crypto/x25519.h"
#include "crypto/xeddsa.h"
#include "protocol/error.h"

namespace parley::protocol {

struct PreKeyBundle {
  RegistrationId registration_id;
  DeviceId device_id;
  crypto::PublicKey identity_key;
  SignedPreKeyId signed_prekey_id;
  crypto::PublicKey signed_prekey;
  crypto::Signature signed_prekey_signature{};
  // A one-time prekey, when the server still had one.
  std::optional<PreKeyId> prekey_id;
  std::optional<crypto::PublicKey> prekey;

  // FromSerialized: builds a bundle from wire values (33-byte keys, 64-byte
  // signature). kInvalidKey on a key of the wrong length or type, a signature
  // of the wrong length, or a prekey id without a prekey (or the reverse).
  // The signature is not checked here; see VerifySignature.
  static ProtocolResult<PreKeyBundle> FromSerialized(RegistrationId registration_id, DeviceId device_id,
                                                     Bytes identity_key, SignedPreKeyId signed_prekey_id,
                                                     Bytes signed_prekey, Bytes signed_prekey_signature,
                                                     std::optional<PreKeyId> prekey_id,
                                                     std::optional<Bytes> prekey);

  // VerifySignature: true when signed_prekey_signature is identity_key's
  // signature over the serialized signed prekey.
  bool VerifySignature() const;
};

}  // namespace parley::protocol
