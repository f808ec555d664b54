#include "server_probe.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace parley::load {

std::optional<ServerSample> SampleServer(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string dir = "/proc/" + std::to_string(pid);
  ServerSample sample;
  bool have_rss = false;
  std::ifstream status(dir + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream(line.substr(6)) >> sample.rss_kib;
      have_rss = true;
    }
  }
  std::ifstream stat_file(dir + "/stat");
  std::string stat;
  std::getline(stat_file, stat);
  // The command name may hold spaces; the fields after ") " are fixed.
  const std::size_t close = stat.rfind(')');
  if (!have_rss || close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields 3..13 precede utime (14) and stime (15).
  for (int i = 3; i <= 13 && fields >> field; ++i) {
  }
  if (!(fields >> utime >> stime)) return std::nullopt;
  sample.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return sample;
}

}  // namespace parley::load
