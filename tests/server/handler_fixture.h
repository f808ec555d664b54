// What the request-handler integration tests share: a wire-protocol client
// over a real TLS WebSocket, real device keys, and a fixture that runs the
// request handlers on the real transport (127.0.0.1, port 0) over a fresh
// store: SQLite in a temporary directory, or, when the test is built with
// PARLEY_HANDLERS_ON_POSTGRES, a fresh schema on the PostgreSQL server that
// the CTest fixture store_postgres started (its URL in the file named by
// PARLEY_TEST_POSTGRES_URL_FILE; missing is a failure, never a skip).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "base/clock.h"
#include "crypto/random.h"
#include "crypto/x25519.h"
#include "crypto/xeddsa.h"
#include "server/request_frame_handler.h"
#include "server/server.h"
#include "store/server_store.h"
#include "test_client.h"
#include "wire/codec.h"

#ifdef PARLEY_HANDLERS_ON_POSTGRES
#include <pqxx/pqxx>
#endif

// GCC 12 warns that moving a queued push out of the deque may read an
// uninitialized variant member (a false positive once these helpers are
// inlined into a test that never queues pushes).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace parley::server::handler_testing {

namespace websocket = boost::beast::websocket;
using wire::ResponseStatus;

// A clock the test moves while server threads read it.
class TestClock final : public Clock {
 public:
  explicit TestClock(std::int64_t start) : now_(start) {}
  std::int64_t NowMillis() const override { return now_.load(); }
  void Advance(std::int64_t ms) { now_ += ms; }

 private:
  std::atomic<std::int64_t> now_;
};

// The store one test runs on.
class TestDatabase {
 public:
#ifdef PARLEY_HANDLERS_ON_POSTGRES
  void Create(const std::filesystem::path&) {
    const char* file = std::getenv("PARLEY_TEST_POSTGRES_URL_FILE");
    ASSERT_NE(file, nullptr) << "PARLEY_TEST_POSTGRES_URL_FILE is not set (run through ctest: the "
                                "store_postgres fixture starts the server)";
    std::ifstream in(file);
    std::getline(in, server_url_);
    ASSERT_FALSE(server_url_.empty()) << "no PostgreSQL URL in " << file;
    static std::atomic<int> counter{0};
    schema_ = "h" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_);
  }
  std::string url() const {
    return server_url_ + "?options=-csearch_path%3D" + schema_ + "&application_name=" + schema_;
  }
  void Destroy() {
    if (!schema_.empty()) Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }

 private:
  void Exec(const std::string& sql) {
    try {
      pqxx::connection admin(server_url_);
      pqxx::work txn(admin);
      txn.exec(sql);
      txn.commit();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "PostgreSQL: " << e.what();
    }
  }
  std::string server_url_;
  std::string schema_;
#else
  void Create(const std::filesystem::path& dir) { path_ = dir / "parley.db"; }
  std::string url() const { return "sqlite:" + path_.string(); }
  void Destroy() {}

 private:
  std::filesystem::path path_;
#endif
};

inline std::span<const std::uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// What a device keeps after registering or linking.
struct DeviceLogin {
  AccountId account;
  DeviceId device;
  wire::DeviceCredential credential;
};

// A device's keys, made with the real crypto so the server can verify the
// signed prekey's signature.
struct DeviceKeys {
  crypto::KeyPair identity;
  wire::SignedPreKey signed_prekey;
  std::vector<wire::OneTimePreKey> prekeys;
};

inline DeviceKeys MakeKeys(std::uint32_t prekey_count, std::uint32_t first_prekey_id = 0) {
  crypto::SystemRng rng;
  DeviceKeys keys;
  keys.identity = crypto::KeyPair::Generate(rng);
  const crypto::KeyPair signed_pair = crypto::KeyPair::Generate(rng);
  keys.signed_prekey.id = SignedPreKeyId(7);
  keys.signed_prekey.public_key = signed_pair.public_key.Serialize();
  keys.signed_prekey.signature =
      crypto::XEdDsaSign(keys.identity.private_key, keys.signed_prekey.public_key, rng);
  for (std::uint32_t i = 0; i < prekey_count; ++i) {
    keys.prekeys.push_back(
        {PreKeyId(first_prekey_id + i), crypto::KeyPair::Generate(rng).public_key.Serialize()});
  }
  return keys;
}

inline wire::ClientMessageId RandomMessageId() {
  wire::ClientMessageId id{};
  crypto::RandomBytes(id);
  return id;
}

