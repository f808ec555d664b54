#include "server/http_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <chrono>
#include <exception>
#include <utility>

#include "server/limits.h"
#include "server/server.h"
#include "server/websocket_session.h"

namespace parley::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

// The HttpExchange handed to a route: forwards every call to the session's
// strand, tagged with its request number.
class SessionExchange final : public HttpExchange {
 public:
  SessionExchange(std::shared_ptr<HttpSession> session, std::uint64_t number, HttpRequestHead head)
      : session_(std::move(session)), number_(number), head_(std::move(head)) {}

  ~SessionExchange() override {
    session_->Post([s = session_, n = number_] { s->ExchangeDropped(n); });
  }

  const HttpRequestHead& request() const override { return head_; }

  void ReadBody(std::function<void(HttpBodyChunk)> done) override {
    session_->Post(
        [s = session_, n = number_, done = std::move(done)]() mutable { s->ReadBody(n, std::move(done)); });
  }

  void Respond(HttpResponse response) override {
    session_->Post([s = session_, n = number_, response = std::move(response)]() mutable {
      s->Respond(n, std::move(response));
    });
  }

  void StartResponse(HttpStreamedResponseHead head, std::function<void(bool)> done) override {
    session_->Post([s = session_, n = number_, head = std::move(head), done = std::move(done)]() mutable {
      s->StartResponse(n, std::move(head), std::move(done));
    });
  }

  void WriteBody(std::vector<std::uint8_t> chunk, std::function<void(bool)> done) override {
    session_->Post([s = session_, n = number_, chunk = std::move(chunk), done = std::move(done)]() mutable {
      s->WriteBody(n, std::move(chunk), std::move(done));
    });
  }

 private:
  std::shared_ptr<HttpSession> session_;
  std::uint64_t number_;
  HttpRequestHead head_;
};

HttpMethod ToMethod(http::verb verb) {
  switch (verb) {
    case http::verb::get:
      return HttpMethod::kGet;
    case http::verb::head:
      return HttpMethod::kHead;
    case http::verb::post:
      return HttpMethod::kPost;
    case http::verb::put:
      return HttpMethod::kPut;
    case http::verb::patch:
      return HttpMethod::kPatch;
    case http::verb::delete_:
      return HttpMethod::kDelete;
    case http::verb::options:
      return HttpMethod::kOptions;
    default:
      return HttpMethod::kOther;
  }
}

std::string ToStdString(beast::string_view s) { return std::string(s.data(), s.size()); }

std::string Lower(beast::string_view s) {
  std::string out(s.data(), s.size());
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

HttpResponse TextResponse(unsigned status, std::string body) {
  return HttpResponse{status, {{"content-type", "text/plain; charset=utf-8"}}, std::move(body)};
}

}  // namespace

HttpSession::HttpSession(TcpSocket&& socket, std::shared_ptr<ServerState> state, ConnectionLease lease,
                         std::string address_key)
    : stream_(std::move(socket), state->tls()),
      timer_(stream_.get_executor()),
      state_(std::move(state)),
      lease_(std::move(lease)),
      address_key_(std::move(address_key)) {}

HttpSession::~HttpSession() = default;

void HttpSession::Post(std::function<void()> work) { net::post(stream_.get_executor(), std::move(work)); }

void HttpSession::Start() {
  error_code ec;
  TcpSocket& socket = beast::get_lowest_layer(stream_);
  socket.set_option(net::ip::tcp::no_delay(true), ec);
  state_->Track(lease_.id(), weak_from_this());
  Post([self = shared_from_this()] {
    self->ArmTimer(self->state_->limits().handshake_timeout_seconds);
    self->stream_.async_handshake(net::ssl::stream_base::server, [self](const error_code& handshake_ec) {
      self->OnHandshake(handshake_ec);
    });
  });
}

void HttpSession::BeginDrain() {
  Post([self = shared_from_this()] {
    // An idle keep-alive connection closes now; one in the middle of a
    // request finishes it and closes after the response.
    if (self->waiting_for_request_ && self->buffer_.size() == 0) self->CloseSocket();
  });
}

void HttpSession::Abort() {
  Post([self = shared_from_this()] { self->CloseSocket(); });
}

void HttpSession::OnHandshake(const error_code& ec) {
  if (ec) {
    state_->metrics().tls_handshake_failures.Increment();
    spdlog::debug("event=tls_handshake_failed connection={} error=\"{}\"", lease_.id(), ec.message());
    CloseSocket();
    return;
  }
  ReadRequest();
}

