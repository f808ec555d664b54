// Attachments over HTTPS (docs/wire-protocol.md section 8) on an in-process
// server on 127.0.0.1 port 0 with a fresh store (SQLite, or PostgreSQL in the
// _postgres build of this file), driven by a real TLS
// client: create, upload (whole, with 100-continue, and resumed after an
// interrupted request), offset, download (whole and ranged), every refusal,
// expiry and the purge.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "base/base64.h"
#include "base/hex.h"
#include "crypto/random.h"
#include "handler_fixture.h"
#include "server/attachment_http.h"
#include "server/attachment_routes.h"
#include "server/request_frame_handler.h"
#include "server/request_handling.h"
#include "server/server.h"
#include "store/server_store.h"
#include "test_client.h"

namespace parley::server {
namespace {

namespace http = boost::beast::http;
using Response = http::response<http::string_body>;

// A clock the test moves while server threads read it.
class TestClock final : public Clock {
 public:
  explicit TestClock(std::int64_t start) : now_(start) {}
  std::int64_t NowMillis() const override { return now_.load(); }
  void Advance(std::int64_t ms) { now_ += ms; }

 private:
  std::atomic<std::int64_t> now_;
};

struct Login {
  AccountId account;
  DeviceId device;
  wire::DeviceCredential credential;
};

std::string BasicAuthorization(const Login& login) {
  const std::string user = login.account.value().ToString() + "." + std::to_string(login.device.value()) +
                           ":" + ToHex(login.credential.secret.bytes());
  return "Basic " + Base64Encode({reinterpret_cast<const std::uint8_t*>(user.data()), user.size()});
}

// This process's resident and peak resident memory, in KiB (Linux).
std::uint64_t ProcStatusKib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::strlen(field)));
  }
  return 0;
}

std::optional<store::AttachmentId> ParseAttachmentIdFromPath(const std::string& path) {
  auto id = ParseAttachmentId(std::string_view(path).substr(std::string("/v1/attachments/").size()));
  if (!id) return std::nullopt;
  return *id;
}

std::string RandomBlob(std::size_t size) {
  std::string blob(size, '\0');
  crypto::RandomBytes({reinterpret_cast<std::uint8_t*>(blob.data()), blob.size()});
  return blob;
}

constexpr std::int64_t kStartMs = 1'800'000'000'000;
constexpr std::uint64_t kMaxBytes = 100 * 1024 * 1024;

class AttachmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-attachments-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_NO_FATAL_FAILURE(database_.Create(dir_));
    auto store = store::OpenServerStore(database_.url(), clock_);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    auto cert = EnsureSelfSignedCertificate(dir_);
    ASSERT_TRUE(cert);
    ServerConfig config;
    config.port = 0;
    config.threads = 2;
    config.store_threads = 1;
    // The handler options production derives for this store's URL.
    config.store_url = database_.url();
    config.attachments.max_bytes = kMaxBytes;
    metrics_ = std::make_shared<MetricsRegistry>();
    const RequestHandlerOptions handler_options = RequestHandlerOptionsFrom(config);
    handler_ = std::make_shared<RequestFrameHandler>(*store_, clock_, *metrics_, handler_options);
    AttachmentOptions options = AttachmentOptionsFrom(config);
    options.bytes_per_account = bytes_per_account_;
    options.unauthenticated_per_address = unauthenticated_per_address_;
    attachments_ = std::make_unique<AttachmentService>(*store_, clock_, *metrics_, options);
    HttpRouter routes;
    ASSERT_TRUE(attachments_->AddRoutes(routes));
    auto server = Server::Create(config, {handler_, metrics_, std::move(routes), cert->files});
    ASSERT_TRUE(server);
    server_ = std::move(*server);
    server_->Start();
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (handler_) handler_->Stop();
    if (attachments_) attachments_->Stop();
    server_.reset();
    attachments_.reset();
    handler_.reset();
    store_.reset();
    database_.Destroy();
    std::filesystem::remove_all(dir_);
  }

  Login MakeAccount(const std::string& username) {
    IssuedCredential credential = IssueCredential();
    store::NewAccount account;
    crypto::SystemRng rng;
    account.id = AccountId(Uuid::Random(rng));
    account.username = username;
    account.primary.registration_id = RegistrationId(1);
    account.primary.credential = credential.stored;
    auto created = store_->CreateAccount(account);
    EXPECT_TRUE(created);
    return {account.id, DeviceId(1), credential.secret};
  }

  Response Call(http::verb method, const std::string& target, const Login* login,
                std::vector<std::pair<std::string, std::string>> fields = {}, std::string body = "") {
    testing::HttpsClient client(server_->port());
    EXPECT_FALSE(client.Connect());
    http::request<http::string_body> request{method, target, 11};
    if (login != nullptr) request.set(http::field::authorization, BasicAuthorization(*login));
    for (auto& [name, value] : fields) request.set(name, value);
    request.body() = std::move(body);
    boost::system::error_code ec;
    Response response = client.Send(std::move(request), ec);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }

  // POST: the new attachment's path.
  std::string Create(const Login& login, std::uint64_t length) {
    Response created =
        Call(http::verb::post, kAttachmentsPath, &login, {{"Upload-Length", std::to_string(length)}});
    EXPECT_EQ(created.result_int(), 201u) << created.body();
    return std::string(created[http::field::location]);
  }

  Response Patch(const Login& login, const std::string& path, std::uint64_t offset, std::string bytes) {
    return Call(
        http::verb::patch, path, &login,
        {{"Content-Type", "application/offset+octet-stream"}, {"Upload-Offset", std::to_string(offset)}},
        std::move(bytes));
  }

  // HEAD: the status, Upload-Offset and Upload-Length.
  struct OffsetReply {
    unsigned status = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };
  OffsetReply Head(const Login* login, const std::string& path) {
    testing::HttpsClient client(server_->port());
    EXPECT_FALSE(client.Connect());
    boost::system::error_code ec;
    auto response = client.Head(path, ec, login != nullptr ? BasicAuthorization(*login) : "");
    EXPECT_FALSE(ec) << ec.message();
    OffsetReply reply;
    reply.status = response.result_int();
    if (reply.status == 200) {
      reply.offset = std::stoull(std::string(response["Upload-Offset"]));
      reply.length = std::stoull(std::string(response["Upload-Length"]));
    }
    return reply;
  }

  std::uint64_t MetricValue(const std::string& line_prefix) {
    Response metrics = Call(http::verb::get, "/metrics", nullptr);
    const std::string& text = metrics.body();
    const std::size_t at = text.find("\n" + line_prefix + " ");
    if (at == std::string::npos) return 0;
    return std::stoull(text.substr(at + line_prefix.size() + 2));
  }

  std::filesystem::path dir_;
  handler_testing::TestDatabase database_;
  TestClock clock_{kStartMs};
  TokenBucketConfig bytes_per_account_{256.0 * 1024 * 1024, 256.0 * 1024 * 1024};
  TokenBucketConfig unauthenticated_per_address_{60, 3600};
  std::unique_ptr<store::ServerStore> store_;
  std::shared_ptr<MetricsRegistry> metrics_;
  std::shared_ptr<RequestFrameHandler> handler_;
  std::unique_ptr<AttachmentService> attachments_;
  std::unique_ptr<Server> server_;
};

