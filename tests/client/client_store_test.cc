// The SQLCipher client store: keys, encryption at rest, reopening,
// transactions and the records it keeps.
#include "store/client_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "base/hex.h"
#include "protocol/prekey.h"

namespace parley::store {
namespace {

class ClientStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-client-store-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ClientStore> Open(const ClientStoreKey& key) {
    auto store = ClientStore::Open(dir_ / "parley.db", key, clock_);
    EXPECT_TRUE(store) << (store ? "" : ClientStoreErrcName(store.error().code));
    return store ? std::move(*store) : nullptr;
  }

  std::filesystem::path dir_;
  ManualClock clock_{1'000};
  DeterministicRng rng_{7};
};

TEST_F(ClientStoreTest, KeyFileIsCreatedPrivateAndReadBack) {
  auto created = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(again);
  EXPECT_TRUE(std::equal(created->bytes().begin(), created->bytes().end(), again->bytes().begin()));
}

TEST_F(ClientStoreTest, KeyFileReadableByOthersIsRefused) {
  ASSERT_TRUE(KeyFromFile(dir_ / "k"));
  chmod((dir_ / "k").c_str(), 0644);
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ClientStoreErrc::kKeyFilePermissions);
}

TEST_F(ClientStoreTest, KeyFileOfTheWrongSizeIsRefused) {
  std::ofstream(dir_ / "k") << "short";
  chmod((dir_ / "k").c_str(), 0600);
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ClientStoreErrc::kInvalidArgument);
}

TEST_F(ClientStoreTest, PassphraseOpensAndAWrongOneDoesNot) {
  auto key = KeyFromPassphrase("correct horse", dir_ / "salt");
  ASSERT_TRUE(key);
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->SetCounter("x", 5));
  }
  auto same = KeyFromPassphrase("correct horse", dir_ / "salt");
  ASSERT_TRUE(same);
  auto reopened = Open(*same);
  ASSERT_TRUE(reopened);
  auto value = reopened->GetCounter("x");
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, 5);
  reopened.reset();

  auto wrong = KeyFromPassphrase("wrong horse", dir_ / "salt");
  ASSERT_TRUE(wrong);
  auto refused = ClientStore::Open(dir_ / "parley.db", *wrong, clock_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientStoreErrc::kBadKey);
  EXPECT_FALSE(KeyFromPassphrase("", dir_ / "salt"));
}

TEST_F(ClientStoreTest, TheFileIsEncryptedAtRest) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    Contact c;
    c.account = AccountId(Uuid::Random(rng_));
    c.username = "findme_in_plaintext";
    c.state = ContactState::kAccepted;
    ASSERT_TRUE(store->SaveContact(c));
  }
  std::ifstream in(dir_ / "parley.db", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find("SQLite format 3"), std::string::npos);
  EXPECT_EQ(bytes.find("findme_in_plaintext"), std::string::npos);
}

TEST_F(ClientStoreTest, AccountAndIdentitySurviveReopening) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const auto identity = protocol::GenerateIdentityKeyPair(rng_);
  const AccountId account(Uuid::Random(rng_));
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    EXPECT_FALSE(store->has_identity());
    ASSERT_TRUE(store->SetLocalIdentity(identity, RegistrationId(77)));
    LocalAccount local;
    local.account = account;
    local.device = DeviceId(2);
    local.username = "alice";
    local.credential.bytes()[3] = 9;
    local.host = "example.org";
    local.port = 8443;
    local.pin = "ab";
    ASSERT_TRUE(store->SaveAccount(local));
  }
  auto store = Open(*key);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->has_identity());
  EXPECT_EQ(store->GetIdentityKeyPair().public_key, identity.public_key);
  EXPECT_EQ(store->GetLocalRegistrationId(), RegistrationId(77));
  auto local = store->LoadAccount();
  ASSERT_TRUE(local && *local);
  EXPECT_EQ((*local)->account, account);
  EXPECT_EQ((*local)->device, DeviceId(2));
  EXPECT_EQ((*local)->username, "alice");
  EXPECT_EQ((*local)->credential.bytes()[3], 9);
  EXPECT_EQ((*local)->host, "example.org");
  EXPECT_EQ((*local)->pin, "ab");
}

TEST_F(ClientStoreTest, CountersByPrefixAndDeleted) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  auto store = Open(*key);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->SetCounter("pending.b", 2));
  ASSERT_TRUE(store->SetCounter("pending.a", 1));
  ASSERT_TRUE(store->SetCounter("pendingX", 3));  // "_" or "%" in a prefix would match this with LIKE
  ASSERT_TRUE(store->SetCounter("other", 4));
  auto found = store->CountersWithPrefix("pending.");
  ASSERT_TRUE(found);
  using Row = std::pair<std::string, std::int64_t>;
  EXPECT_EQ(*found, (std::vector<Row>{{"pending.a", 1}, {"pending.b", 2}}));
  auto underscore = store->CountersWithPrefix("pending_");
  ASSERT_TRUE(underscore);
  EXPECT_TRUE(underscore->empty());
  ASSERT_TRUE(store->DeleteCounter("pending.a"));
  found = store->CountersWithPrefix("pending.");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, (std::vector<Row>{{"pending.b", 2}}));
  EXPECT_FALSE(*store->GetCounter("pending.a"));
}

