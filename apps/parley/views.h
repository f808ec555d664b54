// How the command line and the daemon present the client's records: the
// same JSON objects from `parley --json` and from JSON-RPC, and the same
// lookups of what a user types.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "client/client.h"

namespace parley::cli {

const char* StatusName(client::MessageStatus s);
const char* StateName(client::ContactState s);
nlohmann::json MessageJson(const client::StoredMessage& m);
nlohmann::json ContactJson(const client::Contact& c);
nlohmann::json ConversationJson(const client::Conversation& c);
nlohmann::json GroupJson(const client::Group& g);
nlohmann::json AttachmentJson(const client::AttachmentInfo& a);
// A received message as `parley receive` shows it: MessageJson with its
// attachment (when it has one) and, in a group, the group's name.
nlohmann::json ReceivedMessageJson(client::Client& client, const client::StoredMessage& m);
// The group a message belongs to, if it is a group message.
std::optional<client::Group> GroupOfMessage(client::Client& client, const client::StoredMessage& m);
// A group by its conversation id ("group:" and 32 hex digits), a prefix of
// its hex id (at least 4 digits) or its name, when only one group matches.
client::ClientResult<client::ConversationId> FindGroup(client::Client& client, const std::string& given);
// The conversation id for a peer given by username (any case) or account
// id, or a group conversation id as given. kNotFound for an unknown username.
client::ClientResult<client::ConversationId> ConversationFor(client::Client& client, const std::string& peer);
// A message of a conversation by its full id or an id prefix as printed (at
// least 4 hex digits). kInvalidArgument for a shorter or ambiguous prefix,
// kNotFound when no message matches.
client::ClientResult<client::MessageId> FindMessage(client::Client& client,
                                                    const client::ConversationId& conversation,
                                                    const std::string& prefix);
// The contact's username for display, or the account id as given.
std::string NameFor(client::Client& client, const std::string& account);
// HOST:PORT (port 1-65535) and an optional certificate pin (64 hex digits).
client::ClientResult<client::ServerAddress> ParseServer(const std::string& server, const std::string& pin);

}  // namespace parley::cli