TEST_F(AttachmentsTest, UploadWithContinueThenDownloadWholeAndRanged) {
  const Login alice = MakeAccount("alice");
  const Login bob = MakeAccount("bob");
  const std::string blob = RandomBlob(3 * 1024 * 1024 + 123);

  Response created =
      Call(http::verb::post, kAttachmentsPath, &alice, {{"Upload-Length", std::to_string(blob.size())}});
  ASSERT_EQ(created.result_int(), 201u) << created.body();
  const std::string path(created[http::field::location]);
  EXPECT_EQ(path.rfind("/v1/attachments/", 0), 0u);
  EXPECT_EQ(path.size(), std::string("/v1/attachments/").size() + 32);
  EXPECT_EQ(created["Upload-Offset"], "0");
  EXPECT_EQ(std::stoll(std::string(created["Upload-Expires"])), kStartMs + 24 * 3600 * 1000);

  // Not downloadable before it is finished.
  EXPECT_EQ(Call(http::verb::get, path, &bob).result_int(), 404u);

  testing::HttpsClient client(server_->port());
  ASSERT_FALSE(client.Connect());
  http::request<http::string_body> patch{http::verb::patch, path, 11};
  patch.set(http::field::authorization, BasicAuthorization(alice));
  patch.set(http::field::content_type, "application/offset+octet-stream");
  patch.set("Upload-Offset", "0");
  patch.body() = blob;
  unsigned interim = 0;
  boost::system::error_code ec;
  Response uploaded = client.SendExpectingContinue(std::move(patch), blob.size(), false, interim, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(interim, 100u);
  EXPECT_EQ(uploaded.result_int(), 204u);
  EXPECT_EQ(uploaded["Upload-Offset"], std::to_string(blob.size()));
  EXPECT_GE(MetricValue("parley_attachment_bytes_uploaded_total"), blob.size());

  // Any authenticated device downloads it.
  Response downloaded = Call(http::verb::get, path, &bob);
  ASSERT_EQ(downloaded.result_int(), 200u);
  EXPECT_EQ(downloaded[http::field::content_type], "application/octet-stream");
  EXPECT_TRUE(downloaded.body() == blob);

  Response ranged =
      Call(http::verb::get, path, &bob, {{"Range", "bytes=" + std::to_string(blob.size() - 1000) + "-"}});
  ASSERT_EQ(ranged.result_int(), 206u);
  EXPECT_EQ(ranged[http::field::content_range], "bytes " + std::to_string(blob.size() - 1000) + "-" +
                                                    std::to_string(blob.size() - 1) + "/" +
                                                    std::to_string(blob.size()));
  EXPECT_TRUE(ranged.body() == blob.substr(blob.size() - 1000));
  EXPECT_EQ(Call(http::verb::get, path, &bob, {{"Range", "bytes=" + std::to_string(blob.size()) + "-"}})
                .result_int(),
            416u);
}

TEST_F(AttachmentsTest, InterruptedUploadResumesFromTheServersOffset) {
  const Login alice = MakeAccount("alice");
  const std::string blob = RandomBlob(4 * 1024 * 1024 + 7);
  const std::string path = Create(alice, blob.size());
  const std::size_t first = 1024 * 1024 + 5;
  ASSERT_EQ(Patch(alice, path, 0, blob.substr(0, first)).result_int(), 204u);
  EXPECT_EQ(Head(&alice, path).offset, first);

  // The next request announces the rest but the connection ends after
  // 1.5 MiB of it: what arrived is kept.
  const std::size_t sent = 1536 * 1024;
  {
    testing::HttpsClient client(server_->port());
    ASSERT_FALSE(client.Connect());
    http::request<http::string_body> patch{http::verb::patch, path, 11};
    patch.set(http::field::authorization, BasicAuthorization(alice));
    patch.set(http::field::content_type, "application/offset+octet-stream");
    patch.set("Upload-Offset", std::to_string(first));
    patch.body() = blob.substr(first);
    unsigned interim = 0;
    boost::system::error_code ec;
    (void)client.SendExpectingContinue(std::move(patch), sent, true, interim, ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(interim, 100u);
    // Wait (bounded) until the server has stored what it got.
    OffsetReply state;
    for (int i = 0; i < 200; ++i) {
      state = Head(&alice, path);
      if (state.offset == first + sent) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(state.status, 200u);
    EXPECT_EQ(state.length, blob.size());
    ASSERT_EQ(state.offset, first + sent);
    client.Abort();
  }

  // A wrong offset changes nothing and tells the current one.
  Response conflict = Patch(alice, path, first, blob.substr(first, 10));
  EXPECT_EQ(conflict.result_int(), 409u);
  EXPECT_EQ(conflict["Upload-Offset"], std::to_string(first + sent));

  const std::uint64_t resume_at = Head(&alice, path).offset;
  Response finished = Patch(alice, path, resume_at, blob.substr(resume_at));
  ASSERT_EQ(finished.result_int(), 204u) << finished.body();
  EXPECT_EQ(finished["Upload-Offset"], std::to_string(blob.size()));
  Response downloaded = Call(http::verb::get, path, &alice);
  ASSERT_EQ(downloaded.result_int(), 200u);
  EXPECT_TRUE(downloaded.body() == blob);
}

TEST_F(AttachmentsTest, RefusalsAreTheDocumentedStatuses) {
  const Login alice = MakeAccount("alice");
  const Login bob = MakeAccount("bob");
  Login wrong = alice;
  wrong.credential.secret.bytes()[0] ^= 1;
  Login unknown_device = alice;
  unknown_device.device = DeviceId(2);

  // 401: no, malformed or wrong credentials.
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, nullptr, {{"Upload-Length", "10"}}).result_int(), 401u);
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &wrong, {{"Upload-Length", "10"}}).result_int(), 401u);
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &unknown_device, {{"Upload-Length", "10"}}).result_int(),
            401u);
  Response garbled = Call(http::verb::post, kAttachmentsPath, nullptr,
                          {{"Upload-Length", "10"}, {"Authorization", "Basic !!!"}});
  EXPECT_EQ(garbled.result_int(), 401u);
  EXPECT_EQ(garbled[http::field::www_authenticate], "Basic realm=\"parley\"");

  // 400 / 413 on create.
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &alice).result_int(), 400u);
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &alice, {{"Upload-Length", "0"}}).result_int(), 400u);
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &alice, {{"Upload-Length", "-5"}}).result_int(), 400u);
  EXPECT_EQ(
      Call(http::verb::post, kAttachmentsPath, &alice, {{"Upload-Length", std::to_string(kMaxBytes + 1)}})
          .result_int(),
      413u);

  const std::string path = Create(alice, 100);
  const std::string unknown = "/v1/attachments/" + std::string(32, 'a');
  // 404: unknown or malformed ids, for every method.
  EXPECT_EQ(Patch(alice, unknown, 0, "x").result_int(), 404u);
  EXPECT_EQ(Patch(alice, "/v1/attachments/xyz", 0, "x").result_int(), 404u);
  EXPECT_EQ(Head(&alice, unknown).status, 404u);
  EXPECT_EQ(Call(http::verb::get, unknown, &alice).result_int(), 404u);
  // 401 before anything about the attachment is told.
  EXPECT_EQ(Head(nullptr, path).status, 401u);
  EXPECT_EQ(Patch(wrong, path, 0, "x").result_int(), 401u);
  // Another account may not upload (403) nor see the offset (404).
  EXPECT_EQ(Patch(bob, path, 0, "x").result_int(), 403u);
  EXPECT_EQ(Head(&bob, path).status, 404u);
  // 415 without the upload content type; 400 without an offset.
  EXPECT_EQ(Call(http::verb::patch, path, &alice, {{"Upload-Offset", "0"}}, "x").result_int(), 415u);
  EXPECT_EQ(Call(http::verb::patch, path, &alice, {{"Content-Type", "application/offset+octet-stream"}}, "x")
                .result_int(),
            400u);
  // 413 past Upload-Length, nothing written; 409 at a wrong offset.
  Response too_long = Patch(alice, path, 0, std::string(101, 'x'));
  EXPECT_EQ(too_long.result_int(), 413u);
  EXPECT_EQ(Head(&alice, path).offset, 0u);
  EXPECT_EQ(Patch(alice, path, 5, "x").result_int(), 409u);
  EXPECT_EQ(Head(&alice, path).offset, 0u);
  // With 100-continue, a refused upload never gets its body sent.
  {
    testing::HttpsClient client(server_->port());
    ASSERT_FALSE(client.Connect());
    http::request<http::string_body> patch{http::verb::patch, path, 11};
    patch.set(http::field::authorization, BasicAuthorization(alice));
    patch.set(http::field::content_type, "application/offset+octet-stream");
    patch.set("Upload-Offset", "7");
    patch.body() = "abc";
    unsigned interim = 0;
    boost::system::error_code ec;
    Response refused = client.SendExpectingContinue(std::move(patch), 3, false, interim, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(interim, 0u);
    EXPECT_EQ(refused.result_int(), 409u);
  }
  // A disabled account is refused (403).
  ASSERT_TRUE(store_->SetAccountDisabled(alice.account, true));
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &alice, {{"Upload-Length", "10"}}).result_int(), 403u);
  EXPECT_GE(MetricValue("parley_attachment_authentication_failures_total"), 5u);
}

