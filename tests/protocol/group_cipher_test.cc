// GroupSessionBuilder + GroupCipher between several members: round trips,
// out-of-order and shuffled delivery, forward-jump and skipped-key bounds,
// duplicates, tampering, and that a failed decrypt changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "base/rng.h"
#include "crypto/xeddsa.h"
#include "protocol/error.h"
#include "protocol/group_cipher.h"
#include "protocol/group_session_builder.h"
#include "protocol/limits.h"
#include "protocol/sender_key_distribution_message.h"
#include "protocol/sender_key_message.h"
#include "protocol/sender_key_store.h"

namespace parley::protocol {
namespace {

using Buf = std::vector<std::uint8_t>;

Buf Text(std::string_view s) { return Buf(s.begin(), s.end()); }

// One group member with its own store.
struct Member {
  Member(std::string name, std::uint64_t seed) : address{std::move(name), DeviceId(1)}, rng(seed) {}

  SenderKeyName Name(const std::string& group) const { return {group, address}; }

  ProtocolAddress address;
  DeterministicRng rng;
  InMemorySenderKeyStore store;
};

class GroupCipherTest : public ::testing::Test {
 protected:
  static constexpr const char* kGroup = "group-1";

  // Alice creates her sender key; Bob and Carol process its distribution.
  void SetUp() override {
    auto distribution = GroupSessionBuilder(alice_.store, alice_.rng).CreateDistribution(alice_.Name(kGroup));
    ASSERT_TRUE(distribution.has_value());
    auto wire = SenderKeyDistributionMessage::Deserialize(distribution->serialized());
    ASSERT_TRUE(wire.has_value());
    for (Member* m : {&bob_, &carol_}) {
      ASSERT_TRUE(GroupSessionBuilder(m->store, m->rng).Process(alice_.Name(kGroup), *wire).has_value());
    }
    alice_distribution_.emplace(std::move(*wire));
  }

  Buf AliceEncrypts(const Buf& plaintext) {
    auto out = GroupCipher(alice_.store, alice_.Name(kGroup), alice_.rng).Encrypt(plaintext);
    EXPECT_TRUE(out.has_value());
    return out ? *out : Buf{};
  }

  ProtocolResult<SecretBuffer> Decrypt(Member& m, const Buf& ciphertext) {
    return GroupCipher(m.store, alice_.Name(kGroup), m.rng).Decrypt(ciphertext);
  }

  void ExpectDecrypts(Member& m, const Buf& ciphertext, const Buf& plaintext) {
    auto out = Decrypt(m, ciphertext);
    ASSERT_TRUE(out.has_value()) << static_cast<int>(out.error().code);
    EXPECT_TRUE(std::ranges::equal(out->bytes(), plaintext));
  }

  void ExpectError(Member& m, const Buf& ciphertext, ProtocolErrc code) {
    auto out = Decrypt(m, ciphertext);
    ASSERT_FALSE(out.has_value());
    EXPECT_EQ(out.error().code, code);
  }

  // The stored bytes of m's record of Alice's chain.
  Buf StoredRecord(Member& m) {
    auto record = m.store.LoadSenderKey(alice_.Name(kGroup));
    EXPECT_TRUE(record.has_value() && record->has_value());
    if (!record || !*record) return {};
    const SecretBuffer bytes = (*record)->Serialize();
    return Buf(bytes.bytes().begin(), bytes.bytes().end());
  }

  // Moves Alice's own chain `steps` iterations ahead without sending.
  void AdvanceAlice(std::uint32_t steps) {
    auto record = alice_.store.LoadSenderKey(alice_.Name(kGroup));
    ASSERT_TRUE(record.has_value() && record->has_value());
    SenderKeyState* state = (*record)->NewestState();
    SenderChainKey chain = state->chain_key();
    for (std::uint32_t i = 0; i < steps; ++i) chain = chain.Next();
    state->set_chain_key(chain);
    ASSERT_TRUE(alice_.store.StoreSenderKey(alice_.Name(kGroup), **record).has_value());
  }

