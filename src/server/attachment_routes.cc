#include "server/attachment_routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/random.h"
#include "server/attachment_http.h"
#include "server/request_handling.h"
#include "server/task_pool.h"
#include "store/limits.h"

namespace parley::server {
namespace {

constexpr const char* kUploadContentType = "application/offset+octet-stream";
// Bytes read from the store per piece of a download.
constexpr std::size_t kDownloadPieceBytes = 256 * 1024;
// Pages of expired ids one purge walks at most (the next purge continues).
constexpr std::size_t kMaxPurgePages = 1'000;

HttpResponse Plain(unsigned status, std::string body, std::vector<HttpField> extra = {}) {
  HttpResponse response;
  response.status = status;
  response.fields = {{"content-type", "text/plain; charset=utf-8"}, {"cache-control", "no-store"}};
  for (HttpField& f : extra) response.fields.push_back(std::move(f));
  if (!body.empty()) response.body = std::move(body) + "\n";
  return response;
}

HttpResponse NotFound() { return Plain(404, "no such attachment"); }

// The attachment id in "/v1/attachments/<id>".
std::optional<store::AttachmentId> IdFromPath(const std::string& path) {
  const std::string prefix = std::string(kAttachmentsPath) + "/";
  if (path.size() <= prefix.size()) return std::nullopt;
  auto id = ParseAttachmentId(std::string_view(path).substr(prefix.size()));
  if (!id) return std::nullopt;
  return *id;
}

}  // namespace

struct AttachmentService::Impl : std::enable_shared_from_this<Impl> {
  Impl(store::ServerStore& s, const Clock& c, MetricsRegistry& registry, AttachmentOptions o)
      : store(s),
        clock(c),
        options(std::move(o)),
        bytes_per_account(options.bytes_per_account, c, options.max_tracked_keys,
                          KeysRefusedCounter(registry, "attachment_bytes"), "attachment_bytes"),
        unauthenticated_per_address(options.unauthenticated_per_address, c, options.max_tracked_keys,
                                    KeysRefusedCounter(registry, "attachment_unauthenticated"),
                                    "attachment_unauthenticated"),
        uploads_created(
            registry.AddCounter("parley_attachments_created_total", "Attachment uploads created")),
        uploads_finished(registry.AddCounter("parley_attachments_finished_total",
                                             "Attachment uploads that reached their declared length")),
        bytes_uploaded(registry.AddCounter("parley_attachment_bytes_uploaded_total",
                                           "Attachment bytes durably stored by uploads")),
        bytes_downloaded(registry.AddCounter("parley_attachment_bytes_downloaded_total",
                                             "Attachment bytes sent to downloads")),
        authentication_failures(registry.AddCounter("parley_attachment_authentication_failures_total",
                                                    "Attachment requests with missing or wrong credentials")),
        rate_limit_hits(registry.AddCounter("parley_rate_limit_hits_total",
                                            "Requests refused by a rate limit",
                                            {{"limit", "attachment_bytes"}})),
        unauthenticated_hits(registry.AddCounter("parley_rate_limit_hits_total",
                                                 "Requests refused by a rate limit",
                                                 {{"limit", "attachment_unauthenticated"}})),
        store_errors(registry.AddCounter("parley_attachment_store_errors_total",
                                         "Attachment store calls that failed unexpectedly")),
        purged(registry.AddCounter("parley_attachments_purged_total", "Expired attachments deleted")),
        pool(options.worker_threads) {
    crypto::InitializeCrypto();
  }

  // An upload in progress: bytes arrive on the connection's strand, are
  // collected up to one store chunk and appended on a worker.
  struct Upload {
    std::shared_ptr<HttpExchange> exchange;
    store::AttachmentId id;
    std::uint64_t declared_size = 0;
    // The store offset the buffered bytes go to.
    std::uint64_t offset = 0;
    std::vector<std::uint8_t> buffer;
  };

  struct Download {
    std::shared_ptr<HttpExchange> exchange;
    store::AttachmentId id;
    std::uint64_t offset = 0;
    std::uint64_t end = 0;
  };

  // The authenticated device, or the response that refuses the request.
  struct Authenticated {
    std::optional<store::DeviceAddress> device;
    HttpResponse refusal;
  };

  HttpResponse StoreFailure(store::StoreErrc code, const char* operation) {
    store_errors.Increment();
    spdlog::error("event=store_error operation={} error={}", operation, store::ToString(code));
    return code == store::StoreErrc::kUnavailable ? Plain(503, "the store is unavailable")
                                                  : Plain(500, "the store failed");
  }

