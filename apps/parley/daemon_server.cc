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

#include <cstring>

namespace parley::rpc {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

bool SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

}  // namespace

struct RpcServer::Connection {
  int fd = -1;
  std::string input;
  std::string output;
  std::size_t output_sent = 0;
  bool subscribed = false;
  // Skipping the rest of an over-long line.
  bool discarding = false;
  bool close_after_write = false;

  std::size_t pending() const { return output.size() - output_sent; }
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

void RpcServer::Accept(int listen_fd) {
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
    c->fd = fd;
    connections_.push_back(std::move(c));
  }
}

void RpcServer::HandleLine(Connection& c, std::string_view line, const Handler& handler) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  ParsedLine parsed = ParseLine(line);
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
        response = ErrorResponse(request.id, kInvalidParams, "subscribe and unsubscribe take no parameters");
      } else {
        c.subscribed = request.method == "subscribe";
        response = ResultResponse(request.id, nlohmann::json{{"subscribed", c.subscribed}});
      }
    } else {
      response = handler(request);
    }
    if (!request.notification) responses.push_back(std::move(response));
  }
  if (responses.empty()) return;
  Queue(c, ToLine(parsed.batch ? responses : responses.front()));
}

bool RpcServer::ReadFrom(Connection& c, const Handler& handler) {
  char buffer[kReadChunk];
  const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
  if (n == 0) return false;
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
    if (newline == std::string_view::npos) {
      c.input.append(data);
      if (c.input.size() > kMaxLineBytes) {
        c.input.clear();
        c.input.shrink_to_fit();
        c.discarding = true;
        Queue(c, ToLine(ErrorResponse(nullptr, kInvalidRequest, "request line too long")));
      }
      return true;
    }
    if (c.input.size() + newline > kMaxLineBytes) {
      c.input.clear();
      Queue(c, ToLine(ErrorResponse(nullptr, kInvalidRequest, "request line too long")));
    } else if (c.input.empty()) {
      HandleLine(c, data.substr(0, newline), handler);
    } else {
      c.input.append(data.substr(0, newline));
      std::string line = std::move(c.input);
      c.input.clear();
      HandleLine(c, line, handler);
    }
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
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({wake_read_, POLLIN, 0});
    fds.push_back({unix_fd_, POLLIN, 0});
    fds.push_back({tcp_fd_, static_cast<short>(tcp_fd_ >= 0 ? POLLIN : 0), 0});
    for (const auto& c : connections_) {
      short events = 0;
      // A connection with a large backlog of answers is not read from until
      // it takes them.
      if (!c->close_after_write && c->pending() < options_.max_pending_output / 2) events |= POLLIN;
      if (c->pending() > 0 || c->close_after_write) events |= POLLOUT;
      fds.push_back({c->fd, events, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    if (fds[1].revents != 0) {
      char drain[256];
      while (read(wake_read_, drain, sizeof(drain)) > 0) {
      }
      std::vector<std::string> lines;
      {
        std::lock_guard lock(pending_mutex_);
        lines.swap(pending_notifications_);
      }
      for (auto& c : connections_) {
        if (!c->subscribed) continue;
        for (const auto& line : lines) Queue(*c, line);
      }
    }
    if (fds[2].revents & POLLIN) Accept(unix_fd_);
    if (tcp_fd_ >= 0 && (fds[3].revents & POLLIN)) Accept(tcp_fd_);
    const std::size_t polled = fds.size() - 4;
    std::vector<bool> keep(connections_.size(), true);
    for (std::size_t i = 0; i < polled; ++i) {
      Connection& c = *connections_[i];
      const short revents = fds[4 + i].revents;
      if (revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!ReadFrom(c, handler)) keep[i] = false;
      }
      if (keep[i] && (c.pending() > 0 || c.close_after_write)) keep[i] = WriteTo(c);
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
  }
  for (auto& c : connections_) {
    WriteTo(*c);
    close(c->fd);
  }
  connections_.clear();
}

}  // namespace parley::rpc
