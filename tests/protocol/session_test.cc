// Sessions end to end: X3DH, the Double Ratchet, limits, archival and failure atomicity.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/limits.h"
#include "protocol/signal_message.h"
#include "test_party.h"

namespace parley::protocol {
namespace {

using testing::TestParty;
using testing::ToString;

#define ASSERT_OK(expr)                              \
  do {                                               \
    auto status_ = (expr);                           \
    ASSERT_TRUE(status_) << status_.error().message; \
  } while (0)

class SessionTest : public ::testing::Test {
 protected:
  TestParty alice{"alice", 1};
  TestParty bob{"bob", 2};

  CiphertextMessage Send(TestParty& from, TestParty& to, const std::string& text) {
    auto m = from.Encrypt(to, text);
    EXPECT_TRUE(m) << m.error().message;
    return m ? *m : CiphertextMessage{};
  }
  void Receive(TestParty& to, TestParty& from, const CiphertextMessage& m, const std::string& text) {
    auto p = to.Decrypt(from, m);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(ToString(*p), text);
  }
  ProtocolErrc ReceiveError(TestParty& to, TestParty& from, const CiphertextMessage& m) {
    auto p = to.Decrypt(from, m);
    EXPECT_FALSE(p);
    return p ? ProtocolErrc::kInvalidState : p.error().code;
  }
  // Alice starts, Bob answers: an established session on both sides.
  void Establish() {
    ASSERT_OK(alice.StartSession(bob));
    Receive(bob, alice, Send(alice, bob, "hello"), "hello");
    Receive(alice, bob, Send(bob, alice, "hi"), "hi");
  }
};

TEST_F(SessionTest, SetupWithOneTimePreKey) {
  EXPECT_FALSE(HasCurrentSession(alice.sessions(), bob.address()));
  ASSERT_OK(alice.StartSession(bob, 1));
  EXPECT_TRUE(HasCurrentSession(alice.sessions(), bob.address()));
  EXPECT_TRUE(bob.prekeys().ContainsPreKey(PreKeyId(1)));
  auto first = Send(alice, bob, "hello bob");
  EXPECT_EQ(first.type, CiphertextType::kPreKey);
  auto second = Send(alice, bob, "again");
  EXPECT_EQ(second.type, CiphertextType::kPreKey);
  Receive(bob, alice, first, "hello bob");
  EXPECT_FALSE(bob.prekeys().ContainsPreKey(PreKeyId(1)));
  Receive(bob, alice, second, "again");
  auto reply = Send(bob, alice, "hello alice");
  EXPECT_EQ(reply.type, CiphertextType::kMessage);
  Receive(alice, bob, reply, "hello alice");
  auto next = Send(alice, bob, "now plain");
  EXPECT_EQ(next.type, CiphertextType::kMessage);
  Receive(bob, alice, next, "now plain");
  EXPECT_EQ(alice.identities().GetIdentity(bob.address()), bob.identity_key());
  EXPECT_EQ(bob.identities().GetIdentity(alice.address()), alice.identity_key());
  EXPECT_EQ(alice.Session(bob)->current_state()->base_key, bob.Session(alice)->current_state()->base_key);
  EXPECT_EQ(alice.Session(bob)->current_state()->remote_registration_id,
            bob.identities().GetLocalRegistrationId());
  EXPECT_EQ(bob.Session(alice)->current_state()->remote_registration_id,
            alice.identities().GetLocalRegistrationId());
}

TEST_F(SessionTest, SetupWithoutOneTimePreKey) {
  ASSERT_OK(alice.StartSession(bob, 0));
  auto first = Send(alice, bob, "no prekey");
  auto parsed = PreKeySignalMessage::Parse(first.bytes);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->prekey_id.has_value());
  Receive(bob, alice, first, "no prekey");
  Receive(alice, bob, Send(bob, alice, "reply"), "reply");
}

TEST_F(SessionTest, LastResortPreKeyIsKept) {
  ASSERT_OK(alice.StartSession(bob, kLastResortPreKeyId));
  Receive(bob, alice, Send(alice, bob, "m"), "m");
  EXPECT_TRUE(bob.prekeys().ContainsPreKey(PreKeyId(kLastResortPreKeyId)));
}

TEST_F(SessionTest, RepeatedPreKeyMessageIsNotANewSession) {
  ASSERT_OK(alice.StartSession(bob));
  auto first = Send(alice, bob, "one");
  auto second = Send(alice, bob, "two");
  Receive(bob, alice, first, "one");
  Receive(bob, alice, second, "two");
  EXPECT_TRUE(bob.Session(alice)->previous_states().empty());
  EXPECT_EQ(ReceiveError(bob, alice, first), ProtocolErrc::kDuplicateMessage);
}

TEST_F(SessionTest, LongPingPong) {
  Establish();
  for (int round = 0; round < 300; ++round) {
    TestParty& from = round % 2 == 0 ? alice : bob;
    TestParty& to = round % 2 == 0 ? bob : alice;
    const int burst = 1 + round % 4;
    for (int i = 0; i < burst; ++i) {
      const std::string text = "round " + std::to_string(round) + " message " + std::to_string(i);
      auto m = Send(from, to, text);
      EXPECT_EQ(m.type, CiphertextType::kMessage);
      Receive(to, from, m, text);
    }
  }
  EXPECT_LE(alice.Session(bob)->current_state()->receiver_chains.size(), kMaxReceiverChains);
}

TEST_F(SessionTest, OutOfOrderAcrossRatchetSteps) {
  Establish();
  auto a1 = Send(alice, bob, "a1");
  auto a2 = Send(alice, bob, "a2");
  auto a3 = Send(alice, bob, "a3");
  Receive(bob, alice, a3, "a3");
  auto b1 = Send(bob, alice, "b1");
  auto b2 = Send(bob, alice, "b2");
  Receive(alice, bob, b2, "b2");
  auto a4 = Send(alice, bob, "a4");
  Receive(bob, alice, a4, "a4");
  auto b3 = Send(bob, alice, "b3");
  Receive(alice, bob, b3, "b3");
  Receive(bob, alice, a1, "a1");
  Receive(alice, bob, b1, "b1");
  Receive(bob, alice, a2, "a2");
  EXPECT_EQ(ReceiveError(bob, alice, a2), ProtocolErrc::kDuplicateMessage);
  EXPECT_EQ(ReceiveError(alice, bob, b1), ProtocolErrc::kDuplicateMessage);
}

TEST_F(SessionTest, ExactlyThousandAheadDecrypts) {
  Establish();
  std::vector<CiphertextMessage> sent;
  for (int i = 0; i <= 1000; ++i) sent.push_back(Send(alice, bob, "m" + std::to_string(i)));
  Receive(bob, alice, sent[1000], "m1000");
  Receive(bob, alice, sent[0], "m0");
  Receive(bob, alice, sent[500], "m500");
  Receive(bob, alice, sent[999], "m999");
}

// Moves Alice's sending chain `steps` messages on, as if she had sent them.
void SkipSending(TestParty& from, TestParty& to, std::uint32_t steps) {
  SessionState* state = from.Session(to)->current_state();
  for (std::uint32_t i = 0; i < steps; ++i) state->sender_chain = state->sender_chain.Next();
}

TEST_F(SessionTest, ForwardJumpAtTheLimitDecrypts) {
  Establish();
  Receive(bob, alice, Send(alice, bob, "known chain"), "known chain");
  SkipSending(alice, bob, kMaxForwardJump);
  Receive(bob, alice, Send(alice, bob, "far"), "far");
  // Only the newest kMaxMessageKeysPerChain skipped keys are kept.
  EXPECT_EQ(bob.Session(alice)->current_state()->receiver_chains.back().skipped.size(),
            kMaxMessageKeysPerChain);
}

TEST_F(SessionTest, ForwardJumpAtTheLimitOnANewChainDecrypts) {
  Establish();
  SkipSending(alice, bob, kMaxForwardJump);
  Receive(bob, alice, Send(alice, bob, "far"), "far");
  EXPECT_EQ(bob.Session(alice)->current_state()->receiver_chains.back().skipped.size(),
            kMaxMessageKeysPerChain);
}

TEST_F(SessionTest, ForwardJumpPastTheLimitIsRejectedUnchanged) {
  Establish();
  Receive(bob, alice, Send(alice, bob, "known chain"), "known chain");
  // Without deriving the skipped chain keys: the index alone says how far ahead it is,
  // and the receiver must refuse before deriving anything.
  alice.Session(bob)->current_state()->sender_chain.index += kMaxForwardJump + 1;
  const auto before = bob.SessionBytes(alice);
  EXPECT_EQ(ReceiveError(bob, alice, Send(alice, bob, "too far")), ProtocolErrc::kTooFarInFuture);
  EXPECT_EQ(bob.SessionBytes(alice), before);
}

TEST_F(SessionTest, ForwardJumpPastTheLimitOnANewChain) {
  Establish();
  // Bob's reply makes Alice ratchet; her next chain starts far ahead.
  Receive(bob, alice, Send(alice, bob, "x"), "x");
  Receive(alice, bob, Send(bob, alice, "y"), "y");
  alice.Session(bob)->current_state()->sender_chain.index = kMaxForwardJump + 1;
  const auto before = bob.SessionBytes(alice);
  auto far = Send(alice, bob, "new chain, too far");
  EXPECT_EQ(ReceiveError(bob, alice, far), ProtocolErrc::kTooFarInFuture);
  EXPECT_EQ(bob.SessionBytes(alice), before);
}

// Alice sends `late` on her first session `jump` messages ahead, then starts
// over; Bob takes the new session first, so `late` is for his previous state.
CiphertextMessage LateForArchivedState(TestParty& alice, TestParty& bob, std::uint32_t jump) {
  SkipSending(alice, bob, jump);
  auto late = alice.Encrypt(bob, "late and far");
  EXPECT_TRUE(late);
  EXPECT_TRUE(alice.StartSession(bob, 2));
  auto fresh = alice.Encrypt(bob, "new session");
  EXPECT_TRUE(fresh && bob.Decrypt(alice, *fresh));
  EXPECT_EQ(bob.Session(alice)->previous_states().size(), 1u);
  return late ? *late : CiphertextMessage{};
}

TEST_F(SessionTest, ArchivedStateForwardJumpAtTheLimitDecrypts) {
  Establish();
  Receive(bob, alice, Send(alice, bob, "known chain"), "known chain");
  auto late = LateForArchivedState(alice, bob, kMaxArchivedForwardJump);
  Receive(bob, alice, late, "late and far");
}

TEST_F(SessionTest, ArchivedStateForwardJumpPastTheLimitIsRejected) {
  Establish();
  Receive(bob, alice, Send(alice, bob, "known chain"), "known chain");
  auto late = LateForArchivedState(alice, bob, kMaxArchivedForwardJump + 1);
  const auto before = bob.SessionBytes(alice);
  EXPECT_FALSE(bob.Decrypt(alice, late));
  EXPECT_EQ(bob.SessionBytes(alice), before);
}

TEST_F(SessionTest, SkippedKeysAreCappedOldestFirst) {
  Establish();
  std::vector<CiphertextMessage> sent;
  for (int i = 0; i <= 2100; ++i) sent.push_back(Send(alice, bob, std::to_string(i)));
  Receive(bob, alice, sent[1500], "1500");
  EXPECT_EQ(bob.Session(alice)->current_state()->receiver_chains.back().skipped.size(), 1500u);
  Receive(bob, alice, sent[2100], "2100");
  // 1500 + 599 skipped = 2099 > 2000: the 99 oldest (0..98) are gone.
  EXPECT_EQ(bob.Session(alice)->current_state()->receiver_chains.back().skipped.size(),
            kMaxMessageKeysPerChain);
  EXPECT_EQ(ReceiveError(bob, alice, sent[0]), ProtocolErrc::kDuplicateMessage);
  EXPECT_EQ(ReceiveError(bob, alice, sent[98]), ProtocolErrc::kDuplicateMessage);
  Receive(bob, alice, sent[99], "99");
  Receive(bob, alice, sent[2099], "2099");
  Receive(bob, alice, sent[1501], "1501");
}

TEST_F(SessionTest, ReceiverChainsAreCapped) {
  Establish();
  auto held_back = Send(alice, bob, "from the first chain");
  Receive(bob, alice, Send(alice, bob, "first chain"), "first chain");
  for (int i = 0; i < 6; ++i) {
    Receive(alice, bob, Send(bob, alice, "b"), "b");
    Receive(bob, alice, Send(alice, bob, "a"), "a");
  }
  EXPECT_EQ(bob.Session(alice)->current_state()->receiver_chains.size(), kMaxReceiverChains);
  const auto before = bob.SessionBytes(alice);
  // Its chain was dropped: the message no longer authenticates.
  EXPECT_EQ(ReceiveError(bob, alice, held_back), ProtocolErrc::kInvalidMac);
  EXPECT_EQ(bob.SessionBytes(alice), before);
}

TEST_F(SessionTest, ReceiverChainAtTheCapStillDecrypts) {
  Establish();
  auto held_back = Send(alice, bob, "kept");
  Receive(bob, alice, Send(alice, bob, "first chain"), "first chain");
  // Four more chains: the held-back message's chain is the oldest of five.
  for (int i = 0; i < 4; ++i) {
    Receive(alice, bob, Send(bob, alice, "b"), "b");
    Receive(bob, alice, Send(alice, bob, "a"), "a");
  }
  EXPECT_EQ(bob.Session(alice)->current_state()->receiver_chains.size(), kMaxReceiverChains);
  Receive(bob, alice, held_back, "kept");
}

TEST_F(SessionTest, ArchivedStatesAreCapped) {
  ASSERT_OK(alice.StartSession(bob));
  const crypto::PublicKey first_base = alice.Session(bob)->current_state()->base_key;
  for (std::size_t i = 0; i < kMaxArchivedStates; ++i) ASSERT_OK(alice.StartSession(bob));
  EXPECT_EQ(alice.Session(bob)->previous_states().size(), kMaxArchivedStates);
  EXPECT_TRUE(alice.Session(bob)->HasStateWithBaseKey(first_base));
  ASSERT_OK(alice.StartSession(bob));
  EXPECT_EQ(alice.Session(bob)->previous_states().size(), kMaxArchivedStates);
  EXPECT_FALSE(alice.Session(bob)->HasStateWithBaseKey(first_base));
}

TEST_F(SessionTest, MessageForAnArchivedStateDecryptsAndPromotesIt) {
  Establish();
  auto late = Send(alice, bob, "sent before the new session");
  const crypto::PublicKey old_base = bob.Session(alice)->current_state()->base_key;
  // Alice starts over; Bob gets the new session first.
  ASSERT_OK(alice.StartSession(bob, 2));
  Receive(bob, alice, Send(alice, bob, "new session"), "new session");
  EXPECT_EQ(bob.Session(alice)->previous_states().size(), 1u);
  Receive(bob, alice, late, "sent before the new session");
  EXPECT_EQ(bob.Session(alice)->current_state()->base_key, old_base);
}

TEST_F(SessionTest, DuplicateLeavesStateUnchanged) {
  Establish();
  auto m = Send(alice, bob, "once");
  Receive(bob, alice, m, "once");
  const auto before = bob.SessionBytes(alice);
  EXPECT_EQ(ReceiveError(bob, alice, m), ProtocolErrc::kDuplicateMessage);
  EXPECT_EQ(bob.SessionBytes(alice), before);
}

TEST_F(SessionTest, TamperingAnyByteFailsAndChangesNothing) {
  Establish();
  auto m = Send(alice, bob, "do not touch");
  const auto before = bob.SessionBytes(alice);
  for (std::size_t i = 0; i < m.bytes.size(); ++i) {
    for (std::uint8_t flip : {0x01, 0x80}) {
      CiphertextMessage t = m;
      t.bytes[i] ^= flip;
      EXPECT_FALSE(bob.Decrypt(alice, t)) << "byte " << i;
      ASSERT_EQ(bob.SessionBytes(alice), before) << "byte " << i;
    }
  }
  Receive(bob, alice, m, "do not touch");
}

TEST_F(SessionTest, TamperedPreKeyMessageCreatesNoSessionAndKeepsThePreKey) {
  ASSERT_OK(alice.StartSession(bob));
  auto m = Send(alice, bob, "first");
  const TestParty pristine = bob;
  for (std::size_t i = 0; i < m.bytes.size(); ++i) {
    TestParty b = pristine;
    CiphertextMessage t = m;
    t.bytes[i] ^= 0x04;
    auto p = b.Decrypt(alice, t);
    if (p) {
      // Only fields outside the MAC (the registration id) can change without failing.
      EXPECT_EQ(ToString(*p), "first") << "byte " << i;
      continue;
    }
    EXPECT_EQ(b.Session(alice), nullptr) << "byte " << i;
    EXPECT_TRUE(b.prekeys().ContainsPreKey(PreKeyId(1))) << "byte " << i;
    EXPECT_FALSE(b.identities().GetIdentity(alice.address()).has_value()) << "byte " << i;
  }
  Receive(bob, alice, m, "first");
}

TEST_F(SessionTest, TruncatedAndGarbageInput) {
  Establish();
  auto m = Send(alice, bob, "whole");
  const auto before = bob.SessionBytes(alice);
  for (std::size_t n = 0; n < m.bytes.size(); ++n) {
    CiphertextMessage t{m.type,
                        std::vector<std::uint8_t>(m.bytes.begin(), m.bytes.begin() + static_cast<long>(n))};
    EXPECT_FALSE(bob.Decrypt(alice, t)) << n;
  }
  DeterministicRng garbage(99);
  for (int i = 0; i < 200; ++i) {
    CiphertextMessage t{i % 2 ? CiphertextType::kMessage : CiphertextType::kPreKey,
                        std::vector<std::uint8_t>(static_cast<std::size_t>(i + 1))};
    garbage.Fill(t.bytes);
    if (i % 3 == 0) t.bytes[0] = 0x33;
    EXPECT_FALSE(bob.Decrypt(alice, t));
  }
  EXPECT_EQ(bob.SessionBytes(alice), before);
  Receive(bob, alice, m, "whole");
}

TEST_F(SessionTest, NoSession) {
  EXPECT_EQ(alice.Encrypt(bob, "x").error().code, ProtocolErrc::kNoSession);
  ASSERT_OK(bob.StartSession(alice));
  auto m = Send(bob, alice, "x");
  auto inner = PreKeySignalMessage::Parse(m.bytes);
  ASSERT_TRUE(inner);
  const std::uint8_t* start = inner->message.authenticated.data();
  const std::uint8_t* end = inner->message.mac.data() + inner->message.mac.size();
  CiphertextMessage plain{CiphertextType::kMessage, std::vector<std::uint8_t>(start, end)};
  EXPECT_EQ(ReceiveError(alice, bob, plain), ProtocolErrc::kNoSession);
}

TEST_F(SessionTest, ArchivedCurrentStateMeansNoSessionForEncrypt) {
  Establish();
  auto m = Send(alice, bob, "in flight");
  bob.Session(alice)->ArchiveCurrentState();
  EXPECT_FALSE(HasCurrentSession(bob.sessions(), alice.address()));
  EXPECT_EQ(bob.Encrypt(alice, "x").error().code, ProtocolErrc::kNoSession);
  Receive(bob, alice, m, "in flight");  // the archived state still decrypts, and becomes current again
  Receive(alice, bob, Send(bob, alice, "back"), "back");
}

TEST_F(SessionTest, PlaintextSizeLimit) {
  Establish();
  SessionCipher cipher(alice.stores(), bob.address(), alice.rng());
  const std::vector<std::uint8_t> at_limit(kMaxPlaintextSize, 0x61);
  auto big = cipher.Encrypt(at_limit);
  ASSERT_TRUE(big);
  EXPECT_LE(big->bytes.size(), kMaxSerializedMessageSize);
  auto p = bob.Decrypt(alice, *big);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size(), kMaxPlaintextSize);
  const std::vector<std::uint8_t> over(kMaxPlaintextSize + 1, 0x61);
  EXPECT_EQ(cipher.Encrypt(over).error().code, ProtocolErrc::kLimitExceeded);
}

