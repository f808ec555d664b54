// The sender chain, SenderKeyState, SenderKeyRecord and the record's storage
// format: bounds at the limit and one past, round trips, and every
// deserialization error.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "base/rng.h"
#include "crypto/hash.h"
#include "crypto/x25519.h"
#include "protocol/error.h"
#include "protocol/limits.h"
#include "protocol/sender_key_chain.h"
#include "protocol/sender_key_record.h"
#include "protocol/sender_key_state.h"

namespace parley::protocol {
namespace {

using Buf = std::vector<std::uint8_t>;

SecretArray<32> Filled(std::uint8_t start) {
  SecretArray<32> key;
  for (std::size_t i = 0; i < key.size(); ++i) key.bytes()[i] = static_cast<std::uint8_t>(start + i);
  return key;
}

template <std::size_t N>
Buf ToBuf(std::span<const std::uint8_t, N> s) {
  return Buf(s.begin(), s.end());
}

// ---- chain ----

TEST(SenderChainKeyTest, StepsAreTheTwoHmacsOfTheChainKey) {
  const SenderChainKey chain(5, Filled(0));
  const std::array<std::uint8_t, 1> one{0x01};
  const std::array<std::uint8_t, 1> two{0x02};
  const SenderMessageKey message_key = chain.MessageKey();
  EXPECT_EQ(message_key.iteration(), 5u);
  const auto seed = crypto::HmacSha256(chain.key().bytes(), one);
  EXPECT_TRUE(std::ranges::equal(message_key.seed().bytes(), seed));
  const SenderChainKey next = chain.Next();
  EXPECT_EQ(next.iteration(), 6u);
  const auto next_key = crypto::HmacSha256(chain.key().bytes(), two);
  EXPECT_TRUE(std::ranges::equal(next.key().bytes(), next_key));
}

TEST(SenderChainKeyTest, CipherKeysAreIvThenKeyFromWhisperGroupHkdf) {
  const SenderMessageKey key(0, Filled(9));
  const std::string_view info = "WhisperGroup";
  const std::array<std::uint8_t, 32> zero_salt{};
  auto okm = crypto::Hkdf(key.seed().bytes(), zero_salt,
                          Bytes(reinterpret_cast<const std::uint8_t*>(info.data()), info.size()), 48);
  ASSERT_TRUE(okm.has_value());
  const SenderCipherKeys keys = key.DeriveCipherKeys();
  EXPECT_TRUE(std::ranges::equal(keys.iv.bytes(), okm->bytes().first(16)));
  EXPECT_TRUE(std::ranges::equal(keys.cipher_key.bytes(), okm->bytes().subspan(16, 32)));
}

// ---- state ----

SenderKeyState MakeState(std::uint32_t key_id, std::uint32_t iteration, Rng& rng, bool with_private) {
  crypto::KeyPair pair = crypto::KeyPair::Generate(rng);
  std::optional<crypto::PrivateKey> private_key;
  if (with_private) private_key = pair.private_key;
  return SenderKeyState(key_id, SenderChainKey(iteration, Filled(static_cast<std::uint8_t>(key_id))),
                        pair.public_key, std::move(private_key));
}

TEST(SenderKeyStateTest, KeepsMessageKeysUpToTheLimitThenDropsTheOldest) {
  DeterministicRng rng(1);
  SenderKeyState state = MakeState(1, 5000, rng, false);
  for (std::uint32_t i = 0; i < kMaxSenderMessageKeys; ++i)
    state.AddMessageKey(SenderMessageKey(i, Filled(1)));
  EXPECT_EQ(state.message_keys().size(), kMaxSenderMessageKeys);
  EXPECT_TRUE(state.HasMessageKey(0));
  state.AddMessageKey(SenderMessageKey(static_cast<std::uint32_t>(kMaxSenderMessageKeys), Filled(1)));
  EXPECT_EQ(state.message_keys().size(), kMaxSenderMessageKeys);
  EXPECT_FALSE(state.HasMessageKey(0));
  EXPECT_TRUE(state.HasMessageKey(1));
  EXPECT_TRUE(state.HasMessageKey(static_cast<std::uint32_t>(kMaxSenderMessageKeys)));
}

TEST(SenderKeyStateTest, AMessageKeyIsTakenOnce) {
  DeterministicRng rng(2);
  SenderKeyState state = MakeState(1, 10, rng, false);
  state.AddMessageKey(SenderMessageKey(3, Filled(3)));
  state.AddMessageKey(SenderMessageKey(4, Filled(4)));
  auto taken = state.TakeMessageKey(3);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->iteration(), 3u);
  EXPECT_TRUE(std::ranges::equal(taken->seed().bytes(), Filled(3).bytes()));
  EXPECT_FALSE(state.TakeMessageKey(3).has_value());
  EXPECT_TRUE(state.HasMessageKey(4));
}

// ---- record ----

TEST(SenderKeyRecordTest, KeepsFiveStatesNewestFirst) {
  DeterministicRng rng(3);
  SenderKeyRecord record;
  EXPECT_TRUE(record.empty());
  EXPECT_EQ(record.NewestState(), nullptr);
  for (std::uint32_t id = 1; id <= kMaxSenderKeyStates; ++id) {
    record.AddState(id, 0, Filled(static_cast<std::uint8_t>(id)), crypto::KeyPair::Generate(rng).public_key);
  }
  ASSERT_EQ(record.states().size(), kMaxSenderKeyStates);
  EXPECT_EQ(record.NewestState()->key_id(), kMaxSenderKeyStates);
  EXPECT_NE(record.StateForKeyId(1), nullptr);

  record.AddState(6, 0, Filled(6), crypto::KeyPair::Generate(rng).public_key);
  ASSERT_EQ(record.states().size(), kMaxSenderKeyStates);
  EXPECT_EQ(record.NewestState()->key_id(), 6u);
  EXPECT_EQ(record.StateForKeyId(1), nullptr);
  EXPECT_NE(record.StateForKeyId(2), nullptr);
}

TEST(SenderKeyRecordTest, TheSameChainAgainDoesNotRewind) {
  DeterministicRng rng(4);
  const crypto::PublicKey signing = crypto::KeyPair::Generate(rng).public_key;
  SenderKeyRecord record;
  record.AddState(7, 0, Filled(7), signing);
  record.AddState(8, 0, Filled(8), crypto::KeyPair::Generate(rng).public_key);
  record.StateForKeyId(7)->set_chain_key(SenderChainKey(10, Filled(70)));

  record.AddState(7, 0, Filled(7), signing);
  ASSERT_EQ(record.states().size(), 2u);
  EXPECT_EQ(record.NewestState()->key_id(), 7u);
  EXPECT_EQ(record.NewestState()->chain_key().iteration(), 10u);
}

TEST(SenderKeyRecordTest, TheSameKeyIdWithAnotherSigningKeyReplacesTheState) {
  DeterministicRng rng(5);
  SenderKeyRecord record;
  record.AddState(7, 4, Filled(7), crypto::KeyPair::Generate(rng).public_key);
  const crypto::PublicKey replacement = crypto::KeyPair::Generate(rng).public_key;
  record.AddState(7, 0, Filled(77), replacement);
  ASSERT_EQ(record.states().size(), 1u);
  EXPECT_EQ(record.NewestState()->signing_public(), replacement);
  EXPECT_EQ(record.NewestState()->chain_key().iteration(), 0u);
}

TEST(SenderKeyRecordTest, OwnStateReplacesEverything) {
  DeterministicRng rng(6);
  SenderKeyRecord record;
  record.AddState(1, 0, Filled(1), crypto::KeyPair::Generate(rng).public_key);
  record.AddState(2, 0, Filled(2), crypto::KeyPair::Generate(rng).public_key);
  const crypto::KeyPair own = crypto::KeyPair::Generate(rng);
  record.SetOwnState(3, 0, Filled(3), own);
  ASSERT_EQ(record.states().size(), 1u);
  ASSERT_TRUE(record.NewestState()->signing_private().has_value());
  EXPECT_EQ(record.NewestState()->signing_private()->DerivePublic(), own.public_key);
}

// ---- storage format ----

void ExpectSameRecords(const SenderKeyRecord& a, const SenderKeyRecord& b) {
  ASSERT_EQ(a.states().size(), b.states().size());
  for (std::size_t i = 0; i < a.states().size(); ++i) {
    const SenderKeyState& x = a.states()[i];
    const SenderKeyState& y = b.states()[i];
    EXPECT_EQ(x.key_id(), y.key_id());
    EXPECT_EQ(x.chain_key().iteration(), y.chain_key().iteration());
    EXPECT_TRUE(std::ranges::equal(x.chain_key().key().bytes(), y.chain_key().key().bytes()));
    EXPECT_EQ(x.signing_public(), y.signing_public());
    ASSERT_EQ(x.signing_private().has_value(), y.signing_private().has_value());
    if (x.signing_private()) {
      EXPECT_TRUE(
          std::ranges::equal(x.signing_private()->bytes().bytes(), y.signing_private()->bytes().bytes()));
    }
    ASSERT_EQ(x.message_keys().size(), y.message_keys().size());
    for (std::size_t k = 0; k < x.message_keys().size(); ++k) {
      EXPECT_EQ(x.message_keys()[k].iteration(), y.message_keys()[k].iteration());
      EXPECT_TRUE(std::ranges::equal(x.message_keys()[k].seed().bytes(), y.message_keys()[k].seed().bytes()));
    }
  }
}

TEST(SenderKeyRecordFormatTest, EmptyRecordRoundTrips) {
  const SecretBuffer bytes = SenderKeyRecord().Serialize();
  ASSERT_EQ(bytes.size(), 1u);
  EXPECT_EQ(bytes.bytes()[0], kSenderKeyRecordFormatVersion);
  auto parsed = SenderKeyRecord::Deserialize(bytes.bytes());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->empty());
}

