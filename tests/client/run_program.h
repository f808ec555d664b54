// Runs a program of the test (no shell) and captures its standard output.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "parleyd_process.h"

namespace parley::client::testing {

// Runs a program (no shell) and returns its exit status and stdout. The
// output goes through a file: the tmux server a first command starts keeps
// a pipe open, so a pipe would never end.
inline std::pair<int, std::string> RunProgram(std::vector<std::string> args) {
  char path[] = "/tmp/parley-program-out-XXXXXX";
  const int out = mkstemp(path);
  if (out < 0) return {-1, ""};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out, STDOUT_FILENO);
    const int null = open("/dev/null", O_RDWR);
    dup2(null, STDERR_FILENO);
    dup2(null, STDIN_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out);
  int status = 0;
  waitpid(pid, &status, 0);
  std::string text = ReadWholeFile(path);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

}  // namespace parley::client::testing
