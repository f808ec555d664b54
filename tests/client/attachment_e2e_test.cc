// Attachments end to end: two Clients and a real parleyd on 127.0.0.1. A
// file sent by one is downloaded and verified by the other; a request's
// attachment is not fetched until accepted (S2); a blob altered on the
// server is refused and nothing is kept; 100 MB make the round trip with the
// process's peak memory growing by a small fraction of that.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "base/hex.h"
#include "client/client.h"
#include "client_fixture.h"
#include "parleyd_process.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;

class Inbox {
 public:
  void Attach(Client& client) {
    client.SetEventHandler([this](const Event& e) {
      if (const auto* r = std::get_if<MessageReceived>(&e)) {
        std::lock_guard lock(mutex_);
        messages_.push_back(r->message);
        cv_.notify_all();
      }
    });
  }
  std::optional<StoredMessage> WaitFor(const MessageId& id) {
    std::unique_lock lock(mutex_);
    std::optional<StoredMessage> found;
    cv_.wait_for(lock, 20s, [&] {
      for (const auto& m : messages_) {
        if (m.id == id) found = m;
      }
      return found.has_value();
    });
    return found;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<StoredMessage> messages_;
};

// Writes `size` pseudo-random bytes in pieces; returns their SHA-256.
std::string WriteRandomFile(const std::filesystem::path& path, std::uint64_t size, std::uint32_t seed) {
  std::mt19937_64 gen(seed);
  std::ofstream out(path, std::ios::binary);
  EVP_MD_CTX* sha = EVP_MD_CTX_new();
  EVP_DigestInit_ex(sha, EVP_sha256(), nullptr);
  std::vector<std::uint64_t> piece(8192);
  for (std::uint64_t left = size; left > 0;) {
    for (auto& w : piece) w = gen();
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, piece.size() * 8));
    out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(n));
    EVP_DigestUpdate(sha, piece.data(), n);
    left -= n;
  }
  std::uint8_t digest[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(sha, digest, &n);
  EVP_MD_CTX_free(sha);
  return ToHex(std::span<const std::uint8_t>(digest, 32));
}

std::string FileSha256(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EVP_MD_CTX* sha = EVP_MD_CTX_new();
  EVP_DigestInit_ex(sha, EVP_sha256(), nullptr);
  std::vector<char> piece(65536);
  while (in) {
    in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
    EVP_DigestUpdate(sha, piece.data(), static_cast<std::size_t>(in.gcount()));
  }
  std::uint8_t digest[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(sha, digest, &n);
  EVP_MD_CTX_free(sha);
  return ToHex(std::span<const std::uint8_t>(digest, 32));
}

// A field of /proc/self/status in KiB (VmRSS: now; VmHWM: the peak).
std::uint64_t StatusKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(field.size()));
  }
  return 0;
}

// Starts the peak (VmHWM) over from the current RSS, so that what the test
// did before (writing the file) does not hide what the transfer needs.
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

class AttachmentEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-attachment-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    server_ = std::make_unique<testing::ParleydProcess>(dir_);
    ASSERT_NE(server_->port(), 0) << testing::ReadWholeFile(dir_ / "parleyd.out");
  }
  void TearDown() override {
    alice_.reset();
    bob_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Client> Register(const std::string& name, Inbox& inbox) {
    ClientOptions options;
    options.data_dir = dir_ / name;
    options.key.key_file = dir_ / (name + ".key");
    auto client = Client::Open(options);
    EXPECT_TRUE(client);
    if (!client) return nullptr;
    inbox.Attach(**client);
    auto info =
        (*client)->Register({"127.0.0.1", server_->port(), server_->fingerprint()}, name, name + "-pc");
    EXPECT_TRUE(info);
    return std::move(*client);
  }

  // Alice and Bob, each an accepted contact of the other.
  void Introduce() {
    alice_ = Register("alice", alice_inbox_);
    bob_ = Register("bob", bob_inbox_);
    ASSERT_TRUE(alice_ && bob_);
    ASSERT_TRUE(alice_->AddContact("bob"));
    ASSERT_TRUE(bob_->AddContact("alice"));
  }

  std::filesystem::path dir_;
  std::unique_ptr<testing::ParleydProcess> server_;
  Inbox alice_inbox_;
  Inbox bob_inbox_;
  std::unique_ptr<Client> alice_;
  std::unique_ptr<Client> bob_;
};

