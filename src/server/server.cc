#include "server/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <csignal>
#include <exception>
#include <future>
#include <optional>
#include <thread>

#include "server/address_key.h"
#include "server/listener.h"
#include "server/server_state.h"
#include "server/tls_context.h"

namespace parley::server {

namespace net = boost::asio;

TransportMetrics::TransportMetrics(MetricsRegistry& r)
    : connections_open(r.AddGauge("parley_connections_open", "Open TCP connections (HTTPS and WebSocket).")),
      connections_total(r.AddCounter("parley_connections_total", "TCP connections accepted.")),
      connections_rejected(
          r.AddCounter("parley_connections_rejected_total",
                       "TCP connections closed at once because limits.max_connections was reached.")),
      connections_rejected_per_address(r.AddCounter("parley_connections_rejected_per_address_total",
                                                    "TCP connections closed at once because their address "
                                                    "key (an IPv4 address or an IPv6 prefix, "
                                                    "rate_limits.ipv6_prefix_length) had "
                                                    "limits.max_connections_per_address open.")),
      websockets_open(r.AddGauge("parley_websocket_connections_open", "Open WebSocket connections.")),
      websockets_total(r.AddCounter("parley_websocket_connections_total", "WebSocket handshakes completed.")),
      frames_received(r.AddCounter("parley_frames_received_total", "WebSocket messages received.")),
      frames_sent(r.AddCounter("parley_frames_sent_total", "WebSocket messages sent.")),
      bytes_received(
          r.AddCounter("parley_bytes_received_total", "WebSocket message payload bytes received.")),
      bytes_sent(r.AddCounter("parley_bytes_sent_total", "WebSocket message payload bytes sent.")),
      handler_latency(r.AddHistogram("parley_frame_handler_latency_seconds",
                                     "Time from reading a WebSocket message to writing its answer.",
                                     LatencyBucketsSeconds())),
      http_requests(r.AddCounter("parley_http_requests_total", "HTTP responses written.")),
      closes_slow_reader(r.AddCounter("parley_websocket_closes_total",
                                      "WebSocket connections closed by the server, by reason.",
                                      {{"reason", "slow_reader"}})),
      closes_text_frame(r.AddCounter("parley_websocket_closes_total",
                                     "WebSocket connections closed by the server, by reason.",
                                     {{"reason", "text_frame"}})),
      closes_authentication_timeout(r.AddCounter("parley_websocket_closes_total",
                                                 "WebSocket connections closed by the server, by reason.",
                                                 {{"reason", "authentication_timeout"}})),
      closes_timeout(r.AddCounter("parley_connection_timeouts_total",
                                  "Connections closed for a handshake, request or idle timeout.")),
      tls_handshake_failures(
          r.AddCounter("parley_tls_handshake_failures_total", "TLS handshakes that failed.")) {}

ServerState::ServerState(const ServerConfig& config, std::shared_ptr<FrameHandler> frame_handler,
                         std::shared_ptr<MetricsRegistry> metrics, HttpRouter router,
                         std::shared_ptr<boost::asio::ssl::context> tls,
                         std::function<std::string(const std::string&)> peer_address_for_testing)
    : limits_(config.limits),
      ipv6_prefix_length_(config.rate_limits.ipv6_prefix_length),
      peer_address_for_testing_(std::move(peer_address_for_testing)),
      frame_handler_(std::move(frame_handler)),
      registry_(std::move(metrics)),
      router_(std::move(router)),
      tls_(std::move(tls)),
      metrics_(*registry_) {}

ServerState::~ServerState() = default;

std::string ServerState::AddressKeyOf(const net::ip::address& peer) const {
  if (peer_address_for_testing_) {
    if (auto key = AddressKeyOfText(peer_address_for_testing_(peer.to_string()), ipv6_prefix_length_)) {
      return *key;
    }
  }
  return AddressKey(peer, ipv6_prefix_length_);
}

std::uint64_t ServerState::OpenConnection(const std::string& address_key) {
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= limits_.max_connections) {
    metrics_.connections_rejected.Increment();
    return 0;
  }
  std::size_t& from_address = per_address_[address_key];
  if (from_address >= limits_.max_connections_per_address) {
    metrics_.connections_rejected_per_address.Increment();
    // The key, never the full address (debug: one line per refused connection).
    spdlog::debug("event=connection_rejected_per_address address_key={} open={}", address_key, from_address);
    return 0;
  }
  ++from_address;
  const std::uint64_t id = next_id_++;
  sessions_.emplace(id, Entry{std::weak_ptr<Drainable>(), address_key});
  metrics_.connections_open.Add(1);
  metrics_.connections_total.Increment();
  return id;
}

