// A real server store behind a gate: every call goes to the wrapped store
// (SQLite or PostgreSQL, as the test runs), but once the gate is armed, the
// next FetchMessages calls read and then wait, their results held, until the
// test opens the gate. The delivery tests use it to hold a pump in the middle of
// its read while acks and commits arrive.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "store/server_store.h"

namespace parley::server::handler_testing {

class GatedStore final : public store::ServerStore {
 public:
  // `inner` must outlive the gated store.
  explicit GatedStore(store::ServerStore& inner) : inner_(inner) {}

  // The next `reads` FetchMessages calls each wait at the gate after their
  // read, until an Open() lets them through (for at most `limit` each, then
  // they return anyway and timed_out() says so).
  void Arm(std::chrono::milliseconds limit, std::size_t reads = 1) {
    std::lock_guard lock(mutex_);
    to_hold_ = reads;
    limit_ = limit;
  }
  // Waits (at most `limit`) until a read waits at the gate.
  bool WaitUntilHeld(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return held_ > opened_; });
  }
  // Lets the waiting read (or the next one held) through.
  void Open() {
    std::lock_guard lock(mutex_);
    ++opened_;
    changed_.notify_all();
  }
  // Holds nothing more and lets everything through.
  void OpenAll() {
    std::lock_guard lock(mutex_);
    to_hold_ = 0;
    opened_ = held_;
    changed_.notify_all();
  }
  // A held read went on because its limit passed, not because of Open().
  bool timed_out() {
    std::lock_guard lock(mutex_);
    return timed_out_;
  }

  store::StoreResult<std::vector<store::StoredEnvelope>> FetchMessages(const store::DeviceAddress& device,
                                                                       std::uint64_t after_server_id,
                                                                       std::size_t max_count) override {
    auto fetched = inner_.FetchMessages(device, after_server_id, max_count);
    std::unique_lock lock(mutex_);
    if (to_hold_ > 0) {
      // The read is done (its snapshot taken); its answer is late, like a
      // slow round trip's.
      --to_hold_;
      const std::size_t mine = ++held_;
      changed_.notify_all();
      if (!changed_.wait_for(lock, limit_, [&] { return opened_ >= mine; })) {
        timed_out_ = true;
        opened_ = std::max(opened_, mine);
      }
    }
    return fetched;
  }

  // ---- everything else goes straight through
  std::string_view backend_name() const override { return inner_.backend_name(); }
  store::StoreResult<store::StoreStats> CollectStats() override { return inner_.CollectStats(); }

  store::StoreResult<store::AccountRecord> CreateAccount(const store::NewAccount& account) override {
    return inner_.CreateAccount(account);
  }
  store::StoreResult<store::AccountRecord> GetAccount(const AccountId& id) override {
    return inner_.GetAccount(id);
  }
  store::StoreResult<store::AccountRecord> GetAccountByUsername(std::string_view username) override {
    return inner_.GetAccountByUsername(username);
  }
  store::StoreStatus ChangeUsername(const AccountId& id, std::string_view new_username) override {
    return inner_.ChangeUsername(id, new_username);
  }
  store::StoreStatus SetAccountDisabled(const AccountId& id, bool disabled) override {
    return inner_.SetAccountDisabled(id, disabled);
  }
  store::StoreResult<std::vector<AccountId>> FindDisabledAccounts(std::span<const AccountId> ids) override {
    return inner_.FindDisabledAccounts(ids);
  }
  store::StoreResult<std::vector<AccountId>> FindMissingAccounts(std::span<const AccountId> ids) override {
    return inner_.FindMissingAccounts(ids);
  }
  store::StoreStatus DeleteAccount(const AccountId& id) override { return inner_.DeleteAccount(id); }
  store::StoreResult<store::DeletedAccountsPurge> PurgeDeletedAccounts(std::size_t max_rows) override {
    return inner_.PurgeDeletedAccounts(max_rows);
  }
  store::StoreResult<std::vector<store::AccountRecord>> ListAccounts(std::string_view after_username,
                                                                     std::size_t limit) override {
    return inner_.ListAccounts(after_username, limit);
  }
  store::StoreResult<std::uint64_t> CountAccounts() override { return inner_.CountAccounts(); }

  store::StoreResult<store::DeviceRecord> AddDevice(const AccountId& account,
                                                    const store::NewDevice& device) override {
    return inner_.AddDevice(account, device);
  }
  store::StoreStatus RemoveDevice(const store::DeviceAddress& device) override {
    return inner_.RemoveDevice(device);
  }
  store::StoreResult<store::DeviceRecord> GetDevice(const store::DeviceAddress& device) override {
    return inner_.GetDevice(device);
  }
  store::StoreResult<std::vector<store::DeviceRecord>> ListDevices(const AccountId& account) override {
    return inner_.ListDevices(account);
  }
  store::StoreResult<std::vector<store::DeviceRegistration>> ListDeviceRegistrations(
      const AccountId& account) override {
    return inner_.ListDeviceRegistrations(account);
  }
  store::StoreStatus TouchDevice(const store::DeviceAddress& device) override {
    return inner_.TouchDevice(device);
  }

  store::StoreStatus SetIdentityKey(const store::DeviceAddress& device,
                                    const store::PublicKeyBytes& key) override {
    return inner_.SetIdentityKey(device, key);
  }
  store::StoreResult<store::PublicKeyBytes> GetIdentityKey(const store::DeviceAddress& device) override {
    return inner_.GetIdentityKey(device);
  }
  store::StoreStatus SetSignedPreKey(const store::DeviceAddress& device,
                                     const store::SignedPreKeyRecord& key) override {
    return inner_.SetSignedPreKey(device, key);
  }
  store::StoreResult<std::size_t> AddOneTimePreKeys(
      const store::DeviceAddress& device, std::span<const store::OneTimePreKeyRecord> keys) override {
    return inner_.AddOneTimePreKeys(device, keys);
  }
  store::StoreResult<std::uint64_t> CountOneTimePreKeys(const store::DeviceAddress& device) override {
    return inner_.CountOneTimePreKeys(device);
  }
  store::StoreResult<store::PreKeyBundleRecord> TakePreKeyBundle(
      const store::DeviceAddress& device) override {
    return inner_.TakePreKeyBundle(device);
  }

  store::StoreResult<store::EnqueueResult> Enqueue(const store::EnqueueRequest& request) override {
    return inner_.Enqueue(request);
  }
  store::StoreResult<std::vector<store::StoreResult<store::EnqueueResult>>> EnqueueBatch(
      std::span<const store::EnqueueRequest> requests) override {
    return inner_.EnqueueBatch(requests);
  }
  store::StoreResult<store::MessageQueueStore::QueueBatchResult> CommitQueueBatch(
      std::span<const store::EnqueueRequest> sends, std::span<const store::QueuedCopy> deletes) override {
    return inner_.CommitQueueBatch(sends, deletes);
  }
  store::StoreStatus DeleteMessage(const store::DeviceAddress& device, std::uint64_t server_id) override {
    return inner_.DeleteMessage(device, server_id);
  }
  store::StoreResult<std::vector<bool>> DeleteMessages(std::span<const store::QueuedCopy> messages) override {
    return inner_.DeleteMessages(messages);
  }
  store::StoreResult<store::QueueDepthSummary> SummarizeQueueDepths() override {
    return inner_.SummarizeQueueDepths();
  }
  store::StoreResult<std::uint64_t> QueueDepth(const store::DeviceAddress& device) override {
    return inner_.QueueDepth(device);
  }
  store::StoreResult<store::PurgeCounts> PurgeExpiredMessages(std::int64_t cutoff_ms,
                                                              std::size_t max_rows) override {
    return inner_.PurgeExpiredMessages(cutoff_ms, max_rows);
  }

  store::StoreResult<store::AttachmentInfo> CreateAttachment(const store::AttachmentId& id,
                                                             const AccountId& owner,
                                                             std::uint64_t declared_size) override {
    return inner_.CreateAttachment(id, owner, declared_size);
  }
  store::StoreResult<store::AttachmentInfo> AppendAttachmentChunk(const store::AttachmentId& id,
                                                                  std::uint64_t offset,
                                                                  Bytes chunk) override {
    return inner_.AppendAttachmentChunk(id, offset, chunk);
  }
  store::StoreResult<store::AttachmentInfo> GetAttachment(const store::AttachmentId& id) override {
    return inner_.GetAttachment(id);
  }
  store::StoreResult<std::vector<std::uint8_t>> ReadAttachment(const store::AttachmentId& id,
                                                               std::uint64_t offset,
                                                               std::size_t max_bytes) override {
    return inner_.ReadAttachment(id, offset, max_bytes);
  }
  store::StoreStatus DeleteAttachment(const store::AttachmentId& id) override {
    return inner_.DeleteAttachment(id);
  }
  store::StoreResult<std::vector<store::AttachmentId>> ListExpiredAttachments(std::int64_t created_before_ms,
                                                                              std::size_t limit) override {
    return inner_.ListExpiredAttachments(created_before_ms, limit);
  }
  store::StoreResult<std::vector<store::AttachmentId>> ListUnfinishedAttachments(
      std::int64_t created_before_ms, std::size_t limit) override {
    return inner_.ListUnfinishedAttachments(created_before_ms, limit);
  }

  store::StoreStatus CreateInvitation(const store::TokenHash& token_hash,
                                      std::optional<std::int64_t> expires_ms) override {
    return inner_.CreateInvitation(token_hash, expires_ms);
  }
  store::StoreResult<store::InvitationRecord> GetInvitation(const store::TokenHash& token_hash) override {
    return inner_.GetInvitation(token_hash);
  }
  store::StoreStatus ConsumeInvitation(const store::TokenHash& token_hash,
                                       const AccountId& used_by) override {
    return inner_.ConsumeInvitation(token_hash, used_by);
  }

  store::StoreStatus CreateProvisioningCode(const store::TokenHash& code_hash, const AccountId& account,
                                            std::int64_t expires_ms) override {
    return inner_.CreateProvisioningCode(code_hash, account, expires_ms);
  }
  store::StoreResult<AccountId> ConsumeProvisioningCode(const store::TokenHash& code_hash) override {
    return inner_.ConsumeProvisioningCode(code_hash);
  }
  store::StoreResult<store::DeviceRecord> LinkDevice(const store::TokenHash& code_hash,
                                                     const store::NewDevice& device) override {
    return inner_.LinkDevice(code_hash, device);
  }
  store::StoreResult<std::uint64_t> PurgeProvisioningCodes() override {
    return inner_.PurgeProvisioningCodes();
  }

 private:
  store::ServerStore& inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t to_hold_ = 0;
  // Reads held so far, and how many of them were let through.
  std::size_t held_ = 0;
  std::size_t opened_ = 0;
  bool timed_out_ = false;
  std::chrono::milliseconds limit_{0};
};

}  // namespace parley::server::handler_testing
