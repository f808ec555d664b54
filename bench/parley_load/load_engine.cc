#include "load_engine.h"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <unordered_set>
#include <variant>

#include "base/base64.h"
#include "crypto/random.h"
#include "crypto/x25519.h"
#include "crypto/xeddsa.h"
#include "latency_histogram.h"
#include "wire/codec.h"
#include "xmpp_scan.h"

namespace parley::load {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// What a message carries so that its receiver can measure it.
struct Stamp {
  std::uint32_t process = 0;
  std::uint64_t sequence = 0;
  std::uint64_t sent_ns = 0;  // CLOCK_MONOTONIC, the same clock in every process
};

constexpr std::size_t kStampBytes = 4 + 8 + 8;

std::uint64_t NowNs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

void PutLe(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::uint64_t GetLe(std::span<const std::uint8_t> in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{in[at + i]} << (8 * i);
  return value;
}

std::vector<std::uint8_t> BinaryPayload(const Stamp& stamp, std::size_t size) {
  std::vector<std::uint8_t> out;
  out.reserve(std::max(size, kStampBytes));
  PutLe(out, stamp.process, 4);
  PutLe(out, stamp.sequence, 8);
  PutLe(out, stamp.sent_ns, 8);
  out.resize(std::max(size, kStampBytes), 0x5a);
  return out;
}

std::optional<Stamp> ParseBinaryPayload(std::span<const std::uint8_t> content) {
  if (content.size() < kStampBytes) return std::nullopt;
  return Stamp{static_cast<std::uint32_t>(GetLe(content, 0, 4)), GetLe(content, 4, 8), GetLe(content, 12, 8)};
}

// "<process>.<sequence>.<ns>." and padding: digits, dots and letters only,
// so no XML escaping is involved.
std::string TextPayload(const Stamp& stamp, std::size_t size) {
  std::string out = std::to_string(stamp.process) + "." + std::to_string(stamp.sequence) + "." +
                    std::to_string(stamp.sent_ns) + ".";
  if (out.size() < size) out.append(size - out.size(), 'x');
  return out;
}

std::optional<Stamp> ParseTextPayload(std::string_view text) {
  Stamp stamp;
  std::uint64_t fields[3] = {0, 0, 0};
  std::size_t at = 0;
  for (std::uint64_t& field : fields) {
    const std::size_t dot = text.find('.', at);
    if (dot == std::string_view::npos || dot == at || dot - at > 20) return std::nullopt;
    for (std::size_t i = at; i < dot; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      field = field * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    at = dot + 1;
  }
  stamp.process = static_cast<std::uint32_t>(fields[0]);
  stamp.sequence = fields[1];
  stamp.sent_ns = fields[2];
  return stamp;
}

std::shared_ptr<ssl::context> ClientTlsContext() {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  // A benchmark on loopback against a self-signed certificate: no
  // verification. TLS 1.2 is allowed for the XMPP servers' defaults; parleyd
  // accepts only 1.3 and so negotiates it.
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  context->set_verify_mode(ssl::verify_none);
  return context;
}

class Engine;

// One client connection of either protocol.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void Start() = 0;
  // Sends one message to `to`; false when this connection cannot take more
  // now (too many unanswered sends or bytes waiting).
  virtual bool Send(const Account& to, const Stamp& stamp) = 0;
  virtual std::size_t outstanding() const = 0;
  virtual bool Finished() const = 0;
};

// Counters of one process.
struct Tally {
  std::uint64_t attempted = 0;                    // sends due by the schedule
  std::uint64_t sent = 0;                         // handed to a connection
  std::uint64_t skipped = 0;                      // due but every tried sender was busy
  std::uint64_t accepted = 0;                     // Parley: answered ok
  std::map<std::string, std::uint64_t> rejected;  // Parley: other statuses by name
  std::uint64_t delivered = 0;                    // unique deliveries received here
  std::uint64_t duplicates = 0;                   // a (process, sequence) seen again
  std::uint64_t bounces = 0;                      // XMPP error messages
  std::uint64_t connections_lost = 0;
  LatencyHistogram latency;
};

class Engine {
 public:
  Engine(net::io_context& io, const Target& target, const LoadShape& shape, std::uint32_t process_index)
      : io_(io),
        target_(target),
        shape_(shape),
        process_index_(process_index),
        tls_(ClientTlsContext()),
        endpoint_(net::ip::make_address(target.host), target.port),
        random_(shape.seed * 7919 + process_index) {}

  net::io_context& io() { return io_; }
  ssl::context& tls() { return *tls_; }
  const Target& target() const { return target_; }
  const LoadShape& shape() const { return shape_; }
  const tcp::endpoint& endpoint() const { return endpoint_; }

  // The local address for the n-th connection.
  net::ip::address SourceFor(std::size_t n) const {
    if (target_.sources.empty()) return net::ip::make_address("127.0.0.1");
    return target_.sources[n % target_.sources.size()];
  }

  // Connection callbacks.
  void OnConnected(std::size_t /*index*/, bool ok, const std::string& why) {
    (ok ? connected_ : failed_)++;
    if (!ok && failure_reasons_.size() < 5) failure_reasons_.push_back(why);
    --connecting_;
    StartMoreConnections();
  }
  void OnLost(const std::string& why) {
    if (loading_) {
      ++tally_.connections_lost;
      if (failure_reasons_.size() < 5) failure_reasons_.push_back("lost: " + why);
    }
  }
  void OnAnswer(bool ok, std::string_view status) {
    if (ok) {
      ++tally_.accepted;
    } else {
      ++tally_.rejected[std::string(status)];
    }
  }
  void OnDelivered(const Stamp& stamp) {
    last_delivery_ = Clock::now();
    const std::uint64_t key = (std::uint64_t{stamp.process} << 48) | stamp.sequence;
    if (!seen_.insert(key).second) {
      ++tally_.duplicates;
      return;
    }
    ++tally_.delivered;
    const std::uint64_t now = NowNs();
    tally_.latency.Record(now > stamp.sent_ns ? (now - stamp.sent_ns) / 1000 : 0);
  }
  void OnBounce() { ++tally_.bounces; }

  // Opens every connection, `connect_concurrency` at a time; `done` runs
  // once each has succeeded or failed, or at the connect timeout.
  void ConnectAll(std::vector<std::shared_ptr<Connection>> connections, std::function<void()> done) {
    connections_ = std::move(connections);
    connect_done_ = std::move(done);
    connect_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(shape_.connect_timeout_seconds));
    StartMoreConnections();
    WatchConnectDeadline();
  }

  std::size_t connected() const { return connected_; }
  std::size_t failed() const { return failed_ + (connections_.size() - next_to_start_) + connecting_; }
  const std::vector<std::string>& failure_reasons() const { return failure_reasons_; }
  Tally& tally() { return tally_; }

  // The send schedule; `done` runs after the drain.
  void RunLoad(const std::vector<Account>& all_accounts, std::size_t first, std::function<void()> done) {
    all_accounts_ = &all_accounts;
    first_ = first;
    load_done_ = std::move(done);
    loading_ = true;
    load_start_ = Clock::now();
    last_delivery_ = load_start_;
    rusage_start_ = CpuMicros();
    timer_.emplace(io_);
    Tick();
  }

  std::uint64_t load_cpu_micros() const { return rusage_end_ - rusage_start_; }

  static std::uint64_t CpuMicros() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<std::uint64_t>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000 +
           static_cast<std::uint64_t>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  }

