#include "server/admin_commands.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "base/hex.h"
#include "store/sqlite_server_store.h"

namespace parley::server {
namespace {

class AdminCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-admin-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto opened =
        store::SqliteServerStore::Open((dir_ / "parley.db").string(), clock_, store::StoreOptions{});
    ASSERT_TRUE(opened);
    store_ = std::move(*opened);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  AccountId AddAccount(const std::string& username) {
    store::NewAccount account;
    account.id = AccountId(Uuid::Random(rng_));
    account.username = username;
    account.primary.registration_id = RegistrationId(7);
    account.primary.name = "phone";
    account.primary.credential = {std::vector<std::uint8_t>(16, 1), std::vector<std::uint8_t>(32, 2)};
    auto created = store_->CreateAccount(account);
    EXPECT_TRUE(created);
    return account.id;
  }

  std::filesystem::path dir_;
  ManualClock clock_{1'700'000'000'000};
  DeterministicRng rng_{3};
  std::unique_ptr<store::SqliteServerStore> store_;
};

// sha256sum computes the same hash independently.
TEST(InvitationTokenHash, IsSha256OfTheToken) {
  FILE* pipe = popen("printf '%s' 'join-parley-42' | sha256sum", "r");
  ASSERT_NE(pipe, nullptr);
  char line[128] = {};
  ASSERT_NE(fgets(line, sizeof line, pipe), nullptr);
  pclose(pipe);
  EXPECT_EQ(ToHex(InvitationTokenHash("join-parley-42")), std::string(line).substr(0, 64));
}

TEST_F(AdminCommandsTest, CreateInvitationStoresOnlyTheHash) {
  auto created = CreateInvitation(*store_, rng_, clock_, 7 * 24 * 3600 * 1000LL);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->token.size(), 32u);
  ASSERT_TRUE(created->expires_ms);
  EXPECT_EQ(*created->expires_ms, clock_.NowMillis() + 7 * 24 * 3600 * 1000LL);
  auto stored = store_->GetInvitation(InvitationTokenHash(created->token));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->expires_ms, created->expires_ms);
  EXPECT_FALSE(stored->used_ms);

  auto forever = CreateInvitation(*store_, rng_, clock_, std::nullopt);
  ASSERT_TRUE(forever);
  EXPECT_NE(forever->token, created->token);
  EXPECT_FALSE(store_->GetInvitation(InvitationTokenHash(forever->token))->expires_ms);
}

TEST_F(AdminCommandsTest, ListDisableAndStats) {
  const AccountId bob = AddAccount("bob");
  const AccountId alice = AddAccount("alice");
  ASSERT_TRUE(SetAccountDisabledByUsername(*store_, "BOB", true));
  EXPECT_TRUE(store_->GetAccount(bob)->disabled);
  EXPECT_EQ(SetAccountDisabledByUsername(*store_, "carol", true).error().code, store::StoreErrc::kNotFound);

  std::ostringstream listing;
  ASSERT_TRUE(ListAccounts(*store_, listing));
  EXPECT_EQ(listing.str(), alice.value().ToString() + " alice created=2023-11-14T22:13:20Z active\n" +
                               bob.value().ToString() + " bob created=2023-11-14T22:13:20Z disabled\n");

  auto stats = store_->CollectStats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->accounts, 2u);
  EXPECT_EQ(stats->disabled_accounts, 1u);
  EXPECT_EQ(stats->devices, 2u);
  EXPECT_EQ(stats->queued_messages, 0u);
  std::ostringstream text;
  WriteStats(*stats, store_->backend_name(), text);
  EXPECT_EQ(text.str(), "store=sqlite accounts=2 disabled_accounts=1 devices=2 queued_messages=0\n");

  ASSERT_TRUE(SetAccountDisabledByUsername(*store_, "bob", false));
  EXPECT_FALSE(store_->GetAccount(bob)->disabled);
}

// What `parleyd admin delete-account USERNAME --yes` does: the account goes
// with its devices, the name is free, and the walk the command runs removes
// the idempotence records SQLite left behind (1 step of kMaxPurgeBatch here).
TEST_F(AdminCommandsTest, DeleteAccountFreesTheNameAndPurgesItsRecords) {
  const AccountId alice = AddAccount("alice");
  const AccountId bob = AddAccount("bob");
  for (std::uint8_t n = 1; n <= 3; ++n) {
    std::array<std::uint8_t, 16> id{};
    id[0] = n;
    const std::vector<std::uint8_t> content{n};
    const store::OutgoingEnvelope envelope{{bob, DeviceId(1)}, 1, content};
    ASSERT_TRUE(store_->Enqueue({{alice, DeviceId(1)}, store::ClientMessageId(id), {&envelope, 1}}));
  }
  EXPECT_EQ(DeleteAccountByUsername(*store_, "carol").error().code, store::StoreErrc::kNotFound);

  auto deleted = DeleteAccountByUsername(*store_, "ALICE");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->id, alice);
  EXPECT_EQ(deleted->username, "alice");
  EXPECT_EQ(store_->GetAccount(alice).error().code, store::StoreErrc::kNotFound);
  EXPECT_EQ(*store_->FindMissingAccounts(std::vector<AccountId>{alice, bob}), std::vector<AccountId>{alice});
  EXPECT_EQ(store_->CollectStats()->devices, 1u);
  // Bob still has what Alice queued for him.
  EXPECT_EQ(store_->CollectStats()->queued_messages, 3u);
  EXPECT_EQ(DeleteAccountByUsername(*store_, "alice").error().code, store::StoreErrc::kNotFound);
  AddAccount("alice");
  EXPECT_EQ(store_->CollectStats()->accounts, 2u);

  auto none = PurgeDeletedAccountRecords(*store_, 0);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->done);
  EXPECT_EQ(none->send_records, 0u);
  auto purged = PurgeDeletedAccountRecords(*store_, 10);
  ASSERT_TRUE(purged);
  EXPECT_TRUE(purged->done);
  EXPECT_EQ(purged->send_records, 3u);
  EXPECT_EQ(purged->accounts_finished, 1u);
  auto again = store_->PurgeDeletedAccounts(10);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->done);
  EXPECT_EQ(again->rows_examined, 0u);
}

}  // namespace
}  // namespace parley::server
