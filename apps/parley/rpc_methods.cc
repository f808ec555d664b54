#include "rpc_methods.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "base/hex.h"
#include "client/content.h"
#include "rpc_request.h"
#include "views.h"

namespace parley::rpc {
namespace {

using namespace parley::client;
using nlohmann::json;

// Reads named parameters; the first problem is kept and reported once all
// are read, together with any parameter the method does not take.
class Params {
 public:
  explicit Params(const json& params) : params_(params) {}

  std::string String(const char* key, bool required = true, std::string fallback = {}) {
    const json* v = Find(key, required);
    if (v == nullptr) return fallback;
    if (!v->is_string()) return Bad(key, "a string"), fallback;
    return v->get<std::string>();
  }
  bool Bool(const char* key, bool fallback) {
    const json* v = Find(key, false);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) return Bad(key, "true or false"), fallback;
    return v->get<bool>();
  }
  std::int64_t Integer(const char* key, bool required, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) {
    const json* v = Find(key, required);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer()) return Bad(key, "an integer"), fallback;
    const bool in_range = v->is_number_unsigned()
                              ? v->get<std::uint64_t>() <= static_cast<std::uint64_t>(max) &&
                                    static_cast<std::int64_t>(v->get<std::uint64_t>()) >= min
                              : v->get<std::int64_t>() >= min && v->get<std::int64_t>() <= max;
    if (!in_range) return Bad(key, "from " + std::to_string(min) + " to " + std::to_string(max)), fallback;
    return v->get<std::int64_t>();
  }

