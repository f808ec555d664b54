// Client::Impl, the client's private implementation (src/client only).
//
// Its definitions are split by concern: client_account.cc (register, link,
// devices, keys), client_connection.cc (connection, receive worker, events),
// client_receive.cc (decrypting and applying envelopes), client_send.cc
// (sessions, sending, message actions), client_contacts.cc (contacts,
// verification, history). Methods named ...Locked expect mutex_ held.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "base/hex.h"
#include "client/backoff.h"
#include "client/client.h"
#include "client/connection.h"
#include "client/content.h"
#include "crypto/random.h"
#include "protocol/fingerprint.h"
#include "protocol/group_cipher.h"
#include "protocol/group_session_builder.h"
#include "protocol/prekey.h"
#include "protocol/prekey_bundle.h"
#include "protocol/prekey_signal_message.h"
#include "protocol/session_builder.h"
#include "protocol/session_cipher.h"
#include "store/client_store.h"
#include "wire/text.h"

namespace parley::client {

using protocol::ProtocolAddress;
using protocol::ProtocolErrc;
using wire::ResponseStatus;

inline constexpr std::uint32_t kPreKeyBatch = 100;
inline constexpr std::int64_t kSignedPreKeyRotationMs = 7LL * 24 * 3600 * 1000;
// Old signed prekeys stay this long after a rotation, for messages in flight.
inline constexpr std::int64_t kSignedPreKeyGraceMs = 30LL * 24 * 3600 * 1000;
inline constexpr int kSendAttempts = 4;
// The push window the client asks for when it authenticates, and the most
// pushes it stores in one batch (one transaction and one fsync). It bounds
// the envelopes held in memory at once (each at most 256 KiB of content).
inline constexpr std::uint32_t kPushWindow = 512;
// The server keeps an unacknowledged envelope 30 days (docs/wire-protocol.md,
// message expiry), so a redelivery comes within that; a day more for clocks.
inline constexpr std::int64_t kProcessedKeepMs = 31LL * 24 * 3600 * 1000;
inline constexpr std::int64_t kProcessedPurgeEveryMs = 3600LL * 1000;
// Receipts owed to one peer that the store keeps (docs/client.md,
// "Receipts"); past it the oldest are dropped.
inline constexpr std::size_t kMaxOwedReceiptsPerPeer = 10'000;
// Owed receipts read from the store at once, and the most such rounds one
// attempt sends (the rest follow at once on the receive thread).
inline constexpr std::size_t kOwedReceiptsPerRound = 1'000;
inline constexpr int kOwedReceiptRounds = 10;
// A linked device's sync request is answered by the primary alone; asked
// again this long after the first ask without an answer, it is marked for
// any of our devices that holds the account's state (docs/client.md).
inline constexpr std::int64_t kSyncRepeatAfterMs = 5'000;

// Map the lower layers' errors to the client's.
tl::unexpected<ClientError> StoreFailed(const Error<store::ClientStoreErrc>& e);
tl::unexpected<ClientError> ProtocolFailed(const Error<ProtocolErrc>& e);
tl::unexpected<ClientError> StatusFailed(const wire::Response& r);

#define CLIENT_TRY_STORE(expr)                                     \
  do {                                                             \
    if (auto client_store_status = (expr); !client_store_status) { \
      return StoreFailed(client_store_status.error());             \
    }                                                              \
  } while (false)

#define CLIENT_CONCAT_INNER(a, b) a##b
#define CLIENT_CONCAT(a, b) CLIENT_CONCAT_INNER(a, b)
#define CLIENT_ASSIGN_STORE(var, expr)                                   \
  auto CLIENT_CONCAT(client_result_, __LINE__) = (expr);                 \
  if (!CLIENT_CONCAT(client_result_, __LINE__)) {                        \
    return StoreFailed(CLIENT_CONCAT(client_result_, __LINE__).error()); \
  }                                                                      \
  auto& var = *CLIENT_CONCAT(client_result_, __LINE__)

#define CLIENT_ASSIGN(var, expr)                                           \
  auto CLIENT_CONCAT(client_value_, __LINE__) = (expr);                    \
  if (!CLIENT_CONCAT(client_value_, __LINE__)) {                           \
    return tl::unexpected(CLIENT_CONCAT(client_value_, __LINE__).error()); \
  }                                                                        \
  auto& var = *CLIENT_CONCAT(client_value_, __LINE__)

#define CLIENT_TRY(expr)                               \
  do {                                                 \
    if (auto client_status = (expr); !client_status) { \
      return tl::unexpected(client_status.error());    \
    }                                                  \
  } while (false)

// An account id in its canonical UUID form: the protocol address name and
// the 1:1 conversation id.
std::string AccountName(const AccountId& account);
wire::SignedPreKey WireSignedPreKey(const protocol::SignedPreKeyRecord& r);
std::vector<wire::OneTimePreKey> WirePreKeys(const std::vector<protocol::PreKeyRecord>& records);
ContentId RandomId(Rng& rng);

class Client::Impl {
 public:
  explicit Impl(ClientOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : system_clock_),
        rng_(options_.rng != nullptr ? *options_.rng : system_rng_) {}

