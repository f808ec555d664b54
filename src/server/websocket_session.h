// WebSocketSession: one upgraded connection at /v1/websocket. Reads binary
// messages (at most max_frame_bytes, less while the handler keeps the
// connection on probation before authentication) into the FrameHandler,
// writes queued frames, enforces the in-flight and write-queue limits and
// the authentication deadline, and implements the ConnectionPort behind
// ConnectionHandles (internal to the server library).
//
// Idle memory is kept small: the read buffer is allocated only once a
// message starts and released after it, the write queue's storage after it empties, and an
// authenticated connection has no timer besides the one inside Beast's
// WebSocket stream (the deadline's timer exists only until authentication).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>

#include "server/connection_port.h"
#include "server/frame_handler.h"
#include "server/send_batch.h"
#include "server/server_state.h"
#include "server/tls_stream.h"

namespace parley::server {

class WebSocketSession : public std::enable_shared_from_this<WebSocketSession>,
                         public ConnectionPort,
                         public Drainable,
                         public BatchedSender {
 public:
  using UpgradeRequest = boost::beast::http::request<boost::beast::http::buffer_body>;

  WebSocketSession(TlsStream&& stream, std::shared_ptr<ServerState> state, ConnectionLease lease,
                   std::string address_key);
  ~WebSocketSession() override;

  // Completes the WebSocket handshake answering `request`.
  void Start(std::unique_ptr<UpgradeRequest> request);

  // ConnectionPort (any thread).
  void Send(std::vector<std::uint8_t> frame,
            std::optional<std::chrono::steady_clock::time_point> answer_to) override;
  void Close(CloseCode code, std::string reason) override;
  void ReleaseRequest(std::chrono::steady_clock::time_point received) override;
  bool is_open() const override { return open_.load(std::memory_order_acquire); }
  std::size_t queued_bytes() const override { return queued_bytes_.load(std::memory_order_relaxed); }
  const std::string& address_key() const override { return address_key_; }
  void RequireAuthentication(std::size_t max_frame_bytes) override;
  void MarkAuthenticated() override;

  // Drainable (any thread).
  void BeginDrain() override;
  void Abort() override;

  // BatchedSender (used only when the session has no strand).
  void PostBatch(std::vector<SendBatch::Entry> entries) override;
  void DeliverBatched(std::vector<std::uint8_t> frame,
                      std::optional<std::chrono::steady_clock::time_point> answer_to) override;

 private:
  struct Outgoing {
    std::vector<std::uint8_t> bytes;
    std::optional<std::chrono::steady_clock::time_point> answer_to;
  };

  void OnAccept(const boost::system::error_code& ec);
  void DoRead();
  void OnMessageStart(const boost::system::error_code& ec, std::size_t bytes);
  void OnRead(const boost::system::error_code& ec, std::size_t bytes);
  void Enqueue(Outgoing outgoing);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec);
  void RequestDone(std::chrono::steady_clock::time_point received);
  void StartClose(CloseCode code, std::string reason);
  void DoClose();
  void CutConnection();
  void Finish(const char* why);
  ConnectionHandle Handle();
  // Starts the authentication deadline unless it runs or is over.
  void ArmAuthenticationDeadline();

  WebSocketStream ws_;
  // The socket runs on the event loop itself, not a strand (one event-loop
  // thread): frames sent while a SendBatch is open may join it, and frames
  // read are handled in a LoopTurn.
  const bool batchable_;
  boost::beast::flat_buffer buffer_;
  std::uint8_t first_byte_ = 0;
  std::shared_ptr<ServerState> state_;
  ConnectionLease lease_;
  std::string address_key_;
  std::unique_ptr<UpgradeRequest> upgrade_request_;
  std::unique_ptr<ConnectionContext> context_;

  // Strand-only state.
  std::vector<Outgoing> queue_;
  std::size_t in_flight_ = 0;
  bool handler_open_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool close_requested_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
  CloseCode close_code_ = CloseCode::kNormal;
  std::string close_reason_;
  // Exists while the connection is on probation (RequireAuthentication):
  // an authenticated connection keeps no timer.
  std::unique_ptr<boost::asio::steady_timer> authentication_deadline_;
  bool authenticated_ = false;
  // Set only while reading is paused at the in-flight limit and no
  // operation is pending, to keep the session alive until it resumes.
  std::shared_ptr<WebSocketSession> paused_self_;

  // Read from any thread.
  std::atomic<bool> open_{false};
  std::atomic<std::size_t> queued_bytes_{0};
  // The frame limit of the next read (set from any thread, applied on the
  // strand).
  std::atomic<std::size_t> frame_limit_{0};
};

}  // namespace parley::server