TEST_F(ClientStoreTest, ExpiredMessagesSoonestFirstAndDeletedWithTheirAttachment) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  auto store = Open(*key);
  ASSERT_TRUE(store);
  auto none = store->NextExpiry();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  const AccountId sender(Uuid::Random(rng_));
  for (std::uint8_t n : {1, 2, 3, 4}) {
    StoredMessage m;
    m.id.fill(n);
    m.conversation = sender.value().ToString();
    m.sender = sender;
    m.body = "m";
    m.expires_at_ms = n == 4 ? 0 : 1'000 * (4 - n);  // 3: 1000, 2: 2000, 1: 3000, 4: never
    ASSERT_TRUE(store->InsertMessage(m));
  }
  auto next = store->NextExpiry();
  ASSERT_TRUE(next && *next);
  EXPECT_EQ(**next, 1'000);
  MessageId one{}, two{}, three{};
  one.fill(1);
  two.fill(2);
  three.fill(3);
  auto due = store->ExpiredMessages(2'000, 10);
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, (std::vector<MessageId>{three, two}));
  auto limited = store->ExpiredMessages(5'000, 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(*limited, std::vector<MessageId>{three});
  const std::uint8_t pointer[] = {1, 2, 3};
  ASSERT_TRUE(store->SaveAttachment(three, pointer));
  ASSERT_TRUE(store->SetReaction(three, sender, "+1"));
  ASSERT_TRUE(store->DeleteMessage(three));
  EXPECT_FALSE(*store->FindMessage(three));
  EXPECT_FALSE(*store->FindAttachment(three));
  next = store->NextExpiry();
  ASSERT_TRUE(next && *next);
  EXPECT_EQ(**next, 2'000);
}

TEST_F(ClientStoreTest, ProcessedMarksOlderThanACutoffArePurged) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  auto store = Open(*key);
  ASSERT_TRUE(store);
  const AccountId sender(Uuid::Random(rng_));
  const std::array<std::uint8_t, 16> old_id{1}, new_id{2};
  ASSERT_TRUE(store->MarkProcessed(sender, DeviceId(1), old_id));  // at 1,000 ms
  clock_.Advance(5'000);
  ASSERT_TRUE(store->MarkProcessed(sender, DeviceId(1), new_id));  // at 6,000 ms
  auto purged = store->PurgeProcessed(1'000);                      // strictly before the cutoff only
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 0u);
  purged = store->PurgeProcessed(6'000);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  EXPECT_FALSE(*store->IsProcessed(sender, DeviceId(1), old_id));
  EXPECT_TRUE(*store->IsProcessed(sender, DeviceId(1), new_id));
}

TEST_F(ClientStoreTest, RollbackUndoesAMessageAndItsProcessedMark) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  auto store = Open(*key);
  ASSERT_TRUE(store);
  const AccountId sender(Uuid::Random(rng_));
  const std::array<std::uint8_t, 16> cmid{1, 2, 3};
  StoredMessage m;
  m.id.fill(1);
  m.conversation = sender.value().ToString();
  m.sender = sender;
  m.body = "hi";
  ASSERT_TRUE(store->Begin());
  ASSERT_TRUE(store->InsertMessage(m));
  ASSERT_TRUE(store->MarkProcessed(sender, DeviceId(1), cmid));
  store->Rollback();
  auto found = store->FindMessage(m.id);
  ASSERT_TRUE(found);
  EXPECT_FALSE(*found);
  auto processed = store->IsProcessed(sender, DeviceId(1), cmid);
  ASSERT_TRUE(processed);
  EXPECT_FALSE(*processed);

  ASSERT_TRUE(store->Begin());
  ASSERT_TRUE(store->InsertMessage(m));
  ASSERT_TRUE(store->MarkProcessed(sender, DeviceId(1), cmid));
  ASSERT_TRUE(store->Commit());
  processed = store->IsProcessed(sender, DeviceId(1), cmid);
  ASSERT_TRUE(processed);
  EXPECT_TRUE(*processed);
  // The same message id is not stored twice.
  auto again = store->InsertMessage(m);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

StoredMessage TestMessage(const AccountId& sender, std::uint8_t n) {
  StoredMessage m;
  m.id.fill(n);
  m.conversation = sender.value().ToString();
  m.sender = sender;
  m.body = "m" + std::to_string(n);
  return m;
}

bool Has(ClientStore& store, const StoredMessage& m) {
  auto found = store.FindMessage(m.id);
  EXPECT_TRUE(found);
  return found && found->has_value();
}

// Inserts m in a transaction of its own, then commits or rolls it back.
void InsertInTransaction(ClientStore& store, const StoredMessage& m, bool commit) {
  ASSERT_TRUE(store.Begin());
  ASSERT_TRUE(store.InsertMessage(m));
  if (commit) {
    ASSERT_TRUE(store.Commit());
  } else {
    store.Rollback();
  }
}

TEST_F(ClientStoreTest, ABatchIsDurableOnlyWhenItCommits) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId sender(Uuid::Random(rng_));
  auto message = [&](std::uint8_t n) { return TestMessage(sender, n); };
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->BeginBatch());
    EXPECT_FALSE(store->BeginBatch());
    ASSERT_TRUE(store->Begin());
    ASSERT_TRUE(store->InsertMessage(message(1)));
    ASSERT_TRUE(store->Commit());
    // A transaction that changed nothing rolls back without harm.
    ASSERT_TRUE(store->Begin());
    ASSERT_TRUE(store->IsProcessed(sender, DeviceId(1), message(2).id));
    store->Rollback();
    ASSERT_TRUE(store->Begin());
    ASSERT_TRUE(store->InsertMessage(message(3)));
    ASSERT_TRUE(store->Commit());
    EXPECT_TRUE(Has(*store, message(1)));
    ASSERT_TRUE(store->CommitBatch());
    EXPECT_FALSE(store->in_batch());
  }
  {
    // Durable after CommitBatch; a batch rolled back (or left open when the
    // store closes) keeps nothing.
    auto store = Open(*key);
    ASSERT_TRUE(store);
    EXPECT_TRUE(Has(*store, message(1)));
    EXPECT_TRUE(Has(*store, message(3)));
    ASSERT_TRUE(store->BeginBatch());
    ASSERT_TRUE(store->Begin());
    ASSERT_TRUE(store->InsertMessage(message(4)));
    ASSERT_TRUE(store->Commit());
    store->RollbackBatch();
    EXPECT_FALSE(Has(*store, message(4)));
    ASSERT_TRUE(store->BeginBatch());
    ASSERT_TRUE(store->Begin());
    ASSERT_TRUE(store->InsertMessage(message(5)));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->Begin());
    // A transaction still open: the batch is refused and undone.
    EXPECT_FALSE(store->CommitBatch());
    EXPECT_FALSE(store->in_batch());
    EXPECT_FALSE(Has(*store, message(5)));
    ASSERT_TRUE(store->BeginBatch());
    ASSERT_TRUE(store->InsertMessage(message(6)));
  }
  auto store = Open(*key);
  ASSERT_TRUE(store);
  EXPECT_FALSE(Has(*store, message(6)));
}

