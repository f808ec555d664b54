// The attachment cipher: Signal's attachment format, streamed.
//
// An attachment is encrypted by its sender with a fresh 64-byte key (an
// AES-256 key, then an HMAC-SHA256 key) that travels, with the SHA-256 digest
// of the encrypted blob and the plaintext size, inside the end-to-end
// encrypted message (content.h AttachmentPointer). The server only ever holds
// the blob:
//
//   blob   = IV(16) || AES-256-CBC(PKCS#7)(plaintext || zero padding) || MAC(32)
//   MAC    = HMAC-SHA256(mac key, IV || ciphertext)
//   digest = SHA-256(blob)
//
// The plaintext is zero-padded to a size bucket (PaddedAttachmentSize) so
// that the blob's length tells the server only roughly how large the file is.
//
// Both directions run in constant memory: they take and give bytes in pieces
// of any size. The decryptor hands out plaintext before the MAC has been
// checked (it cannot know it before the end), so its output must go to a
// place nobody reads until Finish succeeded: DecryptAttachmentFile writes a
// temporary file and moves it into place only after the MAC, the digest and
// the size matched.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "base/byte_reader.h"
#include "base/result.h"
#include "base/secret.h"
#include "client/content.h"

namespace parley::client {

enum class AttachmentErrc {
  kIo = 1,      // a file cannot be read, written, synced or renamed
  kTooLarge,    // a plaintext over kMaxAttachmentBytes, or a blob longer than its size allows
  kEmpty,       // a plaintext of 0 bytes (the pointer's size must be at least 1)
  kTruncated,   // a blob too short to hold the IV, one block and the MAC, or not block-aligned
  kBadMac,      // the MAC does not verify: the blob was altered or the key is wrong
  kBadDigest,   // the blob's SHA-256 is not the digest the message carried
  kBadPadding,  // the MAC verified but the PKCS#7 padding does not
  kWrongSize,   // the decrypted plaintext is shorter than the size the message stated
};
template <class T>
using AttachmentResult = Result<T, AttachmentErrc>;
using AttachmentStatus = Status<AttachmentErrc>;
std::string_view AttachmentErrcName(AttachmentErrc code);

inline constexpr std::size_t kAttachmentIvSize = 16;
inline constexpr std::size_t kAttachmentMacSize = 32;
// The smallest bucket (Signal's): every attachment of up to 541 bytes looks alike.
inline constexpr std::uint64_t kMinAttachmentBucket = 541;

using AttachmentKey = SecretArray<kAttachmentKeySize>;
using AttachmentDigest = std::array<std::uint8_t, kAttachmentDigestSize>;
using AttachmentIv = std::array<std::uint8_t, kAttachmentIvSize>;

// The padded plaintext size for a plaintext of `size` bytes: the smallest
// bucket at or above it, buckets growing by 5% from 541 bytes (integer
// arithmetic, so that every implementation agrees).
std::uint64_t PaddedAttachmentSize(std::uint64_t size);
// The blob size the sender makes for `size` plaintext bytes: IV, the padded
// plaintext with PKCS#7 and the MAC.
std::uint64_t EncryptedAttachmentSize(std::uint64_t size);

// Encrypts a plaintext of a size known in advance, piece by piece.
class AttachmentEncryptor {
 public:
  // kEmpty for size 0, kTooLarge past kMaxAttachmentBytes.
  static AttachmentResult<std::unique_ptr<AttachmentEncryptor>> Create(const AttachmentKey& key,
                                                                       const AttachmentIv& iv,
                                                                       std::uint64_t plaintext_size);
  ~AttachmentEncryptor();
  AttachmentEncryptor(const AttachmentEncryptor&) = delete;
  AttachmentEncryptor& operator=(const AttachmentEncryptor&) = delete;

  // Appends the blob bytes for the next plaintext piece to `out` (at most
  // plaintext.size() + 32 bytes). kTooLarge when the pieces pass the size
  // given to Create.
  AttachmentStatus Update(Bytes plaintext, std::vector<std::uint8_t>& out);
  // After the whole plaintext: appends the blob bytes of at most 64 KiB of
  // the zero padding and returns how much padding is still to come, so that
  // a caller can write the padding (up to 5% of the size) in small pieces.
  // kWrongSize before the whole plaintext came.
  AttachmentResult<std::uint64_t> AddPadding(std::vector<std::uint8_t>& out);
  // Appends the padding still to come, the last block and the MAC; returns
  // the digest of the whole blob. kWrongSize when fewer bytes came than
  // announced. Once.
  AttachmentResult<AttachmentDigest> Finish(std::vector<std::uint8_t>& out);

 private:
  struct State;
  explicit AttachmentEncryptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Decrypts and verifies a blob piece by piece. Plaintext comes out before it
// is verified: only Finish's success makes it trustworthy.
class AttachmentDecryptor {
 public:
  // `plaintext_size` is the pointer's size (kEmpty for 0, kTooLarge past
  // kMaxAttachmentBytes).
  static AttachmentResult<std::unique_ptr<AttachmentDecryptor>> Create(const AttachmentKey& key,
                                                                       const AttachmentDigest& digest,
                                                                       std::uint64_t plaintext_size);
  ~AttachmentDecryptor();
  AttachmentDecryptor(const AttachmentDecryptor&) = delete;
  AttachmentDecryptor& operator=(const AttachmentDecryptor&) = delete;

  // The longest blob a plaintext of this size can have (anything longer is
  // refused before it is read).
  std::uint64_t max_blob_size() const;

  // Takes the next blob bytes; appends plaintext (never past the stated
  // size) to `out`. kTooLarge once the blob passes max_blob_size().
  AttachmentStatus Update(Bytes blob, std::vector<std::uint8_t>& out);
  // Checks the MAC (kBadMac), the digest (kBadDigest), the padding
  // (kBadPadding) and the size (kWrongSize, kTruncated) and appends the last
  // plaintext bytes. Once.
  AttachmentStatus Finish(std::vector<std::uint8_t>& out);

 private:
  struct State;
  explicit AttachmentDecryptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// What encrypting a file produced.
struct EncryptedAttachmentFile {
  AttachmentDigest digest{};
  std::uint64_t plaintext_size = 0;
  std::uint64_t blob_size = 0;
};

// Encrypts the file at `plaintext` into a new file at `blob` (mode 0600,
// replaced if present), reading and writing in 64 KiB pieces. kIo, kEmpty,
// kTooLarge (checked before anything is encrypted).
AttachmentResult<EncryptedAttachmentFile> EncryptAttachmentFile(const std::filesystem::path& plaintext,
                                                                const std::filesystem::path& blob,
                                                                const AttachmentKey& key,
                                                                const AttachmentIv& iv);

// Decrypts the file at `blob` into `destination`: the plaintext goes to a
// temporary file beside it (mode 0600), which is synced and renamed to
// `destination` only after every check passed, and removed otherwise. An
// existing `destination` is replaced only on success.
AttachmentStatus DecryptAttachmentFile(const std::filesystem::path& blob,
                                       const std::filesystem::path& destination, const AttachmentKey& key,
                                       const AttachmentDigest& digest, std::uint64_t plaintext_size);

}  // namespace parley::client