  ~Impl() {
    Disconnect();
    StopExpiryTimer();
  }

  ClientStatus Open();

  // ---- events ----

  void SetEventHandler(std::function<void(const Event&)> handler);
  void Emit(std::vector<Event>& events);

  // ---- account ----

  std::optional<AccountInfo> account();
  std::optional<AccountInfo> InfoLocked() const;

  struct NewDeviceKeys {
    crypto::KeyPair identity;
    RegistrationId registration_id;
    protocol::SignedPreKeyRecord signed_prekey;
    std::vector<protocol::PreKeyRecord> prekeys;
  };

  ClientResult<NewDeviceKeys> MakeDeviceKeys();
  ClientStatus StartConnection(const ServerAddress& server, std::optional<wire::AuthenticateRequest> auth);
  // How this device logs in (with the push window it asks for).
  static wire::AuthenticateRequest AuthenticationFor(const store::LocalAccount& account);
  ClientResult<AccountInfo> Register(const ServerAddress& server, const std::string& username,
                                     const std::string& device_name,
                                     const std::optional<std::string>& invitation);
  ClientResult<AccountInfo> Link(const ServerAddress& server, const std::string& code,
                                 const std::string& device_name);
  // Sends a registration or link request on the connection made for it; on
  // any failure the connection is stopped.
  ClientResult<wire::Response> CallNewDeviceLocked(std::unique_lock<std::mutex>& lock,
                                                   wire::RequestBody body);
  ClientResult<AccountInfo> SaveNewAccount(const ServerAddress& server, const std::string& username,
                                           const AccountId& account, DeviceId device,
                                           const wire::DeviceCredential& credential);
  ClientResult<LinkCode> CreateLinkCode();
  ClientResult<std::vector<DeviceSummary>> ListDevices();
  ClientStatus UnlinkDevice(DeviceId device);
  ClientStatus RequestSync();
  ClientStatus SetUsername(const std::string& username);

  // ---- connection ----

  ClientStatus Connect();
  ClientStatus EnsureConnectedLocked();
  // Why SyncOwnDevicesLocked runs: a device just linked (it asks for the
  // state), on connecting (pending changes only: an answer may wait in the
  // queue), once the queue is drained (the primary sends the state to
  // devices it has not seen; a linked device still waiting asks), devices
  // listed (the primary, as when drained), or to answer a sync request.
  enum class OwnDeviceSync { kLinked, kConnected, kDrained, kListed, kAsked };
  // Lists our devices (other_devices_ follows) and syncs them (SyncOwnDevicesLocked).
  void RefreshOwnDevicesLocked(OwnDeviceSync why);
  // Our account's devices from the server, other_devices_ updated; nullopt when the call failed.
  std::optional<std::vector<wire::DeviceInfo>> ListOwnDevicesLocked();
  void RotateSignedPreKeyLocked();
  ClientStatus ReplenishPreKeysLocked();
  ClientStatus WaitUntilDrained(std::chrono::milliseconds limit);
  void StopConnectionLocked(std::unique_lock<std::mutex>& lock);
  void Disconnect();
  bool connected();
  ClientResult<wire::Response> CallLocked(wire::RequestBody body);

