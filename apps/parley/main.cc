// parley: the command-line client (docs/client.md).
//
// Every command opens the profile's store, does one thing and exits with a
// code that says how it went (see kExit* below). Human-readable output by
// default, one JSON document with --json.
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "base/hex.h"
#include "client/client.h"

namespace {

using namespace parley;
using namespace parley::client;
using nlohmann::json;

// Exit codes.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // storage, protocol or server errors
constexpr int kExitUsage = 2;  // bad command line or argument
constexpr int kExitNotRegistered = 3;
constexpr int kExitNetwork = 4;  // cannot reach the server, timeout, pin mismatch
constexpr int kExitNotFound = 5;
constexpr int kExitUntrusted = 6;  // a verified contact's identity changed
constexpr int kExitBlocked = 7;
constexpr int kExitBadKey = 8;  // the passphrase or key file does not open the store
constexpr int kExitRateLimited = 9;
constexpr int kExitConflict = 10;  // username taken, too many devices, already registered

int ExitCode(ClientErrc code) {
  switch (code) {
    case ClientErrc::kInvalidArgument:
    case ClientErrc::kTooLarge:
      return kExitUsage;
    case ClientErrc::kNotRegistered:
      return kExitNotRegistered;
    case ClientErrc::kNetwork:
    case ClientErrc::kTimeout:
    case ClientErrc::kUnauthorized:
      return kExitNetwork;
    case ClientErrc::kNotFound:
      return kExitNotFound;
    case ClientErrc::kUntrustedIdentity:
      return kExitUntrusted;
    case ClientErrc::kBlocked:
      return kExitBlocked;
    case ClientErrc::kBadPassphrase:
      return kExitBadKey;
    case ClientErrc::kRateLimited:
      return kExitRateLimited;
    case ClientErrc::kConflict:
    case ClientErrc::kAlreadyRegistered:
    case ClientErrc::kForbidden:
      return kExitConflict;
    default:
      return kExitError;
  }
}

struct Globals {
  std::string profile = "default";
  std::string data_dir;
  std::string key_file;
  bool json = false;
};

std::filesystem::path XdgDir(const char* variable, const char* fallback) {
  if (const char* v = std::getenv(variable); v != nullptr && *v == '/') return v;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : ".") / fallback;
}

int Report(const Globals& g, const ClientError& error) {
  if (g.json) {
    std::cout << json{{"error", std::string(ClientErrcName(error.code))},
                      {"message", std::string(error.message)}}
              << "\n";
  } else {
    std::cerr << "parley: " << error.message << " (" << ClientErrcName(error.code) << ")\n";
  }
  return ExitCode(error.code);
}

ClientResult<std::unique_ptr<Client>> OpenProfile(const Globals& g) {
  ClientOptions options;
  options.data_dir = g.data_dir.empty() ? XdgDir("XDG_DATA_HOME", ".local/share") / "parley" / g.profile
                                        : std::filesystem::path(g.data_dir);
  if (const char* passphrase = std::getenv("PARLEY_PASSPHRASE"); passphrase != nullptr && *passphrase) {
    options.key.kind = StoreKeySource::Kind::kPassphrase;
    options.key.passphrase = passphrase;
  } else {
    options.key.kind = StoreKeySource::Kind::kKeyFile;
    if (g.key_file.empty()) {
      const auto config = XdgDir("XDG_CONFIG_HOME", ".config") / "parley";
      std::error_code ec;
      std::filesystem::create_directories(config, ec);
      options.key.key_file = config / (g.profile + ".key");
    } else {
      options.key.key_file = g.key_file;
    }
  }
  return Client::Open(std::move(options));
}

ClientResult<ServerAddress> ParseServer(const std::string& server, const std::string& pin) {
  ServerAddress address;
  const auto colon = server.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Fail(ClientErrc::kInvalidArgument, "--server is HOST:PORT");
  address.host = server.substr(0, colon);
  try {
    const int port = std::stoi(server.substr(colon + 1));
    if (port <= 0 || port > 65535) throw std::out_of_range("port");
    address.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    return Fail(ClientErrc::kInvalidArgument, "--server is HOST:PORT");
  }
  if (!pin.empty() && (pin.size() != 64 || !FromHex(pin))) {
    return Fail(ClientErrc::kInvalidArgument, "--pin is the server certificate's SHA-256 in 64 hex digits");
  }
  address.pin = pin;
  return address;
}

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

