// SessionRecord storage format: round trips and every malformed case.
#include "protocol/session_record.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "protocol/limits.h"
#include "test_party.h"

namespace parley::protocol {
namespace {

using Buf = std::vector<std::uint8_t>;
using testing::TestParty;

struct Field {
  std::uint32_t number;
  WireType type;
  std::uint64_t value;
  Buf bytes;
};

std::vector<Field> Split(Bytes data) {
  std::vector<Field> out;
  ProtoReader r(data);
  ProtoField f;
  while (r.Next(f)) out.push_back(Field{f.number, f.type, f.value, Buf(f.bytes.begin(), f.bytes.end())});
  EXPECT_FALSE(r.failed());
  return out;
}

Buf Join(const std::vector<Field>& fields) {
  ByteWriter w;
  for (const auto& f : fields) {
    if (f.type == WireType::kVarint) {
      WriteVarintField(w, f.number, f.value);
    } else {
      WriteBytesField(w, f.number, f.bytes);
    }
  }
  return w.Take();
}

Field* Find(std::vector<Field>& fields, std::uint32_t number) {
  for (auto& f : fields) {
    if (f.number == number) return &f;
  }
  return nullptr;
}

// A record with a current state holding receiver chains with skipped keys, a
// pending prekey, and one previous state.
class SessionRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(alice.StartSession(bob));
    auto m0 = alice.Encrypt(bob, "0");
    auto m1 = alice.Encrypt(bob, "1");
    auto m2 = alice.Encrypt(bob, "2");
    ASSERT_TRUE(bob.Decrypt(alice, *m2));  // two skipped keys on Bob's side
    ASSERT_TRUE(alice.StartSession(bob, 2));
    auto n0 = alice.Encrypt(bob, "new");
    ASSERT_TRUE(bob.Decrypt(alice, *n0));  // Bob: current + one previous state
    record_bytes = bob.SessionBytes(alice);
    alice_bytes = alice.SessionBytes(bob);  // has a pending prekey
  }

  // The record with its current state's fields edited by edit.
  Buf EditCurrent(const std::function<void(std::vector<Field>&)>& edit, const Buf& base) {
    auto record = Split(base);
    Field* current = Find(record, 2);
    EXPECT_NE(current, nullptr);
    auto state = Split(current->bytes);
    edit(state);
    current->bytes = Join(state);
    return Join(record);
  }

  // The record with the first receiver chain of its current state edited.
  Buf EditChain(const std::function<void(std::vector<Field>&)>& edit) {
    return EditCurrent(
        [&](std::vector<Field>& state) {
          Field* chain = Find(state, 12);
          ASSERT_NE(chain, nullptr);
          auto fields = Split(chain->bytes);
          edit(fields);
          chain->bytes = Join(fields);
        },
        record_bytes);
  }

  Buf EditPending(const std::function<void(std::vector<Field>&)>& edit) {
    return EditCurrent(
        [&](std::vector<Field>& state) {
          Field* pending = Find(state, 13);
          ASSERT_NE(pending, nullptr);
          auto fields = Split(pending->bytes);
          edit(fields);
          pending->bytes = Join(fields);
        },
        alice_bytes);
  }

  static void ExpectInvalid(const Buf& bytes, const char* what) {
    auto r = SessionRecord::Deserialize(bytes);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, ProtocolErrc::kInvalidState) << what;
  }

  TestParty alice{"alice", 11};
  TestParty bob{"bob", 12};
  Buf record_bytes;
  Buf alice_bytes;
};

TEST_F(SessionRecordTest, RoundTrips) {
  for (const Buf* bytes : {&record_bytes, &alice_bytes}) {
    auto r = SessionRecord::Deserialize(*bytes);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->Serialize(), *bytes);
  }
  auto r = SessionRecord::Deserialize(record_bytes);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has_current_state());
  EXPECT_EQ(r->previous_states().size(), 1u);
  EXPECT_EQ(r->previous_states()[0].receiver_chains.back().skipped.size(), 2u);
  auto a = SessionRecord::Deserialize(alice_bytes);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->current_state()->pending_prekey.has_value());
  EXPECT_EQ(a->current_state()->pending_prekey->prekey_id, PreKeyId(2));
}

