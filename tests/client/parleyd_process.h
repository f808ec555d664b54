// A real parleyd process for client tests: started on 127.0.0.1 port 0 with
// a temporary data directory, stopped with SIGTERM (SIGKILL after a bound).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace parley::client::testing {

inline std::string ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class ParleydProcess {
 public:
  // Starts parleyd in `dir` (which must exist) on `port` (0: any free one);
  // port() is 0 when it did not come up within 20 s. The data directory is
  // dir/server, so a parleyd started again in the same dir keeps its store
  // and certificate. `extra_toml` is appended to the configuration, right
  // after the [rate_limits] keys (more limits, then other tables).
  explicit ParleydProcess(const std::filesystem::path& dir, std::uint16_t port = 0,
                          const std::string& extra_toml = "")
      : dir_(dir) {
    std::filesystem::remove(dir_ / "port");
    std::ofstream(dir_ / "parleyd.toml")
        << "[server]\nlisten_address = \"127.0.0.1\"\nport = " << port << "\nthreads = 2\n"
        << "data_dir = \"" << (dir_ / "server").string() << "\"\ndrain_timeout_seconds = 2\n"
        << "[log]\nlevel = \"warn\"\n"
        << "[rate_limits]\nregistrations_per_address = { capacity = 1000, refill_per_hour = 100000 }\n"
        << "unauthenticated_requests_per_address = { capacity = 10000, refill_per_hour = 1000000 }\n"
        << "first_contacts_per_new_account = { capacity = 1000, refill_per_hour = 100000 }\n"
        << extra_toml;
    const auto port_file = dir_ / "port";
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open((dir_ / "parleyd.out").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
      const std::string config = (dir_ / "parleyd.toml").string();
      const std::string port_path = port_file.string();
      execl(PARLEYD_PATH, PARLEYD_PATH, "--config", config.c_str(), "serve", "--port-file", port_path.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(port_file)) {
        const std::string text = ReadWholeFile(port_file);
        if (!text.empty()) {
          port_ = static_cast<std::uint16_t>(std::stoi(text));
          break;
        }
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // parleyd logs its certificate fingerprint; the tests pin it.
    const std::string log = ReadWholeFile(dir_ / "parleyd.out");
    std::smatch match;
    if (std::regex_search(log, match, std::regex("fingerprint.*?([0-9a-f]{64})"))) fingerprint_ = match[1];
  }

  ~ParleydProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string fingerprint_;
};

}  // namespace parley::client::testing
