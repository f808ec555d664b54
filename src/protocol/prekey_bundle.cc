#include "protocol/prekey_bundle.h"

#include <algorithm>

#include "protocol/prekey.h"

namespace parley::protocol {

ProtocolResult<PreKeyBundle> PreKeyBundle::FromSerialized(RegistrationId registration_id, DeviceId device_id,
                                                          Bytes identity_key, SignedPreKeyId signed_prekey_id,
                                                          Bytes signed_prekey, Bytes signed_prekey_signature,
                                                          std::optional<PreKeyId> prekey_id,
                                                          std::optional<Bytes> prekey) {
  PreKeyBundle b;
  b.registration_id = registration_id;
  b.device_id = device_id;
  b.signed_prekey_id = signed_prekey_id;
  auto identity = crypto::PublicKey::Deserialize(identity_key);
  if (!identity) return Fail(ProtocolErrc::kInvalidKey, "bundle identity key is not a 33-byte key");
  b.identity_key = *identity;
  auto spk = crypto::PublicKey::Deserialize(signed_prekey);
  if (!spk) return Fail(ProtocolErrc::kInvalidKey, "bundle signed prekey is not a 33-byte key");
  b.signed_prekey = *spk;
  if (signed_prekey_signature.size() != crypto::kSignatureSize) {
    return Fail(ProtocolErrc::kInvalidKey, "bundle signature is not 64 bytes");
  }
  std::copy(signed_prekey_signature.begin(), signed_prekey_signature.end(),
            b.signed_prekey_signature.begin());
  if (prekey_id.has_value() != prekey.has_value()) {
    return Fail(ProtocolErrc::kInvalidKey, "bundle has a prekey id without a prekey or the reverse");
  }
  if (prekey) {
    auto opk = crypto::PublicKey::Deserialize(*prekey);
    if (!opk) return Fail(ProtocolErrc::kInvalidKey, "bundle one-time prekey is not a 33-byte key");
    b.prekey_id = prekey_id;
    b.prekey = *opk;
  }
  return b;
}

bool PreKeyBundle::VerifySignature() const {
  return VerifySignedPreKey(identity_key, signed_prekey, signed_prekey_signature);
}

}  // namespace parley::protocol
