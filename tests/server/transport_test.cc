// The transport driven in-process by real TLS WebSocket and HTTPS clients
// on 127.0.0.1 (port 0), with a recording FrameHandler.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "server/send_batch.h"
#include "server/server.h"
#include "test_client.h"

namespace parley::server {
namespace {

namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;
using testing::HttpsClient;
using testing::WebSocketClient;
using namespace std::chrono_literals;

std::vector<std::uint8_t> Bytes(const std::string& s) {
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

struct CountingContext : ConnectionContext {
  int frames = 0;
};

// Answers each frame with "answer:<frame>", unless told to hold the frames.
// "flood" makes it queue 64 KB of pushes at once.
class RecordingHandler : public FrameHandler {
 public:
  std::unique_ptr<ConnectionContext> OnOpen(const ConnectionHandle& connection) override {
    std::lock_guard lock(mutex_);
    connections.push_back(connection);
    ++opened;
    changed_.notify_all();
    if (probation_frame_limit != 0) connection.RequireAuthentication(probation_frame_limit);
    return std::make_unique<CountingContext>();
  }

  void OnFrame(const ConnectionHandle& connection, ConnectionContext* context,
               std::span<const std::uint8_t> frame, RequestSlot slot) override {
    const std::string text(frame.begin(), frame.end());
    auto* counting = static_cast<CountingContext*>(context);
    ++counting->frames;
    std::unique_lock lock(mutex_);
    frames.push_back(text);
    context_frames = counting->frames;
    changed_.notify_all();
    if (hold) {
      held.push_back(std::move(slot));
      return;
    }
    lock.unlock();
    if (text == "authenticated") connection.MarkAuthenticated();
    if (text == "flood") {
      for (int i = 0; i < 64; ++i) connection.Send(std::vector<std::uint8_t>(1000, 'x'));
    }
    connection.Send(Bytes("answer:" + text), std::move(slot));
  }

  void OnClose(const ConnectionHandle&, ConnectionContext*) override {
    std::lock_guard lock(mutex_);
    ++closed;
    changed_.notify_all();
  }

  template <class Predicate>
  bool WaitFor(Predicate predicate, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return predicate(*this); });
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  bool hold = false;
  // When set, each connection is put on probation with this frame limit
  // until it sends "authenticated".
  std::size_t probation_frame_limit = 0;
  int opened = 0;
  int closed = 0;
  int context_frames = 0;
  std::vector<std::string> frames;
  std::vector<ConnectionHandle> connections;
  std::vector<RequestSlot> held;
};

// The value of an unlabelled series in Prometheus text, or -1.
double MetricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-transport-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto cert = EnsureSelfSignedCertificate(dir_);
    ASSERT_TRUE(cert);
    certificate_ = *cert;
    config_.listen_address = "127.0.0.1";
    config_.port = 0;
    config_.threads = 2;
    config_.drain_timeout_seconds = 5;
    handler_ = std::make_shared<RecordingHandler>();
    metrics_ = std::make_shared<MetricsRegistry>();
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  void StartServer(HttpRouter routes = {}) {
    auto server = Server::Create(config_, {handler_, metrics_, std::move(routes), certificate_.files});
    ASSERT_TRUE(server);
    server_ = std::move(*server);
    server_->Start();
  }

  std::uint16_t port() const { return server_->port(); }

  std::filesystem::path dir_;
  SelfSignedCertificate certificate_;
  ServerConfig config_;
  std::shared_ptr<RecordingHandler> handler_;
  std::shared_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<Server> server_;
};

TEST_F(TransportTest, BinaryFrameRoundTrip) {
  StartServer();
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.SendBinary("hello"));
  std::string answer;
  bool binary = false;
  ASSERT_FALSE(client.Read(answer, &binary));
  EXPECT_EQ(answer, "answer:hello");
  EXPECT_TRUE(binary);
  ASSERT_FALSE(client.SendBinary("again"));
  ASSERT_FALSE(client.Read(answer));
  EXPECT_EQ(answer, "answer:again");
  // The per-connection context lives across frames.
  EXPECT_EQ(handler_->context_frames, 2);
  EXPECT_FALSE(client.Close());
  EXPECT_TRUE(handler_->WaitFor([](auto& h) { return h.closed == 1; }));
}

TEST_F(TransportTest, ServerPresentsTheGeneratedCertificate) {
  StartServer();
  HttpsClient client(port());
  ASSERT_FALSE(client.Connect());
  EXPECT_EQ(testing::PeerFingerprint(client.native_ssl()), certificate_.fingerprint_sha256);
}

