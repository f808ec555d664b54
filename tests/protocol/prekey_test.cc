#include "protocol/prekey.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "base/hex.h"
#include "base/rng.h"
#include "protocol/limits.h"
#include "protocol/prekey_bundle.h"
#include "protocol/ratchet.h"

namespace parley::protocol {
namespace {

TEST(PreKeys, RegistrationIdsStayInRange) {
  DeterministicRng rng(1);
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 5000; ++i) {
    const auto id = GenerateRegistrationId(rng).value();
    ASSERT_GE(id, kMinRegistrationId);
    ASSERT_LE(id, kMaxRegistrationId);
    seen.insert(id);
  }
  EXPECT_GT(seen.size(), 3000u);
}

TEST(PreKeys, ConsecutiveIdsWrapPastLastResort) {
  DeterministicRng rng(2);
  auto keys = GeneratePreKeys(PreKeyId(0xFFFFFD), 4, rng);
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 4u);
  EXPECT_EQ((*keys)[0].id, PreKeyId(0xFFFFFD));
  EXPECT_EQ((*keys)[1].id, PreKeyId(0xFFFFFE));
  EXPECT_EQ((*keys)[2].id, PreKeyId(1));
  EXPECT_EQ((*keys)[3].id, PreKeyId(2));
  EXPECT_FALSE((*keys)[0].key_pair.public_key == (*keys)[1].key_pair.public_key);
  EXPECT_EQ((*keys)[0].key_pair.private_key.DerivePublic(), (*keys)[0].key_pair.public_key);
}

TEST(PreKeys, RejectsBadFirstIdAndCount) {
  DeterministicRng rng(3);
  EXPECT_EQ(GeneratePreKeys(PreKeyId(0), 1, rng).error().code, ProtocolErrc::kInvalidKeyId);
  EXPECT_EQ(GeneratePreKeys(PreKeyId(kLastResortPreKeyId), 1, rng).error().code, ProtocolErrc::kInvalidKeyId);
  EXPECT_EQ(GeneratePreKeys(PreKeyId(1), kLastResortPreKeyId, rng).error().code,
            ProtocolErrc::kLimitExceeded);
  EXPECT_EQ(GenerateLastResortPreKey(rng).id, PreKeyId(kLastResortPreKeyId));
}

TEST(PreKeys, SignedPreKeyVerifies) {
  DeterministicRng rng(4);
  const auto identity = GenerateIdentityKeyPair(rng);
  auto spk = GenerateSignedPreKey(identity, SignedPreKeyId(7), 12345, rng);
  ASSERT_TRUE(spk);
  EXPECT_EQ(spk->timestamp_millis, 12345);
  EXPECT_TRUE(VerifySignedPreKey(identity.public_key, spk->key_pair.public_key, spk->signature));
  auto bad = spk->signature;
  bad[10] ^= 0x01;
  EXPECT_FALSE(VerifySignedPreKey(identity.public_key, spk->key_pair.public_key, bad));
  const auto other = GenerateIdentityKeyPair(rng);
  EXPECT_FALSE(VerifySignedPreKey(other.public_key, spk->key_pair.public_key, spk->signature));
  EXPECT_EQ(GenerateSignedPreKey(identity, SignedPreKeyId(kMaxPreKeyId + 1), 0, rng).error().code,
            ProtocolErrc::kInvalidKeyId);
}

