#include "cli_common.h"

#include <stdlib.h>

#include <cctype>
#include <iostream>

#include "base/hex.h"

namespace parley::cli {

using namespace parley::client;

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

namespace {

std::filesystem::path XdgDir(const char* variable, const char* fallback) {
  if (const char* v = std::getenv(variable); v != nullptr && *v == '/') return v;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : ".") / fallback;
}

}  // namespace

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

int Ok(const Globals& g, const json& j, const std::string& human) {
  if (g.json) {
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (!human.empty()) {
    std::cout << human << "\n";
  }
  return kExitOk;
}

ClientOptions ProfileOptions(const Globals& g) {
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
  return options;
}

ClientResult<std::unique_ptr<Client>> OpenProfile(const Globals& g) {
  return Client::Open(ProfileOptions(g));
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
  if (Uuid::Parse(peer) || store::GroupIdOf(peer)) return peer;
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

Cli::Cli(CLI::App& app_in) : app(app_in) {}

void Cli::On(CLI::App* command, Run run) { commands_.emplace_back(command, std::move(run)); }

int Cli::Dispatch() {
  for (auto& [command, run] : commands_) {
    if (!command->parsed()) continue;
    auto opened = OpenProfile(globals);
    if (!opened) return Report(globals, opened.error());
    return run(**opened);
  }
  return kExitUsage;
}

}  // namespace parley::cli
