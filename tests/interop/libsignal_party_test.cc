// LibsignalParty against itself: proves the reference peer (crypto provider,
// stores, error mapping, all-or-nothing operations) before any interop test
// relies on it. Fixed vectors come from public sources named at each one.
#include "libsignal_party.h"

#include <curve.h>
#include <fingerprint.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::interop {
namespace {

ByteVec Bytes(std::string_view text) { return ByteVec(text.begin(), text.end()); }

ByteVec FromHex(std::string_view hex) {
  ByteVec out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// Offset and length of the first length-delimited protobuf field `number`
// in bytes[start..]; nullopt if the walk fails. Enough protobuf to find the
// SignalMessage inside a PreKeySignalMessage.
std::optional<std::pair<std::size_t, std::size_t>> FindField(const ByteVec& bytes, std::size_t start,
                                                             std::uint32_t number) {
  std::size_t at = start;
  auto varint = [&](std::uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && at < bytes.size(); shift += 7) {
      const std::uint8_t byte = bytes[at++];
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  };
  while (at < bytes.size()) {
    std::uint64_t key = 0;
    std::uint64_t value = 0;
    if (!varint(key) || !varint(value)) return std::nullopt;
    if ((key & 7) == 2) {
      if (value > bytes.size() - at) return std::nullopt;
      if ((key >> 3) == number) return std::make_pair(at, static_cast<std::size_t>(value));
      at += value;
    } else if ((key & 7) != 0) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// The value of a successful outcome; records a test failure otherwise.
template <class T>
T Must(Outcome<T> outcome) {
  if (!outcome.ok()) {
    ADD_FAILURE() << "unexpected error: " << outcome.error;
    return T{};
  }
  return std::move(*outcome.value);
}

template <class T>
std::string ErrorOf(const Outcome<T>& outcome) {
  return outcome.ok() ? "ok" : outcome.error;
}

std::unique_ptr<LibsignalParty> NewParty(const std::string& name, std::uint32_t registration_id,
                                         std::int32_t device = 1) {
  auto party = Must(LibsignalParty::Create(name, registration_id, device));
  if (!party) std::abort();  // nothing below can run without it
  return party;
}

class LibsignalPartyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = NewParty("alice", 1111);
    bob_ = NewParty("bob", 2222);
    carol_ = NewParty("carol", 3333, 7);
  }

  // Alice starts a session from Bob's bundle, Bob answers; afterwards both
  // send plain messages.
  void Establish(LibsignalParty& initiator, LibsignalParty& responder, std::uint32_t signed_prekey_id = 1,
                 std::optional<std::uint32_t> prekey_id = 1) {
    const Bundle bundle = Must(responder.MakeBundle(signed_prekey_id, prekey_id));
    ASSERT_EQ(ErrorOf(initiator.StartSession(responder.address(), bundle)), "ok");
    const Ciphertext first = Must(initiator.Encrypt(responder.address(), Bytes("hello")));
    ASSERT_EQ(first.type, MessageType::kPreKey);
    ASSERT_EQ(Must(responder.Decrypt(initiator.address(), first)), Bytes("hello"));
    const Ciphertext reply = Must(responder.Encrypt(initiator.address(), Bytes("hi")));
    ASSERT_EQ(reply.type, MessageType::kMessage);
    ASSERT_EQ(Must(initiator.Decrypt(responder.address(), reply)), Bytes("hi"));
  }

  std::unique_ptr<LibsignalParty> alice_;
  std::unique_ptr<LibsignalParty> bob_;
  std::unique_ptr<LibsignalParty> carol_;
};

TEST(LibsignalPartyCreate, RejectsBadArguments) {
  EXPECT_EQ(ErrorOf(LibsignalParty::Create("", 1, 1)), "bad_request");
  EXPECT_EQ(ErrorOf(LibsignalParty::Create("a", 0, 1)), "bad_request");
  EXPECT_EQ(ErrorOf(LibsignalParty::Create("a", 16381, 1)), "bad_request");
  EXPECT_EQ(ErrorOf(LibsignalParty::Create("a", 1, 0)), "bad_request");
  EXPECT_EQ(ErrorOf(LibsignalParty::Create("a", 1, -3)), "bad_request");
  auto party = Must(LibsignalParty::Create("a", 16380, 2));
  ASSERT_NE(party, nullptr);
  EXPECT_EQ(party->registration_id(), 16380u);
  EXPECT_EQ(party->device(), 2);
  const ByteVec identity = party->IdentityKey();
  ASSERT_EQ(identity.size(), 33u);
  EXPECT_EQ(identity[0], 0x05);
}

TEST_F(LibsignalPartyTest, BundleHasTheContractShape) {
  const Bundle bundle = Must(bob_->MakeBundle(9, 42));
  EXPECT_EQ(bundle.registration_id, 2222u);
  EXPECT_EQ(bundle.device, 1);
  EXPECT_EQ(bundle.identity_key, bob_->IdentityKey());
  EXPECT_EQ(bundle.signed_prekey_id, 9u);
  ASSERT_EQ(bundle.signed_prekey.size(), 33u);
  EXPECT_EQ(bundle.signed_prekey[0], 0x05);
  EXPECT_EQ(bundle.signed_prekey_signature.size(), 64u);
  ASSERT_TRUE(bundle.prekey_id.has_value());
  EXPECT_EQ(*bundle.prekey_id, 42u);
  ASSERT_TRUE(bundle.prekey.has_value());
  EXPECT_EQ(bundle.prekey->size(), 33u);

  const Bundle without = Must(bob_->MakeBundle(9, std::nullopt));
  EXPECT_FALSE(without.prekey_id.has_value());
  EXPECT_FALSE(without.prekey.has_value());
  EXPECT_EQ(without.signed_prekey, bundle.signed_prekey);  // reused, not regenerated

  EXPECT_EQ(ErrorOf(bob_->MakeBundle(0x1000000, 1)), "bad_request");
  EXPECT_EQ(ErrorOf(bob_->MakeBundle(1, 0)), "bad_request");
  EXPECT_EQ(ErrorOf(bob_->MakeBundle(1, 0x1000000)), "bad_request");
  EXPECT_EQ(Must(bob_->MakeBundle(1, 0xFFFFFF)).prekey_id, 0xFFFFFFu);
}

TEST_F(LibsignalPartyTest, SessionWithOneTimePreKey) {
  const Bundle bundle = Must(bob_->MakeBundle(1, 5));
  const Bundle again = Must(bob_->MakeBundle(1, 5));
  EXPECT_EQ(again.prekey, bundle.prekey);  // still held, so reused

  EXPECT_FALSE(alice_->HasSession(bob_->address()));
  ASSERT_EQ(ErrorOf(alice_->StartSession(bob_->address(), bundle)), "ok");
  EXPECT_TRUE(alice_->HasSession(bob_->address()));
  EXPECT_FALSE(bob_->HasSession(alice_->address()));

  // Until Bob answers, every message Alice sends carries the prekey header.
  const Ciphertext first = Must(alice_->Encrypt(bob_->address(), Bytes("one")));
  const Ciphertext second = Must(alice_->Encrypt(bob_->address(), Bytes("two")));
  EXPECT_EQ(first.type, MessageType::kPreKey);
  EXPECT_EQ(second.type, MessageType::kPreKey);
  EXPECT_EQ(first.bytes[0], 0x33);

  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), first)), Bytes("one"));
  EXPECT_TRUE(bob_->HasSession(alice_->address()));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), second)), Bytes("two"));

  // The one-time prekey was used up: the same id now makes a new key, while
  // the signed prekey stays.
  const Bundle after = Must(bob_->MakeBundle(1, 5));
  EXPECT_NE(after.prekey, bundle.prekey);
  EXPECT_EQ(after.signed_prekey, bundle.signed_prekey);

  const Ciphertext reply = Must(bob_->Encrypt(alice_->address(), Bytes("three")));
  EXPECT_EQ(reply.type, MessageType::kMessage);
  EXPECT_EQ(Must(alice_->Decrypt(bob_->address(), reply)), Bytes("three"));
  const Ciphertext next = Must(alice_->Encrypt(bob_->address(), Bytes("four")));
  EXPECT_EQ(next.type, MessageType::kMessage);
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), next)), Bytes("four"));
}