TEST(PreKeyBundle, FromSerializedChecksKeys) {
  DeterministicRng rng(5);
  const auto identity = GenerateIdentityKeyPair(rng);
  const auto spk = *GenerateSignedPreKey(identity, SignedPreKeyId(1), 0, rng);
  const auto opk = crypto::KeyPair::Generate(rng);
  const auto ik = identity.public_key.Serialize();
  const auto spk33 = spk.key_pair.public_key.Serialize();
  const auto opk33 = opk.public_key.Serialize();
  auto ok = PreKeyBundle::FromSerialized(RegistrationId(9), DeviceId(1), ik, SignedPreKeyId(1), spk33,
                                         spk.signature, PreKeyId(3), Bytes(opk33));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->VerifySignature());
  EXPECT_EQ(ok->prekey, opk.public_key);

  std::vector<std::uint8_t> short_key(ik.begin(), ik.end() - 1);
  std::vector<std::uint8_t> wrong_type(ik.begin(), ik.end());
  wrong_type[0] = 0x04;
  const std::vector<std::uint8_t> short_sig(spk.signature.begin(), spk.signature.end() - 1);
  auto code = [](const ProtocolResult<PreKeyBundle>& r) {
    return r ? ProtocolErrc::kInvalidState : r.error().code;
  };
  EXPECT_EQ(code(PreKeyBundle::FromSerialized(RegistrationId(9), DeviceId(1), short_key, SignedPreKeyId(1),
                                              spk33, spk.signature, std::nullopt, std::nullopt)),
            ProtocolErrc::kInvalidKey);
  EXPECT_EQ(code(PreKeyBundle::FromSerialized(RegistrationId(9), DeviceId(1), ik, SignedPreKeyId(1),
                                              wrong_type, spk.signature, std::nullopt, std::nullopt)),
            ProtocolErrc::kInvalidKey);
  EXPECT_EQ(code(PreKeyBundle::FromSerialized(RegistrationId(9), DeviceId(1), ik, SignedPreKeyId(1), spk33,
                                              short_sig, std::nullopt, std::nullopt)),
            ProtocolErrc::kInvalidKey);
  EXPECT_EQ(code(PreKeyBundle::FromSerialized(RegistrationId(9), DeviceId(1), ik, SignedPreKeyId(1), spk33,
                                              spk.signature, PreKeyId(3), Bytes(short_key))),
            ProtocolErrc::kInvalidKey);
  EXPECT_EQ(code(PreKeyBundle::FromSerialized(RegistrationId(9), DeviceId(1), ik, SignedPreKeyId(1), spk33,
                                              spk.signature, PreKeyId(3), std::nullopt)),
            ProtocolErrc::kInvalidKey);
  auto bad_sig = PreKeyBundle::FromSerialized(RegistrationId(9), DeviceId(1), spk33, SignedPreKeyId(1), spk33,
                                              spk.signature, std::nullopt, std::nullopt);
  ASSERT_TRUE(bad_sig);
  EXPECT_FALSE(bad_sig->VerifySignature());
}

TEST(ChainKeyTest, AdvanceIsMessageSeedAndNext) {
  DeterministicRng rng(7);
  ChainKey chain;
  rng.Fill(chain.key.bytes());
  chain.index = 41;
  for (int i = 0; i < 5; ++i) {
    const ChainKey::Step step = chain.Advance();
    const ChainKey next = chain.Next();
    EXPECT_EQ(ToHex(step.seed.bytes()), ToHex(chain.MessageSeed().bytes()));
    EXPECT_EQ(ToHex(step.next.key.bytes()), ToHex(next.key.bytes()));
    EXPECT_EQ(step.next.index, chain.index + 1);
    EXPECT_NE(ToHex(step.seed.bytes()), ToHex(step.next.key.bytes()));
    chain = next;
  }
}

TEST(Secrets, PrintRedacted) {
  DeterministicRng rng(6);
  const auto pair = crypto::KeyPair::Generate(rng);
  ChainKey chain;
  rng.Fill(chain.key.bytes());
  const MessageKeys keys = MessageKeys::Derive(chain.MessageSeed());
  std::ostringstream os;
  os << pair.private_key << " " << chain.key << " " << keys.cipher_key << " " << keys.mac_key << " "
     << keys.iv;
  EXPECT_EQ(os.str(), "<redacted> <redacted> <redacted> <redacted> <redacted>");
}

}  // namespace
}  // namespace parley::protocol
