#include "protocol/error.h"

namespace parley::protocol {

std::string_view ToInteropCode(ProtocolErrc code) {
  switch (code) {
    case ProtocolErrc::kDuplicateMessage:
      return "duplicate_message";
    case ProtocolErrc::kNoSession:
      return "no_session";
    case ProtocolErrc::kInvalidKeyId:
      return "invalid_key_id";
    case ProtocolErrc::kInvalidKey:
      return "invalid_key";
    case ProtocolErrc::kUntrustedIdentity:
      return "untrusted_identity";
    case ProtocolErrc::kUnknownSenderKeyId:  // as libsignal-protocol-c: an invalid message
    case ProtocolErrc::kMalformed:
    case ProtocolErrc::kLegacyVersion:
    case ProtocolErrc::kUnknownVersion:
    case ProtocolErrc::kInvalidMac:
    case ProtocolErrc::kInvalidSignature:
    case ProtocolErrc::kDecryptFailed:
    case ProtocolErrc::kTooFarInFuture:
    case ProtocolErrc::kInvalidMessageKey:
    case ProtocolErrc::kInvalidState:
    case ProtocolErrc::kLimitExceeded:
    case ProtocolErrc::kStorageFailed:
      return "invalid_message";
  }
  return "invalid_message";
}

}  // namespace parley::protocol
