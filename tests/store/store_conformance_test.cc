// The store conformance suite: one set of tests that every ServerStore
// backend must pass. Each backend's test binary instantiates it
// (sqlite_store_test.cc, postgres_store_test.cc).
#include "store_conformance_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace parley::store::conformance {

namespace {

PublicKeyBytes Key(std::uint8_t seed) {
  PublicKeyBytes key{};
  key[0] = 0x05;
  for (std::size_t i = 1; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(seed + i);
  return key;
}

SignatureBytes Signature(std::uint8_t seed) {
  SignatureBytes signature{};
  for (std::size_t i = 0; i < signature.size(); ++i) signature[i] = static_cast<std::uint8_t>(seed ^ i);
  return signature;
}

TokenHash Hash(std::uint8_t seed) {
  TokenHash hash{};
  hash.fill(seed);
  return hash;
}

AttachmentId AttachmentNumber(std::uint8_t seed) {
  std::array<std::uint8_t, 16> bytes{};
  bytes.fill(seed);
  return AttachmentId(bytes);
}

std::vector<OneTimePreKeyRecord> PreKeys(std::uint32_t first, std::uint32_t count) {
  std::vector<OneTimePreKeyRecord> keys;
  for (std::uint32_t id = first; id < first + count; ++id) {
    keys.push_back({PreKeyId(id), Key(static_cast<std::uint8_t>(id))});
  }
  return keys;
}

std::vector<std::uint8_t> Content(std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> content(size);
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<std::uint8_t>(seed + i * 7);
  return content;
}

}  // namespace

void StoreConformanceTest::SetUp() {
  backend_ = GetParam().factory();
  backend_->Create();
  if (HasFatalFailure()) return;
  OpenStore();
}

void StoreConformanceTest::TearDown() {
  store_.reset();
  if (backend_) backend_->Destroy();
}

void StoreConformanceTest::OpenStore() {
  store_.reset();
  auto opened = backend_->Open(clock_, options_);
  ASSERT_TRUE(opened) << ToString(opened.error().code) << ": " << opened.error().message;
  store_ = std::move(*opened);
}

NewDevice StoreConformanceTest::Device(std::uint32_t registration_id, std::string name) {
  NewDevice device;
  device.registration_id = RegistrationId(registration_id);
  device.name = std::move(name);
  device.credential.salt = std::vector<std::uint8_t>(16, static_cast<std::uint8_t>(registration_id));
  device.credential.hash = std::vector<std::uint8_t>(32, static_cast<std::uint8_t>(registration_id + 1));
  return device;
}

AccountId StoreConformanceTest::NewId() { return AccountId(Uuid::Random(rng_)); }

AccountId StoreConformanceTest::MustCreateAccount(const std::string& username) {
  NewAccount account{NewId(), username, Device(100, "primary"), std::nullopt};
  auto created = store().CreateAccount(account);
  EXPECT_TRUE(created) << "creating " << username << ": " << (created ? "" : created.error().message);
  return account.id;
}

DeviceAddress StoreConformanceTest::MustAddDevice(const AccountId& account) {
  auto added = store().AddDevice(account, Device(200, "companion"));
  EXPECT_TRUE(added) << (added ? "" : added.error().message);
  return added ? added->address : DeviceAddress{account, DeviceId(0)};
}

void StoreConformanceTest::MustUploadKeys(const DeviceAddress& device, std::uint32_t one_time_count) {
  ASSERT_TRUE(IsOk(store().SetIdentityKey(device, Key(1))));
  ASSERT_TRUE(IsOk(store().SetSignedPreKey(device, {SignedPreKeyId(7), Key(2), Signature(3)})));
  if (one_time_count > 0) {
    auto keys = PreKeys(1, one_time_count);
    auto added = store().AddOneTimePreKeys(device, keys);
    ASSERT_TRUE(IsOk(added));
    ASSERT_EQ(*added, one_time_count);
  }
}

StoreResult<EnqueueResult> StoreConformanceTest::Send(const DeviceAddress& sender, std::uint8_t client_id,
                                                      const std::vector<DeviceAddress>& recipients,
                                                      std::size_t content_size) {
  std::array<std::uint8_t, 16> id{};
  id.fill(client_id);
  id[0] = static_cast<std::uint8_t>(sender.device.value());
  return SendWithId(sender, ClientMessageId(id), recipients, content_size);
}

StoreResult<EnqueueResult> StoreConformanceTest::SendWithId(const DeviceAddress& sender,
                                                            const ClientMessageId& id,
                                                            const std::vector<DeviceAddress>& recipients,
                                                            std::size_t content_size) {
  std::vector<std::vector<std::uint8_t>> contents;
  std::vector<OutgoingEnvelope> envelopes;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    contents.push_back(Content(content_size, static_cast<std::uint8_t>(id.value()[1] + i)));
  }
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    envelopes.push_back({recipients[i], static_cast<std::uint32_t>(i + 1), contents[i]});
  }
  return store().Enqueue({sender, id, envelopes});
}

std::vector<StoredEnvelope> StoreConformanceTest::FetchAll(const DeviceAddress& device) {
  std::vector<StoredEnvelope> all;
  std::uint64_t after = 0;
  while (true) {
    auto batch = store().FetchMessages(device, after, kMaxFetchCount);
    EXPECT_TRUE(batch);
    if (!batch || batch->empty()) break;
    after = batch->back().server_id;
    for (auto& envelope : *batch) all.push_back(std::move(envelope));
  }
  return all;
}

// ------------------------------------------------------------------ accounts

TEST_P(StoreConformanceTest, CreatesAccountWithPrimaryDevice) {
  const AccountId id = NewId();
  auto created = store().CreateAccount(
      {id, "Alice.Smith", Device(1234, "t\xc3\xa9l\xc3\xa9phone \xf0\x9f\x93\xb1"), std::nullopt});
  ASSERT_TRUE(IsOk(created));
  EXPECT_EQ(created->id, id);
  EXPECT_EQ(created->username, "alice.smith");
  EXPECT_EQ(created->created_ms, clock_.NowMillis());
  EXPECT_FALSE(created->disabled);

  auto by_id = store().GetAccount(id);
  ASSERT_TRUE(IsOk(by_id));
  EXPECT_EQ(*by_id, *created);
  auto by_name = store().GetAccountByUsername("ALICE.smith");
  ASSERT_TRUE(IsOk(by_name));
  EXPECT_EQ(*by_name, *created);

  auto devices = store().ListDevices(id);
  ASSERT_TRUE(IsOk(devices));
  ASSERT_EQ(devices->size(), 1u);
  const DeviceRecord& primary = devices->front();
  EXPECT_EQ(primary.address, (DeviceAddress{id, DeviceId(1)}));
  EXPECT_EQ(primary.registration_id, RegistrationId(1234));
  EXPECT_EQ(primary.name, "t\xc3\xa9l\xc3\xa9phone \xf0\x9f\x93\xb1");
  EXPECT_EQ(primary.credential, Device(1234, "").credential);
  EXPECT_EQ(primary.created_ms, clock_.NowMillis());
  EXPECT_EQ(primary.last_seen_ms, clock_.NowMillis());
}

TEST_P(StoreConformanceTest, UsernameTakenInAnyCaseIsConflictAndCreatesNothing) {
  MustCreateAccount("bob");
  const AccountId other = NewId();
  auto again = store().CreateAccount({other, "BOB", Device(1, "x"), std::nullopt});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, StoreErrc::kConflict);
  auto missing = store().GetAccount(other);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, StoreErrc::kNotFound);
  EXPECT_EQ(*store().CountAccounts(), 1u);
}

TEST_P(StoreConformanceTest, DuplicateAccountIdIsConflict) {
  const AccountId id = MustCreateAccount("carol");
  auto again = store().CreateAccount({id, "carol2", Device(1, "x"), std::nullopt});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, StoreErrc::kConflict);
  EXPECT_FALSE(store().GetAccountByUsername("carol2"));
}

TEST_P(StoreConformanceTest, RejectsInvalidAccountFields) {
  auto empty = store().CreateAccount({NewId(), "", Device(1, "x"), std::nullopt});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, StoreErrc::kInvalidArgument);

  const std::string at_limit(kMaxUsernameBytes, 'a');
  EXPECT_TRUE(IsOk(store().CreateAccount({NewId(), at_limit, Device(1, "x"), std::nullopt})));
  auto past_limit = store().CreateAccount({NewId(), at_limit + "a", Device(1, "x"), std::nullopt});
  ASSERT_FALSE(past_limit);
  EXPECT_EQ(past_limit.error().code, StoreErrc::kInvalidArgument);

  auto control = store().CreateAccount({NewId(), std::string("a\0b", 3), Device(1, "x"), std::nullopt});
  ASSERT_FALSE(control);
  EXPECT_EQ(control.error().code, StoreErrc::kInvalidArgument);

  NewDevice bad_device = Device(1, "x");
  bad_device.credential.hash.clear();
  auto no_hash = store().CreateAccount({NewId(), "dave", bad_device, std::nullopt});
  ASSERT_FALSE(no_hash);
  EXPECT_EQ(no_hash.error().code, StoreErrc::kInvalidArgument);
  bad_device = Device(1, std::string(kMaxDeviceNameBytes + 1, 'n'));
  auto long_name = store().CreateAccount({NewId(), "dave", bad_device, std::nullopt});
  ASSERT_FALSE(long_name);
  EXPECT_EQ(long_name.error().code, StoreErrc::kInvalidArgument);
  bad_device = Device(1, "bad \xff utf-8");
  auto not_utf8 = store().CreateAccount({NewId(), "dave", bad_device, std::nullopt});
  ASSERT_FALSE(not_utf8);
  EXPECT_EQ(not_utf8.error().code, StoreErrc::kInvalidArgument);
  auto spaced = store().CreateAccount({NewId(), "da ve", Device(1, "x"), std::nullopt});
  ASSERT_FALSE(spaced);
  EXPECT_EQ(spaced.error().code, StoreErrc::kInvalidArgument);
  bad_device = Device(1, "x");
  bad_device.credential.salt.assign(kMaxCredentialFieldBytes + 1, 1);
  auto long_salt = store().CreateAccount({NewId(), "dave", bad_device, std::nullopt});
  ASSERT_FALSE(long_salt);
  EXPECT_EQ(long_salt.error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(*store().CountAccounts(), 1u);
}

TEST_P(StoreConformanceTest, UnknownAccountIsNotFound) {
  const AccountId id = NewId();
  EXPECT_EQ(store().GetAccount(id).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetAccountByUsername("nobody").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetAccountByUsername("").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().ChangeUsername(id, "x").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().SetAccountDisabled(id, true).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().DeleteAccount(id).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().ListDevices(id).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().AddDevice(id, Device(1, "x")).error().code, StoreErrc::kNotFound);
}

TEST_P(StoreConformanceTest, ChangesUsername) {
  const AccountId erin = MustCreateAccount("erin");
  MustCreateAccount("frank");
  ASSERT_TRUE(IsOk(store().ChangeUsername(erin, "Erin2")));
  EXPECT_EQ(store().GetAccount(erin)->username, "erin2");
  EXPECT_EQ(store().GetAccountByUsername("erin").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetAccountByUsername("ERIN2")->id, erin);
  // The old name is free at once; renaming to the current name succeeds.
  EXPECT_TRUE(IsOk(store().ChangeUsername(erin, "erin2")));
  const AccountId another = MustCreateAccount("erin");
  EXPECT_EQ(store().GetAccountByUsername("erin")->id, another);

  auto taken = store().ChangeUsername(erin, "FRANK");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, StoreErrc::kConflict);
  EXPECT_EQ(store().GetAccount(erin)->username, "erin2");
  EXPECT_EQ(store().ChangeUsername(erin, "").error().code, StoreErrc::kInvalidArgument);
}