TEST_F(AttachmentEndToEndTest, SentFileIsDownloadedAndVerified) {
  Introduce();
  const std::string sha = WriteRandomFile(dir_ / "holiday photo.jpg", 700'001, 1);
  auto sent = alice_->SendAttachment("bob", dir_ / "holiday photo.jpg", "the beach", "image/jpeg");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code) << ": " << sent.error().message;
  EXPECT_EQ(sent->status, MessageStatus::kSent);
  EXPECT_EQ(sent->body, "the beach");

  auto received = bob_inbox_.WaitFor(sent->id);
  ASSERT_TRUE(received);
  EXPECT_FALSE(received->request);
  auto info = bob_->GetAttachment(received->id);
  ASSERT_TRUE(info && info->has_value());
  EXPECT_EQ((*info)->file_name, "holiday photo.jpg");
  EXPECT_EQ((*info)->content_type, "image/jpeg");
  EXPECT_EQ((*info)->size, 700'001u);
  EXPECT_TRUE((*info)->path.empty());  // never fetched on its own

  auto downloaded = bob_->DownloadAttachment(received->id);
  ASSERT_TRUE(downloaded) << ClientErrcName(downloaded.error().code) << ": " << downloaded.error().message;
  EXPECT_EQ(std::filesystem::path(downloaded->path).parent_path(), dir_ / "bob" / "attachments");
  EXPECT_EQ(FileSha256(downloaded->path), sha);
  auto again = bob_->GetAttachment(received->id);
  ASSERT_TRUE(again && again->has_value());
  EXPECT_EQ((*again)->path, downloaded->path);
  // Only the verified file is left in the folder.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "bob" / "attachments")) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

// A downloaded file goes with its message: deleted for me, deleted for
// everyone by its sender, or expired. The file the sender sent from stays.
TEST_F(AttachmentEndToEndTest, DownloadedFilesAreDeletedWithTheirMessage) {
  Introduce();
  const std::filesystem::path original = dir_ / "notes.txt";
  WriteRandomFile(original, 10'000, 3);
  auto download = [&](const MessageId& id) -> std::string {
    if (!bob_inbox_.WaitFor(id)) return "";
    auto got = bob_->DownloadAttachment(id);
    EXPECT_TRUE(got) << (got ? "" : got.error().message);
    return got ? got->path : "";
  };

  auto first = alice_->SendAttachment("bob", original);
  ASSERT_TRUE(first);
  const std::string mine = download(first->id);
  ASSERT_TRUE(std::filesystem::exists(mine));
  ASSERT_TRUE(bob_->DeleteForMe(first->id));
  EXPECT_FALSE(std::filesystem::exists(mine));
  EXPECT_FALSE(bob_->GetMessage(first->id));
  auto unknown = bob_->DeleteForMe(first->id);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ClientErrc::kNotFound);

  auto second = alice_->SendAttachment("bob", original);
  ASSERT_TRUE(second);
  const std::string theirs = download(second->id);
  ASSERT_TRUE(std::filesystem::exists(theirs));
  ASSERT_TRUE(alice_->DeleteForEveryone(bob_->account()->account.value().ToString(), second->id));
  EXPECT_TRUE(testing::WaitUntil([&] { return !std::filesystem::exists(theirs); }));
  auto deleted = bob_->GetMessage(second->id);
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(deleted->deleted);

  ASSERT_TRUE(alice_->SetDisappearingTimer(bob_->account()->account.value().ToString(), 3));
  auto third = alice_->SendAttachment("bob", original);
  ASSERT_TRUE(third);
  const std::string expiring = download(third->id);
  ASSERT_TRUE(std::filesystem::exists(expiring));
  EXPECT_TRUE(testing::WaitUntil([&] { return !std::filesystem::exists(expiring); }));
  EXPECT_TRUE(testing::WaitUntil([&] { return !bob_->GetMessage(third->id); }));
  // The sender's own copy is its original file: never deleted.
  EXPECT_TRUE(testing::WaitUntil([&] { return !alice_->GetMessage(third->id); }));
  EXPECT_TRUE(std::filesystem::exists(original));
}

TEST_F(AttachmentEndToEndTest, RequestsAttachmentIsNotFetchedUntilAccepted) {
  alice_ = Register("alice", alice_inbox_);
  bob_ = Register("bob", bob_inbox_);
  ASSERT_TRUE(alice_ && bob_);
  const std::string sha = WriteRandomFile(dir_ / "invoice.pdf", 20'000, 2);
  auto sent = alice_->SendAttachment("bob", dir_ / "invoice.pdf", "open me");
  ASSERT_TRUE(sent);
  auto received = bob_inbox_.WaitFor(sent->id);
  ASSERT_TRUE(received);
  EXPECT_TRUE(received->request);
  auto refused = bob_->DownloadAttachment(received->id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kForbidden);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bob" / "attachments") &&
               !std::filesystem::is_empty(dir_ / "bob" / "attachments"));

  ASSERT_TRUE(bob_->AcceptRequest("alice"));
  auto downloaded = bob_->DownloadAttachment(received->id);
  ASSERT_TRUE(downloaded) << ClientErrcName(downloaded.error().code);
  EXPECT_EQ(FileSha256(downloaded->path), sha);

  ASSERT_TRUE(bob_->Block("alice"));
  std::filesystem::remove(downloaded->path);
  auto blocked = bob_->DownloadAttachment(received->id);
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, ClientErrc::kBlocked);
}

TEST_F(AttachmentEndToEndTest, BlobAlteredOnTheServerIsRefused) {
  Introduce();
  WriteRandomFile(dir_ / "notes.txt", 50'000, 3);
  auto sent = alice_->SendAttachment("bob", dir_ / "notes.txt");
  ASSERT_TRUE(sent);
  auto received = bob_inbox_.WaitFor(sent->id);
  ASSERT_TRUE(received);
  // parleyd stopped, one byte of the stored blob flipped in its SQLite
  // store, and parleyd started again on the same port with the same data.
  const std::uint16_t port = server_->port();
  server_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "server" / "parley.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* read = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT rowid, data FROM attachment_chunks LIMIT 1", -1, &read, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(read), SQLITE_ROW);
    const sqlite3_int64 row = sqlite3_column_int64(read, 0);
    const auto* bytes = static_cast<const std::uint8_t*>(sqlite3_column_blob(read, 1));
    std::vector<std::uint8_t> data(bytes, bytes + sqlite3_column_bytes(read, 1));
    sqlite3_finalize(read);
    ASSERT_GT(data.size(), 1'000u);
    data[1'000] ^= 0x01;
    sqlite3_stmt* write = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db, "UPDATE attachment_chunks SET data = ? WHERE rowid = ?", -1, &write, nullptr),
        SQLITE_OK);
    sqlite3_bind_blob(write, 1, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(write, 2, row);
    ASSERT_EQ(sqlite3_step(write), SQLITE_DONE);
    sqlite3_finalize(write);
    sqlite3_close(db);
  }
  server_ = std::make_unique<testing::ParleydProcess>(dir_, port);
  ASSERT_EQ(server_->port(), port);

  auto refused = bob_->DownloadAttachment(received->id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kProtocol);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "bob" / "attachments"));
  auto info = bob_->GetAttachment(received->id);
  ASSERT_TRUE(info && info->has_value());
  EXPECT_TRUE((*info)->path.empty());
}

