#include "cli_common.h"

#include <stdlib.h>

#include <iostream>

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

std::string HumanMessage(const StoredMessage& m, const std::string& peer_name) {
  std::string line = m.direction == Direction::kIncoming ? "<- " + peer_name : "-> " + peer_name;
  if (m.request) line += " (request)";
  line += ": " + (m.deleted ? std::string("[deleted]") : m.body);
  if (m.edited) line += " (edited)";
  if (m.direction == Direction::kOutgoing) line += std::string(" [") + StatusName(m.status) + "]";
  for (const auto& r : m.reactions) line += " " + r.emoji;
  line += "  #" + ShortMessageId(m.id);
  return line;
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
