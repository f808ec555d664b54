// The open-file limit: every connection is a file descriptor, so parleyd
// raises its soft RLIMIT_NOFILE to the hard limit at start.
#pragma once

#include <cstdint>
#include <optional>

namespace parley::server {

struct FileLimit {
  std::uint64_t soft_before = 0;
  std::uint64_t soft_after = 0;
  std::uint64_t hard = 0;
};

// Raises the soft limit to the hard limit. nullopt when the limits cannot be
// read; soft_after == soft_before when raising failed or was not needed.
std::optional<FileLimit> RaiseOpenFileLimit();

}  // namespace parley::server