  // 401, or 429 once the client's address has run out of failures.
  HttpResponse Unauthorized(const HttpRequestHead& head) {
    authentication_failures.Increment();
    if (const std::uint64_t wait = unauthenticated_per_address.Take(head.address_key); wait != 0) {
      unauthenticated_hits.Increment();
      return Plain(
          429, "too many requests without valid credentials from this address",
          {{"retry-after", std::to_string((wait + 999) / 1000)}, {"retry-after-ms", std::to_string(wait)}});
    }
    return Plain(401, "no such device or wrong credential", {{"www-authenticate", "Basic realm=\"parley\""}});
  }

  Authenticated Authenticate(const HttpRequestHead& head) {
    auto parsed = ParseBasicAuthorization(head.Field("authorization").value_or(""));
    if (!parsed) return {std::nullopt, Unauthorized(head)};
    const store::DeviceAddress address{parsed->account, parsed->device};
    auto device = store.GetDevice(address);
    bool matches = false;
    if (device) {
      matches = CredentialMatches(device->credential, parsed->credential);
    } else if (device.error().code == store::StoreErrc::kNotFound) {
      // Same work as for a known device, so timing does not tell them apart.
      const store::DeviceCredential absent{std::vector<std::uint8_t>(kCredentialSaltSize),
                                           std::vector<std::uint8_t>(32)};
      (void)CredentialMatches(absent, parsed->credential);
    } else {
      return {std::nullopt, StoreFailure(device.error().code, "get_device")};
    }
    if (!matches) return {std::nullopt, Unauthorized(head)};
    auto account = store.GetAccount(parsed->account);
    if (!account) {
      if (account.error().code == store::StoreErrc::kNotFound) return {std::nullopt, Unauthorized(head)};
      return {std::nullopt, StoreFailure(account.error().code, "get_account")};
    }
    if (account->disabled) return {std::nullopt, Plain(403, "the account is disabled")};
    return {address, {}};
  }

  std::int64_t UploadExpiresMs(const store::AttachmentInfo& info) const {
    return info.created_ms + options.upload_expiry_ms;
  }

  bool Expired(const store::AttachmentInfo& info, std::int64_t now) const {
    return info.complete() ? now >= info.created_ms + options.expiry_ms : now >= UploadExpiresMs(info);
  }

  // The attachment if it exists and has not expired; else the response.
  std::optional<store::AttachmentInfo> LiveAttachment(const store::AttachmentId& id, HttpResponse& refusal) {
    auto info = store.GetAttachment(id);
    if (!info) {
      refusal = info.error().code == store::StoreErrc::kNotFound
                    ? NotFound()
                    : StoreFailure(info.error().code, "get_attachment");
      return std::nullopt;
    }
    if (Expired(*info, clock.NowMillis())) {
      refusal = NotFound();
      return std::nullopt;
    }
    return *info;
  }

  // ---- POST /v1/attachments
  void Create(const std::shared_ptr<HttpExchange>& exchange) {
    const HttpRequestHead& head = exchange->request();
    Authenticated auth = Authenticate(head);
    if (!auth.device) return exchange->Respond(std::move(auth.refusal));
    auto length = ParseDecimal(head.Field("upload-length").value_or(""));
    if (!length || *length == 0) {
      return exchange->Respond(Plain(400, "Upload-Length must be a decimal number of at least 1"));
    }
    if (*length > options.max_bytes) {
      return exchange->Respond(Plain(413, "Upload-Length is over the attachment size cap"));
    }
    const TokenBucketConfig& budget = options.bytes_per_account;
    if (budget.capacity > 0 && static_cast<double>(*length) > budget.capacity) {
      return exchange->Respond(Plain(413, "Upload-Length is over the account's attachment byte budget"));
    }
    const std::uint64_t wait =
        bytes_per_account.Take(auth.device->account.value().ToString(), static_cast<double>(*length));
    if (wait != 0) {
      rate_limit_hits.Increment();
      return exchange->Respond(Plain(
          429, "too many attachment bytes from this account",
          {{"retry-after", std::to_string((wait + 999) / 1000)}, {"retry-after-ms", std::to_string(wait)}}));
    }
    // 128 random bits: a collision is not expected, but is retried.
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::array<std::uint8_t, 16> bytes{};
      crypto::RandomBytes(bytes);
      const store::AttachmentId id(bytes);
      auto created = store.CreateAttachment(id, auth.device->account, *length);
      if (!created) {
        switch (created.error().code) {
          case store::StoreErrc::kConflict:
            continue;
          case store::StoreErrc::kLimitExceeded:
            return exchange->Respond(Plain(413, "Upload-Length is over the attachment size cap"));
          case store::StoreErrc::kNotFound:
            return exchange->Respond(Unauthorized(head));
          default:
            return exchange->Respond(StoreFailure(created.error().code, "create_attachment"));
        }
      }
      uploads_created.Increment();
      const std::string location = std::string(kAttachmentsPath) + "/" + AttachmentIdToString(id);
      return exchange->Respond(Plain(201, "created",
                                     {{"location", location},
                                      {"upload-offset", "0"},
                                      {"upload-length", std::to_string(*length)},
                                      {"upload-expires", std::to_string(UploadExpiresMs(*created))}}));
    }
    exchange->Respond(Plain(500, "could not pick an unused attachment id"));
  }

