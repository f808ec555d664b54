// Decoders of SignalMessage and PreKeySignalMessage: round trips and every error case.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "base/rng.h"
#include "protocol/limits.h"
#include "protocol/prekey_signal_message.h"
#include "protocol/signal_message.h"

namespace parley::protocol {
namespace {

using Buf = std::vector<std::uint8_t>;

struct Keys {
  DeterministicRng rng{7};
  crypto::KeyPair ratchet = crypto::KeyPair::Generate(rng);
  crypto::KeyPair sender = crypto::KeyPair::Generate(rng);
  crypto::KeyPair receiver = crypto::KeyPair::Generate(rng);
  std::array<std::uint8_t, 32> mac_key{};
  Keys() { rng.Fill(mac_key); }
};

// version ‖ fields ‖ 8 MAC bytes, built field by field.
Buf Frame(std::uint8_t version, const Buf& proto, bool with_mac = true) {
  Buf out{version};
  out.insert(out.end(), proto.begin(), proto.end());
  if (with_mac) out.insert(out.end(), 8, 0xAA);
  return out;
}

Buf SignalProto(const Keys& k, bool ratchet = true, bool counter = true, bool ciphertext = true) {
  ByteWriter w;
  if (ratchet) WriteBytesField(w, 1, k.ratchet.public_key.Serialize());
  if (counter) WriteVarintField(w, 2, 5);
  WriteVarintField(w, 3, 4);
  if (ciphertext) WriteBytesField(w, 4, Buf(16, 1));
  return w.Take();
}

ProtocolErrc ParseError(const Buf& b) {
  auto r = SignalMessage::Parse(b);
  EXPECT_FALSE(r.has_value());
  return r ? ProtocolErrc::kInvalidState : r.error().code;
}

TEST(SignalMessage, RoundTripAndMac) {
  Keys k;
  const Buf body(48, 0x5C);
  const Buf encoded = EncodeSignalMessage(k.ratchet.public_key, 7, 3, body, k.mac_key, k.sender.public_key,
                                          k.receiver.public_key);
  EXPECT_EQ(encoded[0], 0x33);
  auto m = SignalMessage::Parse(encoded);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->version, 3);
  EXPECT_EQ(m->ratchet_key, k.ratchet.public_key);
  EXPECT_EQ(m->counter, 7u);
  EXPECT_EQ(m->previous_counter, 3u);
  EXPECT_EQ(Buf(m->ciphertext.begin(), m->ciphertext.end()), body);
  EXPECT_TRUE(m->VerifyMac(k.sender.public_key, k.receiver.public_key, k.mac_key));
  // Identities are ordered sender first; swapping them or changing the key fails.
  EXPECT_FALSE(m->VerifyMac(k.receiver.public_key, k.sender.public_key, k.mac_key));
  auto other_key = k.mac_key;
  other_key[0] ^= 1;
  EXPECT_FALSE(m->VerifyMac(k.sender.public_key, k.receiver.public_key, other_key));
}

TEST(SignalMessage, ZeroCountersAreStillWritten) {
  Keys k;
  const Buf encoded = EncodeSignalMessage(k.ratchet.public_key, 0, 0, Buf(16, 0), k.mac_key,
                                          k.sender.public_key, k.receiver.public_key);
  // Required fields are present even when zero: tags 0x10 (counter) and 0x18 (previousCounter).
  ProtoReader r(Bytes(encoded).subspan(1, encoded.size() - 9));
  ProtoField f;
  std::vector<std::uint32_t> numbers;
  while (r.Next(f)) numbers.push_back(f.number);
  EXPECT_EQ(numbers, (std::vector<std::uint32_t>{1, 2, 3, 4}));
}

TEST(SignalMessage, TooShort) {
  EXPECT_EQ(ParseError({}), ProtocolErrc::kMalformed);
  EXPECT_EQ(ParseError(Buf(8, 0x33)), ProtocolErrc::kMalformed);
}

TEST(SignalMessage, TooLong) {
  Keys k;
  Buf b = Frame(0x33, SignalProto(k));
  b.resize(kMaxSerializedMessageSize + 1, 0);
  EXPECT_EQ(ParseError(b), ProtocolErrc::kMalformed);
}

TEST(SignalMessage, Versions) {
  Keys k;
  const Buf proto = SignalProto(k);
  EXPECT_EQ(ParseError(Frame(0x23, proto)), ProtocolErrc::kLegacyVersion);
  EXPECT_EQ(ParseError(Frame(0x03, proto)), ProtocolErrc::kLegacyVersion);
  EXPECT_EQ(ParseError(Frame(0x43, proto)), ProtocolErrc::kUnknownVersion);
  EXPECT_EQ(ParseError(Frame(0xF3, proto)), ProtocolErrc::kUnknownVersion);
  EXPECT_TRUE(SignalMessage::Parse(Frame(0x33, proto)));
}

TEST(SignalMessage, MissingRequiredFields) {
  Keys k;
  EXPECT_EQ(ParseError(Frame(0x33, SignalProto(k, false, true, true))), ProtocolErrc::kMalformed);
  EXPECT_EQ(ParseError(Frame(0x33, SignalProto(k, true, false, true))), ProtocolErrc::kMalformed);
  EXPECT_EQ(ParseError(Frame(0x33, SignalProto(k, true, true, false))), ProtocolErrc::kMalformed);
}

TEST(SignalMessage, PreviousCounterIsOptional) {
  Keys k;
  ByteWriter w;
  WriteBytesField(w, 1, k.ratchet.public_key.Serialize());
  WriteVarintField(w, 2, 1);
  WriteBytesField(w, 4, Buf(16, 1));
  auto m = SignalMessage::Parse(Frame(0x33, w.Take()));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->previous_counter, 0u);
}

