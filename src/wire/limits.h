// Every bound of the wire layer (S6), in one place. Each has a test at the
// limit and one past it (tests/wire/limits_test.cc).
//
// Decoders reject input past these bounds before allocating for it; encoders
// refuse to produce what a decoder would reject.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::wire {

// A frame is one WebSocket binary message (Signal-Server caps them the same).
inline constexpr std::size_t kMaxFrameSize = 512 * 1024;
// Before a connection has authenticated, only Register, LinkDevice,
// Authenticate and Ping are accepted, and only in frames up to this size: a
// Register with 100 one-time prekeys encodes to under 5 KiB.
inline constexpr std::size_t kMaxUnauthenticatedFrameSize = 8 * 1024;

// Ciphertext of one envelope (per recipient device).
inline constexpr std::size_t kMaxContentSize = 256 * 1024;

// One-time prekeys in one Register, LinkDevice or UploadKeys request.
inline constexpr std::size_t kMaxPreKeysPerUpload = 100;
// Devices an account may have at once (the primary and five companions).
inline constexpr std::size_t kMaxDevicesPerAccount = 6;
// Per-device entries in one send: at most one per recipient device.
inline constexpr std::size_t kMaxMessagesPerSend = kMaxDevicesPerAccount;
// Recipient accounts in one SendMultiRecipient request (a large group).
inline constexpr std::size_t kMaxRecipientsPerMultiSend = 1'024;

// The push window a client may ask for in AuthenticateRequest: unacknowledged
// envelope pushes in flight on one connection (the server caps it further).
inline constexpr std::uint32_t kMaxPushWindow = 4'096;

// Device ids are assigned by the server; 1 is the primary. The wire range is
// wider than the number of devices an account may have at once, which leaves
// the server free in how it assigns (and reuses) ids.
inline constexpr std::uint32_t kPrimaryDeviceId = 1;
inline constexpr std::uint32_t kMaxDeviceId = 127;
// Registration ids are 14-bit (the Signal Protocol's range).
inline constexpr std::uint32_t kMinRegistrationId = 1;
inline constexpr std::uint32_t kMaxRegistrationId = 16'380;
// One-time and signed prekey ids are 24-bit.
inline constexpr std::uint32_t kMaxPreKeyId = 0xFF'FFFF;

// Usernames: 3-32 characters of a-z, A-Z, 0-9, '_' and '.'; the server
// compares them lower-cased (CanonicalUsername).
inline constexpr std::size_t kMinUsernameSize = 3;
inline constexpr std::size_t kMaxUsernameSize = 32;
// Device names: 1-64 bytes of UTF-8 without control characters.
inline constexpr std::size_t kMaxDeviceNameSize = 64;
// Invitation tokens: 1-64 printable ASCII characters, chosen by the operator.
inline constexpr std::size_t kMaxInvitationTokenSize = 64;
// Link codes: 16-64 characters of A-Z and 0-9, the QR alphanumeric set (a
// 128-bit code in base32 is 26 characters).
inline constexpr std::size_t kMinLinkCodeSize = 16;
inline constexpr std::size_t kMaxLinkCodeSize = 64;
// The static explanation in a Response: printable ASCII.
inline constexpr std::size_t kMaxErrorDetailSize = 256;

// Fixed sizes.
inline constexpr std::size_t kPublicKeySize = 33;  // type byte 0x05 and a 32-byte X25519 key
inline constexpr std::uint8_t kDjbKeyType = 0x05;
inline constexpr std::size_t kSignatureSize = 64;  // XEdDSA
inline constexpr std::size_t kAccountIdSize = 16;  // a UUID
inline constexpr std::size_t kClientMessageIdSize = 16;
inline constexpr std::size_t kCredentialSize = 32;

}  // namespace parley::wire
