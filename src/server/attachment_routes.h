// AttachmentService: encrypted attachment blobs over HTTPS
// (docs/wire-protocol.md section 8) on the server's HTTP routes: create
// (POST), resumable upload (PATCH at an offset), offset query (HEAD) and
// download (GET, resumable with Range), authenticated as a device with
// Basic credentials, and the purge of expired attachments.
//
// Bytes stream through in bounded pieces: an upload holds at most one store
// chunk (kMaxAttachmentChunkBytes) plus one transport chunk in memory, a
// download one read range, whatever the attachment's size. Store calls run
// on the service's own worker threads, never on the network threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/clock.h"
#include "server/config.h"
#include "server/http_route.h"
#include "server/metrics.h"
#include "store/server_store.h"

namespace parley::server {

inline constexpr const char* kAttachmentsPath = "/v1/attachments";

struct AttachmentOptions {
  // The largest Upload-Length accepted (413 above it).
  std::uint64_t max_bytes = 100 * 1024 * 1024;
  // An upload not finished this long after its creation is deleted.
  std::int64_t upload_expiry_ms = std::int64_t{24} * 3600 * 1000;
  // A finished attachment is deleted this long after its creation.
  std::int64_t expiry_ms = std::int64_t{30} * 24 * 3600 * 1000;
  // Bytes an account may declare in new uploads (token bucket).
  TokenBucketConfig bytes_per_account{1024.0 * 1024 * 1024, 4096.0 * 1024 * 1024};
  // Requests without valid credentials per client address (token bucket);
  // past it they get 429 instead of 401.
  TokenBucketConfig unauthenticated_per_address{60, 3600};
  // Keys each of the two limits tracks at most (server/token_buckets.h).
  std::size_t max_tracked_keys = kDefaultRateLimitMaxTrackedKeys;
  // Threads that run store work for attachment requests.
  std::size_t worker_threads = 2;
};

// The attachment options a configuration asks for.
AttachmentOptions AttachmentOptionsFrom(const ServerConfig& config);

class AttachmentService {
 public:
  // `store`, `clock` and `metrics` must outlive the service and the server
  // whose routes it adds.
  AttachmentService(store::ServerStore& store, const Clock& clock, MetricsRegistry& metrics,
                    AttachmentOptions options);
  // Stop(), if not done yet.
  ~AttachmentService();
  AttachmentService(const AttachmentService&) = delete;
  AttachmentService& operator=(const AttachmentService&) = delete;

  // Adds POST /v1/attachments and PATCH, HEAD, GET /v1/attachments/<id>.
  // False when the router already has one of them.
  bool AddRoutes(HttpRouter& router);

  // Stops the workers (requests in progress are cut). Call after
  // Server::Shutdown(), from a thread that is not a worker.
  void Stop();

  // Deletes every attachment past its expiry (unfinished ones
  // upload_expiry_ms after creation, finished ones expiry_ms after), in
  // bounded pages. Returns how many were deleted.
  store::StoreResult<std::uint64_t> PurgeExpired();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::server
