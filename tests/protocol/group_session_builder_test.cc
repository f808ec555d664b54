// GroupSessionBuilder: creating our own sender key and processing others'.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <span>

#include "base/rng.h"
#include "protocol/error.h"
#include "protocol/group_cipher.h"
#include "protocol/group_session_builder.h"
#include "protocol/sender_key_store.h"

namespace parley::protocol {
namespace {

const SenderKeyName kOwn{"g", ProtocolAddress{"alice", DeviceId(2)}};
const SenderKeyName kPeer{"g", ProtocolAddress{"bob", DeviceId(1)}};

TEST(GroupSessionBuilderTest, CreatesOneSenderKeyAndReportsItsCurrentIteration) {
  DeterministicRng rng(1);
  InMemorySenderKeyStore store;
  GroupSessionBuilder builder(store, rng);
  auto first = builder.CreateDistribution(kOwn);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->iteration(), 0u);
  EXPECT_LE(first->key_id(), 0x7FFFFFFFu);

  auto again = builder.CreateDistribution(kOwn);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->key_id(), first->key_id());
  EXPECT_EQ(again->signing_key(), first->signing_key());
  EXPECT_TRUE(std::ranges::equal(again->serialized(), first->serialized()));

  ASSERT_TRUE(GroupCipher(store, kOwn, rng).Encrypt(std::span<const std::uint8_t>()).has_value());
  auto after = builder.CreateDistribution(kOwn);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->key_id(), first->key_id());
  EXPECT_EQ(after->iteration(), 1u);
  EXPECT_TRUE(std::ranges::equal(after->chain_key().bytes(),
                                 SenderChainKey(0, first->chain_key()).Next().key().bytes()));
}

TEST(GroupSessionBuilderTest, StoresTheSigningPrivateKeyOnlyForOurOwnChain) {
  DeterministicRng rng(2);
  InMemorySenderKeyStore store;
  auto own = GroupSessionBuilder(store, rng).CreateDistribution(kOwn);
  ASSERT_TRUE(own.has_value());
  auto record = store.LoadSenderKey(kOwn);
  ASSERT_TRUE(record.has_value() && record->has_value());
  ASSERT_TRUE((*record)->NewestState()->signing_private().has_value());
  EXPECT_EQ((*record)->NewestState()->signing_private()->DerivePublic(), own->signing_key());

  InMemorySenderKeyStore peer_store;
  ASSERT_TRUE(GroupSessionBuilder(peer_store, rng).Process(kOwn, *own).has_value());
  auto received = peer_store.LoadSenderKey(kOwn);
  ASSERT_TRUE(received.has_value() && received->has_value());
  const SenderKeyState& state = *(*received)->NewestState();
  EXPECT_FALSE(state.signing_private().has_value());
  EXPECT_EQ(state.key_id(), own->key_id());
  EXPECT_EQ(state.chain_key().iteration(), own->iteration());
  EXPECT_TRUE(std::ranges::equal(state.chain_key().key().bytes(), own->chain_key().bytes()));
}

// An Rng that always returns 0xFF bytes: the key id must still fit 31 bits.
class AllOnesRng final : public Rng {
 public:
  void Fill(std::span<std::uint8_t> out) override { std::ranges::fill(out, 0xFF); }
};

TEST(GroupSessionBuilderTest, KeyIdsAreThirtyOneBits) {
  AllOnesRng rng;
  InMemorySenderKeyStore store;
  auto d = GroupSessionBuilder(store, rng).CreateDistribution(kOwn);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->key_id(), 0x7FFFFFFFu);
}

TEST(GroupSessionBuilderTest, DifferentGroupsGetDifferentSenderKeys) {
  DeterministicRng rng(3);
  InMemorySenderKeyStore store;
  GroupSessionBuilder builder(store, rng);
  auto a = builder.CreateDistribution(kOwn);
  auto b = builder.CreateDistribution(SenderKeyName{"other", kOwn.sender});
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_FALSE(a->signing_key() == b->signing_key());
}

// A store whose every operation fails.
class FailingStore final : public SenderKeyStore {
 public:
  ProtocolResult<std::optional<SenderKeyRecord>> LoadSenderKey(const SenderKeyName&) override {
    if (fail_load) return Fail(ProtocolErrc::kStorageFailed, "load failed");
    return std::optional<SenderKeyRecord>();
  }
  ProtocolResult<void> StoreSenderKey(const SenderKeyName&, const SenderKeyRecord&) override {
    return Fail(ProtocolErrc::kStorageFailed, "store failed");
  }
  bool fail_load = true;
};

TEST(GroupSessionBuilderTest, StoreErrorsAreReturned) {
  DeterministicRng rng(4);
  InMemorySenderKeyStore good;
  auto d = GroupSessionBuilder(good, rng).CreateDistribution(kPeer);
  ASSERT_TRUE(d.has_value());

  FailingStore store;
  for (bool fail_load : {true, false}) {
    store.fail_load = fail_load;
    auto created = GroupSessionBuilder(store, rng).CreateDistribution(kOwn);
    ASSERT_FALSE(created.has_value());
    EXPECT_EQ(created.error().code, ProtocolErrc::kStorageFailed);
    auto processed = GroupSessionBuilder(store, rng).Process(kPeer, *d);
    ASSERT_FALSE(processed.has_value());
    EXPECT_EQ(processed.error().code, ProtocolErrc::kStorageFailed);
  }
}

TEST(InMemorySenderKeyStoreTest, KeysByGroupAndFullAddress) {
  DeterministicRng rng(5);
  InMemorySenderKeyStore store;
  ASSERT_TRUE(GroupSessionBuilder(store, rng).CreateDistribution(kOwn).has_value());
  for (const SenderKeyName& other :
       {SenderKeyName{"h", kOwn.sender}, SenderKeyName{"g", ProtocolAddress{"alice", DeviceId(1)}},
        SenderKeyName{"g", ProtocolAddress{"alicf", DeviceId(2)}}}) {
    auto loaded = store.LoadSenderKey(other);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_FALSE(loaded->has_value());
  }
  auto loaded = store.LoadSenderKey(kOwn);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->has_value());
}

}  // namespace
}  // namespace parley::protocol
