// Every scenario runs between two implementations of the Signal Protocol:
// Parley (its engine in-process, or a parley-interop process driven through
// the JSON-lines contract) and libsignal-protocol-c 2.3.3, in both directions.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/proto.h"
#include "contract_party.h"
#include "libsignal_party.h"
#include "party.h"

namespace parley::interop {
namespace {

enum class Impl { kLibsignal, kParley, kParleyProcess };

const char* ImplName(Impl impl) {
  switch (impl) {
    case Impl::kLibsignal:
      return "libsignal";
    case Impl::kParley:
      return "parley";
    case Impl::kParleyProcess:
      return "parleyProcess";
  }
  return "?";
}

struct Direction {
  Impl first;   // alice: the initiator in one-to-one scenarios
  Impl second;  // bob
};

ByteVec Text(const std::string& s) { return {s.begin(), s.end()}; }

// The offset of the last byte of the SignalMessage embedded in a serialized
// PreKeySignalMessage (field 4): a byte of that message's MAC.
std::size_t EmbeddedMacOffset(const ByteVec& prekey_message) {
  ProtoReader reader(Bytes(prekey_message).subspan(1));
  ProtoField field;
  while (reader.Next(field)) {
    if (field.number == 4 && field.type == WireType::kLengthDelimited) {
      return static_cast<std::size_t>(field.bytes.data() - prekey_message.data()) + field.bytes.size() - 1;
    }
  }
  ADD_FAILURE() << "no embedded message";
  return 0;
}

// Makes parties; parties of the same contract implementation share a channel
// (one engine or one process), as an outside driver would use it.
class PartyFactory {
 public:
  std::unique_ptr<Party> Make(Impl impl, const std::string& name, std::uint32_t registration_id,
                              std::int32_t device) {
    switch (impl) {
      case Impl::kLibsignal: {
        auto party = LibsignalParty::Create(name, registration_id, device);
        EXPECT_TRUE(party.ok()) << party.error;
        return std::move(*party.value);
      }
      case Impl::kParley:
        if (!engine_) engine_ = std::make_shared<EngineChannel>();
        return std::make_unique<ContractParty>(engine_, name, registration_id, device);
      case Impl::kParleyProcess:
        if (!process_) process_ = std::make_shared<InteropProcess>(PARLEY_INTEROP_PATH);
        return std::make_unique<ContractParty>(process_, name, registration_id, device);
    }
    return nullptr;
  }

  // Forgets shared channels, so that the next party of a contract
  // implementation starts in a fresh engine or process (a re-installed app).
  void FreshChannels() {
    engine_.reset();
    process_.reset();
  }

 private:
  std::shared_ptr<EngineChannel> engine_;
  std::shared_ptr<InteropProcess> process_;
};

class InteropTest : public ::testing::TestWithParam<Direction> {
 protected:
  void SetUp() override {
    alice_ = factory_.Make(GetParam().first, "alice", 1111, 1);
    bob_ = factory_.Make(GetParam().second, "bob", 2222, 2);
  }

  // Alice starts a session from Bob's bundle and Bob decrypts her first
  // (prekey) message.
  void Establish(bool with_one_time_prekey = true) {
    auto bundle = bob_->MakeBundle(7, with_one_time_prekey ? std::optional<std::uint32_t>(31) : std::nullopt);
    ASSERT_TRUE(bundle.ok()) << bundle.error;
    auto started = alice_->StartSession(bob_->address(), *bundle.value);
    ASSERT_TRUE(started.ok()) << started.error;
    ASSERT_TRUE(alice_->HasSession(bob_->address()));
    auto first = alice_->Encrypt(bob_->address(), Text("hello bob"));
    ASSERT_TRUE(first.ok()) << first.error;
    EXPECT_EQ(first.value->type, MessageType::kPreKey);
    auto plain = bob_->Decrypt(alice_->address(), *first.value);
    ASSERT_TRUE(plain.ok()) << plain.error;
    EXPECT_EQ(*plain.value, Text("hello bob"));
    EXPECT_TRUE(bob_->HasSession(alice_->address()));
  }

