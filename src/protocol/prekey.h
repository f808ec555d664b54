// Identity keys, one-time prekeys and signed prekeys, and their generation.
//
// An identity key pair is a plain crypto::KeyPair. A PreKeyRecord is a
// one-time prekey (24-bit id) whose private half the PreKeyStore keeps until
// a PreKeySignalMessage uses it; kLastResortPreKeyId is never deleted. A
// SignedPreKeyRecord's signature is XEdDSA by the identity key over the
// 33-byte serialized public key, as libsignal makes and checks it.
#pragma once

#include <cstdint>
#include <vector>

#include "base/rng.h"
#include "base/strong_id.h"
#include "crypto/x25519.h"
#include "crypto/xeddsa.h"
#include "protocol/error.h"

namespace parley::protocol {

using IdentityKeyPair = crypto::KeyPair;

struct PreKeyRecord {
  PreKeyId id;
  crypto::KeyPair key_pair;
};

struct SignedPreKeyRecord {
  SignedPreKeyId id;
  crypto::KeyPair key_pair;
  crypto::Signature signature{};
  // Milliseconds since the Unix epoch when it was made (from the injected Clock).
  std::int64_t timestamp_millis = 0;
};

// GenerateIdentityKeyPair: a fresh identity key pair.
IdentityKeyPair GenerateIdentityKeyPair(Rng& rng);

// GenerateRegistrationId: uniform in [kMinRegistrationId, kMaxRegistrationId].
RegistrationId GenerateRegistrationId(Rng& rng);

// GeneratePreKeys: count one-time prekeys with consecutive ids from first_id,
// wrapping from 0xFFFFFE back to 1 (0 and the last-resort id are skipped).
// kLimitExceeded if count is larger than kMaxPreKeyId - 1; kInvalidKeyId if
// first_id is 0 or above 0xFFFFFE.
ProtocolResult<std::vector<PreKeyRecord>> GeneratePreKeys(PreKeyId first_id, std::uint32_t count, Rng& rng);

// GenerateLastResortPreKey: the prekey with id kLastResortPreKeyId.
PreKeyRecord GenerateLastResortPreKey(Rng& rng);

// GenerateSignedPreKey: a signed prekey signed by identity. kInvalidKeyId if
// id is above kMaxPreKeyId.
ProtocolResult<SignedPreKeyRecord> GenerateSignedPreKey(const IdentityKeyPair& identity, SignedPreKeyId id,
                                                        std::int64_t timestamp_millis, Rng& rng);

// VerifySignedPreKey: true when signature is identity's XEdDSA signature over
// the 33-byte serialization of signed_prekey.
bool VerifySignedPreKey(const crypto::PublicKey& identity, const crypto::PublicKey& signed_prekey,
                        Bytes signature);

}  // namespace parley::protocol