TEST_F(LibsignalPartyTest, SessionWithoutOneTimePreKey) {
  Establish(*alice_, *bob_, 3, std::nullopt);
  const Ciphertext message = Must(alice_->Encrypt(bob_->address(), Bytes("no one-time key")));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), message)), Bytes("no one-time key"));
}

TEST_F(LibsignalPartyTest, EmptyAndLargePlaintexts) {
  Establish(*alice_, *bob_);
  const Ciphertext empty = Must(alice_->Encrypt(bob_->address(), {}));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), empty)), ByteVec{});
  const ByteVec large(100000, 0xAB);
  const Ciphertext big = Must(bob_->Encrypt(alice_->address(), large));
  EXPECT_EQ(Must(alice_->Decrypt(bob_->address(), big)), large);
}

TEST_F(LibsignalPartyTest, PingPong) {
  Establish(*alice_, *bob_);
  for (int round = 0; round < 30; ++round) {
    const ByteVec ping = Bytes("ping " + std::to_string(round));
    const Ciphertext a = Must(alice_->Encrypt(bob_->address(), ping));
    EXPECT_EQ(a.type, MessageType::kMessage);
    EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), a)), ping);
    const ByteVec pong = Bytes("pong " + std::to_string(round));
    const Ciphertext b = Must(bob_->Encrypt(alice_->address(), pong));
    EXPECT_EQ(Must(alice_->Decrypt(bob_->address(), b)), pong);
  }
}