  // ---- PATCH /v1/attachments/<id>
  void Patch(const std::shared_ptr<HttpExchange>& exchange) {
    const HttpRequestHead& head = exchange->request();
    Authenticated auth = Authenticate(head);
    if (!auth.device) return exchange->Respond(std::move(auth.refusal));
    auto id = IdFromPath(head.path);
    if (!id) return exchange->Respond(NotFound());
    if (head.Field("content-type").value_or("") != kUploadContentType) {
      return exchange->Respond(Plain(415, std::string("Content-Type must be ") + kUploadContentType));
    }
    if (!head.content_length) {
      return exchange->Respond(Plain(411, "an upload needs a Content-Length"));
    }
    auto offset = ParseDecimal(head.Field("upload-offset").value_or(""));
    if (!offset) return exchange->Respond(Plain(400, "Upload-Offset must be a decimal number"));
    HttpResponse refusal;
    auto info = LiveAttachment(*id, refusal);
    if (!info) return exchange->Respond(std::move(refusal));
    if (info->owner != auth.device->account) {
      return exchange->Respond(Plain(403, "only the account that created an attachment uploads to it"));
    }
    if (*offset != info->length) {
      return exchange->Respond(Plain(409, "Upload-Offset is not the current offset",
                                     {{"upload-offset", std::to_string(info->length)}}));
    }
    const std::uint64_t body = *head.content_length;
    if (body > info->declared_size - info->length) {
      return exchange->Respond(
          Plain(413, "the body goes past Upload-Length", {{"upload-offset", std::to_string(info->length)}}));
    }
    if (body == 0) {
      return exchange->Respond(Plain(204, "", {{"upload-offset", std::to_string(info->length)}}));
    }
    auto upload = std::make_shared<Upload>();
    upload->exchange = exchange;
    upload->id = *id;
    upload->declared_size = info->declared_size;
    upload->offset = info->length;
    upload->buffer.reserve(store::kMaxAttachmentChunkBytes + kHttpBodyChunkBytes);
    ReadNext(upload);
  }

  void ReadNext(const std::shared_ptr<Upload>& upload) {
    upload->exchange->ReadBody([self = shared_from_this(), upload](HttpBodyChunk chunk) {
      switch (chunk.status) {
        case HttpBodyStatus::kChunk:
          upload->buffer.insert(upload->buffer.end(), chunk.bytes.begin(), chunk.bytes.end());
          if (upload->buffer.size() < store::kMaxAttachmentChunkBytes) {
            self->ReadNext(upload);
          } else {
            self->pool.Submit([self, upload] {
              if (self->Flush(*upload, false)) self->ReadNext(upload);
            });
          }
          return;
        case HttpBodyStatus::kEnd:
          self->pool.Submit([self, upload] {
            if (!self->Flush(*upload, true)) return;
            if (upload->offset == upload->declared_size) self->uploads_finished.Increment();
            upload->exchange->Respond(Plain(204, "", {{"upload-offset", std::to_string(upload->offset)}}));
          });
          return;
        case HttpBodyStatus::kTooLarge:
          upload->exchange->Respond(Plain(413, "the body goes past Upload-Length"));
          return;
        case HttpBodyStatus::kFailed:
          // The connection dropped: keep what arrived, so the client resumes
          // from there (it asks for the offset with HEAD).
          self->pool.Submit([self, upload] {
            if (!self->Flush(*upload, true)) return;
            upload->exchange->Respond(Plain(400, "the request body ended early",
                                            {{"upload-offset", std::to_string(upload->offset)}}));
          });
          return;
      }
    });
  }

