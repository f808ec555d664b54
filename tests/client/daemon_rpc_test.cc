// `parley daemon` without a server: the request parser's every error case,
// and RpcServer over a real UNIX socket with a stand-in handler (framing,
// limits, subscriptions, socket mode, loopback-only TCP).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "daemon_server.h"
#include "rpc_methods.h"
#include "rpc_request.h"

namespace parley::rpc {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

RequestError OnlyError(const ParsedLine& parsed) {
  EXPECT_EQ(parsed.entries.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<RequestError>(parsed.entries.at(0)));
  return std::get<RequestError>(parsed.entries.at(0));
}

TEST(RpcRequestTest, ParsesARequestWithNamedParams) {
  auto parsed = ParseLine(R"({"jsonrpc":"2.0","id":7,"method":"send","params":{"peer":"bob","text":"hi"}})");
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_FALSE(parsed.batch);
  const auto& r = std::get<Request>(parsed.entries[0]);
  EXPECT_EQ(r.id, 7);
  EXPECT_FALSE(r.notification);
  EXPECT_EQ(r.method, "send");
  EXPECT_EQ(r.params["peer"], "bob");
}

TEST(RpcRequestTest, NotificationHasNoIdAndParamsDefaultToAnObject) {
  auto parsed = ParseLine(R"({"jsonrpc":"2.0","method":"subscribe"})");
  const auto& r = std::get<Request>(parsed.entries.at(0));
  EXPECT_TRUE(r.notification);
  EXPECT_TRUE(r.params.is_object());
  EXPECT_TRUE(r.params.empty());
  // An explicit null id is a request, not a notification.
  EXPECT_FALSE(
      std::get<Request>(ParseLine(R"({"jsonrpc":"2.0","id":null,"method":"m"})").entries.at(0)).notification);
}

TEST(RpcRequestTest, NotJsonIsAParseError) {
  for (const char* line : {"{", "hello", R"({"jsonrpc":"2.0",})", "\xff\xfe", ""}) {
    const auto e = OnlyError(ParseLine(line));
    EXPECT_EQ(e.code, kParseError) << line;
    EXPECT_TRUE(e.id.is_null());
  }
}

TEST(RpcRequestTest, InvalidRequestsKeepTheirIdWhenReadable) {
  EXPECT_EQ(OnlyError(ParseLine("42")).code, kInvalidRequest);
  EXPECT_EQ(OnlyError(ParseLine(R"({"id":1,"method":"m"})")).code, kInvalidRequest);  // no jsonrpc
  const auto wrong_version = OnlyError(ParseLine(R"({"jsonrpc":"1.0","id":"x","method":"m"})"));
  EXPECT_EQ(wrong_version.code, kInvalidRequest);
  EXPECT_EQ(wrong_version.id, "x");
  EXPECT_EQ(OnlyError(ParseLine(R"({"jsonrpc":"2.0","id":1})")).code, kInvalidRequest);  // no method
  EXPECT_EQ(OnlyError(ParseLine(R"({"jsonrpc":"2.0","id":1,"method":""})")).code, kInvalidRequest);
  EXPECT_EQ(OnlyError(ParseLine(R"({"jsonrpc":"2.0","id":1,"method":5})")).code, kInvalidRequest);
  const auto object_id = OnlyError(ParseLine(R"({"jsonrpc":"2.0","id":{},"method":"m"})"));
  EXPECT_EQ(object_id.code, kInvalidRequest);
  EXPECT_TRUE(object_id.id.is_null());
  EXPECT_EQ(OnlyError(ParseLine(R"({"jsonrpc":"2.0","id":1,"method":"m","params":3})")).code,
            kInvalidRequest);
  EXPECT_EQ(OnlyError(ParseLine(R"({"jsonrpc":"2.0","id":1,"method":"m","x":0})")).code, kInvalidRequest);
}

TEST(RpcRequestTest, PositionalParamsAreInvalidParams) {
  const auto e = OnlyError(ParseLine(R"({"jsonrpc":"2.0","id":3,"method":"send","params":["bob","hi"]})"));
  EXPECT_EQ(e.code, kInvalidParams);
  EXPECT_EQ(e.id, 3);
}

TEST(RpcRequestTest, DepthAtTheLimitParsesAndPastItIsRefused) {
  auto nested = [](int depth) {
    std::string inner = "1";
    for (int i = 1; i < depth; ++i) inner = "[" + inner + "]";
    return R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"a":)" + inner + "}}";
  };
  // The request object and params take two levels.
  EXPECT_TRUE(std::holds_alternative<Request>(ParseLine(nested(kMaxDepth - 1)).entries.at(0)));
  EXPECT_EQ(OnlyError(ParseLine(nested(kMaxDepth + 1))).code, kInvalidRequest);
  EXPECT_EQ(OnlyError(ParseLine(std::string(100'000, '[') + std::string(100'000, ']'))).code,
            kInvalidRequest);
}