TEST_F(LibsignalPartyTest, OutOfOrderWithinAChainAndAcrossRatchetSteps) {
  Establish(*alice_, *bob_);
  std::vector<Ciphertext> old_chain;
  for (int i = 0; i < 5; ++i)
    old_chain.push_back(Must(alice_->Encrypt(bob_->address(), Bytes(std::to_string(i)))));
  for (int i : {4, 0, 3})
    EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), old_chain[i])), Bytes(std::to_string(i)));

  // Bob answers, Alice ratchets; the rest of her old chain arrives late.
  EXPECT_EQ(Must(alice_->Decrypt(bob_->address(), Must(bob_->Encrypt(alice_->address(), Bytes("turn"))))),
            Bytes("turn"));
  const Ciphertext new_chain = Must(alice_->Encrypt(bob_->address(), Bytes("new")));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), new_chain)), Bytes("new"));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), old_chain[1])), Bytes("1"));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), old_chain[2])), Bytes("2"));
}

TEST_F(LibsignalPartyTest, DuplicateMessage) {
  Establish(*alice_, *bob_);
  const Ciphertext message = Must(alice_->Encrypt(bob_->address(), Bytes("once")));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), message)), Bytes("once"));
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), message)), "duplicate_message");

  // A skipped key is used up the same way.
  const Ciphertext skipped = Must(alice_->Encrypt(bob_->address(), Bytes("skipped")));
  const Ciphertext later = Must(alice_->Encrypt(bob_->address(), Bytes("later")));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), later)), Bytes("later"));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), skipped)), Bytes("skipped"));
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), skipped)), "duplicate_message");
}

TEST_F(LibsignalPartyTest, DuplicatePreKeyMessage) {
  const Bundle bundle = Must(bob_->MakeBundle(1, 1));
  ASSERT_EQ(ErrorOf(alice_->StartSession(bob_->address(), bundle)), "ok");
  const Ciphertext first = Must(alice_->Encrypt(bob_->address(), Bytes("first")));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), first)), Bytes("first"));
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), first)), "duplicate_message");
}

TEST_F(LibsignalPartyTest, TamperedMessageIsInvalidAndUsesUpNothing) {
  Establish(*alice_, *bob_);
  const Ciphertext message = Must(alice_->Encrypt(bob_->address(), Bytes("intact")));
  const std::size_t size = message.bytes.size();
  // The MAC, the protobuf body, the version byte, and a truncation.
  for (std::size_t position : {size - 1, size - 9, size / 2, std::size_t{0}}) {
    Ciphertext tampered = message;
    tampered.bytes[position] ^= 0x01;
    EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), tampered)), "invalid_message") << "byte " << position;
  }
  Ciphertext truncated = message;
  truncated.bytes.resize(size - 8);
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), truncated)), "invalid_message");
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), Ciphertext{MessageType::kMessage, {}})),
            "invalid_message");
  Ciphertext legacy = message;
  legacy.bytes[0] = 0x22;
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), legacy)), "invalid_message");

  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), message)), Bytes("intact"));
  const Ciphertext reply = Must(bob_->Encrypt(alice_->address(), Bytes("still here")));
  EXPECT_EQ(Must(alice_->Decrypt(bob_->address(), reply)), Bytes("still here"));
}