  std::optional<SenderKeyDistributionMessage> alice_distribution_;
  Member alice_{"alice", 1};
  Member bob_{"bob", 2};
  Member carol_{"carol", 3};
};

TEST_F(GroupCipherTest, EveryMemberDecryptsInOrder) {
  for (int i = 0; i < 20; ++i) {
    const Buf plaintext = Text("message " + std::to_string(i));
    const Buf ciphertext = AliceEncrypts(plaintext);
    ExpectDecrypts(bob_, ciphertext, plaintext);
    ExpectDecrypts(carol_, ciphertext, plaintext);
  }
}

TEST_F(GroupCipherTest, EmptyAndMaximalPlaintextsRoundTrip) {
  ExpectDecrypts(bob_, AliceEncrypts({}), {});
  const Buf largest(kMaxPlaintextSize, 0x42);
  const Buf ciphertext = AliceEncrypts(largest);
  EXPECT_LE(ciphertext.size(), kMaxSerializedMessageSize);
  ExpectDecrypts(bob_, ciphertext, largest);
}

TEST_F(GroupCipherTest, PlaintextOverTheLimitIsRefused) {
  auto out =
      GroupCipher(alice_.store, alice_.Name(kGroup), alice_.rng).Encrypt(Buf(kMaxPlaintextSize + 1, 0));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ProtocolErrc::kLimitExceeded);
}

TEST_F(GroupCipherTest, MessagesCarryConsecutiveIterations) {
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto message = SenderKeyMessage::Deserialize(AliceEncrypts(Text("x")));
    ASSERT_TRUE(message.has_value());
    EXPECT_EQ(message->iteration(), i);
  }
}

TEST_F(GroupCipherTest, ReversedDeliveryDecrypts) {
  std::vector<Buf> plaintexts, ciphertexts;
  for (int i = 0; i < 10; ++i) {
    plaintexts.push_back(Text("m" + std::to_string(i)));
    ciphertexts.push_back(AliceEncrypts(plaintexts.back()));
  }
  for (int i = 9; i >= 0; --i) ExpectDecrypts(bob_, ciphertexts[i], plaintexts[i]);
}

TEST_F(GroupCipherTest, ShuffledDeliveryDecrypts) {
  constexpr int kCount = 200;
  std::vector<Buf> plaintexts, ciphertexts;
  for (int i = 0; i < kCount; ++i) {
    plaintexts.push_back(Text("shuffled " + std::to_string(i)));
    ciphertexts.push_back(AliceEncrypts(plaintexts.back()));
  }
  std::vector<int> order(kCount);
  std::iota(order.begin(), order.end(), 0);
  DeterministicRng shuffle_rng(99);
  for (int i = kCount - 1; i > 0; --i) {
    std::uint8_t r[4];
    shuffle_rng.Fill(r);
    const std::uint32_t v = (std::uint32_t{r[0]} << 24) | (std::uint32_t{r[1]} << 16) | (r[2] << 8) | r[3];
    std::swap(order[i], order[v % static_cast<std::uint32_t>(i + 1)]);
  }
  for (int i : order) ExpectDecrypts(bob_, ciphertexts[i], plaintexts[i]);
  for (int i : order) ExpectError(bob_, ciphertexts[i], ProtocolErrc::kDuplicateMessage);
}

TEST_F(GroupCipherTest, AMessageAThousandAheadDecryptsAndTheSkippedOnesLater) {
  std::vector<Buf> ciphertexts;
  for (int i = 0; i <= 1000; ++i) ciphertexts.push_back(AliceEncrypts(Text("n" + std::to_string(i))));
  ExpectDecrypts(bob_, ciphertexts[1000], Text("n1000"));
  for (int i = 0; i < 1000; ++i) ExpectDecrypts(bob_, ciphertexts[i], Text("n" + std::to_string(i)));
}

TEST_F(GroupCipherTest, ForwardJumpAtTheLimitDecrypts) {
  AdvanceAlice(kMaxForwardJump);
  const Buf ciphertext = AliceEncrypts(Text("far"));
  ExpectDecrypts(bob_, ciphertext, Text("far"));
  // Only the newest kMaxSenderMessageKeys skipped keys were kept.
  auto record = bob_.store.LoadSenderKey(alice_.Name(kGroup));
  ASSERT_TRUE(record.has_value() && record->has_value());
  EXPECT_EQ((*record)->NewestState()->message_keys().size(), kMaxSenderMessageKeys);
  EXPECT_EQ((*record)->NewestState()->chain_key().iteration(), kMaxForwardJump + 1);
}