 private:
  void StartMoreConnections() {
    if (connect_finished_) return;
    while (connecting_ < shape_.connect_concurrency && next_to_start_ < connections_.size()) {
      ++connecting_;
      connections_[next_to_start_++]->Start();
    }
    if (connecting_ == 0 && next_to_start_ == connections_.size()) FinishConnecting();
  }

  void WatchConnectDeadline() {
    if (connect_finished_) return;
    if (Clock::now() >= connect_deadline_) {
      FinishConnecting();
      return;
    }
    if (!connect_timer_) connect_timer_.emplace(io_);
    connect_timer_->expires_after(std::chrono::milliseconds(200));
    connect_timer_->async_wait([this](const error_code&) { WatchConnectDeadline(); });
  }

  void FinishConnecting() {
    if (connect_finished_) return;
    connect_finished_ = true;
    if (connect_timer_) connect_timer_->cancel();
    auto done = std::move(connect_done_);
    if (done) done();
  }

  void Tick() {
    const Clock::time_point now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - load_start_).count();
    if (sending_) {
      if (elapsed >= shape_.duration_seconds) {
        sending_ = false;
        rusage_end_ = CpuMicros();
        send_end_ = now;
      } else {
        const auto due = static_cast<std::uint64_t>(shape_.messages_per_second * elapsed);
        while (tally_.attempted < due) {
          ++tally_.attempted;
          SendOne();
        }
      }
    }
    if (!sending_) {
      std::size_t outstanding = 0;
      for (const auto& c : connections_) outstanding += c->outstanding();
      const double draining = std::chrono::duration<double>(now - send_end_).count();
      const bool quiet =
          now - last_delivery_ >= std::chrono::seconds(1) && now - send_end_ >= std::chrono::seconds(1);
      if ((outstanding == 0 && quiet) || draining >= shape_.drain_seconds) {
        loading_ = false;
        auto done = std::move(load_done_);
        if (done) done();
        return;
      }
    }
    timer_->expires_after(std::chrono::milliseconds(1));
    timer_->async_wait([this](const error_code& ec) {
      if (!ec) Tick();
    });
  }

  void SendOne() {
    const std::size_t local = connections_.size();
    const std::size_t total = all_accounts_->size();
    if (local == 0 || total < 2) {
      ++tally_.skipped;
      return;
    }
    std::uniform_int_distribution<std::size_t> pick_sender(0, local - 1);
    std::uniform_int_distribution<std::size_t> pick_recipient(0, total - 2);
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::size_t sender = pick_sender(random_);
      Connection& connection = *connections_[sender];
      if (connection.Finished()) continue;
      std::size_t recipient = pick_recipient(random_);
      if (recipient >= first_ + sender) ++recipient;  // anyone but the sender
      const Stamp stamp{process_index_, next_sequence_, NowNs()};
      if (connection.Send((*all_accounts_)[recipient], stamp)) {
        ++next_sequence_;
        ++tally_.sent;
        return;
      }
    }
    ++tally_.skipped;
  }

  net::io_context& io_;
  Target target_;
  LoadShape shape_;
  std::uint32_t process_index_;
  std::shared_ptr<ssl::context> tls_;
  tcp::endpoint endpoint_;
  std::mt19937_64 random_;

  std::vector<std::shared_ptr<Connection>> connections_;
  std::size_t next_to_start_ = 0;
  std::size_t connecting_ = 0;
  std::size_t connected_ = 0;
  std::size_t failed_ = 0;
  bool connect_finished_ = false;
  std::function<void()> connect_done_;
  Clock::time_point connect_deadline_;
  std::optional<net::steady_timer> connect_timer_;
  std::vector<std::string> failure_reasons_;

  const std::vector<Account>* all_accounts_ = nullptr;
  std::size_t first_ = 0;
  std::function<void()> load_done_;
  bool loading_ = false;
  bool sending_ = true;
  Clock::time_point load_start_;
  Clock::time_point send_end_;
  Clock::time_point last_delivery_;
  std::optional<net::steady_timer> timer_;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t rusage_start_ = 0;
  std::uint64_t rusage_end_ = 0;
  std::unordered_set<std::uint64_t> seen_;
  Tally tally_;
};

