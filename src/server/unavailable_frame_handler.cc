#include "server/unavailable_frame_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

#include "wire/codec.h"

namespace parley::server {
namespace {

void Answer(const ConnectionHandle& connection, RequestSlot slot, std::uint64_t id,
            wire::ResponseStatus status, const char* detail) {
  wire::Response response;
  response.id = id;
  response.status = status;
  response.error_detail = detail;
  auto bytes = wire::EncodeFrame(response);
  if (!bytes) {
    spdlog::error("event=encode_failed connection={} error=\"{}\"", connection.id(), bytes.error().message);
    connection.Close(CloseCode::kInternalError, "internal error");
    return;
  }
  connection.Send(std::move(*bytes), std::move(slot));
}

}  // namespace

std::unique_ptr<ConnectionContext> UnavailableFrameHandler::OnOpen(const ConnectionHandle&) {
  return nullptr;
}

void UnavailableFrameHandler::OnFrame(const ConnectionHandle& connection, ConnectionContext*,
                                      std::span<const std::uint8_t> frame, RequestSlot slot) {
  auto decoded = wire::DecodeClientFrame(frame, std::min(max_frame_bytes_, wire::kMaxFrameSize));
  if (!decoded) {
    if (auto id = wire::PeekRequestId(frame)) {
      Answer(connection, std::move(slot), *id, wire::StatusForDecodeError(decoded.error().code),
             "the request did not decode");
    } else {
      connection.Close(CloseCode::kProtocolError, "malformed frame");
    }
    return;
  }
  if (const auto* request = std::get_if<wire::Request>(&*decoded)) {
    Answer(connection, std::move(slot), request->id, wire::ResponseStatus::kUnavailable,
           "this server has no request handlers yet");
  }
  // A PushAck needs no answer; dropping the slot releases it.
}

void UnavailableFrameHandler::OnClose(const ConnectionHandle&, ConnectionContext*) {}

}  // namespace parley::server
