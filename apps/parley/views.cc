#include "views.h"

#include <cctype>
#include <optional>

#include "base/hex.h"

namespace parley::cli {

using namespace parley::client;
using nlohmann::json;

const char* StatusName(MessageStatus s) {
  switch (s) {
    case MessageStatus::kSending:
      return "sending";
    case MessageStatus::kSent:
      return "sent";
    case MessageStatus::kFailed:
      return "failed";
    case MessageStatus::kDelivered:
      return "delivered";
    case MessageStatus::kRead:
      return "read";
    case MessageStatus::kReceived:
      return "received";
    case MessageStatus::kSeen:
      return "seen";
  }
  return "unknown";
}

const char* StateName(ContactState s) {
  switch (s) {
    case ContactState::kRequest:
      return "request";
    case ContactState::kAccepted:
      return "accepted";
    case ContactState::kBlocked:
      return "blocked";
  }
  return "unknown";
}

json MessageJson(const StoredMessage& m) {
  json reactions = json::array();
  for (const auto& r : m.reactions)
    reactions.push_back({{"from", r.from.value().ToString()}, {"emoji", r.emoji}});
  json j{{"id", MessageIdToHex(m.id)},
         {"conversation", m.conversation},
         {"direction", m.direction == Direction::kIncoming ? "incoming" : "outgoing"},
         {"sender", m.sender.value().ToString()},
         {"senderDevice", m.sender_device.value()},
         {"sentAt", m.sent_at_ms},
         {"receivedAt", m.received_at_ms},
         {"body", m.body},
         {"status", StatusName(m.status)},
         {"edited", m.edited},
         {"deleted", m.deleted},
         {"request", m.request},
         {"expiresAt", m.expires_at_ms},
         {"reactions", reactions}};
  if (m.quote) j["quote"] = MessageIdToHex(*m.quote);
  return j;
}

json ContactJson(const Contact& c) {
  return {{"account", c.account.value().ToString()},
          {"username", c.username},
          {"state", StateName(c.state)},
          {"verified", c.verified},
          {"identityChanged", c.identity_changed}};
}

json ConversationJson(const Conversation& c) {
  return {{"id", c.id},
          {"title", c.title},
          {"request", c.request},
          {"unread", c.unread},
          {"lastActivity", c.last_activity_ms},
          {"disappearingSeconds", c.disappearing_seconds}};
}

json GroupJson(const Group& g) {
  json members = json::array(), admins = json::array();
  for (const auto& m : g.members) members.push_back(m.value().ToString());
  for (const auto& a : g.admins) admins.push_back(a.value().ToString());
  return {{"id", store::GroupConversation(g.id)},
          {"name", g.name},
          {"members", members},
          {"admins", admins},
          {"active", g.active},
          {"request", g.request}};
}

json AttachmentJson(const AttachmentInfo& a) {
  return {{"message", MessageIdToHex(a.message)},
          {"fileName", a.file_name},
          {"contentType", a.content_type},
          {"size", a.size},
          {"path", a.path}};
}

std::optional<Group> GroupOfMessage(Client& client, const StoredMessage& m) {
  if (!store::GroupIdOf(m.conversation)) return std::nullopt;
  auto group = client.GetGroup(m.conversation);
  if (!group) return std::nullopt;
  return *group;
}

GroupReceiptCounts CountGroupReceipts(const Group& group, const std::vector<MessageReceipt>& receipts,
                                      const std::optional<AccountId>& own) {
  GroupReceiptCounts counts;
  for (const AccountId& member : group.members) {
    if (own && *own == member) continue;
    ++counts.members;
    for (const auto& r : receipts) {
      // A kSent entry only says the message went to that member.
      if (r.from != member || r.status < MessageStatus::kDelivered) continue;
      ++counts.delivered;
      if (r.status == MessageStatus::kRead) ++counts.read;
    }
  }
  return counts;
}

std::string GroupReceiptSummary(const Group& group, const std::vector<MessageReceipt>& receipts,
                                const std::optional<AccountId>& own) {
  const GroupReceiptCounts counts = CountGroupReceipts(group, receipts, own);
  if (counts.members == 0) return "";
  return " (delivered to " + std::to_string(counts.delivered) + " of " + std::to_string(counts.members) +
         ", read by " + std::to_string(counts.read) + ")";
}

namespace {

// The group and receipts of one of our group messages, nullopt for any other message.
std::optional<std::pair<Group, std::vector<MessageReceipt>>> OwnGroupMessageReceipts(Client& client,
                                                                                     const StoredMessage& m) {
  if (m.direction != Direction::kOutgoing) return std::nullopt;
  auto group = GroupOfMessage(client, m);
  if (!group) return std::nullopt;
  auto receipts = client.Receipts(m.id);
  if (!receipts) return std::nullopt;
  return std::pair(std::move(*group), std::move(*receipts));
}

std::optional<AccountId> OwnAccount(Client& client) {
  const auto self = client.account();
  return self ? std::optional(self->account) : std::nullopt;
}

}  // namespace

std::string GroupReceiptSummary(Client& client, const StoredMessage& m) {
  auto found = OwnGroupMessageReceipts(client, m);
  if (!found) return "";
  return GroupReceiptSummary(found->first, found->second, OwnAccount(client));
}

json GroupReceiptsJson(const Group& group, const std::vector<MessageReceipt>& receipts,
                       const std::optional<AccountId>& own) {
  const GroupReceiptCounts counts = CountGroupReceipts(group, receipts, own);
  json from = json::array();
  for (const auto& r : receipts) {
    from.push_back(
        {{"account", r.from.value().ToString()}, {"status", StatusName(r.status)}, {"at", r.at_ms}});
  }
  return {
      {"members", counts.members}, {"delivered", counts.delivered}, {"read", counts.read}, {"from", from}};
}

json ReceivedMessageJson(Client& client, const StoredMessage& m) {
  json j = MessageJson(m);
  if (auto attachment = client.GetAttachment(m.id); attachment && *attachment)
    j["attachment"] = AttachmentJson(**attachment);
  if (auto own = OwnGroupMessageReceipts(client, m)) {
    j["groupName"] = own->first.name;
    j["receipts"] = GroupReceiptsJson(own->first, own->second, OwnAccount(client));
  } else if (auto group = GroupOfMessage(client, m)) {
    j["groupName"] = group->name;
  }
  return j;
}

// A group by its conversation id ("group:" and 32 hex digits), a prefix of
// its hex id (at least 4 digits) or its name, when only one group matches.
ClientResult<ConversationId> FindGroup(Client& client, const std::string& given) {
  if (store::GroupIdOf(given)) return given;
  auto groups = client.Groups();
  if (!groups) return tl::unexpected(groups.error());
  std::optional<ConversationId> found;
  for (const auto& g : *groups) {
    const std::string hex = ToHex(g.id);
    if (g.name == given || (given.size() >= 4 && hex.rfind(given, 0) == 0)) {
      if (found) return Fail(ClientErrc::kInvalidArgument, "more than one group matches; give its id");
      found = store::GroupConversation(g.id);
    }
  }
  if (!found) return Fail(ClientErrc::kNotFound, "no such group");
  return *found;
}

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

ClientResult<ConversationId> ConversationFor(Client& client, const std::string& peer) {
  if (Uuid::Parse(peer) || store::GroupIdOf(peer)) return peer;
  auto contacts = client.Contacts();
  if (!contacts) return tl::unexpected(contacts.error());
  for (const auto& c : *contacts) {
    if (!c.username.empty() && Lower(c.username) == Lower(peer)) return c.account.value().ToString();
  }
  return Fail(ClientErrc::kNotFound, "no such contact");
}

ClientResult<ConversationId> DestinationFor(Client& client, const std::string& given) {
  auto peer = ConversationFor(client, given);
  if (peer || peer.error().code != ClientErrc::kNotFound) return peer;
  auto group = FindGroup(client, given);
  if (!group && group.error().code == ClientErrc::kNotFound)
    return Fail(ClientErrc::kNotFound, "no such contact or group");
  return group;
}

std::string ShortMessageId(const MessageId& id) {
  const std::string hex = MessageIdToHex(id);
  return hex.substr(hex.size() - 8);
}

ClientResult<std::string> SendDestination(Client& client, const std::string& given) {
  auto destination = DestinationFor(client, given);
  if (!destination && destination.error().code == ClientErrc::kNotFound) return given;
  return destination;
}

ClientResult<MessageId> FindMessage(Client& client, const ConversationId& conversation,
                                    const std::string& prefix) {
  if (auto full = MessageIdFromHex(prefix)) return *full;
  if (prefix.size() < 4) return Fail(ClientErrc::kInvalidArgument, "a message id prefix has 4+ hex digits");
  auto history = client.History(conversation, 1000);
  if (!history) return tl::unexpected(history.error());
  std::optional<MessageId> found;
  for (const auto& m : *history) {
    const std::string hex = MessageIdToHex(m.id);
    const bool suffix =
        hex.size() >= prefix.size() && hex.compare(hex.size() - prefix.size(), prefix.size(), prefix) == 0;
    if (hex.rfind(prefix, 0) == 0 || suffix) {
      if (found) return Fail(ClientErrc::kInvalidArgument, "the message id prefix is ambiguous");
      found = m.id;
    }
  }
  if (!found) return Fail(ClientErrc::kNotFound, "no such message");
  return *found;
}

std::string NameFor(Client& client, const std::string& account) {
  if (auto contacts = client.Contacts()) {
    for (const auto& c : *contacts) {
      if (c.account.value().ToString() == account && !c.username.empty()) return c.username;
    }
  }
  return account;
}

ClientResult<ServerAddress> ParseServer(const std::string& server, const std::string& pin) {
  const auto colon = server.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == server.size() || server.size() - colon > 6)
    return Fail(ClientErrc::kInvalidArgument, "the server is HOST:PORT");
  int port = 0;
  for (char c : server.substr(colon + 1)) {
    if (c < '0' || c > '9') return Fail(ClientErrc::kInvalidArgument, "the server is HOST:PORT");
    port = port * 10 + (c - '0');
  }
  if (port <= 0 || port > 65535) return Fail(ClientErrc::kInvalidArgument, "the server is HOST:PORT");
  if (!pin.empty() && (pin.size() != 64 || !FromHex(pin)))
    return Fail(ClientErrc::kInvalidArgument, "the pin is the server certificate's SHA-256 in 64 hex digits");
  return ServerAddress{server.substr(0, colon), static_cast<std::uint16_t>(port), pin};
}

}  // namespace parley::cli
