// Client: everything one Parley device does, without a user interface.
//
// A Client owns one profile: an encrypted store (SQLCipher) with the
// account's credential, keys, sessions, contacts and messages, and at most
// one connection to parleyd. The `parley` command line, daemon and chat are
// thin layers over this class.
//
// Threading: every method may be called from any thread; calls are
// serialized inside. Once Connect() succeeded, the server's pushes are
// handled on the client's own receive thread: each envelope is decrypted,
// stored together with the ratchet state it advanced in one transaction, and
// only then acknowledged, so a crash never loses or replays a message. Events
// (new messages, receipts, identity changes, ...) go to the handler set with
// SetEventHandler, called on the receive thread (expired messages: on the
// expiry timer's thread) without any lock held.
//
// Message requests (DESIGN.md S2): the first message from an account that is
// not a contact makes it a *request*: only its text is kept; no attachment is
// fetched, no delivery or read receipt and no typing indicator is sent to it
// until AcceptRequest. Blocked accounts' messages are dropped.
//
// Peers are named by a `peer` string: a username, or an account id in its
// canonical UUID form.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/rng.h"
#include "base/strong_id.h"
#include "base/uuid.h"
#include "client/error.h"
#include "store/client_records.h"

namespace parley::client {

// Message ids, conversation ids and the stored records are the client
// store's own types (store/client_records.h).
using store::ConversationId;
using store::MessageId;
using store::MessageIdFromHex;
using store::MessageIdToHex;

// Where parleyd listens. `pin` is the lower-case hex SHA-256 of the server's
// certificate (64 digits); when set, a server presenting another certificate
// is refused (kNetwork). Empty: any certificate is accepted (TLS still
// encrypts, but does not authenticate the server).
struct ServerAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8443;
  std::string pin;
};

// How the store's key is made: from a passphrase (Argon2id, the salt kept
// beside the store), or read from a 32-byte key file whose mode must be 0600
// (or stricter) and which is created with random bytes when absent.
struct StoreKeySource {
  enum class Kind { kPassphrase, kKeyFile };
  Kind kind = Kind::kKeyFile;
  std::string passphrase;
  std::filesystem::path key_file;
};