TEST_P(StoreConformanceTest, DisablesAndEnablesAccount) {
  const AccountId id = MustCreateAccount("gina");
  ASSERT_TRUE(IsOk(store().SetAccountDisabled(id, true)));
  EXPECT_TRUE(store().GetAccount(id)->disabled);
  EXPECT_TRUE(store().GetAccountByUsername("gina")->disabled);
  ASSERT_TRUE(IsOk(store().SetAccountDisabled(id, false)));
  EXPECT_FALSE(store().GetAccount(id)->disabled);
}

TEST_P(StoreConformanceTest, FindsTheDisabledAccountsAmongGivenIds) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const AccountId carol = MustCreateAccount("carol");
  const AccountId unknown = NewId();
  EXPECT_TRUE(store().FindDisabledAccounts({})->empty());
  const std::vector<AccountId> asked{alice, bob, carol, unknown};
  EXPECT_TRUE(store().FindDisabledAccounts(asked)->empty());
  ASSERT_TRUE(IsOk(store().SetAccountDisabled(bob, true)));
  ASSERT_TRUE(IsOk(store().SetAccountDisabled(carol, true)));
  auto found = store().FindDisabledAccounts(asked);
  ASSERT_TRUE(IsOk(found));
  std::sort(found->begin(), found->end());
  std::vector<AccountId> expected{bob, carol};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*found, expected);
  EXPECT_EQ(*store().FindDisabledAccounts(std::vector<AccountId>{alice, carol}),
            std::vector<AccountId>{carol});
  ASSERT_TRUE(IsOk(store().SetAccountDisabled(carol, false)));
  EXPECT_EQ(*store().FindDisabledAccounts(asked), std::vector<AccountId>{bob});
  const std::vector<AccountId> too_many(kMaxPageSize + 1, alice);
  EXPECT_EQ(store().FindDisabledAccounts(too_many).error().code, StoreErrc::kInvalidArgument);
}

TEST_P(StoreConformanceTest, FindsTheMissingAccountsAmongGivenIds) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const AccountId unknown = NewId();
  EXPECT_TRUE(store().FindMissingAccounts({})->empty());
  EXPECT_TRUE(store().FindMissingAccounts(std::vector<AccountId>{alice, bob})->empty());
  EXPECT_EQ(*store().FindMissingAccounts(std::vector<AccountId>{alice, unknown, bob}),
            std::vector<AccountId>{unknown});
  ASSERT_TRUE(IsOk(store().SetAccountDisabled(bob, true)));
  EXPECT_TRUE(store().FindMissingAccounts(std::vector<AccountId>{alice, bob})->empty());
  ASSERT_TRUE(IsOk(store().DeleteAccount(bob)));
  auto found = store().FindMissingAccounts(std::vector<AccountId>{alice, bob, unknown});
  ASSERT_TRUE(IsOk(found));
  std::sort(found->begin(), found->end());
  std::vector<AccountId> expected{bob, unknown};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*found, expected);
  const std::vector<AccountId> too_many(kMaxPageSize + 1, alice);
  EXPECT_EQ(store().FindMissingAccounts(too_many).error().code, StoreErrc::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ListsAccountsInPagesAndCounts) {
  EXPECT_EQ(*store().CountAccounts(), 0u);
  std::vector<std::string> names;
  for (int i = 0; i < 25; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "user%02d", 24 - i);
    names.emplace_back(name);
    MustCreateAccount(name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(*store().CountAccounts(), 25u);

  std::vector<std::string> listed;
  std::string after;
  while (true) {
    auto page = store().ListAccounts(after, 10);
    ASSERT_TRUE(page);
    ASSERT_LE(page->size(), 10u);
    if (page->empty()) break;
    for (const auto& account : *page) listed.push_back(account.username);
    after = page->back().username;
  }
  EXPECT_EQ(listed, names);
  EXPECT_TRUE(store().ListAccounts("", 0)->empty());
  // A limit past the cap is clamped, not refused.
  EXPECT_EQ(store().ListAccounts("", kMaxPageSize + 5)->size(), 25u);
}

TEST_P(StoreConformanceTest, DeleteAccountWipesEverythingItOwns) {
  const AccountId victim = MustCreateAccount("victim");
  const AccountId other = MustCreateAccount("other");
  const DeviceAddress victim_primary{victim, DeviceId(1)};
  const DeviceAddress victim_companion = MustAddDevice(victim);
  const DeviceAddress other_primary{other, DeviceId(1)};
  MustUploadKeys(victim_primary, 5);
  MustUploadKeys(victim_companion, 5);
  MustUploadKeys(other_primary, 5);
  ASSERT_TRUE(IsOk(Send(other_primary, 1, {victim_primary, victim_companion})));
  ASSERT_TRUE(IsOk(Send(victim_primary, 2, {other_primary, victim_companion})));
  ASSERT_TRUE(IsOk(store().CreateAttachment(AttachmentNumber(1), victim, 10)));
  ASSERT_TRUE(IsOk(store().AppendAttachmentChunk(AttachmentNumber(1), 0, Content(10, 1))));
  ASSERT_TRUE(IsOk(store().CreateAttachment(AttachmentNumber(2), other, 10)));
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(9), victim, clock_.NowMillis() + 60'000)));
  ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(8), std::nullopt)));
  ASSERT_TRUE(IsOk(store().ConsumeInvitation(Hash(8), victim)));

  ASSERT_TRUE(IsOk(store().DeleteAccount(victim)));

  EXPECT_EQ(store().GetAccount(victim).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetAccountByUsername("victim").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().ListDevices(victim).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetDevice(victim_primary).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetIdentityKey(victim_primary).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().CountOneTimePreKeys(victim_companion).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().TakePreKeyBundle(victim_primary).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().QueueDepth(victim_primary).error().code, StoreErrc::kNotFound);
  EXPECT_TRUE(FetchAll(victim_primary).empty());
  EXPECT_TRUE(FetchAll(victim_companion).empty());
  EXPECT_EQ(store().GetAttachment(AttachmentNumber(1)).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().ConsumeProvisioningCode(Hash(9)).error().code, StoreErrc::kNotFound);
  // The invitation stays used, without a user.
  auto invitation = store().GetInvitation(Hash(8));
  ASSERT_TRUE(IsOk(invitation));
  EXPECT_TRUE(invitation->used_ms.has_value());
  EXPECT_FALSE(invitation->used_by.has_value());
  EXPECT_EQ(store().ConsumeInvitation(Hash(8), other).error().code, StoreErrc::kAlreadyUsed);

  // The other account is untouched; what the victim sent it stays queued.
  EXPECT_TRUE(IsOk(store().GetAccount(other)));
  EXPECT_EQ(*store().CountOneTimePreKeys(other_primary), 5u);
  EXPECT_EQ(*store().QueueDepth(other_primary), 1u);
  EXPECT_EQ(FetchAll(other_primary).size(), 1u);
  EXPECT_TRUE(IsOk(store().GetAttachment(AttachmentNumber(2))));
  EXPECT_EQ(*store().CountAccounts(), 1u);

  // The name is free again, and a new account of that name starts empty.
  const AccountId reborn = MustCreateAccount("victim");
  EXPECT_EQ(store().GetAccountByUsername("victim")->id, reborn);
  // The victim's idempotence records are gone with it: the same client id is new.
  EXPECT_EQ(store().ListDevices(reborn)->size(), 1u);
  // Of the two send records only the other account's is left for the purge.
  auto purged = store().PurgeExpiredMessages(clock_.NowMillis() + 1, 100);
  ASSERT_TRUE(IsOk(purged));
  EXPECT_EQ(purged->send_records, 1u);
}

// Every store call answers as if the deleted account's idempotence records
// were gone, before and after PurgeDeletedAccounts removed them (SQLite
// leaves the rows to it; PostgreSQL deletes them with the account), and the
// records of other accounts are untouched by either.
TEST_P(StoreConformanceTest, DeletedAccountsRecordsAreGoneAtOnceAndPurgedLater) {
  const AccountId victim = MustCreateAccount("victim");
  const AccountId other = MustCreateAccount("other");
  const DeviceAddress victim_primary{victim, DeviceId(1)};
  const DeviceAddress other_primary{other, DeviceId(1)};
  for (std::uint8_t n = 1; n <= 20; ++n) {
    ASSERT_TRUE(IsOk(Send(victim_primary, n, {other_primary})));
    ASSERT_TRUE(IsOk(Send(other_primary, n, {victim_primary})));
  }
  auto other_first = Send(other_primary, 1, {victim_primary});
  ASSERT_TRUE(IsOk(other_first));
  ASSERT_TRUE(other_first->duplicate);
  ASSERT_TRUE(IsOk(store().DeleteAccount(victim)));

  // A retry from the deleted account: its sender does not exist (its record
  // answers nothing), before and after the purge.
  EXPECT_EQ(Send(victim_primary, 1, {other_primary}).error().code, StoreErrc::kNotFound);
  // The other account's sends are still answered from their records.
  auto other_retry = Send(other_primary, 2, {victim_primary});
  ASSERT_TRUE(IsOk(other_retry));
  EXPECT_TRUE(other_retry->duplicate);

  std::uint64_t steps = 0;
  bool done = false;
  while (!done && steps < 1'000) {
    auto purged = store().PurgeDeletedAccounts(5);
    ASSERT_TRUE(IsOk(purged));
    EXPECT_LE(purged->rows_examined, 5u);
    done = purged->done;
    ++steps;
  }
  EXPECT_TRUE(done);
  auto again = store().PurgeDeletedAccounts(5);
  ASSERT_TRUE(IsOk(again));
  EXPECT_TRUE(again->done);
  EXPECT_EQ(again->send_records, 0u);

  EXPECT_EQ(Send(victim_primary, 3, {other_primary}).error().code, StoreErrc::kNotFound);
  for (std::uint8_t n = 1; n <= 20; ++n) {
    auto retry = Send(other_primary, n, {victim_primary});
    ASSERT_TRUE(IsOk(retry)) << int(n);
    EXPECT_TRUE(retry->duplicate) << int(n);
  }
  // Only the other account's 20 records expire: the victim's are no more.
  auto purged = store().PurgeExpiredMessages(clock_.NowMillis() + 1, 100);
  ASSERT_TRUE(IsOk(purged));
  EXPECT_EQ(purged->send_records, 20u);
  EXPECT_EQ(purged->deleted_account_records, 0u);
}

// An account id that comes back (a new account with the id of a deleted
// one, in the same millisecond, then later) starts without idempotence
// records, and its own records live through PurgeDeletedAccounts.
TEST_P(StoreConformanceTest, ReusedAccountIdStartsWithoutRecords) {
  const AccountId id = NewId();
  const AccountId other = MustCreateAccount("other");
  const DeviceAddress sender{id, DeviceId(1)};
  const DeviceAddress recipient{other, DeviceId(1)};
  ASSERT_TRUE(IsOk(store().CreateAccount({id, "first", Device(100, "primary"), std::nullopt})));
  auto first = Send(sender, 1, {recipient});
  ASSERT_TRUE(IsOk(first));
  ASSERT_TRUE(IsOk(store().DeleteAccount(id)));

  // Same millisecond as the deletion and as the first send.
  ASSERT_TRUE(IsOk(store().CreateAccount({id, "second", Device(100, "primary"), std::nullopt})));
  auto fresh = Send(sender, 1, {recipient});
  ASSERT_TRUE(IsOk(fresh));
  EXPECT_FALSE(fresh->duplicate);
  EXPECT_EQ(fresh->copies[0].server_id, first->copies[0].server_id + 1);
  clock_.Advance(5);
  auto later = Send(sender, 2, {recipient});
  ASSERT_TRUE(IsOk(later));
  EXPECT_FALSE(later->duplicate);

  bool done = false;
  for (int step = 0; step < 100 && !done; ++step) {
    auto purged = store().PurgeDeletedAccounts(kMaxPurgeBatch);
    ASSERT_TRUE(IsOk(purged));
    done = purged->done;
  }
  EXPECT_TRUE(done);
  for (std::uint8_t n : {1, 2}) {
    auto retry = Send(sender, n, {recipient});
    ASSERT_TRUE(IsOk(retry)) << int(n);
    EXPECT_TRUE(retry->duplicate) << int(n);
  }
  EXPECT_EQ(*store().QueueDepth(recipient), 3u);

  // Deleted again and back a millisecond later, before any purge: the
  // records of before do not answer the new account's sends.
  ASSERT_TRUE(IsOk(store().DeleteAccount(id)));
  clock_.Advance(1);
  ASSERT_TRUE(IsOk(store().CreateAccount({id, "third", Device(100, "primary"), std::nullopt})));
  for (std::uint8_t n : {1, 2}) {
    auto retry = Send(sender, n, {recipient});
    ASSERT_TRUE(IsOk(retry)) << int(n);
    EXPECT_FALSE(retry->duplicate) << int(n);
    auto twice = Send(sender, n, {recipient});
    ASSERT_TRUE(IsOk(twice)) << int(n);
    EXPECT_TRUE(twice->duplicate) << int(n);
  }
  EXPECT_EQ(*store().QueueDepth(recipient), 5u);
}

