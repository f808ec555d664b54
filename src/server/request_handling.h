// Internal to the request handlers (request_frame_handler.cc and the
// *_requests.cc files): per-connection state, the answer helper and the
// handler implementation shared by the request families.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/queue_writer.h"
#include "server/request_frame_handler.h"
#include "server/task_pool.h"
#include "server/token_buckets.h"
#include "wire/messages.h"

namespace parley::server {

// One WebSocket connection as the handlers see it.
struct DeviceSession {
  DeviceSession(const ConnectionHandle& handle, TaskPool& pool)
      : connection(handle), tasks(std::make_shared<TaskSequence>(pool)) {}

  ConnectionHandle connection;
  std::shared_ptr<TaskSequence> tasks;
  // Set once authenticated, after `device`; read by the network thread for
  // the unauthenticated frame-size cap and before it handles a send or an
  // ack itself.
  std::atomic<bool> authenticated{false};

  // Written once, by a task, before `authenticated`; read by anyone who
  // saw `authenticated` (or found the session through DeviceConnections).
  std::optional<DeviceKey> device;
  // Touched only by tasks of `tasks` (one at a time).
  int failed_authentications = 0;
  // Set when the account was found disabled (CloseDisabledAccounts): the
  // connection is closing, and requests it still has waiting are refused.
  std::atomic<bool> account_disabled{false};

  // Delivery state. Pushes are made by the thread that learns of a message
  // (the queue writer after its commit, or a task pumping from the store)
  // and acks are taken on the network thread, so it has its own mutex
  // instead of running every push and ack through `tasks`.
  std::mutex delivery_mutex;
  bool closed = false;
  std::uint64_t next_push_id = 1;
  // Envelope pushes not yet acked: push id -> server id.
  std::map<std::uint64_t, std::uint64_t> unacked_envelopes;
  // The highest server id pushed on this connection.
  std::uint64_t last_pushed_server_id = 0;
  // QueueEmpty is still owed for the drain that began at authentication.
  bool queue_empty_owed = false;
  // The last pump stopped at a full push window: the store may hold more
  // for this device than was pushed, so the next ack pumps again.
  bool window_was_full = false;
  // A pump is reading the store (without this mutex). Meanwhile only that
  // pump pushes envelopes; a commit announced meanwhile sets `pump_again`,
  // and the pump reads again before it ends.
  bool pump_running = false;
  bool pump_again = false;
  // Unacked envelope pushes this connection may have: the server's default,
  // or what the client asked for up to the operator's cap.
  std::size_t push_window = 0;
};

// The answer to one request: sent once, with the request's id, releasing
// its in-flight slot. An answer never sent becomes `internal`, so a code
// path that forgets to answer cannot leave a request hanging.
class Reply {
 public:
  Reply(const ConnectionHandle& connection, std::uint64_t request_id, RequestSlot slot)
      : connection_(connection), request_id_(request_id), slot_(std::move(slot)) {}
  ~Reply();
  // A reply may move into a completion that runs later (a send answered
  // after its group commit); the moved-from one sends nothing.
  Reply(Reply&& other) noexcept
      : connection_(other.connection_),
        request_id_(other.request_id_),
        slot_(std::move(other.slot_)),
        sent_(std::exchange(other.sent_, true)) {}
  Reply& operator=(Reply&&) = delete;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  void Ok(wire::ResponseBody body = std::monostate{});
  // `detail` is a fixed text (never user data).
  void Error(wire::ResponseStatus status, const char* detail);
  void RateLimited(std::uint64_t retry_after_ms, const char* detail);
  void Send(wire::Response response);
  bool sent() const { return sent_; }

 private:
  ConnectionHandle connection_;
  std::uint64_t request_id_;
  RequestSlot slot_;
  bool sent_ = false;
};

// The handler series in the metrics registry.
struct HandlerMetrics {
  explicit HandlerMetrics(MetricsRegistry& registry);

  Counter& requests;
  Counter& messages_queued;
  Counter& messages_duplicate;
  Counter& envelopes_pushed;
  // Of those, pushed straight from a send, without reading the store.
  Counter& envelopes_pushed_direct;
  Counter& messages_acked;
  Counter& authentication_failures;
  Counter& store_errors;
  Histogram& store_latency;
};

// Which pairs of accounts have exchanged messages (either direction), for
// the first-contact limit: a send to an account outside this book is a first
// contact. In memory, like the token buckets; a pair not seen for
// kContactMemoryMs is forgotten, so the book stays bounded by the pairs
// active in that time.
class ContactBook {
 public:
  static constexpr std::int64_t kContactMemoryMs = std::int64_t{30} * 24 * 3600 * 1000;

