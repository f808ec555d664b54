// Every bound of the protocol layer (S6), in one place. Each has a test at the
// limit and one past it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::protocol {

// A message may be at most this many steps ahead of its chain; further is
// kTooFarInFuture, rejected before any key is derived.
inline constexpr std::uint32_t kMaxForwardJump = 25'000;
// The same bound for previous (archived) session states, which a message is
// tried against only after the current state failed: it keeps a forged
// message from costing 25,000 derivations in each of kMaxArchivedStates states.
inline constexpr std::uint32_t kMaxArchivedForwardJump = 2'000;
// Skipped message keys kept per receiving chain; the oldest go first.
inline constexpr std::size_t kMaxMessageKeysPerChain = 2'000;
// Receiving chains kept per session state; the oldest go first.
inline constexpr std::size_t kMaxReceiverChains = 5;
// Previous session states kept in a session record.
inline constexpr std::size_t kMaxArchivedStates = 40;
// Sender-key states kept per sender-key record.
inline constexpr std::size_t kMaxSenderKeyStates = 5;
// Sender-key message keys kept per state for out-of-order group messages.
inline constexpr std::size_t kMaxSenderMessageKeys = 2'000;

// Largest plaintext the ciphers accept, and largest serialized message any
// decoder accepts (plaintext, padding and framing fit within it).
inline constexpr std::size_t kMaxPlaintextSize = 256 * 1024;
inline constexpr std::size_t kMaxSerializedMessageSize = kMaxPlaintextSize + 1024;

// Prekey ids are 24-bit; 0xFFFFFF is the last-resort prekey, never deleted.
inline constexpr std::uint32_t kMaxPreKeyId = 0xFFFFFF;
inline constexpr std::uint32_t kLastResortPreKeyId = 0xFFFFFF;
// Registration ids are 14-bit.
inline constexpr std::uint32_t kMinRegistrationId = 1;
inline constexpr std::uint32_t kMaxRegistrationId = 16380;

// Current (and only accepted) message version.
inline constexpr std::uint8_t kCiphertextVersion = 3;

// Safety numbers: iterations of the fingerprint hash.
inline constexpr std::uint32_t kFingerprintIterations = 5'200;
// Most iterations a fingerprint generator accepts (each is one SHA-512).
inline constexpr std::uint32_t kMaxFingerprintIterations = 100'000;

}  // namespace parley::protocol
