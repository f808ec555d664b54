// SenderKeyMessage and SenderKeyDistributionMessage: round trips and every
// decoder error case.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "base/rng.h"
#include "crypto/x25519.h"
#include "crypto/xeddsa.h"
#include "protocol/error.h"
#include "protocol/limits.h"
#include "protocol/sender_key_distribution_message.h"
#include "protocol/sender_key_message.h"

namespace parley::protocol {
namespace {

using Buf = std::vector<std::uint8_t>;

constexpr std::uint32_t kIdField = 1;
constexpr std::uint32_t kIterationField = 2;
constexpr std::uint32_t kChainKeyField = 3;
constexpr std::uint32_t kSigningKeyField = 4;
constexpr std::uint32_t kCiphertextField = 3;

SecretArray<kSenderChainKeySize> TestChainKey(std::uint8_t start) {
  SecretArray<kSenderChainKeySize> key;
  for (std::size_t i = 0; i < key.size(); ++i) key.bytes()[i] = static_cast<std::uint8_t>(start + i);
  return key;
}

// Builds a distribution message field by field, so tests can leave fields
// out, repeat them or give them the wrong size.
struct DistributionFields {
  std::uint8_t version = 0x33;
  std::optional<std::uint64_t> id = 7;
  std::optional<std::uint64_t> iteration = 9;
  std::optional<Buf> chain_key = Buf(32, 0xAB);
  std::optional<Buf> signing_key;
  Buf extra;  // appended after the fields

  Buf Encode() const {
    ByteWriter w;
    w.WriteU8(version);
    if (id) WriteVarintField(w, kIdField, *id);
    if (iteration) WriteVarintField(w, kIterationField, *iteration);
    if (chain_key) WriteBytesField(w, kChainKeyField, *chain_key);
    if (signing_key) WriteBytesField(w, kSigningKeyField, *signing_key);
    w.WriteBytes(extra);
    return w.Take();
  }
};

class SenderKeyDistributionMessageTest : public ::testing::Test {
 protected:
  SenderKeyDistributionMessageTest() : signing_(crypto::KeyPair::Generate(rng_)) {
    const auto key = signing_.public_key.Serialize();
    fields_.signing_key = Buf(key.begin(), key.end());
  }

  ProtocolErrc ErrorOf(const Buf& bytes) {
    auto parsed = SenderKeyDistributionMessage::Deserialize(bytes);
    EXPECT_FALSE(parsed.has_value());
    return parsed ? ProtocolErrc::kMalformed : parsed.error().code;
  }

  DeterministicRng rng_{11};
  crypto::KeyPair signing_;
  DistributionFields fields_;
};

TEST_F(SenderKeyDistributionMessageTest, RoundTrips) {
  const auto chain_key = TestChainKey(1);
  const auto message =
      SenderKeyDistributionMessage::Create(0x7FFFFFFF, 12345, chain_key, signing_.public_key);
  auto parsed = SenderKeyDistributionMessage::Deserialize(message.serialized());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->key_id(), 0x7FFFFFFFu);
  EXPECT_EQ(parsed->iteration(), 12345u);
  EXPECT_TRUE(std::equal(parsed->chain_key().bytes().begin(), parsed->chain_key().bytes().end(),
                         chain_key.bytes().begin()));
  EXPECT_EQ(parsed->signing_key(), signing_.public_key);
  EXPECT_TRUE(std::ranges::equal(parsed->serialized(), message.serialized()));
}

TEST_F(SenderKeyDistributionMessageTest, WritesEveryFieldEvenWhenZero) {
  // proto2 required fields: a zero id and iteration must still be on the wire.
  const auto message = SenderKeyDistributionMessage::Create(0, 0, TestChainKey(0), signing_.public_key);
  fields_.id = 0;
  fields_.iteration = 0;
  const auto zero_start = TestChainKey(0);
  fields_.chain_key = Buf(zero_start.bytes().begin(), zero_start.bytes().end());
  EXPECT_TRUE(std::ranges::equal(message.serialized(), fields_.Encode()));
}

TEST_F(SenderKeyDistributionMessageTest, AcceptsWellFormedFieldsAndSkipsUnknownOnes) {
  fields_.extra = {0x28, 0x01};  // field 5, varint 1
  auto parsed = SenderKeyDistributionMessage::Deserialize(fields_.Encode());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->key_id(), 7u);
  EXPECT_EQ(parsed->iteration(), 9u);
}

