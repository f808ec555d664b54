// Safety numbers: libsignal-protocol-c's known vector (tests/test_fingerprint.c
// of libsignal-protocol-c 2.3.3: the two identity keys, the displayable
// number and both parties' serialized scannable fingerprints, version 1 and 0),
// symmetry, comparison, and every decoder error.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/byte_writer.h"
#include "base/hex.h"
#include "base/proto.h"
#include "base/rng.h"
#include "crypto/x25519.h"
#include "protocol/error.h"
#include "protocol/fingerprint.h"
#include "protocol/limits.h"

namespace parley::protocol {
namespace {

using Buf = std::vector<std::uint8_t>;

// From libsignal-protocol-c tests/test_fingerprint.c.
constexpr const char* kAliceIdentity = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868";
constexpr const char* kBobIdentity = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b";
constexpr const char* kDisplayable = "300354477692869396892869876765458257569162576843440918079131";
constexpr const char* kAliceScannableV1 =
    "080112220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df1a220a20d62cbf73a11592015b6b"
    "9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d";
constexpr const char* kBobScannableV1 =
    "080112220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d1a220a201e301a0353dce3dbe768"
    "4cb8336e85136cdc0ee96219494ada305d62a7bd61df";
constexpr const char* kAliceScannableV0 =
    "080012310a210506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868120c2b31343135323232323232"
    "32"
    "1a310a2105f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b120c2b3134313533333333333333";
constexpr const char* kAliceId = "+14152222222";
constexpr const char* kBobId = "+14153333333";

Buf Hex(std::string hex) {
  std::erase(hex, ' ');
  auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes ? *bytes : Buf{};
}

crypto::PublicKey Key(const char* hex) {
  auto key = crypto::PublicKey::Deserialize(Hex(hex));
  EXPECT_TRUE(key.has_value());
  return key ? *key : crypto::PublicKey();
}

class FingerprintTest : public ::testing::Test {
 protected:
  Fingerprint Make(const char* local_id, const crypto::PublicKey& local, const char* remote_id,
                   const crypto::PublicKey& remote, std::uint32_t iterations = kFingerprintIterations) {
    auto f = FingerprintGenerator(iterations).Create(local_id, local, remote_id, remote);
    EXPECT_TRUE(f.has_value());
    return f ? std::move(*f) : Fingerprint{"", ScannableFingerprint(0, {}, {})};
  }

