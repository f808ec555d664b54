#include "server/websocket_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <functional>
#include <span>
#include <utility>

#include "server/loop_turn.h"

namespace parley::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

WebSocketSession::WebSocketSession(TlsStream&& stream, std::shared_ptr<ServerState> state,
                                   ConnectionLease lease, std::string address_key)
    : ws_(std::move(stream)),
      batchable_(ws_.get_executor().target<net::io_context::executor_type>() != nullptr),
      state_(std::move(state)),
      lease_(std::move(lease)),
      address_key_(std::move(address_key)) {}

WebSocketSession::~WebSocketSession() = default;

ConnectionHandle WebSocketSession::Handle() {
  return ConnectionHandle(std::weak_ptr<ConnectionPort>(shared_from_this()), lease_.id());
}

void WebSocketSession::Start(std::unique_ptr<UpgradeRequest> request) {
  state_->Track(lease_.id(), weak_from_this());
  upgrade_request_ = std::move(request);
  const LimitsConfig& limits = state_->limits();
  websocket::stream_base::timeout timeout{};
  timeout.handshake_timeout = std::chrono::seconds(limits.handshake_timeout_seconds);
  timeout.idle_timeout = std::chrono::seconds(limits.idle_timeout_seconds);
  timeout.keep_alive_pings = limits.keepalive_pings;
  ws_.set_option(timeout);
  frame_limit_.store(limits.max_frame_bytes, std::memory_order_relaxed);
  ws_.read_message_max(limits.max_frame_bytes);
  // One frame per message: without fragmentation a server write needs no
  // write buffer of its own.
  ws_.auto_fragment(false);
  ws_.binary(true);
  ws_.async_accept(*upgrade_request_,
                   [self = shared_from_this()](const error_code& ec) { self->OnAccept(ec); });
}

void WebSocketSession::OnAccept(const error_code& ec) {
  upgrade_request_.reset();
  if (ec) {
    spdlog::debug("event=websocket_handshake_failed connection={} error=\"{}\"", lease_.id(), ec.message());
    CutConnection();
    return;
  }
  if (close_requested_ || finished_) {
    CutConnection();
    return;
  }
  open_.store(true, std::memory_order_release);
  handler_open_ = true;
  state_->metrics().websockets_open.Add(1);
  state_->metrics().websockets_total.Increment();
  spdlog::debug("event=websocket_opened connection={}", lease_.id());
  try {
    context_ = state_->frame_handler().OnOpen(Handle());
  } catch (const std::exception& e) {
    spdlog::error("event=frame_handler_failed connection={} stage=open error=\"{}\"", lease_.id(), e.what());
    StartClose(CloseCode::kInternalError, "internal error");
    return;
  }
  DoRead();
}

void WebSocketSession::DoRead() {
  if (reading_ || finished_ || close_requested_ || !handler_open_) return;
  if (in_flight_ >= state_->limits().max_in_flight_requests) {
    // Paused until an answer is written. Nothing else may be pending, so
    // the session keeps itself alive meanwhile.
    paused_self_ = shared_from_this();
    return;
  }
  paused_self_.reset();
  reading_ = true;
  ws_.read_message_max(frame_limit_.load(std::memory_order_acquire));
  // An idle connection waits for the first byte of its next message with no
  // buffer of its own: Beast's async_read would allocate the message buffer
  // (up to 1.5 KiB) before anything arrives. The rest of the message follows
  // into buffer_.
  ws_.async_read_some(net::buffer(&first_byte_, 1),
                      [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
                        self->OnMessageStart(ec, bytes);
                      });
}

void WebSocketSession::OnMessageStart(const error_code& ec, std::size_t bytes) {
  if (!ec && bytes == 1) {
    auto space = buffer_.prepare(1);
    *static_cast<std::uint8_t*>(space.data()) = first_byte_;
    buffer_.commit(1);
  }
  if (ec || ws_.is_message_done()) {
    OnRead(ec, buffer_.size());
    return;
  }
  ws_.async_read(buffer_, [self = shared_from_this()](const error_code& read_ec, std::size_t) {
    self->OnRead(read_ec, self->buffer_.size());
  });
}