TEST_F(SenderKeyDistributionMessageTest, RejectsEmptyInput) {
  EXPECT_EQ(ErrorOf({}), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyDistributionMessageTest, RejectsLegacyVersions) {
  for (std::uint8_t v : {0x03, 0x13, 0x22, 0x23, 0x2F}) {
    fields_.version = v;
    EXPECT_EQ(ErrorOf(fields_.Encode()), ProtocolErrc::kLegacyVersion) << int{v};
  }
}

TEST_F(SenderKeyDistributionMessageTest, RejectsUnknownVersions) {
  for (std::uint8_t v : {0x43, 0x44, 0xF3, 0xFF}) {
    fields_.version = v;
    EXPECT_EQ(ErrorOf(fields_.Encode()), ProtocolErrc::kUnknownVersion) << int{v};
  }
}

TEST_F(SenderKeyDistributionMessageTest, RejectsAVersionByteAlone) {
  EXPECT_EQ(ErrorOf({0x33}), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyDistributionMessageTest, RejectsEachMissingField) {
  for (int missing = 0; missing < 4; ++missing) {
    DistributionFields f = fields_;
    if (missing == 0) f.id.reset();
    if (missing == 1) f.iteration.reset();
    if (missing == 2) f.chain_key.reset();
    if (missing == 3) f.signing_key.reset();
    EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kMalformed) << missing;
  }
}

TEST_F(SenderKeyDistributionMessageTest, RejectsDuplicateFields) {
  fields_.extra = {0x08, 0x07};  // id again
  EXPECT_EQ(ErrorOf(fields_.Encode()), ProtocolErrc::kMalformed);
  DistributionFields f = fields_;
  f.extra.clear();
  ByteWriter w;
  WriteBytesField(w, kChainKeyField, Buf(32, 1));
  f.extra = w.Take();
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyDistributionMessageTest, RejectsMistypedFields) {
  // id as a length-delimited field.
  DistributionFields f = fields_;
  f.id.reset();
  ByteWriter w;
  WriteBytesField(w, kIdField, Buf{1});
  f.extra = w.Take();
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kMalformed);
  // chain key as a varint.
  f = fields_;
  f.chain_key.reset();
  f.extra = {0x18, 0x01};
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyDistributionMessageTest, RejectsIdsAndIterationsBeyond32Bits) {
  DistributionFields f = fields_;
  f.id = std::uint64_t{1} << 32;
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kMalformed);
  f = fields_;
  f.iteration = std::uint64_t{1} << 32;
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kMalformed);
  f.iteration = 0xFFFFFFFFu;
  EXPECT_TRUE(SenderKeyDistributionMessage::Deserialize(f.Encode()).has_value());
}

TEST_F(SenderKeyDistributionMessageTest, RejectsChainKeysOfTheWrongLength) {
  for (std::size_t n : {0, 31, 33, 64}) {
    DistributionFields f = fields_;
    f.chain_key = Buf(n, 0x11);
    EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kInvalidMessageKey) << n;
  }
}

TEST_F(SenderKeyDistributionMessageTest, RejectsMalformedSigningKeys) {
  DistributionFields f = fields_;
  f.signing_key->pop_back();  // 32 bytes
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kInvalidMessageKey);
  f = fields_;
  f.signing_key->push_back(0);  // 34 bytes
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kInvalidMessageKey);
  f = fields_;
  (*f.signing_key)[0] = 0x06;  // wrong type byte
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kInvalidMessageKey);
  f = fields_;
  f.signing_key = Buf(signing_.public_key.raw().begin(), signing_.public_key.raw().end());  // raw 32 bytes
  EXPECT_EQ(ErrorOf(f.Encode()), ProtocolErrc::kInvalidMessageKey);
}

