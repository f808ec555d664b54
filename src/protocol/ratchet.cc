#include "protocol/ratchet.h"

#include <array>
#include <string_view>

#include "crypto/hash.h"

namespace parley::protocol {

namespace {

Bytes Label(std::string_view s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

constexpr std::uint8_t kMessageKeySeedByte = 0x01;
constexpr std::uint8_t kChainKeySeedByte = 0x02;

SecretArray<kRatchetKeySize> ChainHmac(const crypto::HmacSha256Key& key, std::uint8_t byte) {
  SecretArray<kRatchetKeySize> out;
  key.MacInto(Bytes(&byte, 1), out.bytes());
  return out;
}

RootAndChain SplitRootAndChain(const SecretArray<2 * kRatchetKeySize>& okm) {
  RootAndChain out;
  out.root = RootKey(std::span<const std::uint8_t, kRatchetKeySize>(okm.data(), kRatchetKeySize));
  out.chain.key = SecretArray<kRatchetKeySize>(
      std::span<const std::uint8_t, kRatchetKeySize>(okm.data() + kRatchetKeySize, kRatchetKeySize));
  out.chain.index = 0;
  return out;
}

// X3DH's final HKDF over 32×0xFF ‖ the DH outputs in order.
ProtocolResult<RootAndChain> DeriveX3dh(std::span<const SecretArray<32>* const> dhs) {
  SecretArray<32 + 32 * 4> ikm;
  if (dhs.size() > 4) return Fail(ProtocolErrc::kInvalidState, "more than four X3DH agreements");
  std::uint8_t* p = ikm.data();
  for (std::size_t i = 0; i < 32; ++i) *p++ = 0xFF;
  for (const auto* dh : dhs) {
    for (std::uint8_t b : dh->bytes()) *p++ = b;
  }
  const auto okm = crypto::HkdfArray<2 * kRatchetKeySize>(Bytes(ikm.bytes()).first(32 + 32 * dhs.size()), {},
                                                          Label("WhisperText"));
  return SplitRootAndChain(okm);
}

}  // namespace

MessageKeySeed ChainKey::MessageSeed() const {
  return ChainHmac(crypto::HmacSha256Key(key.bytes()), kMessageKeySeedByte);
}

ChainKey ChainKey::Next() const {
  return ChainKey{ChainHmac(crypto::HmacSha256Key(key.bytes()), kChainKeySeedByte), index + 1};
}

ChainKey::Step ChainKey::Advance() const {
  const crypto::HmacSha256Key keyed(key.bytes());
  return Step{ChainHmac(keyed, kMessageKeySeedByte),
              ChainKey{ChainHmac(keyed, kChainKeySeedByte), index + 1}};
}

MessageKeys MessageKeys::Derive(const MessageKeySeed& seed) {
  const auto okm = crypto::HkdfArray<80>(seed.bytes(), {}, Label("WhisperMessageKeys"));
  MessageKeys keys;
  const std::uint8_t* p = okm.data();
  keys.cipher_key = SecretArray<32>(std::span<const std::uint8_t, 32>(p, 32));
  keys.mac_key = SecretArray<32>(std::span<const std::uint8_t, 32>(p + 32, 32));
  keys.iv = SecretArray<16>(std::span<const std::uint8_t, 16>(p + 64, 16));
  return keys;
}

ProtocolResult<RootAndChain> RootStep(const RootKey& root, const crypto::PublicKey& theirs,
                                      const crypto::PrivateKey& ours) {
  auto shared = ours.Agree(theirs);
  if (!shared) return Fail(ProtocolErrc::kInvalidMessageKey, "ratchet key gives no shared secret");
  return SplitRootAndChain(
      crypto::HkdfArray<2 * kRatchetKeySize>(shared->bytes(), root.bytes(), Label("WhisperRatchet")));
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
