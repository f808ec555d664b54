// parley: the command-line client (docs/client.md).
//
// Every command opens the profile's store, does one thing and exits with a
// code that says how it went (kExit* in cli_common.h). Human-readable output
// by default, one JSON document with --json. The commands live in
// commands_*.cc, each added here with one line.
#include <CLI/CLI.hpp>

#include "chat_command.h"
#include "cli_common.h"
#include "commands_attach.h"
#include "daemon_command.h"

int main(int argc, char** argv) {
  using namespace parley::cli;
  CLI::App app{"parley: an end-to-end encrypted messenger client (docs/client.md)"};
  app.require_subcommand(1);
  Cli cli(app);
  Globals& g = cli.globals;
  app.add_option("--profile", g.profile, "Profile name; each holds one account (default: default)");
  app.add_option("--data-dir", g.data_dir, "Profile directory (default: $XDG_DATA_HOME/parley/<profile>)");
  app.add_option(
      "--key-file", g.key_file,
      "Store key file, mode 0600, created if absent (default: $XDG_CONFIG_HOME/parley/<profile>.key); "
      "PARLEY_PASSPHRASE in the environment uses a passphrase instead");
  app.add_flag("--json", g.json, "Print one JSON document");

  AddAccountCommands(cli);
  AddMessageCommands(cli);
  AddContactCommands(cli);
  AddGroupCommands(cli);
  AddAttachCommands(cli);
  AddDaemonCommand(cli);
  AddChatCommand(cli);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return cli.Dispatch();
}