TEST_F(LibsignalPartyTest, TamperedPreKeyMessageLeavesNoSessionAndKeepsThePreKey) {
  const Bundle bundle = Must(bob_->MakeBundle(1, 1));
  ASSERT_EQ(ErrorOf(alice_->StartSession(bob_->address(), bundle)), "ok");
  const Ciphertext message = Must(alice_->Encrypt(bob_->address(), Bytes("first")));
  const std::optional<std::pair<std::size_t, std::size_t>> inner = FindField(message.bytes, 1, 4);
  ASSERT_TRUE(inner.has_value());
  for (std::size_t position : {inner->first + inner->second - 1, inner->first + inner->second / 2}) {
    Ciphertext tampered = message;
    tampered.bytes[position] ^= 0x01;  // the inner message's MAC, then its body
    EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), tampered)), "invalid_message") << "byte " << position;
    EXPECT_FALSE(bob_->HasSession(alice_->address()));
    EXPECT_EQ(Must(bob_->MakeBundle(1, 1)).prekey, bundle.prekey);
  }
  // The last field is the signed prekey id (1): flipping its low bit names
  // signed prekey 0, which Bob does not have.
  Ciphertext other_signed_prekey = message;
  other_signed_prekey.bytes.back() ^= 0x01;
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), other_signed_prekey)), "invalid_key_id");
  EXPECT_FALSE(bob_->HasSession(alice_->address()));

  Ciphertext wrong_type = message;
  wrong_type.type = MessageType::kMessage;
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), wrong_type)), "invalid_message");

  // The forged messages did not make Bob trust the identity they carried:
  // another "alice" is still a first contact.
  auto other_alice = NewParty("alice", 1112);
  ASSERT_EQ(ErrorOf(other_alice->StartSession(bob_->address(), Must(bob_->MakeBundle(1, 2)))), "ok");
  const Ciphertext from_other = Must(other_alice->Encrypt(bob_->address(), Bytes("other")));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), from_other)), Bytes("other"));
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), message)), "untrusted_identity");
  EXPECT_EQ(ErrorOf(bob_->Trust(alice_->address(), alice_->IdentityKey())), "ok");

  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), message)), Bytes("first"));
}

TEST_F(LibsignalPartyTest, ChangedIdentityIsUntrustedUntilTrusted) {
  Establish(*alice_, *bob_);
  auto new_bob = NewParty("bob", 2223);  // same name, new identity
  ASSERT_NE(new_bob->IdentityKey(), bob_->IdentityKey());

  // As initiator: the new bundle is refused and the old session stays.
  const Bundle bundle = Must(new_bob->MakeBundle(1, 1));
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), bundle)), "untrusted_identity");
  const Ciphertext to_old = Must(alice_->Encrypt(bob_->address(), Bytes("old session")));
  EXPECT_EQ(to_old.type, MessageType::kMessage);
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), to_old)), Bytes("old session"));

  // As responder: a prekey message from the new identity is refused, uses up
  // none of Alice's prekeys, and decrypts once Alice trusts the new key.
  const Bundle alice_bundle = Must(alice_->MakeBundle(4, 4));
  ASSERT_EQ(ErrorOf(new_bob->StartSession(alice_->address(), alice_bundle)), "ok");
  const Ciphertext from_new = Must(new_bob->Encrypt(alice_->address(), Bytes("it's me")));
  EXPECT_EQ(ErrorOf(alice_->Decrypt(bob_->address(), from_new)), "untrusted_identity");
  EXPECT_EQ(Must(alice_->MakeBundle(4, 4)).prekey, alice_bundle.prekey);

  EXPECT_EQ(ErrorOf(alice_->Trust(bob_->address(), new_bob->IdentityKey())), "ok");
  EXPECT_EQ(Must(alice_->Decrypt(bob_->address(), from_new)), Bytes("it's me"));
  const Ciphertext reply = Must(alice_->Encrypt(bob_->address(), Bytes("welcome back")));
  EXPECT_EQ(Must(new_bob->Decrypt(alice_->address(), reply)), Bytes("welcome back"));

  // Trust is per name: now the old identity is the stranger.
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), Must(bob_->MakeBundle(1, 2)))),
            "untrusted_identity");
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), bundle)), "ok");
}

TEST_F(LibsignalPartyTest, TrustRejectsMalformedKeys) {
  ByteVec key = bob_->IdentityKey();
  key.pop_back();
  EXPECT_EQ(ErrorOf(alice_->Trust(bob_->address(), key)), "invalid_key");
  key = bob_->IdentityKey();
  key[0] = 0x06;
  EXPECT_EQ(ErrorOf(alice_->Trust(bob_->address(), key)), "invalid_key");
  EXPECT_EQ(ErrorOf(alice_->Trust(Address{"", 1}, bob_->IdentityKey())), "bad_request");
}