TEST_P(StoreConformanceTest, CollectsStats) {
  EXPECT_EQ(*store().CollectStats(), StoreStats{});
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const AccountId carol = MustCreateAccount("carol");
  ASSERT_TRUE(IsOk(store().SetAccountDisabled(carol, true)));
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  ASSERT_TRUE(IsOk(Send({alice, DeviceId(1)}, 1, {{bob, DeviceId(1)}, bob_tablet})));
  ASSERT_TRUE(IsOk(Send({alice, DeviceId(1)}, 2, {bob_tablet})));
  ASSERT_TRUE(IsOk(store().CreateAttachment(AttachmentNumber(1), alice, 100)));
  ASSERT_TRUE(IsOk(store().AppendAttachmentChunk(AttachmentNumber(1), 0, Content(60, 1))));
  ASSERT_TRUE(IsOk(store().CreateAttachment(AttachmentNumber(2), bob, 100)));
  auto stats = store().CollectStats();
  ASSERT_TRUE(IsOk(stats));
  EXPECT_EQ(stats->accounts, 3u);
  EXPECT_EQ(stats->disabled_accounts, 1u);
  EXPECT_EQ(stats->devices, 4u);
  EXPECT_EQ(stats->queued_messages, 3u);
  EXPECT_EQ(stats->attachments, 2u);
  EXPECT_EQ(stats->attachment_bytes, 60u);
}

// ------------------------------------------------------------------- devices

TEST_P(StoreConformanceTest, SummarizesQueueDepthsFromTheQueueCounters) {
  EXPECT_EQ(*store().SummarizeQueueDepths(), QueueDepthSummary{});
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  MustCreateAccount("carol");
  ASSERT_TRUE(IsOk(Send({alice, DeviceId(1)}, 1, {{bob, DeviceId(1)}, bob_tablet})));
  ASSERT_TRUE(IsOk(Send({alice, DeviceId(1)}, 2, {bob_tablet})));
  ASSERT_TRUE(IsOk(Send({alice, DeviceId(1)}, 3, {bob_tablet})));
  EXPECT_EQ(*store().SummarizeQueueDepths(), (QueueDepthSummary{4, 3, 2}));
  // An acknowledgement and a removed device count at once.
  const std::vector<StoredEnvelope> queued = FetchAll({bob, DeviceId(1)});
  ASSERT_EQ(queued.size(), 1u);
  ASSERT_TRUE(IsOk(store().DeleteMessage({bob, DeviceId(1)}, queued.front().server_id)));
  EXPECT_EQ(*store().SummarizeQueueDepths(), (QueueDepthSummary{3, 3, 1}));
  ASSERT_TRUE(IsOk(store().RemoveDevice(bob_tablet)));
  EXPECT_EQ(*store().SummarizeQueueDepths(), QueueDepthSummary{});
}

TEST_P(StoreConformanceTest, AddsDevicesUpToTheLimitAndReusesFreedIds) {
  const AccountId id = MustCreateAccount("henry");
  clock_.Advance(1000);
  for (std::uint32_t expected = 2; expected <= kMaxDevicesPerAccount; ++expected) {
    auto added = store().AddDevice(id, Device(expected, "device"));
    ASSERT_TRUE(IsOk(added));
    EXPECT_EQ(added->address, (DeviceAddress{id, DeviceId(expected)}));
    EXPECT_EQ(added->created_ms, clock_.NowMillis());
  }
  EXPECT_EQ(store().ListDevices(id)->size(), kMaxDevicesPerAccount);
  auto past = store().AddDevice(id, Device(9, "one too many"));
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, StoreErrc::kLimitExceeded);

  ASSERT_TRUE(IsOk(store().RemoveDevice({id, DeviceId(3)})));
  auto reused = store().AddDevice(id, Device(33, "replacement"));
  ASSERT_TRUE(IsOk(reused));
  EXPECT_EQ(reused->address.device, DeviceId(3));
  EXPECT_EQ(store().GetDevice({id, DeviceId(3)})->registration_id, RegistrationId(33));
  EXPECT_EQ(store().AddDevice(id, Device(9, "x")).error().code, StoreErrc::kLimitExceeded);
}

TEST_P(StoreConformanceTest, ConcurrentAddsNeverPassTheDeviceLimit) {
  const AccountId id = MustCreateAccount("ivy");
  std::atomic<int> added{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        auto result = store().AddDevice(id, Device(5, "racer"));
        if (result) {
          ++added;
        } else if (result.error().code == StoreErrc::kLimitExceeded) {
          ++refused;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(added.load(), static_cast<int>(kMaxDevicesPerAccount) - 1);
  EXPECT_EQ(refused.load(), 16 - added.load());
  auto devices = store().ListDevices(id);
  ASSERT_TRUE(IsOk(devices));
  ASSERT_EQ(devices->size(), kMaxDevicesPerAccount);
  for (std::size_t i = 0; i < devices->size(); ++i) EXPECT_EQ((*devices)[i].address.device.value(), i + 1);
}

TEST_P(StoreConformanceTest, ListsDeviceRegistrationsInIdOrder) {
  EXPECT_EQ(store().ListDeviceRegistrations(NewId()).error().code, StoreErrc::kNotFound);
  const AccountId id = MustCreateAccount("ivy");
  auto one = store().ListDeviceRegistrations(id);
  ASSERT_TRUE(IsOk(one));
  EXPECT_EQ(*one, (std::vector<DeviceRegistration>{{DeviceId(1), RegistrationId(100)}}));
  const DeviceAddress second = MustAddDevice(id);
  const DeviceAddress third = MustAddDevice(id);
  ASSERT_TRUE(IsOk(store().RemoveDevice(second)));
  auto two = store().ListDeviceRegistrations(id);
  ASSERT_TRUE(IsOk(two));
  ASSERT_EQ(two->size(), 2u);
  auto devices = store().ListDevices(id);
  ASSERT_TRUE(IsOk(devices));
  ASSERT_EQ(devices->size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*two)[i].device, (*devices)[i].address.device);
    EXPECT_EQ((*two)[i].registration_id, (*devices)[i].registration_id);
  }
  EXPECT_EQ((*two)[1].device, third.device);
  EXPECT_EQ((*two)[1].registration_id, RegistrationId(200));
  // An account whose devices are all gone still exists: no devices, not kNotFound.
  ASSERT_TRUE(IsOk(store().RemoveDevice(third)));
  ASSERT_TRUE(IsOk(store().RemoveDevice({id, DeviceId(1)})));
  auto none = store().ListDeviceRegistrations(id);
  ASSERT_TRUE(IsOk(none));
  EXPECT_TRUE(none->empty());
}

// Read after every change (a backend that keeps lists in memory must
// follow each one): add, link, remove, delete the account.
TEST_P(StoreConformanceTest, DeviceRegistrationsFollowEveryChange) {
  const AccountId id = MustCreateAccount("kim");
  auto Registrations = [&] {
    auto listed = store().ListDeviceRegistrations(id);
    std::vector<std::uint32_t> devices;
    if (listed) {
      for (const DeviceRegistration& d : *listed) devices.push_back(d.device.value());
    }
    return devices;
  };
  EXPECT_EQ(Registrations(), (std::vector<std::uint32_t>{1}));
  const DeviceAddress second = MustAddDevice(id);
  EXPECT_EQ(Registrations(), (std::vector<std::uint32_t>{1, 2}));
  const std::int64_t expiry = clock_.NowMillis() + 60'000;
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(1), id, expiry)));
  auto linked = store().LinkDevice(Hash(1), Device(77, "laptop"));
  ASSERT_TRUE(IsOk(linked));
  EXPECT_EQ(Registrations(), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(store().ListDeviceRegistrations(id)->back().registration_id, RegistrationId(77));
  ASSERT_TRUE(IsOk(store().RemoveDevice(second)));
  EXPECT_EQ(Registrations(), (std::vector<std::uint32_t>{1, 3}));
  // Re-added under the free id with a new registration id: the stale-device check sees it.
  const DeviceAddress again = MustAddDevice(id);
  EXPECT_EQ(again.device, DeviceId(2));
  EXPECT_EQ(Registrations(), (std::vector<std::uint32_t>{1, 2, 3}));
  ASSERT_TRUE(IsOk(store().DeleteAccount(id)));
  EXPECT_EQ(store().ListDeviceRegistrations(id).error().code, StoreErrc::kNotFound);
}