TEST(SenderKeyRecordFormatTest, OwnAndReceivedStatesRoundTrip) {
  DeterministicRng rng(7);
  SenderKeyRecord own;
  own.SetOwnState(0x7FFFFFFF, 123, Filled(1), crypto::KeyPair::Generate(rng));
  auto parsed_own = SenderKeyRecord::Deserialize(own.Serialize().bytes());
  ASSERT_TRUE(parsed_own.has_value());
  ExpectSameRecords(own, *parsed_own);

  SenderKeyRecord received;
  for (std::uint32_t id = 0; id < 3; ++id) {
    received.AddState(id, 100 * id + 50, Filled(static_cast<std::uint8_t>(id)),
                      crypto::KeyPair::Generate(rng).public_key);
    for (std::uint32_t k = 0; k < 10; ++k) {
      received.NewestState()->AddMessageKey(
          SenderMessageKey(100 * id + k, Filled(static_cast<std::uint8_t>(k))));
    }
  }
  auto parsed = SenderKeyRecord::Deserialize(received.Serialize().bytes());
  ASSERT_TRUE(parsed.has_value());
  ExpectSameRecords(received, *parsed);
  // Serialization is deterministic, so a round trip reproduces the bytes.
  EXPECT_TRUE(std::ranges::equal(parsed->Serialize().bytes(), received.Serialize().bytes()));
}