TEST_F(SenderKeyDistributionMessageTest, RejectsTruncatedInput) {
  const Buf whole = fields_.Encode();
  for (std::size_t n = 0; n < whole.size(); ++n) {
    auto parsed = SenderKeyDistributionMessage::Deserialize(Bytes(whole).first(n));
    EXPECT_FALSE(parsed.has_value()) << n;
  }
}

TEST_F(SenderKeyDistributionMessageTest, RejectsInputOverTheSizeCap) {
  // Pad with an unknown length-delimited field to exactly the cap, then one more.
  Buf base = fields_.Encode();
  auto padded = [&](std::size_t total) {
    // field 15 (tag 0x7A) with a 3-byte length: 4 bytes of framing.
    const std::size_t body = total - base.size() - 4;
    Buf out = base;
    out.push_back(0x7A);
    out.push_back(static_cast<std::uint8_t>(0x80 | (body & 0x7F)));
    out.push_back(static_cast<std::uint8_t>(0x80 | ((body >> 7) & 0x7F)));
    out.push_back(static_cast<std::uint8_t>(body >> 14));
    out.resize(total, 0);
    return out;
  };
  EXPECT_TRUE(SenderKeyDistributionMessage::Deserialize(padded(kMaxSerializedMessageSize)).has_value());
  EXPECT_EQ(ErrorOf(padded(kMaxSerializedMessageSize + 1)), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyDistributionMessageTest, RejectsGarbage) {
  DeterministicRng garbage(5);
  for (int i = 0; i < 200; ++i) {
    Buf bytes(1 + static_cast<std::size_t>(i), 0);
    garbage.Fill(bytes);
    bytes[0] = 0x33;
    EXPECT_FALSE(SenderKeyDistributionMessage::Deserialize(bytes).has_value());
  }
}

// ---- SenderKeyMessage ----

class SenderKeyMessageTest : public ::testing::Test {
 protected:
  SenderKeyMessageTest()
      : signing_(crypto::KeyPair::Generate(rng_)), other_(crypto::KeyPair::Generate(rng_)) {}

  // version ‖ fields ‖ signature over them by signing_.
  Buf Signed(std::uint8_t version, const Buf& fields) {
    Buf out{version};
    out.insert(out.end(), fields.begin(), fields.end());
    const crypto::Signature sig = crypto::XEdDsaSign(signing_.private_key, out, rng_);
    out.insert(out.end(), sig.begin(), sig.end());
    return out;
  }

  static Buf Fields(std::optional<std::uint64_t> id, std::optional<std::uint64_t> iteration,
                    std::optional<Buf> ciphertext) {
    ByteWriter w;
    if (id) WriteVarintField(w, kIdField, *id);
    if (iteration) WriteVarintField(w, kIterationField, *iteration);
    if (ciphertext) WriteBytesField(w, kCiphertextField, *ciphertext);
    return w.Take();
  }

  ProtocolErrc ErrorOf(const Buf& bytes) {
    auto parsed = SenderKeyMessage::Deserialize(bytes);
    EXPECT_FALSE(parsed.has_value());
    return parsed ? ProtocolErrc::kMalformed : parsed.error().code;
  }

  DeterministicRng rng_{21};
  crypto::KeyPair signing_;
  crypto::KeyPair other_;
};

TEST_F(SenderKeyMessageTest, RoundTripsAndVerifies) {
  const Buf ciphertext(48, 0x5A);
  const auto message = SenderKeyMessage::Create(42, 7, ciphertext, signing_.private_key, rng_);
  EXPECT_EQ(message.serialized()[0], 0x33);
  auto parsed = SenderKeyMessage::Deserialize(message.serialized());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->key_id(), 42u);
  EXPECT_EQ(parsed->iteration(), 7u);
  EXPECT_TRUE(std::ranges::equal(parsed->ciphertext(), ciphertext));
  EXPECT_EQ(parsed->serialized(), message.serialized());
  EXPECT_TRUE(parsed->VerifySignature(signing_.public_key).has_value());
}