TEST_F(SessionTest, SimultaneousInitiation) {
  ASSERT_OK(alice.StartSession(bob));
  ASSERT_OK(bob.StartSession(alice));
  auto for_bob = Send(alice, bob, "hey there");
  auto for_alice = Send(bob, alice, "sample message");
  EXPECT_EQ(for_bob.type, CiphertextType::kPreKey);
  EXPECT_EQ(for_alice.type, CiphertextType::kPreKey);
  EXPECT_FALSE(alice.Session(bob)->current_state()->base_key ==
               bob.Session(alice)->current_state()->base_key);

  Receive(alice, bob, for_alice, "sample message");
  Receive(bob, alice, for_bob, "hey there");
  EXPECT_FALSE(alice.Session(bob)->current_state()->base_key ==
               bob.Session(alice)->current_state()->base_key);

  auto response = Send(alice, bob, "second message");
  EXPECT_EQ(response.type, CiphertextType::kMessage);
  Receive(bob, alice, response, "second message");
  EXPECT_EQ(alice.Session(bob)->current_state()->base_key, bob.Session(alice)->current_state()->base_key);

  auto final_message = Send(bob, alice, "third message");
  EXPECT_EQ(final_message.type, CiphertextType::kMessage);
  Receive(alice, bob, final_message, "third message");
  EXPECT_EQ(alice.Session(bob)->current_state()->base_key, bob.Session(alice)->current_state()->base_key);
  for (int i = 0; i < 10; ++i) {
    Receive(bob, alice, Send(alice, bob, "a"), "a");
    Receive(alice, bob, Send(bob, alice, "b"), "b");
  }
}

