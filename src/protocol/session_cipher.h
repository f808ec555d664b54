// SessionCipher: encrypts to and decrypts from one peer device, using the
// sessions in the stores.
//
// Decryption is transactional: every state is tried without being changed;
// the record is changed and SessionUpdated/StoreSession called only after the
// MAC verified and the body decrypted. A failed decryption changes no
// session, no identity, and uses up no message key and no one-time prekey.
#pragma once

#include <cstdint>
#include <vector>

#include "base/byte_reader.h"
#include "base/rng.h"
#include "base/secret.h"
#include "protocol/address.h"
#include "protocol/error.h"
#include "protocol/session_builder.h"

namespace parley::protocol {

// libsignal's type numbers for the two 1:1 message kinds.
enum class CiphertextType : std::uint8_t {
  kMessage = 2,  // a SignalMessage
  kPreKey = 3,   // a PreKeySignalMessage
};

struct CiphertextMessage {
  CiphertextType type = CiphertextType::kMessage;
  std::vector<std::uint8_t> bytes;
};

class SessionCipher {
 public:
  // rng supplies the new ratchet key pairs that decryption creates; it must
  // outlive the cipher.
  SessionCipher(ProtocolStores stores, ProtocolAddress remote, Rng& rng)
      : stores_(stores), remote_(std::move(remote)), rng_(rng) {}

  // Encrypt: encrypts plaintext on the current state's sending chain: a
  // PreKeySignalMessage while the session awaits the peer's first reply, a
  // SignalMessage afterwards. kNoSession without a current state;
  // kLimitExceeded for a plaintext over kMaxPlaintextSize or a chain at its
  // last counter.
  ProtocolResult<CiphertextMessage> Encrypt(Bytes plaintext);

  // Decrypt: DecryptSignalMessage or DecryptPreKeySignalMessage by type.
  ProtocolResult<SecretBuffer> Decrypt(CiphertextType type, Bytes serialized);

  // DecryptSignalMessage: kNoSession without a record; the decoder's errors
  // (SignalMessage::Parse); kDuplicateMessage for a message key already used;
  // kTooFarInFuture; kInvalidMac when no state authenticates the message;
  // kDecryptFailed when it authenticated but the body does not decrypt.
  ProtocolResult<SecretBuffer> DecryptSignalMessage(Bytes serialized);

  // DecryptPreKeySignalMessage: as DecryptSignalMessage, and first X3DH as
  // responder unless a state with the message's base key exists: the new
  // state becomes current (archiving the old one) only if the embedded
  // message decrypts; then the sender's identity is trusted on first use and
  // the one-time prekey (never the last-resort one) deleted. Also
  // kUntrustedIdentity, and kInvalidKeyId for an unknown prekey id.
  ProtocolResult<SecretBuffer> DecryptPreKeySignalMessage(Bytes serialized);

 private:
  ProtocolStores stores_;
  ProtocolAddress remote_;
  Rng& rng_;
};

}  // namespace parley::protocol
