// UnavailableFrameHandler: the FrameHandler parleyd runs while it has no
// request handlers. It speaks the wire protocol honestly: every request that
// decodes is answered with status "unavailable", a request that does not
// decode with the status its decoding error calls for (bad_request,
// too_large), push acks are accepted, and a frame that is not a client frame
// at all closes the connection with 1002 (protocol error).
#pragma once

#include <cstddef>

#include "server/frame_handler.h"

namespace parley::server {

class UnavailableFrameHandler final : public FrameHandler {
 public:
  // `max_frame_bytes`: the configured frame limit (frames arrive no larger).
  explicit UnavailableFrameHandler(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  std::unique_ptr<ConnectionContext> OnOpen(const ConnectionHandle& connection) override;
  void OnFrame(const ConnectionHandle& connection, ConnectionContext* context,
               std::span<const std::uint8_t> frame, RequestSlot slot) override;
  void OnClose(const ConnectionHandle& connection, ConnectionContext* context) override;

 private:
  std::size_t max_frame_bytes_;
};

}  // namespace parley::server