TEST_F(TransportTest, TextFrameClosesWithReason) {
  StartServer();
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.SendText("not binary"));
  std::string message;
  EXPECT_EQ(client.Read(message), websocket::error::closed);
  EXPECT_EQ(client.close_reason().code, static_cast<std::uint16_t>(CloseCode::kUnsupportedData));
  EXPECT_NE(std::string(client.close_reason().reason.c_str()).find("binary"), std::string::npos);
  EXPECT_TRUE(handler_->frames.empty());
  EXPECT_TRUE(handler_->WaitFor([](auto& h) { return h.closed == 1; }));
}

TEST_F(TransportTest, OversizeFrameClosesWithMessageTooBigAndOthersKeepWorking) {
  config_.limits.max_frame_bytes = 1024;
  config_.limits.max_write_queue_bytes = 4096;
  StartServer();
  WebSocketClient other(port());
  ASSERT_FALSE(other.Connect());
  std::string message;
  {
    WebSocketClient big(port());
    ASSERT_FALSE(big.Connect());
    ASSERT_FALSE(big.SendBinary(std::string(1024, 'a')));  // at the limit: accepted
    ASSERT_FALSE(big.Read(message));
    EXPECT_EQ(message.size(), std::string("answer:").size() + 1024);

    ASSERT_FALSE(big.SendBinary(std::string(1025, 'b')));  // one past it
    EXPECT_EQ(big.Read(message), websocket::error::closed);
    EXPECT_EQ(big.close_reason().code, static_cast<std::uint16_t>(CloseCode::kMessageTooBig));
  }
  ASSERT_FALSE(other.SendBinary("still here"));
  ASSERT_FALSE(other.Read(message));
  EXPECT_EQ(message, "answer:still here");
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.closed == 1; }));
}

TEST_F(TransportTest, IdleConnectionIsClosedWithoutPings) {
  config_.limits.idle_timeout_seconds = 1;
  config_.limits.keepalive_pings = false;
  StartServer();
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  std::string message;
  const auto result = client.ReadFor(5000ms, message);
  ASSERT_TRUE(result.has_value()) << "the idle connection was not closed";
  EXPECT_TRUE(*result);
  EXPECT_TRUE(handler_->WaitFor([](auto& h) { return h.closed == 1; }));
}

TEST_F(TransportTest, KeepalivePingsKeepAnAnsweringClientOpen) {
  config_.limits.idle_timeout_seconds = 1;
  config_.limits.keepalive_pings = true;
  StartServer();
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  std::string message;
  // The client's pending read answers the server's pings.
  EXPECT_FALSE(client.ReadFor(3000ms, message).has_value());
  EXPECT_EQ(handler_->closed, 0);
}

TEST_F(TransportTest, InFlightLimitStopsReadingUntilAnAnswerIsWritten) {
  config_.limits.max_in_flight_requests = 2;
  StartServer();
  handler_->hold = true;
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(client.SendBinary("r" + std::to_string(i)));
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.frames.size() == 2; }));
  // A third frame is not read while two are held.
  EXPECT_FALSE(handler_->WaitFor([](auto& h) { return h.frames.size() > 2; }, 300ms));

  ConnectionHandle connection;
  {
    std::lock_guard lock(handler_->mutex_);
    connection = handler_->connections.at(0);
    connection.Send(Bytes("answer:r0"), std::move(handler_->held.at(0)));
  }
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.frames.size() == 3; }));
  std::string message;
  ASSERT_FALSE(client.Read(message));
  EXPECT_EQ(message, "answer:r0");

  {
    std::lock_guard lock(handler_->mutex_);
    handler_->hold = false;
    // Released without an answer: the slot still frees its place.
    handler_->held.clear();
  }
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.frames.size() == 5; }));
  ASSERT_FALSE(client.Read(message));
  EXPECT_EQ(message, "answer:r3");
  ASSERT_FALSE(client.Read(message));
  EXPECT_EQ(message, "answer:r4");
}

TEST_F(TransportTest, SlowReaderIsDisconnectedAtTheWriteQueueBound) {
  config_.limits.max_frame_bytes = 1024;
  config_.limits.max_write_queue_bytes = 8 * 1024;
  StartServer();
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.SendBinary("flood"));  // 64 KB of pushes queued at once
  EXPECT_TRUE(handler_->WaitFor([](auto& h) { return h.closed == 1; }));
  EXPECT_EQ(
      MetricValue(metrics_->RenderPrometheus(), "parley_websocket_closes_total{reason=\"slow_reader\"}"), 1);
}

