// The socket side of `parley daemon`: newline-delimited JSON-RPC 2.0 over a
// UNIX socket (mode 0600) and, optionally, TCP on a loopback address.
//
// One thread runs the poll loop (Run) and never calls the handler itself:
// each request line goes to a small pool of worker threads, and the answer
// comes back to the loop, so a slow request (a large upload, a send waiting
// for the server) never holds up another connection. One connection's
// requests are still served one at a time, in order: its next line is read
// only after the previous one was answered. Notify may be called from any
// thread: the line goes to every connection that called "subscribe".
// Everything is bounded:
// connections (more are answered with an error and closed), the request line
// (longer ones are answered with an error and skipped up to the next
// newline), and the bytes waiting to be written to one connection (a client
// that does not read is disconnected; messages stay in the client store).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "rpc_request.h"

namespace parley::cli {
class WorkerPool;
}  // namespace parley::cli

namespace parley::rpc {

enum class ServerErrc {
  kBadAddress = 1,  // not a loopback address, or a socket path too long
  kInUse,           // another daemon answers on the socket, or the port is taken
  kSystem,          // socket, bind, listen or pipe failed
};

struct ServerOptions {
  std::filesystem::path socket_path;
  // "HOST:PORT" with HOST 127.0.0.1, ::1 or localhost; empty: no TCP. Port 0
  // picks a free port (see tcp_port()).
  std::string tcp;
  std::size_t max_clients = 32;
  // Bytes waiting to be written to one connection before it is dropped.
  std::size_t max_pending_output = 16 * 1024 * 1024;
  // Requests served at once (each connection has at most one in flight).
  std::size_t workers = 4;
};

class RpcServer {
 public:
  // Answers one request with a complete response object (result or error).
  // Called on the worker threads, several at once: it must be thread-safe.
  using Handler = std::function<nlohmann::json(const Request&, const CallContext&)>;

  // Binds the sockets. A stale socket file (nobody answers on it) is
  // replaced; a live one is kInUse.
  static Result<std::unique_ptr<RpcServer>, ServerErrc> Listen(const ServerOptions& options);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Serves until `stop_fd` becomes readable; then waits for the requests
  // in progress, closes every connection and removes the socket file.
  void Run(const Handler& handler, int stop_fd);
  // Queues one notification for every subscribed connection. Thread-safe.
  void Notify(const nlohmann::json& notification);

  std::uint16_t tcp_port() const { return tcp_port_; }
  const std::filesystem::path& socket_path() const { return options_.socket_path; }

 private:
  struct Connection;
  struct Completion;
  using WorkerPool = cli::WorkerPool;
  explicit RpcServer(ServerOptions options);
  void Accept(int listen_fd, bool owner_only);
  // Reads what is there into the connection's input; false on a read error.
  bool ReadFrom(Connection& c);
  bool WriteTo(Connection& c);
  // Serves the complete lines read so far until one goes to a worker.
  void ServeInput(Connection& c, WorkerPool& workers, const Handler& handler);
  // Answers a line at once or hands it to a worker; true when handed over.
  bool ServeLine(Connection& c, std::string_view line, WorkerPool& workers, const Handler& handler);
  void Complete(Completion completion, WorkerPool& workers, const Handler& handler);
  void Queue(Connection& c, const std::string& line);
  // Wakes Run from another thread.
  void Wake();

  ServerOptions options_;
  int unix_fd_ = -1;
  int tcp_fd_ = -1;
  std::uint16_t tcp_port_ = 0;
  int wake_read_ = -1;
  int wake_write_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::uint64_t next_connection_id_ = 1;
  std::mutex pending_mutex_;
  std::vector<std::string> pending_notifications_;
  std::vector<Completion> completions_;
};

}  // namespace parley::rpc
