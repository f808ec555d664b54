#include "rpc_request.h"

#include <exception>

namespace parley::rpc {
namespace {

using nlohmann::json;

struct TooDeep : std::exception {};

RequestError Error(const json& id, int code, std::string message) {
  return RequestError{id, code, std::move(message)};
}

Entry ParseEntry(const json& value) {
  if (!value.is_object()) return Error(nullptr, kInvalidRequest, "a request is a JSON object");
  json id = nullptr;
  bool notification = true;
  if (auto it = value.find("id"); it != value.end()) {
    notification = false;
    if (!it->is_string() && !it->is_number() && !it->is_null())
      return Error(nullptr, kInvalidRequest, "id is a string, a number or null");
    id = *it;
  }
  auto version = value.find("jsonrpc");
  if (version == value.end() || !version->is_string() || version->get_ref<const std::string&>() != "2.0")
    return Error(id, kInvalidRequest, "jsonrpc must be \"2.0\"");
  auto method = value.find("method");
  if (method == value.end() || !method->is_string() || method->get_ref<const std::string&>().empty())
    return Error(id, kInvalidRequest, "method is a non-empty string");
  Request request;
  request.id = id;
  request.notification = notification;
  request.method = method->get<std::string>();
  if (auto params = value.find("params"); params != value.end()) {
    if (params->is_array()) return Error(id, kInvalidParams, "params are named (an object), not positional");
    if (!params->is_object()) return Error(id, kInvalidRequest, "params is an object");
    request.params = *params;
  }
  for (const auto& [key, unused] : value.items()) {
    if (key != "jsonrpc" && key != "id" && key != "method" && key != "params")
      return Error(id, kInvalidRequest, "unknown member in the request");
  }
  return request;
}

}  // namespace

ParsedLine ParseLine(std::string_view line) {
  ParsedLine out;
  if (line.size() > kMaxLineBytes) {
    out.entries.push_back(Error(nullptr, kInvalidRequest, "request line too long"));
    return out;
  }
  json value;
  try {
    const json::parser_callback_t limit_depth = [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth) throw TooDeep();
      return true;
    };
    value = json::parse(line.begin(), line.end(), limit_depth);
  } catch (const TooDeep&) {
    out.entries.push_back(Error(nullptr, kInvalidRequest, "request nested too deeply"));
    return out;
  } catch (const std::exception&) {
    out.entries.push_back(Error(nullptr, kParseError, "parse error: not JSON"));
    return out;
  }
  if (value.is_array()) {
    if (value.empty()) {
      out.entries.push_back(Error(nullptr, kInvalidRequest, "empty batch"));
    } else if (value.size() > kMaxBatch) {
      out.entries.push_back(Error(nullptr, kInvalidRequest, "batch too large"));
    } else {
      out.batch = true;
      for (const auto& element : value) out.entries.push_back(ParseEntry(element));
    }
    return out;
  }
  out.entries.push_back(ParseEntry(value));
  return out;
}

json ResultResponse(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json ErrorResponse(const json& id, int code, std::string_view message, const json& data) {
  json error{{"code", code}, {"message", std::string(message)}};
  if (!data.is_null()) error["data"] = data;
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

json Notification(std::string_view method, json params) {
  return json{{"jsonrpc", "2.0"}, {"method", std::string(method)}, {"params", std::move(params)}};
}

std::string ToLine(const json& message) {
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  return line;
}

}  // namespace parley::rpc
