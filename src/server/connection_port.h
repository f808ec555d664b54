// ConnectionPort: the transport side of a ConnectionHandle. Implemented by
// the WebSocket session; every method is safe to call from any thread.
// Internal to the server library (handlers use ConnectionHandle).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/connection.h"

namespace parley::server {

class ConnectionPort {
 public:
  virtual ~ConnectionPort() = default;

  // `answer_to` is set when the frame answers a request: the slot is
  // released after the frame is written.
  virtual void Send(std::vector<std::uint8_t> frame,
                    std::optional<std::chrono::steady_clock::time_point> answer_to) = 0;
  virtual void Close(CloseCode code, std::string reason) = 0;
  virtual void ReleaseRequest(std::chrono::steady_clock::time_point received) = 0;
  virtual bool is_open() const = 0;
  virtual std::size_t queued_bytes() const = 0;
  virtual const std::string& address_key() const = 0;
  virtual void RequireAuthentication(std::size_t max_frame_bytes) = 0;
  virtual void MarkAuthenticated() = 0;
};

}  // namespace parley::server