TEST(SenderKeyRecordFormatTest, AFullRecordFitsTheSizeCapAndRoundTrips) {
  DeterministicRng rng(8);
  SenderKeyRecord record;
  const std::uint32_t top = std::numeric_limits<std::uint32_t>::max();
  for (std::uint32_t s = 0; s < kMaxSenderKeyStates; ++s) {
    record.AddState(top - s, top - 1, Filled(static_cast<std::uint8_t>(s)),
                    crypto::KeyPair::Generate(rng).public_key);
    const std::uint32_t first = top - 1 - static_cast<std::uint32_t>(kMaxSenderMessageKeys);
    for (std::uint32_t k = 0; k < kMaxSenderMessageKeys; ++k) {
      record.NewestState()->AddMessageKey(SenderMessageKey(first + k, Filled(static_cast<std::uint8_t>(k))));
    }
  }
  const SecretBuffer bytes = record.Serialize();
  EXPECT_LE(bytes.size(), kMaxSerializedSenderKeyRecordSize);
  auto parsed = SenderKeyRecord::Deserialize(bytes.bytes());
  ASSERT_TRUE(parsed.has_value());
  ExpectSameRecords(record, *parsed);
}

// Writes the storage format field by field, so that tests can break it.
struct StateFields {
  std::optional<std::uint64_t> key_id = 1;
  std::optional<std::uint64_t> chain_iteration = 100;
  std::optional<Buf> chain_seed = Buf(32, 0x11);
  bool with_chain = true;
  std::optional<Buf> public_key;
  std::optional<Buf> private_key;
  bool with_signing = true;
  std::vector<std::pair<std::uint64_t, Buf>> message_keys;
  Buf extra;

