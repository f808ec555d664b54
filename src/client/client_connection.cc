// Client::Impl: the connection to parleyd, the receive worker and events.
#include "client/client_impl.h"

namespace parley::client {

void Client::Impl::SetEventHandler(std::function<void(const Event&)> handler) {
  std::lock_guard lock(handler_mutex_);
  handler_ = std::move(handler);
}

void Client::Impl::Emit(std::vector<Event>& events) {
  std::function<void(const Event&)> handler;
  {
    std::lock_guard lock(handler_mutex_);
    handler = handler_;
  }
  if (handler) {
    for (const Event& e : events) handler(e);
  }
  events.clear();
}

ClientStatus Client::Impl::StartConnection(const ServerAddress& server,
                                           std::optional<wire::AuthenticateRequest> auth) {
  ConnectionOptions options;
  options.host = server.host;
  options.port = server.port;
  options.pin = server.pin;
  options.reconnect = options_.auto_reconnect;
  auto connection = std::make_unique<Connection>(
      options, [this](wire::Push push) { Enqueue(std::move(push)); },
      [this](bool ready) {
        if (ready) {
          std::lock_guard lock(drain_mutex_);
          drained_ = false;
        }
        std::vector<Event> events;
        events.emplace_back(std::in_place_type<ConnectionChanged>, ConnectionChanged{ready});
        Emit(events);
      });
  connection->SetAuthentication(std::move(auth));
  {
    std::lock_guard lock(drain_mutex_);
    drained_ = false;
  }
  StartWorker();
  if (auto started = connection->Start(); !started) return started;
  connection_ = std::move(connection);
  return {};
}

ClientStatus Client::Impl::Connect() {
  std::unique_lock lock(mutex_);
  return EnsureConnectedLocked();
}

ClientStatus Client::Impl::EnsureConnectedLocked() {
  if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
  if (connection_) return {};
  CLIENT_TRY(StartConnection(ServerAddress{account_->host, account_->port, account_->pin},
                             wire::AuthenticateRequest{account_->account, account_->device,
                                                       wire::DeviceCredential{account_->credential}}));
  RefreshOwnDevicesLocked();
  RotateSignedPreKeyLocked();
  return {};
}

void Client::Impl::RefreshOwnDevicesLocked() {
  auto response = CallLocked(wire::ListDevicesRequest{});
  if (!response || response->status != ResponseStatus::kOk) return;
  other_devices_.clear();
  for (const auto& d : std::get<wire::ListDevicesResult>(response->body).devices) {
    if (d.id != account_->device) other_devices_.insert(d.id);
  }
}

ClientStatus Client::Impl::WaitUntilDrained(std::chrono::milliseconds limit) {
  std::unique_lock lock(drain_mutex_);
  if (!drain_cv_.wait_for(lock, limit, [this] { return drained_; })) {
    return Fail(ClientErrc::kTimeout, "the server's queue was not drained in time");
  }
  return {};
}

void Client::Impl::StopConnectionLocked(std::unique_lock<std::mutex>& lock) {
  auto connection = std::move(connection_);
  lock.unlock();
  if (connection) connection->Stop();
  lock.lock();
}

void Client::Impl::Disconnect() {
  std::unique_ptr<Connection> connection;
  {
    std::lock_guard lock(mutex_);
    connection = std::move(connection_);
  }
  if (connection) connection->Stop();
  StopWorker();
}

bool Client::Impl::connected() {
  std::lock_guard lock(mutex_);
  return connection_ && connection_->ready();
}

ClientResult<wire::Response> Client::Impl::CallLocked(wire::RequestBody body) {
  if (!connection_) return Fail(ClientErrc::kNetwork, "not connected");
  return connection_->Call(std::move(body), options_.request_timeout);
}

void Client::Impl::StartWorker() {
  std::lock_guard lock(queue_mutex_);
  if (worker_.joinable()) return;
  stop_worker_ = false;
  worker_ = std::thread([this] { WorkerLoop(); });
}

void Client::Impl::StopWorker() {
  {
    std::lock_guard lock(queue_mutex_);
    stop_worker_ = true;
    queue_.clear();
  }
  queue_cv_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

void Client::Impl::Enqueue(wire::Push push) {
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(push));
  }
  queue_cv_.notify_one();
}

void Client::Impl::WorkerLoop() {
  for (;;) {
    wire::Push push;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stop_worker_ || !queue_.empty(); });
      if (stop_worker_) return;
      push = std::move(queue_.front());
      queue_.pop_front();
    }
    HandlePush(std::move(push));
  }
}

void Client::Impl::HandlePush(wire::Push push) {
  std::vector<Event> events;
  bool ack = true;
  {
    std::unique_lock lock(mutex_);
    if (!account_ || !connection_) return;
    if (auto* envelope = std::get_if<wire::Envelope>(&push.body)) {
      ack = HandleEnvelopeLocked(*envelope, events);
    } else if (std::holds_alternative<wire::PreKeysLow>(push.body)) {
      (void)ReplenishPreKeysLocked();
    }
    if (ack && connection_) connection_->Ack(push.id);
  }
  if (std::holds_alternative<wire::QueueEmpty>(push.body)) {
    {
      std::lock_guard lock(drain_mutex_);
      drained_ = true;
    }
    drain_cv_.notify_all();
    events.push_back(QueueDrained{});
  }
  Emit(events);
}

}  // namespace parley::client
