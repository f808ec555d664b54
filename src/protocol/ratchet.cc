#include "protocol/ratchet.h"

#include <array>
#include <string_view>

#include "crypto/hash.h"

namespace parley::protocol {

namespace {

Bytes Label(std::string_view s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

SecretArray<kRatchetKeySize> ChainHmac(const SecretArray<kRatchetKeySize>& key, std::uint8_t byte) {
  const std::uint8_t input[1] = {byte};
  crypto::HmacSha256Tag tag = crypto::HmacSha256(key.bytes(), input);
  SecretArray<kRatchetKeySize> out{std::span<const std::uint8_t, kRatchetKeySize>(tag)};
  WipeMemory(tag.data(), tag.size());
  return out;
}

RootAndChain SplitRootAndChain(const SecretBuffer& okm) {
  RootAndChain out;
  out.root = RootKey(std::span<const std::uint8_t, kRatchetKeySize>(okm.data(), kRatchetKeySize));
  out.chain.key = SecretArray<kRatchetKeySize>(
      std::span<const std::uint8_t, kRatchetKeySize>(okm.data() + kRatchetKeySize, kRatchetKeySize));
  out.chain.index = 0;
  return out;
}

// X3DH's final HKDF over 32×0xFF ‖ the DH outputs in order.
ProtocolResult<RootAndChain> DeriveX3dh(std::span<const SecretArray<32>* const> dhs) {
  SecretBuffer ikm(32 + 32 * dhs.size());
  std::uint8_t* p = ikm.data();
  for (std::size_t i = 0; i < 32; ++i) *p++ = 0xFF;
  for (const auto* dh : dhs) {
    for (std::uint8_t b : dh->bytes()) *p++ = b;
  }
  auto okm = crypto::Hkdf(ikm.bytes(), {}, Label("WhisperText"), 64);
  if (!okm) return Fail(ProtocolErrc::kInvalidState, "HKDF failed");
  return SplitRootAndChain(*okm);
}

}  // namespace

MessageKeySeed ChainKey::MessageSeed() const { return ChainHmac(key, 0x01); }

ChainKey ChainKey::Next() const { return ChainKey{ChainHmac(key, 0x02), index + 1}; }

MessageKeys MessageKeys::Derive(const MessageKeySeed& seed) {
  auto okm = crypto::Hkdf(seed.bytes(), {}, Label("WhisperMessageKeys"), 80);
  // 80 bytes is far below HKDF's output limit, so this cannot fail.
  MessageKeys keys;
  const std::uint8_t* p = okm->data();
  keys.cipher_key = SecretArray<32>(std::span<const std::uint8_t, 32>(p, 32));
  keys.mac_key = SecretArray<32>(std::span<const std::uint8_t, 32>(p + 32, 32));
  keys.iv = SecretArray<16>(std::span<const std::uint8_t, 16>(p + 64, 16));
  return keys;
}

ProtocolResult<RootAndChain> RootStep(const RootKey& root, const crypto::PublicKey& theirs,
                                      const crypto::PrivateKey& ours) {
  auto shared = ours.Agree(theirs);
  if (!shared) return Fail(ProtocolErrc::kInvalidMessageKey, "ratchet key gives no shared secret");
  auto okm = crypto::Hkdf(shared->bytes(), root.bytes(), Label("WhisperRatchet"), 64);
  if (!okm) return Fail(ProtocolErrc::kInvalidState, "HKDF failed");
  return SplitRootAndChain(*okm);
}

ProtocolResult<RootAndChain> InitiatorAgreement(
    const crypto::KeyPair& our_identity, const crypto::KeyPair& our_base_key,
    const crypto::PublicKey& their_identity, const crypto::PublicKey& their_signed_prekey,
    const std::optional<crypto::PublicKey>& their_one_time_prekey) {
  auto dh1 = our_identity.private_key.Agree(their_signed_prekey);
  auto dh2 = our_base_key.private_key.Agree(their_identity);
  auto dh3 = our_base_key.private_key.Agree(their_signed_prekey);
  if (!dh1 || !dh2 || !dh3) return Fail(ProtocolErrc::kInvalidKey, "bundle key gives no shared secret");
  if (their_one_time_prekey) {
    auto dh4 = our_base_key.private_key.Agree(*their_one_time_prekey);
    if (!dh4) return Fail(ProtocolErrc::kInvalidKey, "bundle key gives no shared secret");
    const std::array<const SecretArray<32>*, 4> dhs = {&*dh1, &*dh2, &*dh3, &*dh4};
    return DeriveX3dh(dhs);
  }
  const std::array<const SecretArray<32>*, 3> dhs = {&*dh1, &*dh2, &*dh3};
  return DeriveX3dh(dhs);
}

ProtocolResult<RootAndChain> ResponderAgreement(const crypto::KeyPair& our_identity,
                                                const crypto::KeyPair& our_signed_prekey,
                                                const std::optional<crypto::KeyPair>& our_one_time_prekey,
                                                const crypto::PublicKey& their_identity,
                                                const crypto::PublicKey& their_base_key) {
  auto dh1 = our_signed_prekey.private_key.Agree(their_identity);
  auto dh2 = our_identity.private_key.Agree(their_base_key);
  auto dh3 = our_signed_prekey.private_key.Agree(their_base_key);
  if (!dh1 || !dh2 || !dh3)
    return Fail(ProtocolErrc::kInvalidMessageKey, "message key gives no shared secret");
  if (our_one_time_prekey) {
    auto dh4 = our_one_time_prekey->private_key.Agree(their_base_key);
    if (!dh4) return Fail(ProtocolErrc::kInvalidMessageKey, "message key gives no shared secret");
    const std::array<const SecretArray<32>*, 4> dhs = {&*dh1, &*dh2, &*dh3, &*dh4};
    return DeriveX3dh(dhs);
  }
  const std::array<const SecretArray<32>*, 3> dhs = {&*dh1, &*dh2, &*dh3};
  return DeriveX3dh(dhs);
}

}  // namespace parley::protocol