TEST(RpcRequestTest, LineAtTheLimitParsesAndPastItIsRefused) {
  const std::string head = R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"text":")";
  const std::string tail = "\"}}";
  std::string line = head + std::string(kMaxLineBytes - head.size() - tail.size(), 'a') + tail;
  ASSERT_EQ(line.size(), kMaxLineBytes);
  EXPECT_TRUE(std::holds_alternative<Request>(ParseLine(line).entries.at(0)));
  line.insert(head.size(), "a");
  const auto e = OnlyError(ParseLine(line));
  EXPECT_EQ(e.code, kInvalidRequest);
  EXPECT_EQ(e.message, "request line too long");
}

TEST(RpcRequestTest, BatchesAreBoundedAndEachEntryStandsAlone) {
  auto parsed = ParseLine(R"([{"jsonrpc":"2.0","id":1,"method":"a"},5,{"jsonrpc":"2.0","method":"b"}])");
  EXPECT_TRUE(parsed.batch);
  ASSERT_EQ(parsed.entries.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Request>(parsed.entries[0]));
  EXPECT_EQ(std::get<RequestError>(parsed.entries[1]).code, kInvalidRequest);
  EXPECT_TRUE(std::get<Request>(parsed.entries[2]).notification);
  EXPECT_EQ(OnlyError(ParseLine("[]")).code, kInvalidRequest);
  std::string batch = "[";
  for (std::size_t i = 0; i < kMaxBatch; ++i) batch += R"({"jsonrpc":"2.0","id":1,"method":"a"},)";
  batch.back() = ']';
  EXPECT_EQ(ParseLine(batch).entries.size(), kMaxBatch);
  batch.back() = ',';
  batch += R"({"jsonrpc":"2.0","id":1,"method":"a"}])";
  EXPECT_EQ(OnlyError(ParseLine(batch)).message, "batch too large");
}

TEST(RpcRequestTest, OutputReplacesInvalidUtf8InsteadOfThrowing) {
  const std::string line = ToLine(ResultResponse(1, json{{"body", std::string("a\xff")}}));
  EXPECT_EQ(line.back(), '\n');
  EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded());
}

// ---- RpcServer over a real socket ----------------------------------------

class RpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-rpc-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_EQ(pipe(stop_), 0);
  }
  void TearDown() override {
    Stop();
    close(stop_[0]);
    close(stop_[1]);
    std::filesystem::remove_all(dir_);
  }

  void Start(ServerOptions options = {}) {
    if (options.socket_path.empty()) options.socket_path = dir_ / "d.sock";
    auto listened = RpcServer::Listen(options);
    ASSERT_TRUE(listened) << listened.error().message;
    server_ = std::move(*listened);
    thread_ = std::thread([this] {
      server_->Run(
          [this](const Request& r, const CallContext& context) {
            if (r.method == "echo") return ResultResponse(r.id, r.params);
            if (r.method == "ownerOnly") return ResultResponse(r.id, context.owner_only);
            if (r.method == "block") {
              // Held until the test releases it (at most 10 s).
              std::unique_lock lock(block_mutex_);
              ++blocked_;
              block_cv_.notify_all();
              block_cv_.wait_for(lock, 10s, [this] { return released_; });
              return ResultResponse(r.id, "unblocked");
            }
            return ErrorResponse(r.id, kMethodNotFound, "method not found");
          },
          stop_[0]);
    });
  }
  void Release() {
    std::lock_guard lock(block_mutex_);
    released_ = true;
    block_cv_.notify_all();
  }
  // Waits (at most 10 s) until `n` requests are held in "block".
  bool WaitBlocked(int n) {
    std::unique_lock lock(block_mutex_);
    return block_cv_.wait_for(lock, 10s, [&] { return blocked_ >= n; });
  }
  void Stop() {
    Release();
    if (!thread_.joinable()) return;
    ASSERT_EQ(write(stop_[1], "x", 1), 1);
    thread_.join();
    server_.reset();
  }

  int Connect() {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = (dir_ / "d.sock").string();
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  }
  static void Send(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      sent += static_cast<std::size_t>(n);
    }
  }
  // One line within 10 s, or "" on timeout or end of stream.
  static std::string ReadLine(int fd, std::string& buffer) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (buffer.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char chunk[4096];
      const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return "";
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    const auto newline = buffer.find('\n');
    std::string line = buffer.substr(0, newline);
    buffer.erase(0, newline + 1);
    return line;
  }
  static json Call(int fd, std::string& buffer, const std::string& line) {
    Send(fd, line + "\n");
    return json::parse(ReadLine(fd, buffer), nullptr, false);
  }

  std::filesystem::path dir_;
  int stop_[2] = {-1, -1};
  std::unique_ptr<RpcServer> server_;
  std::thread thread_;
  std::mutex block_mutex_;
  std::condition_variable block_cv_;
  int blocked_ = 0;
  bool released_ = false;
};