TEST_F(ClientStoreTest, ARolledBackChangeFailsTheWholeBatch) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId sender(Uuid::Random(rng_));
  const protocol::ProtocolAddress address{sender.value().ToString(), DeviceId(1)};
  auto message = [&](std::uint8_t n) { return TestMessage(sender, n); };
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->BeginBatch());
    InsertInTransaction(*store, message(1), true);
    InsertInTransaction(*store, message(2), false);
    // Nothing more is taken into the failed batch, and what was written
    // before the failure goes with it.
    auto refused = store->Begin();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ClientStoreErrc::kUnavailable);
    ASSERT_TRUE(store->MarkProcessed(sender, DeviceId(1), message(7).id));
    EXPECT_FALSE(Has(*store, message(1)));
    EXPECT_FALSE(store->CommitBatch());
    EXPECT_FALSE(store->in_batch());
    EXPECT_FALSE(Has(*store, message(1)));
    EXPECT_FALSE(Has(*store, message(2)));

    // A session record changed and rolled back fails the batch too, and its
    // cached copy is dropped.
    ASSERT_TRUE(store->BeginBatch());
    ASSERT_TRUE(store->Begin());
    ASSERT_TRUE(store->StoreSession(address, protocol::SessionRecord()));
    store->Rollback();
    EXPECT_EQ(store->LoadSession(address), nullptr);
    EXPECT_FALSE(store->CommitBatch());

    // Without a batch, the same runs one transaction at a time.
    InsertInTransaction(*store, message(1), true);
    InsertInTransaction(*store, message(2), false);
    InsertInTransaction(*store, message(3), true);
  }
  auto store = Open(*key);
  ASSERT_TRUE(store);
  EXPECT_TRUE(Has(*store, message(1)));
  EXPECT_FALSE(Has(*store, message(2)));
  EXPECT_TRUE(Has(*store, message(3)));
  auto processed = store->IsProcessed(sender, DeviceId(1), message(7).id);
  ASSERT_TRUE(processed);
  EXPECT_FALSE(*processed);
}

TEST_F(ClientStoreTest, SessionRecordsOfABatchAreWrittenInItsCommit) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId peer(Uuid::Random(rng_));
  const protocol::ProtocolAddress address{peer.value().ToString(), DeviceId(1)};
  const protocol::ProtocolAddress other{peer.value().ToString(), DeviceId(2)};
  auto store = Open(*key);
  ASSERT_TRUE(store);
  // A second connection sees only what is committed.
  auto reader = Open(*key);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(store->BeginBatch());
  ASSERT_TRUE(store->Begin());
  ASSERT_TRUE(store->StoreSession(address, protocol::SessionRecord()));
  ASSERT_TRUE(store->InsertMessage(TestMessage(peer, 1)));
  ASSERT_TRUE(store->Commit());
  ASSERT_TRUE(store->Begin());
  ASSERT_NE(store->LoadSession(address), nullptr);
  ASSERT_TRUE(store->SessionUpdated(address));
  ASSERT_TRUE(store->Commit());
  EXPECT_EQ(reader->LoadSession(address), nullptr);
  // Listing a peer's sessions inside the batch includes the unwritten ones.
  ASSERT_TRUE(store->StoreSession(other, protocol::SessionRecord()));
  auto devices = store->SessionDevices(peer);
  ASSERT_TRUE(devices);
  EXPECT_EQ(*devices, (std::vector<DeviceId>{DeviceId(1), DeviceId(2)}));
  ASSERT_TRUE(store->DeleteSession(other));
  ASSERT_TRUE(store->CommitBatch());
  EXPECT_NE(reader->LoadSession(address), nullptr);
  EXPECT_TRUE(Has(*reader, TestMessage(peer, 1)));
  EXPECT_EQ(reader->LoadSession(other), nullptr);

  // A failed batch leaves the committed record in place.
  ASSERT_TRUE(store->BeginBatch());
  ASSERT_TRUE(store->Begin());
  ASSERT_TRUE(store->DeleteSession(address));
  store->Rollback();
  EXPECT_FALSE(store->CommitBatch());
  EXPECT_NE(store->LoadSession(address), nullptr);
}

// Copies the store at `from` (current page size) into `to` with another
// page size, as SQLCipher itself would have written it.
void ExportWithPageSize(const std::filesystem::path& from, const std::filesystem::path& to,
                        const ClientStoreKey& key, int page_size) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(from.c_str(), &db), SQLITE_OK);
  const std::string literal = "x'" + ToHex(key.bytes()) + "'";
  const std::string sql = "PRAGMA key = \"" + literal +
                          "\"; PRAGMA cipher_page_size = " + std::to_string(kClientStorePageSize) +
                          "; ATTACH DATABASE '" + to.string() + "' AS old KEY \"" + literal +
                          "\"; PRAGMA old.cipher_page_size = " + std::to_string(page_size) +
                          "; SELECT sqlcipher_export('old'); DETACH DATABASE old;";
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// Whether the file opens with key and page size.
bool OpensWithPageSize(const std::filesystem::path& path, const ClientStoreKey& key, int page_size) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return false;
  }
  const std::string sql = "PRAGMA key = \"x'" + ToHex(key.bytes()) +
                          "'\"; PRAGMA cipher_page_size = " + std::to_string(page_size) +
                          "; SELECT count(*) FROM sqlite_master;";
  const bool ok = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

