// Client::Impl: the connection to parleyd, the receive worker and events.
#include <iterator>
#include <limits>

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
          {
            std::lock_guard lock(drain_mutex_);
            drained_ = false;
          }
          // Not on this thread, which must not wait for a call: owed receipts go from the receive thread.
          WakeWorkerNow(true);
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

wire::AuthenticateRequest Client::Impl::AuthenticationFor(const store::LocalAccount& account) {
  return wire::AuthenticateRequest{account.account, account.device,
                                   wire::DeviceCredential{account.credential}, kPushWindow};
}

ClientStatus Client::Impl::EnsureConnectedLocked() {
  if (!account_) return Fail(ClientErrc::kNotRegistered, "register or link this profile first");
  if (connection_) return {};
  CLIENT_TRY(StartConnection(ServerAddress{account_->host, account_->port, account_->pin},
                             AuthenticationFor(*account_)));
  sync_asked_ = false;
  sync_repeated_ = false;
  RefreshOwnDevicesLocked(OwnDeviceSync::kConnected);
  RotateSignedPreKeyLocked();
  SendOwedReceiptsLocked(true);
  return {};
}

void Client::Impl::RefreshOwnDevicesLocked(OwnDeviceSync why) {
  if (auto devices = ListOwnDevicesLocked()) SyncOwnDevicesLocked(*devices, why);
}

std::optional<std::vector<wire::DeviceInfo>> Client::Impl::ListOwnDevicesLocked() {
  auto response = CallLocked(wire::ListDevicesRequest{});
  if (!response || response->status != ResponseStatus::kOk) return std::nullopt;
  auto devices = std::get<wire::ListDevicesResult>(std::move(response->body)).devices;
  other_devices_.clear();
  for (const auto& d : devices) {
    if (d.id != account_->device) other_devices_.insert(d.id);
  }
  return devices;
}

void Client::Impl::StartExpiryTimer() {
  std::lock_guard lock(expiry_mutex_);
  if (expiry_thread_.joinable()) return;
  stop_expiry_ = false;
  expiry_due_ms_ = 0;
  expiry_thread_ = std::thread([this] { ExpiryLoop(); });
}

void Client::Impl::StopExpiryTimer() {
  {
    std::lock_guard lock(expiry_mutex_);
    stop_expiry_ = true;
  }
  expiry_cv_.notify_all();
  if (expiry_thread_.joinable()) expiry_thread_.join();
}

void Client::Impl::ScheduleExpiry(std::int64_t at_ms) {
  std::lock_guard lock(expiry_mutex_);
  if (at_ms < expiry_due_ms_) {
    expiry_due_ms_ = at_ms;
    expiry_cv_.notify_all();
  }
}

