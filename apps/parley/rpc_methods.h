// The methods of `parley daemon`, over one Client (docs/client.md, "parley
// daemon").
//
// Method names are the command line's words joined by dots ("send",
// "contacts.add", "devices.linkCode"); parameters are named, camelCase, and
// checked strictly: a missing or mistyped parameter, or one the method does
// not know, is an invalid-params error. A failed Client call is an error
// object with code 1000 + its ClientErrc and data {"name": "<errc name>"}.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "client/client.h"
#include "rpc_request.h"

namespace parley::rpc {

// Code of an error object for a failed Client call.
inline constexpr int kClientErrorBase = 1000;

struct MethodOutcome {
  bool ok = true;
  nlohmann::json result;  // when ok
  int code = 0;           // when not ok
  std::string message;
  nlohmann::json data;
};

class MethodTable {
 public:
  // `client` must outlive the table.
  explicit MethodTable(client::Client& client) : client_(client) {}

  // Runs one method. Never throws. Thread-safe (the Client is). `attach`
  // reads a local file, so it is refused unless the request came over the
  // owner-only socket.
  MethodOutcome Call(const std::string& method, const nlohmann::json& params,
                     const CallContext& context = {});

  // Every method name Call knows, sorted.
  static const std::vector<std::string>& MethodNames();

 private:
  client::Client& client_;
};

// The notification an event becomes: method and params (see docs). A
// message carries its attachment's description, read from `client`.
struct EventNotification {
  std::string method;
  nlohmann::json params;
};
EventNotification NotificationFor(client::Client& client, const client::Event& event);

}  // namespace parley::rpc
