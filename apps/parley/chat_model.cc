#include "chat_model.h"

#include <time.h>
#include <wchar.h>

#include <algorithm>

#include "client/content.h"

namespace parley::chat {
namespace {

using namespace parley::client;

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

// Decodes one UTF-8 code point at `i`; nullopt on an invalid sequence
// (which then counts as one byte).
std::optional<char32_t> DecodeAt(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int length = 0;
  char32_t cp = 0;
  if ((b0 & 0xe0) == 0xc0) {
    length = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    length = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    length = 4;
    cp = b0 & 0x07;
  } else {
    ++i;
    return std::nullopt;
  }
  if (i + static_cast<std::size_t>(length) > s.size()) {
    ++i;
    return std::nullopt;
  }
  for (int k = 1; k < length; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xc0) != 0x80) {
      ++i;
      return std::nullopt;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  const bool overlong =
      (length == 2 && cp < 0x80) || (length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000);
  if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    ++i;
    return std::nullopt;
  }
  i += static_cast<std::size_t>(length);
  return cp;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

int CodePointWidth(char32_t cp) {
  if (cp < 0x80) return 1;
  const int w = wcwidth(static_cast<wchar_t>(cp));
  return w < 0 ? 1 : w;
}

std::string StatusMark(MessageStatus s, bool unicode) {
  switch (s) {
    case MessageStatus::kSending:
      return unicode ? " \xe2\x80\xa6" : " [sending]";  // …
    case MessageStatus::kSent:
      return unicode ? " \xe2\x9c\x93" : " [sent]";  // ✓
    case MessageStatus::kDelivered:
      return unicode ? " \xe2\x9c\x93\xe2\x9c\x93" : " [delivered]";
    case MessageStatus::kRead:
      return unicode ? " \xe2\x9c\x93\xe2\x9c\x93 read" : " [read]";
    case MessageStatus::kFailed:
      return " [failed]";
    default:
      return "";
  }
}

std::string ClockTime(std::int64_t ms) {
  const time_t seconds = static_cast<time_t>(ms / 1000);
  tm local{};
  if (localtime_r(&seconds, &local) == nullptr) return "--:--";
  char text[8];
  std::strftime(text, sizeof(text), "%H:%M", &local);
  return text;
}

// Splits `text` into lines of at most `width` columns, at spaces where it can.
std::vector<std::string> Wrap(const std::string& text, int width) {
  std::vector<std::string> lines;
  if (width <= 0) return lines;
  std::string rest = text;
  while (DisplayWidth(rest) > width) {
    std::string head = FitWidth(rest, width);
    const auto space = head.rfind(' ');
    if (space != std::string::npos && space > head.size() / 3) head = head.substr(0, space + 1);
    lines.push_back(head);
    rest = rest.substr(head.size());
  }
  lines.push_back(rest);
  return lines;
}

Row PadRow(Row row, int cols) {
  int used = 0;
  Row out;
  for (auto& span : row) {
    if (used >= cols) break;
    span.text = FitWidth(span.text, cols - used);
    used += DisplayWidth(span.text);
    out.push_back(std::move(span));
  }
  if (used < cols) out.push_back({std::string(static_cast<std::size_t>(cols - used), ' '), Style::kNormal});
  return out;
}

}  // namespace

std::string SanitizeForTerminal(std::string_view text, bool unicode) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto cp = DecodeAt(text, i);
    if (!cp) {
      out += unicode ? std::string(kReplacement) : std::string("?");
    } else if (*cp == '\n' || *cp == '\t' || *cp == '\r') {
      out.push_back(' ');
    } else if (*cp < 0x20 || *cp == 0x7f || (*cp >= 0x80 && *cp < 0xa0) || *cp == 0x2028 || *cp == 0x2029 ||
               (*cp >= 0x202a && *cp <= 0x202e) || (*cp >= 0x2066 && *cp <= 0x2069)) {
      // Controls, and the bidirectional overrides that reorder what is shown.
      out += unicode ? std::string(kReplacement) : std::string("?");
    } else if (!unicode && *cp >= 0x80) {
      out.push_back('?');
    } else {
      AppendUtf8(out, *cp);
    }
  }
  return out;
}