TEST_F(ClientStoreTest, AStoreWithTheOldPageSizeIsMigratedWithAllItsData) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId peer(Uuid::Random(rng_));
  const protocol::ProtocolAddress address{peer.value().ToString(), DeviceId(1)};
  const auto identity = crypto::KeyPair::Generate(rng_);
  const std::filesystem::path current = dir_ / "current.db";
  {
    auto store = ClientStore::Open(current, *key, clock_);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->SetLocalIdentity(identity, RegistrationId(42)));
    ASSERT_TRUE((*store)->StoreSession(address, protocol::SessionRecord()));
    ASSERT_TRUE((*store)->MarkProcessed(peer, DeviceId(1), TestMessage(peer, 9).id));
    for (std::uint8_t n = 1; n <= 200; ++n) ASSERT_TRUE((*store)->InsertMessage(TestMessage(peer, n)));
  }
  EXPECT_TRUE(OpensWithPageSize(current, *key, kClientStorePageSize));
  ExportWithPageSize(current, dir_ / "parley.db", *key, kClientStoreOldPageSize);
  ASSERT_TRUE(OpensWithPageSize(dir_ / "parley.db", *key, kClientStoreOldPageSize));
  ASSERT_FALSE(OpensWithPageSize(dir_ / "parley.db", *key, kClientStorePageSize));

  // A wrong key opens neither way and changes nothing.
  ClientStoreKey wrong;
  wrong.data()[0] = 1;
  auto refused = ClientStore::Open(dir_ / "parley.db", wrong, clock_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientStoreErrc::kBadKey);
  EXPECT_TRUE(OpensWithPageSize(dir_ / "parley.db", *key, kClientStoreOldPageSize));

  for (int round = 0; round < 2; ++round) {  // migrated once, then opened as it is
    auto store = Open(*key);
    ASSERT_TRUE(store);
    EXPECT_TRUE(OpensWithPageSize(dir_ / "parley.db", *key, kClientStorePageSize));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "parley.db.migrating"));
    EXPECT_EQ(store->GetLocalRegistrationId(), RegistrationId(42));
    EXPECT_NE(store->LoadSession(address), nullptr);
    auto processed = store->IsProcessed(peer, DeviceId(1), TestMessage(peer, 9).id);
    ASSERT_TRUE(processed);
    EXPECT_TRUE(*processed);
    auto history = store->History(peer.value().ToString(), 1000);
    ASSERT_TRUE(history);
    ASSERT_EQ(history->size(), 200u + static_cast<std::size_t>(round));
    EXPECT_EQ(history->back().body, "m" + std::to_string(200 + round));
    ASSERT_TRUE(store->InsertMessage(TestMessage(peer, 201 + round)));
  }
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "parley.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ClientStoreTest, AnInterruptedMigrationLeavesTheOldStoreUsable) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId peer(Uuid::Random(rng_));
  const std::filesystem::path current = dir_ / "current.db";
  {
    auto store = ClientStore::Open(current, *key, clock_);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->InsertMessage(TestMessage(peer, 1)));
  }
  ExportWithPageSize(current, dir_ / "parley.db", *key, kClientStoreOldPageSize);
  // What a crash mid-copy leaves: the old store and a partial new file.
  {
    std::ofstream partial(dir_ / "parley.db.migrating", std::ios::binary);
    partial << std::string(5000, 'x');
  }
  auto store = Open(*key);
  ASSERT_TRUE(store);
  EXPECT_TRUE(Has(*store, TestMessage(peer, 1)));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "parley.db.migrating"));
  EXPECT_TRUE(OpensWithPageSize(dir_ / "parley.db", *key, kClientStorePageSize));
}

TEST_F(ClientStoreTest, IdentitiesAreTrustedOnFirstUseAndReplacedUnverified) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  auto store = Open(*key);
  ASSERT_TRUE(store);
  const AccountId peer(Uuid::Random(rng_));
  const protocol::ProtocolAddress address{peer.value().ToString(), DeviceId(1)};
  const auto first = crypto::KeyPair::Generate(rng_).public_key;
  const auto second = crypto::KeyPair::Generate(rng_).public_key;
  EXPECT_TRUE(store->IsTrustedIdentity(address, first));
  ASSERT_TRUE(store->SaveIdentity(address, first));
  EXPECT_FALSE(store->IsTrustedIdentity(address, second));
  auto refused = store->SaveIdentity(address, second);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, protocol::ProtocolErrc::kUntrustedIdentity);
  ASSERT_TRUE(store->MarkIdentitiesVerified(peer));
  auto ids = store->Identities(peer);
  ASSERT_TRUE(ids);
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_TRUE((*ids)[0].verified);
  ASSERT_TRUE(store->ReplaceIdentity(address, second));
  ids = store->Identities(peer);
  ASSERT_TRUE(ids);
  EXPECT_EQ((*ids)[0].key, second);
  EXPECT_FALSE((*ids)[0].verified);
}

TEST_F(ClientStoreTest, OutgoingStatusOnlyMovesForward) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  auto store = Open(*key);
  ASSERT_TRUE(store);
  StoredMessage m;
  m.id.fill(2);
  m.conversation = "c";
  m.direction = Direction::kOutgoing;
  m.status = MessageStatus::kSending;
  ASSERT_TRUE(store->InsertMessage(m));
  ASSERT_TRUE(store->UpdateStatus(m.id, MessageStatus::kRead));
  ASSERT_TRUE(store->UpdateStatus(m.id, MessageStatus::kSent));
  ASSERT_TRUE(store->UpdateStatus(m.id, MessageStatus::kDelivered));
  auto found = store->FindMessage(m.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->status, MessageStatus::kRead);
}

TEST_F(ClientStoreTest, ExpiredMessagesAreDeleted) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  auto store = Open(*key);
  ASSERT_TRUE(store);
  StoredMessage keep, expire;
  keep.id.fill(3);
  keep.conversation = expire.conversation = "c";
  expire.id.fill(4);
  expire.expires_at_ms = 500;
  ASSERT_TRUE(store->InsertMessage(keep));
  ASSERT_TRUE(store->InsertMessage(expire));
  auto n = store->DeleteExpiredMessages(499);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  n = store->DeleteExpiredMessages(500);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  auto history = store->History("c", 10);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].id, keep.id);
}