TEST_F(SessionRecordTest, EmptyRecordRoundTrips) {
  const SessionRecord empty;
  const Buf bytes = empty.Serialize();
  auto r = SessionRecord::Deserialize(bytes);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_current_state());
  EXPECT_TRUE(r->previous_states().empty());
}

TEST_F(SessionRecordTest, FormatVersion) {
  ExpectInvalid({}, "empty");
  auto fields = Split(record_bytes);
  fields[0].value = 2;
  ExpectInvalid(Join(fields), "unknown version");
  fields = Split(record_bytes);
  std::swap(fields[0], fields[1]);
  ExpectInvalid(Join(fields), "version not first");
  fields = Split(record_bytes);
  fields[0].type = WireType::kLengthDelimited;
  fields[0].bytes = {1};
  ExpectInvalid(Join(fields), "version of the wrong type");
}

TEST_F(SessionRecordTest, RecordLevelErrors) {
  auto fields = Split(record_bytes);
  fields.push_back(Field{4, WireType::kLengthDelimited, 0, {1}});
  ExpectInvalid(Join(fields), "unknown record field");
  fields = Split(record_bytes);
  fields.push_back(Field{3, WireType::kVarint, 1, {}});
  ExpectInvalid(Join(fields), "previous state of the wrong type");
  fields = Split(record_bytes);
  fields.push_back(fields[1]);
  ExpectInvalid(Join(fields), "current state after a previous one");
  Buf truncated = record_bytes;
  truncated.pop_back();
  ExpectInvalid(truncated, "truncated");
}

TEST_F(SessionRecordTest, PreviousStatesAtAndPastTheLimit) {
  auto fields = Split(record_bytes);
  const Field previous = *Find(fields, 3);
  while (fields.size() < 1 + 1 + kMaxArchivedStates) fields.push_back(previous);
  auto at_limit = SessionRecord::Deserialize(Join(fields));
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->previous_states().size(), kMaxArchivedStates);
  fields.push_back(previous);
  ExpectInvalid(Join(fields), "41 previous states");
}

TEST_F(SessionRecordTest, StateFieldErrors) {
  for (std::uint32_t n = 1; n <= 11; ++n) {
    ExpectInvalid(
        EditCurrent(
            [&](std::vector<Field>& s) { std::erase_if(s, [&](const Field& f) { return f.number == n; }); },
            record_bytes),
        "missing state field");
    ExpectInvalid(EditCurrent([&](std::vector<Field>& s) { s.push_back(*Find(s, n)); }, record_bytes),
                  "repeated state field");
  }
  ExpectInvalid(EditCurrent(
                    [](std::vector<Field>& s) {
                      s.push_back(Field{14, WireType::kVarint, 1, {}});
                    },
                    record_bytes),
                "unknown state field");
  ExpectInvalid(EditCurrent(
                    [](std::vector<Field>& s) {
                      s.push_back(Field{40, WireType::kVarint, 1, {}});
                    },
                    record_bytes),
                "large unknown state field number");
  for (std::uint32_t key_field : {1u, 2u, 5u, 8u}) {
    ExpectInvalid(
        EditCurrent([&](std::vector<Field>& s) { Find(s, key_field)->bytes[0] = 0x07; }, record_bytes),
        "public key of the wrong type");
  }
  for (std::uint32_t secret_field : {6u, 7u, 9u}) {
    ExpectInvalid(
        EditCurrent([&](std::vector<Field>& s) { Find(s, secret_field)->bytes.pop_back(); }, record_bytes),
        "secret of the wrong length");
  }
  ExpectInvalid(EditCurrent([](std::vector<Field>& s) { Find(s, 10)->value = 1ull << 32; }, record_bytes),
                "index above 32 bits");
  ExpectInvalid(EditCurrent(
                    [](std::vector<Field>& s) {
                      Field* f = Find(s, 3);
                      f->type = WireType::kLengthDelimited;
                      f->bytes = {1};
                    },
                    record_bytes),
                "registration id of the wrong type");
  ExpectInvalid(EditCurrent(
                    [](std::vector<Field>& s) {
                      Field* f = Find(s, 12);
                      f->type = WireType::kVarint;
                      f->value = 1;
                    },
                    record_bytes),
                "receiver chain of the wrong type");
}

