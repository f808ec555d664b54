// HTTP routes served beside the WebSocket on the same TLS port.
//
// A route gets an HttpExchange: the request head at once, the body in
// chunks on demand (never buffered whole by the transport, and cut off at
// the route's body limit), and a response either whole or streamed in
// chunks after a head that announces its Content-Length. This is what
// attachment upload and download are built on.
//
// Every HttpExchange method is safe to call from any thread; callbacks run
// on the connection's strand, one at a time. A handler keeps the exchange
// (a shared_ptr) as long as it needs it; an exchange dropped before its
// response is complete gets a 500 response, or its connection is closed if
// the response had already started.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::server {

enum class HttpMethod { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

struct HttpField {
  std::string name;
  std::string value;
};

struct HttpRequestHead {
  HttpMethod method = HttpMethod::kOther;
  // The request target before any '?'.
  std::string path;
  // After the '?', as sent (not decoded); empty when there is none.
  std::string query;
  // Header fields in order; names lower-cased.
  std::vector<HttpField> fields;
  // The Content-Length, when the request has one.
  std::optional<std::uint64_t> content_length;
  // The peer's address key (server/address_key.h: its IPv4 address or IPv6
  // prefix), what per-address limits count it under.
  std::string address_key;

  // The value of the first field named `lower_case_name`.
  std::optional<std::string_view> Field(std::string_view lower_case_name) const;
};

// A response whose body is in memory (small responses). For a HEAD request
// the body is not sent, but its length is announced in Content-Length.
struct HttpResponse {
  unsigned status = 200;
  std::vector<HttpField> fields;
  std::string body;
};

// The head of a response whose body follows in chunks through WriteBody.
// For a HEAD request only the head is sent.
struct HttpStreamedResponseHead {
  unsigned status = 200;
  std::vector<HttpField> fields;
  std::uint64_t content_length = 0;
};

enum class HttpBodyStatus {
  kChunk,     // `bytes` holds the next non-empty piece of the body
  kEnd,       // the body is complete (bytes empty)
  kTooLarge,  // the body exceeds the route's limit; answer 413
  kFailed,    // the connection failed or timed out; nothing more will arrive
};

struct HttpBodyChunk {
  HttpBodyStatus status = HttpBodyStatus::kFailed;
  std::vector<std::uint8_t> bytes;
};

class HttpExchange {
 public:
  virtual ~HttpExchange() = default;

  virtual const HttpRequestHead& request() const = 0;

  // Reads the next chunk of the request body (at most kHttpBodyChunkBytes).
  // One read at a time; `done` runs on the connection's strand.
  virtual void ReadBody(std::function<void(HttpBodyChunk)> done) = 0;

  // Sends a complete response. A response sent before the body was read to
  // its end closes the connection after it.
  virtual void Respond(HttpResponse response) = 0;

  // Starts a streamed response; `done(true)` once its head is written.
  virtual void StartResponse(HttpStreamedResponseHead head, std::function<void(bool ok)> done) = 0;
  // Writes the next body chunk of a streamed response; `done(true)` once
  // written. The chunks must add up to exactly the announced content length;
  // writing past it fails and closes the connection.
  virtual void WriteBody(std::vector<std::uint8_t> chunk, std::function<void(bool ok)> done) = 0;
};

using HttpRouteHandler = std::function<void(std::shared_ptr<HttpExchange> exchange)>;

struct HttpRoute {
  // The methods this route answers; others get 405 with an Allow header.
  std::vector<HttpMethod> methods;
  // An exact path ("/healthz"), or a prefix when it ends in '/'
  // ("/v1/attachments/" matches "/v1/attachments/abc").
  std::string path;
  // The largest request body accepted; nullopt: limits.http_body_limit_bytes.
  std::optional<std::uint64_t> body_limit;
  HttpRouteHandler handler;
};

// The route table. Filled before the server starts, read-only afterwards.
class HttpRouter {
 public:
  // Adds a route. False (and nothing added) when the path is empty, does not
  // start with '/', has no method or handler, or an existing route already
  // has the same path and one of its methods.
  bool Add(HttpRoute route);

  struct Match {
    // The route for the path and method; null when none.
    const HttpRoute* route = nullptr;
    // The methods allowed on the path (for 405); empty when no route has the path.
    std::vector<HttpMethod> allowed;
  };
  // Exact paths win over prefixes; among prefixes, the longest wins.
  Match Find(std::string_view path, HttpMethod method) const;

 private:
  std::vector<HttpRoute> routes_;
};

std::string_view ToString(HttpMethod method);

}  // namespace parley::server
