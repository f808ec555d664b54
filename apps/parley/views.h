// How the command line and the daemon present the client's records: the
// same JSON objects from `parley --json` and from JSON-RPC, and the same
// lookups of what a user types.
#pragma once

#include <nlohmann/json.hpp>
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
// A group by its conversation id ("group:" and 32 hex digits), a prefix of
// its hex id (at least 4 digits) or its name, when only one group matches.
client::ClientResult<client::ConversationId> FindGroup(client::Client& client, const std::string& given);

}  // namespace parley::cli
