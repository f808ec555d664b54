// Every bound of the server store (S6), in one place. Each has a conformance
// test at the limit and one past it.
//
// These are storage caps: the last line of defence behind the request
// handlers, which apply their own (equal or stricter) limits from the wire
// layer and the configuration.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::store {

// Devices per account (the primary and its linked companions); device ids are
// 1..kMaxDevicesPerAccount. Past it: kLimitExceeded.
inline constexpr std::size_t kMaxDevicesPerAccount = 6;

// Default bound of each device's message queue (StoreOptions::max_queue_depth).
// Past it: kQueueFull.
inline constexpr std::uint64_t kDefaultMaxQueueDepth = 10'000;

// Default cap on an attachment's declared size (StoreOptions::max_attachment_bytes).
// Past it: kLimitExceeded.
inline constexpr std::uint64_t kDefaultMaxAttachmentBytes = 100ull * 1024 * 1024;

// Largest stored username in bytes. The server's naming rule (3-32 characters
// of [a-z0-9_.]) is stricter; this cap only bounds the column.
inline constexpr std::size_t kMaxUsernameBytes = 64;
// Largest device name in bytes.
inline constexpr std::size_t kMaxDeviceNameBytes = 256;
// Largest credential salt and credential hash, each, in bytes (a SHA-256 or
// BLAKE2b-512 output fits).
inline constexpr std::size_t kMaxCredentialFieldBytes = 64;

// One-time prekeys stored per device. An upload that would pass it is refused
// whole with kLimitExceeded.
inline constexpr std::size_t kMaxOneTimePreKeysPerDevice = 1'000;

// Envelopes in one enqueue (the copies of one send: every device of every
// recipient, plus the sender's own other devices).
inline constexpr std::size_t kMaxEnvelopesPerEnqueue = 6'000;
// Sends in one EnqueueBatch (one transaction, one disk flush).
inline constexpr std::size_t kMaxEnqueueBatch = 1'024;
// Acknowledged messages deleted by one DeleteMessages call.
inline constexpr std::size_t kMaxDeleteBatch = 4'096;
// Largest envelope content (opaque ciphertext) in bytes.
inline constexpr std::size_t kMaxEnvelopeContentBytes = 256 * 1024;

// A fetch returns at most this many envelopes, and stops adding envelopes once
// their contents reach kMaxFetchBytes (it always returns at least one if any is
// queued), so a fetch holds a bounded amount of memory.
inline constexpr std::size_t kMaxFetchCount = 1'000;
inline constexpr std::size_t kMaxFetchBytes = 4 * 1024 * 1024;

// Largest attachment chunk appended in one call, and largest range read in one
// call. Uploads and downloads stream in pieces of at most this size.
inline constexpr std::size_t kMaxAttachmentChunkBytes = 1024 * 1024;
inline constexpr std::size_t kMaxAttachmentReadBytes = 1024 * 1024;

// Largest page of a listing (accounts, expired attachments).
inline constexpr std::size_t kMaxPageSize = 1'000;
// Most rows one purge call deletes, so a purge never holds a write lock long.
inline constexpr std::size_t kMaxPurgeBatch = 10'000;

}  // namespace parley::store