TEST_F(TransportTest, PushFromAnotherThreadAndSendAfterCloseIsDropped) {
  StartServer();
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.opened == 1; }));
  ConnectionHandle connection = handler_->connections.at(0);
  EXPECT_TRUE(connection.is_open());
  EXPECT_EQ(connection.address_key(), "127.0.0.1");
  std::thread pusher([connection] { connection.Send(Bytes("push")); });
  pusher.join();
  std::string message;
  ASSERT_FALSE(client.Read(message));
  EXPECT_EQ(message, "push");

  ASSERT_FALSE(client.Close());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.closed == 1; }));
  EXPECT_FALSE(connection.is_open());
  connection.Send(Bytes("too late"));  // dropped, no effect
  connection.Close(CloseCode::kNormal, "bye");
  ConnectionHandle empty;
  empty.Send(Bytes("nowhere"));
  EXPECT_EQ(empty.id(), 0u);
}

// With one event-loop thread, frames sent while a SendBatch is open on a
// thread leave only when it ends, each connection's in the order sent.
TEST_F(TransportTest, FramesOfASendBatchLeaveTogetherWhenItEnds) {
  config_.threads = 1;
  StartServer();
  WebSocketClient first(port());
  ASSERT_FALSE(first.Connect());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.opened == 1; }));
  WebSocketClient second(port());
  ASSERT_FALSE(second.Connect());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.opened == 2; }));
  // A third connection only shows that nothing leaves before the batch ends
  // (a read that times out leaves its client unusable).
  WebSocketClient probe(port());
  ASSERT_FALSE(probe.Connect());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.opened == 3; }));
  const ConnectionHandle a = handler_->connections.at(0);
  const ConnectionHandle b = handler_->connections.at(1);
  const ConnectionHandle c = handler_->connections.at(2);
  std::string message;
  std::thread sender([&] {
    SendBatch batch;
    for (int i = 0; i < 3; ++i) {
      a.Send(Bytes("a" + std::to_string(i)));
      b.Send(Bytes("b" + std::to_string(i)));
    }
    c.Send(Bytes("c"));
    std::string early;
    EXPECT_FALSE(probe.ReadFor(300ms, early).has_value());
  });
  sender.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(first.Read(message));
    EXPECT_EQ(message, "a" + std::to_string(i));
    ASSERT_FALSE(second.Read(message));
    EXPECT_EQ(message, "b" + std::to_string(i));
  }
}

// With several event-loop threads (a strand per connection) a SendBatch
// changes nothing: each frame is posted at once.
TEST_F(TransportTest, SendBatchPostsAtOnceWithSeveralThreads) {
  StartServer();
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.opened == 1; }));
  const ConnectionHandle connection = handler_->connections.at(0);
  std::string message;
  std::thread sender([&] {
    SendBatch batch;
    connection.Send(Bytes("now"));
    const auto read = client.ReadFor(10s, message);
    ASSERT_TRUE(read.has_value());
    EXPECT_FALSE(*read);
    EXPECT_EQ(message, "now");
  });
  sender.join();
}

TEST_F(TransportTest, ServerClosesWithHandlerReason) {
  StartServer();
  WebSocketClient client(port());
  ASSERT_FALSE(client.Connect());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.opened == 1; }));
  handler_->connections.at(0).Send(Bytes("last words"));
  handler_->connections.at(0).Close(CloseCode::kPolicyViolation, "authentication failed");
  std::string message;
  ASSERT_FALSE(client.Read(message));
  EXPECT_EQ(message, "last words");  // queued frames go out before the close
  EXPECT_EQ(client.Read(message), websocket::error::closed);
  EXPECT_EQ(client.close_reason().code, static_cast<std::uint16_t>(CloseCode::kPolicyViolation));
  EXPECT_EQ(std::string(client.close_reason().reason.c_str()), "authentication failed");
}