TEST_F(GroupCipherTest, ForwardJumpOnePastTheLimitIsRejectedAndChangesNothing) {
  const Buf before = StoredRecord(bob_);
  AdvanceAlice(kMaxForwardJump + 1);
  ExpectError(bob_, AliceEncrypts(Text("too far")), ProtocolErrc::kTooFarInFuture);
  EXPECT_EQ(StoredRecord(bob_), before);
}

TEST_F(GroupCipherTest, ForwardJumpIsMeasuredFromTheReceiversChain) {
  ExpectDecrypts(bob_, AliceEncrypts(Text("first")), Text("first"));
  // Bob is at iteration 1; a message at 1 + kMaxForwardJump is exactly at the limit.
  AdvanceAlice(kMaxForwardJump);
  ExpectDecrypts(bob_, AliceEncrypts(Text("edge")), Text("edge"));
}

TEST_F(GroupCipherTest, SkippedKeysBeyondTheCapAreDropped) {
  std::vector<Buf> ciphertexts;
  for (std::size_t i = 0; i <= kMaxSenderMessageKeys + 1; ++i)
    ciphertexts.push_back(AliceEncrypts(Text("k")));
  // Jump to iteration kMaxSenderMessageKeys + 1: iterations 1 .. kMax are kept, 0 is not.
  ExpectDecrypts(bob_, ciphertexts.back(), Text("k"));
  ExpectError(bob_, ciphertexts[0], ProtocolErrc::kDuplicateMessage);
  ExpectDecrypts(bob_, ciphertexts[1], Text("k"));
  ExpectDecrypts(bob_, ciphertexts[kMaxSenderMessageKeys], Text("k"));
}

TEST_F(GroupCipherTest, DuplicatesAreRejectedInOrderAndOutOfOrder) {
  const Buf first = AliceEncrypts(Text("1"));
  const Buf second = AliceEncrypts(Text("2"));
  const Buf third = AliceEncrypts(Text("3"));
  ExpectDecrypts(bob_, first, Text("1"));
  ExpectError(bob_, first, ProtocolErrc::kDuplicateMessage);
  ExpectDecrypts(bob_, third, Text("3"));
  ExpectDecrypts(bob_, second, Text("2"));
  ExpectError(bob_, second, ProtocolErrc::kDuplicateMessage);
  ExpectError(bob_, third, ProtocolErrc::kDuplicateMessage);
}

TEST_F(GroupCipherTest, ADistributionReceivedAgainDoesNotReopenUsedKeys) {
  const Buf first = AliceEncrypts(Text("1"));
  ExpectDecrypts(bob_, first, Text("1"));
  ASSERT_EQ(alice_distribution_->iteration(), 0u);
  ASSERT_TRUE(GroupSessionBuilder(bob_.store, bob_.rng)
                  .Process(alice_.Name(kGroup), *alice_distribution_)
                  .has_value());
  ExpectError(bob_, first, ProtocolErrc::kDuplicateMessage);
  ExpectDecrypts(bob_, AliceEncrypts(Text("2")), Text("2"));
}

TEST_F(GroupCipherTest, TamperedMessagesFailAndChangeNothing) {
  const Buf ciphertext = AliceEncrypts(Text("authentic"));
  const Buf before = StoredRecord(bob_);
  for (std::size_t i = 1; i < ciphertext.size(); ++i) {
    Buf tampered = ciphertext;
    tampered[i] ^= 0x80;
    auto out = Decrypt(bob_, tampered);
    ASSERT_FALSE(out.has_value()) << i;
    EXPECT_EQ(StoredRecord(bob_), before) << i;
  }
  ExpectDecrypts(bob_, ciphertext, Text("authentic"));
}

TEST_F(GroupCipherTest, TamperedSignatureAndCiphertextAreInvalidSignatures) {
  const Buf ciphertext = AliceEncrypts(Text("payload"));
  Buf bad_signature = ciphertext;
  bad_signature.back() ^= 0x01;
  ExpectError(bob_, bad_signature, ProtocolErrc::kInvalidSignature);
  Buf bad_body = ciphertext;
  bad_body[bad_body.size() - crypto::kSignatureSize - 1] ^= 0x01;  // last ciphertext byte
  ExpectError(bob_, bad_body, ProtocolErrc::kInvalidSignature);
}

