// Server: parleyd's network front: one TLS 1.3 port serving the WebSocket
// at /v1/websocket and HTTPS routes (/healthz, /metrics and those added by
// the caller), on an io_context run by the configured number of threads.
//
// Shape after Boost.Beast's chat-multi example: a listener accepts, an HTTP
// session does the TLS handshake and serves requests until one upgrades to a
// WebSocket session. Beast and Asio stay behind this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "server/config.h"
#include "server/frame_handler.h"
#include "server/http_route.h"
#include "server/metrics.h"
#include "server/self_signed_certificate.h"

namespace parley::server {

enum class ServerError {
  kTlsSetup,          // the certificate or key cannot be used
  kBadListenAddress,  // listen_address is not an IP address
  kBindFailed,        // the address/port cannot be bound (in use, no permission)
  kRouteConflict,     // a caller route uses /healthz, /metrics or /v1/websocket
  kMissingPart,       // no frame handler or metrics registry
};

// The WebSocket endpoint and the built-in HTTP paths.
inline constexpr const char* kWebSocketPath = "/v1/websocket";
inline constexpr const char* kHealthPath = "/healthz";
inline constexpr const char* kMetricsPath = "/metrics";

struct ServerParts {
  std::shared_ptr<FrameHandler> frame_handler;
  // The transport adds its series here; /metrics renders all of it.
  std::shared_ptr<MetricsRegistry> metrics;
  // Routes besides the built-in ones.
  HttpRouter routes;
  CertificateFiles tls;
};

// A seam for tests, empty in parleyd: when set, each accepted connection's
// peer address (as text) is replaced by what this returns before its address
// key (server/address_key.h) is taken, so that a test on a host with only
// ::1 can present peers from any network. A result that is not an IP address
// leaves the real peer address in place. Called on the accepting thread.
using PeerAddressForTesting = std::function<std::string(const std::string& peer_address)>;

class Server {
 public:
  // Sets up TLS and binds the listening socket (so port() is known at once);
  // accepts nothing until Start().
  static Result<std::unique_ptr<Server>, ServerError> Create(
      const ServerConfig& config, ServerParts parts, PeerAddressForTesting peer_address_for_testing = {});
  ~Server();  // Shutdown() when still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the real one when the configured port is 0).
  std::uint16_t port() const;
  // "address:port" as bound, e.g. "127.0.0.1:40123" or "[::1]:8443".
  std::string local_endpoint() const;

  // Starts the event-loop threads and accepting.
  void Start();

  // Graceful shutdown: stops accepting, turns /healthz to 503, closes every
  // WebSocket with 1001 (going away), lets HTTP requests in progress finish,
  // and waits up to drain_timeout_seconds for all connections to end;
  // connections still open then are cut. Stops the threads. Returns true
  // when every connection ended within the drain timeout. Idempotent; must
  // not be called from the server's own threads.
  bool Shutdown();

  // Start()s, waits for SIGINT or SIGTERM, then Shutdown()s.
  bool RunUntilSignal();

  // Open TCP connections (HTTPS and WebSocket).
  std::size_t open_connections() const;
  bool draining() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::server