TEST_F(AttachmentEndToEndTest, HundredMegabytesWithBoundedMemory) {
  Introduce();
  const std::uint64_t size = 100'000'000;
  const std::string sha = WriteRandomFile(dir_ / "big.bin", size, 4);
  ResetPeakRss();
  const std::uint64_t before = StatusKib("VmRSS:");
  ASSERT_LT(StatusKib("VmHWM:"), before + 1024) << "the peak RSS cannot be reset here";
  const auto started = std::chrono::steady_clock::now();
  auto sent = alice_->SendAttachment("bob", dir_ / "big.bin", "big");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code) << ": " << sent.error().message;
  auto received = bob_inbox_.WaitFor(sent->id);
  ASSERT_TRUE(received);
  auto downloaded = bob_->DownloadAttachment(received->id);
  ASSERT_TRUE(downloaded) << ClientErrcName(downloaded.error().code) << ": " << downloaded.error().message;
  const std::uint64_t growth_kib = StatusKib("VmHWM:") - before;
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(FileSha256(downloaded->path), sha);
  // Both clients run in this process: 100 MB each way would be 200,000 KiB.
  EXPECT_LT(growth_kib, 16u * 1024) << "peak RSS grew by " << growth_kib << " KiB";
  std::printf("100 MB round trip: %.1f s, peak RSS growth %llu KiB\n", seconds,
              static_cast<unsigned long long>(growth_kib));
}

}  // namespace
}  // namespace parley::client