TEST_F(ClientStoreTest, ReceiptsPerMemberOnlyMoveForwardAndGoWithTheirMessage) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  auto store = Open(*key);
  ASSERT_TRUE(store);
  StoredMessage m;
  m.id.fill(5);
  m.conversation = "group:00000000000000000000000000000005";
  m.direction = Direction::kOutgoing;
  ASSERT_TRUE(store->InsertMessage(m));
  const AccountId bob(*Uuid::Parse("00000000-0000-4000-8000-00000000000b"));
  const AccountId carol(*Uuid::Parse("00000000-0000-4000-8000-00000000000c"));
  auto changed = store->SetReceipt(m.id, bob, MessageStatus::kRead, 10);
  ASSERT_TRUE(changed);
  EXPECT_TRUE(*changed);
  changed = store->SetReceipt(m.id, bob, MessageStatus::kDelivered, 20);
  ASSERT_TRUE(changed);
  EXPECT_FALSE(*changed);
  changed = store->SetReceipt(m.id, carol, MessageStatus::kDelivered, 30);
  ASSERT_TRUE(changed && *changed);
  changed = store->SetReceipt(m.id, carol, MessageStatus::kRead, 40);
  ASSERT_TRUE(changed && *changed);
  auto bad = store->SetReceipt(m.id, carol, MessageStatus::kSending, 50);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ClientStoreErrc::kInvalidArgument);
  // A "sent" entry (the message went to that member) never hides a receipt,
  // and a receipt replaces it.
  changed = store->SetReceipt(m.id, carol, MessageStatus::kSent, 50);
  ASSERT_TRUE(changed);
  EXPECT_FALSE(*changed);
  const AccountId dave(*Uuid::Parse("00000000-0000-4000-8000-00000000000d"));
  changed = store->SetReceipt(m.id, dave, MessageStatus::kSent, 60);
  ASSERT_TRUE(changed && *changed);
  auto receipts = store->Receipts(m.id);
  ASSERT_TRUE(receipts);
  EXPECT_EQ(*receipts, (std::vector<MessageReceipt>{{bob, MessageStatus::kRead, 10},
                                                    {carol, MessageStatus::kRead, 40},
                                                    {dave, MessageStatus::kSent, 60}}));
  changed = store->SetReceipt(m.id, dave, MessageStatus::kDelivered, 70);
  ASSERT_TRUE(changed && *changed);
  receipts = store->Receipts(m.id);
  ASSERT_TRUE(receipts);
  EXPECT_EQ(receipts->back(), (MessageReceipt{dave, MessageStatus::kDelivered, 70}));
  ASSERT_TRUE(store->DeleteMessage(m.id));
  receipts = store->Receipts(m.id);
  ASSERT_TRUE(receipts);
  EXPECT_TRUE(receipts->empty());
}

TEST_F(ClientStoreTest, AGroupKeepsItsVersionAuthorAndItsChanges) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId alice(*Uuid::Parse("00000000-0000-4000-8000-00000000000a"));
  const AccountId bob(*Uuid::Parse("00000000-0000-4000-8000-00000000000b"));
  Group g;
  g.id.fill(9);
  g.name = "versions";
  g.members = {alice, bob};
  g.admins = {alice};
  g.version = 7;
  g.version_author = alice;
  const StoredGroupChange by_bob{3, bob, 2, {1, 2, 3}};
  const StoredGroupChange by_alice{3, alice, 1, {4}};
  const StoredGroupChange first{1, alice, 1, {5, 6}};
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->SaveGroup(g));
    Group fresh;
    fresh.id.fill(8);
    fresh.name = "fresh";
    fresh.members = {alice};
    fresh.admins = {alice};
    ASSERT_TRUE(store->SaveGroup(fresh));
    ASSERT_TRUE(store->SaveGroupChange(g.id, by_bob));
    ASSERT_TRUE(store->SaveGroupChange(g.id, first));
    ASSERT_TRUE(store->SaveGroupChange(g.id, StoredGroupChange{3, alice, 1, {9, 9}}));
    ASSERT_TRUE(store->SaveGroupChange(g.id, by_alice));  // the same stamp: replaces it
    EXPECT_FALSE(store->SaveGroupChange(g.id, StoredGroupChange{std::uint64_t{1} << 63, alice, 1, {}}));
  }
  auto store = Open(*key);
  ASSERT_TRUE(store);
  auto found = store->FindGroup(g.id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->version, 7u);
  EXPECT_EQ((*found)->version_author, alice);
  auto changes = store->GroupChanges(g.id);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 3u);  // by stamp
  EXPECT_EQ((*changes)[0].ops, first.ops);
  EXPECT_EQ((*changes)[1].ops, by_alice.ops);
  EXPECT_EQ((*changes)[2].author, bob);
  EXPECT_EQ((*changes)[2].device, 2u);
  EXPECT_EQ((*changes)[2].ops, by_bob.ops);
  GroupId fresh_id;
  fresh_id.fill(8);
  found = store->FindGroup(fresh_id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->version, 0u);
  EXPECT_FALSE((*found)->version_author);
  changes = store->GroupChanges(fresh_id);
  ASSERT_TRUE(changes);
  EXPECT_TRUE(changes->empty());
}

// Small bounds, so that each is reached.
constexpr PendingGroupLimits kTestLimits{
    /*changes_per_sender=*/4,       /*bytes_per_sender=*/100,
    /*changes_per_group=*/10,       /*bytes_per_group=*/250,
    /*bytes_in_all=*/400,           /*unknown_groups=*/3,
    /*unknown_groups_per_sender=*/2};

// `count` changes of `sender` from version `first`, each with `size` bytes of operations.
PendingGroupChanges Arrival(const AccountId& sender, std::uint64_t first, std::size_t count,
                            std::size_t size) {
  PendingGroupChanges p{0, sender, 1, {}};
  for (std::size_t i = 0; i < count; ++i) {
    p.changes.push_back(StoredGroupChange{
        first + i, sender, 1, std::vector<std::uint8_t>(size, static_cast<std::uint8_t>(first + i))});
  }
  return p;
}