TEST_F(SessionTest, SimultaneousInitiationLostReplies) {
  ASSERT_OK(alice.StartSession(bob));
  ASSERT_OK(bob.StartSession(alice));
  auto for_bob = Send(alice, bob, "hey there");
  auto for_alice = Send(bob, alice, "sample message");
  Receive(alice, bob, for_alice, "sample message");
  Receive(bob, alice, for_bob, "hey there");
  // Alice's answer is lost; both keep talking and still converge.
  (void)Send(alice, bob, "lost");
  auto again = Send(bob, alice, "after the loss");
  Receive(alice, bob, again, "after the loss");
  Receive(bob, alice, Send(alice, bob, "converged"), "converged");
  EXPECT_EQ(alice.Session(bob)->current_state()->base_key, bob.Session(alice)->current_state()->base_key);
}

TEST_F(SessionTest, IdentityChangeIsRefusedUntilRetrusted) {
  Establish();
  TestParty new_bob("bob", 77);  // same name, reinstalled: a new identity
  const auto before = alice.SessionBytes(bob);
  SessionBuilder builder(alice.stores(), new_bob.address());
  EXPECT_EQ(builder.ProcessPreKeyBundle(new_bob.MakeBundle(), alice.rng()).error().code,
            ProtocolErrc::kUntrustedIdentity);
  EXPECT_EQ(alice.SessionBytes(bob), before);

  ASSERT_OK(new_bob.StartSession(alice, 5));
  auto from_new_bob = Send(new_bob, alice, "it's me, new phone");
  EXPECT_EQ(ReceiveError(alice, new_bob, from_new_bob), ProtocolErrc::kUntrustedIdentity);
  EXPECT_EQ(alice.SessionBytes(bob), before);
  EXPECT_TRUE(alice.prekeys().ContainsPreKey(PreKeyId(5)));

  ASSERT_OK(alice.identities().ReplaceIdentity(new_bob.address(), new_bob.identity_key()));
  Receive(alice, new_bob, from_new_bob, "it's me, new phone");
  Receive(new_bob, alice, Send(alice, new_bob, "welcome back"), "welcome back");
  EXPECT_EQ(alice.identities().GetIdentity(bob.address()), new_bob.identity_key());
}