TEST(SignalMessage, UnknownFieldsAreSkipped) {
  Keys k;
  Buf proto = SignalProto(k);
  ByteWriter extra;
  WriteVarintField(extra, 9, 1);
  WriteBytesField(extra, 10, Buf(3, 1));
  proto.insert(proto.end(), extra.bytes().begin(), extra.bytes().end());
  EXPECT_TRUE(SignalMessage::Parse(Frame(0x33, proto)));
}

TEST(SignalMessage, RepeatedFields) {
  Keys k;
  for (int field = 1; field <= 4; ++field) {
    Buf proto = SignalProto(k);
    ByteWriter extra;
    if (field == 1) WriteBytesField(extra, 1, k.ratchet.public_key.Serialize());
    if (field == 2 || field == 3) WriteVarintField(extra, static_cast<std::uint32_t>(field), 1);
    if (field == 4) WriteBytesField(extra, 4, Buf(16, 2));
    proto.insert(proto.end(), extra.bytes().begin(), extra.bytes().end());
    EXPECT_EQ(ParseError(Frame(0x33, proto)), ProtocolErrc::kMalformed) << field;
  }
}

TEST(SignalMessage, WrongWireTypes) {
  Keys k;
  {
    ByteWriter w;
    WriteVarintField(w, 1, 5);  // ratchetKey as a varint
    WriteVarintField(w, 2, 1);
    WriteBytesField(w, 4, Buf(16, 1));
    EXPECT_EQ(ParseError(Frame(0x33, w.Take())), ProtocolErrc::kMalformed);
  }
  {
    ByteWriter w;
    WriteBytesField(w, 1, k.ratchet.public_key.Serialize());
    WriteBytesField(w, 2, Buf(1, 1));  // counter as bytes
    WriteBytesField(w, 4, Buf(16, 1));
    EXPECT_EQ(ParseError(Frame(0x33, w.Take())), ProtocolErrc::kMalformed);
  }
  {
    ByteWriter w;
    WriteBytesField(w, 1, k.ratchet.public_key.Serialize());
    WriteVarintField(w, 2, 1);
    WriteFixed64Field(w, 3, 1);  // previousCounter as fixed64
    WriteBytesField(w, 4, Buf(16, 1));
    EXPECT_EQ(ParseError(Frame(0x33, w.Take())), ProtocolErrc::kMalformed);
  }
  {
    ByteWriter w;
    WriteBytesField(w, 1, k.ratchet.public_key.Serialize());
    WriteVarintField(w, 2, 1);
    WriteVarintField(w, 4, 1);  // ciphertext as a varint
    EXPECT_EQ(ParseError(Frame(0x33, w.Take())), ProtocolErrc::kMalformed);
  }
}

TEST(SignalMessage, CounterAbove32Bits) {
  Keys k;
  for (std::uint32_t field : {2u, 3u}) {
    ByteWriter w;
    WriteBytesField(w, 1, k.ratchet.public_key.Serialize());
    WriteVarintField(w, 2, field == 2 ? (1ull << 32) : 1);
    WriteVarintField(w, 3, field == 3 ? (1ull << 32) : 1);
    WriteBytesField(w, 4, Buf(16, 1));
    EXPECT_EQ(ParseError(Frame(0x33, w.Take())), ProtocolErrc::kMalformed) << field;
  }
}