  std::vector<std::string> StringList(const char* key) {
    const json* v = Find(key, true);
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array() || v->size() > kMaxGroupMembers) return Bad(key, "an array of strings"), out;
    for (const auto& item : *v) {
      if (!item.is_string()) return Bad(key, "an array of strings"), std::vector<std::string>{};
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  // Call after reading every parameter.
  std::optional<std::string> Error() {
    if (!error_.empty()) return error_;
    for (const auto& [key, unused] : params_.items()) {
      if (!read_.count(key)) return "unknown parameter: " + Printable(key);
    }
    return std::nullopt;
  }

 private:
  const json* Find(const char* key, bool required) {
    read_.insert(key);
    auto it = params_.find(key);
    if (it == params_.end() || (it->is_null() && !required)) {
      if (required && error_.empty()) error_ = std::string("missing parameter: ") + key;
      return nullptr;
    }
    return &*it;
  }
  void Bad(const char* key, const std::string& what) {
    if (error_.empty()) error_ = std::string("parameter ") + key + " must be " + what;
  }
  // A parameter name echoed back, cut and restricted to printable ASCII.
  static std::string Printable(const std::string& key) {
    std::string out;
    for (char c : key.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return out;
  }

  const json& params_;
  std::set<std::string> read_;
  std::string error_;
};

MethodOutcome Ok(json result) { return MethodOutcome{true, std::move(result), 0, {}, nullptr}; }

MethodOutcome InvalidParams(std::string why) {
  return MethodOutcome{false, nullptr, kInvalidParams, std::move(why), nullptr};
}

MethodOutcome ClientFailure(const ClientError& e) {
  return MethodOutcome{false, nullptr, kClientErrorBase + static_cast<int>(e.code), std::string(e.message),
                       json{{"name", std::string(ClientErrcName(e.code))}}};
}

using cli::ConversationFor;
using cli::FindMessage;
using cli::ParseServer;

json AccountJson(const AccountInfo& info) {
  return {{"account", info.account.value().ToString()},
          {"device", info.device.value()},
          {"username", info.username},
          {"server", info.server.host + ":" + std::to_string(info.server.port)}};
}

using Method = std::function<MethodOutcome(Client&, Params&)>;

// Each method reads its parameters, then checks them all at once.
#define PARLEY_RPC_CHECK_PARAMS(p) \
  if (auto why = (p).Error()) return InvalidParams(std::move(*why))
#define PARLEY_RPC_TRY(var, expr) \
  auto var = (expr);              \
  if (!var) return ClientFailure(var.error())

MethodOutcome Register(Client& client, Params& p, bool link) {
  const std::string name = p.String(link ? "code" : "username");
  const std::string server = p.String("server");
  const std::string pin = p.String("pin", false);
  const std::string device_name = p.String("deviceName", false, "daemon");
  const std::string invitation = link ? std::string() : p.String("invitation", false);
  PARLEY_RPC_CHECK_PARAMS(p);
  PARLEY_RPC_TRY(address, ParseServer(server, pin));
  PARLEY_RPC_TRY(info, link ? client.Link(*address, name, device_name)
                            : client.Register(*address, name, device_name,
                                              invitation.empty() ? std::nullopt : std::optional(invitation)));
  return Ok(AccountJson(*info));
}

// groups.add, groups.remove, groups.admin (with "remove": true, RemoveGroupAdmins).
MethodOutcome GroupMembers(Client& client, Params& p,
                           ClientResult<Group> (Client::*change)(const ConversationId&,
                                                                 const std::vector<std::string>&)) {
  const std::string group = p.String("group");
  const auto members = p.StringList("members");
  PARLEY_RPC_CHECK_PARAMS(p);
  PARLEY_RPC_TRY(id, cli::FindGroup(client, group));
  PARLEY_RPC_TRY(changed, (client.*change)(*id, members));
  return Ok(cli::GroupJson(*changed));
}

MethodOutcome PeerAction(Client& client, Params& p, ClientStatus (Client::*action)(const std::string&)) {
  const std::string peer = p.String("peer");
  PARLEY_RPC_CHECK_PARAMS(p);
  PARLEY_RPC_TRY(done, (client.*action)(peer));
  return Ok(json{{"done", true}});
}

MethodOutcome ContactList(Client& client, Params& p, bool requests) {
  PARLEY_RPC_CHECK_PARAMS(p);
  PARLEY_RPC_TRY(list, requests ? client.Requests() : client.Contacts());
  json out = json::array();
  for (const auto& c : *list) out.push_back(cli::ContactJson(c));
  return Ok(out);
}

// A message of a conversation: react, edit, delete.
MethodOutcome MessageAction(Client& client, Params& p, const char* what) {
  const std::string peer = p.String("peer");
  const std::string message = p.String("message");
  const std::string emoji = std::string_view(what) == "react" ? p.String("emoji") : std::string();
  const std::string text = std::string_view(what) == "edit" ? p.String("text") : std::string();
  PARLEY_RPC_CHECK_PARAMS(p);
  PARLEY_RPC_TRY(conversation, ConversationFor(client, peer));
  PARLEY_RPC_TRY(id, FindMessage(client, *conversation, message));
  const std::string_view kind(what);
  ClientStatus done = kind == "react"  ? client.React(*conversation, *id, emoji)
                      : kind == "edit" ? client.Edit(*conversation, *id, text)
                                       : client.DeleteForEveryone(*conversation, *id);
  if (!done) return ClientFailure(done.error());
  return Ok(json{{"done", true}});
}

const std::map<std::string, Method, std::less<>>& Methods() {
  static const auto* methods = new std::map<std::string, Method, std::less<>>{
      {"whoami",
       [](Client& client, Params& p) {
         PARLEY_RPC_CHECK_PARAMS(p);
         auto info = client.account();
         if (!info) return ClientFailure({ClientErrc::kNotRegistered, "register or link this profile first"});
         json out = AccountJson(*info);
         out["connected"] = client.connected();
         return Ok(out);
       }},
      {"register", [](Client& client, Params& p) { return Register(client, p, false); }},
      {"link", [](Client& client, Params& p) { return Register(client, p, true); }},
      {"devices",
       [](Client& client, Params& p) {
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(list, client.ListDevices());
         json out = json::array();
         for (const auto& d : *list) {
           out.push_back({{"id", d.id.value()},
                          {"name", d.name},
                          {"createdAt", d.created_at_ms},
                          {"lastSeenAt", d.last_seen_at_ms},
                          {"thisDevice", d.this_device}});
         }
         return Ok(out);
       }},
      {"devices.linkCode",
       [](Client& client, Params& p) {
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(made, client.CreateLinkCode());
         return Ok(json{{"code", made->code}, {"expiresAt", made->expires_at_ms}, {"uri", made->uri}});
       }},
      {"devices.unlink",
       [](Client& client, Params& p) {
         const auto id = p.Integer("id", true, 0, 1, 0xffffffff);
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(done, client.UnlinkDevice(DeviceId(static_cast<std::uint32_t>(id))));
         return Ok(json{{"unlinked", id}});
       }},
      {"sync",
       [](Client& client, Params& p) {
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(requested, client.RequestSync());
         return Ok(json{{"requested", true}});
       }},
      {"send",
       [](Client& client, Params& p) {
         const std::string peer = p.String("peer");
         const std::string text = p.String("text");
         const std::string quote = p.String("quote", false);
         PARLEY_RPC_CHECK_PARAMS(p);
         std::optional<MessageId> quoted;
         if (!quote.empty()) {
           PARLEY_RPC_TRY(conversation, ConversationFor(client, peer));
           PARLEY_RPC_TRY(id, FindMessage(client, *conversation, quote));
           quoted = *id;
         }
         PARLEY_RPC_TRY(sent, client.SendText(peer, text, quoted));
         return Ok(cli::ReceivedMessageJson(client, *sent));
       }},
      {"receive",
       [](Client& client, Params& p) {
         const auto timeout = p.Integer("timeout", false, 0, 0, 60);
         const bool mark_read = p.Bool("markRead", false);
         PARLEY_RPC_CHECK_PARAMS(p);
         if (timeout > 0 && client.connected()) {
           // What is in the store is answered even when the drain did not finish.
           (void)client.WaitUntilDrained(std::chrono::seconds(timeout));
         }
         PARLEY_RPC_TRY(conversations, client.Conversations());
         json messages = json::array();
         for (const auto& c : *conversations) {
           if (c.unread <= 0) continue;
           PARLEY_RPC_TRY(history, client.History(c.id, static_cast<std::size_t>(c.unread)));
           for (const auto& m : *history) {
             if (m.direction == Direction::kIncoming && m.status == MessageStatus::kReceived)
               messages.push_back(cli::ReceivedMessageJson(client, m));
           }
           if (mark_read) (void)client.MarkRead(c.id);
         }
         return Ok(json{{"messages", messages}, {"connected", client.connected()}});
       }},
      {"conversations",
       [](Client& client, Params& p) {
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(list, client.Conversations());
         json out = json::array();
         for (const auto& c : *list) out.push_back(cli::ConversationJson(c));
         return Ok(out);
       }},
      {"contacts", [](Client& client, Params& p) { return ContactList(client, p, false); }},
      {"contacts.add",
       [](Client& client, Params& p) {
         const std::string username = p.String("username");
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(added, client.AddContact(username));
         return Ok(cli::ContactJson(*added));
       }},
      {"contacts.block", [](Client& client, Params& p) { return PeerAction(client, p, &Client::Block); }},
      {"contacts.unblock", [](Client& client, Params& p) { return PeerAction(client, p, &Client::Unblock); }},
      {"requests", [](Client& client, Params& p) { return ContactList(client, p, true); }},
      {"requests.accept",
       [](Client& client, Params& p) { return PeerAction(client, p, &Client::AcceptRequest); }},
      {"requests.block", [](Client& client, Params& p) { return PeerAction(client, p, &Client::Block); }},
      {"verify",
       [](Client& client, Params& p) {
         const std::string peer = p.String("peer");
         const bool mark = p.Bool("mark", false);
         const std::string scanned = p.String("scanned", false);
         PARLEY_RPC_CHECK_PARAMS(p);
         std::optional<std::vector<std::uint8_t>> scanned_bytes;
         if (!scanned.empty()) {
           auto bytes = FromHex(scanned);
           if (!bytes) return InvalidParams("parameter scanned must be hex");
           scanned_bytes = *bytes;
         }
         if (mark || scanned_bytes) {
           PARLEY_RPC_TRY(marked, client.MarkVerified(peer, scanned_bytes));
         }
         PARLEY_RPC_TRY(number, client.GetSafetyNumber(peer));
         return Ok(json{{"safetyNumber", number->digits},
                        {"scannable", ToHex(number->scannable)},
                        {"verified", number->verified}});
       }},
      {"history",
       [](Client& client, Params& p) {
         const std::string peer = p.String("peer");
         const auto limit = p.Integer("limit", false, 50, 1, 100'000);
         const bool mark_read = p.Bool("markRead", true);
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(conversation, ConversationFor(client, peer));
         PARLEY_RPC_TRY(list, client.History(*conversation, static_cast<std::size_t>(limit)));
         json out = json::array();
         for (const auto& m : *list) out.push_back(cli::ReceivedMessageJson(client, m));
         // Read receipts need the server; the history never depends on it.
         if (mark_read) (void)client.MarkRead(*conversation);
         return Ok(out);
       }},
      {"markRead",
       [](Client& client, Params& p) {
         const std::string peer = p.String("peer");
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(conversation, ConversationFor(client, peer));
         PARLEY_RPC_TRY(done, client.MarkRead(*conversation));
         return Ok(json{{"done", true}});
       }},
      {"typing",
       [](Client& client, Params& p) {
         const std::string peer = p.String("peer");
         const bool typing = p.Bool("typing", true);
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(conversation, ConversationFor(client, peer));
         PARLEY_RPC_TRY(done, client.SendTyping(*conversation, typing));
         return Ok(json{{"done", true}});
       }},
      {"react", [](Client& client, Params& p) { return MessageAction(client, p, "react"); }},
      {"edit", [](Client& client, Params& p) { return MessageAction(client, p, "edit"); }},
      {"delete", [](Client& client, Params& p) { return MessageAction(client, p, "delete"); }},
      {"timer",
       [](Client& client, Params& p) {
         const std::string peer = p.String("peer");
         const auto seconds = p.Integer("seconds", true, 0, 0, 0xffffffff);
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(conversation, ConversationFor(client, peer));
         PARLEY_RPC_TRY(done,
                        client.SetDisappearingTimer(*conversation, static_cast<std::uint32_t>(seconds)));
         return Ok(json{{"seconds", seconds}});
       }},
      {"groups",
       [](Client& client, Params& p) {
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(list, client.Groups());
         json out = json::array();
         for (const auto& g : *list) out.push_back(cli::GroupJson(g));
         return Ok(out);
       }},
      {"groups.create",
       [](Client& client, Params& p) {
         const std::string name = p.String("name");
         const auto members = p.StringList("members");
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(created, client.CreateGroup(name, members));
         return Ok(cli::GroupJson(*created));
       }},
      {"groups.add",
       [](Client& client, Params& p) { return GroupMembers(client, p, &Client::AddGroupMembers); }},
      {"groups.remove",
       [](Client& client, Params& p) { return GroupMembers(client, p, &Client::RemoveGroupMembers); }},
      {"groups.admin",
       [](Client& client, Params& p) {
         const bool remove = p.Bool("remove", false);
         return GroupMembers(client, p, remove ? &Client::RemoveGroupAdmins : &Client::AddGroupAdmins);
       }},
      {"groups.rename",
       [](Client& client, Params& p) {
         const std::string group = p.String("group");
         const std::string name = p.String("name");
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(id, cli::FindGroup(client, group));
         PARLEY_RPC_TRY(renamed, client.RenameGroup(*id, name));
         return Ok(cli::GroupJson(*renamed));
       }},
      {"groups.leave",
       [](Client& client, Params& p) {
         const std::string group = p.String("group");
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(id, cli::FindGroup(client, group));
         PARLEY_RPC_TRY(left, client.LeaveGroup(*id));
         return Ok(json{{"done", true}});
       }},
      {"groups.send",
       [](Client& client, Params& p) {
         const std::string group = p.String("group");
         const std::string text = p.String("text");
         const std::string quote = p.String("quote", false);
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(id, cli::FindGroup(client, group));
         std::optional<MessageId> quoted;
         if (!quote.empty()) {
           PARLEY_RPC_TRY(found, FindMessage(client, *id, quote));
           quoted = *found;
         }
         PARLEY_RPC_TRY(sent, client.SendGroupText(*id, text, quoted));
         return Ok(cli::ReceivedMessageJson(client, *sent));
       }},
      {"attach",
       [](Client& client, Params& p) {
         const std::string peer = p.String("peer");
         const std::string file = p.String("file");
         const std::string caption = p.String("caption", false);
         const std::string content_type = p.String("contentType", false);
         PARLEY_RPC_CHECK_PARAMS(p);
         // The daemon's working directory is not the caller's.
         if (!std::filesystem::path(file).is_absolute())
           return InvalidParams("parameter file must be an absolute path");
         PARLEY_RPC_TRY(destination, cli::SendDestination(client, peer));
         PARLEY_RPC_TRY(sent, client.SendAttachment(*destination, file, caption, content_type));
         return Ok(cli::ReceivedMessageJson(client, *sent));
       }},
      {"attach.get",
       [](Client& client, Params& p) {
         const std::string message = p.String("message");
         const std::string peer = p.String("peer", false);
         PARLEY_RPC_CHECK_PARAMS(p);
         std::optional<MessageId> id = MessageIdFromHex(message);
         if (!id) {
           if (peer.empty()) return InvalidParams("parameter peer is needed with a message id prefix");
           PARLEY_RPC_TRY(conversation, cli::DestinationFor(client, peer));
           PARLEY_RPC_TRY(found, FindMessage(client, *conversation, message));
           id = *found;
         }
         PARLEY_RPC_TRY(got, client.DownloadAttachment(*id));
         return Ok(cli::AttachmentJson(*got));
       }},
      {"export",
       [](Client& client, Params& p) {
         PARLEY_RPC_CHECK_PARAMS(p);
         PARLEY_RPC_TRY(contacts, client.Contacts());
         PARLEY_RPC_TRY(conversations, client.Conversations());
         json out{{"contacts", json::array()}, {"conversations", json::array()}};
         for (const auto& c : *contacts) out["contacts"].push_back(cli::ContactJson(c));
         for (const auto& c : *conversations) {
           PARLEY_RPC_TRY(messages, client.History(c.id, 1'000'000));
           json m = json::array();
           for (const auto& message : *messages) m.push_back(cli::ReceivedMessageJson(client, message));
           json conversation = cli::ConversationJson(c);
           conversation["messages"] = std::move(m);
           out["conversations"].push_back(std::move(conversation));
         }
         return Ok(out);
       }},
  };
  return *methods;
}

#undef PARLEY_RPC_CHECK_PARAMS
#undef PARLEY_RPC_TRY

}  // namespace

MethodOutcome MethodTable::Call(const std::string& method, const nlohmann::json& params,
                                const CallContext& context) {
  const auto& methods = Methods();
  auto it = methods.find(method);
  if (it == methods.end()) return MethodOutcome{false, nullptr, kMethodNotFound, "method not found", nullptr};
  // attach reads any file its owner can: not for every local user on TCP.
  if (method == "attach" && !context.owner_only) {
    return ClientFailure({ClientErrc::kForbidden, "attach is served on the daemon's UNIX socket only"});
  }
  try {
    Params p(params);
    return it->second(client_, p);
  } catch (const std::exception&) {
    return MethodOutcome{false, nullptr, kInternalError, "internal error", nullptr};
  }
}

const std::vector<std::string>& MethodTable::MethodNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>;
    for (const auto& [name, unused] : Methods()) v->push_back(name);
    return v;
  }();
  return *names;
}

