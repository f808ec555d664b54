#include "server/request_frame_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <variant>

#include "crypto/random.h"
#include "server/request_handling.h"
#include "wire/codec.h"

namespace parley::server {
namespace {

// The transport's per-connection context: a reference to the session.
struct SessionContext final : ConnectionContext {
  explicit SessionContext(std::shared_ptr<DeviceSession> s) : session(std::move(s)) {}
  std::shared_ptr<DeviceSession> session;
};

void SendResponse(const ConnectionHandle& connection, const wire::Response& response, RequestSlot slot) {
  auto bytes = wire::EncodeFrame(response);
  if (!bytes) {
    spdlog::error("event=encode_failed connection={} error={}", connection.id(),
                  wire::WireErrcName(bytes.error().code));
    connection.Close(CloseCode::kInternalError, "internal error");
    return;
  }
  connection.Send(std::move(*bytes), std::move(slot));
}

}  // namespace

// ---- Reply ------------------------------------------------------------------

Reply::~Reply() {
  if (!sent_) Error(wire::ResponseStatus::kInternal, "the request was not answered");
}

void Reply::Ok(wire::ResponseBody body) {
  wire::Response response;
  response.status = wire::ResponseStatus::kOk;
  response.body = std::move(body);
  Send(std::move(response));
}

void Reply::Error(wire::ResponseStatus status, const char* detail) {
  wire::Response response;
  response.status = status;
  response.error_detail = detail;
  Send(std::move(response));
}

void Reply::RateLimited(std::uint64_t retry_after_ms, const char* detail) {
  wire::Response response;
  response.status = wire::ResponseStatus::kRateLimited;
  response.error_detail = detail;
  response.retry_after_ms = std::max<std::uint64_t>(retry_after_ms, 1);
  Send(std::move(response));
}

void Reply::Send(wire::Response response) {
  if (sent_) return;
  sent_ = true;
  response.id = request_id_;
  SendResponse(connection_, response, std::move(slot_));
}

// ---- metrics and rate limits -------------------------------------------------

HandlerMetrics::HandlerMetrics(MetricsRegistry& registry)
    : requests(registry.AddCounter("parley_requests_total", "Wire requests handled")),
      messages_queued(registry.AddCounter("parley_messages_queued_total",
                                          "Envelopes durably queued (one per recipient device)")),
      messages_duplicate(
          registry.AddCounter("parley_messages_duplicate_total",
                              "Sends answered from an earlier send with the same client message id")),
      envelopes_pushed(
          registry.AddCounter("parley_envelopes_pushed_total", "Envelope pushes written to devices")),
      envelopes_pushed_direct(registry.AddCounter(
          "parley_envelopes_pushed_direct_total",
          "Envelope pushes handed over by the send that queued them, without a store read")),
      messages_acked(
          registry.AddCounter("parley_messages_acked_total", "Queued envelopes deleted by an ack")),
      authentication_failures(registry.AddCounter("parley_authentication_failures_total",
                                                  "Authentications with a wrong credential")),
      store_errors(registry.AddCounter("parley_store_errors_total", "Store calls that failed unexpectedly")),
      store_latency(registry.AddHistogram("parley_request_store_seconds",
                                          "Time a request spent in its handler, store calls included",
                                          LatencyBucketsSeconds())) {}

ContactBook::PairKey ContactBook::Key(const AccountId& a, const AccountId& b) {
  // Unordered: a reply is not a first contact.
  const bool a_first = a < b;
  const Uuid& first = a_first ? a.value() : b.value();
  const Uuid& second = a_first ? b.value() : a.value();
  PairKey key{};
  for (std::size_t i = 0; i < Uuid::kSize; ++i) {
    key[i] = first.bytes()[i];
    key[Uuid::kSize + i] = second.bytes()[i];
  }
  return key;
}

bool ContactBook::Known(const AccountId& a, const AccountId& b) {
  const std::int64_t now = clock_.NowMillis();
  std::lock_guard lock(mutex_);
  auto it = last_seen_ms_.find(Key(a, b));
  return it != last_seen_ms_.end() && now - it->second < kContactMemoryMs;
}

void ContactBook::Remember(const AccountId& a, const AccountId& b) {
  const std::int64_t now = clock_.NowMillis();
  std::lock_guard lock(mutex_);
  last_seen_ms_[Key(a, b)] = now;
  // Now and then, forget the pairs not seen for the memory period.
  if (++inserts_since_sweep_ >= 4096) {
    inserts_since_sweep_ = 0;
    std::erase_if(last_seen_ms_, [&](const auto& entry) { return now - entry.second >= kContactMemoryMs; });
  }
}

// ---- RequestFrameHandler ------------------------------------------------------

static_assert(kMaxMaxFrameBytes == wire::kMaxFrameSize,
              "limits.max_frame_bytes may not exceed what the request decoder accepts");

RequestHandlerOptions RequestHandlerOptionsFrom(const ServerConfig& config) {
  RequestHandlerOptions options;
  options.registration_mode = config.registration_mode;
  options.max_frame_bytes = config.limits.max_frame_bytes;
  options.rate_limits = config.rate_limits;
  options.worker_threads = config.store_threads;
  options.sends_on_network_thread = EffectiveStoreUrl(config).starts_with("sqlite:");
  options.push_window = config.messages.push_window;
  options.max_push_window = config.messages.max_push_window;
  options.commit_window = std::chrono::microseconds(config.messages.commit_window_us);
  options.prekeys_low_threshold = config.keys.prekeys_low_threshold;
  options.link_code_validity_ms = std::int64_t{config.devices.link_code_validity_seconds} * 1000;
  return options;
}

namespace {

Counter& HitsCounter(MetricsRegistry& registry, const char* limit) {
  return registry.AddCounter("parley_rate_limit_hits_total", "Requests refused by a rate limit",
                             {{"limit", limit}});
}

}  // namespace

RequestFrameHandler::Impl::Impl(store::ServerStore& s, const Clock& c, MetricsRegistry& registry,
                                RequestHandlerOptions o)
    : store(s),
      clock(c),
      options(std::move(o)),
      metrics(registry),
      registrations_per_address(options.rate_limits.registrations_per_address, c,
                                options.rate_limits.max_tracked_keys,
                                KeysRefusedCounter(registry, "registration"), "registration"),
      unauthenticated_per_address(options.rate_limits.unauthenticated_requests_per_address, c,
                                  options.rate_limits.max_tracked_keys,
                                  KeysRefusedCounter(registry, "unauthenticated"), "unauthenticated"),
      requests_per_device(options.rate_limits.requests_per_device, c, options.rate_limits.max_tracked_keys,
                          KeysRefusedCounter(registry, "device"), "device"),
      bundle_fetches_per_account(options.rate_limits.prekey_fetches_per_account, c,
                                 options.rate_limits.max_tracked_keys,
                                 KeysRefusedCounter(registry, "prekey_fetch"), "prekey_fetch"),
      link_codes_per_account(options.rate_limits.link_codes_per_account, c,
                             options.rate_limits.max_tracked_keys, KeysRefusedCounter(registry, "link_code"),
                             "link_code"),
      messages_per_pair(options.rate_limits.messages_per_sender_recipient_pair, c,
                        options.rate_limits.max_tracked_keys, KeysRefusedCounter(registry, "messages"),
                        "messages"),
      first_contacts_per_account(options.rate_limits.first_contacts_per_account, c,
                                 options.rate_limits.max_tracked_keys,
                                 KeysRefusedCounter(registry, "first_contact"), "first_contact"),
      first_contacts_per_new_account(
          options.rate_limits.first_contacts_per_new_account, c, options.rate_limits.max_tracked_keys,
          KeysRefusedCounter(registry, "first_contact_new_account"), "first_contact_new_account"),
      contacts(c),
      rate_limit_hits_registration(HitsCounter(registry, "registration")),
      rate_limit_hits_unauthenticated(HitsCounter(registry, "unauthenticated")),
      rate_limit_hits_device(HitsCounter(registry, "device")),
      rate_limit_hits_bundles(HitsCounter(registry, "prekey_fetch")),
      rate_limit_hits_link_codes(HitsCounter(registry, "link_code")),
      rate_limit_hits_messages(HitsCounter(registry, "messages")),
      rate_limit_hits_first_contact(HitsCounter(registry, "first_contact")),
      writer(s, registry, options.commit_window),
      pool(options.worker_threads) {
  crypto::InitializeCrypto();
}

RequestFrameHandler::RequestFrameHandler(store::ServerStore& store, const Clock& clock,
                                         MetricsRegistry& metrics, RequestHandlerOptions options)
    : impl_(std::make_unique<Impl>(store, clock, metrics, std::move(options))) {}

RequestFrameHandler::~RequestFrameHandler() = default;

void RequestFrameHandler::Stop() {
  // No task can hand the writer more once the pool is stopped; what it holds
  // is then committed and answered.
  impl_->pool.Stop();
  impl_->writer.Stop();
}

const DeviceConnections& RequestFrameHandler::device_connections() const { return impl_->connections; }

store::StoreResult<std::size_t> RequestFrameHandler::CloseDisabledAccounts() {
  return impl_->CloseDisabledAccounts();
}

std::unique_ptr<ConnectionContext> RequestFrameHandler::OnOpen(const ConnectionHandle& connection) {
  auto session = std::make_shared<DeviceSession>(connection, impl_->pool);
  session->push_window = impl_->options.push_window;
  // S1: small frames and a deadline until Register, LinkDevice or
  // Authenticate succeeds (BeginDeviceSession).
  connection.RequireAuthentication(wire::kMaxUnauthenticatedFrameSize);
  {
    std::lock_guard lock(impl_->sessions_mutex);
    impl_->sessions[connection.id()] = session;
  }
  return std::make_unique<SessionContext>(std::move(session));
}

void RequestFrameHandler::OnFrame(const ConnectionHandle& connection, ConnectionContext* context,
                                  std::span<const std::uint8_t> frame, RequestSlot slot) {
  auto* session_context = dynamic_cast<SessionContext*>(context);
  if (session_context == nullptr) return;
  std::shared_ptr<DeviceSession> session = session_context->session;
  // S1: before authentication, refuse large frames before parsing them.
  // The transport already stops reading them (RequireAuthentication); this
  // holds for any transport.
  if (!session->authenticated.load(std::memory_order_acquire) &&
      frame.size() > wire::kMaxUnauthenticatedFrameSize) {
    connection.Close(CloseCode::kMessageTooBig, "frame too large before authentication");
    return;
  }
  auto decoded =
      wire::DecodeClientFrame(frame, std::min(impl_->options.max_frame_bytes, wire::kMaxFrameSize));
  if (!decoded) {
    const std::string_view name = wire::WireErrcName(decoded.error().code);
    if (auto id = wire::PeekRequestId(frame)) {
      wire::Response response;
      response.id = *id;
      response.status = wire::StatusForDecodeError(decoded.error().code);
      response.error_detail = std::string(name);
      SendResponse(connection, response, std::move(slot));
    } else {
      connection.Close(CloseCode::kProtocolError, name);
    }
    return;
  }
  Impl* impl = impl_.get();
  if (auto* request = std::get_if<wire::Request>(&*decoded)) {
    // A send of an authenticated connection with no earlier request still
    // running is checked here and handed straight to the queue writer: no
    // hop through a worker, and still after everything this connection sent
    // before it. Only when the checks read a local store (SQLite).
    const bool is_send = std::holds_alternative<wire::SendMessagesRequest>(request->body) ||
                         std::holds_alternative<wire::SendMultiRecipientRequest>(request->body);
    if (is_send && impl->options.sends_on_network_thread &&
        session->authenticated.load(std::memory_order_acquire) && session->tasks->Idle()) {
      impl->Handle(session, std::move(*request), std::move(slot));
      return;
    }
    // std::function needs a copyable callable: the move-only parts ride in a
    // shared_ptr.
    auto work = std::make_shared<std::pair<wire::Request, RequestSlot>>(std::move(*request), std::move(slot));
    session->tasks->Post(
        [impl, session, work] { impl->Handle(session, std::move(work->first), std::move(work->second)); });
    return;
  }
  // An ack before authentication cannot name a push: ignored.
  if (session->authenticated.load(std::memory_order_acquire)) {
    impl->HandleAck(session, std::get<wire::PushAck>(*decoded).id);
  }
}

void RequestFrameHandler::OnClose(const ConnectionHandle& connection, ConnectionContext* context) {
  auto* session_context = dynamic_cast<SessionContext*>(context);
  if (session_context == nullptr) return;
  {
    std::lock_guard lock(impl_->sessions_mutex);
    impl_->sessions.erase(connection.id());
  }
  std::shared_ptr<DeviceSession> session = session_context->session;
  {
    std::lock_guard lock(session->delivery_mutex);
    session->closed = true;
  }
  Impl* impl = impl_.get();
  session->tasks->Post([impl, session] {
    if (session->device) impl->connections.Unbind(*session->device, session->connection.id());
  });
}

// ---- dispatch -------------------------------------------------------------------

void RequestFrameHandler::Impl::Handle(const std::shared_ptr<DeviceSession>& session_ptr,
                                       wire::Request request, RequestSlot slot) {
  DeviceSession& session = *session_ptr;
  const auto started = std::chrono::steady_clock::now();
  metrics.requests.Increment();
  Reply reply(session.connection, request.id, std::move(slot));
  const bool authenticated = session.device.has_value();
  if (authenticated && session.account_disabled.load(std::memory_order_acquire)) {
    reply.Error(wire::ResponseStatus::kForbidden, "the account is disabled");
    return;
  }
  const bool allowed_before = wire::AllowedBeforeAuthentication(request.body);
  if (!authenticated && !allowed_before) {
    reply.Error(wire::ResponseStatus::kUnauthorized, "authenticate first");
    return;
  }
  if (authenticated && allowed_before && !std::holds_alternative<wire::PingRequest>(request.body)) {
    reply.Error(wire::ResponseStatus::kForbidden, "this connection is already authenticated");
    return;
  }
  if (!authenticated) {
    // S1, S7: everything a connection sends before authenticating counts
    // against its address.
    const std::uint64_t wait = unauthenticated_per_address.Take(session.connection.address_key());
    if (wait != 0) {
      rate_limit_hits_unauthenticated.Increment();
      reply.RateLimited(wait, "too many unauthenticated requests from this address");
      return;
    }
  } else {
    // S7: and everything after, against its device.
    const std::uint64_t wait =
        requests_per_device.Take(MakeDeviceBucketKey(session.device->account, session.device->device));
    if (wait != 0) {
      rate_limit_hits_device.Increment();
      reply.RateLimited(wait, "too many requests from this device");
      return;
    }
  }
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, wire::RegisterRequest>) {
          Register(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::AuthenticateRequest>) {
          if (body.push_window) {
            // The client's window (its batch), up to the operator's cap.
            std::lock_guard lock(session.delivery_mutex);
            session.push_window = std::min<std::size_t>(*body.push_window, options.max_push_window);
          }
          Authenticate(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::CreateLinkCodeRequest>) {
          CreateLinkCode(session, reply);
        } else if constexpr (std::is_same_v<T, wire::LinkDeviceRequest>) {
          LinkDevice(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::ListDevicesRequest>) {
          ListDevices(session, reply);
        } else if constexpr (std::is_same_v<T, wire::UnlinkDeviceRequest>) {
          UnlinkDevice(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::SetUsernameRequest>) {
          SetUsername(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::DeleteAccountRequest>) {
          DeleteAccount(session, reply);
        } else if constexpr (std::is_same_v<T, wire::UploadKeysRequest>) {
          UploadKeys(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::GetPreKeyCountRequest>) {
          GetPreKeyCount(session, reply);
        } else if constexpr (std::is_same_v<T, wire::GetBundlesRequest>) {
          GetBundles(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::LookupUsernameRequest>) {
          LookupUsername(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::GetIdentityKeysRequest>) {
          GetIdentityKeys(session, body, reply);
        } else if constexpr (std::is_same_v<T, wire::SendMessagesRequest>) {
          SendMessages(session, std::move(body), reply);
        } else if constexpr (std::is_same_v<T, wire::SendMultiRecipientRequest>) {
          SendMultiRecipient(session, std::move(body), reply);
        } else {
          static_assert(std::is_same_v<T, wire::PingRequest>);
          reply.Ok();
        }
      },
      request.body);
  metrics.store_latency.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void RequestFrameHandler::Impl::StoreFailure(Reply& reply, store::StoreErrc code, const char* operation) {
  metrics.store_errors.Increment();
  spdlog::error("event=store_error operation={} error={}", operation, store::ToString(code));
  if (code == store::StoreErrc::kUnavailable) {
    reply.Error(wire::ResponseStatus::kUnavailable, "the store is unavailable");
  } else {
    reply.Error(wire::ResponseStatus::kInternal, "the store failed");
  }
}

// ---- delivery -------------------------------------------------------------------

void RequestFrameHandler::Impl::BeginDeviceSession(DeviceSession& session, const DeviceKey& key,
                                                   std::optional<std::int64_t> last_seen_ms) {
  {
    // Before the binding makes the session findable by senders: their
    // pushes wait for the drain (QueueEmpty owed).
    std::lock_guard lock(session.delivery_mutex);
    session.last_pushed_server_id = 0;
    session.queue_empty_owed = true;
  }
  session.device = key;
  session.authenticated.store(true, std::memory_order_release);
  session.connection.MarkAuthenticated();
  if (auto previous = connections.Bind(key, session.connection)) {
    previous->Close(CloseCode::kNormal, "another connection authenticated as this device");
  }
  const store::DeviceAddress address{key.account, key.device};
  if (!last_seen_ms || clock.NowMillis() - *last_seen_ms >= kLastSeenResolutionMs) {
    (void)store.TouchDevice(address);  // last-seen is informational
  }
  Pump(session);
  auto count = store.CountOneTimePreKeys(address);
  if (count && *count < options.prekeys_low_threshold) {
    std::lock_guard lock(session.delivery_mutex);
    if (!session.closed) SendPushLocked(session, wire::PreKeysLow{static_cast<std::uint32_t>(*count)});
  }
}

void RequestFrameHandler::Impl::SendPushLocked(DeviceSession& session, wire::PushBody body) {
  wire::Push push;
  push.id = session.next_push_id++;
  push.body = std::move(body);
  auto bytes = wire::EncodeFrame(push);
  if (!bytes) {
    spdlog::error("event=encode_failed connection={} error={}", session.connection.id(),
                  wire::WireErrcName(bytes.error().code));
    return;
  }
  session.connection.Send(std::move(*bytes));
}

void RequestFrameHandler::Impl::Pump(DeviceSession& session) {
  std::unique_lock lock(session.delivery_mutex);
  if (!session.device || session.closed) return;
  if (session.pump_running) {
    // Pumps run as tasks of the connection's sequence, one at a time; should
    // one find another's claim anyway, that one reads again.
    session.pump_again = true;
    return;
  }
  const store::DeviceAddress address{session.device->account, session.device->device};
  // Claimed under the lock, read without it: an ack (network thread) or a
  // commit's notification (queue writer's thread) never waits for the
  // store. While the claim is held, nothing else pushes envelopes, so the
  // last pushed id the read started from stays the last pushed id.
  session.pump_running = true;
  session.window_was_full = true;
  for (int read = 0;; ++read) {
    if (session.unacked_envelopes.size() >= session.push_window) break;  // the next ack pumps again
    if (read == kMaxReadsPerPump) {
      // More to do: continue in a fresh task, after the connection's
      // requests that queued up meanwhile.
      session.pump_running = false;
      lock.unlock();
      PostPump(session);
      return;
    }
    session.pump_again = false;
    const std::uint64_t after = session.last_pushed_server_id;
    const std::size_t room = session.push_window - session.unacked_envelopes.size();
    lock.unlock();
    auto fetched = store.FetchMessages(address, after, room);
    lock.lock();
    if (session.closed) break;  // what was read stays queued for the next connection
    if (!fetched) {
      metrics.store_errors.Increment();
      spdlog::error("event=store_error operation=fetch_messages error={}",
                    store::ToString(fetched.error().code));
      break;
    }
    if (fetched->empty()) {
      // A commit announced during the read may not have been in it.
      if (session.pump_again) continue;
      session.window_was_full = false;
      if (session.queue_empty_owed) {
        session.queue_empty_owed = false;
        SendPushLocked(session, wire::QueueEmpty{});
      }
      break;
    }
    // Acks during the read only made room: all of it fits.
    for (store::StoredEnvelope& stored : *fetched) PushEnvelopeLocked(session, std::move(stored));
  }
  session.pump_running = false;
}

void RequestFrameHandler::Impl::PostPump(DeviceSession& session) {
  // A task needs an owning reference to the session: the session map holds
  // one while the connection is open (a closed one needs no pump).
  std::shared_ptr<DeviceSession> owner;
  {
    std::lock_guard lock(sessions_mutex);
    auto it = sessions.find(session.connection.id());
    if (it != sessions.end() && it->second.get() == &session) owner = it->second;
  }
  if (owner) owner->tasks->Post([this, owner] { Pump(*owner); });
}

void RequestFrameHandler::Impl::PushEnvelopeLocked(DeviceSession& session, store::StoredEnvelope stored) {
  wire::Envelope envelope;
  envelope.server_id = stored.server_id;
  envelope.server_timestamp_ms = static_cast<std::uint64_t>(stored.server_timestamp_ms);
  envelope.sender = stored.sender.account;
  envelope.sender_device = stored.sender.device;
  envelope.type = stored.type;
  envelope.client_message_id = stored.client_message_id.value();
  envelope.content = std::move(stored.content);
  session.unacked_envelopes[session.next_push_id] = stored.server_id;
  session.last_pushed_server_id = stored.server_id;
  metrics.envelopes_pushed.Increment();
  SendPushLocked(session, std::move(envelope));
}

void RequestFrameHandler::Impl::HandleAck(const std::shared_ptr<DeviceSession>& session,
                                          std::uint64_t push_id) {
  bool pump = false;
  {
    std::lock_guard lock(session->delivery_mutex);
    auto it = session->unacked_envelopes.find(push_id);
    if (it == session->unacked_envelopes.end()) return;  // unknown ids are ignored
    const std::uint64_t server_id = it->second;
    session->unacked_envelopes.erase(it);
    // The delete joins the next group commit. Nothing waits for it: the ack
    // has no answer, and the pusher only reads past the last pushed id.
    writer.Delete({{session->device->account, session->device->device}, server_id},
                  [this](store::StoreResult<bool> found) {
                    if (found) {
                      if (*found) metrics.messages_acked.Increment();
                    } else {
                      metrics.store_errors.Increment();
                      spdlog::error("event=store_error operation=delete_message error={}",
                                    store::ToString(found.error().code));
                    }
                  });
    // Only a pump that stopped at the window can have left envelopes
    // behind; anything queued since then is announced by its send. A pump
    // reading right now looks at the window again after its read.
    pump = session->window_was_full && !session->closed && !session->pump_running;
  }
  if (pump) session->tasks->Post([this, session] { Pump(*session); });
}

std::shared_ptr<DeviceSession> RequestFrameHandler::Impl::FindSession(const DeviceKey& key) {
  auto connection = connections.Find(key);
  if (!connection) return nullptr;
  std::lock_guard lock(sessions_mutex);
  auto it = sessions.find(connection->id());
  return it == sessions.end() ? nullptr : it->second;
}

void RequestFrameHandler::Impl::NotifyQueued(const DeviceKey& key,
                                             std::optional<store::StoredEnvelope> envelope, Bytes content) {
  auto session = FindSession(key);
  if (!session) return;
  {
    // Runs on the queue writer's thread, right after the commit: the
    // envelope is pushed from here, without a store read or a hop through
    // a worker, when it is the next one in its queue.
    std::lock_guard lock(session->delivery_mutex);
    DeviceSession& s = *session;
    if (!s.device || s.closed) return;
    // Already pushed by a pump that read it from the store.
    if (envelope && envelope->server_id <= s.last_pushed_server_id) return;
    if (s.pump_running) {
      // That pump's read may have missed this commit: it reads again.
      s.pump_again = true;
      return;
    }
    // Server ids of one queue are consecutive: the envelope right after the
    // last pushed one has nothing unpushed before it. Anything else (a drain
    // in progress, a full window, a gap) goes through the store.
    if (envelope && !s.queue_empty_owed && envelope->server_id == s.last_pushed_server_id + 1 &&
        s.unacked_envelopes.size() < s.push_window) {
      envelope->content.assign(content.begin(), content.end());
      metrics.envelopes_pushed_direct.Increment();
      PushEnvelopeLocked(s, std::move(*envelope));
      return;
    }
  }
  session->tasks->Post([this, session] { Pump(*session); });
}

void RequestFrameHandler::Impl::NotifyPreKeysLow(const DeviceKey& key, std::uint64_t count) {
  auto session = FindSession(key);
  if (!session) return;
  std::lock_guard lock(session->delivery_mutex);
  if (session->device && !session->closed)
    SendPushLocked(*session, wire::PreKeysLow{static_cast<std::uint32_t>(count)});
}

void RequestFrameHandler::Impl::Disconnect(const DeviceKey& key, const char* reason) {
  if (auto connection = connections.Find(key)) connection->Close(CloseCode::kPolicyViolation, reason);
}

store::StoreResult<std::size_t> RequestFrameHandler::Impl::CloseDisabledAccounts() {
  const std::vector<DeviceKey> keys = connections.Keys();
  auto found = SelectAccountsOf(keys, store::kMaxPageSize, [&](std::span<const AccountId> ids) {
    return store.FindDisabledAccounts(ids);
  });
  if (!found) return tl::unexpected(found.error());
  const std::vector<AccountId>& disabled = *found;
  std::size_t closed = 0;
  for (const DeviceKey& key : keys) {
    if (!std::binary_search(disabled.begin(), disabled.end(), key.account)) continue;
    std::shared_ptr<DeviceSession> session = FindSession(key);
    if (!session) continue;
    session->account_disabled.store(true, std::memory_order_release);
    session->connection.Close(CloseCode::kPolicyViolation, "account disabled");
    ++closed;
  }
  if (closed != 0) spdlog::info("event=disabled_account_connections_closed connections={}", closed);
  return closed;
}

}  // namespace parley::server