TEST_P(StoreConformanceTest, GetsTouchesAndRemovesDevices) {
  const AccountId id = MustCreateAccount("jack");
  const DeviceAddress companion = MustAddDevice(id);
  auto device = store().GetDevice(companion);
  ASSERT_TRUE(IsOk(device));
  EXPECT_EQ(device->name, "companion");
  EXPECT_EQ(device->registration_id, RegistrationId(200));
  EXPECT_EQ(device->last_seen_ms, clock_.NowMillis());

  clock_.Advance(5'000);
  ASSERT_TRUE(IsOk(store().TouchDevice(companion)));
  EXPECT_EQ(store().GetDevice(companion)->last_seen_ms, clock_.NowMillis());
  EXPECT_EQ(store().GetDevice(companion)->created_ms, clock_.NowMillis() - 5'000);

  MustUploadKeys(companion, 3);
  ASSERT_TRUE(IsOk(Send({id, DeviceId(1)}, 1, {companion})));
  ASSERT_TRUE(IsOk(store().RemoveDevice(companion)));
  EXPECT_EQ(store().GetDevice(companion).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().RemoveDevice(companion).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().TouchDevice(companion).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().ListDevices(id)->size(), 1u);

  // A device re-added at the same id starts without keys or messages.
  const DeviceAddress again = MustAddDevice(id);
  ASSERT_EQ(again, companion);
  EXPECT_EQ(store().GetIdentityKey(again).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(*store().CountOneTimePreKeys(again), 0u);
  EXPECT_EQ(*store().QueueDepth(again), 0u);
  EXPECT_TRUE(FetchAll(again).empty());
}

// ---------------------------------------------------------------------- keys

TEST_P(StoreConformanceTest, StoresIdentityAndSignedPreKey) {
  const AccountId id = MustCreateAccount("kate");
  const DeviceAddress device{id, DeviceId(1)};
  EXPECT_EQ(store().GetIdentityKey(device).error().code, StoreErrc::kNotFound);
  ASSERT_TRUE(IsOk(store().SetIdentityKey(device, Key(1))));
  EXPECT_EQ(*store().GetIdentityKey(device), Key(1));
  EXPECT_EQ(store().TakePreKeyBundle(device).error().code, StoreErrc::kNotFound);  // no signed prekey yet

  ASSERT_TRUE(IsOk(store().SetSignedPreKey(device, {SignedPreKeyId(1), Key(2), Signature(3)})));
  ASSERT_TRUE(IsOk(store().SetSignedPreKey(device, {SignedPreKeyId(2), Key(4), Signature(5)})));
  auto bundle = store().TakePreKeyBundle(device);
  ASSERT_TRUE(IsOk(bundle));
  EXPECT_EQ(bundle->address, device);
  EXPECT_EQ(bundle->registration_id, RegistrationId(100));
  EXPECT_EQ(bundle->identity_key, Key(1));
  EXPECT_EQ(bundle->signed_prekey, (SignedPreKeyRecord{SignedPreKeyId(2), Key(4), Signature(5)}));
  EXPECT_FALSE(bundle->one_time_prekey.has_value());

  const DeviceAddress missing{id, DeviceId(4)};
  EXPECT_EQ(store().SetIdentityKey(missing, Key(1)).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().SetSignedPreKey(missing, {SignedPreKeyId(1), Key(2), Signature(3)}).error().code,
            StoreErrc::kNotFound);
  EXPECT_EQ(store().AddOneTimePreKeys(missing, PreKeys(1, 1)).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().CountOneTimePreKeys(missing).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().TakePreKeyBundle(missing).error().code, StoreErrc::kNotFound);
}

TEST_P(StoreConformanceTest, NewIdentityKeyDropsTheOldIdentitysPreKeys) {
  const AccountId id = MustCreateAccount("liam");
  const DeviceAddress device{id, DeviceId(1)};
  MustUploadKeys(device, 4);
  // Setting the same key again keeps everything.
  ASSERT_TRUE(IsOk(store().SetIdentityKey(device, Key(1))));
  EXPECT_EQ(*store().CountOneTimePreKeys(device), 4u);
  EXPECT_TRUE(IsOk(store().TakePreKeyBundle(device)));

  ASSERT_TRUE(IsOk(store().SetIdentityKey(device, Key(50))));
  EXPECT_EQ(*store().GetIdentityKey(device), Key(50));
  EXPECT_EQ(*store().CountOneTimePreKeys(device), 0u);
  EXPECT_EQ(store().TakePreKeyBundle(device).error().code, StoreErrc::kNotFound);
}

TEST_P(StoreConformanceTest, OneTimePreKeysIgnoreDuplicateIds) {
  const AccountId id = MustCreateAccount("mia");
  const DeviceAddress device{id, DeviceId(1)};
  MustUploadKeys(device, 0);
  EXPECT_EQ(*store().AddOneTimePreKeys(device, PreKeys(1, 10)), 10u);
  // Ids 6..10 exist: only 11..15 are new; the stored keys of 6..10 are kept.
  std::vector<OneTimePreKeyRecord> overlap = PreKeys(6, 10);
  for (auto& key : overlap) key.public_key = Key(200);
  EXPECT_EQ(*store().AddOneTimePreKeys(device, overlap), 5u);
  // A repeat inside one batch counts once.
  std::vector<OneTimePreKeyRecord> repeated = {{PreKeyId(40), Key(1)}, {PreKeyId(40), Key(2)}};
  EXPECT_EQ(*store().AddOneTimePreKeys(device, repeated), 1u);
  EXPECT_EQ(*store().AddOneTimePreKeys(device, {}), 0u);
  EXPECT_EQ(*store().CountOneTimePreKeys(device), 16u);

  for (std::uint32_t expected = 1; expected <= 15; ++expected) {
    auto bundle = store().TakePreKeyBundle(device);
    ASSERT_TRUE(IsOk(bundle));
    ASSERT_TRUE(bundle->one_time_prekey.has_value());
    EXPECT_EQ(bundle->one_time_prekey->id, PreKeyId(expected));
    // 1..10 kept their first keys; 11..15 came with the overlapping batch.
    EXPECT_EQ(bundle->one_time_prekey->public_key,
              expected <= 10 ? Key(static_cast<std::uint8_t>(expected)) : Key(200));
  }
  auto last = store().TakePreKeyBundle(device);
  ASSERT_TRUE(IsOk(last));
  EXPECT_EQ(last->one_time_prekey->public_key, Key(1));
  EXPECT_EQ(*store().CountOneTimePreKeys(device), 0u);
  auto fallback = store().TakePreKeyBundle(device);
  ASSERT_TRUE(IsOk(fallback));
  EXPECT_FALSE(fallback->one_time_prekey.has_value());
  EXPECT_EQ(fallback->signed_prekey.id, SignedPreKeyId(7));
}

TEST_P(StoreConformanceTest, OneTimePreKeyLimitAtAndPast) {
  const AccountId id = MustCreateAccount("noah");
  const DeviceAddress device{id, DeviceId(1)};
  const auto limit = static_cast<std::uint32_t>(kMaxOneTimePreKeysPerDevice);
  ASSERT_EQ(*store().AddOneTimePreKeys(device, PreKeys(1, limit - 10)), limit - 10);
  // Past the limit: the whole batch is refused.
  auto past = store().AddOneTimePreKeys(device, PreKeys(limit, 11));
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, StoreErrc::kLimitExceeded);
  EXPECT_EQ(*store().CountOneTimePreKeys(device), limit - 10);
  // Duplicates do not count toward it; exactly at the limit is fine.
  std::vector<OneTimePreKeyRecord> mixed = PreKeys(1, 5);
  for (const auto& key : PreKeys(limit, 10)) mixed.push_back(key);
  EXPECT_EQ(*store().AddOneTimePreKeys(device, mixed), 10u);
  EXPECT_EQ(*store().CountOneTimePreKeys(device), limit);
  EXPECT_EQ(store().AddOneTimePreKeys(device, PreKeys(5000, 1)).error().code, StoreErrc::kLimitExceeded);
}

TEST_P(StoreConformanceTest, ConcurrentBundleFetchesNeverShareAPreKey) {
  const AccountId id = MustCreateAccount("olga");
  const DeviceAddress device{id, DeviceId(1)};
  constexpr std::uint32_t kPreKeys = 150;
  MustUploadKeys(device, kPreKeys);
  constexpr int kThreads = 4;
  constexpr int kFetchesPerThread = 50;  // 200 fetches for 150 prekeys
  std::vector<std::vector<std::uint32_t>> taken(kThreads);
  std::vector<int> fallbacks(kThreads, 0);
  std::vector<int> failures(kThreads, 0);
  {
    // On PostgreSQL the threads race on different pooled connections.
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kFetchesPerThread; ++i) {
          auto bundle = store().TakePreKeyBundle(device);
          if (!bundle) {
            ++failures[t];
          } else if (bundle->one_time_prekey) {
            taken[t].push_back(bundle->one_time_prekey->id.value());
          } else {
            ++fallbacks[t];
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  std::set<std::uint32_t> distinct;
  std::size_t total = 0;
  int total_fallbacks = 0;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0);
    total += taken[t].size();
    total_fallbacks += fallbacks[t];
    distinct.insert(taken[t].begin(), taken[t].end());
    // Each thread sees its prekeys in increasing id order.
    EXPECT_TRUE(std::is_sorted(taken[t].begin(), taken[t].end()));
  }
  EXPECT_EQ(total, kPreKeys);
  EXPECT_EQ(distinct.size(), kPreKeys);
  EXPECT_EQ(total_fallbacks, kThreads * kFetchesPerThread - static_cast<int>(kPreKeys));
  EXPECT_EQ(*store().CountOneTimePreKeys(device), 0u);
}

// ------------------------------------------------------------------ messages

TEST_P(StoreConformanceTest, EnqueuesAndFetchesInOrder) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress recipient{bob, DeviceId(1)};
  std::vector<std::uint64_t> ids;
  for (std::uint8_t i = 1; i <= 5; ++i) {
    clock_.Advance(10);
    auto sent = Send(sender, i, {recipient}, 100 + i);
    ASSERT_TRUE(IsOk(sent));
    EXPECT_FALSE(sent->duplicate);
    EXPECT_EQ(sent->server_timestamp_ms, clock_.NowMillis());
    ASSERT_EQ(sent->copies.size(), 1u);
    EXPECT_EQ(sent->copies[0].recipient, recipient);
    ids.push_back(sent->copies[0].server_id);
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::uint64_t>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(*store().QueueDepth(recipient), 5u);
  EXPECT_EQ(*store().QueueDepth(sender), 0u);

  auto first_two = store().FetchMessages(recipient, 0, 2);
  ASSERT_TRUE(IsOk(first_two));
  ASSERT_EQ(first_two->size(), 2u);
  const StoredEnvelope& first = (*first_two)[0];
  EXPECT_EQ(first.server_id, ids[0]);
  EXPECT_EQ(first.sender, sender);
  EXPECT_EQ(first.recipient, recipient);
  EXPECT_EQ(first.type, 1u);
  EXPECT_EQ(first.content, Content(101, 1));
  EXPECT_EQ(first.client_message_id.value()[0], 1);
  EXPECT_EQ(first.client_message_id.value()[5], 1);
  EXPECT_EQ((*first_two)[1].server_id, ids[1]);
  EXPECT_EQ((*first_two)[1].server_timestamp_ms, first.server_timestamp_ms + 10);

  auto rest = store().FetchMessages(recipient, ids[1], 100);
  ASSERT_TRUE(IsOk(rest));
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[0].server_id, ids[2]);
  EXPECT_EQ((*rest)[2].server_id, ids[4]);
  EXPECT_TRUE(store().FetchMessages(recipient, ids[4], 100)->empty());
  EXPECT_TRUE(store().FetchMessages(recipient, 0, 0)->empty());
  // Fetching does not remove anything.
  EXPECT_EQ(FetchAll(recipient).size(), 5u);
  // An unknown device has an empty queue.
  EXPECT_TRUE(store().FetchMessages({bob, DeviceId(5)}, 0, 10)->empty());
}

TEST_P(StoreConformanceTest, FanOutQueuesEveryCopyWithOneTimestamp) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress alice_phone{alice, DeviceId(1)};
  const DeviceAddress alice_laptop = MustAddDevice(alice);
  const DeviceAddress bob_phone{bob, DeviceId(1)};
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  // Bob's tablet already holds a message, so its queue ids run ahead.
  ASSERT_TRUE(IsOk(Send(alice_phone, 1, {bob_tablet})));

  auto sent = Send(alice_phone, 2, {bob_tablet, bob_phone, alice_laptop});
  ASSERT_TRUE(IsOk(sent));
  ASSERT_EQ(sent->copies.size(), 3u);
  EXPECT_EQ(sent->copies[0].recipient, bob_tablet);
  EXPECT_EQ(sent->copies[1].recipient, bob_phone);
  EXPECT_EQ(sent->copies[2].recipient, alice_laptop);
  for (const auto& device : {bob_tablet, bob_phone, alice_laptop}) {
    auto queued = FetchAll(device);
    ASSERT_FALSE(queued.empty());
    const StoredEnvelope& last = queued.back();
    EXPECT_EQ(last.server_timestamp_ms, sent->server_timestamp_ms);
    EXPECT_EQ(last.sender, alice_phone);
    EXPECT_EQ(last.recipient, device);
  }
  EXPECT_EQ(FetchAll(bob_tablet).back().server_id, sent->copies[0].server_id);
  EXPECT_EQ(FetchAll(bob_phone).back().server_id, sent->copies[1].server_id);
  EXPECT_GT(sent->copies[0].server_id, FetchAll(bob_tablet).front().server_id);
  // Each copy keeps its own type and content.
  EXPECT_EQ(FetchAll(bob_phone).back().type, 2u);
  EXPECT_EQ(FetchAll(alice_laptop).back().type, 3u);
  EXPECT_NE(FetchAll(bob_phone).back().content, FetchAll(alice_laptop).back().content);
}

