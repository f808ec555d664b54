// Shared pieces of the `parley` command line (docs/client.md): global
// options, exit codes, output (human or --json), profile opening, and the
// registry through which each commands_*.cc file adds its subcommands.
//
// A commands file defines `void Add<Area>Commands(Cli& cli)`, creates its
// subcommands on cli.app and registers with cli.On(sub, run) what runs when
// that subcommand was given; main.cc calls each Add function once.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/client.h"
#include "views.h"

namespace parley::cli {

using client::Client;
using client::ClientErrc;
using client::ClientError;
using client::ClientResult;
using nlohmann::json;

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // storage, protocol or server errors
inline constexpr int kExitUsage = 2;  // bad command line or argument
inline constexpr int kExitNotRegistered = 3;
inline constexpr int kExitNetwork = 4;  // cannot reach the server, timeout, pin mismatch
inline constexpr int kExitNotFound = 5;
inline constexpr int kExitUntrusted = 6;  // a verified contact's identity changed
inline constexpr int kExitBlocked = 7;
inline constexpr int kExitBadKey = 8;  // the passphrase or key file does not open the store
inline constexpr int kExitRateLimited = 9;
inline constexpr int kExitConflict = 10;  // username taken, too many devices, already registered

int ExitCode(ClientErrc code);

struct Globals {
  std::string profile = "default";
  std::string data_dir;
  std::string key_file;
  bool json = false;
};

// The profile directory and store key the global options select.
client::ClientOptions ProfileOptions(const Globals& g);
ClientResult<std::unique_ptr<Client>> OpenProfile(const Globals& g);

// Prints an error (stderr, or a JSON document on stdout) and returns its exit code.
int Report(const Globals& g, const ClientError& error);
// Prints a result (the JSON document with --json, else `human` when not
// empty) and returns kExitOk.
int Ok(const Globals& g, const json& j, const std::string& human);

std::string HumanMessage(const client::StoredMessage& m, const std::string& peer_name);

class Cli {
 public:
  // What a subcommand does, with the opened profile; returns the exit code.
  using Run = std::function<int(Client& client)>;

  explicit Cli(CLI::App& app);

  CLI::App& app;
  Globals globals;

  // Runs `run` after parsing when `command` was given. The first registered
  // command that was given runs.
  void On(CLI::App* command, Run run);
  // Opens the profile and runs the given command (kExitUsage when none).
  int Dispatch();

 private:
  std::vector<std::pair<CLI::App*, Run>> commands_;
};

void AddAccountCommands(Cli& cli);
void AddMessageCommands(Cli& cli);
void AddContactCommands(Cli& cli);
void AddGroupCommands(Cli& cli);

}  // namespace parley::cli