  Buf Encode() const {
    ByteWriter state;
    if (key_id) WriteVarintField(state, 1, *key_id);
    if (with_chain) {
      ByteWriter chain;
      if (chain_iteration) WriteVarintField(chain, 1, *chain_iteration);
      if (chain_seed) WriteBytesField(chain, 2, *chain_seed);
      WriteBytesField(state, 2, chain.bytes());
    }
    if (with_signing) {
      ByteWriter signing;
      if (public_key) WriteBytesField(signing, 1, *public_key);
      if (private_key) WriteBytesField(signing, 2, *private_key);
      WriteBytesField(state, 3, signing.bytes());
    }
    for (const auto& [iteration, seed] : message_keys) {
      ByteWriter key;
      WriteVarintField(key, 1, iteration);
      WriteBytesField(key, 2, seed);
      WriteBytesField(state, 4, key.bytes());
    }
    state.WriteBytes(extra);
    return state.Take();
  }
};

Buf RecordOf(const std::vector<Buf>& states, std::uint8_t version = kSenderKeyRecordFormatVersion) {
  ByteWriter w;
  w.WriteU8(version);
  for (const Buf& s : states) WriteBytesField(w, 1, s);
  return w.Take();
}

class SenderKeyRecordDecodeTest : public ::testing::Test {
 protected:
  SenderKeyRecordDecodeTest() : pair_(crypto::KeyPair::Generate(rng_)) {
    fields_.public_key = ToBuf<33>(pair_.public_key.Serialize());
  }

  void ExpectInvalid(const Buf& bytes) {
    auto parsed = SenderKeyRecord::Deserialize(bytes);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error().code, ProtocolErrc::kInvalidState);
  }

  DeterministicRng rng_{9};
  crypto::KeyPair pair_;
  StateFields fields_;
};

TEST_F(SenderKeyRecordDecodeTest, TheBuilderMakesAValidRecord) {
  StateFields f = fields_;
  f.private_key = ToBuf<32>(pair_.private_key.bytes().bytes());
  f.message_keys = {{5, Buf(32, 1)}, {99, Buf(32, 2)}};
  f.extra = {0x48, 0x01};  // unknown field 9
  auto parsed = SenderKeyRecord::Deserialize(RecordOf({f.Encode()}));
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->states().size(), 1u);
  EXPECT_EQ(parsed->states()[0].message_keys().size(), 2u);
  EXPECT_TRUE(parsed->states()[0].signing_private().has_value());
}

TEST_F(SenderKeyRecordDecodeTest, RejectsEmptyInputAndOtherFormatVersions) {
  ExpectInvalid({});
  ExpectInvalid(RecordOf({fields_.Encode()}, 0));
  ExpectInvalid(RecordOf({fields_.Encode()}, 2));
}

TEST_F(SenderKeyRecordDecodeTest, RejectsInputOverTheSizeCap) {
  Buf bytes = RecordOf({fields_.Encode()});
  bytes.resize(kMaxSerializedSenderKeyRecordSize + 1, 0);
  ExpectInvalid(bytes);
}

TEST_F(SenderKeyRecordDecodeTest, RejectsBrokenProtobufAndTruncation) {
  Buf bytes = RecordOf({fields_.Encode()});
  for (std::size_t n = 2; n < bytes.size(); ++n) ExpectInvalid(Buf(bytes.begin(), bytes.begin() + n));
  ExpectInvalid({kSenderKeyRecordFormatVersion, 0x0A, 0x05, 0x01});
  ExpectInvalid({kSenderKeyRecordFormatVersion, 0x08, 0x01});  // a state as a varint
}

TEST_F(SenderKeyRecordDecodeTest, RejectsEachMissingField) {
  for (int missing = 0; missing < 5; ++missing) {
    StateFields f = fields_;
    if (missing == 0) f.key_id.reset();
    if (missing == 1) f.with_chain = false;
    if (missing == 2) f.chain_iteration.reset();
    if (missing == 3) f.chain_seed.reset();
    if (missing == 4) f.public_key.reset();
    ExpectInvalid(RecordOf({f.Encode()}));
  }
  StateFields f = fields_;
  f.with_signing = false;
  ExpectInvalid(RecordOf({f.Encode()}));
}

