// ConnectionHandle and RequestSlot: how request handlers talk back to one
// WebSocket connection.
//
// A handle refers to its connection weakly: copying it, keeping it in a
// registry, or using it from any thread is safe, and so is using it after
// the connection closed (sends are then dropped, Close does nothing). The
// connection's state lives in the transport, never in the handle.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace parley::server {

class ConnectionPort;

// WebSocket close codes the server uses (RFC 6455, section 7.4.1).
enum class CloseCode : std::uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,  // server shutting down
  kProtocolError = 1002,
  kUnsupportedData = 1003,  // a text frame
  kPolicyViolation = 1008,  // e.g. authentication failed
  kMessageTooBig = 1009,    // a frame over the size limit
  kInternalError = 1011,
  kTryAgainLater = 1013,
};

// The longest close reason a WebSocket close frame can carry; longer reasons
// are cut to it.
inline constexpr std::size_t kMaxCloseReasonBytes = 123;

// One frame handed to the FrameHandler that still counts against the
// connection's in-flight limit. It is released when it is destroyed, or,
// when passed to ConnectionHandle::Send, once that answer has been written
// to the socket. Move-only; safe to release from any thread.
class RequestSlot {
 public:
  RequestSlot() = default;
  RequestSlot(std::weak_ptr<ConnectionPort> port, std::chrono::steady_clock::time_point received);
  RequestSlot(RequestSlot&& other) noexcept;
  RequestSlot& operator=(RequestSlot&& other) noexcept;
  RequestSlot(const RequestSlot&) = delete;
  RequestSlot& operator=(const RequestSlot&) = delete;
  ~RequestSlot();

  // Releases the slot now (idempotent).
  void Release();
  // False once released or moved from.
  bool held() const { return held_; }
  // When the frame was read; the transport's handler-latency histogram
  // measures from here to the release.
  std::chrono::steady_clock::time_point received() const { return received_; }

 private:
  friend class ConnectionHandle;
  std::weak_ptr<ConnectionPort> port_;
  std::chrono::steady_clock::time_point received_{};
  bool held_ = false;
};

class ConnectionHandle {
 public:
  // A handle that refers to no connection.
  ConnectionHandle() = default;
  ConnectionHandle(std::weak_ptr<ConnectionPort> port, std::uint64_t id);

  // Unique among the connections of one server run; 0 for an empty handle.
  std::uint64_t id() const { return id_; }
  // True while the connection is open for sending (racy by nature: a send
  // right after may still be dropped).
  bool is_open() const;
  // The peer's address key (server/address_key.h: its IPv4 address or IPv6
  // prefix), what per-address limits count it under ("" when closed or empty).
  std::string address_key() const;
  // Bytes queued for this connection and not yet written to its socket.
  std::size_t queued_bytes() const;

  // Queues a binary frame (a push). Dropped when the connection is closed.
  // When the queue would exceed the write-queue limit the connection is
  // disconnected instead: a slow reader cannot make the server's memory grow.
  void Send(std::vector<std::uint8_t> frame) const;
  // Queues the answer to a request; `slot` is released once it is written
  // (or at once when the connection is closed).
  void Send(std::vector<std::uint8_t> frame, RequestSlot slot) const;
  // Sends what is queued, then a close frame with `code` and `reason` (cut to
  // kMaxCloseReasonBytes; must not carry user data or secrets).
  void Close(CloseCode code, std::string_view reason) const;

  // Puts the connection on probation until MarkAuthenticated: it reads
  // frames of at most `max_frame_bytes` (and at most limits.max_frame_bytes;
  // a larger one is refused by the transport after that many bytes, close
  // 1009), and it is closed (1008, "authentication timeout") once
  // limits.authentication_timeout_seconds have passed since it opened.
  // Called from FrameHandler::OnOpen, it applies to the first frame.
  void RequireAuthentication(std::size_t max_frame_bytes) const;
  // Ends the probation: frames up to limits.max_frame_bytes, no deadline.
  // Frames whose header was already read keep the limit they were read with.
  void MarkAuthenticated() const;

  friend bool operator==(const ConnectionHandle& a, const ConnectionHandle& b) { return a.id_ == b.id_; }

 private:
  std::weak_ptr<ConnectionPort> port_;
  std::uint64_t id_ = 0;
};

}  // namespace parley::server