TEST_F(SessionRecordTest, ReceiverChainsAtAndPastTheLimit) {
  auto with_chains = [&](std::size_t count) {
    return EditCurrent(
        [&](std::vector<Field>& s) {
          const Field chain = *Find(s, 12);
          std::erase_if(s, [](const Field& f) { return f.number == 12; });
          for (std::size_t i = 0; i < count; ++i) s.push_back(chain);
        },
        record_bytes);
  };
  EXPECT_TRUE(SessionRecord::Deserialize(with_chains(kMaxReceiverChains)));
  ExpectInvalid(with_chains(kMaxReceiverChains + 1), "six receiver chains");
}

TEST_F(SessionRecordTest, ReceiverChainErrors) {
  for (std::uint32_t n = 1; n <= 4; ++n) {
    ExpectInvalid(EditChain([&](std::vector<Field>& c) {
                    std::erase_if(c, [&](const Field& f) { return f.number == n; });
                  }),
                  "missing chain field");
    ExpectInvalid(EditChain([&](std::vector<Field>& c) { c.push_back(*Find(c, n)); }),
                  "repeated chain field");
  }
  ExpectInvalid(EditChain([](std::vector<Field>& c) {
                  c.push_back(Field{5, WireType::kVarint, 0, {}});
                }),
                "unknown chain field");
  ExpectInvalid(EditChain([](std::vector<Field>& c) { Find(c, 1)->bytes.push_back(0); }),
                "chain key of 34 bytes");
  ExpectInvalid(EditChain([](std::vector<Field>& c) { Find(c, 2)->bytes.push_back(0); }),
                "chain key of 33 bytes");
  ExpectInvalid(EditChain([](std::vector<Field>& c) { Find(c, 4)->bytes.push_back(0); }),
                "skipped keys not a multiple of 36 bytes");
}

// A chain whose skipped keys are given as (counter) list, with index.
Buf SkippedBytes(const std::vector<std::uint32_t>& counters) {
  ByteWriter w;
  for (std::uint32_t c : counters) {
    w.WriteU32BE(c);
    w.WriteBytes(Buf(32, 0x42));
  }
  return w.Take();
}

TEST_F(SessionRecordTest, SkippedKeyErrors) {
  auto with = [&](std::uint32_t index, const std::vector<std::uint32_t>& counters) {
    return EditChain([&](std::vector<Field>& c) {
      Find(c, 3)->value = index;
      Find(c, 4)->bytes = SkippedBytes(counters);
    });
  };
  EXPECT_TRUE(SessionRecord::Deserialize(with(10, {1, 5, 9})));
  ExpectInvalid(with(10, {1, 10}), "skipped key at the chain index");
  ExpectInvalid(with(10, {5, 5}), "repeated skipped key");
  ExpectInvalid(with(10, {6, 5}), "skipped keys out of order");
  std::vector<std::uint32_t> many(kMaxMessageKeysPerChain);
  for (std::uint32_t i = 0; i < many.size(); ++i) many[i] = i;
  EXPECT_TRUE(SessionRecord::Deserialize(with(5000, many)));
  many.push_back(static_cast<std::uint32_t>(many.size()));
  ExpectInvalid(with(5000, many), "2001 skipped keys");
}

TEST_F(SessionRecordTest, PendingPreKeyErrors) {
  EXPECT_TRUE(SessionRecord::Deserialize(EditPending(
      [](std::vector<Field>& p) { std::erase_if(p, [](const Field& f) { return f.number == 1; }); })));
  for (std::uint32_t n : {2u, 3u}) {
    ExpectInvalid(EditPending([&](std::vector<Field>& p) {
                    std::erase_if(p, [&](const Field& f) { return f.number == n; });
                  }),
                  "missing pending field");
  }
  for (std::uint32_t n : {1u, 2u, 3u}) {
    ExpectInvalid(EditPending([&](std::vector<Field>& p) { p.push_back(*Find(p, n)); }),
                  "repeated pending field");
  }
  ExpectInvalid(EditPending([](std::vector<Field>& p) {
                  p.push_back(Field{4, WireType::kVarint, 0, {}});
                }),
                "unknown pending field");
  ExpectInvalid(EditPending([](std::vector<Field>& p) { Find(p, 3)->bytes.resize(32); }), "short base key");
  ExpectInvalid(EditPending([](std::vector<Field>& p) { Find(p, 2)->value = 1ull << 33; }),
                "id above 32 bits");
}

}  // namespace
}  // namespace parley::protocol