  explicit ContactBook(const Clock& clock) : clock_(clock) {}
  bool Known(const AccountId& a, const AccountId& b);
  void Remember(const AccountId& a, const AccountId& b);

 private:
  // The two account ids, smaller first: one key per unordered pair.
  using PairKey = std::array<std::uint8_t, 2 * Uuid::kSize>;
  struct PairKeyHash {
    std::size_t operator()(const PairKey& key) const noexcept {
      // Account ids are random (version-4 UUIDs): their bytes are a hash.
      std::size_t h = 0;
      for (std::size_t i = 0; i < sizeof(h); ++i) h = h << 8 | (key[i] ^ key[Uuid::kSize + i]);
      return h;
    }
  };
  static PairKey Key(const AccountId& a, const AccountId& b);
  const Clock& clock_;
  std::mutex mutex_;
  std::unordered_map<PairKey, std::int64_t, PairKeyHash> last_seen_ms_;
  std::uint64_t inserts_since_sweep_ = 0;
};

struct RequestFrameHandler::Impl {
  Impl(store::ServerStore& store, const Clock& clock, MetricsRegistry& registry,
       RequestHandlerOptions options);

  // ---- request_frame_handler.cc: dispatch, delivery, connections
  void Handle(const std::shared_ptr<DeviceSession>& session, wire::Request request, RequestSlot slot);
  // Takes an ack on the network thread: the delete joins the next group
  // commit; a pump it makes necessary runs as a task.
  void HandleAck(const std::shared_ptr<DeviceSession>& session, std::uint64_t push_id);
  // Binds the session to `key`, starts draining its queue, checks prekeys.
  // The device's last-seen time is written when `last_seen_ms` (what the
  // store holds) is unknown or older than kLastSeenResolutionMs: a reconnect
  // storm then costs no durable write per connection.
  void BeginDeviceSession(DeviceSession& session, const DeviceKey& key,
                          std::optional<std::int64_t> last_seen_ms = std::nullopt);
  static constexpr std::int64_t kLastSeenResolutionMs = 3600 * 1000;
  // Pushes envelopes queued for the session's device past the last pushed
  // one, up to the push window; then QueueEmpty if owed and nothing is left.
  // Reads the store: runs as a task of the session's sequence, never on a
  // network thread, and never holds the delivery_mutex during a store call
  // (acks and commit notifications take it). At most kMaxReadsPerPump reads,
  // then it continues in a new task.
  void Pump(DeviceSession& session);
  static constexpr int kMaxReadsPerPump = 16;
  // Posts a Pump of the session to its sequence, if it is still open.
  void PostPump(DeviceSession& session);
  // Numbers and queues a push; the session's delivery_mutex is held, so
  // push ids and frames leave in the same order.
  void SendPushLocked(DeviceSession& session, wire::PushBody body);
  std::shared_ptr<DeviceSession> FindSession(const DeviceKey& key);
  // Tells the device's connection (if online) that something was queued for
  // it. With `envelope` (just queued; its content is `content`), the
  // connection pushes it without reading the store when it is the next one
  // in its queue and the push window has room; otherwise it pumps from the
  // store.
  void NotifyQueued(const DeviceKey& key, std::optional<store::StoredEnvelope> envelope, Bytes content = {});
  // Pushes one envelope on the session and records it as unacked
  // (delivery_mutex held).
  void PushEnvelopeLocked(DeviceSession& session, store::StoredEnvelope stored);
  // Pushes PreKeysLow to the device's connection, if online.
  void NotifyPreKeysLow(const DeviceKey& key, std::uint64_t count);
  // Closes the device's connection, if online.
  void Disconnect(const DeviceKey& key, const char* reason);
  // RequestFrameHandler::CloseDisabledAccounts.
  store::StoreResult<std::size_t> CloseDisabledAccounts();
  // Answers a failed store call: unavailable or internal (logged, counted).
  void StoreFailure(Reply& reply, store::StoreErrc code, const char* operation);

  // ---- account_requests.cc
  void Register(DeviceSession& session, const wire::RegisterRequest& request, Reply& reply);
  void Authenticate(DeviceSession& session, const wire::AuthenticateRequest& request, Reply& reply);
  void CreateLinkCode(DeviceSession& session, Reply& reply);
  void LinkDevice(DeviceSession& session, const wire::LinkDeviceRequest& request, Reply& reply);
  void ListDevices(DeviceSession& session, Reply& reply);
  void UnlinkDevice(DeviceSession& session, const wire::UnlinkDeviceRequest& request, Reply& reply);
  void SetUsername(DeviceSession& session, const wire::SetUsernameRequest& request, Reply& reply);
  void DeleteAccount(DeviceSession& session, Reply& reply);

