#include "daemon_command.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <iostream>

#include "daemon_connector.h"
#include "daemon_server.h"
#include "rpc_methods.h"

namespace parley::cli {
namespace {

int g_stop_pipe_write = -1;

void OnStopSignal(int) {
  const char byte = 1;
  (void)!write(g_stop_pipe_write, &byte, 1);
}

struct DaemonOptions {
  std::string socket;
  std::string tcp;
  std::size_t max_clients = 32;
};

std::filesystem::path DefaultSocket(const Globals& g) {
  if (g.data_dir.empty()) {
    if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime != nullptr && *runtime == '/')
      return std::filesystem::path(runtime) / "parley" / (g.profile + ".sock");
  }
  return ProfileOptions(g).data_dir / "daemon.sock";
}

int RunDaemon(Cli& cli, Client& client, const DaemonOptions& options) {
  const Globals& g = cli.globals;
  rpc::ServerOptions server_options;
  server_options.socket_path =
      options.socket.empty() ? DefaultSocket(g) : std::filesystem::path(options.socket);
  server_options.tcp = options.tcp;
  server_options.max_clients = options.max_clients;
  auto server = rpc::RpcServer::Listen(server_options);
  if (!server) {
    std::cerr << "parley daemon: " << server.error().message << "\n";
    switch (server.error().code) {
      case rpc::ServerErrc::kBadAddress:
        return kExitUsage;
      case rpc::ServerErrc::kInUse:
        return kExitConflict;
      default:
        return kExitError;
    }
  }
  int stop_pipe[2];
  if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return kExitError;
  g_stop_pipe_write = stop_pipe[1];
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  rpc::RpcServer& rpc_server = **server;
  // Events arrive on the client's receive thread; Notify hands them to the loop.
  client.SetEventHandler([&rpc_server, &client](const client::Event& event) {
    auto notification = rpc::NotificationFor(client, event);
    if (notification.method.empty()) return;
    rpc_server.Notify(rpc::Notification(notification.method, std::move(notification.params)));
  });
  rpc::MethodTable methods(client);
  std::cerr << "parley daemon: listening on unix:" << rpc_server.socket_path().string();
  if (!options.tcp.empty()) std::cerr << " tcp:" << rpc_server.tcp_port();
  std::cerr << std::endl;
  {
    Connector connector(client);
    rpc_server.Run(
        [&methods](const rpc::Request& request, const rpc::CallContext& context) {
          auto outcome = methods.Call(request.method, request.params, context);
          if (outcome.ok) return rpc::ResultResponse(request.id, std::move(outcome.result));
          return rpc::ErrorResponse(request.id, outcome.code, outcome.message, outcome.data);
        },
        stop_pipe[0]);
  }
  client.SetEventHandler([](const client::Event&) {});
  client.Disconnect();
  server->reset();
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  std::cerr << "parley daemon: stopped" << std::endl;
  return kExitOk;
}

}  // namespace

void AddDaemonCommand(Cli& cli) {
  auto options = std::make_shared<DaemonOptions>();
  auto* daemon = cli.app.add_subcommand(
      "daemon",
      "Serve this profile over JSON-RPC 2.0 on a UNIX socket (one request per line; see docs/client.md)");
  daemon->add_option("--socket", options->socket,
                     "Socket path, mode 0600 (default: $XDG_RUNTIME_DIR/parley/<profile>.sock, or "
                     "daemon.sock in the profile directory)");
  daemon->add_option("--tcp", options->tcp,
                     "Also listen on TCP at 127.0.0.1:PORT or [::1]:PORT (loopback only)");
  daemon->add_option("--max-clients", options->max_clients, "Connections served at once (default 32)")
      ->check(CLI::Range(1, 1000));
  cli.On(daemon, [&cli, options](Client& client) { return RunDaemon(cli, client, *options); });
}

}  // namespace parley::cli