struct ClientOptions {
  // The profile directory (created with mode 0700): the store "parley.db"
  // and its "parley.salt".
  std::filesystem::path data_dir;
  StoreKeySource key;
  // How long one request to the server may take.
  std::chrono::milliseconds request_timeout{15'000};
  // Reconnect (with exponential backoff and jitter) after the connection drops.
  bool auto_reconnect = true;
  // Injected for tests; nullptr: the system clock and the system CSPRNG.
  const Clock* clock = nullptr;
  Rng* rng = nullptr;
};

struct AccountInfo {
  AccountId account;
  DeviceId device;
  std::string username;
  ServerAddress server;
};

struct DeviceSummary {
  DeviceId id;
  std::string name;
  std::int64_t created_at_ms = 0;
  std::int64_t last_seen_at_ms = 0;
  bool this_device = false;
};

// A code with which a new device joins this account; `uri` carries the
// server address, pin and code for a QR code
// ("parley-link:?host=H&port=P&pin=F&code=C").
struct LinkCode {
  std::string code;
  std::int64_t expires_at_ms = 0;
  std::string uri;
};

using store::Contact;
using store::ContactState;
using store::Conversation;
using store::Direction;
using store::Group;
using store::GroupConversation;
using store::GroupId;
using store::MessageReceipt;
using store::MessageStatus;
using store::Reaction;
using store::StoredMessage;

// The safety number both sides compare (60 digits, the same on both) and the
// scannable form for a QR code.
struct SafetyNumber {
  std::string digits;
  std::vector<std::uint8_t> scannable;
  bool verified = false;
};

// An attachment kept with a message. `file_name` is the sender's name for it
// (a name, never used as a path); `path` is the verified local file, empty
// until DownloadAttachment (for our own: the file we sent).
struct AttachmentInfo {
  MessageId message{};
  std::string file_name;
  std::string content_type;
  std::uint64_t size = 0;
  std::string path;
};

// ---- Events ------------------------------------------------------------------

// A new message (incoming, or sent from another of our devices).
struct MessageReceived {
  StoredMessage message;
};
// A stored message changed: edited, deleted, reacted to, delivered, read;
// or it expired (`deleted` set; it is gone from the store).
struct MessageUpdated {
  StoredMessage message;
};
struct TypingChanged {
  ConversationId conversation;
  AccountId who;
  bool typing = false;
};
// A contact's device presented a different identity key.
struct IdentityChanged {
  AccountId account;
  std::string username;
  bool was_verified = false;
};
// A message that could not be decrypted (it was acknowledged and dropped).
struct DecryptionFailed {
  AccountId sender;
  DeviceId sender_device;
  ClientErrc reason = ClientErrc::kProtocol;
};
// Everything the server had queued when this connection authenticated has
// been handled.
struct QueueDrained {};
struct ConnectionChanged {
  bool connected = false;
};
// A group was created, renamed, changed its members or admins (on this or
// another device), or we left or were removed (group.active is then false).
struct GroupChanged {
  Group group;
  AccountId by;  // who made the change
};

// A linked device took the account's contacts and groups from another of
// our devices (`from`): the first that answered its sync request, or the
// primary when it first saw this device (docs/client.md, "Contacts on our
// own devices"). One event per contact-sync message taken.
struct OwnDeviceSynced {
  DeviceId from;
};

using Event = std::variant<MessageReceived, MessageUpdated, TypingChanged, IdentityChanged, DecryptionFailed,
                           QueueDrained, ConnectionChanged, GroupChanged, OwnDeviceSynced>;

// ---- Client ------------------------------------------------------------------

class Client {
 public:
  // Opens (creating if needed) the profile's store. kBadPassphrase when the
  // key does not open it; kInvalidArgument for a key file with a mode looser
  // than 0600; kStorage, kIncompatibleStore. Does not connect.
  static ClientResult<std::unique_ptr<Client>> Open(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // ---- Account and devices ----

  // Creates an account as its primary device: a new identity, signed prekey
  // and 100 one-time prekeys, uploaded with the registration. Leaves the
  // client connected. kAlreadyRegistered, kConflict (username taken),
  // kForbidden (registration closed or a bad invitation), kRateLimited,
  // kNetwork.
  ClientResult<AccountInfo> Register(const ServerAddress& server, const std::string& username,
                                     const std::string& device_name,
                                     const std::optional<std::string>& invitation_token = std::nullopt);
  // Joins an existing account as a new device with a code from CreateLinkCode
  // on its primary. Leaves the client connected. kNotFound (unknown or used
  // code), kConflict (6 devices), kAlreadyRegistered, kNetwork.
  ClientResult<AccountInfo> Link(const ServerAddress& server, const std::string& code,
                                 const std::string& device_name);
  // The account this profile holds, if registered or linked.
  std::optional<AccountInfo> account() const;
  // Primary only (kForbidden otherwise).
  ClientResult<LinkCode> CreateLinkCode();
  ClientResult<std::vector<DeviceSummary>> ListDevices();
  ClientStatus UnlinkDevice(DeviceId device);
  // A linked device asks our other devices again for the account's contacts
  // and groups: every one that holds them (the primary, or a linked device
  // that took them itself) answers, and this device takes the first answer
  // and ignores the others (OwnDeviceSynced). Connects if needed. kForbidden
  // on the primary (it holds them), kNotFound when the account has no other
  // device, kNotRegistered, kNetwork.
  ClientStatus RequestSync();
  ClientStatus SetUsername(const std::string& username);
  // Deletes the account on the server with all its devices, keys and queues
  // (primary only: kForbidden otherwise), then wipes this profile's store:
  // the profile is left empty, ready to register or link again.
  ClientStatus DeleteAccount();

  // ---- Connection ----

  // Connects and authenticates (a no-op when connected). From then on the
  // server's queue drains in the background; pushes are acknowledged after
  // they are stored. kNotRegistered, kUnauthorized, kNetwork.
  ClientStatus Connect();
  // Waits until everything the server had queued at the last authentication
  // has been handled (QueueDrained), or kTimeout.
  ClientStatus WaitUntilDrained(std::chrono::milliseconds limit);
  void Disconnect();
  bool connected() const;
  // Called on the receive thread, without locks held: the handler may call
  // this client's methods. Replaces any previous handler.
  void SetEventHandler(std::function<void(const Event&)> handler);

  // ---- Messages ----

  // Sends text to every device of the peer and a copy to our other devices,
  // fetching prekey bundles and starting sessions as needed. The peer becomes
  // an accepted contact. kNotFound (no such username), kBlocked,
  // kUntrustedIdentity (a verified contact's identity changed), kTooLarge,
  // kNetwork, kRateLimited.
  ClientResult<StoredMessage> SendText(const std::string& peer, const std::string& body,
                                       const std::optional<MessageId>& quote = std::nullopt);
  // Reacts to a message of a 1:1 conversation (an empty emoji removes ours).
  ClientStatus React(const ConversationId& conversation, const MessageId& message, const std::string& emoji);
  // Replaces the body of one of our own messages on every device.
  ClientStatus Edit(const ConversationId& conversation, const MessageId& message, const std::string& body);
  // Deletes one of our own messages on every device.
  ClientStatus DeleteForEveryone(const ConversationId& conversation, const MessageId& message);
  // Marks the conversation's incoming messages read and, unless the peer (or
  // the group) is a message request, sends a read receipt (in a group, to
  // each message's sender alone). The receipts are kept with the read mark
  // and sent now when parleyd can be reached, otherwise on the next connect
  // (offline is no error).
  ClientStatus MarkRead(const ConversationId& conversation);
  // Sends a typing indicator to a peer or a group (never to a message
  // request: nothing is sent).
  ClientStatus SendTyping(const ConversationId& conversation, bool typing);
  // Sets the conversation's disappearing-message timer (0 turns it off) on
  // every device of both sides.
  ClientStatus SetDisappearingTimer(const ConversationId& conversation, std::uint32_t seconds);
  // Deletes messages whose disappearing timer ran out; returns how many.
  // The client does this by itself when a message is due (from Open on, on
  // its own timer thread, each expired message reported as a MessageUpdated
  // with `deleted` set); this call only makes it happen now.
  ClientResult<std::size_t> ExpireMessages();
  // Deletes a message on this device only (delete for me), with its
  // reactions and its downloaded attachment file. kNotFound.
  ClientStatus DeleteForMe(const MessageId& message);

  // ---- Contacts, requests and verification ----

  ClientResult<std::vector<Contact>> Contacts();
  // Looks the username up on the server and adds it as an accepted contact.
  ClientResult<Contact> AddContact(const std::string& username);
  // Contacts in the kRequest state.
  ClientResult<std::vector<Contact>> Requests();
  ClientStatus AcceptRequest(const std::string& peer);
  ClientStatus Block(const std::string& peer);
  ClientStatus Unblock(const std::string& peer);
  ClientResult<SafetyNumber> GetSafetyNumber(const std::string& peer);
  // Marks the peer verified, trusting its devices' current identity keys.
  // With `scanned` (the peer's scannable safety number), kUntrustedIdentity
  // unless it matches ours.
  ClientStatus MarkVerified(const std::string& peer,
                            const std::optional<std::vector<std::uint8_t>>& scanned = std::nullopt);

  // ---- Groups ----
  //
  // A group is named by its conversation id ("group:" and 32 hex digits).
  // Its state (name, members, admins) is the replay of the changes a device
  // has seen, ordered by stamp, so it is the same on every device that saw
  // the same changes; changes travel over 1:1 sessions. Only admins change
  // it (the creator is the first), and a member may leave. Messages are encrypted once with the
  // sender's sender key, which reaches each member device over 1:1 sessions;
  // after a member leaves or is removed every remaining member starts a new
  // sender key, so what follows cannot be read with the old ones. A group
  // created by an account that is not a contact is a message request (S2).

  // Creates a group with us as its admin and the given members (usernames
  // or account ids; at most kMaxGroupMembers with us). kNotFound for an
  // unknown username, kBlocked, kTooLarge, kNetwork.
  ClientResult<Group> CreateGroup(const std::string& name, const std::vector<std::string>& members);
  // Admins only (kForbidden otherwise; kNotFound for an unknown group or a
  // group we are no longer in).
  ClientResult<Group> AddGroupMembers(const ConversationId& group, const std::vector<std::string>& members);
  ClientResult<Group> RemoveGroupMembers(const ConversationId& group,
                                         const std::vector<std::string>& members);
  ClientResult<Group> RenameGroup(const ConversationId& group, const std::string& name);
  // Makes members admins.
  ClientResult<Group> AddGroupAdmins(const ConversationId& group, const std::vector<std::string>& members);
  // Takes admin rights back from admins (ourselves included). kNotFound for
  // one who is not a member; kInvalidArgument when no admin would remain
  // (the last admin leaves instead, or makes another admin first).
  ClientResult<Group> RemoveGroupAdmins(const ConversationId& group, const std::vector<std::string>& members);
  // Leaves the group on every device of ours. When the last admin leaves,
  // the remaining member with the smallest account id becomes admin.
  ClientStatus LeaveGroup(const ConversationId& group);
  // Every group this profile knows, including those we left.
  ClientResult<std::vector<Group>> Groups();
  ClientResult<Group> GetGroup(const ConversationId& group);
  // Sends text to every member device and our other devices. Writing to a
  // group that is a message request accepts it. Members that are not a
  // request send a delivery receipt back, and read receipts on MarkRead.
  ClientResult<StoredMessage> SendGroupText(const ConversationId& group, const std::string& body,
                                            const std::optional<MessageId>& quote = std::nullopt);

  // ---- Attachments ----

  // Encrypts the file (a fresh key; docs/client.md "Attachments"), uploads
  // it to parleyd and sends a message carrying the pointer and `caption`,
  // as SendText does; `peer` may be a group's conversation id (as
  // SendGroupText does). Memory stays bounded whatever the size. kTooLarge past
  // 100 MiB (or the server's cap), kInvalidArgument for an empty or
  // unreadable file, and SendText's errors.
  ClientResult<StoredMessage> SendAttachment(const std::string& peer, const std::filesystem::path& file,
                                             const std::string& caption = "",
                                             const std::string& content_type = "");
  // The attachment of a message, if it has one.
  ClientResult<std::optional<AttachmentInfo>> GetAttachment(const MessageId& message);
  // Fetches, verifies (MAC, digest, size) and stores a message's attachment
  // under the profile's "attachments" folder; nothing is kept unless it
  // verifies (kProtocol). Never automatic: only this call fetches, and it
  // refuses a message request's attachment until AcceptRequest (kForbidden,
  // S2; in a group, until the group request is accepted by writing to it)
  // and a blocked contact's (kBlocked). kNotFound (no such message or
  // no attachment, or gone from the server), kNetwork.
  ClientResult<AttachmentInfo> DownloadAttachment(const MessageId& message);

  // ---- History ----

  ClientResult<std::vector<Conversation>> Conversations();
  // The newest `limit` messages of a conversation, oldest first.
  ClientResult<std::vector<StoredMessage>> History(const ConversationId& conversation, std::size_t limit);
  ClientResult<StoredMessage> GetMessage(const MessageId& id);
  // Who has received or read one of our messages: one receipt per recipient
  // account, the newest kind it sent (delivered, then read). A group
  // message's status becomes kDelivered once every other member delivered
  // it and kRead once every one read it; a 1:1 message's with the first.
  // kNotFound for an unknown message.
  ClientResult<std::vector<MessageReceipt>> Receipts(const MessageId& id);

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::client
