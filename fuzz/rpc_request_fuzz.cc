// Parses arbitrary bytes as one request line of `parley daemon` (any local
// process that can open its socket writes them). Whatever parses must be
// answerable: the response serializes and parses back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rpc_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace rpc = parley::rpc;
  const auto parsed = rpc::ParseLine(std::string_view(reinterpret_cast<const char*>(data), size));
  if (parsed.entries.empty() || parsed.entries.size() > rpc::kMaxBatch) std::abort();
  if (!parsed.batch && parsed.entries.size() != 1) std::abort();
  for (const auto& entry : parsed.entries) {
    nlohmann::json response;
    if (const auto* request = std::get_if<rpc::Request>(&entry)) {
      if (!request->params.is_object() || request->method.empty()) std::abort();
      if (!request->id.is_null() && !request->id.is_string() && !request->id.is_number()) std::abort();
      response = rpc::ResultResponse(request->id, request->params);
    } else {
      const auto& error = std::get<rpc::RequestError>(entry);
      response = rpc::ErrorResponse(error.id, error.code, error.message);
    }
    const std::string line = rpc::ToLine(response);
    if (line.empty() || line.back() != '\n') std::abort();
    const auto again = nlohmann::json::parse(line, nullptr, false);
    if (again.is_discarded() || again["jsonrpc"] != "2.0") std::abort();
  }
  return 0;
}