EventNotification NotificationFor(Client& client, const Event& event) {
  return std::visit(
      [&client](const auto& e) -> EventNotification {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, MessageReceived>) {
          return {"receive", json{{"message", cli::ReceivedMessageJson(client, e.message)}}};
        } else if constexpr (std::is_same_v<T, MessageUpdated>) {
          return {"update", json{{"message", cli::ReceivedMessageJson(client, e.message)}}};
        } else if constexpr (std::is_same_v<T, TypingChanged>) {
          return {"typing", json{{"conversation", e.conversation},
                                 {"account", e.who.value().ToString()},
                                 {"typing", e.typing}}};
        } else if constexpr (std::is_same_v<T, IdentityChanged>) {
          return {"identityChanged", json{{"account", e.account.value().ToString()},
                                          {"username", e.username},
                                          {"wasVerified", e.was_verified}}};
        } else if constexpr (std::is_same_v<T, DecryptionFailed>) {
          return {"decryptionFailed", json{{"sender", e.sender.value().ToString()},
                                           {"senderDevice", e.sender_device.value()},
                                           {"reason", std::string(ClientErrcName(e.reason))}}};
        } else if constexpr (std::is_same_v<T, QueueDrained>) {
          return {"drained", json::object()};
        } else if constexpr (std::is_same_v<T, GroupChanged>) {
          return {"groupChanged", json{{"group", cli::GroupJson(e.group)}, {"by", e.by.value().ToString()}}};
        } else if constexpr (std::is_same_v<T, OwnDeviceSynced>) {
          return {"synced", json{{"fromDevice", e.from.value()}}};
        } else if constexpr (std::is_same_v<T, ConnectionChanged>) {
          return {"connection", json{{"connected", e.connected}}};
        } else {
          return {};  // an event the daemon does not forward
        }
      },
      event);
}

}  // namespace parley::rpc