void HttpSession::ReadRequest() {
  if (closed_) return;
  if (state_->draining() && requests_served_ > 0) {
    CloseGracefully();
    return;
  }
  ++request_number_;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(state_->limits().http_header_limit_bytes));
  // The route's body limit is set once the route is known.
  parser_->body_limit(boost::none);
  response_state_ = ResponseState::kNone;
  response_.reset();
  serializer_.reset();
  streamed_response_.reset();
  body_too_large_ = false;
  body_failed_ = false;
  continue_owed_ = false;
  waiting_for_request_ = true;
  const LimitsConfig& limits = state_->limits();
  ArmTimer(requests_served_ == 0 ? limits.handshake_timeout_seconds : limits.idle_timeout_seconds);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](const error_code& ec, std::size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(const error_code& ec) {
  waiting_for_request_ = false;
  if (closed_) return;
  if (ec) {
    if (ec == http::error::header_limit) {
      request_keep_alive_ = false;
      head_request_ = false;
      Respond(request_number_, TextResponse(431, "request header too large\n"));
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      request_keep_alive_ = false;
      head_request_ = false;
      Respond(request_number_, TextResponse(400, "bad request\n"));
    } else {
      CloseSocket();
    }
    return;
  }
  const auto& req = parser_->get();
  HttpRequestHead head;
  head.method = ToMethod(req.method());
  const beast::string_view target = req.target();
  const std::size_t query_at = target.find('?');
  head.path = ToStdString(target.substr(0, query_at));
  if (query_at != beast::string_view::npos) head.query = ToStdString(target.substr(query_at + 1));
  for (const auto& field : req)
    head.fields.push_back({Lower(field.name_string()), ToStdString(field.value())});
  if (parser_->content_length()) head.content_length = *parser_->content_length();
  head.address_key = address_key_;
  head_request_ = head.method == HttpMethod::kHead;
  continue_owed_ = beast::iequals(req[http::field::expect], "100-continue") && !parser_->is_done();
  request_keep_alive_ = req.keep_alive();

  if (head.path == kWebSocketPath) {
    if (!beast::websocket::is_upgrade(req)) {
      HttpResponse response = TextResponse(426, "this endpoint speaks WebSocket only\n");
      response.fields.push_back({"upgrade", "websocket"});
      Respond(request_number_, std::move(response));
    } else if (state_->draining()) {
      Respond(request_number_, TextResponse(503, "server shutting down\n"));
    } else {
      Upgrade();
    }
    return;
  }
  Route(std::move(head));
}

void HttpSession::Route(HttpRequestHead head) {
  const HttpRouter::Match match = state_->router().Find(head.path, head.method);
  if (match.route == nullptr) {
    if (match.allowed.empty()) {
      Respond(request_number_, TextResponse(404, "not found\n"));
      return;
    }
    std::string allow;
    for (HttpMethod m : match.allowed) {
      if (!allow.empty()) allow += ", ";
      allow += ToString(m);
    }
    HttpResponse response = TextResponse(405, "method not allowed\n");
    response.fields.push_back({"allow", allow});
    Respond(request_number_, std::move(response));
    return;
  }
  const std::uint64_t limit = match.route->body_limit.value_or(state_->limits().http_body_limit_bytes);
  if (head.content_length && *head.content_length > limit) {
    request_keep_alive_ = false;
    Respond(request_number_, TextResponse(413, "request body too large\n"));
    return;
  }
  parser_->body_limit(limit);
  ArmTimer(state_->limits().idle_timeout_seconds);
  auto exchange = std::make_shared<SessionExchange>(shared_from_this(), request_number_, std::move(head));
  try {
    match.route->handler(std::move(exchange));
  } catch (const std::exception& e) {
    spdlog::error("event=http_route_failed connection={} path=\"{}\" error=\"{}\"", lease_.id(),
                  match.route->path, e.what());
    Respond(request_number_, TextResponse(500, "internal error\n"));
  }
}

void HttpSession::Upgrade() {
  DisarmTimer();
  upgraded_ = true;
  auto request = std::make_unique<WebSocketSession::UpgradeRequest>(parser_->release());
  auto session = std::make_shared<WebSocketSession>(std::move(stream_), state_, std::move(lease_),
                                                    std::move(address_key_));
  session->Start(std::move(request));
}

bool HttpSession::KeepAlive() const {
  return request_keep_alive_ && !state_->draining() && !body_too_large_ && !body_failed_ && parser_ &&
         parser_->is_done();
}

template <class Arg>
std::function<void(Arg)> HttpSession::Guard(std::function<void(Arg)> callback) {
  return [self = shared_from_this(), callback = std::move(callback)](Arg arg) {
    try {
      callback(std::move(arg));
    } catch (const std::exception& e) {
      // A route's exception closes its connection, never the event loop.
      spdlog::error("event=http_route_failed connection={} error=\"{}\"", self->lease_.id(), e.what());
      self->CloseSocket();
    }
  };
}

void HttpSession::ReadBody(std::uint64_t request_number, std::function<void(HttpBodyChunk)> unguarded_done) {
  auto done = Guard(std::move(unguarded_done));
  if (request_number != request_number_ || closed_ || reading_body_ || body_failed_) {
    done({HttpBodyStatus::kFailed, {}});
    return;
  }
  if (body_too_large_) {
    done({HttpBodyStatus::kTooLarge, {}});
    return;
  }
  if (parser_->is_done()) {
    done({HttpBodyStatus::kEnd, {}});
    return;
  }
  if (continue_owed_) {
    // The client waits for this before sending the body; a route that
    // answers without reading the body never sends it (and the client never
    // sends the body).
    continue_owed_ = false;
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    reading_body_ = true;
    ArmTimer(state_->limits().idle_timeout_seconds);
    net::async_write(
        stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
        [self = shared_from_this(), done = std::move(done)](const error_code& ec, std::size_t) mutable {
          self->reading_body_ = false;
          if (ec || self->closed_) {
            self->body_failed_ = true;
            done({HttpBodyStatus::kFailed, {}});
            return;
          }
          self->ReadBodySome(std::move(done));
        });
    return;
  }
  ReadBodySome(std::move(done));
}

void HttpSession::ReadBodySome(std::function<void(HttpBodyChunk)> done) {
  reading_body_ = true;
  read_chunk_.resize(kHttpBodyChunkBytes);
  auto& body = parser_->get().body();
  body.data = read_chunk_.data();
  body.size = read_chunk_.size();
  body.more = true;
  ArmTimer(state_->limits().idle_timeout_seconds);
  http::async_read_some(
      stream_, buffer_, *parser_,
      [self = shared_from_this(), done = std::move(done)](error_code ec, std::size_t) mutable {
        self->reading_body_ = false;
        if (ec == http::error::need_buffer) ec = {};
        const std::size_t got = self->read_chunk_.size() - self->parser_->get().body().size;
        if (ec == http::error::body_limit) {
          self->body_too_large_ = true;
          done({HttpBodyStatus::kTooLarge, {}});
          return;
        }
        if (ec || self->closed_) {
          self->body_failed_ = true;
          done({HttpBodyStatus::kFailed, {}});
          return;
        }
        if (got == 0) {
          if (self->parser_->is_done()) {
            done({HttpBodyStatus::kEnd, {}});
          } else {
            self->ReadBodySome(std::move(done));
          }
          return;
        }
        std::vector<std::uint8_t> bytes = std::move(self->read_chunk_);
        self->read_chunk_ = {};
        bytes.resize(got);
        done({HttpBodyStatus::kChunk, std::move(bytes)});
      });
}

void HttpSession::Respond(std::uint64_t request_number, HttpResponse response) {
  if (request_number != request_number_ || closed_ || response_state_ != ResponseState::kNone) return;
  response_state_ = ResponseState::kDone;
  const unsigned status = response.status >= 100 && response.status <= 599 ? response.status : 500;
  response_.emplace(static_cast<http::status>(status), 11);
  for (const HttpField& f : response.fields) response_->set(f.name, f.value);
  response_->set(http::field::server, "parleyd");
  const std::size_t length = response.body.size();
  if (!head_request_) response_->body() = std::move(response.body);
  response_->content_length(length);
  response_keep_alive_ = KeepAlive();
  response_->keep_alive(response_keep_alive_);
  writing_ = true;
  ArmTimer(state_->limits().idle_timeout_seconds);
  http::async_write(stream_, *response_, [self = shared_from_this()](const error_code& ec, std::size_t) {
    self->writing_ = false;
    self->OnResponseWritten(ec);
  });
}

void HttpSession::StartResponse(std::uint64_t request_number, HttpStreamedResponseHead head,
                                std::function<void(bool)> unguarded_done) {
  auto done = Guard(std::move(unguarded_done));
  if (request_number != request_number_ || closed_ || response_state_ != ResponseState::kNone) {
    done(false);
    return;
  }
  response_state_ = ResponseState::kStreaming;
  const unsigned status = head.status >= 100 && head.status <= 599 ? head.status : 500;
  streamed_response_.emplace(static_cast<http::status>(status), 11);
  for (const HttpField& f : head.fields) streamed_response_->set(f.name, f.value);
  streamed_response_->set(http::field::server, "parleyd");
  streamed_response_->content_length(head.content_length);
  response_keep_alive_ = KeepAlive();
  streamed_response_->keep_alive(response_keep_alive_);
  streamed_response_->body().data = nullptr;
  streamed_response_->body().more = true;
  streamed_remaining_ = head_request_ ? 0 : head.content_length;
  serializer_.emplace(*streamed_response_);
  writing_ = true;
  ArmTimer(state_->limits().idle_timeout_seconds);
  http::async_write_header(
      stream_, *serializer_,
      [self = shared_from_this(), done = std::move(done)](const error_code& ec, std::size_t) {
        self->writing_ = false;
        if (ec) {
          self->response_state_ = ResponseState::kDone;
          self->CloseSocket();
          done(false);
          return;
        }
        if (self->streamed_remaining_ == 0) {
          self->response_state_ = ResponseState::kDone;
          done(true);
          self->OnResponseWritten({});
          return;
        }
        done(true);
      });
}

void HttpSession::WriteBody(std::uint64_t request_number, std::vector<std::uint8_t> chunk,
                            std::function<void(bool)> unguarded_done) {
  auto done = Guard(std::move(unguarded_done));
  if (request_number != request_number_ || closed_ || response_state_ != ResponseState::kStreaming ||
      writing_) {
    done(false);
    return;
  }
  if (chunk.size() > streamed_remaining_) {
    spdlog::warn(
        "event=http_body_overrun connection={} reason=\"more bytes than the announced content length\"",
        lease_.id());
    response_state_ = ResponseState::kDone;
    CloseSocket();
    done(false);
    return;
  }
  if (chunk.empty()) {
    done(true);
    return;
  }
  write_chunk_ = std::move(chunk);
  streamed_remaining_ -= write_chunk_.size();
  auto& body = streamed_response_->body();
  body.data = write_chunk_.data();
  body.size = write_chunk_.size();
  body.more = streamed_remaining_ > 0;
  writing_ = true;
  ArmTimer(state_->limits().idle_timeout_seconds);
  http::async_write(stream_, *serializer_,
                    [self = shared_from_this(), done = std::move(done)](error_code ec, std::size_t) {
                      self->writing_ = false;
                      self->write_chunk_ = {};
                      if (ec == http::error::need_buffer) ec = {};
                      if (ec) {
                        self->response_state_ = ResponseState::kDone;
                        self->CloseSocket();
                        done(false);
                        return;
                      }
                      if (self->streamed_remaining_ == 0) {
                        self->response_state_ = ResponseState::kDone;
                        done(true);
                        self->OnResponseWritten({});
                        return;
                      }
                      done(true);
                    });
}

void HttpSession::ExchangeDropped(std::uint64_t request_number) {
  if (request_number != request_number_ || closed_) return;
  if (response_state_ == ResponseState::kNone) {
    spdlog::warn("event=http_exchange_dropped connection={} reason=\"route gave no response\"", lease_.id());
    Respond(request_number, TextResponse(500, "internal error\n"));
  } else if (response_state_ == ResponseState::kStreaming && streamed_remaining_ > 0 && !writing_) {
    spdlog::warn("event=http_exchange_dropped connection={} reason=\"streamed response left incomplete\"",
                 lease_.id());
    CloseSocket();
  }
}

void HttpSession::OnResponseWritten(const error_code& ec) {
  state_->metrics().http_requests.Increment();
  ++requests_served_;
  if (ec) {
    CloseSocket();
    return;
  }
  if (response_keep_alive_) {
    ReadRequest();
  } else {
    CloseGracefully();
  }
}

void HttpSession::CloseGracefully() {
  if (closed_ || upgraded_) return;
  if (state_->draining()) {
    // No waiting for the client's TLS close_notify while shutting down.
    CloseSocket();
    return;
  }
  ArmTimer(state_->limits().handshake_timeout_seconds);
  stream_.async_shutdown([self = shared_from_this()](const error_code&) { self->CloseSocket(); });
}

void HttpSession::CloseSocket() {
  if (closed_ || upgraded_) return;
  closed_ = true;
  DisarmTimer();
  error_code ignored;
  TcpSocket& socket = beast::get_lowest_layer(stream_);
  socket.shutdown(net::socket_base::shutdown_both, ignored);
  socket.close(ignored);
}

void HttpSession::ArmTimer(std::uint32_t seconds) {
  const std::uint64_t generation = ++timer_generation_;
  timer_.expires_after(std::chrono::seconds(seconds));
  timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
    if (ec || generation != self->timer_generation_) return;
    self->state_->metrics().closes_timeout.Increment();
    spdlog::debug("event=http_timeout connection={}", self->lease_.id());
    self->CloseSocket();
  });
}

void HttpSession::DisarmTimer() {
  ++timer_generation_;
  timer_.cancel();
}

}  // namespace parley::server
