// The state of `parley chat`, without ncurses: what the screen shows and
// what a key press asks for (docs/client.md, "parley chat").
//
// ChatModel is updated from the client store (Set*) and from client events
// (Apply); HandleKey turns a key into a ChatCommand the caller carries out
// with the Client. RenderChat lays the model out for a screen of a given
// size as rows of styled text, which the ncurses view only copies to the
// terminal; so the layout, resizing and everything shown can be tested
// without a terminal.
//
// Text from peers is untrusted: control characters and invalid UTF-8 are
// replaced before anything is drawn, so a message cannot move the cursor or
// send escape sequences to the terminal.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"

namespace parley::chat {

using client::ConversationId;

enum class KeyKind { kChar, kEnter, kBackspace, kUp, kDown, kPageUp, kPageDown, kEscape, kCtrl, kOther };

struct KeyPress {
  KeyKind kind = KeyKind::kOther;
  // kChar: the Unicode code point; kCtrl: the letter, 'a'..'z'.
  char32_t ch = 0;
};

// What a key asks the caller to do with the Client.
struct ChatCommand {
  enum class Kind {
    kNone,
    kOpen,             // load `conversation`'s history, mark it read
    kSend,             // send `text` to `conversation`
    kAccept,           // accept the request `conversation`
    kBlock,            // block the peer of `conversation`
    kShowSafety,       // show the safety number with `conversation`'s peer
    kMarkVerified,     // mark `conversation`'s peer verified
    kNewConversation,  // add the contact `text` (a username) and open it
    kAttach,           // send the file at path `text` to `conversation`
    kSave,             // download `message`'s attachment; copy it to path `text` when given
    kGroupCreate,      // create the group named `text` with the members `args`
    kGroupAdd,         // add `args` to the group `conversation`
    kGroupRemove,      // remove `args` from the group `conversation`
    kGroupAdmin,       // make `args` admins of the group `conversation`
    kGroupUnadmin,     // take admin rights back from `args` in the group `conversation`
    kGroupRename,      // rename the group `conversation` to `text`
    kGroupLeave,       // leave the group `conversation`
    kTyping,           // tell `conversation` we started (`typing`) or stopped typing
    kQuit,
  };
  ChatCommand(Kind k = Kind::kNone, ConversationId c = {}, std::string t = {},
              std::vector<std::string> a = {})
      : kind(k), conversation(std::move(c)), text(std::move(t)), args(std::move(a)) {}
  Kind kind = Kind::kNone;
  ConversationId conversation;
  std::string text;
  std::vector<std::string> args;
  std::optional<client::MessageId> message;
  bool typing = false;
};

// Typing indicators: one is sent at most every kTypingRefreshMs while keys
// are typed, and "stopped" after kTypingIdleMs without a key (or when the
// line is cleared or another conversation is opened). One shown for a peer
// goes away after kTypingShownMs unless it is refreshed.
inline constexpr std::int64_t kTypingRefreshMs = 5'000;
inline constexpr std::int64_t kTypingIdleMs = 5'000;
inline constexpr std::int64_t kTypingShownMs = 15'000;

struct ConversationEntry {
  ConversationId id;
  std::string title;
  std::int64_t unread = 0;
  bool request = false;
  bool group = false;
  std::int64_t last_activity_ms = 0;
};

enum class Overlay { kNone, kSafetyNumber, kHelp };

class ChatModel {
 public:
  // `self_name` names our own messages; `unicode`: the terminal takes UTF-8
  // (marks like ✓ are used, else ASCII words).
  ChatModel(std::string self_name, bool unicode);

  // ---- From the store ----
  // Replaces the conversation list (newest activity first). The open
  // conversation stays open even when it has no messages yet.
  void SetConversations(const std::vector<client::Conversation>& conversations);
  void SetHistory(const ConversationId& conversation, std::vector<client::StoredMessage> messages);
  void SetSafetyNumber(const ConversationId& conversation, const client::SafetyNumber& number);
  // Opens `conversation` (titled `title` until the store knows it).
  void Open(const ConversationId& conversation, const std::string& title);
  // A message we sent from this device.
  void AddOutgoing(const client::StoredMessage& message);
  // The attachment of a message shown (or about to be).
  void SetAttachment(const client::AttachmentInfo& attachment);
  // How many members have one of our group messages (views.h
  // GroupReceiptSummary), shown after its status.
  void SetReceiptSummary(const client::MessageId& message, std::string summary);
  // Names of accounts (account id text to username): a group message shows
  // its sender's name, a typing indicator who is typing.
  void SetNames(std::map<std::string, std::string> names) { names_ = std::move(names); }
  // The groups this profile knows; the open group's header shows its members.
  void SetGroups(const std::vector<client::Group>& groups);
  void SetConnected(bool connected) { connected_ = connected; }
  void SetStatus(std::string status) { status_ = std::move(status); }