  // Appends full store chunks from the buffer (all of it when `all`); on a
  // failure answers the request and returns false.
  bool Flush(Upload& upload, bool all) {
    while (upload.buffer.size() >= store::kMaxAttachmentChunkBytes || (all && !upload.buffer.empty())) {
      const std::size_t n = std::min(upload.buffer.size(), store::kMaxAttachmentChunkBytes);
      auto appended = store.AppendAttachmentChunk(upload.id, upload.offset, Bytes(upload.buffer.data(), n));
      if (!appended) {
        HttpResponse response;
        switch (appended.error().code) {
          case store::StoreErrc::kConflict:
            // Another upload to the same attachment moved the offset.
            response = Plain(409, "Upload-Offset is not the current offset");
            break;
          case store::StoreErrc::kLimitExceeded:
            response = Plain(413, "the body goes past Upload-Length");
            break;
          case store::StoreErrc::kNotFound:
            response = NotFound();
            break;
          default:
            response = StoreFailure(appended.error().code, "append_attachment_chunk");
        }
        upload.exchange->Respond(std::move(response));
        return false;
      }
      bytes_uploaded.Increment(n);
      upload.offset = appended->length;
      upload.buffer.erase(upload.buffer.begin(), upload.buffer.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return true;
  }

  // ---- HEAD /v1/attachments/<id>
  void Head(const std::shared_ptr<HttpExchange>& exchange) {
    const HttpRequestHead& head = exchange->request();
    Authenticated auth = Authenticate(head);
    if (!auth.device) return exchange->Respond(std::move(auth.refusal));
    auto id = IdFromPath(head.path);
    if (!id) return exchange->Respond(NotFound());
    HttpResponse refusal;
    auto info = LiveAttachment(*id, refusal);
    if (!info) return exchange->Respond(std::move(refusal));
    // Another account learns nothing, not even that the id exists.
    if (info->owner != auth.device->account) return exchange->Respond(NotFound());
    std::vector<HttpField> fields = {{"upload-offset", std::to_string(info->length)},
                                     {"upload-length", std::to_string(info->declared_size)}};
    if (!info->complete()) fields.push_back({"upload-expires", std::to_string(UploadExpiresMs(*info))});
    exchange->Respond(Plain(200, "", std::move(fields)));
  }

  // ---- GET /v1/attachments/<id>
  void Get(const std::shared_ptr<HttpExchange>& exchange) {
    const HttpRequestHead& head = exchange->request();
    Authenticated auth = Authenticate(head);
    if (!auth.device) return exchange->Respond(std::move(auth.refusal));
    auto id = IdFromPath(head.path);
    if (!id) return exchange->Respond(NotFound());
    HttpResponse refusal;
    auto info = LiveAttachment(*id, refusal);
    if (!info) return exchange->Respond(std::move(refusal));
    if (!info->complete()) return exchange->Respond(NotFound());
    HttpStreamedResponseHead response;
    response.status = 200;
    response.fields = {{"content-type", "application/octet-stream"},
                       {"cache-control", "no-store"},
                       {"accept-ranges", "bytes"}};
    std::uint64_t from = 0;
    if (auto range = head.Field("range")) {
      // A Range this server does not understand is ignored (RFC 9110 14.2).
      if (auto start = ParseRangeStart(*range)) {
        if (*start >= info->length) {
          return exchange->Respond(Plain(416, "the range starts past the end",
                                         {{"content-range", "bytes */" + std::to_string(info->length)}}));
        }
        from = *start;
        response.status = 206;
        response.fields.push_back({"content-range", "bytes " + std::to_string(from) + "-" +
                                                        std::to_string(info->length - 1) + "/" +
                                                        std::to_string(info->length)});
      }
    }
    response.content_length = info->length - from;
    auto download = std::make_shared<Download>();
    download->exchange = exchange;
    download->id = *id;
    download->offset = from;
    download->end = info->length;
    exchange->StartResponse(std::move(response), [self = shared_from_this(), download](bool ok) {
      if (ok && download->offset < download->end)
        self->pool.Submit([self, download] { self->WriteNext(download); });
    });
  }

  void WriteNext(const std::shared_ptr<Download>& download) {
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(kDownloadPieceBytes, download->end - download->offset));
    auto bytes = store.ReadAttachment(download->id, download->offset, want);
    if (!bytes || bytes->empty()) {
      // Deleted or failing mid-download: the connection is closed when the
      // exchange is dropped with its body incomplete.
      if (!bytes) spdlog::warn("event=attachment_read_failed error={}", store::ToString(bytes.error().code));
      return;
    }
    download->offset += bytes->size();
    bytes_downloaded.Increment(bytes->size());
    download->exchange->WriteBody(std::move(*bytes), [self = shared_from_this(), download](bool ok) {
      if (ok && download->offset < download->end)
        self->pool.Submit([self, download] { self->WriteNext(download); });
    });
  }

  store::StoreResult<std::uint64_t> Purge() {
    std::uint64_t deleted = 0;
    const std::int64_t now = clock.NowMillis();
    for (const bool unfinished : {false, true}) {
      for (std::size_t page = 0; page < kMaxPurgePages; ++page) {
        // "+ 1": expired at exactly created + expiry, as Expired() says.
        auto ids =
            unfinished
                ? store.ListUnfinishedAttachments(now - options.upload_expiry_ms + 1, store::kMaxPageSize)
                : store.ListExpiredAttachments(now - options.expiry_ms + 1, store::kMaxPageSize);
        if (!ids) return tl::unexpected(ids.error());
        if (ids->empty()) break;
        for (const store::AttachmentId& id : *ids) {
          auto gone = store.DeleteAttachment(id);
          if (gone) {
            ++deleted;
            purged.Increment();
          } else if (gone.error().code != store::StoreErrc::kNotFound) {
            return tl::unexpected(gone.error());
          }
        }
      }
    }
    return deleted;
  }

  // Runs `work` for the exchange on a worker; an exception answers 500.
  void OnWorker(std::shared_ptr<HttpExchange> exchange,
                void (Impl::*work)(const std::shared_ptr<HttpExchange>&)) {
    pool.Submit([self = shared_from_this(), exchange = std::move(exchange), work] {
      try {
        ((*self).*work)(exchange);
      } catch (const std::exception& e) {
        spdlog::error("event=attachment_request_failed error=\"{}\"", e.what());
        exchange->Respond(Plain(500, "internal error"));
      }
    });
  }

  store::ServerStore& store;
  const Clock& clock;
  AttachmentOptions options;
  TokenBuckets bytes_per_account;
  TokenBuckets unauthenticated_per_address;
  Counter& uploads_created;
  Counter& uploads_finished;
  Counter& bytes_uploaded;
  Counter& bytes_downloaded;
  Counter& authentication_failures;
  Counter& rate_limit_hits;
  Counter& unauthenticated_hits;
  Counter& store_errors;
  Counter& purged;
  // Last member: its threads stop first.
  TaskPool pool;
};

AttachmentOptions AttachmentOptionsFrom(const ServerConfig& config) {
  AttachmentOptions options;
  options.max_bytes = config.attachments.max_bytes;
  options.upload_expiry_ms = std::int64_t{config.attachments.upload_expiry_hours} * 3600 * 1000;
  options.expiry_ms = std::int64_t{config.attachments.expiry_days} * 24 * 3600 * 1000;
  options.bytes_per_account = config.rate_limits.attachment_bytes_per_account;
  options.unauthenticated_per_address = config.rate_limits.unauthenticated_requests_per_address;
  options.max_tracked_keys = config.rate_limits.max_tracked_keys;
  return options;
}

AttachmentService::AttachmentService(store::ServerStore& store, const Clock& clock, MetricsRegistry& metrics,
                                     AttachmentOptions options)
    : impl_(std::make_shared<Impl>(store, clock, metrics, std::move(options))) {}

AttachmentService::~AttachmentService() { Stop(); }

void AttachmentService::Stop() { impl_->pool.Stop(); }

store::StoreResult<std::uint64_t> AttachmentService::PurgeExpired() { return impl_->Purge(); }

bool AttachmentService::AddRoutes(HttpRouter& router) {
  std::weak_ptr<Impl> weak = impl_;
  auto route = [weak](void (Impl::*work)(const std::shared_ptr<HttpExchange>&)) {
    return [weak, work](std::shared_ptr<HttpExchange> exchange) {
      auto impl = weak.lock();
      if (!impl) return exchange->Respond(Plain(503, "attachments are unavailable"));
      impl->OnWorker(std::move(exchange), work);
    };
  };
  const std::string item = std::string(kAttachmentsPath) + "/";
  return router.Add({{HttpMethod::kPost}, kAttachmentsPath, 0, route(&Impl::Create)}) &&
         router.Add({{HttpMethod::kPatch}, item, impl_->options.max_bytes, route(&Impl::Patch)}) &&
         router.Add({{HttpMethod::kHead}, item, 0, route(&Impl::Head)}) &&
         router.Add({{HttpMethod::kGet}, item, 0, route(&Impl::Get)});
}

}  // namespace parley::server