void ServerState::Track(std::uint64_t id, std::weak_ptr<Drainable> session) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it != sessions_.end()) it->second.session = std::move(session);
}

void ServerState::CloseConnection(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  auto from_address = per_address_.find(it->second.address_key);
  if (from_address != per_address_.end() && --from_address->second == 0) per_address_.erase(from_address);
  sessions_.erase(it);
  metrics_.connections_open.Add(-1);
  if (sessions_.empty()) all_closed_.notify_all();
}

std::size_t ServerState::open_connections() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::vector<std::shared_ptr<Drainable>> ServerState::LiveSessions() {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Drainable>> live;
  live.reserve(sessions_.size());
  for (auto& [id, entry] : sessions_) {
    if (auto session = entry.session.lock()) live.push_back(std::move(session));
  }
  return live;
}

bool ServerState::WaitForNoConnections(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return all_closed_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
}

struct Server::Impl {
  explicit Impl(std::uint32_t thread_count)
      : threads(thread_count), io_context(static_cast<int>(thread_count)) {}

  void RunLoop() {
    for (;;) {
      try {
        io_context.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw: log it and keep serving the other connections.
        spdlog::error("event=event_loop_exception error=\"{}\"", e.what());
      }
    }
  }

  std::uint32_t threads;
  std::uint32_t drain_timeout_seconds = 0;
  net::io_context io_context;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<ServerState> state;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> workers;
  std::string endpoint_text;
  std::mutex mutex;
  bool started = false;
  bool stopped = false;
  bool drained = true;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Shutdown(); }