TEST_F(GroupCipherTest, EachHeaderFieldIsCoveredBySignatureOrLookup) {
  auto original = SenderKeyMessage::Deserialize(AliceEncrypts(Text("header")));
  ASSERT_TRUE(original.has_value());
  const Buf signature(original->serialized().end() - crypto::kSignatureSize, original->serialized().end());
  auto rebuild = [&](std::uint8_t version, std::uint64_t id, std::uint64_t iteration) {
    ByteWriter w;
    w.WriteU8(version);
    WriteVarintField(w, 1, id);
    WriteVarintField(w, 2, iteration);
    WriteBytesField(w, 3, original->ciphertext());
    w.WriteBytes(signature);
    return w.Take();
  };
  ExpectDecrypts(bob_, rebuild(0x33, original->key_id(), original->iteration()), Text("header"));
  // Back to iteration 0 on a fresh member, so that iteration changes are not duplicates.
  ExpectError(carol_, rebuild(0x34, original->key_id(), original->iteration()),
              ProtocolErrc::kInvalidSignature);
  ExpectError(carol_, rebuild(0x23, original->key_id(), original->iteration()), ProtocolErrc::kLegacyVersion);
  ExpectError(carol_, rebuild(0x43, original->key_id(), original->iteration()),
              ProtocolErrc::kUnknownVersion);
  ExpectError(carol_, rebuild(0x33, original->key_id(), original->iteration() + 1),
              ProtocolErrc::kInvalidSignature);
  ExpectError(carol_, rebuild(0x33, original->key_id() ^ 1, original->iteration()),
              ProtocolErrc::kUnknownSenderKeyId);
  ExpectDecrypts(carol_, rebuild(0x33, original->key_id(), original->iteration()), Text("header"));
}

TEST_F(GroupCipherTest, ASignedMessageThatDoesNotDecryptChangesNothing) {
  // Only the holder of the signing key can do this; the receiver must still
  // not advance or spend the key.
  auto own = alice_.store.LoadSenderKey(alice_.Name(kGroup));
  ASSERT_TRUE(own.has_value() && own->has_value());
  const SenderKeyState& state = *(*own)->NewestState();
  const Buf before = StoredRecord(bob_);
  const auto forged =
      SenderKeyMessage::Create(state.key_id(), 5, Buf(32, 0xEE), *state.signing_private(), alice_.rng);
  ExpectError(bob_, forged.serialized(), ProtocolErrc::kDecryptFailed);
  EXPECT_EQ(StoredRecord(bob_), before);
}

TEST_F(GroupCipherTest, TruncatedAndGarbageInputFailsAndChangesNothing) {
  const Buf ciphertext = AliceEncrypts(Text("complete"));
  const Buf before = StoredRecord(bob_);
  for (std::size_t n = 0; n < ciphertext.size(); ++n) {
    EXPECT_FALSE(Decrypt(bob_, Buf(ciphertext.begin(), ciphertext.begin() + n)).has_value()) << n;
  }
  DeterministicRng garbage(3);
  for (int i = 0; i < 200; ++i) {
    Buf bytes(static_cast<std::size_t>(i) + 1, 0);
    garbage.Fill(bytes);
    if (i % 2 == 0) bytes[0] = 0x33;
    EXPECT_FALSE(Decrypt(bob_, bytes).has_value());
  }
  EXPECT_EQ(StoredRecord(bob_), before);
  ExpectDecrypts(bob_, ciphertext, Text("complete"));
}

TEST_F(GroupCipherTest, NoDistributionMeansNoSession) {
  Member dave("dave", 4);
  auto out = GroupCipher(dave.store, alice_.Name(kGroup), dave.rng).Decrypt(AliceEncrypts(Text("hi")));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ProtocolErrc::kNoSession);
  // Another group, same sender: also none.
  auto other_group =
      GroupCipher(bob_.store, alice_.Name("group-2"), bob_.rng).Decrypt(AliceEncrypts(Text("hi")));
  ASSERT_FALSE(other_group.has_value());
  EXPECT_EQ(other_group.error().code, ProtocolErrc::kNoSession);
}

TEST_F(GroupCipherTest, EncryptWithoutOwnSenderKeyIsNoSession) {
  auto out = GroupCipher(bob_.store, bob_.Name(kGroup), bob_.rng).Encrypt(Text("hi"));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ProtocolErrc::kNoSession);
  // Bob holds Alice's chain, but without its private signing key he cannot send on it.
  auto as_alice = GroupCipher(bob_.store, alice_.Name(kGroup), bob_.rng).Encrypt(Text("hi"));
  ASSERT_FALSE(as_alice.has_value());
  EXPECT_EQ(as_alice.error().code, ProtocolErrc::kNoSession);
}