  // ---- From client events ----
  // Returns true when the conversation list should be reloaded from the
  // store (a conversation this model does not know yet).
  bool Apply(const client::Event& event);

  // ---- Time ----
  // Sets the time (milliseconds, any steady origin) for typing indicators;
  // returns a command when a "stopped typing" is due.
  ChatCommand Tick(std::int64_t now_ms);

  // ---- Keys ----
  ChatCommand HandleKey(const KeyPress& key);

  // ---- What is shown ----
  const std::vector<ConversationEntry>& conversations() const { return conversations_; }
  const std::optional<ConversationId>& open() const { return open_; }
  const ConversationEntry* open_entry() const;
  const std::vector<client::StoredMessage>& messages() const { return messages_; }
  const std::string& compose() const { return compose_; }
  const std::string& status() const { return status_; }
  const std::string& self_name() const { return self_name_; }
  bool connected() const { return connected_; }
  bool unicode() const { return unicode_; }
  Overlay overlay() const { return overlay_; }
  const std::optional<client::SafetyNumber>& safety_number() const { return safety_number_; }
  // Lines scrolled up from the newest message.
  int scroll_offset() const { return scroll_; }
  // Who is typing in `conversation`, by name, in a stable order.
  std::vector<std::string> typing(const ConversationId& conversation) const;
  // The name shown for an account (its username, else a short id).
  std::string NameOf(const AccountId& account) const;
  const client::AttachmentInfo* attachment(const client::MessageId& message) const;
  std::string receipt_summary(const client::MessageId& message) const;
  // Attachments of the open conversation are numbered from 1, oldest first,
  // as shown ("[file 2: ...]") and as /save takes them; 0 when it has none.
  int AttachmentNumber(const client::MessageId& message) const;
  const client::Group* group(const ConversationId& conversation) const;

 private:
  void Sort();
  ChatCommand Select(int delta);
  ChatCommand Submit();
  ChatCommand RunSlashCommand(const std::string& command, std::vector<std::string> words);
  ChatCommand TypingKey();

  std::string self_name_;
  bool unicode_;
  std::vector<ConversationEntry> conversations_;
  std::optional<ConversationId> open_;
  std::vector<client::StoredMessage> messages_;
  std::string compose_;
  std::string status_;
  bool connected_ = false;
  Overlay overlay_ = Overlay::kNone;
  std::optional<client::SafetyNumber> safety_number_;
  int scroll_ = 0;
  std::int64_t now_ms_ = 0;
  // Per conversation: who is typing (account id text) until when.
  std::map<ConversationId, std::map<std::string, std::int64_t>> typing_;
  // Where our last "started typing" went, and when.
  std::optional<ConversationId> typing_sent_to_;
  std::int64_t typing_sent_at_ms_ = 0;
  std::int64_t last_key_at_ms_ = 0;
  std::map<client::MessageId, client::AttachmentInfo> attachments_;
  std::map<client::MessageId, std::string> receipt_summaries_;
  std::map<std::string, std::string> names_;
  std::map<ConversationId, client::Group> groups_;
};

// ---- Layout ----

enum class Style { kNormal, kBold, kDim, kReverse, kAlert, kSelected };

struct Span {
  std::string text;  // UTF-8, already safe to print
  Style style = Style::kNormal;
};
using Row = std::vector<Span>;

struct ChatFrame {
  std::vector<Row> rows;  // exactly `rows` rows, none wider than `cols`
  int cursor_row = 0;
  int cursor_col = 0;
};

ChatFrame RenderChat(const ChatModel& model, int rows, int cols);

// Untrusted text made printable: C0/C1 controls, DEL, and invalid UTF-8
// become U+FFFD ('?' without unicode); newlines and tabs become spaces.
std::string SanitizeForTerminal(std::string_view text, bool unicode);
// A size for people: "512 B", "12 KiB", "3.4 MiB".
std::string HumanSize(std::uint64_t bytes);
// Columns `text` (sanitized UTF-8) takes on a terminal.
int DisplayWidth(std::string_view text);
// The longest prefix of `text` no wider than `width` columns.
std::string FitWidth(std::string_view text, int width);

}  // namespace parley::chat