TEST_P(StoreConformanceTest, RetriedSendIsNeverQueuedTwice) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress bob_phone{bob, DeviceId(1)};
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  auto first = Send(sender, 9, {bob_phone, bob_tablet});
  ASSERT_TRUE(IsOk(first));
  ASSERT_FALSE(first->duplicate);

  clock_.Advance(1'000);
  auto retry = Send(sender, 9, {bob_phone, bob_tablet});
  ASSERT_TRUE(IsOk(retry));
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->server_timestamp_ms, first->server_timestamp_ms);
  EXPECT_EQ(retry->copies, first->copies);
  // Even a retry with other envelopes answers with the first send.
  auto different = Send(sender, 9, {bob_tablet});
  ASSERT_TRUE(IsOk(different));
  EXPECT_TRUE(different->duplicate);
  EXPECT_EQ(different->copies, first->copies);
  EXPECT_EQ(*store().QueueDepth(bob_phone), 1u);
  EXPECT_EQ(*store().QueueDepth(bob_tablet), 1u);

  // Acknowledging the copies does not make a retry new.
  for (const auto& copy : first->copies)
    ASSERT_TRUE(IsOk(store().DeleteMessage(copy.recipient, copy.server_id)));
  EXPECT_TRUE(Send(sender, 9, {bob_phone})->duplicate);
  EXPECT_EQ(*store().QueueDepth(bob_phone), 0u);

  // Survives a restart.
  OpenStore();
  auto after_restart = Send(sender, 9, {bob_phone, bob_tablet});
  ASSERT_TRUE(IsOk(after_restart));
  EXPECT_TRUE(after_restart->duplicate);
  EXPECT_EQ(after_restart->copies, first->copies);
  EXPECT_TRUE(FetchAll(bob_phone).empty());

  // The key is (sender account, sender device, client id): another device of
  // the sender, or another client id, is a new send.
  const DeviceAddress sender_laptop = MustAddDevice(alice);
  std::array<std::uint8_t, 16> same_id{};
  same_id.fill(9);
  same_id[0] = 1;
  auto other_device = SendWithId(sender_laptop, ClientMessageId(same_id), {bob_phone});
  ASSERT_TRUE(IsOk(other_device));
  EXPECT_FALSE(other_device->duplicate);
  EXPECT_FALSE(Send(sender, 10, {bob_phone})->duplicate);
}

TEST_P(StoreConformanceTest, ConcurrentRetriesQueueOnce) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress recipient{bob, DeviceId(1)};
  std::atomic<int> fresh{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (std::uint8_t i = 0; i < 10; ++i) {
        auto sent = Send(sender, i, {recipient});
        if (!sent) {
          ++failures;
        } else if (sent->duplicate) {
          ++duplicates;
        } else {
          ++fresh;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(fresh.load(), 10);
  EXPECT_EQ(duplicates.load(), 30);
  EXPECT_EQ(*store().QueueDepth(recipient), 10u);
  EXPECT_EQ(FetchAll(recipient).size(), 10u);
}

TEST_P(StoreConformanceTest, ConcurrentEnqueuesKeepEachQueueOrderedAndComplete) {
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress recipient{bob, DeviceId(1)};
  const DeviceAddress recipient_tablet = MustAddDevice(bob);
  constexpr int kSenders = 4;
  constexpr int kSendsEach = 30;
  std::vector<DeviceAddress> senders;
  for (int s = 0; s < kSenders; ++s)
    senders.push_back({MustCreateAccount("sender" + std::to_string(s)), DeviceId(1)});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      for (std::uint8_t i = 0; i < kSendsEach; ++i) {
        // Alternate the order of the two recipients: fan-outs that name the
        // same queues in opposite orders must not deadlock.
        std::vector<DeviceAddress> to = (i % 2 == 0)
                                            ? std::vector<DeviceAddress>{recipient, recipient_tablet}
                                            : std::vector<DeviceAddress>{recipient_tablet, recipient};
        if (!Send(senders[s], i, to)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& device : {recipient, recipient_tablet}) {
    auto queued = FetchAll(device);
    ASSERT_EQ(queued.size(), static_cast<std::size_t>(kSenders * kSendsEach));
    for (std::size_t i = 1; i < queued.size(); ++i) EXPECT_LT(queued[i - 1].server_id, queued[i].server_id);
    // Each sender's sends appear in the order it made them.
    for (const auto& sender : senders) {
      std::vector<std::uint8_t> order;
      for (const auto& envelope : queued) {
        if (envelope.sender == sender) order.push_back(envelope.client_message_id.value()[1]);
      }
      EXPECT_EQ(order.size(), static_cast<std::size_t>(kSendsEach));
      EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
    }
    EXPECT_EQ(*store().QueueDepth(device), static_cast<std::uint64_t>(kSenders * kSendsEach));
  }
}

TEST_P(StoreConformanceTest, QueueBoundAtAndPastTheLimit) {
  options_.max_queue_depth = 5;
  OpenStore();
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress bob_phone{bob, DeviceId(1)};
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  for (std::uint8_t i = 0; i < 4; ++i) ASSERT_TRUE(IsOk(Send(sender, i, {bob_phone})));
  ASSERT_TRUE(IsOk(Send(sender, 4, {bob_phone})));  // the 5th fits exactly
  EXPECT_EQ(*store().QueueDepth(bob_phone), 5u);

  auto full = Send(sender, 5, {bob_phone});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, StoreErrc::kQueueFull);
  // A fan-out with one full queue queues nothing, not even to the free one,
  // and leaves no idempotence record behind.
  auto fan_out = Send(sender, 6, {bob_tablet, bob_phone});
  ASSERT_FALSE(fan_out);
  EXPECT_EQ(fan_out.error().code, StoreErrc::kQueueFull);
  EXPECT_EQ(*store().QueueDepth(bob_tablet), 0u);
  EXPECT_TRUE(FetchAll(bob_tablet).empty());

  // An ack frees a slot; the refused send can then go through as new.
  const auto queued = FetchAll(bob_phone);
  ASSERT_EQ(queued.size(), 5u);
  ASSERT_TRUE(IsOk(store().DeleteMessage(bob_phone, queued.front().server_id)));
  auto retried = Send(sender, 6, {bob_tablet, bob_phone});
  ASSERT_TRUE(IsOk(retried));
  EXPECT_FALSE(retried->duplicate);
  EXPECT_EQ(*store().QueueDepth(bob_phone), 5u);
  EXPECT_EQ(*store().QueueDepth(bob_tablet), 1u);
}

TEST_P(StoreConformanceTest, EnqueueBatchCommitsEachSendOnItsOwn) {
  options_.max_queue_depth = 3;
  OpenStore();
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress bob_phone{bob, DeviceId(1)};
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  for (std::uint8_t i = 1; i <= 3; ++i)
    ASSERT_TRUE(IsOk(Send(sender, i, {bob_phone})));  // the phone's queue is full

  const std::vector<std::uint8_t> content = Content(10, 5);
  const OutgoingEnvelope to_tablet[] = {{bob_tablet, 1, content}};
  const OutgoingEnvelope to_phone[] = {{bob_phone, 1, content}};
  const OutgoingEnvelope to_tablet_and_missing[] = {{bob_tablet, 1, content},
                                                    {{bob, DeviceId(5)}, 1, content}};
  const auto id = [](std::uint8_t n) {
    std::array<std::uint8_t, 16> bytes{};
    bytes.fill(n);
    return ClientMessageId(bytes);
  };
  const AccountId stranger = NewId();
  const EnqueueRequest batch[] = {
      {sender, id(10), to_tablet},                   // queued
      {sender, id(11), to_phone},                    // queue full
      {sender, id(12), to_tablet_and_missing},       // a recipient is missing
      {sender, id(13), {}},                          // no envelopes
      {sender, id(10), to_phone},                    // a retry of the first
      {{stranger, DeviceId(1)}, id(14), to_tablet},  // unknown sender account
      {sender, id(15), to_tablet},                   // queued
  };
  clock_.Advance(7);
  auto results = store().EnqueueBatch(batch);
  ASSERT_TRUE(IsOk(results));
  ASSERT_EQ(results->size(), 7u);
  const auto& r = *results;
  ASSERT_TRUE(IsOk(r[0]));
  EXPECT_FALSE(r[0]->duplicate);
  EXPECT_EQ(r[0]->server_timestamp_ms, clock_.NowMillis());
  EXPECT_EQ(r[1].error().code, StoreErrc::kQueueFull);
  EXPECT_EQ(r[2].error().code, StoreErrc::kNotFound);
  EXPECT_EQ(r[3].error().code, StoreErrc::kInvalidArgument);
  ASSERT_TRUE(IsOk(r[4]));
  EXPECT_TRUE(r[4]->duplicate);
  EXPECT_EQ(r[4]->copies, r[0]->copies);
  EXPECT_EQ(r[5].error().code, StoreErrc::kNotFound);
  ASSERT_TRUE(IsOk(r[6]));
  // The failed sends to the tablet (r[2], r[5]) gave their server ids back.
  EXPECT_EQ(r[6]->copies[0].server_id, r[0]->copies[0].server_id + 1);

  // Exactly the two good sends were queued; the failed ones left nothing,
  // not even idempotence records.
  const auto tablet = FetchAll(bob_tablet);
  ASSERT_EQ(tablet.size(), 2u);
  EXPECT_EQ(tablet[0].client_message_id, id(10));
  EXPECT_EQ(tablet[1].client_message_id, id(15));
  EXPECT_EQ(*store().QueueDepth(bob_phone), 3u);
  const EnqueueRequest again[] = {{sender, id(12), to_tablet}};
  ASSERT_TRUE(IsOk(store().EnqueueBatch(again)));
  EXPECT_EQ(*store().QueueDepth(bob_tablet), 3u);

  EXPECT_TRUE(store().EnqueueBatch({})->empty());
  const std::vector<EnqueueRequest> too_many(kMaxEnqueueBatch + 1, EnqueueRequest{sender, id(20), to_tablet});
  auto refused = store().EnqueueBatch(too_many);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(*store().QueueDepth(bob_tablet), 3u);
  // At the cap: all accepted, the first queued and the rest its duplicates.
  options_.max_queue_depth = 10;
  OpenStore();
  const std::vector<EnqueueRequest> at_cap(kMaxEnqueueBatch, EnqueueRequest{sender, id(21), to_tablet});
  auto accepted = store().EnqueueBatch(at_cap);
  ASSERT_TRUE(IsOk(accepted));
  ASSERT_EQ(accepted->size(), kMaxEnqueueBatch);
  EXPECT_FALSE(accepted->front()->duplicate);
  EXPECT_TRUE(accepted->back()->duplicate);
  EXPECT_EQ(*store().QueueDepth(bob_tablet), 4u);
}

TEST_P(StoreConformanceTest, DefaultQueueBoundIsTenThousand) {
  EXPECT_EQ(StoreOptions{}.max_queue_depth, 10'000u);
  EXPECT_EQ(kDefaultMaxQueueDepth, 10'000u);
}

TEST_P(StoreConformanceTest, RejectsMalformedSends) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress recipient{bob, DeviceId(1)};
  EXPECT_EQ(Send(sender, 1, {}).error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(Send(sender, 1, {recipient, recipient}).error().code, StoreErrc::kInvalidArgument);
  EXPECT_TRUE(IsOk(Send(sender, 2, {recipient}, kMaxEnvelopeContentBytes)));
  EXPECT_EQ(Send(sender, 3, {recipient}, kMaxEnvelopeContentBytes + 1).error().code,
            StoreErrc::kInvalidArgument);
  std::vector<DeviceAddress> too_many(kMaxEnvelopesPerEnqueue + 1, recipient);
  EXPECT_EQ(Send(sender, 4, too_many).error().code, StoreErrc::kInvalidArgument);
  // A recipient device that does not exist: nothing is queued anywhere.
  auto missing = Send(sender, 5, {recipient, {bob, DeviceId(3)}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, StoreErrc::kNotFound);
  EXPECT_EQ(*store().QueueDepth(recipient), 1u);
  auto unknown_account = Send(sender, 6, {{NewId(), DeviceId(1)}});
  ASSERT_FALSE(unknown_account);
  EXPECT_EQ(unknown_account.error().code, StoreErrc::kNotFound);
  // Empty content is allowed (the server does not look inside).
  EXPECT_TRUE(IsOk(Send(sender, 7, {recipient}, 0)));
  EXPECT_TRUE(FetchAll(recipient).back().content.empty());
}

TEST_P(StoreConformanceTest, FetchIsBoundedInCountAndBytes) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress recipient{bob, DeviceId(1)};
  const std::size_t big = kMaxEnvelopeContentBytes;
  const std::size_t fit = kMaxFetchBytes / big;
  for (std::size_t i = 0; i < fit + 3; ++i)
    ASSERT_TRUE(IsOk(Send(sender, static_cast<std::uint8_t>(i), {recipient}, big)));
  auto batch = store().FetchMessages(recipient, 0, kMaxFetchCount);
  ASSERT_TRUE(IsOk(batch));
  EXPECT_EQ(batch->size(), fit);
  auto rest = store().FetchMessages(recipient, batch->back().server_id, kMaxFetchCount);
  ASSERT_TRUE(IsOk(rest));
  EXPECT_EQ(rest->size(), 3u);
  // A count past the cap is clamped.
  for (std::size_t i = 0; i < 10; ++i)
    ASSERT_TRUE(IsOk(Send(sender, static_cast<std::uint8_t>(100 + i), {recipient}, 1)));
  auto small = store().FetchMessages(recipient, rest->back().server_id, kMaxFetchCount + 100);
  ASSERT_TRUE(IsOk(small));
  EXPECT_EQ(small->size(), 10u);
}

TEST_P(StoreConformanceTest, AckDeletesOnlyFromTheDevicesOwnQueue) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress bob_phone{bob, DeviceId(1)};
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  auto sent = Send(sender, 1, {bob_phone});
  ASSERT_TRUE(IsOk(sent));
  const std::uint64_t id = sent->copies[0].server_id;
  // Other devices, even of the same account, cannot ack it.
  EXPECT_EQ(store().DeleteMessage(bob_tablet, id).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().DeleteMessage(sender, id).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(*store().QueueDepth(bob_phone), 1u);
  ASSERT_TRUE(IsOk(store().DeleteMessage(bob_phone, id)));
  EXPECT_EQ(*store().QueueDepth(bob_phone), 0u);
  EXPECT_EQ(store().DeleteMessage(bob_phone, id).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().DeleteMessage(bob_phone, ~std::uint64_t{0}).error().code, StoreErrc::kNotFound);
  EXPECT_TRUE(FetchAll(bob_phone).empty());
  EXPECT_EQ(store().QueueDepth({bob, DeviceId(6)}).error().code, StoreErrc::kNotFound);
}

// The server's group commit: sends and acks of many connections in one call.
TEST_P(StoreConformanceTest, CommitQueueBatchQueuesAndDeletesTogether) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress bob_phone{bob, DeviceId(1)};
  auto earlier = Send(sender, 1, {bob_phone});
  ASSERT_TRUE(IsOk(earlier));
  const std::vector<std::uint8_t> content = Content(10, 5);
  const OutgoingEnvelope to_phone[] = {{bob_phone, 1, content}};
  std::array<std::uint8_t, 16> id_bytes{};
  id_bytes.fill(2);
  const EnqueueRequest sends[] = {
      {sender, ClientMessageId(id_bytes), to_phone},
      {sender, ClientMessageId(id_bytes), to_phone}};  // a retry in the same commit
  const QueuedCopy acks[] = {earlier->copies[0], {bob_phone, 999}};
  auto committed = store().CommitQueueBatch(sends, acks);
  ASSERT_TRUE(IsOk(committed));
  ASSERT_EQ(committed->sends.size(), 2u);
  ASSERT_TRUE(IsOk(committed->sends[0]));
  ASSERT_TRUE(IsOk(committed->sends[1]));
  EXPECT_FALSE(committed->sends[0]->duplicate);
  EXPECT_TRUE(committed->sends[1]->duplicate);
  EXPECT_EQ(committed->deleted, (std::vector<bool>{true, false}));
  EXPECT_EQ(*store().QueueDepth(bob_phone), 1u);
  EXPECT_EQ(FetchAll(bob_phone).front().server_id, committed->sends[0]->copies[0].server_id);
  auto empty = store().CommitQueueBatch({}, {});
  ASSERT_TRUE(IsOk(empty));
  EXPECT_TRUE(empty->sends.empty());
  EXPECT_TRUE(empty->deleted.empty());
  const std::vector<QueuedCopy> too_many(kMaxDeleteBatch + 1, QueuedCopy{bob_phone, 1});
  auto refused = store().CommitQueueBatch(sends, too_many);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(*store().QueueDepth(bob_phone), 1u) << "a refused batch changes nothing";
}

TEST_P(StoreConformanceTest, DeleteMessagesAcknowledgesManyQueuesAtOnce) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress bob_phone{bob, DeviceId(1)};
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  // The phone's queue ids run one ahead of the tablet's.
  auto early = Send(sender, 9, {bob_phone});
  ASSERT_TRUE(IsOk(early));
  auto first = Send(sender, 1, {bob_phone, bob_tablet});
  auto second = Send(sender, 2, {bob_phone, bob_tablet});
  ASSERT_TRUE(IsOk(first));
  ASSERT_TRUE(IsOk(second));
  const std::uint64_t phone_first = first->copies[0].server_id;
  const std::uint64_t tablet_first = first->copies[1].server_id;
  const std::uint64_t phone_second = second->copies[0].server_id;
  const std::vector<QueuedCopy> acks = {
      {bob_phone, phone_first},       {bob_tablet, tablet_first},
      {bob_tablet, phone_second},  // the phone's id, not in the tablet's queue
      {bob_phone, phone_first},    // already deleted above
      {bob_phone, ~std::uint64_t{0}}, {{bob, DeviceId(6)}, 1},
  };
  auto found = store().DeleteMessages(acks);
  ASSERT_TRUE(IsOk(found));
  ASSERT_GT(phone_second, second->copies[1].server_id);
  EXPECT_EQ(*found, (std::vector<bool>{true, true, false, false, false, false}));
  EXPECT_EQ(*store().QueueDepth(bob_phone), 2u);
  EXPECT_EQ(*store().QueueDepth(bob_tablet), 1u);
  EXPECT_EQ(FetchAll(bob_phone).back().server_id, phone_second);
  EXPECT_EQ(FetchAll(bob_tablet).front().server_id, second->copies[1].server_id);
  ASSERT_TRUE(IsOk(store().DeleteMessage(bob_phone, early->copies[0].server_id)));
  EXPECT_TRUE(store().DeleteMessages({})->empty());
  const std::vector<QueuedCopy> too_many(kMaxDeleteBatch + 1, QueuedCopy{bob_phone, phone_second});
  auto refused = store().DeleteMessages(too_many);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(*store().QueueDepth(bob_phone), 1u);
  const std::vector<QueuedCopy> at_cap(kMaxDeleteBatch, QueuedCopy{bob_phone, phone_second});
  auto accepted = store().DeleteMessages(at_cap);
  ASSERT_TRUE(IsOk(accepted));
  EXPECT_TRUE(accepted->front());
  EXPECT_FALSE(accepted->back());
  EXPECT_EQ(*store().QueueDepth(bob_phone), 0u);
}

TEST_P(StoreConformanceTest, IdsKeepIncreasingAcrossReopenAndNothingIsLost) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress recipient{bob, DeviceId(1)};
  std::vector<std::uint64_t> before;
  for (std::uint8_t i = 0; i < 5; ++i) before.push_back(Send(sender, i, {recipient})->copies[0].server_id);
  // Ack everything, so no row remembers the highest id.
  for (std::uint64_t id : before) ASSERT_TRUE(IsOk(store().DeleteMessage(recipient, id)));
  for (std::uint8_t i = 5; i < 8; ++i) before.push_back(Send(sender, i, {recipient})->copies[0].server_id);

  OpenStore();
  auto kept = FetchAll(recipient);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].server_id, before[5]);
  EXPECT_EQ(kept[2].server_id, before[7]);
  EXPECT_EQ(kept[2].content, Content(100, 7 + 0));
  auto after = Send(sender, 8, {recipient});
  ASSERT_TRUE(IsOk(after));
  EXPECT_GT(after->copies[0].server_id, before.back());
  EXPECT_EQ(*store().QueueDepth(recipient), 4u);
}