  // ---- receive worker ----

  void StartWorker();
  void StopWorker();
  void Enqueue(wire::Push push);
  void WorkerLoop();
  // Makes the receive thread run its duties (RunWorkerDuties) now, or at
  // `at` (the sooner of the times asked wins); `connected` when the
  // connection has just become ready again.
  void WakeWorkerNow(bool connected);
  void WakeWorkerAt(std::chrono::steady_clock::time_point at);
  // On the receive thread: owed receipts (at once after a reconnect, else
  // when their retry is due) and a linked device's repeated sync request.
  void RunWorkerDuties(bool connected);
  // Handles a run of pushes: their envelopes are stored in one store batch
  // (one fsync), and only after it committed are they acknowledged, their
  // events emitted and their follow-up actions (receipts) run.
  void HandlePushes(std::vector<wire::Push> pushes);

  // Decrypts, stores and applies one envelope in its own transaction.
  // Returns false when it must not be acknowledged (the store could not
  // commit: the server will push it again). `after_commit` collects what
  // must wait until the change is durable.
  bool HandleEnvelopeLocked(const wire::Envelope& envelope, std::vector<Event>& events,
                            std::vector<std::function<void()>>& after_commit);
  void NoteIdentityChangeLocked(const AccountId& account, std::optional<store::Contact>& contact,
                                std::vector<Event>& events);
  protocol::ProtocolStores Stores() { return {*store_, *store_, *store_, *store_}; }

  // The expiry of a message stored now under a timer of `seconds` (0: none);
  // the expiry timer is woken for it.
  std::int64_t ExpiryFor(std::uint32_t seconds);
  MessageId ToMessageId(const ContentId& id) const;
  bool ApplyIncomingLocked(const wire::Envelope& envelope, const Content& content,
                           std::optional<store::Contact>& contact, std::vector<Event>& events,
                           std::vector<std::function<void()>>& after_commit);

  // A copy of what another of our devices sent.
  bool ApplySyncLocked(const wire::Envelope& envelope, const Content& content, std::vector<Event>& events);
  bool PushUpdated(const MessageId& id, std::vector<Event>& events);

  // Shared by 1:1, group and sync copies (client_receive.cc). Each returns
  // false only when the store failed.
  // The stored form of a received data message (ours when `outgoing`).
  StoredMessage MessageFromData(const wire::Envelope& envelope, const Content& content, const DataBody& body,
                                const ConversationId& conversation, bool outgoing);
  bool ApplyReactionLocked(const AccountId& from, const ReactionBody& body,
                           const ConversationId& conversation, std::vector<Event>& events);
  // An edit (`text` set) or delete-for-everyone, taken only from the
  // message's author and only in its own conversation.
  bool ApplyAuthorChangeLocked(const AccountId& from, const ContentId& target, const std::string* text,
                               const ConversationId& conversation, std::vector<Event>& events);
  // A receipt from `from` for our messages in the conversation; with
  // `group`, the status moves once every other member sent it.
  bool ApplyReceiptLocked(const AccountId& from, const ReceiptBody& body, const ConversationId& conversation,
                          const store::Group* group, std::vector<Event>& events);
  // Inside the transaction that stores a message: a delivery receipt for it
  // to its sender alone (with the group's id for a group message), owed in
  // the store (a failure there fails the transaction's commit); after the
  // commit SendOwedReceiptsLocked sends one receipt per sender and
  // conversation for the whole run.
  void QueueDeliveryReceipt(std::vector<std::function<void()>>& after_commit, const AccountId& to,
                            const ContentId& message, const std::optional<GroupId>& group);
  // After a stored run: its owed receipts and, once the queue that was
  // waiting at connect is drained (`drained`), one answer to the sync
  // requests held so far (an answer another device gave may be queued
  // behind them), the primary's state for devices it has not seen, and a
  // waiting linked device's request.
  void SendOwedRepliesLocked(bool drained);
  // Sends the receipts the store holds as owed (kMaxReceiptTargets message
  // ids per receipt, one per peer, conversation and kind) and deletes each
  // once parleyd took it. Nothing while the connection is not ready (the
  // next connect sends them); after a failure the receive thread tries
  // again with backoff. `now` ignores a backoff in progress.
  void SendOwedReceiptsLocked(bool now = false);
  // Sends owed receipts (at most kOwedReceiptsPerRound, as the store gives
  // them: by send id) and deletes those sent in one commit; false when one
  // could not be sent (it stays owed, as do those after it).
  bool SendOwedReceiptBatchesLocked(const std::vector<store::OwedReceipt>& owed);
  // The sends receipts are owed in: per peer, conversation, kind and
  // destination, the id of the open one and how many receipts it carries.
  using OwedSends = std::map<std::tuple<AccountId, std::optional<GroupId>, MessageStatus, bool>,
                             std::pair<std::array<std::uint8_t, 16>, std::size_t>>;
  // Gives `owed` the id of its open send in `sends`, or of a new one when
  // there is none or it is full (kMaxReceiptTargets).
  void AssignOwedSendLocked(store::OwedReceipt& owed, OwedSends& sends);
  void RetryOwedReceiptsLaterLocked();
  // The read receipts a conversation's newly read messages owe (none to a
  // request, a blocked contact or a request group): one to each message's
  // sender and a copy for our own devices.
  ClientResult<std::vector<store::OwedReceipt>> ReadReceiptsOwedLocked(const ConversationId& conversation,
                                                                       const std::vector<MessageId>& ids);
  // Messages another of our devices read.
  bool MarkSeenElsewhereLocked(const ReceiptBody& body, const ConversationId& conversation);