  const crypto::PublicKey alice_ = Key(kAliceIdentity);
  const crypto::PublicKey bob_ = Key(kBobIdentity);
};

TEST_F(FingerprintTest, ReproducesLibsignalsKnownVector) {
  const Fingerprint alice = Make(kAliceId, alice_, kBobId, bob_);
  const Fingerprint bob = Make(kBobId, bob_, kAliceId, alice_);
  EXPECT_EQ(alice.displayable, kDisplayable);
  EXPECT_EQ(bob.displayable, kDisplayable);
  EXPECT_EQ(alice.scannable.Serialize(), Hex(kAliceScannableV1));
  EXPECT_EQ(bob.scannable.Serialize(), Hex(kBobScannableV1));
}

TEST_F(FingerprintTest, BothPartiesSeeTheSameSixtyDigits) {
  DeterministicRng rng(1);
  for (int i = 0; i < 4; ++i) {
    const crypto::PublicKey a = crypto::KeyPair::Generate(rng).public_key;
    const crypto::PublicKey b = crypto::KeyPair::Generate(rng).public_key;
    const Fingerprint fa = Make("alice", a, "bob", b, 1024);
    const Fingerprint fb = Make("bob", b, "alice", a, 1024);
    EXPECT_EQ(fa.displayable, fb.displayable);
    ASSERT_EQ(fa.displayable.size(), 60u);
    EXPECT_TRUE(std::all_of(fa.displayable.begin(), fa.displayable.end(),
                            [](char c) { return c >= '0' && c <= '9'; }));
    EXPECT_EQ(fa.scannable.Compare(fb.scannable), FingerprintMatch::kMatch);
    EXPECT_EQ(fb.scannable.Compare(fa.scannable), FingerprintMatch::kMatch);
  }
}

TEST_F(FingerprintTest, DisplayHalvesAreTheSortedPartyDigits) {
  const FingerprintGenerator generator;
  auto a = generator.PartyHash(kAliceId, alice_);
  auto b = generator.PartyHash(kBobId, bob_);
  ASSERT_TRUE(a.has_value() && b.has_value());
  const std::string da = DisplayDigits(*a);
  const std::string db = DisplayDigits(*b);
  EXPECT_EQ(std::min(da, db) + std::max(da, db), kDisplayable);
  // The scannable contents are the first 32 bytes of the same hashes.
  const Fingerprint f = Make(kAliceId, alice_, kBobId, bob_);
  EXPECT_TRUE(std::equal(f.scannable.local_content().begin(), f.scannable.local_content().end(), a->begin()));
  EXPECT_TRUE(
      std::equal(f.scannable.remote_content().begin(), f.scannable.remote_content().end(), b->begin()));
}

TEST_F(FingerprintTest, DigitGroupsKeepLeadingZeros) {
  std::array<std::uint8_t, 64> zeros{};
  EXPECT_EQ(DisplayDigits(zeros), std::string(30, '0'));
  std::array<std::uint8_t, 64> small{};
  small[4] = 7;  // first group's 5-byte number is 7
  EXPECT_EQ(DisplayDigits(small).substr(0, 5), "00007");
}

TEST_F(FingerprintTest, ScannableRoundTrips) {
  const Fingerprint f = Make(kAliceId, alice_, kBobId, bob_);
  auto parsed = ScannableFingerprint::Deserialize(f.scannable.Serialize());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->version(), kScannableFingerprintVersion);
  EXPECT_EQ(parsed->local_content(), f.scannable.local_content());
  EXPECT_EQ(parsed->remote_content(), f.scannable.remote_content());
  EXPECT_EQ(parsed->Serialize(), f.scannable.Serialize());
}

TEST_F(FingerprintTest, ScannedLibsignalFingerprintMatches) {
  const Fingerprint alice = Make(kAliceId, alice_, kBobId, bob_);
  auto scanned_from_bob = ScannableFingerprint::Deserialize(Hex(kBobScannableV1));
  ASSERT_TRUE(scanned_from_bob.has_value());
  EXPECT_EQ(alice.scannable.Compare(*scanned_from_bob), FingerprintMatch::kMatch);
  // Scanning one's own screen is not the other party's fingerprint.
  auto own = ScannableFingerprint::Deserialize(Hex(kAliceScannableV1));
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(alice.scannable.Compare(*own), FingerprintMatch::kIdentityMismatch);
}

TEST_F(FingerprintTest, AnotherKeyOrIdIsAnIdentityMismatch) {
  DeterministicRng rng(2);
  const crypto::PublicKey mitm = crypto::KeyPair::Generate(rng).public_key;
  const Fingerprint alice = Make(kAliceId, alice_, kBobId, bob_, 1024);
  const Fingerprint bob_sees_mitm = Make(kBobId, bob_, kAliceId, mitm, 1024);
  const Fingerprint mitm_as_bob = Make(kBobId, mitm, kAliceId, alice_, 1024);
  const Fingerprint other_id = Make("+14154444444", bob_, kAliceId, alice_, 1024);
  EXPECT_EQ(alice.scannable.Compare(bob_sees_mitm.scannable), FingerprintMatch::kIdentityMismatch);
  EXPECT_EQ(alice.scannable.Compare(mitm_as_bob.scannable), FingerprintMatch::kIdentityMismatch);
  EXPECT_EQ(alice.scannable.Compare(other_id.scannable), FingerprintMatch::kIdentityMismatch);
  EXPECT_NE(alice.displayable, bob_sees_mitm.displayable);
  EXPECT_NE(alice.displayable, mitm_as_bob.displayable);
}

TEST_F(FingerprintTest, LibsignalVersionZeroIsAVersionMismatch) {
  const Fingerprint bob = Make(kBobId, bob_, kAliceId, alice_);
  auto v0 = ScannableFingerprint::Deserialize(Hex(kAliceScannableV0));
  ASSERT_TRUE(v0.has_value());
  EXPECT_EQ(v0->version(), 0u);
  EXPECT_EQ(bob.scannable.Compare(*v0), FingerprintMatch::kVersionMismatch);
  const ScannableFingerprint v2(2, bob.scannable.remote_content(), bob.scannable.local_content());
  EXPECT_EQ(bob.scannable.Compare(v2), FingerprintMatch::kVersionMismatch);
}

TEST_F(FingerprintTest, IterationsAtTheLimitAndOnePast) {
  EXPECT_TRUE(FingerprintGenerator(1).Create("a", alice_, "b", bob_).has_value());
  EXPECT_TRUE(FingerprintGenerator(kMaxFingerprintIterations).Create("a", alice_, "b", bob_).has_value());
  for (std::uint32_t bad : {0u, kMaxFingerprintIterations + 1}) {
    auto f = FingerprintGenerator(bad).Create("a", alice_, "b", bob_);
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error().code, ProtocolErrc::kLimitExceeded);
  }
}

// ---- decoder errors ----