TEST_F(LibsignalPartyTest, BadBundlesAreRefusedAndLeaveNoSession) {
  const Bundle good = Must(bob_->MakeBundle(1, 1));

  Bundle bad_signature = good;
  bad_signature.signed_prekey_signature[10] ^= 0x01;
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), bad_signature)), "invalid_key");

  Bundle signed_by_other = good;
  signed_by_other.signed_prekey = Must(carol_->MakeBundle(1, std::nullopt)).signed_prekey;
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), signed_by_other)), "invalid_key");

  Bundle short_signature = good;
  short_signature.signed_prekey_signature.pop_back();
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), short_signature)), "invalid_key");

  Bundle short_identity = good;
  short_identity.identity_key.pop_back();
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), short_identity)), "invalid_key");

  Bundle wrong_type = good;
  wrong_type.signed_prekey[0] = 0x04;
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), wrong_type)), "invalid_key");

  Bundle long_prekey = good;
  long_prekey.prekey->push_back(0);
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), long_prekey)), "invalid_key");

  Bundle half_prekey = good;
  half_prekey.prekey.reset();
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), half_prekey)), "bad_request");

  EXPECT_FALSE(alice_->HasSession(bob_->address()));
  EXPECT_EQ(ErrorOf(alice_->Encrypt(bob_->address(), Bytes("x"))), "no_session");

  // None of it made Alice trust anything: a different identity is still fine.
  auto other_bob = NewParty("bob", 2224);
  EXPECT_EQ(ErrorOf(alice_->StartSession(bob_->address(), Must(other_bob->MakeBundle(1, 1)))), "ok");
}

TEST_F(LibsignalPartyTest, UnknownPreKeyIdsAreInvalidKeyId) {
  Bundle unknown_prekey = Must(bob_->MakeBundle(1, 5));
  unknown_prekey.prekey_id = 6;
  ASSERT_EQ(ErrorOf(alice_->StartSession(bob_->address(), unknown_prekey)), "ok");
  const Ciphertext message = Must(alice_->Encrypt(bob_->address(), Bytes("x")));
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), message)), "invalid_key_id");
  EXPECT_FALSE(bob_->HasSession(alice_->address()));

  Bundle unknown_signed = Must(bob_->MakeBundle(1, 5));
  unknown_signed.signed_prekey_id = 2;
  ASSERT_EQ(ErrorOf(carol_->StartSession(bob_->address(), unknown_signed)), "ok");
  const Ciphertext from_carol = Must(carol_->Encrypt(bob_->address(), Bytes("y")));
  EXPECT_EQ(ErrorOf(bob_->Decrypt(carol_->address(), from_carol)), "invalid_key_id");
  EXPECT_FALSE(bob_->HasSession(carol_->address()));
}

TEST_F(LibsignalPartyTest, NoSession) {
  EXPECT_EQ(ErrorOf(alice_->Encrypt(bob_->address(), Bytes("x"))), "no_session");
  Establish(*alice_, *carol_);
  const Ciphertext for_carol = Must(alice_->Encrypt(carol_->address(), Bytes("x")));
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), for_carol)), "no_session");
  EXPECT_FALSE(alice_->HasSession(Address{"carol", 8}));  // sessions are per device
  EXPECT_EQ(ErrorOf(alice_->Encrypt(Address{"carol", 0}, Bytes("x"))), "bad_request");
}

// The contract: a message up to 1,000 steps ahead decrypts; one more than
// 25,000 ahead is refused. libsignal-protocol-c refuses beyond 2,000.
TEST_F(LibsignalPartyTest, SkippedMessageKeysAreBounded) {
  Establish(*alice_, *bob_);
  std::vector<Ciphertext> messages;
  for (int i = 0; i <= 1000; ++i) messages.push_back(Must(alice_->Encrypt(bob_->address(), Bytes("m"))));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), messages[1000])), Bytes("m"));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), messages[0])), Bytes("m"));
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), messages[999])), Bytes("m"));

  messages.clear();
  for (int i = 0; i <= 2001; ++i) messages.push_back(Must(alice_->Encrypt(bob_->address(), Bytes("far"))));
  EXPECT_EQ(ErrorOf(bob_->Decrypt(alice_->address(), messages[2001])), "invalid_message");
  EXPECT_EQ(Must(bob_->Decrypt(alice_->address(), messages[0])), Bytes("far"));
}