TEST_F(TransportTest, HealthAndMetricsOverHttps) {
  StartServer();
  {
    WebSocketClient ws(port());
    ASSERT_FALSE(ws.Connect());
    ASSERT_FALSE(ws.SendBinary("count me"));
    std::string message;
    ASSERT_FALSE(ws.Read(message));
    ASSERT_FALSE(ws.Close());
  }
  HttpsClient client(port());
  ASSERT_FALSE(client.Connect());
  error_code ec;
  auto health = client.Request(http::verb::get, "/healthz", ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(health.body(), "ok\n");

  auto metrics = client.Request(http::verb::get, "/metrics", ec);  // same keep-alive connection
  ASSERT_FALSE(ec);
  EXPECT_EQ(metrics.result_int(), 200);
  EXPECT_EQ(metrics[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = metrics.body();
  EXPECT_NE(text.find("# TYPE parley_connections_open gauge"), std::string::npos);
  EXPECT_EQ(MetricValue(text, "parley_frames_received_total"), 1);
  EXPECT_EQ(MetricValue(text, "parley_frames_sent_total"), 1);
  EXPECT_EQ(MetricValue(text, "parley_bytes_received_total"), 8);
  EXPECT_EQ(MetricValue(text, "parley_frame_handler_latency_seconds_count"), 1);
  EXPECT_GE(MetricValue(text, "parley_connections_total"), 2);
  EXPECT_EQ(MetricValue(text, "parley_http_requests_total"), 1);  // the /healthz before

  auto head = client.Head("/healthz", ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_length], "3");
}

TEST_F(TransportTest, UnknownPathMethodAndPlainWebSocketGet) {
  StartServer();
  HttpsClient client(port());
  ASSERT_FALSE(client.Connect());
  error_code ec;
  EXPECT_EQ(client.Request(http::verb::get, "/nope", ec).result_int(), 404);
  ASSERT_FALSE(ec);
  auto wrong_method = client.Request(http::verb::delete_, "/healthz", ec);
  EXPECT_EQ(wrong_method.result_int(), 405);
  EXPECT_EQ(wrong_method[http::field::allow], "GET, HEAD");
  EXPECT_EQ(client.Request(http::verb::get, "/v1/websocket", ec).result_int(), 426);
}

TEST_F(TransportTest, Tls12ClientIsRefused) {
  StartServer();
  HttpsClient client(port(), testing::TlsVersion::kTls12Only);
  EXPECT_TRUE(client.Connect());
  HttpsClient modern(port());
  EXPECT_FALSE(modern.Connect());
}

TEST_F(TransportTest, MaxConnectionsRefusesTheNextOne) {
  config_.limits.max_connections = 1;
  StartServer();
  WebSocketClient first(port());
  ASSERT_FALSE(first.Connect());
  HttpsClient second(port());
  EXPECT_TRUE(second.Connect());
  EXPECT_EQ(MetricValue(metrics_->RenderPrometheus(), "parley_connections_rejected_total"), 1);
}

TEST_F(TransportTest, MaxConnectionsPerAddressRefusesTheNextOneFromIt) {
  config_.limits.max_connections_per_address = 2;
  StartServer();
  WebSocketClient first(port());
  ASSERT_FALSE(first.Connect());
  HttpsClient second(port());
  ASSERT_FALSE(second.Connect());
  HttpsClient third(port());
  EXPECT_TRUE(third.Connect());
  EXPECT_EQ(MetricValue(metrics_->RenderPrometheus(), "parley_connections_rejected_per_address_total"), 1);
  EXPECT_EQ(MetricValue(metrics_->RenderPrometheus(), "parley_connections_rejected_total"), 0);
  // Another address has places of its own.
  HttpsClient elsewhere(port());
  EXPECT_FALSE(elsewhere.ConnectFrom("127.0.0.2"));
  // A connection that ends gives its place back.
  ASSERT_FALSE(first.Close());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.closed == 1; }));
  // The place is given back when the session is destroyed, just after the
  // handler saw the close: bounded wait for the count to drop.
  for (int i = 0; i < 500 && server_->open_connections() > 2; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(server_->open_connections(), 2u);
  HttpsClient fourth(port());
  EXPECT_FALSE(fourth.Connect());
}

TEST_F(TransportTest, ProbationLimitsFramesUntilMarkedAuthenticated) {
  config_.limits.max_frame_bytes = 4096;
  handler_->probation_frame_limit = 100;
  StartServer();
  std::string message;
  {
    WebSocketClient refused(port());
    ASSERT_FALSE(refused.Connect());
    ASSERT_FALSE(refused.SendBinary(std::string(100, 'a')));  // at the probation limit
    ASSERT_FALSE(refused.Read(message));
    ASSERT_FALSE(refused.SendBinary(std::string(101, 'b')));  // one past it
    EXPECT_EQ(refused.Read(message), websocket::error::closed);
    EXPECT_EQ(refused.close_reason().code, static_cast<std::uint16_t>(CloseCode::kMessageTooBig));
  }
  WebSocketClient admitted(port());
  ASSERT_FALSE(admitted.Connect());
  ASSERT_FALSE(admitted.SendBinary("authenticated"));
  ASSERT_FALSE(admitted.Read(message));
  ASSERT_FALSE(admitted.SendBinary(std::string(4096, 'c')));  // the transport's own limit
  ASSERT_FALSE(admitted.Read(message));
  EXPECT_EQ(message.size(), std::string("answer:").size() + 4096);
  ASSERT_FALSE(admitted.SendBinary(std::string(4097, 'd')));
  EXPECT_EQ(admitted.Read(message), websocket::error::closed);
  EXPECT_EQ(admitted.close_reason().code, static_cast<std::uint16_t>(CloseCode::kMessageTooBig));
}