Buf Logical(const Buf& content) {
  ByteWriter w;
  WriteBytesField(w, 1, content);
  return w.Take();
}

Buf Combined(std::optional<std::uint64_t> version, std::optional<Buf> local, std::optional<Buf> remote,
             const Buf& extra = {}) {
  ByteWriter w;
  if (version) WriteVarintField(w, 1, *version);
  if (local) WriteBytesField(w, 2, *local);
  if (remote) WriteBytesField(w, 3, *remote);
  w.WriteBytes(extra);
  return w.Take();
}

void ExpectMalformed(const Buf& bytes) {
  auto parsed = ScannableFingerprint::Deserialize(bytes);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, ProtocolErrc::kMalformed);
}

TEST(ScannableFingerprintDecodeTest, TheBuilderMakesAValidFingerprint) {
  auto parsed =
      ScannableFingerprint::Deserialize(Combined(1, Logical(Buf(32, 1)), Logical(Buf(32, 2)), {0x20, 0}));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->version(), 1u);
  // A missing version is proto2's default, 0.
  auto unversioned =
      ScannableFingerprint::Deserialize(Combined(std::nullopt, Logical(Buf(32, 1)), Logical(Buf(32, 2))));
  ASSERT_TRUE(unversioned.has_value());
  EXPECT_EQ(unversioned->version(), 0u);
}

TEST(ScannableFingerprintDecodeTest, RejectsEmptyAndOversizedInput) {
  ExpectMalformed({});
  const Buf base = Combined(1, Logical(Buf(32, 1)), Logical(Buf(32, 2)));
  // An unknown field 5 pads to `total` bytes (3 bytes of framing at these sizes).
  auto padded = [&](std::size_t total) {
    ByteWriter w;
    w.WriteBytes(base);
    WriteBytesField(w, 5, Buf(total - base.size() - 3, 0));
    return w.Take();
  };
  ASSERT_EQ(padded(kMaxSerializedScannableFingerprintSize).size(), kMaxSerializedScannableFingerprintSize);
  EXPECT_TRUE(ScannableFingerprint::Deserialize(padded(kMaxSerializedScannableFingerprintSize)).has_value());
  ASSERT_EQ(padded(kMaxSerializedScannableFingerprintSize + 1).size(),
            kMaxSerializedScannableFingerprintSize + 1);
  ExpectMalformed(padded(kMaxSerializedScannableFingerprintSize + 1));
}

TEST(ScannableFingerprintDecodeTest, RejectsMissingParties) {
  ExpectMalformed(Combined(1, std::nullopt, Logical(Buf(32, 2))));
  ExpectMalformed(Combined(1, Logical(Buf(32, 1)), std::nullopt));
  ExpectMalformed(Combined(1, Buf{}, Logical(Buf(32, 2))));  // a party without content
  ExpectMalformed(Combined(1, Logical(Buf(32, 1)), Buf{0x12, 0x00}));
}

TEST(ScannableFingerprintDecodeTest, RejectsDuplicateAndMistypedFields) {
  const Buf local = Logical(Buf(32, 1));
  const Buf remote = Logical(Buf(32, 2));
  ExpectMalformed(Combined(1, local, remote, {0x08, 0x01}));                                 // version twice
  ExpectMalformed(Combined(1, local, remote, Combined(std::nullopt, local, std::nullopt)));  // local twice
  ExpectMalformed(Combined(std::nullopt, local, remote, {0x0A, 0x00}));  // version as bytes
  ExpectMalformed(Combined(1, local, remote, {0x18, 0x00}));             // remote as varint
  Buf two_contents = local;
  two_contents.insert(two_contents.end(), local.begin(), local.end());
  ExpectMalformed(Combined(1, two_contents, remote));
  ExpectMalformed(Combined(1, Buf{0x08, 0x01}, remote));  // content as varint
  ExpectMalformed(Combined(std::uint64_t{1} << 32, local, remote));
}

TEST(ScannableFingerprintDecodeTest, RejectsTruncationAndGarbage) {
  const Buf whole = Combined(1, Logical(Buf(32, 1)), Logical(Buf(32, 2)));
  for (std::size_t n = 0; n < whole.size(); ++n) ExpectMalformed(Buf(whole.begin(), whole.begin() + n));
  ExpectMalformed({0x12, 0x22, 0x0A});
  DeterministicRng rng(7);
  for (int i = 0; i < 200; ++i) {
    Buf bytes(static_cast<std::size_t>(i) + 1, 0);
    rng.Fill(bytes);
    auto parsed = ScannableFingerprint::Deserialize(bytes);
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ProtocolErrc::kMalformed);
    }
  }
}

}  // namespace
}  // namespace parley::protocol
