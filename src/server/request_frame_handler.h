// RequestFrameHandler: the wire protocol's request handlers (accounts,
// devices, keys, messages) over the server store, as the transport's
// FrameHandler.
//
// Frames are decoded on the network thread (cheap, bounded). Requests run on
// a TaskPool, one TaskSequence per connection, so one connection's requests
// are handled in the order they arrived and the network threads never wait
// for a durable write. The hot path takes fewer hops: a send is checked on
// the network thread when its connection has nothing else in progress (with
// SQLite, whose reads are local) and goes straight to the QueueWriter; after
// the commit the writer's thread answers it and pushes the envelope to an
// online recipient; acks are taken on the network thread. Pushes are
// numbered per connection under the session's delivery mutex; envelopes go
// out in server-id order (the store's queue is the source of truth: anything
// not next in line is pumped from it by a task, which reads the store
// without holding that mutex), at most `push_window` unacked at once, and
// are deleted when acked.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/clock.h"
#include "server/config.h"
#include "server/device_connections.h"
#include "server/frame_handler.h"
#include "server/metrics.h"
#include "store/server_store.h"

namespace parley::server {

struct RequestHandlerOptions {
  RegistrationMode registration_mode = RegistrationMode::kOpen;
  // The transport's frame limit (frames arrive no larger).
  std::size_t max_frame_bytes = kDefaultMaxFrameBytes;
  // Threads that run store work.
  std::size_t worker_threads = 4;
  // Sends of an authenticated connection with nothing else in progress are
  // checked on the network thread (their reads are cheap on a local SQLite
  // file) and handed straight to the queue writer. Off, every request runs
  // on a worker (PostgreSQL: a read is a round trip the event loop should
  // not wait for).
  bool sends_on_network_thread = true;
  // Unacked envelope pushes per connection (docs/wire-protocol.md section 6)
  // unless the client asks for another window in AuthenticateRequest; it
  // gets at most max_push_window.
  std::size_t push_window = 64;
  std::size_t max_push_window = 1'024;
  // The queue writer's commit window (QueueWriter, config messages.commit_window_us).
  std::chrono::microseconds commit_window{kDefaultCommitWindowMicroseconds};
  // PreKeysLow is pushed when a device holds fewer one-time prekeys than this.
  std::uint64_t prekeys_low_threshold = 10;
  // How long a link code stays valid (config devices.link_code_validity_seconds).
  std::int64_t link_code_validity_ms = 10 * 60 * 1000;
  // Wrong credentials in a row on one connection before it is closed (1008).
  int max_failed_authentications = 3;
  // Abuse controls (token buckets).
  RateLimitsConfig rate_limits;
  // Called on a worker after a DeleteAccount request deleted its account
  // (parleyd: ExpiryPurge::NotifyAccountDeleted, so what the store left of
  // the account goes soon). Must not block. Empty: nothing is called.
  std::function<void()> account_deleted;
};

// The handler options a configuration asks for.
RequestHandlerOptions RequestHandlerOptionsFrom(const ServerConfig& config);

class RequestFrameHandler final : public FrameHandler {
 public:
  // `store`, `clock` and `metrics` must outlive the handler. The handler adds
  // its series (messages, pushes, authentication failures, rate-limit hits,
  // store errors) to `metrics`.
  RequestFrameHandler(store::ServerStore& store, const Clock& clock, MetricsRegistry& metrics,
                      RequestHandlerOptions options);
  // Stop(), if not done yet.
  ~RequestFrameHandler() override;
  RequestFrameHandler(const RequestFrameHandler&) = delete;
  RequestFrameHandler& operator=(const RequestFrameHandler&) = delete;

  std::unique_ptr<ConnectionContext> OnOpen(const ConnectionHandle& connection) override;
  void OnFrame(const ConnectionHandle& connection, ConnectionContext* context,
               std::span<const std::uint8_t> frame, RequestSlot slot) override;
  void OnClose(const ConnectionHandle& connection, ConnectionContext* context) override;

  // Stops the workers; work not yet started is dropped (its requests were
  // not answered, so clients retry them). Call it after Server::Shutdown()
  // and before destroying the Server, from a thread that is not a worker:
  // a worker may otherwise drop the last reference to a connection, and
  // with it to the server state that owns this handler.
  void Stop();

  // The authenticated connections, by (account, device).
  const DeviceConnections& device_connections() const;

  // Asks the store which of the connected accounts are disabled (by
  // `parleyd admin disable-account`, maybe in another process) and closes
  // their connections with 1008 "account disabled"; requests those
  // connections still have waiting are answered forbidden. One store call
  // per kMaxPageSize connected accounts (primary-key lookups). Returns the
  // connections closed. Thread-safe; DisabledAccountCheck calls it on a timer.
  store::StoreResult<std::size_t> CloseDisabledAccounts();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::server
