// FrameHandler: what the transport hands WebSocket frames to.
//
// The transport owns sockets, TLS, WebSocket framing, limits and timeouts;
// the FrameHandler owns the meaning of the bytes (the wire protocol). For one
// connection, OnOpen, OnFrame and OnClose run one at a time on that
// connection's strand, in that order; different connections run in
// parallel on the server's threads. They must return quickly (offload slow
// work and answer later through the handle) and should not throw: an
// exception is logged and closes the connection with 1011.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "server/connection.h"

namespace parley::server {

// Per-connection state a FrameHandler keeps (e.g. the authenticated
// account and device). The transport owns it and destroys it after OnClose.
class ConnectionContext {
 public:
  virtual ~ConnectionContext() = default;
};

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;

  // A WebSocket connection completed its handshake. The returned context
  // (may be null) is passed to every later call for this connection.
  virtual std::unique_ptr<ConnectionContext> OnOpen(const ConnectionHandle& connection) = 0;

  // One complete binary message (at most the configured max frame size).
  // `frame` is valid only during the call. The frame counts against the
  // connection's in-flight limit until `slot` is released: pass it to
  // connection.Send(answer, std::move(slot)), or drop it when no answer
  // follows. While max_in_flight_requests slots are held, the connection
  // stops reading (TCP back-pressure on the client).
  virtual void OnFrame(const ConnectionHandle& connection, ConnectionContext* context,
                       std::span<const std::uint8_t> frame, RequestSlot slot) = 0;

  // The connection closed (either side, or an error). Sends after this are
  // dropped.
  virtual void OnClose(const ConnectionHandle& connection, ConnectionContext* context) = 0;
};

}  // namespace parley::server