// Opens a TCP socket bound to `source` with no port chosen until connect
// (IP_BIND_ADDRESS_NO_PORT), so each source address gives a full range of
// ephemeral ports per destination.
error_code OpenBound(tcp::socket& socket, const net::ip::address& source) {
  error_code ec;
  socket.open(tcp::v4(), ec);
  if (ec) return ec;
  const int one = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  socket.bind(tcp::endpoint(source, 0), ec);
  return ec;
}

// ---- Parley ----------------------------------------------------------------

// Turns 16 random bytes into the UUIDv7 layout the Parley client uses
// (src/client/message_id.h, which lives in the client library): Unix
// milliseconds big-endian in the first 48 bits, version 7, variant 0b10.
void StampTimeOrdered(std::array<std::uint8_t, 16>& id) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  for (std::size_t i = 0; i < 6; ++i) id[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  id[6] = static_cast<std::uint8_t>(0x70 | (id[6] & 0x0F));
  id[8] = static_cast<std::uint8_t>(0x80 | (id[8] & 0x3F));
}

std::span<const std::uint8_t> BufferBytes(const beast::flat_buffer& buffer) {
  const auto data = buffer.data();
  return {static_cast<const std::uint8_t*>(data.data()), data.size()};
}

class ParleyConnection final : public Connection, public std::enable_shared_from_this<ParleyConnection> {
 public:
  // Authenticates as `account`, or registers `register_name` when set (the
  // account is then filled in).
  ParleyConnection(Engine& engine, std::size_t index, Account* account,
                   std::optional<std::string> register_name)
      : engine_(engine),
        index_(index),
        account_(account),
        register_name_(std::move(register_name)),
        ws_(engine.io(), engine.tls()) {}