TEST_P(StoreConformanceTest, PurgesExpiredMessagesAndSendRecords) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress bob_phone{bob, DeviceId(1)};
  const DeviceAddress bob_tablet = MustAddDevice(bob);
  for (std::uint8_t i = 0; i < 6; ++i)
    ASSERT_TRUE(IsOk(Send(sender, i, {bob_phone, bob_tablet})));  // 12 old copies
  clock_.Advance(1'000);
  const std::int64_t cutoff = clock_.NowMillis();
  for (std::uint8_t i = 6; i < 8; ++i) ASSERT_TRUE(IsOk(Send(sender, i, {bob_phone})));  // 2 new

  auto first = store().PurgeExpiredMessages(cutoff, 5);
  ASSERT_TRUE(IsOk(first));
  EXPECT_EQ(first->messages, 5u);
  EXPECT_EQ(first->send_records, 5u);
  auto second = store().PurgeExpiredMessages(cutoff, 100);
  ASSERT_TRUE(IsOk(second));
  EXPECT_EQ(second->messages, 7u);
  EXPECT_EQ(second->send_records, 1u);
  auto third = store().PurgeExpiredMessages(cutoff, 100);
  ASSERT_TRUE(IsOk(third));
  EXPECT_EQ(third->messages, 0u);
  EXPECT_EQ(third->send_records, 0u);

  EXPECT_EQ(*store().QueueDepth(bob_phone), 2u);
  EXPECT_EQ(*store().QueueDepth(bob_tablet), 0u);
  auto left = FetchAll(bob_phone);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_GE(left[0].server_timestamp_ms, cutoff);
  // A purged send record no longer deduplicates; a kept one still does.
  EXPECT_FALSE(Send(sender, 0, {bob_phone})->duplicate);
  EXPECT_TRUE(Send(sender, 7, {bob_phone})->duplicate);
}

TEST_P(StoreConformanceTest, AcknowledgedEnqueuesSurviveKill) {
  const AccountId alice = MustCreateAccount("alice");
  const AccountId bob = MustCreateAccount("bob");
  const DeviceAddress sender{alice, DeviceId(1)};
  const DeviceAddress recipient{bob, DeviceId(1)};
  store_.reset();  // the child opens its own store; nothing shared across fork

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    auto opened = backend_->Open(clock_, options_);
    if (!opened) _exit(2);
    for (std::uint32_t i = 0;; ++i) {
      std::array<std::uint8_t, 16> id{};
      std::memcpy(id.data(), &i, sizeof i);
      const std::vector<std::uint8_t> content = Content(64, static_cast<std::uint8_t>(i));
      const OutgoingEnvelope envelope{recipient, 1, content};
      auto sent = (*opened)->Enqueue({sender, ClientMessageId(id), std::span(&envelope, 1)});
      if (!sent) _exit(3);
      // The acknowledgement: only now does the "client" learn the id.
      const std::uint64_t server_id = sent->copies[0].server_id;
      if (write(pipe_fds[1], &server_id, sizeof server_id) != sizeof server_id) _exit(4);
    }
  }
  close(pipe_fds[1]);
  std::vector<std::uint64_t> acknowledged;
  while (acknowledged.size() < 200) {
    std::uint64_t server_id = 0;
    if (read(pipe_fds[0], &server_id, sizeof server_id) != sizeof server_id) break;
    acknowledged.push_back(server_id);
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  // Ids acknowledged after we stopped reading may sit in the pipe; read them.
  std::uint64_t server_id = 0;
  while (read(pipe_fds[0], &server_id, sizeof server_id) == sizeof server_id)
    acknowledged.push_back(server_id);
  close(pipe_fds[0]);
  ASSERT_GE(acknowledged.size(), 200u) << "child exit status " << status;

  OpenStore();
  auto queued = FetchAll(recipient);
  std::vector<std::uint64_t> queued_ids;
  for (const auto& envelope : queued) queued_ids.push_back(envelope.server_id);
  // Every acknowledged id is there exactly once; at most the one in flight
  // when the process died is extra (committed, not yet acknowledged).
  for (std::uint64_t id : acknowledged) EXPECT_EQ(std::count(queued_ids.begin(), queued_ids.end(), id), 1);
  EXPECT_LE(queued_ids.size(), acknowledged.size() + 1);
  EXPECT_TRUE(std::is_sorted(queued_ids.begin(), queued_ids.end()));
  EXPECT_EQ(*store().QueueDepth(recipient), queued_ids.size());
}