  // A request's sender states its username; it is shown only when the
  // server resolves that username to the same account.
  void ConfirmUsernameLocked(const AccountId& sender, const std::string& claimed);

  // ---- sending ----

  // Resolves a peer (username or account id) to an account, looking a
  // username up on the server when it is not a contact yet.
  ClientResult<store::Contact> ResolvePeerLocked(const std::string& peer, bool create);

  // Starts sessions from bundles. A changed identity is taken for an
  // unverified contact (with a warning) and refused for a verified one.
  ClientStatus ProcessBundlesLocked(const AccountId& account, const std::vector<wire::DeviceBundle>& bundles,
                                    std::optional<store::Contact>& contact);
  ClientStatus FetchBundlesLocked(const AccountId& account, std::optional<DeviceId> device,
                                  std::optional<store::Contact>& contact);
  // Stores the identity keys parleyd holds for the account's devices (or one
  // device), trusted on first use with the rules of a bundle fetch, without
  // starting a session or using up any of the owner's one-time prekeys
  // (GetIdentityKeys).
  ClientStatus FetchIdentityKeysLocked(const AccountId& account, std::optional<DeviceId> device,
                                       std::optional<store::Contact>& contact);
  // A device's identity is not the one we trust: takes the new one, marks the
  // contact's identity changed and queues IdentityChanged; kUntrustedIdentity
  // when the contact was verified (the user must verify again).
  ClientStatus TakeChangedIdentityLocked(const AccountId& account, const ProtocolAddress& address,
                                         const crypto::PublicKey& key,
                                         std::optional<store::Contact>& contact);

  // Encrypts plaintext for every device of `account` we have a session with
  // (except this device) and sends it, repairing the device list as the
  // server asks. With `sync`, `account` is our own.
  // `send_id` is the client_message_id to use (a retry of a send whose
  // answer may have been lost); none: a fresh one.
  ClientStatus SendToAccountLocked(const AccountId& account, Bytes plaintext, bool sync,
                                   const std::optional<wire::ClientMessageId>& send_id = std::nullopt);