TEST_F(SenderKeyRecordDecodeTest, RejectsDuplicateAndMistypedFields) {
  StateFields f = fields_;
  f.extra = {0x08, 0x02};  // key id again
  ExpectInvalid(RecordOf({f.Encode()}));
  f = fields_;
  f.key_id.reset();
  f.extra = {0x0A, 0x01, 0x00};  // key id as bytes
  ExpectInvalid(RecordOf({f.Encode()}));
  f = fields_;
  f.key_id = std::uint64_t{1} << 32;
  ExpectInvalid(RecordOf({f.Encode()}));
  f = fields_;
  f.extra = {0x20, 0x01};  // a message key as a varint
  ExpectInvalid(RecordOf({f.Encode()}));
}

TEST_F(SenderKeyRecordDecodeTest, RejectsKeysOfTheWrongSize) {
  StateFields f = fields_;
  f.chain_seed = Buf(31, 1);
  ExpectInvalid(RecordOf({f.Encode()}));
  f = fields_;
  f.public_key->pop_back();
  ExpectInvalid(RecordOf({f.Encode()}));
  f = fields_;
  (*f.public_key)[0] = 0x07;
  ExpectInvalid(RecordOf({f.Encode()}));
  f = fields_;
  f.private_key = Buf(31, 1);
  ExpectInvalid(RecordOf({f.Encode()}));
  f = fields_;
  f.message_keys = {{5, Buf(33, 1)}};
  ExpectInvalid(RecordOf({f.Encode()}));
}

TEST_F(SenderKeyRecordDecodeTest, RejectsAPrivateKeyThatDoesNotMatch) {
  StateFields f = fields_;
  f.private_key = ToBuf<32>(crypto::KeyPair::Generate(rng_).private_key.bytes().bytes());
  ExpectInvalid(RecordOf({f.Encode()}));
}

TEST_F(SenderKeyRecordDecodeTest, StatesAtTheLimitAndOnePast) {
  std::vector<Buf> states;
  for (std::uint64_t id = 0; id < kMaxSenderKeyStates; ++id) {
    StateFields f = fields_;
    f.key_id = id;
    states.push_back(f.Encode());
  }
  EXPECT_TRUE(SenderKeyRecord::Deserialize(RecordOf(states)).has_value());
  StateFields f = fields_;
  f.key_id = kMaxSenderKeyStates;
  states.push_back(f.Encode());
  ExpectInvalid(RecordOf(states));
}

TEST_F(SenderKeyRecordDecodeTest, MessageKeysAtTheLimitAndOnePast) {
  StateFields f = fields_;
  f.chain_iteration = 10'000;
  for (std::uint64_t k = 0; k < kMaxSenderMessageKeys; ++k) f.message_keys.emplace_back(k, Buf(32, 3));
  EXPECT_TRUE(SenderKeyRecord::Deserialize(RecordOf({f.Encode()})).has_value());
  f.message_keys.emplace_back(kMaxSenderMessageKeys, Buf(32, 3));
  ExpectInvalid(RecordOf({f.Encode()}));
}

TEST_F(SenderKeyRecordDecodeTest, RejectsARepeatedKeyId) {
  ExpectInvalid(RecordOf({fields_.Encode(), fields_.Encode()}));
}

TEST_F(SenderKeyRecordDecodeTest, RejectsMessageKeysOutOfOrderOrNotBehindTheChain) {
  StateFields f = fields_;
  f.message_keys = {{5, Buf(32, 1)}, {5, Buf(32, 1)}};
  ExpectInvalid(RecordOf({f.Encode()}));
  f.message_keys = {{6, Buf(32, 1)}, {5, Buf(32, 1)}};
  ExpectInvalid(RecordOf({f.Encode()}));
  f.message_keys = {{*f.chain_iteration, Buf(32, 1)}};
  ExpectInvalid(RecordOf({f.Encode()}));
  f.message_keys = {{*f.chain_iteration - 1, Buf(32, 1)}};
  EXPECT_TRUE(SenderKeyRecord::Deserialize(RecordOf({f.Encode()})).has_value());
}

TEST_F(SenderKeyRecordDecodeTest, RejectsGarbage) {
  DeterministicRng garbage(10);
  for (int i = 0; i < 300; ++i) {
    Buf bytes(1 + static_cast<std::size_t>(i), 0);
    garbage.Fill(bytes);
    bytes[0] = kSenderKeyRecordFormatVersion;
    auto parsed = SenderKeyRecord::Deserialize(bytes);
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ProtocolErrc::kInvalidState);
    }
  }
}

}  // namespace
}  // namespace parley::protocol
