// JSON-RPC 2.0 requests as `parley daemon` reads them (docs/client.md).
//
// One request (or one batch) per line. The bytes come from any local process
// that can open the daemon's socket, so they are untrusted: the line is
// bounded, its nesting depth is bounded, every parse failure becomes a
// JSON-RPC error object, and nothing here throws.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parley::rpc {

// Longest request line, without its newline: room for a 64 KiB text body
// escaped as \uXXXX throughout, and more.
inline constexpr std::size_t kMaxLineBytes = 1024 * 1024;
// Deepest nesting of arrays and objects in one line.
inline constexpr int kMaxDepth = 16;
// Most requests in one batch.
inline constexpr std::size_t kMaxBatch = 32;

// The standard JSON-RPC 2.0 error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

// A well-formed request. `id` is a string, a number or null; a notification
// (no "id" member) gets no response.
struct Request {
  nlohmann::json id;
  bool notification = false;
  std::string method;
  // Always an object: absent params become {}.
  nlohmann::json params = nlohmann::json::object();
};

// Where a request came from. Only the UNIX socket is owner-only: any local
// user can connect to the TCP listener.
struct CallContext {
  bool owner_only = true;
};

// A request that cannot be served, answered with this error. `id` is the
// request's id when it could be read, else null.
struct RequestError {
  nlohmann::json id;
  int code = kInvalidRequest;
  std::string message;
};

using Entry = std::variant<Request, RequestError>;

// What one line holds: a single entry, or a batch of them. A line that is
// not JSON, is too deep, too long, or an empty or oversized batch is one
// RequestError (with a null id), as JSON-RPC 2.0 prescribes.
struct ParsedLine {
  bool batch = false;
  std::vector<Entry> entries;
};

ParsedLine ParseLine(std::string_view line);

// The response objects.
nlohmann::json ResultResponse(const nlohmann::json& id, nlohmann::json result);
nlohmann::json ErrorResponse(const nlohmann::json& id, int code, std::string_view message,
                             const nlohmann::json& data = nullptr);
nlohmann::json Notification(std::string_view method, nlohmann::json params);

// One line of output: compact JSON; invalid UTF-8 (a peer's message body is
// not checked for it) is replaced, never thrown on.
std::string ToLine(const nlohmann::json& message);

}  // namespace parley::rpc