  // Repairs our view of an account's devices after the server's
  // mismatched-devices reply: extra and stale devices' sessions go, missing
  // and stale ones start from fresh bundles. True when a device is new to us.
  ClientResult<bool> RepairDevicesLocked(const AccountId& account, const wire::MismatchedDevices& mismatch,
                                         std::optional<store::Contact>& contact, bool sync);
  // Sends content to a peer and, when `sync_copy`, to our other devices;
  // `send_id`, when given, is the sends' client message id (a retry of a
  // send parleyd may have taken already).
  ClientStatus SendContentLocked(const AccountId& to, Content content, bool sync_copy,
                                 const std::optional<wire::ClientMessageId>& send_id = std::nullopt);
  ClientStatus SendSyncLocked(const AccountId& destination, Content content,
                              const std::optional<wire::ClientMessageId>& send_id = std::nullopt);
  ClientStatus CheckSendableLocked(const store::Contact& contact);
  // The peer of a message we are about to send: resolved, sendable (not us,
  // not blocked, not a changed verified identity), and accepted (writing
  // back accepts a request); with the conversation's disappearing timer.
  ClientResult<std::pair<store::Contact, std::uint32_t>> AcceptPeerForSendingLocked(const std::string& peer);
  ClientResult<StoredMessage> SendText(const std::string& peer, const std::string& body,
                                       const std::optional<MessageId>& quote);
  // Stores a new data message of ours in a 1:1 or group conversation (with
  // the conversation's timer; an attachment's pointer kept with it, and
  // `attachment_file` as its local file) and sends it; the stored status
  // says whether the server took it.
  ClientResult<StoredMessage> SendDataLocked(const ConversationId& conversation, DataBody data,
                                             const std::filesystem::path* attachment_file);

  // Sends a body about an existing message of a 1:1 conversation.
  ClientStatus SendAboutLocked(const ConversationId& conversation, ContentBody body, bool sync_copy);
  ClientResult<StoredMessage> OwnMessageLocked(const ConversationId& conversation, const MessageId& id);
  static ContentId ToContentId(const MessageId& id);
  // Stores a new outgoing data message of ours in `conversation` (status
  // kSending) and returns its content, ready to send.
  ClientResult<std::pair<Content, StoredMessage>> StoreOutgoingDataLocked(const ConversationId& conversation,
                                                                          DataBody data);
  ClientStatus React(const ConversationId& conversation, const MessageId& id, const std::string& emoji);
  ClientStatus Edit(const ConversationId& conversation, const MessageId& id, const std::string& body);
  ClientStatus DeleteForEveryone(const ConversationId& conversation, const MessageId& id);
  ClientStatus MarkRead(const ConversationId& conversation);
  ClientStatus SendTyping(const ConversationId& conversation, bool typing);
  ClientStatus SetDisappearingTimer(const ConversationId& conversation, std::uint32_t seconds);
  ClientResult<std::size_t> ExpireMessages();
  ClientStatus DeleteForMe(const MessageId& id);
  // Deletes the messages that are due (bounded per call), with their
  // attachment files; an event for each.
  ClientResult<std::size_t> ExpireDueLocked(std::vector<Event>& events);
  // Marks a message deleted for everyone, removing its downloaded file.
  store::ClientStoreStatus DeleteForEveryoneLocked(const MessageId& id);

  // ---- expiry timer (client_connection.cc) ----
  // A thread of the client's own that deletes messages when they are due,
  // waking at the soonest expiry (and at least every minute), and once an
  // hour forgets processed-envelope marks older than kProcessedKeepMs.
  void StartExpiryTimer();
  void StopExpiryTimer();
  void ScheduleExpiry(std::int64_t at_ms);
  void ExpiryLoop();

  // ---- contacts ----

  ClientResult<std::vector<Contact>> Contacts(std::optional<ContactState> state);
  ClientResult<Contact> AddContact(const std::string& username);
  ClientStatus SetState(const std::string& peer, ContactState state);
  ClientResult<SafetyNumber> GetSafetyNumber(const std::string& peer);

  // Over each side's primary device (device 1) identity; linked devices'
  // identities are covered by the verified marks (docs/client.md).
  ClientResult<SafetyNumber> SafetyNumberLocked(const store::Contact& contact);
  ClientStatus MarkVerified(const std::string& peer, const std::optional<std::vector<std::uint8_t>>& scanned);

  // ---- contacts on our own devices (client_contacts.cc) ----