std::string HumanMessage(const StoredMessage& m, const std::string& peer_name) {
  std::string line = m.direction == Direction::kIncoming ? "<- " + peer_name : "-> " + peer_name;
  if (m.request) line += " (request)";
  line += ": " + (m.deleted ? std::string("[deleted]") : m.body);
  if (m.edited) line += " (edited)";
  if (m.direction == Direction::kOutgoing) line += std::string(" [") + StatusName(m.status) + "]";
  for (const auto& r : m.reactions) line += " " + r.emoji;
  line += "  #" + MessageIdToHex(m.id).substr(0, 8);
  return line;
}

// The contact's name for display, or its account id.
std::string NameFor(Client& client, const std::string& account) {
  if (auto contacts = client.Contacts()) {
    for (const auto& c : *contacts) {
      if (c.account.value().ToString() == account && !c.username.empty()) return c.username;
    }
  }
  return account;
}

// The conversation id for a peer given by username or account id.
ClientResult<ConversationId> ConversationFor(Client& client, const std::string& peer) {
  if (Uuid::Parse(peer)) return peer;
  auto contacts = client.Contacts();
  if (!contacts) return tl::unexpected(contacts.error());
  for (const auto& c : *contacts) {
    std::string lower_a = c.username, lower_b = peer;
    for (char& ch : lower_a) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (char& ch : lower_b) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!c.username.empty() && lower_a == lower_b) return c.account.value().ToString();
  }
  return Fail(ClientErrc::kNotFound, "no such contact");
}

