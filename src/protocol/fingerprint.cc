#include "protocol/fingerprint.h"

#include <optional>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "crypto/hash.h"

namespace parley::protocol {

namespace {

enum CombinedField : std::uint32_t { kVersion = 1, kLocal = 2, kRemote = 3 };
enum LogicalField : std::uint32_t { kContent = 1 };

// libsignal's fingerprint format version, hashed into the first round.
constexpr std::uint8_t kHashFormatVersion = 0;
constexpr std::size_t kDigitBytes = 30;

Bytes AsBytes(std::string_view s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

// The content of a LogicalFingerprint; nullopt on a malformed one.
std::optional<std::vector<std::uint8_t>> ParseLogical(Bytes bytes) {
  std::optional<Bytes> content;
  ProtoReader reader(bytes);
  ProtoField field;
  while (reader.Next(field)) {
    if (field.number != kContent) continue;
    if (content || field.type != WireType::kLengthDelimited) return std::nullopt;
    content = field.bytes;
  }
  if (reader.failed() || !content) return std::nullopt;
  return std::vector<std::uint8_t>(content->begin(), content->end());
}

}  // namespace

ProtocolResult<ScannableFingerprint> ScannableFingerprint::Deserialize(Bytes serialized) {
  if (serialized.empty()) return Fail(ProtocolErrc::kMalformed, "empty scannable fingerprint");
  if (serialized.size() > kMaxSerializedScannableFingerprintSize) {
    return Fail(ProtocolErrc::kMalformed, "scannable fingerprint over the size limit");
  }
  std::optional<std::uint64_t> version;
  std::optional<Bytes> local;
  std::optional<Bytes> remote;
  ProtoReader reader(serialized);
  ProtoField field;
  while (reader.Next(field)) {
    bool ok = true;
    switch (field.number) {
      case kVersion:
        ok = !version && field.type == WireType::kVarint && field.value <= 0xFFFFFFFFu;
        version = field.value;
        break;
      case kLocal:
        ok = !local && field.type == WireType::kLengthDelimited;
        local = field.bytes;
        break;
      case kRemote:
        ok = !remote && field.type == WireType::kLengthDelimited;
        remote = field.bytes;
        break;
      default:
        break;
    }
    if (!ok) return Fail(ProtocolErrc::kMalformed, "scannable fingerprint has a bad field");
  }
  if (reader.failed()) return Fail(ProtocolErrc::kMalformed, "scannable fingerprint is not a protobuf");
  if (!local || !remote) return Fail(ProtocolErrc::kMalformed, "scannable fingerprint misses a party");
  auto local_content = ParseLogical(*local);
  auto remote_content = ParseLogical(*remote);
  if (!local_content || !remote_content) {
    return Fail(ProtocolErrc::kMalformed, "scannable fingerprint has a malformed party");
  }
  // proto2 default for a missing version field.
  return ScannableFingerprint(static_cast<std::uint32_t>(version.value_or(0)), std::move(*local_content),
                              std::move(*remote_content));
}

std::vector<std::uint8_t> ScannableFingerprint::Serialize() const {
  ByteWriter local(local_.size() + 8);
  WriteBytesField(local, kContent, local_);
  ByteWriter remote(remote_.size() + 8);
  WriteBytesField(remote, kContent, remote_);
  ByteWriter out(local.size() + remote.size() + 16);
  WriteVarintField(out, kVersion, version_);
  WriteBytesField(out, kLocal, local.bytes());
  WriteBytesField(out, kRemote, remote.bytes());
  return out.Take();
}

FingerprintMatch ScannableFingerprint::Compare(const ScannableFingerprint& scanned) const {
  if (scanned.version_ != version_) return FingerprintMatch::kVersionMismatch;
  if (crypto::ConstantTimeEqual(local_, scanned.remote_) &&
      crypto::ConstantTimeEqual(remote_, scanned.local_)) {
    return FingerprintMatch::kMatch;
  }
  return FingerprintMatch::kIdentityMismatch;
}

ProtocolResult<std::array<std::uint8_t, 64>> FingerprintGenerator::PartyHash(
    std::string_view stable_id, const crypto::PublicKey& key) const {
  if (iterations_ == 0 || iterations_ > kMaxFingerprintIterations) {
    return Fail(ProtocolErrc::kLimitExceeded, "fingerprint iterations out of range");
  }
  const auto key_bytes = key.Serialize();
  crypto::Sha512Digest hash;
  {
    crypto::Sha512Hasher first;
    const std::array<std::uint8_t, 2> prefix{0, kHashFormatVersion};
    first.Update(prefix);
    first.Update(key_bytes);
    first.Update(AsBytes(stable_id));
    first.Update(key_bytes);
    hash = first.Final();
  }
  for (std::uint32_t i = 1; i < iterations_; ++i) {
    crypto::Sha512Hasher round;
    round.Update(hash);
    round.Update(key_bytes);
    hash = round.Final();
  }
  return hash;
}

std::string DisplayDigits(std::span<const std::uint8_t, 64> party_hash) {
  std::string digits;
  digits.reserve(kDigitBytes);
  for (std::size_t i = 0; i < kDigitBytes; i += 5) {
    std::uint64_t chunk = 0;
    for (std::size_t j = 0; j < 5; ++j) chunk = (chunk << 8) | party_hash[i + j];
    std::uint32_t group = static_cast<std::uint32_t>(chunk % 100'000);
    char text[5];
    for (int k = 4; k >= 0; --k) {
      text[k] = static_cast<char>('0' + group % 10);
      group /= 10;
    }
    digits.append(text, sizeof(text));
  }
  return digits;
}

ProtocolResult<Fingerprint> FingerprintGenerator::Create(std::string_view local_id,
                                                         const crypto::PublicKey& local_key,
                                                         std::string_view remote_id,
                                                         const crypto::PublicKey& remote_key) const {
  auto local_hash = PartyHash(local_id, local_key);
  if (!local_hash) return tl::unexpected(local_hash.error());
  auto remote_hash = PartyHash(remote_id, remote_key);
  if (!remote_hash) return tl::unexpected(remote_hash.error());

  const std::string local_digits = DisplayDigits(*local_hash);
  const std::string remote_digits = DisplayDigits(*remote_hash);
  std::string displayable =
      local_digits <= remote_digits ? local_digits + remote_digits : remote_digits + local_digits;

  auto content = [](const std::array<std::uint8_t, 64>& h) {
    return std::vector<std::uint8_t>(h.begin(), h.begin() + kScannableFingerprintContentSize);
  };
  return Fingerprint{
      std::move(displayable),
      ScannableFingerprint(kScannableFingerprintVersion, content(*local_hash), content(*remote_hash))};
}

}  // namespace parley::protocol
