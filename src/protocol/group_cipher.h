// GroupCipher: encrypts and decrypts group messages with sender keys
// (libsignal's group_cipher), for one SenderKeyName.
//
// Encrypt() uses our own chain (name = our address in the group); Decrypt()
// uses the chains received from the sender named. Both are transactional:
// they work on a copy of the stored record and store it back only after
// success, so a message that fails (forged, duplicate, too far ahead,
// undecryptable) changes nothing and uses up no message key.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "base/byte_reader.h"
#include "base/rng.h"
#include "base/secret.h"
#include "protocol/error.h"
#include "protocol/sender_key_message.h"
#include "protocol/sender_key_store.h"

namespace parley::protocol {

class GroupCipher {
 public:
  // Neither store nor rng is owned; both must outlive the cipher.
  GroupCipher(SenderKeyStore& store, SenderKeyName name, Rng& rng)
      : store_(store), name_(std::move(name)), rng_(rng) {}

  // Encrypts plaintext with the next key of our chain and returns the signed,
  // serialized SenderKeyMessage. kNoSession when we have no chain of our own
  // under this name; kLimitExceeded for plaintext over kMaxPlaintextSize or a
  // chain at its last iteration; otherwise the store's errors.
  ProtocolResult<std::vector<std::uint8_t>> Encrypt(Bytes plaintext);

  // Parses and decrypts a serialized SenderKeyMessage: the decoder's errors
  // (SenderKeyMessage::Deserialize), then those of the overload below.
  ProtocolResult<SecretBuffer> Decrypt(Bytes serialized);

  // Decrypts a message from the sender named. Fails with kNoSession (no
  // distribution message from that sender processed), kUnknownSenderKeyId
  // (none of its states has the message's key id), kInvalidSignature,
  // kDuplicateMessage (an iteration behind the chain whose key was used or
  // dropped), kTooFarInFuture (more than kMaxForwardJump ahead; checked before
  // any key is derived), kLimitExceeded (iteration UINT32_MAX, past which the
  // chain cannot go), kDecryptFailed, or the store's errors. Keys skipped on
  // the way are kept, at most kMaxSenderMessageKeys per state.
  ProtocolResult<SecretBuffer> Decrypt(const SenderKeyMessage& message);

 private:
  SenderKeyStore& store_;
  SenderKeyName name_;
  Rng& rng_;
};

}  // namespace parley::protocol