void WebSocketSession::OnRead(const error_code& ec, std::size_t bytes) {
  reading_ = false;
  if (ec) {
    const char* why = "read failed";
    // On a frame over read_message_max Beast sends close 1009 (message too
    // big) itself; the error seen here is then message_too_big or, when
    // the client drops the connection first, that of the teardown.
    if (ec == websocket::error::message_too_big) {
      why = "frame too big";
    } else if (ec == websocket::error::closed) {
      why = "closed";
    } else if (ec == beast::error::timeout) {
      state_->metrics().closes_timeout.Increment();
      why = "timeout";
    }
    Finish(why);
    return;
  }
  if (!ws_.got_binary()) {
    state_->metrics().closes_text_frame.Increment();
    buffer_.clear();
    buffer_.shrink_to_fit();
    StartClose(CloseCode::kUnsupportedData, "text frames are not accepted; send binary frames");
    return;
  }
  state_->metrics().frames_received.Increment();
  state_->metrics().bytes_received.Increment(bytes);
  if (!close_requested_) {
    ++in_flight_;
    RequestSlot slot(std::weak_ptr<ConnectionPort>(shared_from_this()), std::chrono::steady_clock::now());
    const auto data = buffer_.data();
    const std::span<const std::uint8_t> frame(static_cast<const std::uint8_t*>(data.data()), data.size());
    try {
      if (batchable_) {
        // Work the frame hands to other threads waits for the end of the
        // loop's turn (server/loop_turn.h).
        LoopTurn turn(
            [this](std::function<void()> handler) { net::post(ws_.get_executor(), std::move(handler)); });
        state_->frame_handler().OnFrame(Handle(), context_.get(), frame, std::move(slot));
      } else {
        state_->frame_handler().OnFrame(Handle(), context_.get(), frame, std::move(slot));
      }
    } catch (const std::exception& e) {
      spdlog::error("event=frame_handler_failed connection={} stage=frame error=\"{}\"", lease_.id(),
                    e.what());
      StartClose(CloseCode::kInternalError, "internal error");
    }
  }
  // The read buffer is released after every message: an idle connection
  // (most of them) keeps none, at the price of one allocation per frame.
  buffer_.clear();
  buffer_.shrink_to_fit();
  DoRead();
}

void WebSocketSession::Send(std::vector<std::uint8_t> frame,
                            std::optional<std::chrono::steady_clock::time_point> answer_to) {
  if (!is_open()) return;
  const std::size_t size = frame.size();
  const std::size_t before = queued_bytes_.fetch_add(size, std::memory_order_relaxed);
  if (before + size > state_->limits().max_write_queue_bytes) {
    queued_bytes_.fetch_sub(size, std::memory_order_relaxed);
    // Only the first overflowing send disconnects; later ones see a closed connection.
    if (!open_.exchange(false, std::memory_order_acq_rel)) return;
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (self->finished_) return;
      self->state_->metrics().closes_slow_reader.Increment();
      spdlog::info("event=slow_reader_disconnected connection={} queued_bytes={}", self->lease_.id(),
                   self->queued_bytes());
      self->CutConnection();
    });
    return;
  }
  if (SendBatch* batch = batchable_ ? SendBatch::Current() : nullptr) {
    batch->Add({shared_from_this(), std::move(frame), answer_to});
    return;
  }
  net::post(ws_.get_executor(),
            [self = shared_from_this(), outgoing = Outgoing{std::move(frame), answer_to}]() mutable {
              self->Enqueue(std::move(outgoing));
            });
}

void WebSocketSession::PostBatch(std::vector<SendBatch::Entry> entries) {
  // Everything posted to the loop before this handler has run when it runs,
  // and it delivers in order: each connection's frames keep the order they
  // were sent in, as with one post each.
  net::post(ws_.get_executor(), [entries = std::move(entries)]() mutable {
    for (SendBatch::Entry& entry : entries)
      entry.sender->DeliverBatched(std::move(entry.frame), entry.answer_to);
  });
}

void WebSocketSession::DeliverBatched(std::vector<std::uint8_t> frame,
                                      std::optional<std::chrono::steady_clock::time_point> answer_to) {
  Enqueue({std::move(frame), answer_to});
}

void WebSocketSession::Enqueue(Outgoing outgoing) {
  if (finished_ || close_sent_) {
    queued_bytes_.fetch_sub(outgoing.bytes.size(), std::memory_order_relaxed);
    if (outgoing.answer_to) RequestDone(*outgoing.answer_to);
    return;
  }
  queue_.push_back(std::move(outgoing));
  if (!writing_) DoWrite();
}

void WebSocketSession::DoWrite() {
  writing_ = true;
  ws_.async_write(net::buffer(queue_.front().bytes),
                  [self = shared_from_this()](const error_code& ec, std::size_t) { self->OnWrite(ec); });
}

void WebSocketSession::OnWrite(const error_code& ec) {
  writing_ = false;
  Outgoing done = std::move(queue_.front());
  queue_.erase(queue_.begin());
  queued_bytes_.fetch_sub(done.bytes.size(), std::memory_order_relaxed);
  if (ec) {
    CutConnection();
    return;
  }
  state_->metrics().frames_sent.Increment();
  state_->metrics().bytes_sent.Increment(done.bytes.size());
  if (done.answer_to) RequestDone(*done.answer_to);
  if (!queue_.empty()) {
    DoWrite();
    return;
  }
  std::vector<Outgoing>().swap(queue_);
  if (close_requested_ && !close_sent_ && !finished_) DoClose();
}

void WebSocketSession::ReleaseRequest(std::chrono::steady_clock::time_point received) {
  net::post(ws_.get_executor(), [self = shared_from_this(), received] { self->RequestDone(received); });
}

