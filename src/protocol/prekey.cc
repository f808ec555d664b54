#include "protocol/prekey.h"

#include <array>

#include "protocol/limits.h"

namespace parley::protocol {

IdentityKeyPair GenerateIdentityKeyPair(Rng& rng) { return crypto::KeyPair::Generate(rng); }

RegistrationId GenerateRegistrationId(Rng& rng) {
  constexpr std::uint32_t kRange = kMaxRegistrationId - kMinRegistrationId + 1;
  // Rejection sampling keeps the distribution uniform.
  constexpr std::uint32_t kLimit = 0xFFFFFFFFu - (0xFFFFFFFFu % kRange);
  for (;;) {
    std::array<std::uint8_t, 4> b{};
    rng.Fill(b);
    const std::uint32_t v = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                            (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    if (v < kLimit) return RegistrationId(kMinRegistrationId + v % kRange);
  }
}

ProtocolResult<std::vector<PreKeyRecord>> GeneratePreKeys(PreKeyId first_id, std::uint32_t count, Rng& rng) {
  constexpr std::uint32_t kMaxOneTimeId = kLastResortPreKeyId - 1;
  if (first_id.value() == 0 || first_id.value() > kMaxOneTimeId) {
    return Fail(ProtocolErrc::kInvalidKeyId, "one-time prekey ids are 1..0xFFFFFE");
  }
  if (count > kMaxOneTimeId) return Fail(ProtocolErrc::kLimitExceeded, "more prekeys than there are ids");
  std::vector<PreKeyRecord> out;
  out.reserve(count);
  std::uint32_t id = first_id.value();
  for (std::uint32_t i = 0; i < count; ++i) {
    out.push_back(PreKeyRecord{PreKeyId(id), crypto::KeyPair::Generate(rng)});
    id = id == kMaxOneTimeId ? 1 : id + 1;
  }
  return out;
}

PreKeyRecord GenerateLastResortPreKey(Rng& rng) {
  return PreKeyRecord{PreKeyId(kLastResortPreKeyId), crypto::KeyPair::Generate(rng)};
}

ProtocolResult<SignedPreKeyRecord> GenerateSignedPreKey(const IdentityKeyPair& identity, SignedPreKeyId id,
                                                        std::int64_t timestamp_millis, Rng& rng) {
  if (id.value() > kMaxPreKeyId) return Fail(ProtocolErrc::kInvalidKeyId, "signed prekey ids are 24-bit");
  SignedPreKeyRecord record;
  record.id = id;
  record.key_pair = crypto::KeyPair::Generate(rng);
  record.timestamp_millis = timestamp_millis;
  const auto serialized = record.key_pair.public_key.Serialize();
  record.signature = crypto::XEdDsaSign(identity.private_key, serialized, rng);
  return record;
}

bool VerifySignedPreKey(const crypto::PublicKey& identity, const crypto::PublicKey& signed_prekey,
                        Bytes signature) {
  const auto serialized = signed_prekey.Serialize();
  return crypto::XEdDsaVerify(identity, serialized, signature);
}

}  // namespace parley::protocol