TEST_F(RpcServerTest, SocketIsOwnerOnlyAndRemovedOnStop) {
  Start();
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "d.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Stop();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "d.sock"));
}

TEST_F(RpcServerTest, AnswersInOrderAcrossSplitWritesAndSkipsNotifications) {
  Start();
  const int fd = Connect();
  std::string buffer;
  const std::string two = R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}})"
                          "\n"
                          R"({"jsonrpc":"2.0","method":"echo"})"
                          "\n"
                          R"({"jsonrpc":"2.0","id":2,"method":"nope"})"
                          "\r\n";
  for (char c : two) Send(fd, std::string(1, c));
  auto first = json::parse(ReadLine(fd, buffer));
  EXPECT_EQ(first["id"], 1);
  EXPECT_EQ(first["result"]["a"], 1);
  auto second = json::parse(ReadLine(fd, buffer));
  EXPECT_EQ(second["id"], 2);
  EXPECT_EQ(second["error"]["code"], kMethodNotFound);
  auto parse_error = Call(fd, buffer, "not json");
  EXPECT_EQ(parse_error["error"]["code"], kParseError);
  EXPECT_TRUE(parse_error["id"].is_null());
  auto batch =
      Call(fd, buffer, R"([{"jsonrpc":"2.0","id":"x","method":"echo"},{"jsonrpc":"2.0","method":"echo"}])");
  ASSERT_TRUE(batch.is_array());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0]["id"], "x");
  close(fd);
}

TEST_F(RpcServerTest, SlowRequestDoesNotHoldUpOtherConnections) {
  Start();
  const int slow = Connect();
  const int quick = Connect();
  std::string slow_buffer, quick_buffer;
  // Two requests in one write: the second waits for the first (one at a
  // time per connection, answers in order).
  Send(slow, R"({"jsonrpc":"2.0","id":1,"method":"block"})"
             "\n"
             R"({"jsonrpc":"2.0","id":2,"method":"echo"})"
             "\n");
  ASSERT_TRUE(WaitBlocked(1));
  EXPECT_EQ(Call(quick, quick_buffer, R"({"jsonrpc":"2.0","id":7,"method":"echo"})")["id"], 7);
  EXPECT_EQ(Call(quick, quick_buffer, R"({"jsonrpc":"2.0","id":8,"method":"echo"})")["id"], 8);
  pollfd p{slow, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 100), 0) << "the held request was answered early";
  Release();
  auto first = json::parse(ReadLine(slow, slow_buffer), nullptr, false);
  EXPECT_EQ(first["id"], 1);
  EXPECT_EQ(first["result"], "unblocked");
  EXPECT_EQ(json::parse(ReadLine(slow, slow_buffer), nullptr, false)["id"], 2);
  close(slow);
  close(quick);
}

TEST_F(RpcServerTest, PeerThatHangsUpDuringARequestIsDropped) {
  Start();
  int gone = Connect();
  Send(gone, R"({"jsonrpc":"2.0","id":1,"method":"block"})"
             "\n");
  ASSERT_TRUE(WaitBlocked(1));
  close(gone);
  // The loop goes on serving others while the request is held, and after.
  const int other = Connect();
  std::string buffer;
  EXPECT_EQ(Call(other, buffer, R"({"jsonrpc":"2.0","id":3,"method":"echo"})")["id"], 3);
  Release();
  EXPECT_EQ(Call(other, buffer, R"({"jsonrpc":"2.0","id":4,"method":"echo"})")["id"], 4);
  close(other);
}