TEST_F(GroupCipherTest, EveryoneSendsToEveryone) {
  std::vector<Member*> members{&alice_, &bob_, &carol_};
  for (Member* sender : members) {
    auto d = GroupSessionBuilder(sender->store, sender->rng).CreateDistribution(sender->Name(kGroup));
    ASSERT_TRUE(d.has_value());
    for (Member* receiver : members) {
      if (receiver == sender) continue;
      ASSERT_TRUE(
          GroupSessionBuilder(receiver->store, receiver->rng).Process(sender->Name(kGroup), *d).has_value());
    }
  }
  for (Member* sender : members) {
    const Buf plaintext = Text("from " + sender->address.name);
    auto ct = GroupCipher(sender->store, sender->Name(kGroup), sender->rng).Encrypt(plaintext);
    ASSERT_TRUE(ct.has_value());
    for (Member* receiver : members) {
      if (receiver == sender) continue;
      auto pt = GroupCipher(receiver->store, sender->Name(kGroup), receiver->rng).Decrypt(*ct);
      ASSERT_TRUE(pt.has_value());
      EXPECT_TRUE(std::ranges::equal(pt->bytes(), plaintext));
    }
  }
}

TEST_F(GroupCipherTest, AfterRotationOldAndNewChainsDecryptUpToFiveStates) {
  std::vector<Buf> per_chain;
  per_chain.push_back(AliceEncrypts(Text("chain 0")));
  for (int chain = 1; chain <= static_cast<int>(kMaxSenderKeyStates); ++chain) {
    // Alice starts over with a new sender key (e.g. after a member left).
    ASSERT_TRUE(alice_.store.StoreSenderKey(alice_.Name(kGroup), SenderKeyRecord()).has_value());
    auto d = GroupSessionBuilder(alice_.store, alice_.rng).CreateDistribution(alice_.Name(kGroup));
    ASSERT_TRUE(d.has_value());
    ASSERT_TRUE(GroupSessionBuilder(bob_.store, bob_.rng).Process(alice_.Name(kGroup), *d).has_value());
    per_chain.push_back(AliceEncrypts(Text("chain " + std::to_string(chain))));
  }
  // Six chains made; Bob keeps the newest five.
  ExpectError(bob_, per_chain[0], ProtocolErrc::kUnknownSenderKeyId);
  for (std::size_t chain = 1; chain < per_chain.size(); ++chain) {
    ExpectDecrypts(bob_, per_chain[chain], Text("chain " + std::to_string(chain)));
  }
}

TEST_F(GroupCipherTest, TheLastIterationCannotBeUsed) {
  auto record = alice_.store.LoadSenderKey(alice_.Name(kGroup));
  ASSERT_TRUE(record.has_value() && record->has_value());
  SenderKeyState& state = *(*record)->NewestState();
  const std::uint32_t last = std::numeric_limits<std::uint32_t>::max();

  // A receiver whose chain starts just below the last iteration.
  Member dave("dave", 4);
  const auto near_end = SenderKeyDistributionMessage::Create(state.key_id(), last - 1,
                                                             state.chain_key().key(), state.signing_public());
  ASSERT_TRUE(GroupSessionBuilder(dave.store, dave.rng).Process(alice_.Name(kGroup), near_end).has_value());
  const auto at_last =
      SenderKeyMessage::Create(state.key_id(), last, Buf(16, 0), *state.signing_private(), alice_.rng);
  auto out = GroupCipher(dave.store, alice_.Name(kGroup), dave.rng).Decrypt(at_last.serialized());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ProtocolErrc::kLimitExceeded);

  // The sender's own chain at the last iteration refuses to encrypt.
  state.set_chain_key(SenderChainKey(last, state.chain_key().key()));
  ASSERT_TRUE(alice_.store.StoreSenderKey(alice_.Name(kGroup), **record).has_value());
  auto encrypted = GroupCipher(alice_.store, alice_.Name(kGroup), alice_.rng).Encrypt(Text("x"));
  ASSERT_FALSE(encrypted.has_value());
  EXPECT_EQ(encrypted.error().code, ProtocolErrc::kLimitExceeded);
}

}  // namespace
}  // namespace parley::protocol
