#include "protocol/sender_key_chain.h"

#include <array>
#include <string_view>

#include "crypto/hash.h"

namespace parley::protocol {

namespace {

constexpr std::uint8_t kMessageKeySeedByte = 0x01;
constexpr std::uint8_t kChainKeySeedByte = 0x02;
constexpr std::string_view kGroupInfo = "WhisperGroup";

SecretArray<32> ChainDerivative(const crypto::HmacSha256Key& key, std::uint8_t which) {
  SecretArray<32> out;
  key.MacInto(Bytes(&which, 1), out.bytes());
  return out;
}

}  // namespace

SenderCipherKeys SenderMessageKey::DeriveCipherKeys() const {
  static constexpr std::array<std::uint8_t, 32> kZeroSalt{};
  const Bytes info(reinterpret_cast<const std::uint8_t*>(kGroupInfo.data()), kGroupInfo.size());
  const auto okm = crypto::HkdfArray<kSenderIvSize + kSenderCipherKeySize>(seed_.bytes(), kZeroSalt, info);
  const Bytes bytes = okm.bytes();
  return SenderCipherKeys{
      SecretArray<kSenderCipherKeySize>(bytes.subspan<kSenderIvSize, kSenderCipherKeySize>()),
      SecretArray<kSenderIvSize>(bytes.first<kSenderIvSize>()),
  };
}

SenderMessageKey SenderChainKey::MessageKey() const {
  return SenderMessageKey(iteration_,
                          ChainDerivative(crypto::HmacSha256Key(key_.bytes()), kMessageKeySeedByte));
}

SenderChainKey SenderChainKey::Next() const {
  return SenderChainKey(iteration_ + 1,
                        ChainDerivative(crypto::HmacSha256Key(key_.bytes()), kChainKeySeedByte));
}

SenderChainKey::Step SenderChainKey::Advance() const {
  const crypto::HmacSha256Key keyed(key_.bytes());
  return Step{SenderMessageKey(iteration_, ChainDerivative(keyed, kMessageKeySeedByte)),
              SenderChainKey(iteration_ + 1, ChainDerivative(keyed, kChainKeySeedByte))};
}

}  // namespace parley::protocol