  void Start() override {
    tcp::socket& socket = beast::get_lowest_layer(ws_);
    if (auto ec = OpenBound(socket, engine_.SourceFor(index_))) return Fail("bind: " + ec.message());
    socket.async_connect(engine_.endpoint(), [self = shared_from_this()](const error_code& ec) {
      if (ec) return self->Fail("connect: " + ec.message());
      error_code ignored;
      beast::get_lowest_layer(self->ws_).set_option(tcp::no_delay(true), ignored);
      self->ws_.next_layer().async_handshake(ssl::stream_base::client, [self](const error_code& tls_ec) {
        if (tls_ec) return self->Fail("tls: " + tls_ec.message());
        self->ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        self->ws_.read_message_max(1024 * 1024);
        self->ws_.auto_fragment(false);
        self->ws_.binary(true);
        self->ws_.async_handshake(self->engine_.target().host, "/v1/websocket",
                                  [self](const error_code& ws_ec) {
                                    if (ws_ec) return self->Fail("websocket: " + ws_ec.message());
                                    self->Login();
                                  });
      });
    });
  }

  bool Send(const Account& to, const Stamp& stamp) override {
    if (!ready_ || finished_ || outstanding_ >= engine_.shape().max_outstanding_per_connection) return false;
    wire::SendMessagesRequest send;
    send.recipient = AccountId(to.account_id);
    crypto::RandomBytes(send.client_message_id);
    if (engine_.shape().time_ordered_ids) StampTimeOrdered(send.client_message_id);
    send.messages.push_back(wire::OutgoingMessage{DeviceId(wire::kPrimaryDeviceId),
                                                  RegistrationId(to.registration_id), 1,
                                                  BinaryPayload(stamp, engine_.shape().message_bytes)});
    auto frame = wire::EncodeFrame(wire::Request{next_request_id_++, std::move(send)});
    if (!frame) return false;
    ++outstanding_;
    Write(std::move(*frame));
    return true;
  }

  std::size_t outstanding() const override { return finished_ ? 0 : outstanding_; }
  bool Finished() const override { return finished_; }

 private:
  void Login() {
    wire::RequestBody body;
    if (register_name_) {
      crypto::SystemRng rng;
      const crypto::KeyPair identity = crypto::KeyPair::Generate(rng);
      const crypto::KeyPair signed_pair = crypto::KeyPair::Generate(rng);
      wire::RegisterRequest request;
      request.username = *register_name_;
      std::uniform_int_distribution<std::uint32_t> pick(wire::kMinRegistrationId, wire::kMaxRegistrationId);
      std::random_device device;
      account_->registration_id = pick(device);
      request.registration_id = RegistrationId(account_->registration_id);
      request.identity_key = identity.public_key.Serialize();
      request.signed_prekey.id = SignedPreKeyId(1);
      request.signed_prekey.public_key = signed_pair.public_key.Serialize();
      request.signed_prekey.signature =
          crypto::XEdDsaSign(identity.private_key, request.signed_prekey.public_key, rng);
      body = std::move(request);
    } else {
      wire::AuthenticateRequest request;
      request.account_id = AccountId(account_->account_id);
      request.device_id = DeviceId(wire::kPrimaryDeviceId);
      request.credential.secret = SecretArray<32>(std::span<const std::uint8_t, 32>(account_->credential));
      if (engine_.shape().push_window != 0) request.push_window = engine_.shape().push_window;
      body = std::move(request);
    }
    auto frame = wire::EncodeFrame(wire::Request{next_request_id_++, std::move(body)});
    if (!frame) return Fail("cannot encode the login request");
    login_pending_ = true;
    Write(std::move(*frame));
    DoRead();
  }