TEST_F(SenderKeyMessageTest, LayoutIsVersionFieldsSignature) {
  const Buf ciphertext(16, 0x01);
  const auto message = SenderKeyMessage::Create(0, 0, ciphertext, signing_.private_key, rng_);
  const Buf fields = Fields(0, 0, ciphertext);
  const Buf& bytes = message.serialized();
  ASSERT_EQ(bytes.size(), 1 + fields.size() + crypto::kSignatureSize);
  EXPECT_TRUE(std::equal(fields.begin(), fields.end(), bytes.begin() + 1));
  EXPECT_TRUE(crypto::XEdDsaVerify(signing_.public_key, Bytes(bytes).first(1 + fields.size()),
                                   Bytes(bytes).subspan(1 + fields.size())));
}

TEST_F(SenderKeyMessageTest, SignatureByAnotherKeyFails) {
  const auto message = SenderKeyMessage::Create(1, 2, Buf(16, 3), signing_.private_key, rng_);
  auto verified = message.VerifySignature(other_.public_key);
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(verified.error().code, ProtocolErrc::kInvalidSignature);
}

TEST_F(SenderKeyMessageTest, AnyFlippedBitBreaksTheSignature) {
  const auto message = SenderKeyMessage::Create(1, 2, Buf(16, 3), signing_.private_key, rng_);
  const Buf original = message.serialized();
  for (std::size_t i = 1; i < original.size(); ++i) {
    Buf tampered = original;
    tampered[i] ^= 0x01;
    auto parsed = SenderKeyMessage::Deserialize(tampered);
    if (!parsed) continue;  // some flips break the protobuf itself
    auto verified = parsed->VerifySignature(signing_.public_key);
    ASSERT_FALSE(verified.has_value()) << i;
    EXPECT_EQ(verified.error().code, ProtocolErrc::kInvalidSignature);
  }
}

TEST_F(SenderKeyMessageTest, RejectsEmptyInput) { EXPECT_EQ(ErrorOf({}), ProtocolErrc::kMalformed); }

TEST_F(SenderKeyMessageTest, RejectsLegacyAndUnknownVersions) {
  const Buf fields = Fields(1, 2, Buf(16, 3));
  EXPECT_EQ(ErrorOf(Signed(0x23, fields)), ProtocolErrc::kLegacyVersion);
  EXPECT_EQ(ErrorOf(Signed(0x03, fields)), ProtocolErrc::kLegacyVersion);
  EXPECT_EQ(ErrorOf(Signed(0x43, fields)), ProtocolErrc::kUnknownVersion);
  EXPECT_EQ(ErrorOf(Signed(0xF3, fields)), ProtocolErrc::kUnknownVersion);
}

