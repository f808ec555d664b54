#include "daemon_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "daemon_worker_pool.h"

namespace parley::rpc {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

bool SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

}  // namespace

struct RpcServer::Connection {
  std::uint64_t id = 0;
  int fd = -1;
  bool owner_only = true;
  // Bytes read and not yet served: complete lines, then at most one partial
  // line of `partial` bytes.
  std::string input;
  std::size_t partial = 0;
  std::string output;
  std::size_t output_sent = 0;
  bool subscribed = false;
  // A request of this connection is with a worker; nothing more is read.
  bool busy = false;
  // The peer shut its side down; close once everything read was answered.
  bool eof = false;
  bool hung_up = false;
  // Skipping the rest of an over-long line.
  bool discarding = false;
  bool close_after_write = false;

  std::size_t pending() const { return output.size() - output_sent; }
  bool has_line() const { return input.size() > partial; }
};

// A worker's answer to one line, carried back to the loop.
struct RpcServer::Completion {
  std::uint64_t connection = 0;
  std::string line;  // empty when every entry was a notification
  std::optional<bool> subscribed;
};

RpcServer::RpcServer(ServerOptions options) : options_(std::move(options)) {}

RpcServer::~RpcServer() {
  for (auto& c : connections_) close(c->fd);
  if (unix_fd_ >= 0) {
    close(unix_fd_);
    std::error_code ec;
    std::filesystem::remove(options_.socket_path, ec);
  }
  if (tcp_fd_ >= 0) close(tcp_fd_);
  if (wake_read_ >= 0) close(wake_read_);
  if (wake_write_ >= 0) close(wake_write_);
}

Result<std::unique_ptr<RpcServer>, ServerErrc> RpcServer::Listen(const ServerOptions& options) {
  std::unique_ptr<RpcServer> server(new RpcServer(options));
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return Fail(ServerErrc::kSystem, "pipe failed");
  server->wake_read_ = pipe_fds[0];
  server->wake_write_ = pipe_fds[1];
  if (!SetNonBlocking(pipe_fds[0]) || !SetNonBlocking(pipe_fds[1])) return Fail(ServerErrc::kSystem, "fcntl");

  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = options.socket_path.string();
  if (path.empty() || path.size() >= sizeof(address.sun_path))
    return Fail(ServerErrc::kBadAddress, "the socket path is empty or longer than 107 bytes");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  std::error_code ec;
  std::filesystem::create_directories(options.socket_path.parent_path(), ec);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Fail(ServerErrc::kInUse, "the socket path exists and is not a socket");
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    if (probe >= 0) close(probe);
    if (live) return Fail(ServerErrc::kInUse, "another daemon answers on the socket");
    unlink(path.c_str());
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(ServerErrc::kSystem, "socket failed");
  server->unix_fd_ = fd;
  // Created 0600 from the start: no moment in which others could connect.
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  umask(old_mask);
  if (bound != 0) {
    server->unix_fd_ = -1;
    close(fd);
    return Fail(ServerErrc::kSystem, "cannot bind the socket");
  }
  if (chmod(path.c_str(), 0600) != 0 || listen(fd, 16) != 0 || !SetNonBlocking(fd))
    return Fail(ServerErrc::kSystem, "cannot listen on the socket");

  if (!options.tcp.empty()) {
    const auto colon = options.tcp.rfind(':');
    if (colon == std::string::npos) return Fail(ServerErrc::kBadAddress, "--tcp is HOST:PORT");
    std::string host = options.tcp.substr(0, colon);
    const std::string port_text = options.tcp.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (port_text.empty() || port_text.size() > 5 ||
        port_text.find_first_not_of("0123456789") != std::string::npos || std::stoul(port_text) > 65535)
      return Fail(ServerErrc::kBadAddress, "--tcp is HOST:PORT");
    const auto port = static_cast<std::uint16_t>(std::stoul(port_text));
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (host == "127.0.0.1" || host == "localhost") {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      in->sin_family = AF_INET;
      in->sin_port = htons(port);
      in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof(sockaddr_in);
    } else if (host == "::1") {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(port);
      in6->sin6_addr = in6addr_loopback;
      length = sizeof(sockaddr_in6);
    } else {
      return Fail(ServerErrc::kBadAddress, "--tcp listens on a loopback address only (127.0.0.1 or ::1)");
    }
    const int tcp = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tcp < 0) return Fail(ServerErrc::kSystem, "socket failed");
    server->tcp_fd_ = tcp;
    const int one = 1;
    setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(tcp, reinterpret_cast<const sockaddr*>(&storage), length) != 0)
      return Fail(ServerErrc::kInUse, "cannot bind the TCP port");
    if (listen(tcp, 16) != 0 || !SetNonBlocking(tcp))
      return Fail(ServerErrc::kSystem, "cannot listen on TCP");
    sockaddr_storage bound_address{};
    socklen_t bound_length = sizeof(bound_address);
    getsockname(tcp, reinterpret_cast<sockaddr*>(&bound_address), &bound_length);
    server->tcp_port_ = ntohs(bound_address.ss_family == AF_INET
                                  ? reinterpret_cast<sockaddr_in*>(&bound_address)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&bound_address)->sin6_port);
  }
  return server;
}