// A wire-protocol client over the test WebSocket client. Pushes that arrive
// while waiting for a response are kept for NextPush.
class WireClient {
 public:
  explicit WireClient(std::uint16_t port) : socket_(port) { EXPECT_FALSE(socket_.Connect()); }

  void SendRaw(const std::string& bytes) { EXPECT_FALSE(socket_.SendBinary(bytes)); }

  std::uint64_t Send(wire::RequestBody body) {
    wire::Request request{next_id_++, std::move(body)};
    auto bytes = wire::EncodeFrame(request);
    EXPECT_TRUE(bytes);
    if (bytes) SendRaw(std::string(bytes->begin(), bytes->end()));
    return request.id;
  }

  // Sends and waits for the answer.
  wire::Response Call(wire::RequestBody body) { return WaitForResponse(Send(std::move(body))); }

  wire::Response WaitForResponse(std::uint64_t id) {
    for (;;) {
      auto frame = ReadFrame();
      if (!frame) return {};
      if (auto* push = std::get_if<wire::Push>(&*frame)) {
        pushes_.push_back(std::move(*push));
        continue;
      }
      auto& response = std::get<wire::Response>(*frame);
      EXPECT_EQ(response.id, id);
      return response;
    }
  }

  wire::Push NextPush() {
    if (!pushes_.empty()) {
      wire::Push push = std::move(pushes_.front());
      pushes_.pop_front();
      return push;
    }
    auto frame = ReadFrame();
    if (!frame || !std::holds_alternative<wire::Push>(*frame)) {
      ADD_FAILURE() << "expected a push";
      return {};
    }
    return std::get<wire::Push>(*frame);
  }

  // The next push, or nullopt when none arrives within `limit` (the
  // connection is unusable then).
  std::optional<wire::Push> NextPushFor(std::chrono::milliseconds limit) {
    if (!pushes_.empty()) return NextPush();
    std::string message;
    auto ec = socket_.ReadFor(limit, message);
    if (!ec || *ec) return std::nullopt;
    auto frame = wire::DecodeServerFrame(AsBytes(message));
    if (!frame || !std::holds_alternative<wire::Push>(*frame)) {
      ADD_FAILURE() << "expected a push";
      return std::nullopt;
    }
    return std::get<wire::Push>(std::move(*frame));
  }

  // The next push, which must be an Envelope.
  wire::Envelope NextEnvelope(std::uint64_t* push_id = nullptr) {
    wire::Push push = NextPush();
    if (push_id != nullptr) *push_id = push.id;
    if (!std::holds_alternative<wire::Envelope>(push.body)) {
      ADD_FAILURE() << "expected an envelope push";
      return {};
    }
    return std::get<wire::Envelope>(push.body);
  }

  void ExpectQueueEmpty() {
    wire::Push push = NextPush();
    EXPECT_TRUE(std::holds_alternative<wire::QueueEmpty>(push.body)) << "expected QueueEmpty";
  }

  // Pushes that arrived while waiting for a response, not read yet.
  std::size_t buffered_pushes() const { return pushes_.size(); }

  void Ack(std::uint64_t push_id) {
    auto bytes = wire::EncodeFrame(wire::PushAck{push_id});
    ASSERT_TRUE(bytes);
    SendRaw(std::string(bytes->begin(), bytes->end()));
  }

  std::optional<wire::ServerFrame> ReadFrame() {
    std::string message;
    if (auto ec = socket_.Read(message)) {
      last_error_ = ec;
      return std::nullopt;
    }
    auto frame = wire::DecodeServerFrame(AsBytes(message));
    EXPECT_TRUE(frame);
    if (!frame) return std::nullopt;
    return std::move(*frame);
  }

  // Reads until the server closes; returns the close code (0 if none).
  std::uint16_t ReadUntilClosed() {
    while (ReadFrame()) {
    }
    return last_error_ == websocket::error::closed ? socket_.close_reason().code : 0;
  }

  testing::WebSocketClient& socket() { return socket_; }

 private:
  testing::WebSocketClient socket_;
  std::uint64_t next_id_ = 1;
  std::deque<wire::Push> pushes_;
  boost::system::error_code last_error_;
};

class RequestHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-handlers-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_NO_FATAL_FAILURE(database_.Create(dir_));
    auto store = store::OpenServerStore(database_.url(), clock_);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    StartServer();
  }

  // When set before the server starts: the server's peer-address seam
  // (Server::Create's PeerAddressForTesting).
  std::function<std::string(const std::string&)> peer_address_for_testing_;

  // Changes the configuration before the server starts (rate limits...).
  virtual void Configure(ServerConfig& config) { (void)config; }
  // The store the handlers use: store_, or a test's wrapper around it.
  virtual store::ServerStore& HandlerStore() { return *store_; }

  void StartServer() {
    auto cert = EnsureSelfSignedCertificate(dir_);
    ASSERT_TRUE(cert);
    ServerConfig config;
    config.port = 0;
    config.threads = 2;
    config.store_threads = 2;
    // The store's URL, so that the handler options are exactly those
    // production derives for this backend (on PostgreSQL every request,
    // sends included, runs on a worker).
    config.store_url = database_.url();
    config.registration_mode = registration_mode_;
    Configure(config);
    metrics_ = std::make_shared<MetricsRegistry>();
    RequestHandlerOptions options = RequestHandlerOptionsFrom(config);
#ifdef PARLEY_HANDLERS_ON_POSTGRES
    ASSERT_FALSE(options.sends_on_network_thread);
#else
    ASSERT_TRUE(options.sends_on_network_thread);
#endif
    options.account_deleted = [this] { ++accounts_deleted_; };
    handler_ = std::make_shared<RequestFrameHandler>(HandlerStore(), clock_, *metrics_, options);
    auto server = Server::Create(config, {handler_, metrics_, {}, cert->files}, peer_address_for_testing_);
    ASSERT_TRUE(server);
    server_ = std::move(*server);
    server_->Start();
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (handler_) handler_->Stop();
    handler_.reset();
    server_.reset();
    store_.reset();
    database_.Destroy();
    std::filesystem::remove_all(dir_);
  }

  std::uint16_t port() const { return server_->port(); }

  // The value of one series in the /metrics text (0 when absent).
  std::uint64_t MetricValue(const std::string& series) {
    const std::string text = metrics_->RenderPrometheus();
    const std::size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stoull(text.substr(at + series.size() + 2));
  }

  // Registers on `client` (which stays authenticated) and drains its
  // QueueEmpty (and PreKeysLow, when few prekeys were uploaded).
  DeviceLogin Register(WireClient& client, const std::string& username, const DeviceKeys& keys,
                       RegistrationId registration_id = RegistrationId(1234)) {
    wire::RegisterRequest request;
    request.username = username;
    request.registration_id = registration_id;
    request.identity_key = keys.identity.public_key.Serialize();
    request.signed_prekey = keys.signed_prekey;
    request.prekeys = keys.prekeys;
    wire::Response response = client.Call(request);
    EXPECT_EQ(response.status, ResponseStatus::kOk) << response.error_detail;
    if (!std::holds_alternative<wire::RegisterResult>(response.body)) return {};
    auto& result = std::get<wire::RegisterResult>(response.body);
    EXPECT_EQ(result.device_id.value(), 1u);
    client.ExpectQueueEmpty();
    if (keys.prekeys.size() < 10) {
      wire::Push low = client.NextPush();
      EXPECT_TRUE(std::holds_alternative<wire::PreKeysLow>(low.body));
    }
    return {result.account_id, result.device_id, result.credential};
  }

  wire::Response Authenticate(WireClient& client, const DeviceLogin& login) {
    return client.Call(wire::AuthenticateRequest{login.account, login.device, login.credential});
  }

  wire::SendMessagesRequest TextTo(const DeviceLogin& recipient, const std::string& text,
                                   RegistrationId registration_id = RegistrationId(1234)) {
    wire::SendMessagesRequest request;
    request.recipient = recipient.account;
    request.client_message_id = RandomMessageId();
    request.messages.push_back({recipient.device, registration_id, 3, {text.begin(), text.end()}});
    return request;
  }

  static std::string Text(const wire::Envelope& envelope) {
    return std::string(envelope.content.begin(), envelope.content.end());
  }

  std::filesystem::path dir_;
  TestDatabase database_;
  // Starts at the real time; tests move it to refill token buckets.
  TestClock clock_{SystemClock().NowMillis()};
  RegistrationMode registration_mode_ = RegistrationMode::kOpen;
  std::unique_ptr<store::ServerStore> store_;
  std::shared_ptr<MetricsRegistry> metrics_;
  std::shared_ptr<RequestFrameHandler> handler_;
  std::unique_ptr<Server> server_;
  // Calls of RequestHandlerOptions::account_deleted.
  std::atomic<int> accounts_deleted_{0};
};

}  // namespace parley::server::handler_testing

#pragma GCC diagnostic pop