TEST_F(SessionTest, BadSignedPreKeySignatureIsRefused) {
  auto bundle = bob.MakeBundle();
  bundle.signed_prekey_signature[5] ^= 0x20;
  SessionBuilder builder(alice.stores(), bob.address());
  EXPECT_EQ(builder.ProcessPreKeyBundle(bundle, alice.rng()).error().code, ProtocolErrc::kInvalidKey);
  EXPECT_EQ(alice.Session(bob), nullptr);
  EXPECT_FALSE(alice.identities().GetIdentity(bob.address()).has_value());
}

TEST_F(SessionTest, UnknownPreKeyIds) {
  ASSERT_OK(alice.StartSession(bob, 3));
  auto m = Send(alice, bob, "prekey 3");
  ASSERT_OK(bob.prekeys().RemovePreKey(PreKeyId(3)));
  EXPECT_EQ(ReceiveError(bob, alice, m), ProtocolErrc::kInvalidKeyId);
  EXPECT_EQ(bob.Session(alice), nullptr);

  TestParty carol("carol", 3);
  ASSERT_OK(carol.StartSession(bob, 4));
  auto c = Send(carol, bob, "signed prekey gone");
  ASSERT_OK(bob.signed_prekeys().RemoveSignedPreKey(SignedPreKeyId(1)));
  EXPECT_EQ(ReceiveError(bob, carol, c), ProtocolErrc::kInvalidKeyId);
  EXPECT_EQ(bob.Session(carol), nullptr);
  EXPECT_TRUE(bob.prekeys().ContainsPreKey(PreKeyId(4)));
}

TEST_F(SessionTest, SerializedRecordKeepsWorking) {
  Establish();
  auto late = Send(alice, bob, "late");
  Receive(bob, alice, Send(alice, bob, "on time"), "on time");
  ASSERT_OK(alice.StartSession(bob, 9));  // archives Alice's state
  const auto bytes = bob.SessionBytes(alice);
  auto restored = SessionRecord::Deserialize(bytes);
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(restored->Serialize(), bytes);
  ASSERT_OK(bob.sessions().StoreSession(alice.address(), std::move(*restored)));
  Receive(bob, alice, late, "late");

  const auto alice_bytes = alice.SessionBytes(bob);
  auto alice_restored = SessionRecord::Deserialize(alice_bytes);
  ASSERT_TRUE(alice_restored);
  EXPECT_EQ(alice_restored->Serialize(), alice_bytes);
  EXPECT_EQ(alice_restored->previous_states().size(), 1u);
  ASSERT_OK(alice.sessions().StoreSession(bob.address(), std::move(*alice_restored)));
  Receive(bob, alice, Send(alice, bob, "new session after restore"), "new session after restore");
  Receive(alice, bob, Send(bob, alice, "ok"), "ok");
}

}  // namespace
}  // namespace parley::protocol