TEST(SignalMessage, InvalidProtobuf) {
  EXPECT_EQ(ParseError(Frame(0x33, Buf{0x0A, 0x40, 0x01})), ProtocolErrc::kMalformed);  // length past the end
  EXPECT_EQ(ParseError(Frame(0x33, Buf{0x0B})), ProtocolErrc::kMalformed);              // group wire type
  EXPECT_EQ(ParseError(Frame(0x33, Buf{0x80})), ProtocolErrc::kMalformed);              // truncated varint
}

TEST(SignalMessage, BadRatchetKey) {
  Keys k;
  auto serialized = k.ratchet.public_key.Serialize();
  for (int variant = 0; variant < 3; ++variant) {
    Buf key(serialized.begin(), serialized.end());
    if (variant == 0) key[0] = 0x06;     // wrong type byte
    if (variant == 1) key.pop_back();    // 32 bytes
    if (variant == 2) key.push_back(0);  // 34 bytes
    ByteWriter w;
    WriteBytesField(w, 1, key);
    WriteVarintField(w, 2, 1);
    WriteBytesField(w, 4, Buf(16, 1));
    EXPECT_EQ(ParseError(Frame(0x33, w.Take())), ProtocolErrc::kInvalidMessageKey) << variant;
  }
}

// PreKeySignalMessage

Buf PreKeyProto(const Keys& k, const Buf& inner, std::uint32_t skip_field = 0, bool prekey_id = true) {
  ByteWriter w;
  if (prekey_id && skip_field != 1) WriteVarintField(w, 1, 17);
  if (skip_field != 2) WriteBytesField(w, 2, k.sender.public_key.Serialize());
  if (skip_field != 3) WriteBytesField(w, 3, k.receiver.public_key.Serialize());
  if (skip_field != 4) WriteBytesField(w, 4, inner);
  if (skip_field != 5) WriteVarintField(w, 5, 1234);
  if (skip_field != 6) WriteVarintField(w, 6, 9);
  return w.Take();
}

Buf Inner(const Keys& k) {
  return EncodeSignalMessage(k.ratchet.public_key, 0, 0, Buf(16, 3), k.mac_key, k.sender.public_key,
                             k.receiver.public_key);
}

ProtocolErrc PreKeyError(const Buf& b) {
  auto r = PreKeySignalMessage::Parse(b);
  EXPECT_FALSE(r.has_value());
  return r ? ProtocolErrc::kInvalidState : r.error().code;
}

TEST(PreKeySignalMessage, RoundTrip) {
  Keys k;
  const Buf inner = Inner(k);
  for (bool with_prekey : {true, false}) {
    std::optional<PreKeyId> id;
    if (with_prekey) id = PreKeyId(0xFFFFFF);
    const Buf encoded = EncodePreKeySignalMessage(RegistrationId(16380), id, SignedPreKeyId(5),
                                                  k.sender.public_key, k.receiver.public_key, inner);
    auto m = PreKeySignalMessage::Parse(encoded);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->version, 3);
    EXPECT_EQ(m->registration_id, RegistrationId(16380));
    EXPECT_EQ(m->prekey_id, id);
    EXPECT_EQ(m->signed_prekey_id, SignedPreKeyId(5));
    EXPECT_EQ(m->base_key, k.sender.public_key);
    EXPECT_EQ(m->identity_key, k.receiver.public_key);
    EXPECT_EQ(m->message.ratchet_key, k.ratchet.public_key);
    EXPECT_TRUE(m->message.VerifyMac(k.sender.public_key, k.receiver.public_key, k.mac_key));
  }
}

TEST(PreKeySignalMessage, EmptyAndTooLong) {
  Keys k;
  EXPECT_EQ(PreKeyError({}), ProtocolErrc::kMalformed);
  Buf b = Frame(0x33, PreKeyProto(k, Inner(k)), false);
  b.resize(kMaxSerializedMessageSize + 1, 0);
  EXPECT_EQ(PreKeyError(b), ProtocolErrc::kMalformed);
}

