#include "client/connection.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "client/backoff.h"
#include "client/server_pin.h"
#include "crypto/random.h"
#include "wire/codec.h"

namespace parley::client {

namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Stream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

ClientErrc ErrcForStatus(wire::ResponseStatus status) {
  switch (status) {
    case wire::ResponseStatus::kUnauthorized:
      return ClientErrc::kUnauthorized;
    case wire::ResponseStatus::kForbidden:
      return ClientErrc::kForbidden;
    default:
      return ClientErrc::kNetwork;
  }
}

}  // namespace

class Connection::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(ConnectionOptions options, PushHandler on_push, StateHandler on_state)
      : options_(std::move(options)),
        on_push_(std::move(on_push)),
        on_state_(std::move(on_state)),
        tls_(ssl::context::tls_client),
        work_(net::make_work_guard(io_)),
        backoff_timer_(io_) {
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_3_VERSION);
    tls_.set_verify_mode(ssl::verify_none);  // authenticated by the pin instead
  }

  void StartThread() {
    thread_ = std::thread([self = shared_from_this()] { self->io_.run(); });
  }

  void SetAuthentication(std::optional<wire::AuthenticateRequest> authentication) {
    std::lock_guard lock(mutex_);
    authentication_ = std::move(authentication);
  }

  ClientStatus Start() {
    std::future<ClientStatus> first;
    {
      std::lock_guard lock(mutex_);
      if (started_) return {};
      started_ = true;
      first = first_attempt_.get_future();
    }
    net::post(io_, [self = shared_from_this()] { self->Connect(); });
    const auto limit = options_.connect_timeout * 2 + std::chrono::seconds(5);
    if (first.wait_for(limit) != std::future_status::ready) {
      return Fail(ClientErrc::kTimeout, "the server did not answer in time");
    }
    return first.get();
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    net::post(io_, [self = shared_from_this()] {
      self->backoff_timer_.cancel();
      self->FailAll(true);
      if (self->stream_) {
        auto stream = self->stream_;
        beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(2));
        stream->async_close(websocket::close_code::normal,
                            [self, stream](error_code) { beast::get_lowest_layer(*stream).close(); });
      }
      self->work_.reset();
    });
    if (thread_.joinable()) {
      if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();
      } else {
        // Bounded: the close above times out after 2 s.
        auto done = std::async(std::launch::async, [this] { thread_.join(); });
        if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
          io_.stop();
          done.wait();
        }
      }
    }
  }

  bool ready() const {
    std::lock_guard lock(mutex_);
    return ready_;
  }

  ClientResult<wire::Response> Call(wire::RequestBody body, std::chrono::milliseconds limit) {
    auto pending = std::make_shared<Pending>();
    pending->body = std::move(body);
    auto future = pending->promise.get_future();
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return Fail(ClientErrc::kNetwork, "the connection is closed");
    }
    net::post(io_, [self = shared_from_this(), pending] { self->Submit(pending); });
    if (future.wait_for(limit) != std::future_status::ready) {
      net::post(io_, [self = shared_from_this(), pending] { self->Forget(pending); });
      return Fail(ClientErrc::kTimeout, "the server did not answer in time");
    }
    return future.get();
  }

  void Ack(std::uint64_t push_id) {
    net::post(io_, [self = shared_from_this(), push_id] {
      if (!self->stream_ || !self->socket_ready_) return;
      auto bytes = wire::EncodeFrame(wire::PushAck{push_id});
      if (bytes) self->Write(std::string(bytes->begin(), bytes->end()));
    });
  }

  ~Impl() {
    if (thread_.joinable()) thread_.detach();
  }

 private:
  struct Pending {
    wire::RequestBody body;
    std::promise<ClientResult<wire::Response>> promise;
    std::uint64_t id = 0;
    bool done = false;
  };

  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

  void SetReady(bool ready) {
    bool changed = false;
    {
      std::lock_guard lock(mutex_);
      changed = ready_ != ready;
      ready_ = ready;
    }
    if (changed && on_state_) on_state_(ready);
  }

  void ReportFirst(ClientStatus status) {
    if (first_reported_) return;
    first_reported_ = true;
    first_attempt_.set_value(std::move(status));
  }

  void Finish(const std::shared_ptr<Pending>& p, ClientResult<wire::Response> result) {
    if (p->done) return;
    p->done = true;
    p->promise.set_value(std::move(result));
  }

  // ---- requests ----

  void Submit(const std::shared_ptr<Pending>& p) {
    if (stopped()) {
      Finish(p, Fail(ClientErrc::kNetwork, "the connection is closed"));
      return;
    }
    if (authenticated_) {
      Send(p);
    } else {
      waiting_.push_back(p);
    }
  }

  void Send(const std::shared_ptr<Pending>& p) {
    p->id = next_id_++;
    auto bytes = wire::EncodeFrame(wire::Request{p->id, p->body});
    if (!bytes) {
      Finish(p, Fail(bytes.error().code == wire::WireErrc::kTooLarge ? ClientErrc::kTooLarge
                                                                     : ClientErrc::kInvalidArgument,
                     "the request breaks a rule of the wire protocol"));
      return;
    }
    in_flight_[p->id] = p;
    Write(std::string(bytes->begin(), bytes->end()));
  }

  void Forget(const std::shared_ptr<Pending>& p) {
    p->done = true;
    if (p->id != 0) in_flight_.erase(p->id);
    std::erase(waiting_, p);
  }

  // Fails requests sent on a lost connection; with `all`, also those waiting
  // for one.
  void FailAll(bool all) {
    for (auto& [id, p] : in_flight_) Finish(p, Fail(ClientErrc::kNetwork, "the connection was lost"));
    in_flight_.clear();
    if (all) {
      for (auto& p : waiting_) Finish(p, Fail(ClientErrc::kNetwork, "the connection is closed"));
      waiting_.clear();
    }
  }

  // ---- connecting ----

  void Connect() {
    if (stopped()) return;
    ++generation_;
    socket_ready_ = false;
    authenticated_ = false;
    write_queue_.clear();
    writing_ = false;
    stream_ = std::make_shared<Stream>(io_, tls_);
    auto resolver = std::make_shared<tcp::resolver>(io_);
    const std::uint64_t gen = generation_;
    resolver->async_resolve(
        options_.host, std::to_string(options_.port),
        [self = shared_from_this(), resolver, gen](error_code ec, tcp::resolver::results_type r) {
          if (gen != self->generation_) return;
          if (ec) return self->Failed(ClientErrc::kNetwork, "cannot resolve the server");
          self->OnResolved(r);
        });
  }

  void OnResolved(const tcp::resolver::results_type& results) {
    const std::uint64_t gen = generation_;
    auto stream = stream_;
    beast::get_lowest_layer(*stream).expires_after(options_.connect_timeout);
    beast::get_lowest_layer(*stream).async_connect(
        results, [self = shared_from_this(), stream, gen](error_code ec, const tcp::endpoint&) {
          if (gen != self->generation_) return;
          if (ec) return self->Failed(ClientErrc::kNetwork, "cannot connect to the server");
          // Requests and acks are small frames: without this, Nagle holds each
          // one back until the previous is acknowledged (tens of ms).
          error_code ignored;
          beast::get_lowest_layer(*stream).socket().set_option(tcp::no_delay(true), ignored);
          if (!SSL_set_tlsext_host_name(stream->next_layer().native_handle(), self->options_.host.c_str())) {
            return self->Failed(ClientErrc::kNetwork, "cannot set the TLS server name");
          }
          stream->next_layer().async_handshake(ssl::stream_base::client, [self, stream, gen](error_code ec2) {
            if (gen != self->generation_) return;
            if (ec2) return self->Failed(ClientErrc::kNetwork, "the TLS handshake failed");
            self->OnTls();
          });
        });
  }

  void OnTls() {
    auto stream = stream_;
    if (!PeerMatchesPin(stream->next_layer().native_handle(), options_.pin)) {
      pin_mismatch_ = true;
      return Failed(ClientErrc::kNetwork, "the server certificate does not match the pinned fingerprint");
    }
    beast::get_lowest_layer(*stream).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.connect_timeout;
    timeouts.idle_timeout = std::chrono::seconds(40);
    timeouts.keep_alive_pings = true;
    stream->set_option(timeouts);
    stream->binary(true);
    stream->read_message_max(wire::kMaxFrameSize);
    const std::uint64_t gen = generation_;
    stream->async_handshake(options_.host, "/v1/websocket",
                            [self = shared_from_this(), stream, gen](error_code ec) {
                              if (gen != self->generation_) return;
                              if (ec)
                                return self->Failed(ClientErrc::kNetwork, "the WebSocket handshake failed");
                              self->OnWebSocket();
                            });
  }

  void OnWebSocket() {
    socket_ready_ = true;
    Read();
    std::optional<wire::AuthenticateRequest> authentication;
    {
      std::lock_guard lock(mutex_);
      authentication = authentication_;
    }
    if (!authentication) return OnAuthenticated();
    auth_request_id_ = next_id_++;
    auto bytes = wire::EncodeFrame(wire::Request{auth_request_id_, *authentication});
    if (!bytes) return Failed(ClientErrc::kInvalidArgument, "the stored credential is malformed");
    Write(std::string(bytes->begin(), bytes->end()));
  }

  void OnAuthenticated() {
    authenticated_ = true;
    backoff_.Reset();
    ReportFirst({});
    SetReady(true);
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& p : waiting) {
      if (!p->done) Send(p);
    }
  }

  // A connection attempt or an established connection ended.
  void Failed(ClientErrc code, std::string_view why) {
    const bool was_authenticated = authenticated_;
    socket_ready_ = false;
    authenticated_ = false;
    if (stream_) {
      beast::get_lowest_layer(*stream_).close();
      stream_.reset();
    }
    ++generation_;
    FailAll(false);
    SetReady(false);
    const bool fatal = code == ClientErrc::kUnauthorized || code == ClientErrc::kForbidden || pin_mismatch_;
    if (!first_reported_) {
      ReportFirst(tl::unexpected(ClientError{code, why}));
      // A first attempt that failed is the caller's to retry.
      FailAll(true);
      return;
    }
    if (fatal || !options_.reconnect || stopped()) {
      FailAll(true);
      return;
    }
    (void)was_authenticated;
    ScheduleReconnect();
  }

  void ScheduleReconnect() {
    std::array<std::uint8_t, 4> random{};
    crypto::RandomBytes(random);
    const std::uint32_t r = (std::uint32_t{random[0]} << 24) | (std::uint32_t{random[1]} << 16) |
                            (std::uint32_t{random[2]} << 8) | random[3];
    backoff_timer_.expires_after(backoff_.Next(r));
    backoff_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->stopped()) return;
      self->Connect();
    });
  }

  // ---- reading and writing ----

  void Read() {
    auto stream = stream_;
    const std::uint64_t gen = generation_;
    stream->async_read(read_buffer_, [self = shared_from_this(), stream, gen](error_code ec, std::size_t) {
      if (gen != self->generation_) return;
      if (ec) return self->Failed(ClientErrc::kNetwork, "the connection was lost");
      const auto data = self->read_buffer_.cdata();
      const Bytes bytes(static_cast<const std::uint8_t*>(data.data()), data.size());
      auto frame = wire::DecodeServerFrame(bytes);
      self->read_buffer_.consume(self->read_buffer_.size());
      if (!frame) {
        // docs/wire-protocol.md: close 1002 and reconnect.
        stream->async_close(websocket::close_code::protocol_error, [](error_code) {});
        return self->Failed(ClientErrc::kServerError, "the server sent a frame that does not decode");
      }
      self->Dispatch(std::move(*frame));
      if (gen == self->generation_) self->Read();
    });
  }

  void Dispatch(wire::ServerFrame frame) {
    if (auto* push = std::get_if<wire::Push>(&frame)) {
      if (!authenticated_) return;
      if (on_push_) on_push_(std::move(*push));
      return;
    }
    auto& response = std::get<wire::Response>(frame);
    if (!authenticated_ && response.id == auth_request_id_) {
      if (response.status == wire::ResponseStatus::kOk) return OnAuthenticated();
      pin_mismatch_ = false;
      return Failed(ErrcForStatus(response.status), "the server refused the device's credential");
    }
    auto it = in_flight_.find(response.id);
    if (it == in_flight_.end()) return;
    auto pending = it->second;
    in_flight_.erase(it);
    if (!wire::IsExpectedResponse(pending->body, response)) {
      Finish(pending, Fail(ClientErrc::kServerError, "the server answered with the wrong kind of result"));
      return;
    }
    Finish(pending, std::move(response));
  }

  void Write(std::string bytes) {
    write_queue_.push_back(std::move(bytes));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (write_queue_.empty() || !stream_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto stream = stream_;
    const std::uint64_t gen = generation_;
    stream->async_write(net::buffer(write_queue_.front()),
                        [self = shared_from_this(), stream, gen](error_code ec, std::size_t) {
                          if (gen != self->generation_) return;
                          self->write_queue_.pop_front();
                          if (ec) return self->Failed(ClientErrc::kNetwork, "the connection was lost");
                          self->WriteNext();
                        });
  }

  ConnectionOptions options_;
  PushHandler on_push_;
  StateHandler on_state_;
  net::io_context io_;
  ssl::context tls_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  net::steady_timer backoff_timer_;
  std::thread thread_;

  mutable std::mutex mutex_;  // guards the fields below up to the io-thread-only ones
  std::optional<wire::AuthenticateRequest> authentication_;
  bool started_ = false;
  bool stopped_ = false;
  bool ready_ = false;

  // Only touched on the io thread.
  std::promise<ClientStatus> first_attempt_;
  bool first_reported_ = false;
  std::shared_ptr<Stream> stream_;
  std::uint64_t generation_ = 0;
  bool socket_ready_ = false;
  bool authenticated_ = false;
  bool pin_mismatch_ = false;
  std::uint64_t next_id_ = 1;
  std::uint64_t auth_request_id_ = 0;
  std::map<std::uint64_t, std::shared_ptr<Pending>> in_flight_;
  std::deque<std::shared_ptr<Pending>> waiting_;
  std::deque<std::string> write_queue_;
  bool writing_ = false;
  beast::flat_buffer read_buffer_;
  Backoff backoff_;
};

Connection::Connection(ConnectionOptions options, PushHandler on_push, StateHandler on_state)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(on_push), std::move(on_state))) {
  impl_->StartThread();
}

Connection::~Connection() { impl_->Stop(); }

void Connection::SetAuthentication(std::optional<wire::AuthenticateRequest> authentication) {
  impl_->SetAuthentication(std::move(authentication));
}

ClientStatus Connection::Start() { return impl_->Start(); }

void Connection::Stop() { impl_->Stop(); }

bool Connection::ready() const { return impl_->ready(); }

ClientResult<wire::Response> Connection::Call(wire::RequestBody body, std::chrono::milliseconds limit) {
  return impl_->Call(std::move(body), limit);
}

void Connection::Ack(std::uint64_t push_id) { impl_->Ack(push_id); }

}  // namespace parley::client