  void DoRead() {
    ws_.async_read(buffer_,
                   [self = shared_from_this()](const error_code& ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(const error_code& ec) {
    if (ec) return Fail("read: " + ec.message());
    auto frame = wire::DecodeServerFrame(BufferBytes(buffer_));
    buffer_.consume(buffer_.size());
    if (!frame) return Fail("undecodable server frame");
    if (auto* response = std::get_if<wire::Response>(&*frame)) {
      if (login_pending_) {
        login_pending_ = false;
        if (response->status != wire::ResponseStatus::kOk) {
          return Fail("login answered " + std::string(wire::ResponseStatusName(response->status)) + " " +
                      response->error_detail);
        }
        if (auto* result = std::get_if<wire::RegisterResult>(&response->body)) {
          account_->username = *register_name_;
          account_->account_id = result->account_id.value();
          std::copy(result->credential.secret.bytes().begin(), result->credential.secret.bytes().end(),
                    account_->credential.begin());
          ready_ = true;
          engine_.OnConnected(index_, true, "");
          // A registering connection's work is done.
          finished_ = true;
          ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](const error_code&) {});
          return;
        }
        ready_ = true;
        engine_.OnConnected(index_, true, "");
      } else {
        if (outstanding_ > 0) --outstanding_;
        engine_.OnAnswer(response->status == wire::ResponseStatus::kOk,
                         wire::ResponseStatusName(response->status));
      }
    } else {
      auto& push = std::get<wire::Push>(*frame);
      if (auto* envelope = std::get_if<wire::Envelope>(&push.body)) {
        if (auto stamp = ParseBinaryPayload(envelope->content)) engine_.OnDelivered(*stamp);
      }
      auto ack = wire::EncodeFrame(wire::PushAck{push.id});
      if (ack) Write(std::move(*ack));
    }
    DoRead();
  }

  void Write(std::vector<std::uint8_t> frame) {
    queue_.push_back(std::move(frame));
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()),
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      self->writing_ = false;
                      self->queue_.pop_front();
                      if (ec) return self->Fail("write: " + ec.message());
                      if (!self->queue_.empty()) self->DoWrite();
                    });
  }

  void Fail(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    if (!ready_) {
      engine_.OnConnected(index_, false, why);
    } else {
      engine_.OnLost(why);
    }
    error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
  }

  Engine& engine_;
  std::size_t index_;
  Account* account_;
  std::optional<std::string> register_name_;
  websocket::stream<beast::ssl_stream<tcp::socket>> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::vector<std::uint8_t>> queue_;
  bool writing_ = false;
  bool login_pending_ = false;
  bool ready_ = false;
  bool finished_ = false;
  std::uint64_t next_request_id_ = 1;
  std::size_t outstanding_ = 0;
};

// ---- XMPP ------------------------------------------------------------------

class XmppConnection final : public Connection, public std::enable_shared_from_this<XmppConnection> {
 public:
  XmppConnection(Engine& engine, std::size_t index, const Account& account)
      : engine_(engine), index_(index), account_(account), stream_(engine.io(), engine.tls()) {}