Result<std::unique_ptr<Server>, ServerError> Server::Create(const ServerConfig& config, ServerParts parts,
                                                            PeerAddressForTesting peer_address_for_testing) {
  if (!parts.frame_handler || !parts.metrics) {
    return Fail(ServerError::kMissingPart, "a frame handler and a metrics registry are required");
  }
  auto tls = MakeServerTlsContext(parts.tls);
  if (!tls) {
    spdlog::error("event=tls_setup_failed error=\"{}\"", tls.error().message);
    return Fail(ServerError::kTlsSetup, "cannot set up TLS with the certificate and key");
  }
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(config.listen_address, ec);
  if (ec) return Fail(ServerError::kBadListenAddress, "server.listen_address is not an IP address");

  if (parts.routes.Find(kWebSocketPath, HttpMethod::kGet).route != nullptr) {
    return Fail(ServerError::kRouteConflict, "a route claims the WebSocket path");
  }
  auto impl = std::make_unique<Impl>(EffectiveThreads(config));
  impl->drain_timeout_seconds = config.drain_timeout_seconds;

  // The built-in routes read the state through a pointer the routes
  // themselves cannot outlive (the state owns the router).
  auto state_slot = std::make_shared<ServerState*>(nullptr);
  const bool health_added = parts.routes.Add(
      {{HttpMethod::kGet, HttpMethod::kHead},
       kHealthPath,
       0,
       [state_slot](std::shared_ptr<HttpExchange> exchange) {
         const bool draining = (*state_slot)->draining();
         exchange->Respond({draining ? 503u : 200u,
                            {{"content-type", "text/plain; charset=utf-8"}, {"cache-control", "no-store"}},
                            draining ? "draining\n" : "ok\n"});
       }});
  std::shared_ptr<MetricsRegistry> registry = parts.metrics;
  const bool metrics_added = parts.routes.Add(
      {{HttpMethod::kGet}, kMetricsPath, 0, [registry](std::shared_ptr<HttpExchange> exchange) {
         exchange->Respond(
             {200,
              {{"content-type", "text/plain; version=0.0.4; charset=utf-8"}, {"cache-control", "no-store"}},
              registry->RenderPrometheus()});
       }});
  if (!health_added || !metrics_added) {
    return Fail(ServerError::kRouteConflict, "a route claims /healthz or /metrics");
  }

  impl->state = std::make_shared<ServerState>(config, std::move(parts.frame_handler),
                                              std::move(parts.metrics), std::move(parts.routes),
                                              std::move(*tls), std::move(peer_address_for_testing));
  *state_slot = impl->state.get();

  impl->listener = std::make_shared<Listener>(impl->io_context, impl->state, impl->threads);
  ec = impl->listener->Open(net::ip::tcp::endpoint(address, config.port));
  if (ec) {
    spdlog::error("event=bind_failed address={} port={} error=\"{}\"", config.listen_address, config.port,
                  ec.message());
    return Fail(ServerError::kBindFailed, "cannot listen on the configured address and port");
  }
  const auto bound = impl->listener->local_endpoint();
  impl->endpoint_text = bound.address().is_v6()
                            ? "[" + bound.address().to_string() + "]:" + std::to_string(bound.port())
                            : bound.address().to_string() + ":" + std::to_string(bound.port());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const { return impl_->listener->local_endpoint().port(); }

std::string Server::local_endpoint() const { return impl_->endpoint_text; }

std::size_t Server::open_connections() const { return impl_->state->open_connections(); }

bool Server::draining() const { return impl_->state->draining(); }

void Server::Start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started) return;
  impl_->started = true;
  impl_->work.emplace(impl_->io_context.get_executor());
  impl_->listener->Start();
  impl_->workers.reserve(impl_->threads);
  for (std::uint32_t i = 0; i < impl_->threads; ++i) {
    impl_->workers.emplace_back([impl = impl_.get()] { impl->RunLoop(); });
  }
  spdlog::info("event=listening address={} threads={}", impl_->endpoint_text, impl_->threads);
}

bool Server::Shutdown() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopped) return impl_->drained;
  impl_->stopped = true;
  if (!impl_->started) return true;

  ServerState& state = *impl_->state;
  state.set_draining();
  spdlog::info("event=draining connections={} timeout_seconds={}", state.open_connections(),
               impl_->drain_timeout_seconds);
  for (const auto& session : state.LiveSessions()) session->BeginDrain();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(impl_->drain_timeout_seconds);
  impl_->drained = state.WaitForNoConnections(deadline);
  impl_->listener->Stop();
  if (!impl_->drained) {
    spdlog::warn("event=drain_timeout connections={}", state.open_connections());
    for (const auto& session : state.LiveSessions()) session->Abort();
    state.WaitForNoConnections(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }
  impl_->work.reset();
  impl_->io_context.stop();
  for (std::thread& t : impl_->workers) t.join();
  impl_->workers.clear();
  spdlog::info("event=stopped drained={}", impl_->drained);
  return impl_->drained;
}

bool Server::RunUntilSignal() {
  net::signal_set signals(impl_->io_context, SIGINT, SIGTERM);
  auto received = std::make_shared<std::promise<int>>();
  signals.async_wait([received](const boost::system::error_code& ec, int signal_number) {
    if (!ec) received->set_value(signal_number);
  });
  Start();
  const int signal_number = received->get_future().get();
  spdlog::info("event=signal_received signal={}", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  return Shutdown();
}

}  // namespace parley::server