TEST_F(SenderKeyMessageTest, RejectsInputWithoutRoomForFieldsAndSignature) {
  EXPECT_EQ(ErrorOf({0x33}), ProtocolErrc::kMalformed);
  EXPECT_EQ(ErrorOf(Buf(1 + crypto::kSignatureSize, 0x33)), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyMessageTest, RejectsEachMissingField) {
  EXPECT_EQ(ErrorOf(Signed(0x33, Fields(std::nullopt, 2, Buf(16, 3)))), ProtocolErrc::kMalformed);
  EXPECT_EQ(ErrorOf(Signed(0x33, Fields(1, std::nullopt, Buf(16, 3)))), ProtocolErrc::kMalformed);
  EXPECT_EQ(ErrorOf(Signed(0x33, Fields(1, 2, std::nullopt))), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyMessageTest, RejectsDuplicateAndMistypedFields) {
  Buf dup = Fields(1, 2, Buf(16, 3));
  dup.insert(dup.end(), {0x10, 0x05});  // iteration again
  EXPECT_EQ(ErrorOf(Signed(0x33, dup)), ProtocolErrc::kMalformed);

  Buf mistyped = Fields(std::nullopt, 2, Buf(16, 3));
  ByteWriter w;
  WriteBytesField(w, kIdField, Buf{1});
  const Buf id_as_bytes = w.Take();
  mistyped.insert(mistyped.end(), id_as_bytes.begin(), id_as_bytes.end());
  EXPECT_EQ(ErrorOf(Signed(0x33, mistyped)), ProtocolErrc::kMalformed);

  Buf ciphertext_as_varint = Fields(1, 2, std::nullopt);
  ciphertext_as_varint.insert(ciphertext_as_varint.end(), {0x18, 0x01});
  EXPECT_EQ(ErrorOf(Signed(0x33, ciphertext_as_varint)), ProtocolErrc::kMalformed);

  EXPECT_EQ(ErrorOf(Signed(0x33, Fields(std::uint64_t{1} << 32, 2, Buf(16, 3)))), ProtocolErrc::kMalformed);
  EXPECT_EQ(ErrorOf(Signed(0x33, Fields(1, std::uint64_t{1} << 32, Buf(16, 3)))), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyMessageTest, RejectsABrokenProtobuf) {
  // A length prefix that runs past the end of the fields.
  Buf fields = Fields(1, 2, std::nullopt);
  fields.insert(fields.end(), {0x1A, 0x7F, 0x00});
  EXPECT_EQ(ErrorOf(Signed(0x33, fields)), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyMessageTest, RejectsTruncatedInput) {
  const auto message = SenderKeyMessage::Create(1, 2, Buf(32, 3), signing_.private_key, rng_);
  const Buf& whole = message.serialized();
  for (std::size_t n = 0; n < whole.size(); ++n) {
    auto parsed = SenderKeyMessage::Deserialize(Bytes(whole).first(n));
    // A cut that still parses has lost part of its signature or body.
    if (parsed) {
      EXPECT_FALSE(parsed->VerifySignature(signing_.public_key).has_value()) << n;
    }
  }
}

TEST_F(SenderKeyMessageTest, SizeCapAtTheLimitAndOnePast) {
  const std::size_t framing = 1 + Fields(1, 2, Buf{}).size() + crypto::kSignatureSize;
  // The ciphertext's length prefix grows from 1 to 3 bytes.
  const std::size_t at_limit = kMaxSerializedMessageSize - framing - 2;
  const auto fits = SenderKeyMessage::Create(1, 2, Buf(at_limit, 0), signing_.private_key, rng_);
  ASSERT_EQ(fits.serialized().size(), kMaxSerializedMessageSize);
  EXPECT_TRUE(SenderKeyMessage::Deserialize(fits.serialized()).has_value());
  const auto over = SenderKeyMessage::Create(1, 2, Buf(at_limit + 1, 0), signing_.private_key, rng_);
  ASSERT_EQ(over.serialized().size(), kMaxSerializedMessageSize + 1);
  EXPECT_EQ(ErrorOf(over.serialized()), ProtocolErrc::kMalformed);
}

TEST_F(SenderKeyMessageTest, RejectsGarbage) {
  DeterministicRng garbage(9);
  for (int i = 0; i < 200; ++i) {
    Buf bytes(1 + static_cast<std::size_t>(i), 0);
    garbage.Fill(bytes);
    bytes[0] = 0x33;
    auto parsed = SenderKeyMessage::Deserialize(bytes);
    if (parsed) {
      EXPECT_FALSE(parsed->VerifySignature(signing_.public_key).has_value());
    }
  }
}

}  // namespace
}  // namespace parley::protocol
