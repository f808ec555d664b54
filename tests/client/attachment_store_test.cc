// The client store's attachment rows: kept with their message, the path set
// once downloaded, gone with the message on expiry and delete-for-everyone,
// and kept across reopening (schema migration 2).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "base/clock.h"
#include "store/client_store.h"

namespace parley::store {
namespace {

class AttachmentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-attachment-store-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto key = KeyFromFile(dir_ / "key");
    ASSERT_TRUE(key);
    key_ = *key;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ClientStore> Open() {
    auto store = ClientStore::Open(dir_ / "parley.db", key_, clock_);
    EXPECT_TRUE(store);
    return store ? std::move(*store) : nullptr;
  }

  static StoredMessage Message(std::uint8_t n, std::int64_t expires_at_ms = 0) {
    StoredMessage m;
    m.id[0] = n;
    m.conversation = "00000000-0000-4000-8000-000000000001";
    m.sender = AccountId(*Uuid::Parse(m.conversation));
    m.sender_device = DeviceId(1);
    m.body = "caption";
    m.expires_at_ms = expires_at_ms;
    return m;
  }

  std::filesystem::path dir_;
  ClientStoreKey key_;
  ManualClock clock_{1'000'000};
};

TEST_F(AttachmentStoreTest, PointerAndPathAreKeptWithTheMessage) {
  const std::vector<std::uint8_t> pointer = {1, 2, 3, 4, 5};
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->InsertMessage(Message(1)));
    auto none = store->FindAttachment(Message(1).id);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(store->SaveAttachment(Message(1).id, pointer));
    auto path = store->SetAttachmentPath(Message(2).id, "/nowhere");
    ASSERT_FALSE(path);
    EXPECT_EQ(path.error().code, ClientStoreErrc::kNotFound);
    ASSERT_TRUE(store->SetAttachmentPath(Message(1).id, "/data/attachments/photo.jpg"));
  }
  auto store = Open();
  ASSERT_TRUE(store);
  auto found = store->FindAttachment(Message(1).id);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ(std::vector<std::uint8_t>((*found)->pointer.bytes().begin(), (*found)->pointer.bytes().end()),
            pointer);
  EXPECT_EQ((*found)->path, "/data/attachments/photo.jpg");
}

TEST_F(AttachmentStoreTest, GoneWithExpiryAndDeleteForEveryone) {
  auto store = Open();
  ASSERT_TRUE(store);
  const std::vector<std::uint8_t> pointer = {9};
  ASSERT_TRUE(store->InsertMessage(Message(1, 2'000'000)));
  ASSERT_TRUE(store->InsertMessage(Message(2)));
  ASSERT_TRUE(store->InsertMessage(Message(3)));
  for (std::uint8_t n : {1, 2, 3}) ASSERT_TRUE(store->SaveAttachment(Message(n).id, pointer));
  auto expired = store->DeleteExpiredMessages(2'000'000);
  ASSERT_TRUE(expired);
  EXPECT_EQ(*expired, 1u);
  ASSERT_TRUE(store->DeleteMessageForEveryone(Message(2).id));
  auto one = store->FindAttachment(Message(1).id);
  auto two = store->FindAttachment(Message(2).id);
  auto three = store->FindAttachment(Message(3).id);
  ASSERT_TRUE(one && two && three);
  EXPECT_FALSE(one->has_value());
  EXPECT_FALSE(two->has_value());
  EXPECT_TRUE(three->has_value());
}

}  // namespace
}  // namespace parley::store
