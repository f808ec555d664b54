#include "server/connection.h"

#include <utility>

#include "server/connection_port.h"

namespace parley::server {

RequestSlot::RequestSlot(std::weak_ptr<ConnectionPort> port, std::chrono::steady_clock::time_point received)
    : port_(std::move(port)), received_(received), held_(true) {}

RequestSlot::RequestSlot(RequestSlot&& other) noexcept
    : port_(std::move(other.port_)), received_(other.received_), held_(std::exchange(other.held_, false)) {}

RequestSlot& RequestSlot::operator=(RequestSlot&& other) noexcept {
  if (this != &other) {
    Release();
    port_ = std::move(other.port_);
    received_ = other.received_;
    held_ = std::exchange(other.held_, false);
  }
  return *this;
}

RequestSlot::~RequestSlot() { Release(); }

void RequestSlot::Release() {
  if (!held_) return;
  held_ = false;
  if (auto port = port_.lock()) port->ReleaseRequest(received_);
  port_.reset();
}

ConnectionHandle::ConnectionHandle(std::weak_ptr<ConnectionPort> port, std::uint64_t id)
    : port_(std::move(port)), id_(id) {}

bool ConnectionHandle::is_open() const {
  auto port = port_.lock();
  return port && port->is_open();
}

std::string ConnectionHandle::address_key() const {
  auto port = port_.lock();
  return port ? port->address_key() : std::string();
}

std::size_t ConnectionHandle::queued_bytes() const {
  auto port = port_.lock();
  return port ? port->queued_bytes() : 0;
}

void ConnectionHandle::Send(std::vector<std::uint8_t> frame) const {
  if (auto port = port_.lock()) port->Send(std::move(frame), std::nullopt);
}

void ConnectionHandle::Send(std::vector<std::uint8_t> frame, RequestSlot slot) const {
  auto port = port_.lock();
  if (!port) return;
  if (!slot.held_) {
    port->Send(std::move(frame), std::nullopt);
    return;
  }
  // The slot now belongs to the queued answer.
  slot.held_ = false;
  port->Send(std::move(frame), slot.received_);
}

void ConnectionHandle::Close(CloseCode code, std::string_view reason) const {
  if (auto port = port_.lock()) {
    port->Close(code, std::string(reason.substr(0, kMaxCloseReasonBytes)));
  }
}

void ConnectionHandle::RequireAuthentication(std::size_t max_frame_bytes) const {
  if (auto port = port_.lock()) port->RequireAuthentication(max_frame_bytes);
}

void ConnectionHandle::MarkAuthenticated() const {
  if (auto port = port_.lock()) port->MarkAuthenticated();
}

}  // namespace parley::server