TEST_F(LibsignalPartyTest, GroupMessages) {
  const ByteVec alice_distribution = Must(alice_->GroupCreate("team"));
  ASSERT_FALSE(alice_distribution.empty());
  EXPECT_EQ(alice_distribution[0], 0x33);
  ASSERT_EQ(ErrorOf(bob_->GroupAccept("team", alice_->address(), alice_distribution)), "ok");

  const ByteVec first = Must(alice_->GroupEncrypt("team", Bytes("hello team")));
  EXPECT_EQ(Must(bob_->GroupDecrypt("team", alice_->address(), first)), Bytes("hello team"));
  EXPECT_EQ(ErrorOf(bob_->GroupDecrypt("team", alice_->address(), first)), "duplicate_message");

  // Never accepted: no session, wherever the gap is.
  EXPECT_EQ(ErrorOf(carol_->GroupDecrypt("team", alice_->address(), first)), "no_session");
  EXPECT_EQ(ErrorOf(bob_->GroupDecrypt("other", alice_->address(), first)), "no_session");
  EXPECT_EQ(ErrorOf(bob_->GroupDecrypt("team", Address{"alice", 2}, first)), "no_session");
  EXPECT_EQ(ErrorOf(bob_->GroupEncrypt("team", Bytes("x"))), "no_session");

  // Out of order, and a tampered message uses up nothing.
  const ByteVec m1 = Must(alice_->GroupEncrypt("team", Bytes("one")));
  const ByteVec m2 = Must(alice_->GroupEncrypt("team", Bytes("two")));
  ByteVec tampered = m2;
  tampered[tampered.size() / 2] ^= 0x01;
  EXPECT_EQ(ErrorOf(bob_->GroupDecrypt("team", alice_->address(), tampered)), "invalid_message");
  ByteVec bad_signature = m2;
  bad_signature.back() ^= 0x01;
  EXPECT_EQ(ErrorOf(bob_->GroupDecrypt("team", alice_->address(), bad_signature)), "invalid_message");
  EXPECT_EQ(ErrorOf(bob_->GroupDecrypt("team", alice_->address(), {})), "invalid_message");
  EXPECT_EQ(Must(bob_->GroupDecrypt("team", alice_->address(), m2)), Bytes("two"));
  EXPECT_EQ(Must(bob_->GroupDecrypt("team", alice_->address(), m1)), Bytes("one"));

  // A second sender in the same group, and a late joiner who gets the
  // current distribution and reads from there on.
  const ByteVec bob_distribution = Must(bob_->GroupCreate("team"));
  ASSERT_EQ(ErrorOf(alice_->GroupAccept("team", bob_->address(), bob_distribution)), "ok");
  const ByteVec from_bob = Must(bob_->GroupEncrypt("team", Bytes("bob here")));
  EXPECT_EQ(Must(alice_->GroupDecrypt("team", bob_->address(), from_bob)), Bytes("bob here"));

  const ByteVec current = Must(alice_->GroupCreate("team"));
  ASSERT_EQ(ErrorOf(carol_->GroupAccept("team", alice_->address(), current)), "ok");
  const ByteVec for_all = Must(alice_->GroupEncrypt("team", Bytes("everyone")));
  EXPECT_EQ(Must(carol_->GroupDecrypt("team", alice_->address(), for_all)), Bytes("everyone"));
  EXPECT_EQ(Must(bob_->GroupDecrypt("team", alice_->address(), for_all)), Bytes("everyone"));
  EXPECT_EQ(ErrorOf(carol_->GroupDecrypt("team", alice_->address(), m1)), "duplicate_message");

  ByteVec bad_distribution = current;
  bad_distribution.resize(bad_distribution.size() - 3);
  EXPECT_EQ(ErrorOf(carol_->GroupAccept("team", bob_->address(), bad_distribution)), "invalid_message");
  EXPECT_EQ(ErrorOf(alice_->GroupAccept("team", alice_->address(), current)), "bad_request");
}

TEST_F(LibsignalPartyTest, GroupSkippedKeysAreBounded) {
  ASSERT_EQ(ErrorOf(bob_->GroupAccept("g", alice_->address(), Must(alice_->GroupCreate("g")))), "ok");
  std::vector<ByteVec> messages;
  for (int i = 0; i <= 1000; ++i) messages.push_back(Must(alice_->GroupEncrypt("g", Bytes("m"))));
  EXPECT_EQ(Must(bob_->GroupDecrypt("g", alice_->address(), messages[1000])), Bytes("m"));
  EXPECT_EQ(Must(bob_->GroupDecrypt("g", alice_->address(), messages[0])), Bytes("m"));
}