TEST_F(RpcServerTest, ShutDownWriterStillGetsItsAnswers) {
  Start();
  const int fd = Connect();
  Send(fd, R"({"jsonrpc":"2.0","id":1,"method":"echo"})"
           "\n"
           R"({"jsonrpc":"2.0","id":2,"method":"echo"})"
           "\n");
  ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
  std::string buffer;
  EXPECT_EQ(json::parse(ReadLine(fd, buffer), nullptr, false)["id"], 1);
  EXPECT_EQ(json::parse(ReadLine(fd, buffer), nullptr, false)["id"], 2);
  EXPECT_EQ(ReadLine(fd, buffer), "");  // then closed
  close(fd);
}

TEST_F(RpcServerTest, OverlongLineIsRefusedAndTheConnectionGoesOn) {
  Start();
  const int fd = Connect();
  std::string buffer;
  std::thread writer([fd] { Send(fd, std::string(kMaxLineBytes + 10, 'x') + "\n"); });
  auto refused = json::parse(ReadLine(fd, buffer));
  writer.join();
  EXPECT_EQ(refused["error"]["code"], kInvalidRequest);
  EXPECT_EQ(refused["error"]["message"], "request line too long");
  auto after = Call(fd, buffer, R"({"jsonrpc":"2.0","id":5,"method":"echo"})");
  EXPECT_EQ(after["id"], 5);
  close(fd);
}

TEST_F(RpcServerTest, NotificationsGoOnlyToSubscribers) {
  Start();
  const int subscriber = Connect();
  const int other = Connect();
  std::string sub_buffer, other_buffer;
  auto subscribed = Call(subscriber, sub_buffer, R"({"jsonrpc":"2.0","id":1,"method":"subscribe"})");
  EXPECT_EQ(subscribed["result"]["subscribed"], true);
  auto bad = Call(other, other_buffer, R"({"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"x":1}})");
  EXPECT_EQ(bad["error"]["code"], kInvalidParams);
  server_->Notify(Notification("receive", json{{"n", 1}}));
  auto pushed = json::parse(ReadLine(subscriber, sub_buffer));
  EXPECT_EQ(pushed["method"], "receive");
  EXPECT_EQ(pushed["params"]["n"], 1);
  EXPECT_FALSE(pushed.contains("id"));
  // The other connection's next line is its own answer, not the notification.
  EXPECT_EQ(Call(other, other_buffer, R"({"jsonrpc":"2.0","id":9,"method":"echo"})")["id"], 9);
  EXPECT_EQ(Call(subscriber, sub_buffer,
                 R"({"jsonrpc":"2.0","id":2,"method":"unsubscribe"})")["result"]["subscribed"],
            false);
  server_->Notify(Notification("receive", json{{"n", 2}}));
  EXPECT_EQ(Call(subscriber, sub_buffer, R"({"jsonrpc":"2.0","id":3,"method":"echo"})")["id"], 3);
  close(subscriber);
  close(other);
}

TEST_F(RpcServerTest, ConnectionsPastTheLimitAreRefused) {
  ServerOptions options;
  options.max_clients = 2;
  Start(options);
  const int a = Connect(), b = Connect();
  std::string buffer_a, buffer_b, buffer_c;
  EXPECT_EQ(Call(a, buffer_a, R"({"jsonrpc":"2.0","id":1,"method":"echo"})")["id"], 1);
  EXPECT_EQ(Call(b, buffer_b, R"({"jsonrpc":"2.0","id":1,"method":"echo"})")["id"], 1);
  const int c = Connect();
  auto refused = json::parse(ReadLine(c, buffer_c), nullptr, false);
  EXPECT_EQ(refused["error"]["message"], "too many clients");
  EXPECT_EQ(ReadLine(c, buffer_c), "");  // closed
  close(c);
  close(a);
  // A freed slot is served again (the close is noticed before the next accept).
  int d = -1;
  for (int attempt = 0; attempt < 50; ++attempt) {
    d = Connect();
    std::string buffer_d;
    auto answer = Call(d, buffer_d, R"({"jsonrpc":"2.0","id":4,"method":"echo"})");
    if (answer.is_object() && answer.contains("result")) break;
    close(d);
    d = -1;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(d, 0);
  if (d >= 0) close(d);
  close(b);
}

TEST_F(RpcServerTest, ReaderThatNeverReadsIsDisconnected) {
  ServerOptions options;
  options.max_pending_output = 64 * 1024;
  Start(options);
  const int fd = Connect();
  std::string buffer;
  ASSERT_EQ(Call(fd, buffer, R"({"jsonrpc":"2.0","id":1,"method":"subscribe"})")["id"], 1);
  const int rcvbuf = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  for (int i = 0; i < 2000; ++i)
    server_->Notify(Notification("receive", json{{"pad", std::string(1000, 'p')}}));
  // Draining now ends with the server's close, after far fewer than 2000 lines.
  int lines = 0;
  while (!ReadLine(fd, buffer).empty() && lines < 3000) ++lines;
  EXPECT_LT(lines, 2000);
  close(fd);
}

TEST_F(RpcServerTest, LiveSocketIsInUseAndStaleOneIsReplaced) {
  Start();
  ServerOptions same;
  same.socket_path = dir_ / "d.sock";
  auto second = RpcServer::Listen(same);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ServerErrc::kInUse);
  // A socket file nobody listens on.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string stale = (dir_ / "stale.sock").string();
  std::memcpy(address.sun_path, stale.c_str(), stale.size() + 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  close(fd);
  ServerOptions replaced;
  replaced.socket_path = stale;
  EXPECT_TRUE(RpcServer::Listen(replaced));
  ServerOptions regular_file;
  regular_file.socket_path = dir_ / "file";
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(RpcServer::Listen(regular_file).error().code, ServerErrc::kInUse);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "file"));
}

