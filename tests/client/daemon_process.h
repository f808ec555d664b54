// Child processes of the `parley` binary for the frontends' tests, and a
// line-oriented client of the daemon's UNIX socket. Every wait is bounded.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace parley::client::testing {

// `parley --data-dir DIR --key-file KEY daemon --socket SOCKET [extra...]`,
// its stderr in DIR.err; stopped with SIGTERM.
class DaemonProcess {
 public:
  DaemonProcess(const std::filesystem::path& data_dir, const std::filesystem::path& key_file,
                const std::filesystem::path& socket, std::vector<std::string> extra = {})
      : socket_(socket), log_(data_dir.string() + ".err") {
    std::vector<std::string> args{PARLEY_PATH,       "--data-dir", data_dir.string(), "--key-file",
                                  key_file.string(), "daemon",     "--socket",        socket.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      const int err = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(err, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(PARLEY_PATH, argv.data());
      _exit(127);
    }
  }
  ~DaemonProcess() {
    if (pid_ > 0) Stop();
  }

  // Waits (at most 20 s) until the socket accepts; false if the process died.
  bool WaitReady() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const int fd = ConnectUnix(socket_);
      if (fd >= 0) {
        close(fd);
        return true;
      }
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // The exit status once the process ends by itself (-1 after 20 s).
  int WaitExit() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) pid_ = -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid_ > 0) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

  // SIGTERM, then the exit status (-1 if it had to be killed after 10 s).
  int Stop() {
    if (pid_ <= 0) return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }

  const std::string& log_path() const { return log_; }

  static int ConnectUnix(const std::filesystem::path& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string p = path.string();
    std::memcpy(address.sun_path, p.c_str(), std::min(p.size() + 1, sizeof(address.sun_path)));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

 private:
  std::filesystem::path socket_;
  std::string log_;
  pid_t pid_ = -1;
  int status_ = 0;
};

// One connection to a daemon: requests with increasing ids; notifications
// that arrive meanwhile are kept for WaitNotification.
class RpcConnection {
 public:
  explicit RpcConnection(const std::filesystem::path& socket) : fd_(DaemonProcess::ConnectUnix(socket)) {}
  ~RpcConnection() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  void SendRaw(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  // The next line that is not a notification (null after 20 s).
  nlohmann::json ReadResponse() {
    for (;;) {
      auto line = ReadLine(std::chrono::seconds(20));
      if (!line) return nullptr;
      auto j = nlohmann::json::parse(*line, nullptr, false);
      if (j.is_object() && j.contains("method") && !j.contains("id")) {
        notifications_.push_back(j);
        continue;
      }
      return j;
    }
  }

  nlohmann::json Call(const std::string& method, nlohmann::json params = nlohmann::json::object()) {
    nlohmann::json request{{"jsonrpc", "2.0"}, {"id", ++next_id_}, {"method", method}, {"params", params}};
    SendRaw(request.dump() + "\n");
    return ReadResponse();
  }

  // Whether a whole line has arrived (without waiting).
  bool HasLine() {
    if (buffer_.find('\n') != std::string::npos) return true;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    char chunk[8192];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
    return buffer_.find('\n') != std::string::npos;
  }

  // The first notification (kept or arriving within `limit`) for which
  // `pred` holds; null if none.
  nlohmann::json WaitNotification(const std::function<bool(const nlohmann::json&)>& pred,
                                  std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::size_t checked = 0;
    for (;;) {
      for (; checked < notifications_.size(); ++checked) {
        if (pred(notifications_[checked])) return notifications_[checked];
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return nullptr;
      auto line = ReadLine(left);
      if (!line) return nullptr;
      auto j = nlohmann::json::parse(*line, nullptr, false);
      if (j.is_object() && j.contains("method")) notifications_.push_back(j);
    }
  }

 private:
  std::optional<std::string> ReadLine(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (buffer_.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char chunk[8192];
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    const auto newline = buffer_.find('\n');
    std::string line = buffer_.substr(0, newline);
    buffer_.erase(0, newline + 1);
    return line;
  }

  int fd_ = -1;
  int next_id_ = 0;
  std::string buffer_;
  std::vector<nlohmann::json> notifications_;
};

}  // namespace parley::client::testing
