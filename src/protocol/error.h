// Errors of the protocol layer.
//
// Precise codes; ToInteropCode() groups them into the codes of the interop
// contract (shared/interop-peer.md). Messages never carry user data.
#pragma once

#include <string_view>

#include "base/result.h"

namespace parley::protocol {

enum class ProtocolErrc {
  kMalformed,           // cannot be parsed: truncated, missing field, trailing bytes, over a size cap
  kLegacyVersion,       // message version below 3
  kUnknownVersion,      // message version above 3
  kInvalidMac,          // the message MAC does not verify
  kInvalidSignature,    // a sender-key message signature does not verify
  kDecryptFailed,       // the body does not decrypt (bad padding)
  kTooFarInFuture,      // a counter or iteration beyond the forward-jump limit
  kDuplicateMessage,    // this message's key was already used
  kNoSession,           // no session (or sender key) for this address
  kInvalidKeyId,        // refers to a prekey or signed prekey we do not have
  kInvalidKey,          // a key of the wrong length or type, or a bad signed-prekey signature
  kInvalidMessageKey,   // a malformed key inside a message
  kUntrustedIdentity,   // the peer's identity key differs from the trusted one
  kInvalidState,        // a stored record does not parse or breaks an invariant
  kLimitExceeded,       // a bound of limits.h would be exceeded
  kUnknownSenderKeyId,  // a sender-key message names a key id no stored state has
  kStorageFailed,       // a store could not read or write a record
};

template <class T>
using ProtocolResult = Result<T, ProtocolErrc>;
using ProtocolError = Error<ProtocolErrc>;
using ProtocolStatus = Status<ProtocolErrc>;

// "invalid_message", "duplicate_message", "no_session", "invalid_key_id",
// "invalid_key" or "untrusted_identity".
std::string_view ToInteropCode(ProtocolErrc code);

}  // namespace parley::protocol