TEST(PreKeySignalMessage, Versions) {
  Keys k;
  const Buf proto = PreKeyProto(k, Inner(k));
  EXPECT_EQ(PreKeyError(Frame(0x22, proto, false)), ProtocolErrc::kLegacyVersion);
  EXPECT_EQ(PreKeyError(Frame(0x44, proto, false)), ProtocolErrc::kUnknownVersion);
  EXPECT_TRUE(PreKeySignalMessage::Parse(Frame(0x33, proto, false)));
}

TEST(PreKeySignalMessage, OptionalAndRequiredFields) {
  Keys k;
  const Buf inner = Inner(k);
  EXPECT_TRUE(PreKeySignalMessage::Parse(Frame(0x33, PreKeyProto(k, inner, 1), false)));
  auto no_registration = PreKeySignalMessage::Parse(Frame(0x33, PreKeyProto(k, inner, 5), false));
  ASSERT_TRUE(no_registration);
  EXPECT_EQ(no_registration->registration_id, RegistrationId(0));
  for (std::uint32_t required : {2u, 3u, 4u, 6u}) {
    EXPECT_EQ(PreKeyError(Frame(0x33, PreKeyProto(k, inner, required), false)), ProtocolErrc::kMalformed)
        << required;
  }
}

TEST(PreKeySignalMessage, RepeatedAndMistypedFields) {
  Keys k;
  const Buf inner = Inner(k);
  for (std::uint32_t field = 1; field <= 6; ++field) {
    Buf proto = PreKeyProto(k, inner);
    ByteWriter extra;
    const bool is_varint = field == 1 || field == 5 || field == 6;
    if (is_varint) {
      WriteVarintField(extra, field, 1);
    } else {
      WriteBytesField(extra, field, k.sender.public_key.Serialize());
    }
    Buf repeated = proto;
    repeated.insert(repeated.end(), extra.bytes().begin(), extra.bytes().end());
    EXPECT_EQ(PreKeyError(Frame(0x33, repeated, false)), ProtocolErrc::kMalformed) << field;

    ByteWriter mistyped;
    if (is_varint) {
      WriteBytesField(mistyped, field, Buf(1, 1));
    } else {
      WriteVarintField(mistyped, field, 1);
    }
    Buf only = PreKeyProto(k, inner, field);
    only.insert(only.end(), mistyped.bytes().begin(), mistyped.bytes().end());
    EXPECT_EQ(PreKeyError(Frame(0x33, only, false)), ProtocolErrc::kMalformed) << field;
  }
}

TEST(PreKeySignalMessage, NumbersAbove32Bits) {
  Keys k;
  const Buf inner = Inner(k);
  for (std::uint32_t field : {1u, 5u, 6u}) {
    Buf proto = PreKeyProto(k, inner, field);
    ByteWriter extra;
    WriteVarintField(extra, field, 1ull << 32);
    proto.insert(proto.end(), extra.bytes().begin(), extra.bytes().end());
    EXPECT_EQ(PreKeyError(Frame(0x33, proto, false)), ProtocolErrc::kMalformed) << field;
  }
}

TEST(PreKeySignalMessage, InvalidProtobuf) {
  EXPECT_EQ(PreKeyError(Buf{0x33, 0x12, 0x50}), ProtocolErrc::kMalformed);
  EXPECT_EQ(PreKeyError(Buf{0x33, 0x0C}), ProtocolErrc::kMalformed);
}

TEST(PreKeySignalMessage, BadKeys) {
  Keys k;
  const Buf inner = Inner(k);
  for (std::uint32_t field : {2u, 3u}) {
    Buf proto = PreKeyProto(k, inner, field);
    ByteWriter extra;
    WriteBytesField(extra, field, Buf(33, 0x07));
    proto.insert(proto.end(), extra.bytes().begin(), extra.bytes().end());
    EXPECT_EQ(PreKeyError(Frame(0x33, proto, false)), ProtocolErrc::kInvalidMessageKey) << field;
  }
}

TEST(PreKeySignalMessage, InnerMessageErrorsPropagate) {
  Keys k;
  Buf legacy = Inner(k);
  legacy[0] = 0x22;
  EXPECT_EQ(PreKeyError(Frame(0x33, PreKeyProto(k, legacy), false)), ProtocolErrc::kLegacyVersion);
  EXPECT_EQ(PreKeyError(Frame(0x33, PreKeyProto(k, Buf(4, 0x33)), false)), ProtocolErrc::kMalformed);
}

}  // namespace
}  // namespace parley::protocol