void RpcServer::Notify(const nlohmann::json& notification) {
  {
    std::lock_guard lock(pending_mutex_);
    pending_notifications_.push_back(ToLine(notification));
  }
  Wake();
}

void RpcServer::Wake() {
  const char byte = 1;
  // A full pipe already wakes the loop.
  (void)!write(wake_write_, &byte, 1);
}

void RpcServer::Queue(Connection& c, const std::string& line) {
  if (c.close_after_write) return;
  if (c.pending() + line.size() > options_.max_pending_output) {
    // It does not read: drop it rather than grow without bound.
    c.output.clear();
    c.output_sent = 0;
    c.close_after_write = true;
    return;
  }
  if (c.output_sent > 0 && c.output_sent == c.output.size()) {
    c.output.clear();
    c.output_sent = 0;
  }
  c.output += line;
}

void RpcServer::Accept(int listen_fd, bool owner_only) {
  for (int i = 0; i < 16; ++i) {
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= options_.max_clients) {
      const std::string refusal = ToLine(ErrorResponse(nullptr, -32000, "too many clients"));
      (void)!send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->id = next_connection_id_++;
    c->fd = fd;
    c->owner_only = owner_only;
    connections_.push_back(std::move(c));
  }
}

bool RpcServer::ServeLine(Connection& c, std::string_view line, WorkerPool& workers, const Handler& handler) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return false;
  ParsedLine parsed = ParseLine(line);
  const bool any_request = std::any_of(parsed.entries.begin(), parsed.entries.end(),
                                       [](const Entry& e) { return std::holds_alternative<Request>(e); });
  if (!any_request) {
    nlohmann::json responses = nlohmann::json::array();
    for (const Entry& entry : parsed.entries) {
      const auto& error = std::get<RequestError>(entry);
      responses.push_back(ErrorResponse(error.id, error.code, error.message));
    }
    Queue(c, ToLine(parsed.batch ? responses : responses.front()));
    return false;
  }
  const bool posted = workers.Post([this, &handler, id = c.id, context = CallContext{c.owner_only},
                                    subscribed = c.subscribed, parsed = std::move(parsed)]() mutable {
    Completion done;
    done.connection = id;
    nlohmann::json responses = nlohmann::json::array();
    for (const Entry& entry : parsed.entries) {
      if (const auto* error = std::get_if<RequestError>(&entry)) {
        responses.push_back(ErrorResponse(error->id, error->code, error->message));
        continue;
      }
      const auto& request = std::get<Request>(entry);
      nlohmann::json response;
      if (request.method == "subscribe" || request.method == "unsubscribe") {
        if (!request.params.empty()) {
          response =
              ErrorResponse(request.id, kInvalidParams, "subscribe and unsubscribe take no parameters");
        } else {
          subscribed = request.method == "subscribe";
          done.subscribed = subscribed;
          response = ResultResponse(request.id, nlohmann::json{{"subscribed", subscribed}});
        }
      } else {
        try {
          response = handler(request, context);
        } catch (const std::exception&) {
          response = ErrorResponse(request.id, kInternalError, "internal error");
        }
      }
      if (!request.notification) responses.push_back(std::move(response));
    }
    if (!responses.empty()) done.line = ToLine(parsed.batch ? responses : responses.front());
    {
      std::lock_guard lock(pending_mutex_);
      completions_.push_back(std::move(done));
    }
    Wake();
  });
  // Not expected: each connection has at most one request with the workers.
  if (!posted) Queue(c, ToLine(ErrorResponse(nullptr, kInternalError, "too many requests in progress")));
  return posted;
}

void RpcServer::ServeInput(Connection& c, WorkerPool& workers, const Handler& handler) {
  std::size_t consumed = 0;
  while (!c.busy && !c.close_after_write) {
    const auto newline = c.input.find('\n', consumed);
    if (newline == std::string::npos || newline >= c.input.size() - c.partial) break;
    const std::string_view line(c.input.data() + consumed, newline - consumed);
    c.busy = ServeLine(c, line, workers, handler);
    consumed = newline + 1;
  }
  c.input.erase(0, consumed);
  // Everything the peer sent before it shut down is answered: close after the output.
  if (c.eof && !c.busy && !c.has_line()) c.close_after_write = true;
}