  // Shares a changed contact with our other devices. Offline, or when the
  // send fails, the change is remembered ("contact_sync_pending.<account>")
  // and sent on the next connect.
  void SyncContactLocked(const store::Contact& contact);
  // Contacts to our other devices, in messages of at most kMaxSyncedContacts;
  // `snapshot` for the whole list to a new device.
  ClientStatus SendContactsLocked(const std::vector<store::Contact>& contacts, bool snapshot);
  // Contacts another of our devices (`from`) sent. On a linked device a
  // snapshot is taken only from the first device that answered since it
  // last asked; the primary takes none (its list is the account's).
  // `server_ms` is the envelope's server time: a snapshot answers every
  // sync request queued before it.
  bool ApplyContactSyncLocked(const ContactSyncBody& body, DeviceId from, std::uint64_t server_ms,
                              std::vector<Event>& events);
  // Sends the contact changes still pending, then: on the primary, what a
  // newly linked device needs (groups and contacts) the first time it sees
  // each device unless a snapshot went out since the device was linked, or
  // to every device when asked; on a linked device, its sync request until
  // one was answered, or, when asked and it holds them, the answer.
  void SyncOwnDevicesLocked(const std::vector<wire::DeviceInfo>& devices, OwnDeviceSync why);
  // Our active groups and the whole contact list (a snapshot) to our other
  // devices; afterwards last_send_server_ms_ is its server time.
  ClientStatus SendAccountSnapshotLocked();
  // A linked device asks our other devices for groups and contacts (a
  // SyncRequestBody): the primary alone answers, or, with `any_device`,
  // any of them that holds the state (asked again after the primary did
  // not answer in kSyncRepeatAfterMs).
  ClientStatus RequestSyncLocked(bool any_device);
  // On a linked device still waiting for the state: the request of this
  // connect (marked for any device once the first ask is kSyncRepeatAfterMs
  // old), and the receive thread woken to ask again then.
  void AskForSyncLocked();
  // The receive thread's part: asks again, for any device, once the first
  // unanswered ask is kSyncRepeatAfterMs old (once per connection).
  void RepeatSyncRequestLocked();
  // SyncRequestBodies from another of our devices (one answer per stored
  // run): unless a snapshot newer than the newest request went out (from
  // any of our devices), the device list is refreshed and the primary, or
  // for a request marked for any device a linked device that holds the
  // account's groups and contacts, sends them.
  void AnswerSyncRequestLocked();
  // The server time of the newest snapshot sent by any of our devices, as
  // this device knows it (a counter); a newer one raises it.
  ClientResult<std::uint64_t> NewestSnapshotLocked();
  bool NoteSnapshotLocked(std::uint64_t server_ms);

  // ---- groups (client_groups.cc) ----

  ClientResult<Group> CreateGroup(const std::string& name, const std::vector<std::string>& members);
  enum class GroupEdit { kAddMembers, kRemoveMembers, kAddAdmins, kRemoveAdmins };
  ClientResult<Group> EditGroupMembers(const ConversationId& group, const std::vector<std::string>& members,
                                       GroupEdit edit);
  ClientResult<Group> RenameGroup(const ConversationId& group, const std::string& name);
  ClientStatus LeaveGroup(const ConversationId& group);
  ClientResult<std::vector<Group>> Groups();
  ClientResult<Group> GetGroup(const ConversationId& group);
  ClientResult<StoredMessage> SendGroupText(const ConversationId& group, const std::string& body,
                                            const std::optional<MessageId>& quote);

