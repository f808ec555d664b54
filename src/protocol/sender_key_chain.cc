#include "protocol/sender_key_chain.h"

#include <array>
#include <cstdlib>
#include <string_view>

#include "crypto/hash.h"

namespace parley::protocol {

namespace {

constexpr std::uint8_t kMessageKeySeedByte = 0x01;
constexpr std::uint8_t kChainKeySeedByte = 0x02;
constexpr std::string_view kGroupInfo = "WhisperGroup";

SecretArray<32> ChainDerivative(const SecretArray<kSenderChainKeySize>& key, std::uint8_t which) {
  const std::array<std::uint8_t, 1> input{which};
  crypto::HmacSha256Tag tag = crypto::HmacSha256(key.bytes(), input);
  SecretArray<32> out(tag);
  WipeMemory(tag.data(), tag.size());
  return out;
}

}  // namespace

SenderCipherKeys SenderMessageKey::DeriveCipherKeys() const {
  static constexpr std::array<std::uint8_t, 32> kZeroSalt{};
  const Bytes info(reinterpret_cast<const std::uint8_t*>(kGroupInfo.data()), kGroupInfo.size());
  auto okm = crypto::Hkdf(seed_.bytes(), kZeroSalt, info, kSenderIvSize + kSenderCipherKeySize);
  // 48 bytes is far below HKDF's 8,160-byte limit, so this cannot fail.
  if (!okm || okm->size() != kSenderIvSize + kSenderCipherKeySize) std::abort();
  const Bytes bytes = okm->bytes();
  return SenderCipherKeys{
      SecretArray<kSenderCipherKeySize>(bytes.subspan<kSenderIvSize, kSenderCipherKeySize>()),
      SecretArray<kSenderIvSize>(bytes.first<kSenderIvSize>()),
  };
}

SenderMessageKey SenderChainKey::MessageKey() const {
  return SenderMessageKey(iteration_, ChainDerivative(key_, kMessageKeySeedByte));
}

SenderChainKey SenderChainKey::Next() const {
  return SenderChainKey(iteration_ + 1, ChainDerivative(key_, kChainKeySeedByte));
}

}  // namespace parley::protocol