void RpcServer::Complete(Completion completion, WorkerPool& workers, const Handler& handler) {
  for (auto& c : connections_) {
    if (c->id != completion.connection) continue;
    c->busy = false;
    if (completion.subscribed) c->subscribed = *completion.subscribed;
    if (!completion.line.empty()) Queue(*c, completion.line);
    if (!c->hung_up) ServeInput(*c, workers, handler);
    return;
  }
}

bool RpcServer::ReadFrom(Connection& c) {
  char buffer[kReadChunk];
  const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
  if (n == 0) {
    c.eof = true;
    return true;
  }
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  std::string_view data(buffer, static_cast<std::size_t>(n));
  while (!data.empty()) {
    const auto newline = data.find('\n');
    if (c.discarding) {
      if (newline == std::string_view::npos) return true;
      c.discarding = false;
      data.remove_prefix(newline + 1);
      continue;
    }
    const std::size_t piece = newline == std::string_view::npos ? data.size() : newline;
    if (c.partial + piece > kMaxLineBytes) {
      c.input.resize(c.input.size() - c.partial);
      c.partial = 0;
      Queue(c, ToLine(ErrorResponse(nullptr, kInvalidRequest, "request line too long")));
      if (newline == std::string_view::npos) {
        c.discarding = true;
        return true;
      }
      data.remove_prefix(newline + 1);
      continue;
    }
    if (newline == std::string_view::npos) {
      c.input.append(data);
      c.partial += data.size();
      return true;
    }
    c.input.append(data.substr(0, newline + 1));
    c.partial = 0;
    data.remove_prefix(newline + 1);
  }
  return true;
}

bool RpcServer::WriteTo(Connection& c) {
  while (c.pending() > 0) {
    const ssize_t n = send(c.fd, c.output.data() + c.output_sent, c.pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c.output_sent += static_cast<std::size_t>(n);
  }
  c.output.clear();
  c.output_sent = 0;
  return !c.close_after_write;
}

void RpcServer::Run(const Handler& handler, int stop_fd) {
  WorkerPool workers(options_.workers, options_.max_clients);
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({wake_read_, POLLIN, 0});
    fds.push_back({unix_fd_, POLLIN, 0});
    fds.push_back({tcp_fd_, static_cast<short>(tcp_fd_ >= 0 ? POLLIN : 0), 0});
    for (const auto& c : connections_) {
      short events = 0;
      // A connection with a request in progress, or with a large backlog of
      // answers, is not read from until that is done.
      if (!c->busy && !c->eof && !c->close_after_write && c->pending() < options_.max_pending_output / 2)
        events |= POLLIN;
      if (c->pending() > 0 || c->close_after_write) events |= POLLOUT;
      // A hung-up connection waiting for its answer is not polled (it would
      // report the hang-up again and again).
      fds.push_back({c->hung_up ? -1 : c->fd, events, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    const std::size_t polled = fds.size() - 4;
    if (fds[1].revents != 0) {
      char drain[256];
      while (read(wake_read_, drain, sizeof(drain)) > 0) {
      }
      std::vector<std::string> lines;
      std::vector<Completion> completions;
      {
        std::lock_guard lock(pending_mutex_);
        lines.swap(pending_notifications_);
        completions.swap(completions_);
      }
      for (auto& c : connections_) {
        if (!c->subscribed) continue;
        for (const auto& line : lines) Queue(*c, line);
      }
      for (auto& done : completions) Complete(std::move(done), workers, handler);
    }
    std::vector<bool> keep(connections_.size(), true);
    for (std::size_t i = 0; i < polled; ++i) {
      Connection& c = *connections_[i];
      const short revents = fds[4 + i].revents;
      if (c.hung_up) {
        keep[i] = c.busy;
        continue;
      }
      if (revents & POLLIN) {
        if (!ReadFrom(c)) {
          keep[i] = false;
          continue;
        }
        ServeInput(c, workers, handler);
      } else if (revents & (POLLHUP | POLLERR)) {
        // Gone: nobody is left to answer. A request in progress finishes first.
        c.hung_up = true;
        keep[i] = c.busy;
        continue;
      }
      if (c.pending() > 0 || c.close_after_write) keep[i] = WriteTo(c);
    }
    std::size_t out = 0;
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      if (i < keep.size() && !keep[i]) {
        close(connections_[i]->fd);
        continue;
      }
      connections_[out++] = std::move(connections_[i]);
    }
    connections_.resize(out);
    // Accepted last, so the connections polled above line up with `keep`.
    if (fds[2].revents & POLLIN) Accept(unix_fd_, true);
    if (tcp_fd_ >= 0 && (fds[3].revents & POLLIN)) Accept(tcp_fd_, false);
  }
  for (auto& c : connections_) {
    if (!c->hung_up) WriteTo(*c);
    close(c->fd);
  }
  connections_.clear();
}

}  // namespace parley::rpc