TEST_F(AttachmentsTest, UnfinishedUploadsAndOldAttachmentsExpireAndArePurged) {
  const Login alice = MakeAccount("alice");
  const std::string finished = Create(alice, 4);
  ASSERT_EQ(Patch(alice, finished, 0, "done").result_int(), 204u);
  const std::string abandoned = Create(alice, 10);
  ASSERT_EQ(Patch(alice, abandoned, 0, "half").result_int(), 204u);

  auto purged = attachments_->PurgeExpired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 0u);

  clock_.Advance(24 * 3600 * 1000);  // the upload expiry
  EXPECT_EQ(Head(&alice, abandoned).status, 404u);
  EXPECT_EQ(Patch(alice, abandoned, 4, "rest!!").result_int(), 404u);
  EXPECT_EQ(Call(http::verb::get, finished, &alice).body(), "done");
  purged = attachments_->PurgeExpired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  EXPECT_EQ(store_->GetAttachment(*ParseAttachmentIdFromPath(abandoned)).error().code,
            store::StoreErrc::kNotFound);

  clock_.Advance(std::int64_t{29} * 24 * 3600 * 1000);  // 30 days after creation
  EXPECT_EQ(Call(http::verb::get, finished, &alice).result_int(), 404u);
  purged = attachments_->PurgeExpired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  EXPECT_EQ(MetricValue("parley_attachments_purged_total"), 2u);
}

