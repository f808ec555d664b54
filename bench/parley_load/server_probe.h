// Reading the server under test from /proc: its resident memory and the CPU
// time of all its threads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace parley::load {

struct ServerSample {
  std::uint64_t rss_kib = 0;  // VmRSS of /proc/<pid>/status
  double cpu_seconds = 0;     // utime + stime of /proc/<pid>/stat
};

// nullopt when pid is 0 or the process cannot be read.
std::optional<ServerSample> SampleServer(pid_t pid);

}  // namespace parley::load