TEST_F(LibsignalPartyTest, FingerprintsMatchOnBothSides) {
  const Fingerprint at_alice = Must(alice_->MakeFingerprint("alice", "bob", bob_->IdentityKey(), 5200));
  const Fingerprint at_bob = Must(bob_->MakeFingerprint("bob", "alice", alice_->IdentityKey(), 5200));
  EXPECT_EQ(at_alice.displayable, at_bob.displayable);
  EXPECT_EQ(at_alice.displayable.size(), 60u);
  EXPECT_TRUE(std::all_of(at_alice.displayable.begin(), at_alice.displayable.end(),
                          [](char c) { return c >= '0' && c <= '9'; }));

  // Each side's scannable form lists its own fingerprint first; the library
  // says they match.
  EXPECT_NE(at_alice.scannable, at_bob.scannable);
  auto context = LibsignalContext::Create();
  ASSERT_NE(context, nullptr);
  scannable_fingerprint* alice_scannable = nullptr;
  scannable_fingerprint* bob_scannable = nullptr;
  ASSERT_EQ(scannable_fingerprint_deserialize(&alice_scannable, at_alice.scannable.data(),
                                              at_alice.scannable.size(), context->get()),
            0);
  ASSERT_EQ(scannable_fingerprint_deserialize(&bob_scannable, at_bob.scannable.data(),
                                              at_bob.scannable.size(), context->get()),
            0);
  EXPECT_EQ(scannable_fingerprint_compare(alice_scannable, bob_scannable), 1);
  SIGNAL_UNREF(alice_scannable);
  SIGNAL_UNREF(bob_scannable);

  const Fingerprint with_carol = Must(alice_->MakeFingerprint("alice", "bob", carol_->IdentityKey(), 5200));
  EXPECT_NE(with_carol.displayable, at_alice.displayable);

  EXPECT_EQ(ErrorOf(alice_->MakeFingerprint("alice", "bob", ByteVec(33, 0), 5200)), "invalid_key");
  EXPECT_EQ(ErrorOf(alice_->MakeFingerprint("alice", "bob", bob_->IdentityKey(), 0)), "bad_request");
  EXPECT_EQ(ErrorOf(alice_->MakeFingerprint(std::string("al\0ce", 5), "bob", bob_->IdentityKey(), 1)),
            "bad_request");
}

// libsignal-protocol-c tests/test_fingerprint.c (test_vectors_v1).
TEST(LibsignalFingerprint, KnownVector) {
  const ByteVec alice_identity =
      FromHex("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868");
  const ByteVec bob_identity = FromHex("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b");
  const ByteVec alice_scannable = FromHex(
      "080112220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df"
      "1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d");
  const ByteVec bob_scannable = FromHex(
      "080112220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d"
      "1a220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df");

  const Fingerprint at_alice = Must(
      LibsignalParty::ComputeFingerprint("+14152222222", alice_identity, "+14153333333", bob_identity, 5200));
  EXPECT_EQ(at_alice.displayable, "300354477692869396892869876765458257569162576843440918079131");
  EXPECT_EQ(at_alice.scannable, alice_scannable);

  const Fingerprint at_bob = Must(
      LibsignalParty::ComputeFingerprint("+14153333333", bob_identity, "+14152222222", alice_identity, 5200));
  EXPECT_EQ(at_bob.displayable, at_alice.displayable);
  EXPECT_EQ(at_bob.scannable, bob_scannable);
}

// The library's own XEdDSA / curve25519 vectors.
TEST(LibsignalCurve, InternalFastTestsPass) { EXPECT_EQ(curve_internal_fast_tests(1), 0); }

// The OpenSSL crypto provider against published vectors.
class OpensslCryptoProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = LibsignalContext::Create();
    ASSERT_NE(context_, nullptr);
  }
  const signal_crypto_provider& provider() const { return context_->crypto_provider(); }

  ByteVec Take(signal_buffer* buffer) {
    ByteVec bytes(signal_buffer_data(buffer), signal_buffer_data(buffer) + signal_buffer_len(buffer));
    signal_buffer_free(buffer);
    return bytes;
  }

  int Crypt(bool encrypt, int cipher, const ByteVec& key, const ByteVec& iv, const ByteVec& input,
            ByteVec* output) {
    signal_buffer* out = nullptr;
    const auto fn = encrypt ? provider().encrypt_func : provider().decrypt_func;
    const int result = fn(&out, cipher, key.data(), key.size(), iv.data(), iv.size(), input.data(),
                          input.size(), provider().user_data);
    if (result == 0) *output = Take(out);
    return result;
  }

  std::unique_ptr<LibsignalContext> context_;
};

