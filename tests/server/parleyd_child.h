// The real parleyd binary as a child process of a test: started with its
// output in files, waited for (bounded), and its port read from the file
// `serve --port-file` writes. PARLEYD_PATH is the binary (set by CMake).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace parley::server::parleyd_child {

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs parleyd with `args`; its stdout and stderr are appended to
// stdout.txt and stderr.txt in `dir`.
inline pid_t StartParleyd(const std::filesystem::path& dir, const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open((dir / "stdout.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int err = open((dir / "stderr.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(PARLEYD_PATH));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(PARLEYD_PATH, argv.data());
    _exit(127);
  }
  return pid;
}

// The exit status (128 + the signal when killed by one), or -1 when it did
// not exit within `limit` (it is killed then).
inline int WaitForExit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// The port parleyd wrote, or 0 when it did not within `limit` (or exited).
inline std::uint16_t WaitForPort(pid_t pid, const std::filesystem::path& port_file,
                                 std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    // parleyd writes the file whole (a rename).
    if (std::filesystem::exists(port_file)) return static_cast<std::uint16_t>(std::stoi(ReadFile(port_file)));
    if (waitpid(pid, nullptr, WNOHANG) == pid) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

}  // namespace parley::server::parleyd_child