TEST_F(ClientStoreTest, PendingGroupChangesSurviveReopeningAndStayWithinTheirBounds) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId alice(*Uuid::Parse("00000000-0000-4000-8000-00000000000a"));
  const AccountId erin(*Uuid::Parse("00000000-0000-4000-8000-00000000000e"));
  const AccountId mallory(*Uuid::Parse("00000000-0000-4000-8000-00000000000f"));
  const AccountId trent(*Uuid::Parse("00000000-0000-4000-8000-000000000010"));
  Group known;
  known.id.fill(1);
  known.name = "known";
  known.members = {alice};
  known.admins = {alice};
  std::int64_t erins_arrival = 0;
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->SaveGroup(known));
    // Erin's change arrives first (with a signature: it counts for the size).
    PendingGroupChanges erins = Arrival(erin, 3, 1, 10);
    erins.changes[0].signature.assign(64, 0x77);
    EXPECT_EQ(store->KeepPendingGroupChanges(known.id, erins, kTestLimits).value(), 1u);
    erins_arrival = store->PendingGroupChangesOf(known.id).value().front().arrival;
    // Mallory floods it: she keeps only her own newest 4 (and 100 bytes).
    for (std::uint64_t v = 10; v < 40; ++v) {
      EXPECT_EQ(store->KeepPendingGroupChanges(known.id, Arrival(mallory, v, 1, 20), kTestLimits).value(),
                1u);
    }
    // Past her bytes with one arrival: her oldest go, then its own oldest.
    EXPECT_EQ(store->KeepPendingGroupChanges(known.id, Arrival(mallory, 50, 3, 40), kTestLimits).value(), 2u);
    // Trent fills the group's bytes exactly; then nothing more fits there.
    EXPECT_EQ(store->KeepPendingGroupChanges(known.id, Arrival(trent, 60, 4, 24), kTestLimits).value(), 4u);
    EXPECT_EQ(store->PendingGroupBytes(known.id).value(), 250);
    EXPECT_EQ(store->KeepPendingGroupChanges(known.id, Arrival(alice, 70, 1, 5), kTestLimits).value(), 0u);
    // Mallory's changes for groups the store does not hold: her two newest
    // groups keep theirs; Trent's next group fits; past 3 groups none is kept.
    for (std::uint8_t g = 0; g < 5; ++g) {
      GroupId unknown;
      unknown.fill(static_cast<std::uint8_t>(100 + g));
      EXPECT_EQ(store->KeepPendingGroupChanges(unknown, Arrival(mallory, 1, 1, 5), kTestLimits).value(), 1u);
    }
    GroupId trents;
    trents.fill(200);
    EXPECT_EQ(store->KeepPendingGroupChanges(trents, Arrival(trent, 1, 1, 5), kTestLimits).value(), 1u);
    GroupId erins_group;
    erins_group.fill(201);
    EXPECT_EQ(store->KeepPendingGroupChanges(erins_group, Arrival(erin, 1, 1, 5), kTestLimits).value(), 0u);
    // The bytes over every group: an arrival past them is not kept.
    Group other;
    other.id.fill(2);
    other.name = "other";
    other.members = {alice};
    other.admins = {alice};
    ASSERT_TRUE(store->SaveGroup(other));
    EXPECT_EQ(store->KeepPendingGroupChanges(other.id, Arrival(erin, 1, 4, 25), kTestLimits).value(), 4u);
    EXPECT_EQ(store->KeepPendingGroupChanges(other.id, Arrival(trent, 1, 4, 25), kTestLimits).value(), 1u);
    EXPECT_LE(store->PendingGroupBytes(std::nullopt).value(), 400);
    EXPECT_FALSE(store->AddPendingGroupChanges(
        known.id, PendingGroupChanges{0, mallory, 1, {{std::uint64_t{1} << 63, mallory, 1, {}}}}));
  }
  auto store = Open(*key);
  ASSERT_TRUE(store);
  auto pending = store->PendingGroupChangesOf(known.id);
  ASSERT_TRUE(pending);
  // Erin's first, untouched by the flood; then Mallory's newest two, then Trent's.
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ(pending->front().sender, erin);
  EXPECT_EQ(pending->front().arrival, erins_arrival);
  ASSERT_EQ(pending->front().changes.size(), 1u);
  EXPECT_EQ(pending->front().changes[0].version, 3u);
  EXPECT_EQ(pending->front().changes[0].signature, std::vector<std::uint8_t>(64, 0x77));
  EXPECT_EQ((*pending)[1].sender, mallory);
  ASSERT_EQ((*pending)[1].changes.size(), 2u);
  EXPECT_EQ((*pending)[1].changes[0].version, 51u);
  EXPECT_EQ((*pending)[1].changes[1].version, 52u);
  EXPECT_EQ((*pending)[2].sender, trent);
  EXPECT_EQ((*pending)[2].changes.size(), 4u);
  EXPECT_EQ(store->CountPendingGroupChanges(known.id).value(), 7);
  for (std::uint8_t g = 0; g < 5; ++g) {
    GroupId unknown;
    unknown.fill(static_cast<std::uint8_t>(100 + g));
    EXPECT_EQ(store->CountPendingGroupChanges(unknown).value(), g >= 3 ? 1 : 0) << int(g);
  }
  GroupId other_id;
  other_id.fill(2);
  EXPECT_EQ(store->CountPendingGroupChanges(other_id).value(), 5);
  EXPECT_EQ(store->PendingGroupBytes(std::nullopt).value(), 250 + 5 * 2 + 5 + 5 * 25);

  // An arrival is deleted whole; re-added under its own number it keeps its place.
  const std::int64_t second = (*pending)[1].arrival;
  ASSERT_TRUE(store->DeletePendingGroupChanges(known.id, second));
  ASSERT_TRUE(store->AddPendingGroupChanges(known.id,
                                            PendingGroupChanges{second, mallory, 1, {{8, mallory, 1, {4}}}}));
  pending = store->PendingGroupChangesOf(known.id);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[1].arrival, second);
  EXPECT_EQ((*pending)[1].changes.at(0).ops, std::vector<std::uint8_t>{4});
  EXPECT_TRUE((*pending)[1].changes.at(0).signature.empty());
}