TEST_F(RpcServerTest, TcpListensOnLoopbackOnly) {
  ServerOptions options;
  options.socket_path = dir_ / "t.sock";
  for (const char* address :
       {"0.0.0.0:0", "192.168.1.1:0", "example.org:0", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000"}) {
    options.tcp = address;
    auto refused = RpcServer::Listen(options);
    ASSERT_FALSE(refused) << address;
    EXPECT_EQ(refused.error().code, ServerErrc::kBadAddress) << address;
  }
  ServerOptions long_path;
  long_path.socket_path = dir_ / std::string(120, 'p');
  EXPECT_EQ(RpcServer::Listen(long_path).error().code, ServerErrc::kBadAddress);

  options.socket_path = dir_ / "d.sock";
  options.tcp = "127.0.0.1:0";
  Start(options);
  ASSERT_NE(server_->tcp_port(), 0);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(server_->tcp_port());
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&in), sizeof(in)), 0);
  std::string buffer;
  EXPECT_EQ(Call(fd, buffer, R"({"jsonrpc":"2.0","id":"t","method":"echo"})")["id"], "t");
  // Any local user can reach TCP: the handler is told so.
  EXPECT_EQ(Call(fd, buffer, R"({"jsonrpc":"2.0","id":"o","method":"ownerOnly"})")["result"], false);
  close(fd);
  const int unix_fd = Connect();
  EXPECT_EQ(Call(unix_fd, buffer, R"({"jsonrpc":"2.0","id":"u","method":"ownerOnly"})")["result"], true);
  close(unix_fd);
}

// ---- Methods that need no server ------------------------------------------

TEST(RpcMethodsTest, AttachReadsLocalFilesOnlyForTheOwnerOnlySocket) {
  char pattern[] = "/tmp/parley-methods-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  client::ClientOptions options;
  options.data_dir = dir / "profile";
  options.key.key_file = dir / "profile.key";
  auto client = client::Client::Open(options);
  ASSERT_TRUE(client);
  MethodTable methods(**client);
  std::ofstream(dir / "f.txt") << "x";
  const json params{{"peer", "bob"}, {"file", (dir / "f.txt").string()}};
  auto over_tcp = methods.Call("attach", params, CallContext{false});
  EXPECT_FALSE(over_tcp.ok);
  EXPECT_EQ(over_tcp.code, kClientErrorBase + static_cast<int>(client::ClientErrc::kForbidden));
  // Over the socket it gets as far as the client (not registered here).
  auto over_socket = methods.Call("attach", params, CallContext{true});
  EXPECT_EQ(over_socket.code, kClientErrorBase + static_cast<int>(client::ClientErrc::kNotRegistered));
  auto relative = methods.Call("attach", json{{"peer", "bob"}, {"file", "notes.txt"}}, CallContext{true});
  EXPECT_EQ(relative.code, kInvalidParams);
  EXPECT_EQ(relative.message, "parameter file must be an absolute path");
  EXPECT_EQ(methods.Call("attach.get", json{{"message", "abcd"}}).code, kInvalidParams);
  EXPECT_EQ(methods.Call("attach.get", json{{"message", "abcd"}, {"peer", "bob"}, {"x", 1}}).code,
            kInvalidParams);
  EXPECT_TRUE(std::binary_search(MethodTable::MethodNames().begin(), MethodTable::MethodNames().end(),
                                 std::string("attach.get")));
  client->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::rpc