// A 100 MiB upload (the default cap) in one PATCH: the server streams it into
// the store, so this process's peak memory grows by less than the attachment
// (the store's page cache, up to 64 MiB on SQLite, is most of what it grows
// by); a server that held the body would add at least 100 MiB.
TEST_F(AttachmentsTest, HundredMebibytesStreamThroughInBoundedMemory) {
  const Login alice = MakeAccount("alice");
  auto byte_at = [](std::uint64_t at) { return static_cast<char>((at * 7) / 4096); };
  std::string blob(kMaxBytes, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = byte_at(i);
  const std::string path = Create(alice, kMaxBytes);
  // The body is allocated (and touched) already; it moves into the request.
  const std::uint64_t rss_before_kib = ProcStatusKib("VmRSS:");
  {
    testing::HttpsClient client(server_->port());
    ASSERT_FALSE(client.Connect());
    http::request<http::string_body> patch{http::verb::patch, path, 11};
    patch.set(http::field::authorization, BasicAuthorization(alice));
    patch.set(http::field::content_type, "application/offset+octet-stream");
    patch.set("Upload-Offset", "0");
    patch.body() = std::move(blob);
    unsigned interim = 0;
    boost::system::error_code ec;
    Response uploaded = client.SendExpectingContinue(std::move(patch), kMaxBytes, false, interim, ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(uploaded.result_int(), 204u);
    EXPECT_EQ(uploaded["Upload-Offset"], std::to_string(kMaxBytes));
  }
  const std::uint64_t peak_kib = ProcStatusKib("VmHWM:");
  ASSERT_GT(peak_kib, rss_before_kib);
  const std::uint64_t growth_mib = (peak_kib - rss_before_kib) / 1024;
  RecordProperty("peak_growth_mib", std::to_string(growth_mib));
  EXPECT_LT(growth_mib, kMaxBytes / (1024 * 1024)) << "peak memory grew by " << growth_mib << " MiB during a "
                                                   << kMaxBytes / (1024 * 1024) << " MiB upload";
  auto info = store_->GetAttachment(*ParseAttachmentIdFromPath(path));
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->complete());
  // Spot checks of the stored bytes, one read range each.
  for (std::uint64_t at : {std::uint64_t{0}, kMaxBytes / 2 + 12345, kMaxBytes - 4096}) {
    auto bytes = store_->ReadAttachment(info->id, at, 4096);
    ASSERT_TRUE(bytes);
    ASSERT_EQ(bytes->size(), 4096u);
    for (std::size_t k = 0; k < bytes->size(); k += 511)
      EXPECT_EQ(static_cast<char>((*bytes)[k]), byte_at(at + k));
  }
}

class AttachmentBudgetTest : public AttachmentsTest {
 protected:
  void SetUp() override {
    bytes_per_account_ = {1000, 3600};  // 1000 bytes at once, then one per second
    AttachmentsTest::SetUp();
  }
};

TEST_F(AttachmentBudgetTest, DeclaredBytesPerAccountAreLimitedWithRetryAfter) {
  const Login alice = MakeAccount("alice");
  const Login bob = MakeAccount("bob");
  Create(alice, 600);
  Response refused = Call(http::verb::post, kAttachmentsPath, &alice, {{"Upload-Length", "500"}});
  EXPECT_EQ(refused.result_int(), 429u);
  // 100 bytes are missing, at one per second.
  const std::uint64_t retry_ms = std::stoull(std::string(refused["Retry-After-Ms"]));
  EXPECT_GE(retry_ms, 99'000u);
  EXPECT_LE(retry_ms, 100'001u);
  EXPECT_EQ(refused["Retry-After"], std::to_string((retry_ms + 999) / 1000));
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"attachment_bytes\"}"), 1u);
  // More than the whole budget can never fit: 413, not 429.
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &bob, {{"Upload-Length", "1001"}}).result_int(), 413u);
  // Another account has its own budget.
  Create(bob, 1000);
  clock_.Advance(static_cast<std::int64_t>(retry_ms));
  Create(alice, 500);
}