// A version-7 store (group changes without signatures) is migrated to 8:
// its changes, pending ones too, stay as they were, without a signature,
// and signed ones are kept beside them.
TEST_F(ClientStoreTest, AVersion7StoreKeepsItsGroupChangesUnsignedAndTakesSignedOnes) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId alice(*Uuid::Parse("00000000-0000-4000-8000-00000000000a"));
  GroupId id;
  id.fill(3);
  const std::string group_hex = ToHex(id);
  { ASSERT_TRUE(Open(*key)); }
  // The file as schema 7 left it: both tables without their signature
  // column, version 8 not applied, and a change and a pending change in it.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "parley.db").c_str(), &db), SQLITE_OK);
    const std::string sql =
        "PRAGMA key = \"x'" + ToHex(key->bytes()) +
        "'\"; PRAGMA cipher_page_size = " + std::to_string(kClientStorePageSize) +
        "; DROP INDEX group_pending_by_sender; DROP TABLE group_changes; DROP TABLE group_pending;"
        " CREATE TABLE group_changes(group_id TEXT NOT NULL, version INTEGER NOT NULL, author TEXT NOT NULL,"
        " device INTEGER NOT NULL, ops BLOB NOT NULL, PRIMARY KEY(group_id, version, author, device));"
        " CREATE TABLE group_pending(seq INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL,"
        " arrival INTEGER NOT NULL, sender TEXT NOT NULL, sender_device INTEGER NOT NULL,"
        " version INTEGER NOT NULL, author TEXT NOT NULL, device INTEGER NOT NULL, ops BLOB NOT NULL);"
        " CREATE INDEX group_pending_by_group ON group_pending(group_id, arrival, seq);"
        " DELETE FROM schema_migrations WHERE version = 8;"
        " INSERT INTO group_changes VALUES ('" +
        group_hex + "', 1, '" + alice.value().ToString() +
        "', 0, x'0102');"
        " INSERT INTO group_pending(group_id, arrival, sender, sender_device, version, author, device, ops)"
        " VALUES ('" +
        group_hex + "', 1, '" + alice.value().ToString() + "', 1, 2, '" + alice.value().ToString() +
        "', 1, x'03');";
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto store = Open(*key);
  ASSERT_TRUE(store);
  auto changes = store->GroupChanges(id);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].device, 0u);
  EXPECT_EQ((*changes)[0].ops, (std::vector<std::uint8_t>{1, 2}));
  EXPECT_TRUE((*changes)[0].signature.empty());
  auto pending = store->PendingGroupChangesOf(id);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_TRUE(pending->front().changes.at(0).signature.empty());
  EXPECT_EQ(store->PendingGroupBytes(id).value(), 1);

  StoredGroupChange signed_change{2, alice, 1, {4}};
  signed_change.signature.assign(64, 0x33);
  ASSERT_TRUE(store->SaveGroupChange(id, signed_change));
  store.reset();
  store = Open(*key);
  ASSERT_TRUE(store);
  changes = store->GroupChanges(id);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_TRUE((*changes)[0].signature.empty());
  EXPECT_EQ((*changes)[1].signature, signed_change.signature);
  // A newer store than this build knows is still refused.
  store.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "parley.db").c_str(), &db), SQLITE_OK);
    const std::string sql = "PRAGMA key = \"x'" + ToHex(key->bytes()) +
                            "'\"; PRAGMA cipher_page_size = " + std::to_string(kClientStorePageSize) +
                            "; INSERT INTO schema_migrations(version) VALUES (" +
                            std::to_string(kClientSchemaVersion + 1) + ");";
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto newer = ClientStore::Open(dir_ / "parley.db", *key, clock_);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, ClientStoreErrc::kIncompatibleSchema);
}

OwedReceipt Owed(const AccountId& to, std::uint8_t message, MessageStatus kind, bool own_devices = false,
                 std::optional<GroupId> group = std::nullopt, std::uint8_t send = 1) {
  OwedReceipt r;
  r.to = to;
  r.group = group;
  r.kind = kind;
  r.own_devices = own_devices;
  r.message.fill(message);
  r.send_id.fill(send);
  return r;
}