TEST_F(TransportTest, GracefulShutdownDrains) {
  StartServer();
  WebSocketClient ws(port());
  ASSERT_FALSE(ws.Connect());
  ASSERT_TRUE(handler_->WaitFor([](auto& h) { return h.opened == 1; }));

  std::atomic<bool> drained{false};
  std::thread stopper([&] { drained = server_->Shutdown(); });
  while (!server_->draining()) std::this_thread::yield();

  // While draining, health turns 503 and no new WebSocket is accepted.
  HttpsClient health(port());
  ASSERT_FALSE(health.Connect());
  error_code ec;
  auto response = health.Request(http::verb::get, "/healthz", ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(response.result_int(), 503);
  WebSocketClient late(port());
  EXPECT_TRUE(late.Connect());

  std::string message;
  EXPECT_EQ(ws.Read(message), websocket::error::closed);
  EXPECT_EQ(ws.close_reason().code, static_cast<std::uint16_t>(CloseCode::kGoingAway));
  stopper.join();
  EXPECT_TRUE(drained);
  EXPECT_EQ(handler_->closed, 1);
  EXPECT_EQ(server_->open_connections(), 0u);
}

// Routes that stream: an upload that counts body bytes chunk by chunk, and a
// download written in chunks.
HttpRouter StreamingRoutes(std::shared_ptr<std::atomic<int>> upload_calls) {
  HttpRouter routes;
  routes.Add({{HttpMethod::kPost, HttpMethod::kPut},
              "/test/upload",
              100 * 1024,
              [upload_calls](std::shared_ptr<HttpExchange> exchange) {
                ++*upload_calls;
                struct Reader : std::enable_shared_from_this<Reader> {
                  std::shared_ptr<HttpExchange> exchange;
                  std::uint64_t total = 0;
                  std::uint64_t sum = 0;
                  std::size_t largest_chunk = 0;
                  void Next() {
                    exchange->ReadBody([self = shared_from_this()](HttpBodyChunk chunk) {
                      switch (chunk.status) {
                        case HttpBodyStatus::kChunk:
                          self->total += chunk.bytes.size();
                          self->largest_chunk = std::max(self->largest_chunk, chunk.bytes.size());
                          for (std::uint8_t b : chunk.bytes) self->sum += b;
                          self->Next();
                          return;
                        case HttpBodyStatus::kEnd:
                          self->exchange->Respond({200,
                                                   {},
                                                   std::to_string(self->total) + " " +
                                                       std::to_string(self->sum) + " " +
                                                       std::to_string(self->largest_chunk)});
                          return;
                        case HttpBodyStatus::kTooLarge:
                          self->exchange->Respond({413, {}, "too large"});
                          return;
                        case HttpBodyStatus::kFailed:
                          return;
                      }
                    });
                  }
                };
                auto reader = std::make_shared<Reader>();
                reader->exchange = std::move(exchange);
                reader->Next();
              }});
  routes.Add({{HttpMethod::kGet, HttpMethod::kHead},
              "/test/download/",
              std::nullopt,
              [](std::shared_ptr<HttpExchange> exchange) {
                struct Writer : std::enable_shared_from_this<Writer> {
                  std::shared_ptr<HttpExchange> exchange;
                  std::uint64_t size = 200000;
                  std::uint64_t at = 0;
                  void Next() {
                    if (at == size) return;
                    const std::uint64_t n = std::min<std::uint64_t>(70000, size - at);
                    std::vector<std::uint8_t> chunk(n);
                    for (std::uint64_t i = 0; i < n; ++i)
                      chunk[i] = static_cast<std::uint8_t>((at + i) % 251);
                    at += n;
                    exchange->WriteBody(std::move(chunk), [self = shared_from_this()](bool ok) {
                      if (ok) self->Next();
                    });
                  }
                };
                auto writer = std::make_shared<Writer>();
                writer->exchange = exchange;
                const bool head = exchange->request().method == HttpMethod::kHead;
                exchange->StartResponse({200, {{"content-type", "application/octet-stream"}}, writer->size},
                                        [writer, head](bool ok) {
                                          if (ok && !head) writer->Next();
                                        });
              }});
  routes.Add({{HttpMethod::kGet}, "/test/forget", std::nullopt, [](std::shared_ptr<HttpExchange>) {}});
  return routes;
}

TEST_F(TransportTest, StreamingUploadInChunks) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  StartServer(StreamingRoutes(calls));
  std::string body(90 * 1024, '\0');
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>(i % 253);
    sum += static_cast<std::uint8_t>(body[i]);
  }
  for (bool chunked : {false, true}) {
    HttpsClient client(port());
    ASSERT_FALSE(client.Connect());
    error_code ec;
    auto response = client.RequestChunked(http::verb::post, "/test/upload", body, 10000, chunked, ec);
    ASSERT_FALSE(ec);
    ASSERT_EQ(response.result_int(), 200);
    std::istringstream fields(response.body());
    std::uint64_t total = 0, got_sum = 0, largest = 0;
    fields >> total >> got_sum >> largest;
    EXPECT_EQ(total, body.size());
    EXPECT_EQ(got_sum, sum);
    EXPECT_LE(largest, kHttpBodyChunkBytes);
  }
}

