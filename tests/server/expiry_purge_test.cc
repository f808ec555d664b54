// The expiry purge on a SQLite store with an injected clock: what it deletes
// (old messages and their send records, expired attachments, used or expired
// link codes) and what it keeps, directly and on its timer.
#include "server/expiry_purge.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

namespace parley::server {
namespace {

constexpr std::int64_t kDayMs = 24 * 3600 * 1000;

class TestClock final : public Clock {
 public:
  explicit TestClock(std::int64_t start) : now_(start) {}
  std::int64_t NowMillis() const override { return now_.load(); }
  void Advance(std::int64_t ms) { now_ += ms; }

 private:
  std::atomic<std::int64_t> now_;
};

class ExpiryPurgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-purge-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto store = store::OpenServerStore("sqlite:" + (dir_ / "parley.db").string(), clock_);
    ASSERT_TRUE(store);
    store_ = std::move(*store);
    alice_ = MakeAccount("alice", 1);
    bob_ = MakeAccount("bob", 2);
    attachments_ = std::make_unique<AttachmentService>(*store_, clock_, metrics_, AttachmentOptions{});
  }
  void TearDown() override {
    attachments_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  AccountId MakeAccount(const std::string& name, std::uint8_t seed) {
    std::array<std::uint8_t, 16> id{};
    id.fill(seed);
    store::NewAccount account;
    account.id = AccountId(Uuid(id));
    account.username = name;
    account.primary.registration_id = RegistrationId(1);
    account.primary.credential = {std::vector<std::uint8_t>(16, seed), std::vector<std::uint8_t>(32, seed)};
    EXPECT_TRUE(store_->CreateAccount(account));
    return account.id;
  }

  void Send(std::uint8_t message_number) {
    std::array<std::uint8_t, 16> id{};
    id[0] = message_number;
    const std::vector<std::uint8_t> content{message_number};
    const store::OutgoingEnvelope envelope{{bob_, DeviceId(1)}, 1, content};
    ASSERT_TRUE(store_->Enqueue({{alice_, DeviceId(1)}, store::ClientMessageId(id), {&envelope, 1}}));
  }

  store::AttachmentId Attachment(std::uint8_t number, std::uint64_t size, std::size_t uploaded) {
    std::array<std::uint8_t, 16> id{};
    id.fill(number);
    const store::AttachmentId attachment(id);
    EXPECT_TRUE(store_->CreateAttachment(attachment, alice_, size));
    const std::vector<std::uint8_t> bytes(uploaded, number);
    EXPECT_TRUE(store_->AppendAttachmentChunk(attachment, 0, bytes));
    return attachment;
  }

  std::filesystem::path dir_;
  TestClock clock_{1'800'000'000'000};
  MetricsRegistry metrics_;
  std::unique_ptr<store::ServerStore> store_;
  std::unique_ptr<AttachmentService> attachments_;
  AccountId alice_;
  AccountId bob_;
};

TEST_F(ExpiryPurgeTest, DeletesWhatExpiredAndKeepsTheRest) {
  Send(1);
  const store::AttachmentId finished = Attachment(1, 10, 10);
  const store::AttachmentId abandoned = Attachment(2, 10, 4);
  store::TokenHash code{};
  code.fill(7);
  ASSERT_TRUE(store_->CreateProvisioningCode(code, alice_, clock_.NowMillis() + 600'000));
  clock_.Advance(10 * kDayMs);
  Send(2);
  const store::AttachmentId recent = Attachment(3, 10, 10);

  ExpiryPurgeOptions options;
  options.message_expiry_ms = 30 * kDayMs;
  ExpiryPurge purge(*store_, clock_, metrics_, attachments_.get(), options);

  // Day 10: the abandoned upload (24 h) and the expired code go.
  PurgeReport report = purge.RunOnce();
  EXPECT_EQ(report.messages, 0u);
  EXPECT_EQ(report.attachments, 1u);
  EXPECT_EQ(report.provisioning_codes, 1u);
  EXPECT_EQ(report.failures, 0u);
  EXPECT_EQ(store_->GetAttachment(abandoned).error().code, store::StoreErrc::kNotFound);
  EXPECT_EQ(*store_->QueueDepth({bob_, DeviceId(1)}), 2u);

  // Just past day 30: the first message and the first finished attachment.
  clock_.Advance(20 * kDayMs + 1);
  report = purge.RunOnce();
  EXPECT_EQ(report.messages, 1u);
  EXPECT_GE(report.send_records, 1u);
  EXPECT_EQ(report.attachments, 1u);
  EXPECT_EQ(store_->GetAttachment(finished).error().code, store::StoreErrc::kNotFound);
  EXPECT_TRUE(store_->GetAttachment(recent));
  auto left = store_->FetchMessages({bob_, DeviceId(1)}, 0, 10);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].content, std::vector<std::uint8_t>{2});

  // Nothing more to do.
  report = purge.RunOnce();
  EXPECT_EQ(report.messages + report.send_records + report.attachments + report.provisioning_codes, 0u);
}

TEST_F(ExpiryPurgeTest, RunsOnItsTimer) {
  Send(1);
  clock_.Advance(31 * kDayMs);
  ExpiryPurgeOptions options;
  options.message_expiry_ms = 30 * kDayMs;
  options.interval = std::chrono::milliseconds(20);
  ExpiryPurge purge(*store_, clock_, metrics_, attachments_.get(), options);
  EXPECT_EQ(*store_->QueueDepth({bob_, DeviceId(1)}), 1u);
  purge.Start();
  for (int i = 0; i < 500 && purge.completed_runs() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(purge.completed_runs(), 1u);
  EXPECT_EQ(*store_->QueueDepth({bob_, DeviceId(1)}), 0u);
  purge.Stop();
  const std::uint64_t runs = purge.completed_runs();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(purge.completed_runs(), runs);  // stopped means stopped
}

// What a deleted account leaves in the store goes in RunOnce, and on its
// own soon after NotifyAccountDeleted, long before the next interval.
TEST_F(ExpiryPurgeTest, RemovesWhatDeletedAccountsLeftWhenNotified) {
  for (std::uint8_t n = 1; n <= 5; ++n) Send(n);
  ExpiryPurgeOptions options;
  options.interval = std::chrono::hours(1);
  ExpiryPurge purge(*store_, clock_, metrics_, attachments_.get(), options);

  ASSERT_TRUE(store_->DeleteAccount(alice_));
  PurgeReport report = purge.RunOnce();
  EXPECT_EQ(report.failures, 0u);
  EXPECT_EQ(report.send_records, 0u);
  EXPECT_EQ(report.deleted_account_records, 5u);
  auto left = store_->PurgeDeletedAccounts(10);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->done);
  EXPECT_EQ(left->rows_examined, 0u);

  // bob sends, and is deleted while the timer thread waits for its hour.
  const AccountId carol = MakeAccount("carol", 3);
  std::array<std::uint8_t, 16> id{};
  id[0] = 0x40;
  const std::vector<std::uint8_t> content{1};
  const store::OutgoingEnvelope envelope{{carol, DeviceId(1)}, 1, content};
  ASSERT_TRUE(store_->Enqueue({{bob_, DeviceId(1)}, store::ClientMessageId(id), {&envelope, 1}}));
  // The thread's first run (at its start, for a walk a restart
  // interrupted) ends before the deletion; the second comes of the notice.
  purge.Start();
  for (int i = 0; i < 500 && purge.completed_deleted_account_runs() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(purge.completed_deleted_account_runs(), 1u);
  ASSERT_TRUE(store_->DeleteAccount(bob_));
  purge.NotifyAccountDeleted();
  for (int i = 0; i < 500 && purge.completed_deleted_account_runs() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(purge.completed_deleted_account_runs(), 2u);
  EXPECT_EQ(purge.completed_runs(), 0u);
  left = store_->PurgeDeletedAccounts(10);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->done);
  EXPECT_EQ(left->rows_examined, 0u);
  purge.Stop();
  // After Stop a notice does nothing (and does not wait).
  purge.NotifyAccountDeleted();
  EXPECT_EQ(purge.completed_runs(), 0u);
}

TEST_F(ExpiryPurgeTest, IntervalComesFromTheConfiguration) {
  auto config = ParseConfig("[server]\npurge_interval_seconds = 30\n[messages]\nexpiry_days = 7\n", "test");
  ASSERT_TRUE(config);
  const ExpiryPurgeOptions options = ExpiryPurgeOptionsFrom(*config);
  EXPECT_EQ(options.interval, std::chrono::seconds(30));
  EXPECT_EQ(options.message_expiry_ms, 7 * kDayMs);
  EXPECT_FALSE(ParseConfig("[server]\npurge_interval_seconds = 0\n", "test"));
}

}  // namespace
}  // namespace parley::server
