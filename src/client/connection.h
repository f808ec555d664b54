// Connection: one device's TLS 1.3 WebSocket to parleyd (docs/wire-protocol.md).
//
// Requests are matched with their responses by id; pushes go to a handler and
// are acknowledged by the caller with Ack once handled. When the connection
// drops it is made again with exponential backoff and jitter (500 ms doubling
// to 30 s, each wait drawn from its upper half), and the authentication set
// with SetAuthentication is replayed first, so the server resumes pushing the
// device's queue. The server certificate's SHA-256 is compared with the pin,
// when one is given, before anything is sent.
//
// All network work runs on one thread the connection owns (Boost.Beast,
// kept out of this header). Handlers are called on that thread and must not
// block on Call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/rng.h"
#include "client/error.h"
#include "wire/messages.h"

namespace parley::client {

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8443;
  // Lower-case hex SHA-256 of the server certificate; empty accepts any.
  std::string pin;
  std::chrono::milliseconds connect_timeout{10'000};
  bool reconnect = true;
};

class Connection {
 public:
  // Called with every push from the server, in order.
  using PushHandler = std::function<void(wire::Push push)>;
  // Called when the connection becomes usable (connected and, with an
  // authentication set, authenticated) or stops being so.
  using StateHandler = std::function<void(bool ready)>;

  Connection(ConnectionOptions options, PushHandler on_push, StateHandler on_state);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The request sent first on every connection from now on (nullopt: none,
  // for registering or linking).
  void SetAuthentication(std::optional<wire::AuthenticateRequest> authentication);

  // Connects (and authenticates) and waits for the first attempt's outcome:
  // kNetwork (cannot connect, TLS failure, pin mismatch), kTimeout,
  // kUnauthorized or kForbidden (authentication refused). After success the
  // connection keeps itself up until Stop.
  ClientStatus Start();
  // Closes the connection and stops reconnecting; pending calls fail with
  // kNetwork. Safe to call more than once.
  void Stop();
  bool ready() const;

  // Sends a request and waits for its response (any status). Waits for the
  // connection to be ready first. kTimeout after `limit`; kNetwork when the
  // connection is lost before the answer (the request may have taken
  // effect) or was stopped; kServerError for an answer of the wrong kind.
  ClientResult<wire::Response> Call(wire::RequestBody body, std::chrono::milliseconds limit);
  // Acknowledges a push (does nothing when the connection has dropped since:
  // the server pushes unacknowledged envelopes again).
  void Ack(std::uint64_t push_id);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::client
