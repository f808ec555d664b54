// ServerState: what the listener and all sessions share (chat-multi's
// shared_state). Internal to the server library.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/config.h"
#include "server/frame_handler.h"
#include "server/http_route.h"
#include "server/metrics.h"

namespace boost::asio::ip {
class address;
}  // namespace boost::asio::ip
namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace parley::server {

// The transport's own series in the registry.
struct TransportMetrics {
  explicit TransportMetrics(MetricsRegistry& registry);

  Gauge& connections_open;
  Counter& connections_total;
  Counter& connections_rejected;
  Counter& connections_rejected_per_address;
  Gauge& websockets_open;
  Counter& websockets_total;
  Counter& frames_received;
  Counter& frames_sent;
  Counter& bytes_received;
  Counter& bytes_sent;
  Histogram& handler_latency;
  Counter& http_requests;
  Counter& closes_slow_reader;
  Counter& closes_text_frame;
  Counter& closes_authentication_timeout;
  Counter& closes_timeout;
  Counter& tls_handshake_failures;
};

// A connection that can be asked to wind down (shutdown) or be cut.
class Drainable {
 public:
  virtual ~Drainable() = default;
  // Close gracefully (WebSocket: close 1001; HTTP: after the current response).
  virtual void BeginDrain() = 0;
  // Close the socket now.
  virtual void Abort() = 0;
};

class ServerState {
 public:
  // `peer_address_for_testing`: Server::Create's seam (may be empty).
  ServerState(const ServerConfig& config, std::shared_ptr<FrameHandler> frame_handler,
              std::shared_ptr<MetricsRegistry> metrics, HttpRouter router,
              std::shared_ptr<boost::asio::ssl::context> tls,
              std::function<std::string(const std::string&)> peer_address_for_testing = {});
  ~ServerState();

  const LimitsConfig& limits() const { return limits_; }
  FrameHandler& frame_handler() { return *frame_handler_; }
  const HttpRouter& router() const { return router_; }
  boost::asio::ssl::context& tls() { return *tls_; }
  MetricsRegistry& registry() { return *registry_; }
  TransportMetrics& metrics() { return metrics_; }

  bool draining() const { return draining_.load(std::memory_order_acquire); }
  void set_draining() { draining_.store(true, std::memory_order_release); }

  // The address key (server/address_key.h, with the configured
  // rate_limits.ipv6_prefix_length) of a peer at `peer`: what every
  // per-address control counts it under and what logs show of it.
  std::string AddressKeyOf(const boost::asio::ip::address& peer) const;

  // Counts a new TCP connection from `address_key` (AddressKeyOf the peer)
  // and returns its id; 0 when at max_connections or at
  // max_connections_per_address for `address_key` (counted in the metrics;
  // the caller closes the socket).
  std::uint64_t OpenConnection(const std::string& address_key);
  // Records which object serves connection `id` (replacing the previous one
  // when an HTTP session upgrades to a WebSocket session).
  void Track(std::uint64_t id, std::weak_ptr<Drainable> session);
  // The connection ended.
  void CloseConnection(std::uint64_t id);
  std::size_t open_connections() const;

  // Every live session, for shutdown.
  std::vector<std::shared_ptr<Drainable>> LiveSessions();
  // Waits until no connection is open or `deadline` passes; true if none is open.
  bool WaitForNoConnections(std::chrono::steady_clock::time_point deadline);

 private:
  LimitsConfig limits_;
  unsigned ipv6_prefix_length_;
  std::function<std::string(const std::string&)> peer_address_for_testing_;
  std::shared_ptr<FrameHandler> frame_handler_;
  std::shared_ptr<MetricsRegistry> registry_;
  HttpRouter router_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  TransportMetrics metrics_;
  std::atomic<bool> draining_{false};

  mutable std::mutex mutex_;
  std::condition_variable all_closed_;
  std::uint64_t next_id_ = 1;
  struct Entry {
    std::weak_ptr<Drainable> session;
    std::string address_key;
  };
  std::unordered_map<std::uint64_t, Entry> sessions_;
  // Open connections per address key (only keys with one or more).
  std::unordered_map<std::string, std::size_t> per_address_;
};

// Owns one connection's place in ServerState: closes it when destroyed.
// Moves from the HTTP session to the WebSocket session on upgrade.
class ConnectionLease {
 public:
  ConnectionLease() = default;
  ConnectionLease(ServerState* state, std::uint64_t id) : state_(state), id_(id) {}
  ConnectionLease(ConnectionLease&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)), id_(std::exchange(other.id_, 0)) {}
  ConnectionLease& operator=(ConnectionLease&&) = delete;
  ConnectionLease(const ConnectionLease&) = delete;
  ~ConnectionLease() {
    if (state_ != nullptr) state_->CloseConnection(id_);
  }
  std::uint64_t id() const { return id_; }

 private:
  ServerState* state_ = nullptr;
  std::uint64_t id_ = 0;
};

}  // namespace parley::server