void WebSocketSession::RequestDone(std::chrono::steady_clock::time_point received) {
  if (in_flight_ > 0) --in_flight_;
  const std::chrono::duration<double> latency = std::chrono::steady_clock::now() - received;
  state_->metrics().handler_latency.Observe(latency.count());
  DoRead();
}

void WebSocketSession::Close(CloseCode code, std::string reason) {
  net::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
    self->StartClose(code, std::move(reason));
  });
}

void WebSocketSession::StartClose(CloseCode code, std::string reason) {
  if (finished_ || close_requested_) return;
  close_requested_ = true;
  open_.store(false, std::memory_order_release);
  close_code_ = code;
  close_reason_ = std::move(reason);
  if (!handler_open_) return;  // the handshake is still running; OnAccept cuts the connection
  // Queued frames go out first.
  if (!writing_ && queue_.empty()) DoClose();
}

void WebSocketSession::DoClose() {
  close_sent_ = true;
  open_.store(false, std::memory_order_release);
  spdlog::debug("event=websocket_closing connection={} code={} reason=\"{}\"", lease_.id(),
                static_cast<unsigned>(close_code_), close_reason_);
  ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
                  [self = shared_from_this()](const error_code& ec) {
                    // With a read pending, that read ends next and finishes the session.
                    if (!self->reading_) self->Finish(ec ? "close failed" : "closed by server");
                  });
}

void WebSocketSession::RequireAuthentication(std::size_t max_frame_bytes) {
  frame_limit_.store(std::min(max_frame_bytes, state_->limits().max_frame_bytes), std::memory_order_release);
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    if (self->authenticated_) return;
    // A read in progress gets the limit for the frames whose header it has
    // not read yet.
    self->ws_.read_message_max(self->frame_limit_.load(std::memory_order_acquire));
    self->ArmAuthenticationDeadline();
  });
}

void WebSocketSession::MarkAuthenticated() {
  frame_limit_.store(state_->limits().max_frame_bytes, std::memory_order_release);
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->authenticated_ = true;
    self->ws_.read_message_max(self->frame_limit_.load(std::memory_order_acquire));
    self->authentication_deadline_.reset();  // cancels the wait
  });
}

void WebSocketSession::ArmAuthenticationDeadline() {
  if (authenticated_ || authentication_deadline_ || finished_ || close_requested_) return;
  authentication_deadline_ = std::make_unique<net::steady_timer>(ws_.get_executor());
  authentication_deadline_->expires_after(
      std::chrono::seconds(state_->limits().authentication_timeout_seconds));
  authentication_deadline_->async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->authenticated_ || self->finished_) return;
    self->state_->metrics().closes_authentication_timeout.Increment();
    spdlog::debug("event=authentication_timeout connection={}", self->lease_.id());
    self->StartClose(CloseCode::kPolicyViolation, "authentication timeout");
  });
}

void WebSocketSession::BeginDrain() {
  net::post(ws_.get_executor(),
            [self = shared_from_this()] { self->StartClose(CloseCode::kGoingAway, "server shutting down"); });
}

void WebSocketSession::Abort() {
  net::post(ws_.get_executor(), [self = shared_from_this()] { self->CutConnection(); });
}

void WebSocketSession::CutConnection() {
  open_.store(false, std::memory_order_release);
  error_code ignored;
  TcpSocket& socket = beast::get_lowest_layer(ws_);
  socket.shutdown(net::socket_base::shutdown_both, ignored);
  socket.close(ignored);
  // With an operation pending, its failure finishes the session.
  if (!reading_ && !writing_) Finish("connection cut");
}

void WebSocketSession::Finish(const char* why) {
  if (finished_) return;
  finished_ = true;
  open_.store(false, std::memory_order_release);
  authentication_deadline_.reset();
  // Dropped at the end of this call; the caller's handler holds `self`.
  std::shared_ptr<WebSocketSession> paused_self = std::move(paused_self_);
  spdlog::debug("event=websocket_closed connection={} reason=\"{}\"", lease_.id(), why);
  if (handler_open_) {
    handler_open_ = false;
    state_->metrics().websockets_open.Add(-1);
    try {
      state_->frame_handler().OnClose(Handle(), context_.get());
    } catch (const std::exception& e) {
      spdlog::error("event=frame_handler_failed connection={} stage=close error=\"{}\"", lease_.id(),
                    e.what());
    }
    context_.reset();
  }
  if (!writing_) {
    for (const Outgoing& o : queue_) queued_bytes_.fetch_sub(o.bytes.size(), std::memory_order_relaxed);
    std::vector<Outgoing>().swap(queue_);
  }
  buffer_.clear();
  buffer_.shrink_to_fit();
  error_code ignored;
  TcpSocket& socket = beast::get_lowest_layer(ws_);
  if (socket.is_open()) socket.close(ignored);
}

}  // namespace parley::server