TEST_F(TransportTest, UploadOverTheRouteLimitIsRefused) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  StartServer(StreamingRoutes(calls));
  const std::string body(150 * 1024, 'z');
  {
    // Content-Length over the limit: 413 before the route runs.
    HttpsClient client(port());
    ASSERT_FALSE(client.Connect());
    error_code ec;
    auto response = client.RequestChunked(http::verb::put, "/test/upload", body, 16 * 1024, false, ec);
    EXPECT_EQ(response.result_int(), 413);
    EXPECT_EQ(calls->load(), 0);
  }
  {
    // Chunked: the route learns it while reading.
    HttpsClient client(port());
    ASSERT_FALSE(client.Connect());
    error_code ec;
    auto response = client.RequestChunked(http::verb::put, "/test/upload", body, 16 * 1024, true, ec);
    EXPECT_EQ(response.result_int(), 413);
    EXPECT_EQ(response.body(), "too large");
    EXPECT_EQ(calls->load(), 1);
  }
}

TEST_F(TransportTest, StreamedDownloadAndHead) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  StartServer(StreamingRoutes(calls));
  HttpsClient client(port());
  ASSERT_FALSE(client.Connect());
  error_code ec;
  auto response = client.Request(http::verb::get, "/test/download/abc", ec);
  ASSERT_FALSE(ec);
  ASSERT_EQ(response.result_int(), 200);
  ASSERT_EQ(response.body().size(), 200000u);
  for (std::size_t i = 0; i < response.body().size(); ++i) {
    ASSERT_EQ(static_cast<std::uint8_t>(response.body()[i]), i % 251) << i;
  }
  auto head = client.Head("/test/download/abc", ec);  // same connection: keep-alive survived
  ASSERT_FALSE(ec);
  EXPECT_EQ(head[http::field::content_length], "200000");
  auto health = client.Request(http::verb::get, "/healthz", ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(health.result_int(), 200);
}

TEST_F(TransportTest, RouteThatForgetsToAnswerGets500) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  StartServer(StreamingRoutes(calls));
  HttpsClient client(port());
  ASSERT_FALSE(client.Connect());
  error_code ec;
  EXPECT_EQ(client.Request(http::verb::get, "/test/forget", ec).result_int(), 500);
}

TEST_F(TransportTest, RoutesMayNotClaimBuiltInPaths) {
  HttpRouter routes;
  ASSERT_TRUE(
      routes.Add({{HttpMethod::kGet}, "/healthz", std::nullopt, [](std::shared_ptr<HttpExchange>) {}}));
  auto server = Server::Create(config_, {handler_, metrics_, std::move(routes), certificate_.files});
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code, ServerError::kRouteConflict);
}

TEST_F(TransportTest, BindFailureIsAnError) {
  StartServer();
  config_.port = port();
  auto second =
      Server::Create(config_, {handler_, std::make_shared<MetricsRegistry>(), {}, certificate_.files});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ServerError::kBindFailed);
}

}  // namespace
}  // namespace parley::server