// --------------------------------------------------------------- attachments

TEST_P(StoreConformanceTest, UploadsAttachmentInChunksAndReadsRanges) {
  const AccountId owner = MustCreateAccount("owner");
  const AttachmentId id = AttachmentNumber(1);
  const std::vector<std::uint8_t> blob = Content(2'500'000, 3);
  auto created = store().CreateAttachment(id, owner, blob.size());
  ASSERT_TRUE(IsOk(created));
  EXPECT_EQ(created->length, 0u);
  EXPECT_FALSE(created->complete());
  EXPECT_EQ(created->owner, owner);
  EXPECT_EQ(created->created_ms, clock_.NowMillis());

  // Uneven chunk sizes, the largest at the cap.
  const std::size_t sizes[] = {1000, kMaxAttachmentChunkBytes, 7, kMaxAttachmentChunkBytes - 3};
  std::size_t offset = 0;
  for (std::size_t size : sizes) {
    auto appended = store().AppendAttachmentChunk(id, offset, Bytes(blob.data() + offset, size));
    ASSERT_TRUE(appended) << appended.error().message;
    offset += size;
    EXPECT_EQ(appended->length, offset);
  }
  auto last = store().AppendAttachmentChunk(id, offset, Bytes(blob.data() + offset, blob.size() - offset));
  ASSERT_TRUE(IsOk(last));
  EXPECT_TRUE(last->complete());
  EXPECT_EQ(*store().GetAttachment(id), *last);

  std::vector<std::uint8_t> whole;
  while (whole.size() < blob.size()) {
    auto piece = store().ReadAttachment(id, whole.size(), 300'000);
    ASSERT_TRUE(IsOk(piece));
    ASSERT_FALSE(piece->empty());
    ASSERT_LE(piece->size(), 300'000u);
    whole.insert(whole.end(), piece->begin(), piece->end());
  }
  EXPECT_EQ(whole, blob);
  // Ranges across chunk boundaries, clamped to the cap and to the end.
  auto across = store().ReadAttachment(id, 990, 20);
  ASSERT_TRUE(IsOk(across));
  EXPECT_EQ(*across, std::vector<std::uint8_t>(blob.begin() + 990, blob.begin() + 1010));
  auto capped = store().ReadAttachment(id, 5, kMaxAttachmentReadBytes * 3);
  ASSERT_TRUE(IsOk(capped));
  EXPECT_EQ(capped->size(), kMaxAttachmentReadBytes);
  EXPECT_EQ(*capped, std::vector<std::uint8_t>(blob.begin() + 5, blob.begin() + 5 + kMaxAttachmentReadBytes));
  auto tail = store().ReadAttachment(id, blob.size() - 10, 100);
  ASSERT_TRUE(IsOk(tail));
  EXPECT_EQ(tail->size(), 10u);
  EXPECT_TRUE(store().ReadAttachment(id, blob.size(), 100)->empty());
  EXPECT_EQ(store().ReadAttachment(id, blob.size() + 1, 100).error().code, StoreErrc::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ResumesUploadAfterReopen) {
  const AccountId owner = MustCreateAccount("owner");
  const AttachmentId id = AttachmentNumber(2);
  const std::vector<std::uint8_t> blob = Content(3000, 9);
  ASSERT_TRUE(IsOk(store().CreateAttachment(id, owner, blob.size())));
  ASSERT_TRUE(store().AppendAttachmentChunk(id, 0, Bytes(blob.data(), 1200)));
  OpenStore();
  auto info = store().GetAttachment(id);
  ASSERT_TRUE(IsOk(info));
  EXPECT_EQ(info->length, 1200u);
  EXPECT_FALSE(info->complete());
  // Partial bytes read back before completion.
  EXPECT_EQ(store().ReadAttachment(id, 0, 5000)->size(), 1200u);
  // A stale offset (a chunk sent twice) or a gap is a conflict and writes nothing.
  EXPECT_EQ(store().AppendAttachmentChunk(id, 0, Bytes(blob.data(), 1200)).error().code,
            StoreErrc::kConflict);
  EXPECT_EQ(store().AppendAttachmentChunk(id, 1300, Bytes(blob.data() + 1300, 10)).error().code,
            StoreErrc::kConflict);
  EXPECT_EQ(store().GetAttachment(id)->length, 1200u);
  ASSERT_TRUE(store().AppendAttachmentChunk(id, 1200, Bytes(blob.data() + 1200, 1800)));
  EXPECT_TRUE(store().GetAttachment(id)->complete());
  std::vector<std::uint8_t> whole = *store().ReadAttachment(id, 0, 5000);
  EXPECT_EQ(whole, blob);
}

TEST_P(StoreConformanceTest, AttachmentLimitsAndErrors) {
  options_.max_attachment_bytes = 5000;
  OpenStore();
  const AccountId owner = MustCreateAccount("owner");
  EXPECT_TRUE(IsOk(store().CreateAttachment(AttachmentNumber(1), owner, 5000)));  // at the limit
  EXPECT_EQ(store().CreateAttachment(AttachmentNumber(2), owner, 5001).error().code,
            StoreErrc::kLimitExceeded);
  EXPECT_EQ(store().CreateAttachment(AttachmentNumber(3), owner, 0).error().code,
            StoreErrc::kInvalidArgument);
  EXPECT_EQ(store().CreateAttachment(AttachmentNumber(1), owner, 10).error().code, StoreErrc::kConflict);
  EXPECT_EQ(store().CreateAttachment(AttachmentNumber(4), NewId(), 10).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(StoreOptions{}.max_attachment_bytes, 100u * 1024 * 1024);

  const std::vector<std::uint8_t> blob = Content(kMaxAttachmentChunkBytes + 1, 1);
  const AttachmentId id = AttachmentNumber(1);
  EXPECT_EQ(store().AppendAttachmentChunk(id, 0, {}).error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(store().AppendAttachmentChunk(id, 0, blob).error().code, StoreErrc::kInvalidArgument);
  ASSERT_TRUE(store().AppendAttachmentChunk(id, 0, Bytes(blob.data(), 4000)));
  // Past the declared size: refused whole; exactly to it: fine.
  EXPECT_EQ(store().AppendAttachmentChunk(id, 4000, Bytes(blob.data(), 1001)).error().code,
            StoreErrc::kLimitExceeded);
  EXPECT_EQ(store().GetAttachment(id)->length, 4000u);
  ASSERT_TRUE(store().AppendAttachmentChunk(id, 4000, Bytes(blob.data(), 1000)));
  EXPECT_TRUE(store().GetAttachment(id)->complete());
  EXPECT_EQ(store().AppendAttachmentChunk(id, 5000, Bytes(blob.data(), 1)).error().code,
            StoreErrc::kLimitExceeded);

  const AttachmentId missing = AttachmentNumber(9);
  EXPECT_EQ(store().GetAttachment(missing).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().AppendAttachmentChunk(missing, 0, Bytes(blob.data(), 1)).error().code,
            StoreErrc::kNotFound);
  EXPECT_EQ(store().ReadAttachment(missing, 0, 1).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().DeleteAttachment(missing).error().code, StoreErrc::kNotFound);
}

TEST_P(StoreConformanceTest, DeletesAndListsExpiredAttachments) {
  const AccountId owner = MustCreateAccount("owner");
  for (std::uint8_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(IsOk(store().CreateAttachment(AttachmentNumber(i), owner, 100)));
    ASSERT_TRUE(IsOk(store().AppendAttachmentChunk(AttachmentNumber(i), 0, Content(50, i))));
    clock_.Advance(100);
  }
  const std::int64_t cutoff = clock_.NowMillis() - 250;  // the first three are older
  auto expired = store().ListExpiredAttachments(cutoff, 2);
  ASSERT_TRUE(IsOk(expired));
  EXPECT_EQ(*expired, (std::vector<AttachmentId>{AttachmentNumber(1), AttachmentNumber(2)}));
  for (const auto& id : *expired) ASSERT_TRUE(IsOk(store().DeleteAttachment(id)));
  expired = store().ListExpiredAttachments(cutoff, 10);
  ASSERT_TRUE(IsOk(expired));
  EXPECT_EQ(*expired, (std::vector<AttachmentId>{AttachmentNumber(3)}));
  EXPECT_EQ(store().GetAttachment(AttachmentNumber(1)).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().ReadAttachment(AttachmentNumber(1), 0, 10).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(*store().ReadAttachment(AttachmentNumber(4), 0, 100), Content(50, 4));
  // A re-created id starts empty (the old chunks went with the delete).
  ASSERT_TRUE(IsOk(store().CreateAttachment(AttachmentNumber(1), owner, 10)));
  EXPECT_TRUE(store().ReadAttachment(AttachmentNumber(1), 0, 10)->empty());
}

TEST_P(StoreConformanceTest, ListsOnlyUnfinishedAttachmentsPastTheCutoff) {
  const AccountId owner = MustCreateAccount("owner");
  // 1 and 3 finished, 2 and 4 unfinished; 5 unfinished but after the cutoff.
  for (std::uint8_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(IsOk(store().CreateAttachment(AttachmentNumber(i), owner, 100)));
    ASSERT_TRUE(
        IsOk(store().AppendAttachmentChunk(AttachmentNumber(i), 0, Content(i % 2 == 1 ? 100 : 40, i))));
    clock_.Advance(100);
  }
  const std::int64_t cutoff = clock_.NowMillis() - 150;
  auto unfinished = store().ListUnfinishedAttachments(cutoff, 10);
  ASSERT_TRUE(IsOk(unfinished));
  EXPECT_EQ(*unfinished, (std::vector<AttachmentId>{AttachmentNumber(2), AttachmentNumber(4)}));
  unfinished = store().ListUnfinishedAttachments(cutoff, 1);
  ASSERT_TRUE(IsOk(unfinished));
  EXPECT_EQ(*unfinished, (std::vector<AttachmentId>{AttachmentNumber(2)}));
  // Finishing an upload takes it off the list.
  ASSERT_TRUE(IsOk(store().AppendAttachmentChunk(AttachmentNumber(2), 40, Content(60, 2))));
  unfinished = store().ListUnfinishedAttachments(cutoff, 10);
  ASSERT_TRUE(IsOk(unfinished));
  EXPECT_EQ(*unfinished, (std::vector<AttachmentId>{AttachmentNumber(4)}));
}

// --------------------------------------------------------------- invitations

TEST_P(StoreConformanceTest, InvitationIsConsumedOnce) {
  const AccountId user = MustCreateAccount("user");
  ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(1), std::nullopt)));
  EXPECT_EQ(store().CreateInvitation(Hash(1), std::nullopt).error().code, StoreErrc::kConflict);
  auto fresh = store().GetInvitation(Hash(1));
  ASSERT_TRUE(IsOk(fresh));
  EXPECT_EQ(fresh->created_ms, clock_.NowMillis());
  EXPECT_FALSE(fresh->used_ms.has_value());
  EXPECT_FALSE(fresh->expires_ms.has_value());

  clock_.Advance(10);
  ASSERT_TRUE(IsOk(store().ConsumeInvitation(Hash(1), user)));
  auto used = store().GetInvitation(Hash(1));
  ASSERT_TRUE(IsOk(used));
  EXPECT_EQ(used->used_ms, clock_.NowMillis());
  EXPECT_EQ(used->used_by, user);
  EXPECT_EQ(store().ConsumeInvitation(Hash(1), user).error().code, StoreErrc::kAlreadyUsed);
  EXPECT_EQ(store().ConsumeInvitation(Hash(2), user).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetInvitation(Hash(2)).error().code, StoreErrc::kNotFound);
  ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(3), std::nullopt)));
  EXPECT_EQ(store().ConsumeInvitation(Hash(3), NewId()).error().code, StoreErrc::kNotFound);
  EXPECT_FALSE(store().GetInvitation(Hash(3))->used_ms.has_value());
}