  // An active group we are a member of, by conversation id.
  ClientResult<Group> ActiveGroupLocked(const ConversationId& conversation);
  // Usernames or account ids to accounts, saved as accepted contacts.
  ClientResult<std::vector<AccountId>> ResolveMembersLocked(const std::vector<std::string>& names);
  protocol::SenderKeyName SenderKeyNameFor(const GroupId& group, const AccountId& account,
                                           DeviceId device) const;
  // The group's log of changes (client/group_state.h); a group from before
  // schema 6 gets one: a snapshot of its state at its version.
  ClientResult<std::vector<GroupChange>> GroupLogLocked(const Group& group);
  ClientStatus SaveGroupChangeLocked(const GroupId& group, const GroupChange& change);
  // `change`, one of ours, signed with our identity key (client/group_signature.h).
  ClientResult<GroupChange> SignOwnGroupChangeLocked(const GroupId& group, GroupChange change);
  // The identity key of a change's author device: ours, the one the store
  // holds, or (while identity_fetches_left_ lasts) the one parleyd holds
  // (GetIdentityKeys: no session is started and none of the author's
  // one-time prekeys is used up), stored as a bundle fetch would store it.
  // nullopt when it cannot be had now.
  std::optional<crypto::PublicKey> GroupAuthorIdentityLocked(const AccountId& author, std::uint32_t device);
  // Makes `ops` as the next change of the group we are an admin of, stores
  // it and sends it: the change to the members before and after it and to
  // our other devices, the whole log to the members it adds.
  ClientResult<Group> ChangeGroupLocked(Group group, std::vector<GroupOp> ops, std::vector<Event>& events);
  // Sends `changes` (as many contents as they need) to every device of
  // `recipients`, and to our other devices when `own_devices`.
  // Changes without a signature (kept from before signatures) are left out.
  ClientStatus SendGroupChangesLocked(const GroupId& group, const std::vector<GroupChange>& changes,
                                      const std::vector<AccountId>& recipients, bool own_devices);
  // Sends the group's whole log to `recipients` (every device) and our other devices.
  ClientStatus SendGroupStateLocked(const Group& group, const std::vector<AccountId>& recipients);
  // Sends plaintext over 1:1 sessions to every member but us, and to our other devices.
  ClientStatus SendPairwiseToGroupLocked(const Group& group, Bytes plaintext,
                                         const std::vector<AccountId>& extra_recipients = {});
  ClientStatus SendToOwnDevicesLocked(Bytes plaintext);
  // Encrypts content with our sender key and sends it to every member device
  // (first distributing the key where it has not gone yet).
  ClientStatus SendGroupContentLocked(Group& group, Content content);
  // The same ciphertext to every device of one account, repairing sessions as
  // the server asks; a device new to us gets `distribution` (our sender key,
  // over the 1:1 session) first.
  ClientStatus SendGroupCiphertextLocked(const AccountId& account, Bytes envelope_content, Bytes distribution,
                                         bool sync);
  ClientStatus SendGroupAboutLocked(const GroupId& group, ContentBody body);
  // Group changes or a sender key that arrived over a 1:1 session; changes
  // an admin device passes on to members who may lack them go in `after_commit`.
  bool ApplyGroupControlLocked(const wire::Envelope& envelope, const Content& content,
                               const std::optional<store::Contact>& contact, std::vector<Event>& events,
                               std::vector<std::function<void()>>& after_commit);
  bool ApplyGroupChangesLocked(const wire::Envelope& envelope, const GroupContext& context,
                               const std::optional<store::Group>& existing,
                               const std::optional<store::Contact>& contact, std::vector<Event>& events,
                               std::vector<std::function<void()>>& after_commit);
  // Takes the changes one content of `sender` carried for group `id` under
  // the acceptance rules (docs/client.md, "Groups"); those neither taken nor
  // held go to `left`. Returns whether the log grew; nullopt when the store
  // failed.
  std::optional<bool> TakeGroupChangesLocked(const AccountId& sender, DeviceId sender_device,
                                             const GroupId& id, std::vector<GroupChange> incoming,
                                             const std::optional<store::Group>& existing,
                                             const std::optional<store::Contact>& contact,
                                             std::vector<Event>& events,
                                             std::vector<std::function<void()>>& after_commit,
                                             std::vector<GroupChange>& left);
  // Tries the group's pending changes again, each arrival as if it came
  // now, until the log stops growing. False when the store failed.
  bool TakePendingGroupChangesLocked(const GroupId& id, std::vector<Event>& events,
                                     std::vector<std::function<void()>>& after_commit);
  // A group message (envelope type kGroupEnvelopeType). Returns false when
  // it must not be acknowledged.
  bool HandleGroupEnvelopeLocked(const wire::Envelope& envelope, std::vector<Event>& events,
                                 std::vector<std::function<void()>>& after_commit);
  bool ApplyGroupMessageLocked(const wire::Envelope& envelope, const store::Group& group,
                               const Content& content, std::vector<Event>& events,
                               std::vector<std::function<void()>>& after_commit);
  // A group we are in, for sending: a request is accepted by writing to it.
  ClientResult<Group> AcceptGroupForSendingLocked(const ConversationId& conversation);