  void Start() override {
    tcp::socket& socket = beast::get_lowest_layer(stream_);
    if (auto ec = OpenBound(socket, engine_.SourceFor(index_))) return Fail("bind: " + ec.message());
    socket.async_connect(engine_.endpoint(), [self = shared_from_this()](const error_code& ec) {
      if (ec) return self->Fail("connect: " + ec.message());
      error_code ignored;
      beast::get_lowest_layer(self->stream_).set_option(tcp::no_delay(true), ignored);
      self->stream_.async_handshake(ssl::stream_base::client, [self](const error_code& tls_ec) {
        if (tls_ec) return self->Fail("tls: " + tls_ec.message());
        self->OpenStream();
        self->DoRead();
      });
    });
  }

  bool Send(const Account& to, const Stamp& stamp) override {
    // Without stream management XMPP has no per-message answer: a sender is
    // busy only while its socket is behind.
    if (step_ != Step::kReady || finished_ || queued_bytes_ > 64 * 1024) return false;
    std::string stanza = "<message to='" + to.username + "@" + engine_.target().xmpp_domain +
                         "/load' type='chat' id='m" + std::to_string(stamp.sequence) + "'><body>" +
                         TextPayload(stamp, engine_.shape().message_bytes) + "</body></message>";
    Write(std::move(stanza));
    return true;
  }

  std::size_t outstanding() const override { return 0; }
  bool Finished() const override { return finished_; }

 private:
  enum class Step { kFeatures, kAuth, kBoundFeatures, kBind, kReady };

  void OpenStream() {
    Write("<?xml version='1.0'?><stream:stream to='" + engine_.target().xmpp_domain +
          "' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
  }

  void DoRead() {
    stream_.async_read_some(
        net::buffer(chunk_),
        [self = shared_from_this()](const error_code& ec, std::size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const error_code& ec, std::size_t n) {
    if (ec) return Fail("read: " + ec.message());
    if (!inbox_.Append(std::string_view(chunk_.data(), n))) return Fail("too much unparsed input");
    if (!Advance()) return;
    DoRead();
  }

  // Moves the login on as far as the input allows; false after a failure.
  bool Advance() {
    for (;;) {
      switch (step_) {
        case Step::kFeatures:
          if (!inbox_.Consume("</stream:features>")) return true;
          Write("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + PlainCredentials() +
                "</auth>");
          step_ = Step::kAuth;
          break;
        case Step::kAuth:
          if (inbox_.Contains("<failure")) return Fail("SASL failure"), false;
          if (!inbox_.Consume("<success")) return true;
          inbox_.Consume(">");
          OpenStream();
          step_ = Step::kBoundFeatures;
          break;
        case Step::kBoundFeatures:
          if (!inbox_.Consume("</stream:features>")) return true;
          Write(
              "<iq type='set' id='bind1'><bind "
              "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>load</resource>"
              "</bind></iq>");
          step_ = Step::kBind;
          break;
        case Step::kBind:
          if (!inbox_.Contains("</iq>")) return true;
          if (!inbox_.Contains("<jid>")) return Fail("resource binding failed"), false;
          inbox_.Consume("</iq>");
          Write("<presence/>");
          step_ = Step::kReady;
          engine_.OnConnected(index_, true, "");
          break;
        case Step::kReady:
          while (auto body = inbox_.NextBody()) {
            if (body->error) {
              engine_.OnBounce();
            } else if (auto stamp = ParseTextPayload(body->text)) {
              engine_.OnDelivered(*stamp);
            }
          }
          return true;
      }
    }
  }

  std::string PlainCredentials() const {
    std::string plain;
    plain.push_back('\0');
    plain += account_.username;
    plain.push_back('\0');
    plain += engine_.target().xmpp_password;
    return Base64Encode(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size()));
  }

  void Write(std::string bytes) {
    queued_bytes_ += bytes.size();
    queue_.push_back(std::move(bytes));
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    writing_ = true;
    net::async_write(stream_, net::buffer(queue_.front()),
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                       self->writing_ = false;
                       self->queued_bytes_ -= self->queue_.front().size();
                       self->queue_.pop_front();
                       if (ec) return self->Fail("write: " + ec.message());
                       if (!self->queue_.empty()) self->DoWrite();
                     });
  }

  void Fail(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    if (step_ != Step::kReady) {
      engine_.OnConnected(index_, false, why);
    } else {
      engine_.OnLost(why);
    }
    error_code ignored;
    beast::get_lowest_layer(stream_).close(ignored);
  }

  Engine& engine_;
  std::size_t index_;
  const Account& account_;
  beast::ssl_stream<tcp::socket> stream_;
  std::array<char, 4096> chunk_{};
  XmppInbox inbox_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  Step step_ = Step::kFeatures;
};

void WriteLine(int fd, const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string ResultLine(Engine& engine) {
  Tally& t = engine.tally();
  std::string rejected;
  for (const auto& [status, n] : t.rejected)
    rejected += (rejected.empty() ? "" : ";") + status + ":" + std::to_string(n);
  return "result attempted=" + std::to_string(t.attempted) + " sent=" + std::to_string(t.sent) +
         " skipped=" + std::to_string(t.skipped) + " accepted=" + std::to_string(t.accepted) +
         " delivered=" + std::to_string(t.delivered) + " duplicates=" + std::to_string(t.duplicates) +
         " bounces=" + std::to_string(t.bounces) + " lost_connections=" + std::to_string(t.connections_lost) +
         " cpu_us=" + std::to_string(engine.load_cpu_micros()) +
         " rejected=" + (rejected.empty() ? "-" : rejected) + " latency=" + t.latency.Serialize() + "\n";
}

}  // namespace

std::vector<Account> RegisterAccounts(const Target& target, const std::string& prefix, std::size_t first,
                                      std::size_t count, std::size_t concurrency, std::size_t& failed) {
  net::io_context io;
  LoadShape shape;
  shape.connect_concurrency = concurrency;
  shape.connect_timeout_seconds = 3600;
  Engine engine(io, target, shape, 0);
  std::vector<Account> accounts(count);
  std::vector<std::shared_ptr<Connection>> connections;
  connections.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    connections.push_back(
        std::make_shared<ParleyConnection>(engine, i, &accounts[i], prefix + std::to_string(first + i)));
  }
  engine.ConnectAll(std::move(connections), [] {});
  io.run();
  for (const std::string& why : engine.failure_reasons())
    std::cerr << "parley-load: registration failed: " << why << "\n";
  failed = engine.failed();
  std::vector<Account> registered;
  for (Account& account : accounts) {
    if (!account.username.empty()) registered.push_back(std::move(account));
  }
  return registered;
}

