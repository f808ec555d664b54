#include "protocol/error.h"

#include <gtest/gtest.h>

namespace parley::protocol {
namespace {

TEST(ProtocolError, InteropCodes) {
  EXPECT_EQ(ToInteropCode(ProtocolErrc::kDuplicateMessage), "duplicate_message");
  EXPECT_EQ(ToInteropCode(ProtocolErrc::kNoSession), "no_session");
  EXPECT_EQ(ToInteropCode(ProtocolErrc::kInvalidKeyId), "invalid_key_id");
  EXPECT_EQ(ToInteropCode(ProtocolErrc::kInvalidKey), "invalid_key");
  EXPECT_EQ(ToInteropCode(ProtocolErrc::kUntrustedIdentity), "untrusted_identity");
  for (auto code :
       {ProtocolErrc::kMalformed, ProtocolErrc::kLegacyVersion, ProtocolErrc::kUnknownVersion,
        ProtocolErrc::kInvalidMac, ProtocolErrc::kInvalidSignature, ProtocolErrc::kDecryptFailed,
        ProtocolErrc::kTooFarInFuture, ProtocolErrc::kInvalidMessageKey, ProtocolErrc::kInvalidState,
        ProtocolErrc::kLimitExceeded, ProtocolErrc::kStorageFailed, ProtocolErrc::kUnknownSenderKeyId}) {
    EXPECT_EQ(ToInteropCode(code), "invalid_message") << static_cast<int>(code);
  }
}

}  // namespace
}  // namespace parley::protocol