  // ---- attachments (client_attachments.cc) ----

  ClientResult<StoredMessage> SendAttachment(const std::string& peer, const std::filesystem::path& file,
                                             const std::string& caption, const std::string& content_type);
  ClientResult<std::optional<AttachmentInfo>> GetAttachment(const MessageId& message);
  ClientResult<AttachmentInfo> DownloadAttachment(const MessageId& message);
  // Keeps a received pointer with its message (also for a request: S2 is
  // enforced when downloading). False when the store failed.
  bool SaveReceivedAttachmentLocked(const MessageId& message, const AttachmentPointer& pointer);
  // Removes the attachment file this client downloaded for a message (never
  // the file a user sent from); the store row goes with the message.
  void ForgetAttachmentFileLocked(const MessageId& message);
  // <data_dir>/attachments, mode 0700.
  ClientResult<std::filesystem::path> AttachmentsDirLocked();

  // Account deletion (client_account.cc).
  ClientStatus DeleteAccount();

  // ---- history ----

  ClientResult<std::vector<Conversation>> Conversations();
  ClientResult<std::vector<StoredMessage>> History(const ConversationId& conversation, std::size_t limit);
  ClientResult<StoredMessage> GetMessage(const MessageId& id);
  ClientResult<std::vector<MessageReceipt>> Receipts(const MessageId& id);

 private:
  ClientOptions options_;
  SystemClock system_clock_;
  crypto::SystemRng system_rng_;
  const Clock& clock_;
  Rng& rng_;
  std::mutex mutex_;  // guards everything below up to the worker's own fields
  std::unique_ptr<store::ClientStore> store_;
  std::optional<store::LocalAccount> account_;
  std::unique_ptr<Connection> connection_;
  std::set<DeviceId> other_devices_;  // our account's devices other than this one
  std::vector<Event> pending_events_;
  // Identity keys GroupAuthorIdentityLocked may still fetch from parleyd
  // while one group update (and the pending changes it lets in) is taken.
  int identity_fetches_left_ = 0;
  // The store may hold owed receipts (set at start, by every owed receipt,
  // and after a failure; cleared when the store has none left).
  bool receipts_owed_ = true;
  // The delivery receipts' sends of the run being stored (one per sender
  // and conversation per run, up to kMaxReceiptTargets each).
  OwedSends run_sends_;
  Backoff receipt_backoff_;  // between attempts at owed receipts after a failure
  std::optional<std::chrono::steady_clock::time_point> receipt_retry_at_;
  // Sync requests from another of our devices not answered yet (held
  // until the queue is drained): the newest one's server time, and the
  // newest marked for any device.
  std::optional<std::uint64_t> sync_request_ms_;
  std::optional<std::uint64_t> any_device_sync_request_ms_;
  // The run held the server's QueueEmpty: the primary then sends the state to
  // devices it has not seen, and a linked device still waiting asks for it.
  bool own_devices_check_owed_ = false;
  // The server time of the last successful send (SendToAccountLocked).
  std::uint64_t last_send_server_ms_ = 0;
  // On this connection a linked device asked for the state, and asked
  // again for any device.
  bool sync_asked_ = false;
  bool sync_repeated_ = false;
  std::mutex handler_mutex_;
  std::function<void(const Event&)> handler_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<wire::Push> queue_;
  bool stop_worker_ = false;
  bool wake_now_ = false;        // guarded by queue_mutex_, as the two below
  bool wake_connected_ = false;  // the connection became ready again
  std::optional<std::chrono::steady_clock::time_point> wake_at_;
  std::thread worker_;
  std::mutex drain_mutex_;
  std::condition_variable drain_cv_;
  bool drained_ = false;
  std::mutex expiry_mutex_;  // taken after mutex_, never before it
  std::condition_variable expiry_cv_;
  std::int64_t expiry_due_ms_ = 0;                      // 0: look at the store at once
  std::optional<std::int64_t> processed_purged_at_ms_;  // guarded by expiry_mutex_
  bool stop_expiry_ = false;
  std::thread expiry_thread_;
};

}  // namespace parley::client