class AttachmentUnauthenticatedLimitTest : public AttachmentsTest {
 protected:
  void SetUp() override {
    unauthenticated_per_address_ = {2, 3600};  // two failures at once, then one per second
    AttachmentsTest::SetUp();
  }
};

TEST_F(AttachmentUnauthenticatedLimitTest, FailedCredentialsPerAddressAreLimitedWithRetryAfter) {
  const Login alice = MakeAccount("alice");
  Login wrong = alice;
  wrong.credential.secret.bytes()[5] ^= 1;
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, nullptr, {{"Upload-Length", "10"}}).result_int(), 401u);
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &wrong, {{"Upload-Length", "10"}}).result_int(), 401u);
  Response refused = Call(http::verb::post, kAttachmentsPath, &wrong, {{"Upload-Length", "10"}});
  EXPECT_EQ(refused.result_int(), 429u);
  const std::uint64_t retry_ms = std::stoull(std::string(refused["Retry-After-Ms"]));
  EXPECT_GE(retry_ms, 900u);
  EXPECT_LE(retry_ms, 1'001u);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"attachment_unauthenticated\"}"), 1u);
  // Valid credentials are never refused by it.
  Create(alice, 10);
  clock_.Advance(static_cast<std::int64_t>(retry_ms));
  EXPECT_EQ(Call(http::verb::post, kAttachmentsPath, &wrong, {{"Upload-Length", "10"}}).result_int(), 401u);
}

}  // namespace
}  // namespace parley::server