TEST_P(StoreConformanceTest, InvitationExpires) {
  const AccountId user = MustCreateAccount("user");
  const std::int64_t expiry = clock_.NowMillis() + 1'000;
  ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(1), expiry)));
  ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(2), expiry)));
  EXPECT_EQ(store().GetInvitation(Hash(1))->expires_ms, expiry);
  clock_.Set(expiry - 1);
  EXPECT_TRUE(IsOk(store().ConsumeInvitation(Hash(1), user)));
  clock_.Set(expiry);
  EXPECT_EQ(store().ConsumeInvitation(Hash(2), user).error().code, StoreErrc::kExpired);
}

TEST_P(StoreConformanceTest, RegistrationWithInvitationIsAtomic) {
  MustCreateAccount("taken");
  ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(1), std::nullopt)));
  // The username is taken: no account, and the invitation stays unused.
  auto refused = store().CreateAccount({NewId(), "taken", Device(1, "x"), Hash(1)});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreErrc::kConflict);
  EXPECT_FALSE(store().GetInvitation(Hash(1))->used_ms.has_value());

  const AccountId id = NewId();
  ASSERT_TRUE(IsOk(store().CreateAccount({id, "newcomer", Device(1, "x"), Hash(1)})));
  EXPECT_EQ(store().GetInvitation(Hash(1))->used_by, id);
  // A used, unknown or expired invitation creates nothing.
  auto reused = store().CreateAccount({NewId(), "second", Device(1, "x"), Hash(1)});
  ASSERT_FALSE(reused);
  EXPECT_EQ(reused.error().code, StoreErrc::kAlreadyUsed);
  auto unknown = store().CreateAccount({NewId(), "third", Device(1, "x"), Hash(2)});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, StoreErrc::kNotFound);
  ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(3), clock_.NowMillis())));
  auto expired = store().CreateAccount({NewId(), "fourth", Device(1, "x"), Hash(3)});
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, StoreErrc::kExpired);
  EXPECT_EQ(*store().CountAccounts(), 2u);
  EXPECT_EQ(store().GetAccountByUsername("second").error().code, StoreErrc::kNotFound);
}

// Registration writes the account, its primary device and the device's keys
// in one transaction: a failure (or a crash) anywhere in it leaves no account
// that holds the username without keys.
TEST_P(StoreConformanceTest, CreatesAccountWithItsKeysInOneTransaction) {
  NewDeviceKeys keys{Key(1), {SignedPreKeyId(7), Key(2), Signature(3)}, PreKeys(1, 5)};
  keys.one_time_prekeys.push_back({PreKeyId(3), Key(99)});  // a repeated id is stored once
  NewDevice primary = Device(1234, "phone");
  primary.keys = keys;
  const AccountId id = NewId();
  // The invitation is checked after the keys were written: all of it rolls back.
  auto refused = store().CreateAccount({id, "keyed", primary, Hash(1)});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetAccountByUsername("keyed").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().GetIdentityKey({id, DeviceId(1)}).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(store().CountOneTimePreKeys({id, DeviceId(1)}).error().code, StoreErrc::kNotFound);

  ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(1), std::nullopt)));
  ASSERT_TRUE(IsOk(store().CreateAccount({id, "keyed", primary, Hash(1)})));
  const DeviceAddress device{id, DeviceId(1)};
  EXPECT_EQ(*store().GetIdentityKey(device), Key(1));
  EXPECT_EQ(*store().CountOneTimePreKeys(device), 5u);
  auto bundle = store().TakePreKeyBundle(device);
  ASSERT_TRUE(IsOk(bundle));
  EXPECT_EQ(bundle->registration_id, RegistrationId(1234));
  EXPECT_EQ(bundle->identity_key, Key(1));
  EXPECT_EQ(bundle->signed_prekey, (SignedPreKeyRecord{SignedPreKeyId(7), Key(2), Signature(3)}));
  ASSERT_TRUE(bundle->one_time_prekey.has_value());
  EXPECT_EQ(*bundle->one_time_prekey, (OneTimePreKeyRecord{PreKeyId(1), Key(1)}));

  // Past the prekey cap nothing is created.
  NewDevice overfull = Device(1, "x");
  overfull.keys = NewDeviceKeys{Key(4),
                                {SignedPreKeyId(1), Key(5), Signature(6)},
                                PreKeys(1, static_cast<std::uint32_t>(kMaxOneTimePreKeysPerDevice) + 1)};
  auto too_many = store().CreateAccount({NewId(), "overfull", overfull, std::nullopt});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(store().GetAccountByUsername("overfull").error().code, StoreErrc::kNotFound);
  // Without keys the device has none yet (they come with UploadKeys).
  const AccountId bare = MustCreateAccount("bare");
  EXPECT_EQ(store().GetIdentityKey({bare, DeviceId(1)}).error().code, StoreErrc::kNotFound);
}

TEST_P(StoreConformanceTest, LinkDeviceStoresTheNewDevicesKeysWithIt) {
  const AccountId account = MustCreateAccount("primary");
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(1), account, clock_.NowMillis() + 60'000)));
  NewDevice laptop = Device(77, "laptop");
  laptop.keys = NewDeviceKeys{Key(8), {SignedPreKeyId(2), Key(9), Signature(10)}, PreKeys(100, 3)};
  auto linked = store().LinkDevice(Hash(1), laptop);
  ASSERT_TRUE(IsOk(linked));
  EXPECT_EQ(*store().GetIdentityKey(linked->address), Key(8));
  EXPECT_EQ(*store().CountOneTimePreKeys(linked->address), 3u);
  auto bundle = store().TakePreKeyBundle(linked->address);
  ASSERT_TRUE(IsOk(bundle));
  EXPECT_EQ(bundle->signed_prekey.id, SignedPreKeyId(2));
  ASSERT_TRUE(bundle->one_time_prekey.has_value());
  EXPECT_EQ(bundle->one_time_prekey->id, PreKeyId(100));
}

TEST_P(StoreConformanceTest, ConcurrentConsumersOfOneInvitationOneWins) {
  std::vector<AccountId> users;
  for (int i = 0; i < 4; ++i) users.push_back(MustCreateAccount("user" + std::to_string(i)));
  for (std::uint8_t round = 1; round <= 5; ++round) {
    ASSERT_TRUE(IsOk(store().CreateInvitation(Hash(round), std::nullopt)));
    std::atomic<int> winners{0};
    std::atomic<int> already_used{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        auto consumed = store().ConsumeInvitation(Hash(round), users[t]);
        if (consumed) {
          ++winners;
        } else if (consumed.error().code == StoreErrc::kAlreadyUsed) {
          ++already_used;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(already_used.load(), 3);
  }
}

// -------------------------------------------------------------- provisioning

TEST_P(StoreConformanceTest, ProvisioningCodeIsConsumedOnce) {
  const AccountId account = MustCreateAccount("primary");
  const std::int64_t expiry = clock_.NowMillis() + 60'000;
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(1), account, expiry)));
  EXPECT_EQ(store().CreateProvisioningCode(Hash(1), account, expiry).error().code, StoreErrc::kConflict);
  EXPECT_EQ(store().CreateProvisioningCode(Hash(2), NewId(), expiry).error().code, StoreErrc::kNotFound);
  auto consumed = store().ConsumeProvisioningCode(Hash(1));
  ASSERT_TRUE(IsOk(consumed));
  EXPECT_EQ(*consumed, account);
  EXPECT_EQ(store().ConsumeProvisioningCode(Hash(1)).error().code, StoreErrc::kAlreadyUsed);
  EXPECT_EQ(store().ConsumeProvisioningCode(Hash(3)).error().code, StoreErrc::kNotFound);

  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(4), account, expiry)));
  clock_.Set(expiry - 1);
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(5), account, expiry)));
  EXPECT_TRUE(IsOk(store().ConsumeProvisioningCode(Hash(5))));
  clock_.Set(expiry);
  EXPECT_EQ(store().ConsumeProvisioningCode(Hash(4)).error().code, StoreErrc::kExpired);
}

TEST_P(StoreConformanceTest, LinkDeviceConsumesTheCodeOnlyWhenTheDeviceIsAdded) {
  const AccountId account = MustCreateAccount("primary");
  const std::int64_t expiry = clock_.NowMillis() + 60'000;
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(1), account, expiry)));
  auto linked = store().LinkDevice(Hash(1), Device(77, "laptop"));
  ASSERT_TRUE(IsOk(linked));
  EXPECT_EQ(linked->address, (DeviceAddress{account, DeviceId(2)}));
  EXPECT_EQ(store().GetDevice(linked->address)->name, "laptop");
  EXPECT_EQ(store().LinkDevice(Hash(1), Device(78, "again")).error().code, StoreErrc::kAlreadyUsed);
  EXPECT_EQ(store().LinkDevice(Hash(9), Device(78, "unknown")).error().code, StoreErrc::kNotFound);

  for (std::size_t i = 2; i < kMaxDevicesPerAccount; ++i) MustAddDevice(account);
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(2), account, expiry)));
  auto full = store().LinkDevice(Hash(2), Device(79, "seventh"));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, StoreErrc::kLimitExceeded);
  // The code survives the refusal and works once a slot is free.
  ASSERT_TRUE(IsOk(store().RemoveDevice({account, DeviceId(4)})));
  auto retried = store().LinkDevice(Hash(2), Device(79, "seventh"));
  ASSERT_TRUE(IsOk(retried));
  EXPECT_EQ(retried->address.device, DeviceId(4));

  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(3), account, expiry)));
  clock_.Set(expiry);
  EXPECT_EQ(store().LinkDevice(Hash(3), Device(80, "late")).error().code, StoreErrc::kExpired);
  NewDevice bad = Device(81, "bad");
  bad.credential.salt.clear();
  EXPECT_EQ(store().LinkDevice(Hash(3), bad).error().code, StoreErrc::kInvalidArgument);
}

TEST_P(StoreConformanceTest, PurgesUsedAndExpiredProvisioningCodes) {
  const AccountId account = MustCreateAccount("primary");
  const std::int64_t now = clock_.NowMillis();
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(1), account, now + 100)));     // used
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(2), account, now + 100)));     // expires
  ASSERT_TRUE(IsOk(store().CreateProvisioningCode(Hash(3), account, now + 10'000)));  // stays
  ASSERT_TRUE(IsOk(store().ConsumeProvisioningCode(Hash(1))));
  EXPECT_EQ(*store().PurgeProvisioningCodes(), 1u);
  clock_.Advance(100);
  EXPECT_EQ(*store().PurgeProvisioningCodes(), 1u);
  EXPECT_EQ(*store().PurgeProvisioningCodes(), 0u);
  EXPECT_EQ(store().ConsumeProvisioningCode(Hash(2)).error().code, StoreErrc::kNotFound);
  EXPECT_TRUE(IsOk(store().ConsumeProvisioningCode(Hash(3))));
}

}  // namespace parley::store::conformance