  Ciphertext Send(Party& from, Party& to, const ByteVec& plaintext) {
    auto c = from.Encrypt(to.address(), plaintext);
    EXPECT_TRUE(c.ok()) << c.error;
    return c.ok() ? *c.value : Ciphertext{};
  }

  void Receive(Party& to, Party& from, const Ciphertext& c, const ByteVec& expected) {
    auto p = to.Decrypt(from.address(), c);
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(*p.value, expected);
  }

  void Exchange(Party& from, Party& to, const std::string& text) {
    Receive(to, from, Send(from, to, Text(text)), Text(text));
  }

  PartyFactory factory_;
  std::unique_ptr<Party> alice_;
  std::unique_ptr<Party> bob_;
};

TEST_P(InteropTest, SessionWithOneTimePreKey) {
  Establish(true);
  auto reply = Send(*bob_, *alice_, Text("hi alice"));
  EXPECT_EQ(reply.type, MessageType::kMessage);
  Receive(*alice_, *bob_, reply, Text("hi alice"));
  EXPECT_EQ(Send(*alice_, *bob_, Text("x")).type, MessageType::kMessage);
}

TEST_P(InteropTest, SessionWithoutOneTimePreKey) {
  Establish(false);
  Exchange(*bob_, *alice_, "reply");
  Exchange(*alice_, *bob_, "again");
}

TEST_P(InteropTest, PreKeyMessagesUntilFirstReply) {
  Establish();
  for (int i = 0; i < 3; ++i) {
    auto c = Send(*alice_, *bob_, Text("more " + std::to_string(i)));
    EXPECT_EQ(c.type, MessageType::kPreKey);
    Receive(*bob_, *alice_, c, Text("more " + std::to_string(i)));
  }
  Exchange(*bob_, *alice_, "reply");
  EXPECT_EQ(Send(*alice_, *bob_, Text("now plain")).type, MessageType::kMessage);
}

TEST_P(InteropTest, LongPingPongWithPayloadsUpTo64KiB) {
  Establish();
  const std::size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 4095, 4096, 16384, 65535, 65536};
  std::mt19937 gen(42);
  int round = 0;
  for (int lap = 0; lap < 4; ++lap) {
    for (std::size_t size : sizes) {
      ByteVec payload(size);
      for (auto& b : payload) b = static_cast<std::uint8_t>(gen());
      Party& from = (round % 2 == 0) ? *alice_ : *bob_;
      Party& to = (round % 2 == 0) ? *bob_ : *alice_;
      // Sometimes several in a row from the same side (no ratchet step).
      const int burst = 1 + round % 3;
      for (int k = 0; k < burst; ++k) Receive(to, from, Send(from, to, payload), payload);
      ++round;
    }
  }
}

TEST_P(InteropTest, OutOfOrderAcrossRatchetSteps) {
  Establish();
  Exchange(*bob_, *alice_, "ack");
  std::vector<Ciphertext> a;
  for (int i = 0; i < 5; ++i) a.push_back(Send(*alice_, *bob_, Text("a" + std::to_string(i))));
  Receive(*bob_, *alice_, a[4], Text("a4"));
  Receive(*bob_, *alice_, a[1], Text("a1"));
  std::vector<Ciphertext> b;
  for (int i = 0; i < 3; ++i) b.push_back(Send(*bob_, *alice_, Text("b" + std::to_string(i))));
  Receive(*alice_, *bob_, b[2], Text("b2"));
  auto a5 = Send(*alice_, *bob_, Text("a5"));
  Receive(*bob_, *alice_, a5, Text("a5"));
  Receive(*bob_, *alice_, a[0], Text("a0"));
  Receive(*bob_, *alice_, a[3], Text("a3"));
  Receive(*alice_, *bob_, b[0], Text("b0"));
  auto b3 = Send(*bob_, *alice_, Text("b3"));
  Receive(*alice_, *bob_, b3, Text("b3"));
  Receive(*alice_, *bob_, b[1], Text("b1"));
  Receive(*bob_, *alice_, a[2], Text("a2"));
  Exchange(*alice_, *bob_, "converged");
  Exchange(*bob_, *alice_, "converged too");
}

TEST_P(InteropTest, SkippedThousandMessagesAhead) {
  Establish();
  Exchange(*bob_, *alice_, "ack");
  std::vector<Ciphertext> sent;
  for (int i = 0; i <= 1000; ++i) sent.push_back(Send(*alice_, *bob_, Text("m" + std::to_string(i))));
  Receive(*bob_, *alice_, sent[1000], Text("m1000"));
  Receive(*bob_, *alice_, sent[0], Text("m0"));
  Receive(*bob_, *alice_, sent[500], Text("m500"));
  Exchange(*bob_, *alice_, "still fine");
}

// The contract's bound: 25,000 steps ahead decrypts, one more is refused.
// libsignal-protocol-c refuses anything past 2,000, so only Parley receives.
class ParleyReceiverTest : public InteropTest {};

TEST_P(ParleyReceiverTest, ForwardJumpBound) {
  Establish();
  Exchange(*bob_, *alice_, "ack");
  std::vector<Ciphertext> sent;
  for (int i = 0; i <= 25001; ++i) sent.push_back(Send(*alice_, *bob_, Text(std::to_string(i))));
  // The chain's next counter is 0 again after the ratchet step.
  EXPECT_EQ(bob_->Decrypt(alice_->address(), sent[25001]).error, "invalid_message");
  Receive(*bob_, *alice_, sent[25000], Text("25000"));
  Receive(*bob_, *alice_, sent[24999], Text("24999"));
  Exchange(*bob_, *alice_, "still fine");

  const std::string group = "big-jump";
  auto distribution = alice_->GroupCreate(group);
  ASSERT_TRUE(distribution.ok());
  ASSERT_TRUE(bob_->GroupAccept(group, alice_->address(), *distribution.value).ok());
  std::vector<ByteVec> group_sent;
  for (int i = 0; i <= 25001; ++i) {
    auto c = alice_->GroupEncrypt(group, Text(std::to_string(i)));
    ASSERT_TRUE(c.ok());
    group_sent.push_back(*c.value);
  }
  EXPECT_EQ(bob_->GroupDecrypt(group, alice_->address(), group_sent[25001]).error, "invalid_message");
  auto p = bob_->GroupDecrypt(group, alice_->address(), group_sent[25000]);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(*p.value, Text("25000"));
}

TEST_P(InteropTest, DuplicateMessagesAreRejected) {
  auto bundle = bob_->MakeBundle(7, 31);
  ASSERT_TRUE(bundle.ok());
  ASSERT_TRUE(alice_->StartSession(bob_->address(), *bundle.value).ok());
  auto first = Send(*alice_, *bob_, Text("first"));
  Receive(*bob_, *alice_, first, Text("first"));
  EXPECT_EQ(bob_->Decrypt(alice_->address(), first).error, "duplicate_message");
  Exchange(*bob_, *alice_, "reply");
  auto second = Send(*alice_, *bob_, Text("second"));
  Receive(*bob_, *alice_, second, Text("second"));
  EXPECT_EQ(bob_->Decrypt(alice_->address(), second).error, "duplicate_message");
  Exchange(*alice_, *bob_, "after duplicates");
}

TEST_P(InteropTest, TamperedMessagesFailAndSessionStaysUsable) {
  Establish();
  Exchange(*bob_, *alice_, "ack");
  auto message = Send(*alice_, *bob_, Text("tamper with me"));
  for (std::size_t i = 0; i < message.bytes.size(); ++i) {
    Ciphertext bad = message;
    bad.bytes[i] ^= 0x01;
    auto result = bob_->Decrypt(alice_->address(), bad);
    EXPECT_FALSE(result.ok()) << "byte " << i;
    EXPECT_TRUE(result.error == "invalid_message" || result.error == "duplicate_message")
        << "byte " << i << ": " << result.error;
  }
  Receive(*bob_, *alice_, message, Text("tamper with me"));
  Exchange(*bob_, *alice_, "still talking");
  Exchange(*alice_, *bob_, "yes");
}

TEST_P(InteropTest, GarbageAndTruncatedInputFail) {
  Establish();
  Exchange(*bob_, *alice_, "ack");
  auto message = Send(*alice_, *bob_, Text("whole"));
  for (std::size_t len = 0; len < message.bytes.size(); ++len) {
    Ciphertext cut{message.type,
                   ByteVec(message.bytes.begin(), message.bytes.begin() + static_cast<long>(len))};
    EXPECT_EQ(bob_->Decrypt(alice_->address(), cut).error, "invalid_message") << "length " << len;
  }
  std::mt19937 gen(7);
  for (int i = 0; i < 50; ++i) {
    ByteVec junk(static_cast<std::size_t>(gen() % 200));
    for (auto& b : junk) b = static_cast<std::uint8_t>(gen());
    if (!junk.empty() && i % 2 == 0) junk[0] = 0x33;
    const MessageType type = i % 3 == 0 ? MessageType::kPreKey : MessageType::kMessage;
    auto result = bob_->Decrypt(alice_->address(), Ciphertext{type, junk});
    EXPECT_FALSE(result.ok());
  }
  Receive(*bob_, *alice_, message, Text("whole"));
  Exchange(*bob_, *alice_, "fine");
}

TEST_P(InteropTest, SimultaneousInitiation) {
  auto alice_bundle = alice_->MakeBundle(3, 13);
  auto bob_bundle = bob_->MakeBundle(7, 31);
  ASSERT_TRUE(alice_bundle.ok() && bob_bundle.ok());
  ASSERT_TRUE(alice_->StartSession(bob_->address(), *bob_bundle.value).ok());
  ASSERT_TRUE(bob_->StartSession(alice_->address(), *alice_bundle.value).ok());
  auto from_alice = Send(*alice_, *bob_, Text("hey bob"));
  auto from_bob = Send(*bob_, *alice_, Text("hey alice"));
  EXPECT_EQ(from_alice.type, MessageType::kPreKey);
  EXPECT_EQ(from_bob.type, MessageType::kPreKey);
  Receive(*bob_, *alice_, from_alice, Text("hey bob"));
  Receive(*alice_, *bob_, from_bob, Text("hey alice"));
  for (int i = 0; i < 4; ++i) {
    Exchange(*alice_, *bob_, "round " + std::to_string(i));
    Exchange(*bob_, *alice_, "reply " + std::to_string(i));
  }
}

TEST_P(InteropTest, IdentityChangeAndReTrust) {
  Establish();
  Exchange(*bob_, *alice_, "ack");
  // Bob reinstalls: same name, a new identity.
  factory_.FreshChannels();
  auto new_bob = factory_.Make(GetParam().second, "bob", 2223, 2);
  ASSERT_NE(new_bob->IdentityKey(), bob_->IdentityKey());
  auto bundle = new_bob->MakeBundle(9, 40);
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(alice_->StartSession(new_bob->address(), *bundle.value).error, "untrusted_identity");
  ASSERT_TRUE(alice_->Trust(new_bob->address(), new_bob->IdentityKey()).ok());
  ASSERT_TRUE(alice_->StartSession(new_bob->address(), *bundle.value).ok());
  auto c = Send(*alice_, *new_bob, Text("welcome back"));
  Receive(*new_bob, *alice_, c, Text("welcome back"));
  Exchange(*new_bob, *alice_, "thanks");
}

TEST_P(InteropTest, IdentityChangeOnIncomingPreKeyMessage) {
  Establish();
  Exchange(*bob_, *alice_, "ack");
  // Alice reinstalls and writes to Bob from scratch.
  factory_.FreshChannels();
  auto new_alice = factory_.Make(GetParam().first, "alice", 1112, 1);
  auto bundle = bob_->MakeBundle(8, 32);
  ASSERT_TRUE(bundle.ok());
  ASSERT_TRUE(new_alice->StartSession(bob_->address(), *bundle.value).ok());
  auto c = Send(*new_alice, *bob_, Text("it's me"));
  EXPECT_EQ(bob_->Decrypt(new_alice->address(), c).error, "untrusted_identity");
  ASSERT_TRUE(bob_->Trust(new_alice->address(), new_alice->IdentityKey()).ok());
  Receive(*bob_, *new_alice, c, Text("it's me"));
  Exchange(*bob_, *new_alice, "ok then");
}

TEST_P(InteropTest, BadSignedPreKeySignatureIsRefused) {
  auto bundle = bob_->MakeBundle(7, 31);
  ASSERT_TRUE(bundle.ok());
  for (std::size_t i : {0u, 31u, 32u, 63u}) {
    Bundle bad = *bundle.value;
    bad.signed_prekey_signature[i] ^= 0x01;
    EXPECT_EQ(alice_->StartSession(bob_->address(), bad).error, "invalid_key") << "byte " << i;
    EXPECT_FALSE(alice_->HasSession(bob_->address()));
  }
  Bundle short_key = *bundle.value;
  short_key.signed_prekey.pop_back();
  EXPECT_EQ(alice_->StartSession(bob_->address(), short_key).error, "invalid_key");
  Bundle wrong_type = *bundle.value;
  wrong_type.identity_key[0] = 0x06;
  EXPECT_EQ(alice_->StartSession(bob_->address(), wrong_type).error, "invalid_key");
  EXPECT_FALSE(alice_->HasSession(bob_->address()));
}

TEST_P(InteropTest, UnknownPreKeyIdIsReported) {
  auto bundle = bob_->MakeBundle(7, 31);
  ASSERT_TRUE(bundle.ok());
  Bundle other = *bundle.value;
  other.prekey_id = 999;  // the prekey id is not signed; Bob never made 999
  ASSERT_TRUE(alice_->StartSession(bob_->address(), other).ok());
  auto c = Send(*alice_, *bob_, Text("to a key you lost"));
  EXPECT_EQ(bob_->Decrypt(alice_->address(), c).error, "invalid_key_id");
  EXPECT_FALSE(bob_->HasSession(alice_->address()));
}

TEST_P(InteropTest, ForgedPreKeyMessageUsesUpNothing) {
  auto bundle = bob_->MakeBundle(7, 31);
  ASSERT_TRUE(bundle.ok());
  ASSERT_TRUE(alice_->StartSession(bob_->address(), *bundle.value).ok());
  auto c = Send(*alice_, *bob_, Text("real"));
  Ciphertext forged = c;
  forged.bytes[EmbeddedMacOffset(forged.bytes)] ^= 0x40;
  EXPECT_FALSE(bob_->Decrypt(alice_->address(), forged).ok());
  EXPECT_FALSE(bob_->HasSession(alice_->address()));
  Receive(*bob_, *alice_, c, Text("real"));
}

TEST_P(InteropTest, FingerprintsAgree) {
  auto a = alice_->MakeFingerprint("+14152222222", "+14153333333", bob_->IdentityKey(), 5200);
  auto b = bob_->MakeFingerprint("+14153333333", "+14152222222", alice_->IdentityKey(), 5200);
  ASSERT_TRUE(a.ok()) << a.error;
  ASSERT_TRUE(b.ok()) << b.error;
  EXPECT_EQ(a.value->displayable.size(), 60u);
  EXPECT_EQ(a.value->displayable, b.value->displayable);
  // Each side's scannable bytes equal what libsignal-protocol-c computes for it.
  auto ref_a = LibsignalParty::ComputeFingerprint("+14152222222", alice_->IdentityKey(), "+14153333333",
                                                  bob_->IdentityKey(), 5200);
  auto ref_b = LibsignalParty::ComputeFingerprint("+14153333333", bob_->IdentityKey(), "+14152222222",
                                                  alice_->IdentityKey(), 5200);
  ASSERT_TRUE(ref_a.ok() && ref_b.ok());
  EXPECT_EQ(a.value->displayable, ref_a.value->displayable);
  EXPECT_EQ(a.value->scannable, ref_a.value->scannable);
  EXPECT_EQ(b.value->scannable, ref_b.value->scannable);
  auto few = alice_->MakeFingerprint("a", "b", bob_->IdentityKey(), 2);
  auto ref_few = LibsignalParty::ComputeFingerprint("a", alice_->IdentityKey(), "b", bob_->IdentityKey(), 2);
  ASSERT_TRUE(few.ok() && ref_few.ok());
  EXPECT_EQ(few.value->displayable, ref_few.value->displayable);
}

TEST_P(InteropTest, GroupMessagesBothWaysShuffled) {
  auto carol = factory_.Make(GetParam().first, "carol", 3333, 3);
  std::vector<Party*> members = {alice_.get(), bob_.get(), carol.get()};
  const std::string group = "weekend-plans";
  EXPECT_EQ(alice_->GroupEncrypt(group, Text("too early")).error, "no_session");
  for (Party* sender : members) {
    auto distribution = sender->GroupCreate(group);
    ASSERT_TRUE(distribution.ok()) << distribution.error;
    for (Party* receiver : members) {
      if (receiver == sender) continue;
      auto accepted = receiver->GroupAccept(group, sender->address(), *distribution.value);
      ASSERT_TRUE(accepted.ok()) << accepted.error;
    }
  }
  struct Sent {
    Party* sender;
    ByteVec plaintext;
    ByteVec ciphertext;
  };
  std::vector<Sent> sent;
  for (int i = 0; i < 20; ++i) {
    for (Party* sender : members) {
      ByteVec plaintext = Text(sender->name() + " says " + std::to_string(i));
      auto c = sender->GroupEncrypt(group, plaintext);
      ASSERT_TRUE(c.ok()) << c.error;
      sent.push_back({sender, plaintext, *c.value});
    }
  }
  std::mt19937 gen(1234);
  for (Party* receiver : members) {
    std::vector<Sent> order = sent;
    std::shuffle(order.begin(), order.end(), gen);
    for (const Sent& s : order) {
      if (s.sender == receiver) continue;
      auto p = receiver->GroupDecrypt(group, s.sender->address(), s.ciphertext);
      ASSERT_TRUE(p.ok()) << receiver->name() << " from " << s.sender->name() << ": " << p.error;
      EXPECT_EQ(*p.value, s.plaintext);
    }
  }
  const Sent& first = sent.front();
  EXPECT_EQ(bob_->GroupDecrypt(group, first.sender->address(), first.ciphertext).error, "duplicate_message");
  ByteVec tampered = sent.back().ciphertext;
  tampered[tampered.size() / 2] ^= 0x01;
  EXPECT_EQ(alice_->GroupDecrypt(group, sent.back().sender->address(), tampered).error, "invalid_message");
  EXPECT_EQ(alice_->GroupDecrypt("another-group", bob_->address(), sent[1].ciphertext).error, "no_session");
  // A chain from Bob exists for this group, but not with that key id.
  auto other_distribution = bob_->GroupCreate("another-group");
  ASSERT_TRUE(other_distribution.ok());
  auto other = bob_->GroupEncrypt("another-group", Text("elsewhere"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(alice_->GroupDecrypt(group, bob_->address(), *other.value).error, "invalid_message");
}

std::string DirectionName(const ::testing::TestParamInfo<Direction>& info) {
  return std::string(ImplName(info.param.first)) + "_to_" + ImplName(info.param.second);
}

INSTANTIATE_TEST_SUITE_P(Directions, InteropTest,
                         ::testing::Values(Direction{Impl::kParley, Impl::kLibsignal},
                                           Direction{Impl::kLibsignal, Impl::kParley},
                                           Direction{Impl::kParleyProcess, Impl::kLibsignal},
                                           Direction{Impl::kLibsignal, Impl::kParleyProcess},
                                           Direction{Impl::kParleyProcess, Impl::kParleyProcess},
                                           Direction{Impl::kParley, Impl::kParley},
                                           Direction{Impl::kLibsignal, Impl::kLibsignal}),
                         DirectionName);

INSTANTIATE_TEST_SUITE_P(ToParley, ParleyReceiverTest,
                         ::testing::Values(Direction{Impl::kLibsignal, Impl::kParley},
                                           Direction{Impl::kLibsignal, Impl::kParleyProcess},
                                           Direction{Impl::kParleyProcess, Impl::kParleyProcess}),
                         DirectionName);

}  // namespace
}  // namespace parley::interop