TEST_F(ClientStoreTest, OwedReceiptsSurviveReopeningStayWithinTheirBoundAndGoWhenSent) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId alice(*Uuid::Parse("00000000-0000-4000-8000-00000000000a"));
  const AccountId bob(*Uuid::Parse("00000000-0000-4000-8000-00000000000b"));
  GroupId group;
  group.fill(3);
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    // Owed in the transaction of the message they acknowledge: a rollback takes both.
    ASSERT_TRUE(store->Begin());
    ASSERT_TRUE(store->InsertMessage(TestMessage(alice, 1)));
    ASSERT_TRUE(store->OweReceipts({Owed(alice, 1, MessageStatus::kDelivered, false, std::nullopt, 5)}, 100));
    store->Rollback();
    EXPECT_EQ(store->CountOwedReceipts(std::nullopt).value(), 0);
    EXPECT_FALSE(Has(*store, TestMessage(alice, 1)));
    ASSERT_TRUE(store->Begin());
    ASSERT_TRUE(store->InsertMessage(TestMessage(alice, 1)));
    ASSERT_TRUE(store->OweReceipts({Owed(alice, 1, MessageStatus::kDelivered, false, std::nullopt, 5)}, 100));
    ASSERT_TRUE(store->Commit());
    // The same receipt again is one; a group's and the own-device copy are others.
    ASSERT_TRUE(store->OweReceipts({Owed(alice, 1, MessageStatus::kDelivered, false, std::nullopt, 6)}, 100));
    ASSERT_TRUE(store->OweReceipts({Owed(alice, 2, MessageStatus::kDelivered, false, group, 2),
                                    Owed(alice, 2, MessageStatus::kRead, true, group, 3)},
                                   100));
    // A read receipt replaces the delivery receipt of the same message.
    ASSERT_TRUE(store->OweReceipts({Owed(bob, 5, MessageStatus::kDelivered, false, std::nullopt, 4)}, 100));
    ASSERT_TRUE(store->OweReceipts({Owed(bob, 5, MessageStatus::kRead, false, std::nullopt, 4)}, 100));
    EXPECT_EQ(store->CountOwedReceipts(alice).value(), 3);
    EXPECT_EQ(store->CountOwedReceipts(bob).value(), 1);
  }
  auto store = Open(*key);
  ASSERT_TRUE(store);
  // By send id, each send's in the order owed.
  auto owed = store->OwedReceipts(100);
  ASSERT_TRUE(owed);
  ASSERT_EQ(owed->size(), 4u);
  EXPECT_EQ((*owed)[0].to, alice);
  EXPECT_EQ((*owed)[0].group, group);
  EXPECT_FALSE((*owed)[0].own_devices);
  EXPECT_EQ((*owed)[0].send_id, Owed(alice, 2, MessageStatus::kDelivered, false, group, 2).send_id);
  EXPECT_TRUE((*owed)[1].own_devices);
  EXPECT_EQ((*owed)[1].kind, MessageStatus::kRead);
  EXPECT_EQ((*owed)[2].to, bob);
  EXPECT_EQ((*owed)[2].kind, MessageStatus::kRead);
  EXPECT_EQ((*owed)[3].to, alice);
  EXPECT_EQ((*owed)[3].kind, MessageStatus::kDelivered);
  EXPECT_FALSE((*owed)[3].group);
  EXPECT_EQ((*owed)[3].message, TestMessage(alice, 1).id);
  EXPECT_EQ((*owed)[3].send_id, Owed(alice, 1, MessageStatus::kDelivered, false, std::nullopt, 5).send_id);

  // Sent: deleted.
  ASSERT_TRUE(store->DeleteOwedReceipts({(*owed)[2].seq, (*owed)[3].seq}));
  EXPECT_EQ(store->CountOwedReceipts(std::nullopt).value(), 2);

  // Each peer keeps its newest `max_per_peer`; another peer's stay.
  for (std::uint8_t n = 10; n < 40; ++n) {
    ASSERT_TRUE(store->OweReceipts({Owed(bob, n, MessageStatus::kDelivered, false, std::nullopt, 9)}, 20));
  }
  EXPECT_EQ(store->CountOwedReceipts(bob).value(), 20);
  EXPECT_EQ(store->CountOwedReceipts(alice).value(), 2);
  auto kept = store->OwedReceipts(1000);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 22u);
  EXPECT_EQ(kept->back().message, Owed(bob, 39, MessageStatus::kDelivered).message);
  MessageId oldest_kept{};
  oldest_kept.fill(20);
  EXPECT_EQ((*kept)[2].message, oldest_kept);
  // A limit cuts the list.
  auto first = store->OwedReceipts(3);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 3u);

  // A receipt the store cannot take fails the transaction it was owed in.
  ASSERT_TRUE(store->Begin());
  ASSERT_TRUE(store->InsertMessage(TestMessage(alice, 2)));
  EXPECT_FALSE(store->OweReceipts({Owed(alice, 2, MessageStatus::kSent)}, 100));
  EXPECT_FALSE(store->Commit());
  EXPECT_FALSE(store->in_transaction());
  EXPECT_FALSE(Has(*store, TestMessage(alice, 2)));
  // The next transaction starts clean.
  ASSERT_TRUE(store->Begin());
  ASSERT_TRUE(store->InsertMessage(TestMessage(alice, 2)));
  ASSERT_TRUE(store->Commit());
  EXPECT_TRUE(Has(*store, TestMessage(alice, 2)));
}

// Runs SQL on the store file as it is, with its key.
void RawExec(const std::filesystem::path& path, const ClientStoreKey& key, const std::string& statements) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string sql = "PRAGMA key = \"x'" + ToHex(key.bytes()) +
                          "'\"; PRAGMA cipher_page_size = " + std::to_string(kClientStorePageSize) + "; " +
                          statements;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// Schema steps made on different branches are numbered apart (a store may
// record 9 without 8): Open applies every step not recorded, not only those
// past the highest.
TEST_F(ClientStoreTest, AStepMissingBelowTheHighestRecordedIsApplied) {
  auto key = KeyFromFile(dir_ / "k");
  ASSERT_TRUE(key);
  const AccountId alice(*Uuid::Parse("00000000-0000-4000-8000-00000000000a"));
  { ASSERT_TRUE(Open(*key)); }
  // A store written by a build that had step 9 but not step 8 (they were
  // made side by side): step 8 is applied when the store is next opened.
  RawExec(
      dir_ / "parley.db", *key,
      "DROP TABLE group_changes; DROP TABLE group_pending; DELETE FROM schema_migrations WHERE version = 8;"
      "CREATE TABLE group_changes(group_id TEXT NOT NULL, version INTEGER NOT NULL, author TEXT NOT NULL,"
      "  device INTEGER NOT NULL, ops BLOB NOT NULL, PRIMARY KEY(group_id, version, author, device));"
      "CREATE TABLE group_pending(seq INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL,"
      "  arrival INTEGER NOT NULL, sender TEXT NOT NULL, sender_device INTEGER NOT NULL,"
      "  version INTEGER NOT NULL, author TEXT NOT NULL, device INTEGER NOT NULL, ops BLOB NOT NULL);"
      "CREATE INDEX group_pending_by_group ON group_pending(group_id, arrival, seq);");
  {
    auto store = Open(*key);
    ASSERT_TRUE(store);
    GroupId group;
    group.fill(1);
    EXPECT_TRUE(store->AddPendingGroupChanges(group, PendingGroupChanges{0, alice, 1, {{1, alice, 1, {1}}}}));
    EXPECT_TRUE(store->OweReceipts({Owed(alice, 1, MessageStatus::kDelivered)}, 10));
  }
  // A store from a newer build (a step this one does not know) is refused.
  RawExec(
      dir_ / "parley.db", *key,
      "INSERT INTO schema_migrations(version) VALUES (" + std::to_string(kClientSchemaVersion + 1) + ");");
  auto refused = ClientStore::Open(dir_ / "parley.db", *key, clock_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientStoreErrc::kIncompatibleSchema);
}

}  // namespace
}  // namespace parley::store