void Client::Impl::ExpiryLoop() {
  // Also the longest wait: a clock that jumps is noticed within it.
  constexpr std::int64_t kLongestWaitMs = 60'000;
  std::unique_lock lock(expiry_mutex_);
  while (!stop_expiry_) {
    const std::int64_t now = clock_.NowMillis();
    if (!processed_purged_at_ms_ || now - *processed_purged_at_ms_ >= kProcessedPurgeEveryMs) {
      processed_purged_at_ms_ = now;
      lock.unlock();
      {
        std::lock_guard client_lock(mutex_);
        if (store_) (void)store_->PurgeProcessed(now - kProcessedKeepMs);
      }
      lock.lock();
      continue;
    }
    if (expiry_due_ms_ > now) {
      expiry_cv_.wait_for(lock, std::chrono::milliseconds(std::min(expiry_due_ms_ - now, kLongestWaitMs)));
      continue;
    }
    expiry_due_ms_ = std::numeric_limits<std::int64_t>::max();
    lock.unlock();
    std::vector<Event> events;
    {
      std::lock_guard client_lock(mutex_);
      (void)ExpireDueLocked(events);
      if (store_) {
        auto next = store_->NextExpiry();
        // A store that failed is tried again after the longest wait.
        if (!next || *next) ScheduleExpiry(next ? **next : now + kLongestWaitMs);
      }
    }
    Emit(events);
    lock.lock();
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

void Client::Impl::WakeWorkerNow(bool connected) {
  {
    std::lock_guard lock(queue_mutex_);
    wake_now_ = true;
    wake_connected_ = wake_connected_ || connected;
  }
  queue_cv_.notify_one();
}

void Client::Impl::WakeWorkerAt(std::chrono::steady_clock::time_point at) {
  {
    std::lock_guard lock(queue_mutex_);
    if (wake_at_ && *wake_at_ <= at) return;
    wake_at_ = at;
  }
  queue_cv_.notify_one();
}

void Client::Impl::WorkerLoop() {
  // The server pushes at most the window this client asked for, so a run is
  // no longer; the bound also keeps the client's lock from being held for
  // long when other pushes (PreKeysLow, QueueEmpty) come along.
  constexpr std::size_t kMaxRun = kPushWindow;
  for (;;) {
    std::vector<wire::Push> pushes;
    bool duties = false;
    bool connected = false;
    {
      std::unique_lock lock(queue_mutex_);
      const auto ready = [this] { return stop_worker_ || !queue_.empty() || wake_now_; };
      if (wake_at_) {
        queue_cv_.wait_until(lock, *wake_at_, ready);
      } else {
        queue_cv_.wait(lock, ready);
      }
      if (stop_worker_) return;
      // A wake asked for later stays when an earlier one comes now.
      const bool due = wake_at_ && std::chrono::steady_clock::now() >= *wake_at_;
      if (wake_now_ || due) {
        duties = true;
        connected = wake_connected_;
        wake_now_ = false;
        wake_connected_ = false;
        if (due) wake_at_.reset();
      }
      while (!queue_.empty() && pushes.size() < kMaxRun) {
        pushes.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!pushes.empty()) HandlePushes(std::move(pushes));
    if (duties) RunWorkerDuties(connected);
  }
}

void Client::Impl::RunWorkerDuties(bool connected) {
  std::lock_guard lock(mutex_);
  if (!account_ || !connection_) return;
  SendOwedReceiptsLocked(connected);
  RepeatSyncRequestLocked();
}

void Client::Impl::HandlePushes(std::vector<wire::Push> pushes) {
  std::vector<Event> events;
  bool drained = false;
  {
    std::unique_lock lock(mutex_);
    if (!account_ || !connection_) return;
    // The queue waiting at authentication was drained by an earlier run
    // (the flag is reset when the connection becomes ready, before its pushes).
    bool drained_before = false;
    {
      std::lock_guard drain_lock(drain_mutex_);
      drained_before = drained_;
    }
    std::vector<std::uint64_t> acks;
    std::vector<std::function<void()>> after_commit;
    bool replenish = false;
    // Returns false when a batch failed: then nothing of the run is stored.
    auto handle_run = [&](bool batched) {
      events.clear();
      acks.clear();
      after_commit.clear();
      run_sends_.clear();
      for (const wire::Push& push : pushes) {
        bool ack = true;
        if (const auto* envelope = std::get_if<wire::Envelope>(&push.body)) {
          std::vector<Event> envelope_events;
          ack = HandleEnvelopeLocked(*envelope, envelope_events, after_commit);
          if (ack) std::move(envelope_events.begin(), envelope_events.end(), std::back_inserter(events));
        } else if (std::holds_alternative<wire::PreKeysLow>(push.body)) {
          replenish = true;
        } else if (std::holds_alternative<wire::QueueEmpty>(push.body)) {
          drained = true;
          own_devices_check_owed_ = true;
        }
        if (ack) acks.push_back(push.id);
      }
      return !batched || static_cast<bool>(store_->CommitBatch());
    };
    // The run in one store batch (one fsync); when that fails, each envelope
    // again in its own transaction, so that one that cannot be stored holds
    // back only itself (it is not acknowledged: the server pushes it again).
    if (!store_->BeginBatch() || !handle_run(true)) handle_run(false);
    if (connection_) {
      for (std::uint64_t id : acks) connection_->Ack(id);
    }
    if (replenish) (void)ReplenishPreKeysLocked();
    for (auto& action : after_commit) action();
    SendOwedRepliesLocked(drained_before || drained);
  }
  if (drained) {
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
