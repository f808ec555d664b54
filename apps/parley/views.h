// How the command line and the daemon present the client's records: the
// same JSON objects from `parley --json` and from JSON-RPC, and the same
// lookups of what a user types.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"

namespace parley::cli {

const char* StatusName(client::MessageStatus s);
const char* StateName(client::ContactState s);
nlohmann::json MessageJson(const client::StoredMessage& m);
nlohmann::json ContactJson(const client::Contact& c);
nlohmann::json ConversationJson(const client::Conversation& c);
nlohmann::json GroupJson(const client::Group& g);
nlohmann::json AttachmentJson(const client::AttachmentInfo& a);
// A message as `parley receive`, `history --json` and the daemon show it:
// MessageJson with its attachment (when it has one), in a group the group's
// name and, for one of our group messages, `receipts` (GroupReceiptsJson).
nlohmann::json ReceivedMessageJson(client::Client& client, const client::StoredMessage& m);
// How many of the group's other current members sent a delivery or read
// receipt (Client::Receipts: the newest per account, a read one delivered
// too; a "sent" entry only says the message went to the member).
struct GroupReceiptCounts {
  std::size_t members = 0;
  std::size_t delivered = 0;
  std::size_t read = 0;
};
GroupReceiptCounts CountGroupReceipts(const client::Group& group,
                                      const std::vector<client::MessageReceipt>& receipts,
                                      const std::optional<AccountId>& own);
// " (delivered to 2 of 3, read by 1)", from CountGroupReceipts; empty with no other member.
std::string GroupReceiptSummary(const client::Group& group,
                                const std::vector<client::MessageReceipt>& receipts,
                                const std::optional<AccountId>& own);
// {"members": 3, "delivered": 2, "read": 1, "from": [{"account", "status"
// ("sent", "delivered" or "read"), "at"}]}: the counts of CountGroupReceipts
// and every account's receipt as the store holds it.
nlohmann::json GroupReceiptsJson(const client::Group& group,
                                 const std::vector<client::MessageReceipt>& receipts,
                                 const std::optional<AccountId>& own);
// The same for a message as the store has it now; empty for a message
// that is not one of ours in a group.
std::string GroupReceiptSummary(client::Client& client, const client::StoredMessage& m);
// The group a message belongs to, if it is a group message.
std::optional<client::Group> GroupOfMessage(client::Client& client, const client::StoredMessage& m);
// A group by its conversation id ("group:" and 32 hex digits), a prefix of
// its hex id (at least 4 digits) or its name, when only one group matches.
client::ClientResult<client::ConversationId> FindGroup(client::Client& client, const std::string& given);
// The conversation id for a peer given by username (any case) or account
// id, or a group conversation id as given. kNotFound for an unknown username.
client::ClientResult<client::ConversationId> ConversationFor(client::Client& client, const std::string& peer);
// Where a message may go: a peer as ConversationFor takes it or, when no
// contact has that name, a group as FindGroup takes it (name or id prefix).
client::ClientResult<client::ConversationId> DestinationFor(client::Client& client, const std::string& given);
// Where a new message goes: DestinationFor, or the text as given when it
// names no contact or group (a username the server looks up, as SendText does).
client::ClientResult<std::string> SendDestination(client::Client& client, const std::string& given);
// A message id as the command line prints it: its last 8 hex digits (a
// time-ordered id's first digits are the same for every message of a minute).
std::string ShortMessageId(const client::MessageId& id);
// A message of a conversation by its full id, its last hex digits as
// printed, or an id prefix (at least 4 hex digits). kInvalidArgument for a shorter or ambiguous prefix,
// kNotFound when no message matches.
client::ClientResult<client::MessageId> FindMessage(client::Client& client,
                                                    const client::ConversationId& conversation,
                                                    const std::string& prefix);
// The contact's username for display, or the account id as given.
std::string NameFor(client::Client& client, const std::string& account);
// HOST:PORT (port 1-65535) and an optional certificate pin (64 hex digits).
client::ClientResult<client::ServerAddress> ParseServer(const std::string& server, const std::string& pin);

}  // namespace parley::cli