// RFC 4231, test case 2.
TEST_F(OpensslCryptoProviderTest, HmacSha256) {
  void* hmac = nullptr;
  const ByteVec key = Bytes("Jefe");
  ASSERT_EQ(provider().hmac_sha256_init_func(&hmac, key.data(), key.size(), provider().user_data), 0);
  const ByteVec part1 = Bytes("what do ya want ");
  const ByteVec part2 = Bytes("for nothing?");
  ASSERT_EQ(provider().hmac_sha256_update_func(hmac, part1.data(), part1.size(), provider().user_data), 0);
  ASSERT_EQ(provider().hmac_sha256_update_func(hmac, part2.data(), part2.size(), provider().user_data), 0);
  signal_buffer* mac = nullptr;
  ASSERT_EQ(provider().hmac_sha256_final_func(hmac, &mac, provider().user_data), 0);
  provider().hmac_sha256_cleanup_func(hmac, provider().user_data);
  EXPECT_EQ(Take(mac), FromHex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
}

// FIPS 180-2, "abc"; the context must be reusable after final.
TEST_F(OpensslCryptoProviderTest, Sha512IsReusableAfterFinal) {
  void* digest = nullptr;
  ASSERT_EQ(provider().sha512_digest_init_func(&digest, provider().user_data), 0);
  const ByteVec abc = Bytes("abc");
  const ByteVec expected = FromHex(
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d44"
      "23643c"
      "e80e2a9ac94fa54ca49f");
  for (int round = 0; round < 2; ++round) {
    ASSERT_EQ(provider().sha512_digest_update_func(digest, abc.data(), abc.size(), provider().user_data), 0);
    signal_buffer* out = nullptr;
    ASSERT_EQ(provider().sha512_digest_final_func(digest, &out, provider().user_data), 0);
    EXPECT_EQ(Take(out), expected) << "round " << round;
  }
  provider().sha512_digest_cleanup_func(digest, provider().user_data);
}

// NIST SP 800-38A F.2.5 (CBC-AES256, first block), plus the PKCS#7 block.
TEST_F(OpensslCryptoProviderTest, AesCbcPkcs5) {
  const ByteVec key = FromHex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  const ByteVec iv = FromHex("000102030405060708090a0b0c0d0e0f");
  const ByteVec plaintext = FromHex("6bc1bee22e409f96e93d7e117393172a");
  ByteVec ciphertext;
  ASSERT_EQ(Crypt(true, SG_CIPHER_AES_CBC_PKCS5, key, iv, plaintext, &ciphertext), 0);
  ASSERT_EQ(ciphertext.size(), 32u);
  EXPECT_EQ(ByteVec(ciphertext.begin(), ciphertext.begin() + 16),
            FromHex("f58c4c04d6e5f1ba779eabfb5f7bfbd6"));
  ByteVec decrypted;
  ASSERT_EQ(Crypt(false, SG_CIPHER_AES_CBC_PKCS5, key, iv, ciphertext, &decrypted), 0);
  EXPECT_EQ(decrypted, plaintext);

  ByteVec bad_padding = ciphertext;
  bad_padding.back() ^= 0x01;
  EXPECT_LT(Crypt(false, SG_CIPHER_AES_CBC_PKCS5, key, iv, bad_padding, &decrypted), 0);
  EXPECT_LT(Crypt(true, SG_CIPHER_AES_CBC_PKCS5, ByteVec(31, 0), iv, plaintext, &ciphertext), 0);
  EXPECT_LT(Crypt(true, SG_CIPHER_AES_CBC_PKCS5, key, ByteVec(15, 0), plaintext, &ciphertext), 0);
  EXPECT_LT(Crypt(true, 99, key, iv, plaintext, &ciphertext), 0);
}

// NIST SP 800-38A F.5.1 (CTR-AES128) and F.5.5 (CTR-AES256), first block;
// the key length picks the AES variant.
TEST_F(OpensslCryptoProviderTest, AesCtrNoPadding) {
  const ByteVec counter = FromHex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  const ByteVec plaintext = FromHex("6bc1bee22e409f96e93d7e117393172a");
  ByteVec ciphertext;
  ASSERT_EQ(Crypt(true, SG_CIPHER_AES_CTR_NOPADDING, FromHex("2b7e151628aed2a6abf7158809cf4f3c"), counter,
                  plaintext, &ciphertext),
            0);
  EXPECT_EQ(ciphertext, FromHex("874d6191b620e3261bef6864990db6ce"));
  const ByteVec key256 = FromHex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  ASSERT_EQ(Crypt(true, SG_CIPHER_AES_CTR_NOPADDING, key256, counter, plaintext, &ciphertext), 0);
  EXPECT_EQ(ciphertext, FromHex("601ec313775789a5b7a7f504bbf3d228"));
  ByteVec decrypted;
  ASSERT_EQ(Crypt(false, SG_CIPHER_AES_CTR_NOPADDING, key256, counter, ciphertext, &decrypted), 0);
  EXPECT_EQ(decrypted, plaintext);
  const ByteVec odd_length = Bytes("seven b");
  ASSERT_EQ(Crypt(true, SG_CIPHER_AES_CTR_NOPADDING, key256, counter, odd_length, &ciphertext), 0);
  EXPECT_EQ(ciphertext.size(), odd_length.size());
}

}  // namespace
}  // namespace parley::interop
