// Safety numbers: the displayable 60-digit number and the scannable
// fingerprint (version 1), as libsignal-protocol-c 2.3.3's fingerprint
// generator makes them.
//
// Per party: h = SHA-512(00 00 ‖ key33 ‖ stable id ‖ key33), then
// iterations − 1 more rounds of h = SHA-512(h ‖ key33). The first 30 bytes of
// h read as six 5-byte big-endian numbers, each mod 100,000 and printed with
// 5 digits, give the party's 30 digits; the display is both parties' digits,
// the smaller string first, so both parties see the same 60 digits.
//
// The scannable fingerprint is the protobuf CombinedFingerprints { 1 version,
// 2 localFingerprint { 1 content }, 3 remoteFingerprint { 1 content } } with
// the first 32 bytes of each party's h as content.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/byte_reader.h"
#include "crypto/x25519.h"
#include "protocol/error.h"
#include "protocol/limits.h"

namespace parley::protocol {

inline constexpr std::uint32_t kScannableFingerprintVersion = 1;
inline constexpr std::size_t kScannableFingerprintContentSize = 32;
// Larger inputs are not scannable fingerprints (version 1 takes 74 bytes;
// libsignal's version 0 with long identifiers more).
inline constexpr std::size_t kMaxSerializedScannableFingerprintSize = 1024;

// Whether a scanned fingerprint matches ours.
enum class FingerprintMatch {
  kMatch,             // same version, and its two parties' contents are ours swapped
  kVersionMismatch,   // another scannable version, or a fingerprint without both contents
  kIdentityMismatch,  // same version, different contents: some identity key differs
};

// The scannable half: one version and two parties' contents.
class ScannableFingerprint {
 public:
  ScannableFingerprint(std::uint32_t version, std::vector<std::uint8_t> local_content,
                       std::vector<std::uint8_t> remote_content)
      : version_(version), local_(std::move(local_content)), remote_(std::move(remote_content)) {}

  // Parses a CombinedFingerprints protobuf. kMalformed if empty, over
  // kMaxSerializedScannableFingerprintSize, not a protobuf, with a duplicate
  // or mistyped field, or without both parties' contents. Other versions
  // parse, so that comparing can tell a version mismatch.
  static ProtocolResult<ScannableFingerprint> Deserialize(Bytes serialized);
  std::vector<std::uint8_t> Serialize() const;

  // Compares the fingerprint scanned from the other party's screen with
  // ours: theirs lists them as local and us as remote.
  FingerprintMatch Compare(const ScannableFingerprint& scanned) const;

  std::uint32_t version() const { return version_; }
  const std::vector<std::uint8_t>& local_content() const { return local_; }
  const std::vector<std::uint8_t>& remote_content() const { return remote_; }

 private:
  std::uint32_t version_;
  std::vector<std::uint8_t> local_;
  std::vector<std::uint8_t> remote_;
};

struct Fingerprint {
  std::string displayable;  // 60 digits
  ScannableFingerprint scannable;
};

class FingerprintGenerator {
 public:
  // iterations: SHA-512 rounds per party, the same on every client.
  explicit FingerprintGenerator(std::uint32_t iterations = kFingerprintIterations)
      : iterations_(iterations) {}

  // The fingerprint as the local party sees it. The stable identifiers are
  // hashed as given (UTF-8 bytes of the ids). kLimitExceeded when iterations
  // is 0 or above kMaxFingerprintIterations.
  ProtocolResult<Fingerprint> Create(std::string_view local_id, const crypto::PublicKey& local_key,
                                     std::string_view remote_id, const crypto::PublicKey& remote_key) const;

  // One party's 64-byte hash (the value both halves are made from).
  ProtocolResult<std::array<std::uint8_t, 64>> PartyHash(std::string_view stable_id,
                                                         const crypto::PublicKey& key) const;

 private:
  std::uint32_t iterations_;
};

// One party's 30 digits from its hash.
std::string DisplayDigits(std::span<const std::uint8_t, 64> party_hash);

}  // namespace parley::protocol