// Resolves a message id prefix (as printed) within a conversation.
ClientResult<MessageId> FindMessage(Client& client, const ConversationId& conversation,
                                    const std::string& prefix) {
  if (auto full = MessageIdFromHex(prefix)) return *full;
  auto history = client.History(conversation, 1000);
  if (!history) return tl::unexpected(history.error());
  std::optional<MessageId> found;
  for (const auto& m : *history) {
    if (prefix.size() >= 4 && MessageIdToHex(m.id).rfind(prefix, 0) == 0) {
      if (found) return Fail(ClientErrc::kInvalidArgument, "the message id prefix is ambiguous");
      found = m.id;
    }
  }
  if (!found) return Fail(ClientErrc::kNotFound, "no such message");
  return *found;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley: an end-to-end encrypted messenger client (docs/client.md)"};
  app.require_subcommand(1);
  Globals g;
  app.add_option("--profile", g.profile, "Profile name; each holds one account (default: default)");
  app.add_option("--data-dir", g.data_dir, "Profile directory (default: $XDG_DATA_HOME/parley/<profile>)");
  app.add_option(
      "--key-file", g.key_file,
      "Store key file, mode 0600, created if absent (default: $XDG_CONFIG_HOME/parley/<profile>.key); "
      "PARLEY_PASSPHRASE in the environment uses a passphrase instead");
  app.add_flag("--json", g.json, "Print one JSON document");

  std::string server = "127.0.0.1:8443", pin, username, device_name = "cli", invitation;
  auto* reg = app.add_subcommand("register",
                                 "Create an account on a server; this profile becomes its primary device");
  reg->add_option("username", username, "3-32 of a-z A-Z 0-9 _ .")->required();
  reg->add_option("--server", server, "HOST:PORT of parleyd");
  reg->add_option("--pin", pin, "The server certificate's SHA-256 (64 hex digits), as parleyd prints it");
  reg->add_option("--device-name", device_name, "A name for this device");
  reg->add_option("--invitation", invitation, "Invitation token, when the server requires one");

  std::string code;
  auto* link = app.add_subcommand(
      "link", "Join an existing account as a new device, with a code from `devices link-code`");
  link->add_option("code", code, "The link code")->required();
  link->add_option("--server", server, "HOST:PORT of parleyd");
  link->add_option("--pin", pin, "The server certificate's SHA-256");
  link->add_option("--device-name", device_name, "A name for this device");

  auto* devices =
      app.add_subcommand("devices", "List this account's devices, make a link code, unlink a device");
  devices->add_subcommand("list", "List devices")->final_callback([] {});
  auto* link_code =
      devices->add_subcommand("link-code", "Make a one-time code for a new device (primary only)");
  std::uint32_t unlink_id = 0;
  auto* unlink = devices->add_subcommand("unlink", "Unlink a device");
  unlink->add_option("id", unlink_id, "Device id")->required();

  std::string peer, text, quote;
  auto* send = app.add_subcommand("send", "Send a text message");
  send->add_option("peer", peer, "Username or account id")->required();
  send->add_option("text", text, "The message")->required();
  send->add_option("--quote", quote, "Id (or prefix) of the message this replies to");

  int timeout_seconds = 10;
  auto* receive = app.add_subcommand("receive", "Fetch and print new messages, then exit");
  receive->add_option("--timeout", timeout_seconds, "Seconds to wait for the server's queue (default 10)");

  auto* contacts = app.add_subcommand("contacts", "List, add, block and unblock contacts");
  auto* contacts_add = contacts->add_subcommand("add", "Add a contact by username");
  contacts_add->add_option("username", peer)->required();
  auto* contacts_block = contacts->add_subcommand("block", "Block a contact");
  contacts_block->add_option("peer", peer)->required();
  auto* contacts_unblock = contacts->add_subcommand("unblock", "Unblock a contact");
  contacts_unblock->add_option("peer", peer)->required();

  auto* requests =
      app.add_subcommand("requests", "Message requests from strangers (S2): list, accept, block");
  auto* requests_accept = requests->add_subcommand("accept", "Accept a request");
  requests_accept->add_option("peer", peer)->required();
  auto* requests_block = requests->add_subcommand("block", "Block the sender of a request");
  requests_block->add_option("peer", peer)->required();

  bool mark = false;
  std::string scanned;
  auto* verify =
      app.add_subcommand("verify", "Show the safety number with a contact; --mark to mark it verified");
  verify->add_option("peer", peer)->required();
  verify->add_flag("--mark", mark, "Mark the contact verified (after comparing the numbers)");
  verify->add_option("--scanned", scanned, "The contact's scannable safety number in hex, to compare");

  std::size_t limit = 50;
  auto* history = app.add_subcommand("history", "Show a conversation (marks it read)");
  history->add_option("peer", peer)->required();
  history->add_option("--limit", limit, "Newest messages to show (default 50)");

  std::string target, emoji;
  auto* react = app.add_subcommand("react", "React to a message");
  react->add_option("peer", peer)->required();
  react->add_option("message", target, "Message id or prefix")->required();
  react->add_option("emoji", emoji)->required();
  auto* edit = app.add_subcommand("edit", "Edit one of your messages");
  edit->add_option("peer", peer)->required();
  edit->add_option("message", target)->required();
  edit->add_option("text", text)->required();
  auto* remove = app.add_subcommand("delete", "Delete one of your messages for everyone");
  remove->add_option("peer", peer)->required();
  remove->add_option("message", target)->required();
  std::uint32_t seconds = 0;
  auto* timer = app.add_subcommand("timer", "Set the disappearing-message timer of a conversation (0: off)");
  timer->add_option("peer", peer)->required();
  timer->add_option("seconds", seconds)->required();

  auto* exporting = app.add_subcommand("export", "Write contacts and every conversation as JSON to stdout");
  auto* whoami = app.add_subcommand("whoami", "Show this profile's account");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  auto opened = OpenProfile(g);
  if (!opened) return Report(g, opened.error());
  Client& client = **opened;
  std::mutex out_mutex;

  auto ok = [&](json j, const std::string& human) {
    if (g.json) {
      std::cout << j.dump() << "\n";
    } else if (!human.empty()) {
      std::cout << human << "\n";
    }
    return kExitOk;
  };
  auto fail = [&](const ClientError& e) { return Report(g, e); };

  if (reg->parsed() || link->parsed()) {
    auto address = ParseServer(server, pin);
    if (!address) return fail(address.error());
    auto info = reg->parsed() ? client.Register(*address, username, device_name,
                                                invitation.empty() ? std::nullopt : std::optional(invitation))
                              : client.Link(*address, code, device_name);
    if (!info) return fail(info.error());
    return ok({{"account", info->account.value().ToString()},
               {"device", info->device.value()},
               {"username", info->username}},
              "registered " + (info->username.empty() ? std::string("device") : info->username) +
                  ": account " + info->account.value().ToString() + ", device " +
                  std::to_string(info->device.value()));
  }
  if (whoami->parsed()) {
    auto info = client.account();
    if (!info) return fail({ClientErrc::kNotRegistered, "register or link this profile first"});
    return ok({{"account", info->account.value().ToString()},
               {"device", info->device.value()},
               {"username", info->username},
               {"server", info->server.host + ":" + std::to_string(info->server.port)}},
              info->username + " (account " + info->account.value().ToString() + ", device " +
                  std::to_string(info->device.value()) + ") on " + info->server.host + ":" +
                  std::to_string(info->server.port));
  }
  if (devices->parsed()) {
    if (link_code->parsed()) {
      auto made = client.CreateLinkCode();
      if (!made) return fail(made.error());
      return ok({{"code", made->code}, {"expiresAt", made->expires_at_ms}, {"uri", made->uri}},
                "link code: " + made->code + "\n(on the new device: parley link " + made->code +
                    " --server HOST:PORT --pin FINGERPRINT)\n" + made->uri);
    }
    if (unlink->parsed()) {
      if (auto s = client.UnlinkDevice(DeviceId(unlink_id)); !s) return fail(s.error());
      return ok({{"unlinked", unlink_id}}, "unlinked device " + std::to_string(unlink_id));
    }
    auto list = client.ListDevices();
    if (!list) return fail(list.error());
    json j = json::array();
    std::string human;
    for (const auto& d : *list) {
      j.push_back({{"id", d.id.value()},
                   {"name", d.name},
                   {"createdAt", d.created_at_ms},
                   {"lastSeenAt", d.last_seen_at_ms},
                   {"thisDevice", d.this_device}});
      human += std::to_string(d.id.value()) + "  " + d.name + (d.this_device ? "  (this device)" : "") + "\n";
    }
    if (!human.empty()) human.pop_back();
    return ok(j, human);
  }
  if (send->parsed()) {
    std::optional<MessageId> quoted;
    if (!quote.empty()) {
      auto conversation = ConversationFor(client, peer);
      if (!conversation) return fail(conversation.error());
      auto id = FindMessage(client, *conversation, quote);
      if (!id) return fail(id.error());
      quoted = *id;
    }
    auto sent = client.SendText(peer, text, quoted);
    if (!sent) return fail(sent.error());
    return ok(MessageJson(*sent), "sent #" + MessageIdToHex(sent->id).substr(0, 8));
  }
  if (receive->parsed()) {
    json received = json::array();
    client.SetEventHandler([&](const Event& e) {
      std::lock_guard lock(out_mutex);
      if (const auto* m = std::get_if<MessageReceived>(&e)) {
        if (g.json) {
          received.push_back(MessageJson(m->message));
        } else {
          std::cout << HumanMessage(m->message, NameFor(client, m->message.conversation)) << "\n";
        }
      } else if (const auto* c = std::get_if<IdentityChanged>(&e)) {
        if (!g.json) {
          std::cout << "!! the identity key of "
                    << (c->username.empty() ? c->account.value().ToString() : c->username) << " changed"
                    << (c->was_verified ? "; verify again before sending" : "") << "\n";
        }
      } else if (const auto* f = std::get_if<DecryptionFailed>(&e)) {
        if (!g.json)
          std::cout << "!! a message from " << f->sender.value().ToString() << " could not be decrypted\n";
      }
    });
    if (auto s = client.Connect(); !s) return fail(s.error());
    auto drained = client.WaitUntilDrained(std::chrono::seconds(timeout_seconds));
    client.Disconnect();
    if (!drained) return fail(drained.error());
    std::lock_guard lock(out_mutex);
    return g.json ? ok(received, "") : kExitOk;
  }
  if (contacts->parsed() || requests->parsed()) {
    ClientStatus done;
    std::string what;
    if (contacts_add->parsed()) {
      auto added = client.AddContact(peer);
      if (!added) return fail(added.error());
      return ok(ContactJson(*added), "added " + added->username);
    }
    if (contacts_block->parsed() || requests_block->parsed()) {
      done = client.Block(peer);
      what = "blocked ";
    } else if (contacts_unblock->parsed()) {
      done = client.Unblock(peer);
      what = "unblocked ";
    } else if (requests_accept->parsed()) {
      done = client.AcceptRequest(peer);
      what = "accepted ";
    } else {
      auto list = requests->parsed() ? client.Requests() : client.Contacts();
      if (!list) return fail(list.error());
      json j = json::array();
      std::string human;
      for (const auto& c : *list) {
        j.push_back(ContactJson(c));
        human += (c.username.empty() ? std::string("(unknown)") : c.username) + "  " +
                 c.account.value().ToString() + "  " + StateName(c.state) + (c.verified ? "  verified" : "") +
                 (c.identity_changed ? "  IDENTITY CHANGED" : "") + "\n";
      }
      if (!human.empty()) human.pop_back();
      return ok(j, human);
    }
    if (!done) return fail(done.error());
    return ok({{"done", true}}, what + peer);
  }
  if (verify->parsed()) {
    std::optional<std::vector<std::uint8_t>> scanned_bytes;
    if (!scanned.empty()) {
      auto bytes = FromHex(scanned);
      if (!bytes) return fail({ClientErrc::kInvalidArgument, "--scanned is hex"});
      scanned_bytes = *bytes;
    }
    if (mark || scanned_bytes) {
      if (auto s = client.MarkVerified(peer, scanned_bytes); !s) return fail(s.error());
    }
    auto number = client.GetSafetyNumber(peer);
    if (!number) return fail(number.error());
    std::string spaced;
    for (std::size_t i = 0; i < number->digits.size(); i += 5) {
      spaced += number->digits.substr(i, 5) + ((i / 5) % 4 == 3 ? "\n" : " ");
    }
    return ok({{"safetyNumber", number->digits},
               {"scannable", ToHex(number->scannable)},
               {"verified", number->verified}},
              "safety number with " + peer + (number->verified ? " (verified)" : "") + ":\n" + spaced +
                  "scannable: " + ToHex(number->scannable));
  }
  if (history->parsed() || react->parsed() || edit->parsed() || remove->parsed() || timer->parsed()) {
    auto conversation = ConversationFor(client, peer);
    if (!conversation) return fail(conversation.error());
    if (history->parsed()) {
      auto list = client.History(*conversation, limit);
      if (!list) return fail(list.error());
      json j = json::array();
      std::string human;
      const std::string name = NameFor(client, *conversation);
      for (const auto& m : *list) {
        j.push_back(MessageJson(m));
        human += HumanMessage(m, name) + "\n";
      }
      if (!human.empty()) human.pop_back();
      // Read receipts go out only when the server is reachable; showing the
      // history never depends on it.
      (void)client.MarkRead(*conversation);
      return ok(j, human);
    }
    if (timer->parsed()) {
      if (auto s = client.SetDisappearingTimer(*conversation, seconds); !s) return fail(s.error());
      return ok(
          {{"seconds", seconds}},
          "disappearing messages: " + (seconds == 0 ? std::string("off") : std::to_string(seconds) + " s"));
    }
    auto id = FindMessage(client, *conversation, target);
    if (!id) return fail(id.error());
    ClientStatus done = react->parsed()  ? client.React(*conversation, *id, emoji)
                        : edit->parsed() ? client.Edit(*conversation, *id, text)
                                         : client.DeleteForEveryone(*conversation, *id);
    if (!done) return fail(done.error());
    return ok({{"done", true}}, "done");
  }
  if (exporting->parsed()) {
    auto list = client.Contacts();
    if (!list) return fail(list.error());
    json out{{"contacts", json::array()}, {"conversations", json::array()}};
    for (const auto& c : *list) out["contacts"].push_back(ContactJson(c));
    auto conversations = client.Conversations();
    if (!conversations) return fail(conversations.error());
    for (const auto& c : *conversations) {
      auto messages = client.History(c.id, 1'000'000);
      if (!messages) return fail(messages.error());
      json m = json::array();
      for (const auto& message : *messages) m.push_back(MessageJson(message));
      out["conversations"].push_back({{"id", c.id},
                                      {"title", c.title},
                                      {"disappearingSeconds", c.disappearing_seconds},
                                      {"messages", m}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  return kExitUsage;
}