int RunGeneratorProcess(const Target& target, const LoadShape& shape, const std::vector<Account>& accounts,
                        std::size_t first, std::size_t count, std::uint32_t process_index, int control_in,
                        int control_out) {
  net::io_context io;
  Engine engine(io, target, shape, process_index);
  std::vector<Account> local(accounts.begin() + static_cast<std::ptrdiff_t>(first),
                             accounts.begin() + static_cast<std::ptrdiff_t>(first + count));
  std::vector<std::shared_ptr<Connection>> connections;
  connections.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (target.protocol == Protocol::kParley) {
      connections.push_back(std::make_shared<ParleyConnection>(engine, i, &local[i], std::nullopt));
    } else {
      connections.push_back(std::make_shared<XmppConnection>(engine, i, local[i]));
    }
  }
  net::posix::stream_descriptor control(io, control_in);
  net::streambuf control_buffer;
  int status = 0;
  engine.ConnectAll(std::move(connections), [&] {
    for (const std::string& why : engine.failure_reasons()) {
      std::cerr << "parley-load[" << process_index << "]: connection failed: " << why << "\n";
    }
    WriteLine(control_out, "ready connected=" + std::to_string(engine.connected()) +
                               " failed=" + std::to_string(engine.failed()) + "\n");
    net::async_read_until(control, control_buffer, '\n', [&](const error_code& ec, std::size_t) {
      if (ec) {
        status = 1;
        io.stop();
        return;
      }
      engine.RunLoad(accounts, first, [&] {
        WriteLine(control_out, ResultLine(engine));
        io.stop();
      });
    });
  });
  io.run();
  control.release();
  return status;
}

}  // namespace parley::load