  // ---- key_requests.cc
  void UploadKeys(DeviceSession& session, const wire::UploadKeysRequest& request, Reply& reply);
  void GetPreKeyCount(DeviceSession& session, Reply& reply);
  void GetBundles(DeviceSession& session, const wire::GetBundlesRequest& request, Reply& reply);
  // A username's account id, no keys: limited with the bundle fetches (both
  // tell whether a username exists).
  void LookupUsername(DeviceSession& session, const wire::LookupUsernameRequest& request, Reply& reply);
  // The stored identity keys of the target's devices; uses up no prekey.
  // Limited with the bundle fetches (a username target tells whether it
  // exists).
  void GetIdentityKeys(DeviceSession& session, const wire::GetIdentityKeysRequest& request, Reply& reply);
  // Takes one of the requesting account's prekey fetches (the budget that
  // bundle fetches, username lookups and identity key fetches share); false
  // when none is left (answered rate_limited, `what` as the detail).
  bool TakePreKeyFetch(DeviceSession& session, Reply& reply, const char* what);
  // The account a username names; nullopt when it was answered instead
  // (not_found, or a store failure).
  std::optional<AccountId> AccountOfUsername(const std::string& username, Reply& reply);
  // The account a GetBundles or GetIdentityKeys target names, and its
  // devices; nullopt when it was answered instead (not_found, or a store
  // failure).
  std::optional<std::pair<AccountId, std::vector<store::DeviceRecord>>> TargetDevices(
      const std::variant<AccountId, std::string>& target, Reply& reply);

  // ---- message_requests.cc
  // Both answer after the group commit (QueueWriter), not before they return.
  void SendMessages(DeviceSession& session, wire::SendMessagesRequest request, Reply& reply);
  void SendMultiRecipient(DeviceSession& session, wire::SendMultiRecipientRequest request, Reply& reply);

  store::ServerStore& store;
  const Clock& clock;
  RequestHandlerOptions options;
  HandlerMetrics metrics;
  DeviceConnections connections;
  TokenBuckets registrations_per_address;
  TokenBuckets unauthenticated_per_address;
  DeviceTokenBuckets requests_per_device;
  TokenBuckets bundle_fetches_per_account;
  TokenBuckets link_codes_per_account;
  PairTokenBuckets messages_per_pair;
  TokenBuckets first_contacts_per_account;
  TokenBuckets first_contacts_per_new_account;
  ContactBook contacts;
  Counter& rate_limit_hits_registration;
  Counter& rate_limit_hits_unauthenticated;
  Counter& rate_limit_hits_device;
  Counter& rate_limit_hits_bundles;
  Counter& rate_limit_hits_link_codes;
  Counter& rate_limit_hits_messages;
  Counter& rate_limit_hits_first_contact;

  std::mutex sessions_mutex;
  std::unordered_map<std::uint64_t, std::shared_ptr<DeviceSession>> sessions;  // by connection id

  // Commits the sends and acks of all connections in groups. Destroyed
  // (drained, joined) after the pool, before what its completions use.
  QueueWriter writer;

  // Last member: destroyed (threads joined) first, while everything the
  // tasks use still exists.
  TaskPool pool;
};

// Verifies the signed prekey's signature under the identity key.
bool SignedPreKeyVerifies(const wire::PublicKeyBytes& identity, const wire::SignedPreKey& signed_prekey);

// A new device's keys as the store writes them with the device (Register,
// LinkDevice: one transaction, so no device exists without its keys).
store::NewDeviceKeys NewDeviceKeysFrom(const wire::PublicKeyBytes& identity,
                                       const wire::SignedPreKey& signed_prekey,
                                       const std::vector<wire::OneTimePreKey>& prekeys);

// The random salt stored with each device credential's keyed hash.
inline constexpr std::size_t kCredentialSaltSize = 16;

// A fresh credential, and what the store keeps of it (salt and keyed hash).
struct IssuedCredential {
  wire::DeviceCredential secret;
  store::DeviceCredential stored;
};
IssuedCredential IssueCredential();
// Constant-time check of `credential` against the stored salt and hash.
bool CredentialMatches(const store::DeviceCredential& stored, const wire::DeviceCredential& credential);

}  // namespace parley::server