int DisplayWidth(std::string_view text) {
  int width = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto cp = DecodeAt(text, i);
    width += cp ? CodePointWidth(*cp) : 1;
  }
  return width;
}

std::string FitWidth(std::string_view text, int width) {
  int used = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t next = i;
    const auto cp = DecodeAt(text, next);
    const int w = cp ? CodePointWidth(*cp) : 1;
    if (used + w > width) break;
    used += w;
    i = next;
  }
  return std::string(text.substr(0, i));
}

std::string HumanSize(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  const char* units[] = {"KiB", "MiB", "GiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 2) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), value < 10 ? "%.1f %s" : "%.0f %s", value, units[unit]);
  return text;
}

ChatModel::ChatModel(std::string self_name, bool unicode)
    : self_name_(std::move(self_name)), unicode_(unicode) {}

const ConversationEntry* ChatModel::open_entry() const {
  if (!open_) return nullptr;
  for (const auto& c : conversations_) {
    if (c.id == *open_) return &c;
  }
  return nullptr;
}

std::vector<std::string> ChatModel::typing(const ConversationId& conversation) const {
  std::vector<std::string> who;
  auto it = typing_.find(conversation);
  if (it == typing_.end()) return who;
  for (const auto& [account, until] : it->second) {
    if (until <= now_ms_) continue;
    if (auto id = Uuid::Parse(account)) who.push_back(NameOf(AccountId(*id)));
  }
  return who;
}

std::string ChatModel::NameOf(const AccountId& account) const {
  const std::string text = account.value().ToString();
  auto it = names_.find(text);
  if (it != names_.end() && !it->second.empty()) return it->second;
  for (const auto& c : conversations_) {
    if (c.id == text && !c.title.empty()) return c.title;
  }
  return text.substr(0, 8);
}

const AttachmentInfo* ChatModel::attachment(const MessageId& message) const {
  auto it = attachments_.find(message);
  return it == attachments_.end() ? nullptr : &it->second;
}

int ChatModel::AttachmentNumber(const MessageId& message) const {
  int number = 0;
  for (const auto& m : messages_) {
    if (attachments_.count(m.id)) ++number;
    if (m.id == message) return attachments_.count(m.id) ? number : 0;
  }
  return 0;
}

const Group* ChatModel::group(const ConversationId& conversation) const {
  auto it = groups_.find(conversation);
  return it == groups_.end() ? nullptr : &it->second;
}

void ChatModel::SetAttachment(const AttachmentInfo& attachment) {
  attachments_[attachment.message] = attachment;
}

void ChatModel::SetReceiptSummary(const MessageId& message, std::string summary) {
  receipt_summaries_[message] = std::move(summary);
}

std::string ChatModel::receipt_summary(const MessageId& message) const {
  auto it = receipt_summaries_.find(message);
  return it == receipt_summaries_.end() ? std::string() : it->second;
}

void ChatModel::SetGroups(const std::vector<Group>& groups) {
  groups_.clear();
  for (const auto& g : groups) groups_[store::GroupConversation(g.id)] = g;
}

void ChatModel::Sort() {
  std::stable_sort(conversations_.begin(), conversations_.end(),
                   [](const ConversationEntry& a, const ConversationEntry& b) {
                     return a.last_activity_ms > b.last_activity_ms;
                   });
}

void ChatModel::SetConversations(const std::vector<Conversation>& conversations) {
  std::optional<ConversationEntry> kept;
  if (const auto* open = open_entry()) kept = *open;
  conversations_.clear();
  for (const auto& c : conversations) {
    ConversationEntry entry;
    entry.id = c.id;
    entry.title = c.title.empty() ? c.id.substr(0, 8) : c.title;
    entry.unread = c.unread;
    entry.request = c.request;
    entry.group = c.id.rfind("group:", 0) == 0;
    entry.last_activity_ms = c.last_activity_ms;
    conversations_.push_back(std::move(entry));
  }
  if (kept && open_entry() == nullptr) conversations_.push_back(*kept);
  Sort();
}

void ChatModel::Open(const ConversationId& conversation, const std::string& title) {
  if (open_ != conversation) {
    messages_.clear();
    attachments_.clear();
    receipt_summaries_.clear();
    scroll_ = 0;
  }
  open_ = conversation;
  if (open_entry() == nullptr) {
    ConversationEntry entry;
    entry.id = conversation;
    entry.title = title;
    entry.group = conversation.rfind("group:", 0) == 0;
    conversations_.insert(conversations_.begin(), std::move(entry));
  }
}

void ChatModel::SetHistory(const ConversationId& conversation, std::vector<StoredMessage> messages) {
  if (open_ != conversation) return;
  messages_ = std::move(messages);
  for (auto& c : conversations_) {
    if (c.id == conversation) c.unread = 0;
  }
}

void ChatModel::SetSafetyNumber(const ConversationId& conversation, const SafetyNumber& number) {
  if (open_ != conversation) return;
  safety_number_ = number;
  overlay_ = Overlay::kSafetyNumber;
}

void ChatModel::AddOutgoing(const StoredMessage& message) {
  if (open_ == message.conversation) messages_.push_back(message);
  for (auto& c : conversations_) {
    if (c.id == message.conversation)
      c.last_activity_ms = std::max(c.last_activity_ms, message.received_at_ms);
  }
  Sort();
}

bool ChatModel::Apply(const Event& event) {
  if (const auto* received = std::get_if<MessageReceived>(&event)) {
    const StoredMessage& m = received->message;
    if (auto it = typing_.find(m.conversation); it != typing_.end())
      it->second.erase(m.sender.value().ToString());
    ConversationEntry* entry = nullptr;
    for (auto& c : conversations_) {
      if (c.id == m.conversation) entry = &c;
    }
    if (open_ == m.conversation) {
      messages_.push_back(m);
    } else if (entry != nullptr && m.direction == Direction::kIncoming) {
      ++entry->unread;
    }
    if (entry == nullptr) return true;
    entry->last_activity_ms = std::max(entry->last_activity_ms, m.received_at_ms);
    Sort();
    return false;
  }
  if (const auto* updated = std::get_if<MessageUpdated>(&event)) {
    for (auto& m : messages_) {
      if (m.id == updated->message.id) m = updated->message;
    }
    return false;
  }
  if (const auto* typing = std::get_if<TypingChanged>(&event)) {
    auto& who = typing_[typing->conversation];
    if (typing->typing) {
      who[typing->who.value().ToString()] = now_ms_ + kTypingShownMs;
    } else {
      who.erase(typing->who.value().ToString());
    }
    return false;
  }
  if (const auto* changed = std::get_if<IdentityChanged>(&event)) {
    status_ = "! the safety number with " +
              (changed->username.empty() ? changed->account.value().ToString() : changed->username) +
              " changed" + (changed->was_verified ? "; verify again before sending (Ctrl-V)" : "");
    return false;
  }
  if (std::holds_alternative<DecryptionFailed>(event)) {
    status_ = "! a message could not be decrypted";
    return false;
  }
  if (const auto* changed = std::get_if<GroupChanged>(&event)) {
    groups_[store::GroupConversation(changed->group.id)] = changed->group;
    return true;
  }
  if (const auto* connection = std::get_if<ConnectionChanged>(&event)) {
    connected_ = connection->connected;
    return false;
  }
  return false;
}

ChatCommand ChatModel::Select(int delta) {
  if (conversations_.empty()) return {};
  int index = 0;
  for (std::size_t i = 0; i < conversations_.size(); ++i) {
    if (open_ && conversations_[i].id == *open_) index = static_cast<int>(i);
  }
  if (open_) index += delta;
  index = std::clamp(index, 0, static_cast<int>(conversations_.size()) - 1);
  const ConversationId id = conversations_[static_cast<std::size_t>(index)].id;
  if (open_ == id && !messages_.empty()) return {};
  Open(id, conversations_[static_cast<std::size_t>(index)].title);
  return {ChatCommand::Kind::kOpen, id, {}};
}

ChatCommand ChatModel::Submit() {
  std::string text = compose_;
  if (text.empty()) return {};
  if (text[0] == '/') {
    compose_.clear();
    std::vector<std::string> words;
    std::size_t at = 0;
    while (at < text.size()) {
      const auto begin = text.find_first_not_of(' ', at);
      if (begin == std::string::npos) break;
      const auto end = text.find(' ', begin);
      words.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
      at = end == std::string::npos ? text.size() : end;
    }
    const std::string command = words.front();
    words.erase(words.begin());
    return RunSlashCommand(command, std::move(words));
  }
  if (!open_) {
    status_ = "no conversation open: /new USERNAME starts one";
    return {};
  }
  compose_.clear();
  scroll_ = 0;
  // The message itself ends the peer's typing indicator.
  typing_sent_to_.reset();
  return {ChatCommand::Kind::kSend, *open_, std::move(text)};
}

ChatCommand ChatModel::RunSlashCommand(const std::string& command, std::vector<std::string> words) {
  using Kind = ChatCommand::Kind;
  const ConversationEntry* entry = open_entry();
  // The rest of the line after the command, for a path or a name.
  std::string rest;
  for (const auto& w : words) rest += (rest.empty() ? "" : " ") + w;
  if ((command == "/new" || command == "/msg") && words.size() == 1)
    return {Kind::kNewConversation, {}, words[0]};
  if (command == "/quit") return {Kind::kQuit};
  if (command == "/help") {
    overlay_ = Overlay::kHelp;
    return {};
  }
  if (command == "/group") {
    const std::string sub = words.empty() ? "" : words.front();
    if (!words.empty()) words.erase(words.begin());
    if (sub == "create" && words.size() >= 2) {
      std::string name = words.front();
      words.erase(words.begin());
      return {Kind::kGroupCreate, {}, std::move(name), std::move(words)};
    }
    if (sub == "create") {
      status_ = "/group create NAME USER...";
      return {};
    }
    if (entry == nullptr || !entry->group) {
      status_ = "open a group first (/group create NAME USER... makes one)";
      return {};
    }
    if (sub == "add" && !words.empty()) return {Kind::kGroupAdd, entry->id, {}, std::move(words)};
    if (sub == "remove" && !words.empty()) return {Kind::kGroupRemove, entry->id, {}, std::move(words)};
    if (sub == "admin" && !words.empty()) return {Kind::kGroupAdmin, entry->id, {}, std::move(words)};
    if (sub == "unadmin" && !words.empty()) return {Kind::kGroupUnadmin, entry->id, {}, std::move(words)};
    if (sub == "leave" && words.empty()) return {Kind::kGroupLeave, entry->id};
    if (sub == "rename" && !words.empty()) {
      std::string name;
      for (const auto& w : words) name += (name.empty() ? "" : " ") + w;
      return {Kind::kGroupRename, entry->id, std::move(name)};
    }
    status_ =
        "/group create NAME USER...  /group add USER...  /group remove USER...  /group admin USER...  /group "
        "unadmin USER...  /group rename NAME  /group leave";
    return {};
  }
  if (entry == nullptr) {
    status_ = "unknown command, or no conversation open; /help lists them";
    return {};
  }
  if (command == "/accept") return {Kind::kAccept, entry->id};
  if (command == "/block") return {Kind::kBlock, entry->id};
  if (command == "/verify") return {Kind::kShowSafety, entry->id};
  if (command == "/attach" && !rest.empty()) return {Kind::kAttach, entry->id, rest};
  if (command == "/save" && !words.empty()) {
    int number = 0;
    for (char c : words[0]) {
      if (c < '0' || c > '9' || number > 100'000) {
        number = 0;
        break;
      }
      number = number * 10 + (c - '0');
    }
    std::optional<MessageId> found;
    for (const auto& m : messages_) {
      if (number > 0 && AttachmentNumber(m.id) == number) found = m.id;
    }
    if (!found) {
      status_ = "! no file " + SanitizeForTerminal(words[0], unicode_) + " here: /save N [PATH]";
      return {};
    }
    // S2: a message request's files are never fetched.
    if (entry->request) {
      status_ = "! a message request's files are not fetched: accept it first (Ctrl-A)";
      return {};
    }
    std::string path;
    for (std::size_t i = 1; i < words.size(); ++i) path += (path.empty() ? "" : " ") + words[i];
    ChatCommand save{Kind::kSave, entry->id, std::move(path)};
    save.message = *found;
    return save;
  }
  status_ = "unknown command; /help lists them";
  return {};
}

ChatCommand ChatModel::TypingKey() {
  last_key_at_ms_ = now_ms_;
  const ConversationEntry* entry = open_entry();
  // S2: never to a message request.
  if (entry == nullptr || entry->request || compose_.empty() || compose_[0] == '/') return {};
  if (typing_sent_to_ == entry->id && now_ms_ - typing_sent_at_ms_ < kTypingRefreshMs) return {};
  typing_sent_to_ = entry->id;
  typing_sent_at_ms_ = now_ms_;
  ChatCommand started{ChatCommand::Kind::kTyping, entry->id};
  started.typing = true;
  return started;
}

ChatCommand ChatModel::Tick(std::int64_t now_ms) {
  now_ms_ = now_ms;
  if (!typing_sent_to_) return {};
  if (typing_sent_to_ == open_ && !compose_.empty() && compose_[0] != '/' &&
      now_ms_ - last_key_at_ms_ < kTypingIdleMs)
    return {};
  ChatCommand stopped{ChatCommand::Kind::kTyping, *typing_sent_to_};
  typing_sent_to_.reset();
  return stopped;
}

ChatCommand ChatModel::HandleKey(const KeyPress& key) {
  if (overlay_ != Overlay::kNone) {
    if (key.kind == KeyKind::kEscape || (key.kind == KeyKind::kChar && (key.ch == 'q' || key.ch == 'Q')) ||
        key.kind == KeyKind::kEnter) {
      overlay_ = Overlay::kNone;
      return {};
    }
    if (overlay_ == Overlay::kSafetyNumber && open_ && key.kind == KeyKind::kChar &&
        (key.ch == 'm' || key.ch == 'M'))
      return {ChatCommand::Kind::kMarkVerified, *open_, {}};
    if (key.kind == KeyKind::kCtrl && (key.ch == 'q' || key.ch == 'c'))
      return {ChatCommand::Kind::kQuit, {}, {}};
    return {};
  }
  switch (key.kind) {
    case KeyKind::kChar: {
      if (key.ch < 0x20 || key.ch == 0x7f || key.ch > 0x10ffff) return {};
      std::string encoded;
      AppendUtf8(encoded, key.ch);
      if (compose_.size() + encoded.size() <= kMaxTextBytes) compose_ += encoded;
      return TypingKey();
    }
    case KeyKind::kBackspace:
      while (!compose_.empty()) {
        const auto last = static_cast<unsigned char>(compose_.back());
        compose_.pop_back();
        if ((last & 0xc0) != 0x80) break;
      }
      return {};
    case KeyKind::kEnter:
      return Submit();
    case KeyKind::kUp:
      return Select(-1);
    case KeyKind::kDown:
      return Select(1);
    case KeyKind::kPageUp:
      scroll_ += 5;
      return {};
    case KeyKind::kPageDown:
      scroll_ = std::max(0, scroll_ - 5);
      return {};
    case KeyKind::kEscape:
      compose_.clear();
      return {};
    case KeyKind::kCtrl:
      switch (key.ch) {
        case 'q':
        case 'c':
          return {ChatCommand::Kind::kQuit, {}, {}};
        case 'p':
          return Select(-1);
        case 'n':
          return Select(1);
        case 'a':
          if (const auto* e = open_entry(); e != nullptr && e->request)
            return {ChatCommand::Kind::kAccept, e->id, {}};
          return {};
        case 'b':
          if (const auto* e = open_entry(); e != nullptr && e->request)
            return {ChatCommand::Kind::kBlock, e->id, {}};
          return {};
        case 'v':
          if (open_) return {ChatCommand::Kind::kShowSafety, *open_, {}};
          return {};
        case 'u':
          compose_.clear();
          return {};
        default:
          return {};
      }
    default:
      return {};
  }
}

// ---- Layout ----

namespace {

std::vector<Row> MessageRows(const ChatModel& model, const ConversationEntry* entry, int width) {
  std::vector<Row> rows;
  const bool unicode = model.unicode();
  const std::string peer = entry != nullptr ? SanitizeForTerminal(entry->title, unicode) : "";
  for (const auto& m : model.messages()) {
    const bool outgoing = m.direction == Direction::kOutgoing;
    std::string name =
        outgoing ? model.self_name() : (entry != nullptr && entry->group ? model.NameOf(m.sender) : peer);
    const AttachmentInfo* attachment = m.deleted ? nullptr : model.attachment(m.id);
    std::string text = m.deleted ? std::string("[deleted]") : SanitizeForTerminal(m.body, unicode);
    if (attachment != nullptr) {
      std::string marker =
          "[file " + std::to_string(model.AttachmentNumber(m.id)) + ": " +
          SanitizeForTerminal(attachment->file_name.empty() ? "unnamed" : attachment->file_name, unicode) +
          ", " + HumanSize(attachment->size);
      if (m.request) {
        marker += ", not fetched: message request]";
      } else if (!attachment->path.empty() && !outgoing) {
        marker += ", saved]";
      } else {
        marker += outgoing ? "]" : "; /save " + std::to_string(model.AttachmentNumber(m.id)) + " PATH]";
      }
      text = text.empty() ? marker : text + " " + marker;
    }
    if (m.edited && !m.deleted) text += " (edited)";
    for (const auto& r : m.reactions) text += " " + SanitizeForTerminal(r.emoji, unicode);
    if (outgoing) text += StatusMark(m.status, unicode) + model.receipt_summary(m.id);
    const std::string prefix = ClockTime(m.received_at_ms) + " " + SanitizeForTerminal(name, unicode) + ": ";
    const int prefix_width = DisplayWidth(prefix);
    const int body_width = std::max(8, width - prefix_width);
    auto lines = Wrap(text, body_width);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      Row row;
      if (i == 0) {
        row.push_back({ClockTime(m.received_at_ms) + " ", Style::kDim});
        row.push_back({SanitizeForTerminal(name, unicode) + ": ", outgoing ? Style::kDim : Style::kBold});
      } else {
        row.push_back({std::string(static_cast<std::size_t>(prefix_width), ' '), Style::kNormal});
      }
      row.push_back({lines[i], m.status == MessageStatus::kFailed ? Style::kAlert : Style::kNormal});
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::vector<Row> SafetyRows(const ChatModel& model, const ConversationEntry* entry) {
  std::vector<Row> rows;
  const std::string title = entry != nullptr ? SanitizeForTerminal(entry->title, model.unicode()) : "";
  rows.push_back({{"Safety number with " + title, Style::kBold}});
  rows.push_back({});
  const auto& number = model.safety_number();
  if (number) {
    const std::string& digits = number->digits;
    for (std::size_t line = 0; line * 20 < digits.size(); ++line) {
      std::string text;
      for (std::size_t group = 0; group < 4; ++group) {
        const std::size_t at = line * 20 + group * 5;
        if (at < digits.size()) text += digits.substr(at, 5) + " ";
      }
      rows.push_back({{"  " + text, Style::kNormal}});
    }
    rows.push_back({});
    rows.push_back(
        {{number->verified ? "verified" : "not verified", number->verified ? Style::kBold : Style::kAlert}});
  }
  rows.push_back({});
  rows.push_back({{"Compare these digits with your contact (in person or on a call).", Style::kNormal}});
  rows.push_back({{"m: mark verified   Esc: close", Style::kDim}});
  return rows;
}

std::vector<Row> HelpRows() {
  const char* lines[] = {
      "Keys",
      "  Up/Down, Ctrl-P/Ctrl-N   previous / next conversation",
      "  PageUp/PageDown          scroll the messages",
      "  Enter                    send what you typed",
      "  Ctrl-A / Ctrl-B          accept / block a message request",
      "  Ctrl-V                   safety number (m marks verified)",
      "  Ctrl-U, Esc              clear the line",
      "  Ctrl-Q                   quit",
      "Commands",
      "  /new USERNAME            start a conversation",
      "  /attach PATH             send a file",
      "  /save N [PATH]           fetch file N of this conversation (and copy it to PATH)",
      "  /group create NAME USER...   a group with these members",
      "  /group add USER...  /group remove USER...  /group admin USER...",
      "  /group unadmin USER...   take admin rights back",
      "  /group rename NAME  /group leave",
      "  /accept  /block  /verify  /help  /quit",
      "",
      "Esc: close",
  };
  std::vector<Row> rows;
  for (const char* line : lines)
    rows.push_back({{line, line[0] == ' ' || line[0] == 0 ? Style::kNormal : Style::kBold}});
  return rows;
}

}  // namespace

ChatFrame RenderChat(const ChatModel& model, int rows, int cols) {
  ChatFrame frame;
  if (rows <= 0 || cols <= 0) return frame;
  if (rows < 6 || cols < 24) {
    frame.rows.assign(static_cast<std::size_t>(rows), PadRow({}, cols));
    frame.rows[0] = PadRow({{"terminal too small", Style::kAlert}}, cols);
    return frame;
  }
  const bool unicode = model.unicode();
  const ConversationEntry* entry = model.open_entry();
  // The list shows beside the conversation when there is room, and alone
  // when nothing is open.
  const int list_width = cols >= 60 ? std::min(28, cols / 3) : (entry == nullptr ? cols : 0);
  const int pane_left = list_width > 0 && list_width < cols ? list_width + 1 : 0;
  const int pane_width = list_width >= cols ? 0 : cols - pane_left;
  const int body_rows = rows - 3;  // title, status, compose

  // Title bar.
  const std::string me = " Parley " + std::string(unicode ? "\xe2\x80\x94 " : "- ") +
                         SanitizeForTerminal(model.self_name(), unicode);
  const std::string state = model.connected() ? "connected " : "offline ";
  Row title{{me, Style::kReverse}};
  const int gap = cols - DisplayWidth(me) - DisplayWidth(state);
  if (gap > 0) title.push_back({std::string(static_cast<std::size_t>(gap), ' '), Style::kReverse});
  title.push_back({state, Style::kReverse});
  frame.rows.push_back(PadRow(std::move(title), cols));

  // Body: list | conversation.
  std::vector<Row> list_rows;
  if (list_width > 0) {
    if (model.conversations().empty()) list_rows.push_back({{"(no conversations)", Style::kDim}});
    for (const auto& c : model.conversations()) {
      std::string label = (c.request ? "? " : c.group ? "# " : "  ") + SanitizeForTerminal(c.title, unicode);
      std::string count = c.unread > 0 ? " (" + std::to_string(c.unread) + ")" : "";
      const bool selected = entry != nullptr && entry->id == c.id;
      const int room = list_width - DisplayWidth(count);
      label = FitWidth(label, std::max(0, room));
      Row row{{label, selected ? Style::kSelected : (c.unread > 0 ? Style::kBold : Style::kNormal)},
              {count, Style::kBold}};
      list_rows.push_back(PadRow(std::move(row), list_width));
    }
  }
  std::vector<Row> pane_rows;
  if (pane_width > 0) {
    if (model.overlay() == Overlay::kSafetyNumber) {
      pane_rows = SafetyRows(model, entry);
    } else if (model.overlay() == Overlay::kHelp) {
      pane_rows = HelpRows();
    } else if (entry == nullptr) {
      pane_rows.push_back({{"No conversation open. /new USERNAME starts one; /help for keys.", Style::kDim}});
    } else {
      Row header{{(entry->group ? "# " : "") + SanitizeForTerminal(entry->title, unicode), Style::kBold}};
      if (entry->request) header.push_back({"  message request: Ctrl-A accept, Ctrl-B block", Style::kAlert});
      if (const Group* group = entry->group ? model.group(entry->id) : nullptr) {
        std::string members;
        for (const auto& account : group->members) {
          const bool admin =
              std::find(group->admins.begin(), group->admins.end(), account) != group->admins.end();
          members += (members.empty() ? "" : ", ") + SanitizeForTerminal(model.NameOf(account), unicode) +
                     (admin ? " (admin)" : "");
        }
        header.push_back({group->active ? "  " + members : "  (not a member any more)", Style::kDim});
      }
      pane_rows.push_back(std::move(header));
      auto lines = MessageRows(model, entry, pane_width);
      const int visible = body_rows - 1;
      const int scroll =
          std::clamp(model.scroll_offset(), 0, std::max(0, static_cast<int>(lines.size()) - visible));
      const int end = static_cast<int>(lines.size()) - scroll;
      const int begin = std::max(0, end - visible);
      for (int i = begin; i < end; ++i) pane_rows.push_back(lines[static_cast<std::size_t>(i)]);
    }
  }
  for (int r = 0; r < body_rows; ++r) {
    Row row;
    if (list_width > 0) {
      Row part = static_cast<std::size_t>(r) < list_rows.size() ? list_rows[static_cast<std::size_t>(r)]
                                                                : PadRow({}, list_width);
      for (auto& s : PadRow(std::move(part), std::min(list_width, cols))) row.push_back(std::move(s));
      if (pane_left > 0) row.push_back({"|", Style::kDim});
    }
    if (pane_width > 0) {
      Row part =
          static_cast<std::size_t>(r) < pane_rows.size() ? pane_rows[static_cast<std::size_t>(r)] : Row{};
      for (auto& s : PadRow(std::move(part), pane_width)) row.push_back(std::move(s));
    }
    frame.rows.push_back(PadRow(std::move(row), cols));
  }

  // Status line: typing, the last status, or a hint.
  std::string status = model.status();
  if (const auto who = entry != nullptr ? model.typing(entry->id) : std::vector<std::string>{};
      !who.empty()) {
    status.clear();
    for (std::size_t i = 0; i < who.size(); ++i)
      status += (i == 0 ? "" : i + 1 == who.size() ? " and " : ", ") + SanitizeForTerminal(who[i], unicode);
    status +=
        std::string(who.size() == 1 ? " is typing" : " are typing") + (unicode ? "\xe2\x80\xa6" : "...");
  }
  if (status.empty())
    status = "Enter: send   Up/Down: conversations   Ctrl-V: safety number   /help   Ctrl-Q: quit";
  frame.rows.push_back(PadRow({{status, status[0] == '!' ? Style::kAlert : Style::kDim}}, cols));

  // Compose line: its end stays visible.
  const std::string prompt = "> ";
  std::string shown = SanitizeForTerminal(model.compose(), unicode);
  const int room = cols - DisplayWidth(prompt) - 1;
  while (DisplayWidth(shown) > room) {
    std::size_t i = 0;
    (void)DecodeAt(shown, i);
    shown.erase(0, i);
  }
  frame.rows.push_back(PadRow({{prompt, Style::kBold}, {shown, Style::kNormal}}, cols));
  frame.cursor_row = rows - 1;
  frame.cursor_col = DisplayWidth(prompt) + DisplayWidth(shown);
  return frame;
}

}  // namespace parley::chat
