// parley-load: a load generator for parleyd, Prosody and ejabberd.
//
//   parley-load register --port P --count N --accounts FILE
//       registers Parley accounts over the wire protocol and appends their
//       credentials to FILE (only those FILE does not hold yet).
//   parley-load run --protocol parley|xmpp --port P --connections N ...
//       opens N authenticated TLS connections (split over --processes
//       generator processes and --sources loopback addresses), holds them
//       idle for --idle-seconds, measures the server's RSS, then sends
//       --rate messages per second between random online pairs for
//       --duration seconds, and reports throughput, delivery latency, the
//       generator's own CPU and the server's RSS and CPU.
//
// Every run stops by itself: connecting, idling, sending and draining each
// have a time bound.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "latency_histogram.h"
#include "load_engine.h"
#include "server_probe.h"

namespace {

using namespace parley::load;
using Clock = std::chrono::steady_clock;

// Accounts file: one line per account, "username account-uuid credential-hex registration-id".
std::vector<Account> ReadAccounts(const std::string& path) {
  std::vector<Account> accounts;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string username, uuid, credential;
    std::uint32_t registration_id = 0;
    if (!(fields >> username >> uuid >> credential >> registration_id)) continue;
    auto id = parley::Uuid::Parse(uuid);
    auto secret = parley::FromHex(credential);
    if (!id || !secret || secret->size() != 32) {
      std::cerr << "parley-load: skipping a malformed line of " << path << "\n";
      continue;
    }
    Account account;
    account.username = username;
    account.account_id = *id;
    std::copy(secret->begin(), secret->end(), account.credential.begin());
    account.registration_id = registration_id;
    accounts.push_back(std::move(account));
  }
  return accounts;
}

bool AppendAccounts(const std::string& path, const std::vector<Account>& accounts) {
  std::ofstream out(path, std::ios::app);
  for (const Account& a : accounts) {
    out << a.username << " " << a.account_id.ToString() << " " << parley::ToHex(a.credential) << " "
        << a.registration_id << "\n";
  }
  return static_cast<bool>(out.flush());
}

std::vector<boost::asio::ip::address> LoopbackSources(unsigned count) {
  std::vector<boost::asio::ip::address> sources;
  for (unsigned i = 1; i <= count; ++i) {
    sources.push_back(boost::asio::ip::make_address("127.0.0." + std::to_string(i)));
  }
  return sources;
}

// "key=value" from a line of a generator process.
std::string Field(const std::string& line, const std::string& key) {
  const std::string prefix = " " + key + "=";
  const std::size_t at = line.find(prefix);
  if (at == std::string::npos) return "";
  const std::size_t start = at + prefix.size();
  return line.substr(start, line.find(' ', start) - start);
}

std::uint64_t Number(const std::string& line, const std::string& key) {
  const std::string value = Field(line, key);
  return value.empty() ? 0 : std::stoull(value);
}

// Reads one line from `fd`, giving up at `deadline`.
std::optional<std::string> ReadLine(int fd, Clock::time_point deadline) {
  std::string line;
  char c = 0;
  while (Clock::now() < deadline) {
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    timeval wait{0, 200000};
    if (select(fd + 1, &set, nullptr, nullptr, &wait) <= 0) continue;
    const ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return std::nullopt;
    if (c == '\n') return line;
    line.push_back(c);
  }
  return std::nullopt;
}

struct Child {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
};

struct RunOptions {
  std::string protocol = "parley";
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t connections = 100;
  std::string accounts_file;
  std::string xmpp_domain = "load.localhost";
  std::string xmpp_password = "load-password";
  std::string xmpp_prefix = "load";
  unsigned processes = 1;
  unsigned sources = 1;
  double idle_seconds = 0;
  pid_t server_pid = 0;
  LoadShape shape;
  double rate = 0;
};

int Run(const RunOptions& options) {
  Target target;
  target.protocol = options.protocol == "xmpp" ? Protocol::kXmpp : Protocol::kParley;
  target.host = options.host;
  target.port = options.port;
  target.sources = LoopbackSources(options.sources);
  target.xmpp_domain = options.xmpp_domain;
  target.xmpp_password = options.xmpp_password;

  std::vector<Account> accounts;
  if (target.protocol == Protocol::kParley) {
    accounts = ReadAccounts(options.accounts_file);
    if (accounts.size() < options.connections) {
      std::cerr << "parley-load: " << options.accounts_file << " holds " << accounts.size()
                << " accounts; register more first\n";
      return 1;
    }
    accounts.resize(options.connections);
  } else {
    for (std::size_t i = 0; i < options.connections; ++i) {
      Account account;
      account.username = options.xmpp_prefix + std::to_string(i);
      accounts.push_back(std::move(account));
    }
  }
  const std::size_t per_process = (options.connections + options.processes - 1) / options.processes;
  if (per_process > 19500) {
    std::cerr << "parley-load: " << per_process << " connections per process exceed the open-file limit; "
              << "use more --processes\n";
    return 1;
  }

  const std::optional<ServerSample> baseline = SampleServer(options.server_pid);
  std::cout << "protocol=" << options.protocol << " connections=" << options.connections
            << " processes=" << options.processes << " sources=" << options.sources
            << " rate=" << options.rate << " duration_s=" << options.shape.duration_seconds
            << " message_bytes=" << options.shape.message_bytes;
  if (options.protocol == "parley") {
    std::cout << " client_ids=" << (options.shape.time_ordered_ids ? "time-ordered" : "random")
              << " push_window=" << options.shape.push_window;
  }
  std::cout << "\n";
  if (baseline) std::cout << "server_rss_before_kib=" << baseline->rss_kib << "\n";

  std::vector<Child> children;
  for (unsigned p = 0; p < options.processes; ++p) {
    const std::size_t first = std::min<std::size_t>(p * per_process, options.connections);
    const std::size_t count = std::min<std::size_t>(per_process, options.connections - first);
    int down[2];
    int up[2];
    if (pipe(down) != 0 || pipe(up) != 0) {
      std::perror("parley-load: pipe");
      return 1;
    }
    std::cout.flush();
    const pid_t pid = fork();
    if (pid == 0) {
      close(down[1]);
      close(up[0]);
      LoadShape shape = options.shape;
      shape.messages_per_second = options.rate / options.processes;
      _exit(RunGeneratorProcess(target, shape, accounts, first, count, p, down[0], up[1]));
    }
    close(down[0]);
    close(up[1]);
    children.push_back({pid, down[1], up[0]});
  }

  const auto connect_deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options.shape.connect_timeout_seconds + 30));
  std::uint64_t connected = 0;
  std::uint64_t failed = 0;
  bool ok = true;
  for (const Child& child : children) {
    auto line = ReadLine(child.from_child, connect_deadline);
    if (!line) {
      ok = false;
      break;
    }
    connected += Number(" " + *line, "connected");
    failed += Number(" " + *line, "failed");
  }
  if (!ok) {
    std::cerr << "parley-load: a generator process did not get ready\n";
    for (const Child& child : children) kill(child.pid, SIGKILL);
    for (const Child& child : children) waitpid(child.pid, nullptr, 0);
    return 1;
  }
  std::cout << "connected=" << connected << " failed=" << failed << "\n";
  if (options.idle_seconds > 0)
    std::this_thread::sleep_for(std::chrono::duration<double>(options.idle_seconds));
  const std::optional<ServerSample> idle = SampleServer(options.server_pid);
  if (baseline && idle && connected > 0) {
    std::printf(
        "server_rss_idle_kib=%llu server_rss_per_connection_kib=%.1f (delta over baseline) "
        "server_rss_total_per_connection_kib=%.1f\n",
        static_cast<unsigned long long>(idle->rss_kib),
        (static_cast<double>(idle->rss_kib) - static_cast<double>(baseline->rss_kib)) /
            static_cast<double>(connected),
        static_cast<double>(idle->rss_kib) / static_cast<double>(connected));
    std::fflush(stdout);
  }

  const auto go = Clock::now();
  for (const Child& child : children) {
    if (::write(child.to_child, "go\n", 3) != 3) ok = false;
  }
  // The server's CPU over the sending period only.
  std::optional<ServerSample> load_end;
  std::uint64_t peak_rss = idle ? idle->rss_kib : 0;
  if (options.rate > 0) {
    const auto end = go + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(options.shape.duration_seconds));
    while (Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (auto s = SampleServer(options.server_pid); s && s->rss_kib > peak_rss) peak_rss = s->rss_kib;
    }
    load_end = SampleServer(options.server_pid);
  }
  const auto result_deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options.shape.drain_seconds + 30));
  LatencyHistogram latency;
  std::uint64_t sums[9] = {};
  const char* keys[9] = {"attempted",  "sent",    "skipped",          "accepted", "delivered",
                         "duplicates", "bounces", "lost_connections", "cpu_us"};
  std::string rejected;
  for (const Child& child : children) {
    auto line = ReadLine(child.from_child, result_deadline);
    if (!line) {
      ok = false;
      continue;
    }
    for (int k = 0; k < 9; ++k) sums[k] += Number(*line, keys[k]);
    LatencyHistogram part;
    if (part.Parse(Field(*line, "latency"))) latency.Merge(part);
    const std::string r = Field(*line, "rejected");
    if (r != "-" && !r.empty()) rejected += (rejected.empty() ? "" : ";") + r;
  }
  for (const Child& child : children) {
    close(child.to_child);
    close(child.from_child);
    kill(child.pid, SIGTERM);
    waitpid(child.pid, nullptr, 0);
  }
  if (!ok) {
    std::cerr << "parley-load: a generator process did not report\n";
    return 1;
  }
  if (options.rate <= 0) return failed == 0 ? 0 : 1;

  const double seconds = options.shape.duration_seconds;
  const std::uint64_t accepted_or_sent = options.protocol == "xmpp" ? sums[1] : sums[3];
  const std::int64_t lost = static_cast<std::int64_t>(accepted_or_sent) - static_cast<std::int64_t>(sums[4]);
  std::printf(
      "sent=%llu accepted=%llu delivered=%llu lost=%lld duplicates=%llu skipped=%llu bounces=%llu "
      "rejected=%s lost_connections=%llu\n",
      static_cast<unsigned long long>(sums[1]), static_cast<unsigned long long>(sums[3]),
      static_cast<unsigned long long>(sums[4]), static_cast<long long>(lost),
      static_cast<unsigned long long>(sums[5]), static_cast<unsigned long long>(sums[2]),
      static_cast<unsigned long long>(sums[6]), rejected.empty() ? "-" : rejected.c_str(),
      static_cast<unsigned long long>(sums[7]));
  std::printf("throughput_msgs_per_s=%.0f latency_ms p50=%.2f p99=%.2f p99.9=%.2f max=%.2f\n",
              static_cast<double>(sums[4]) / seconds, latency.Percentile(0.50) / 1000.0,
              latency.Percentile(0.99) / 1000.0, latency.Percentile(0.999) / 1000.0, latency.max() / 1000.0);
  std::printf("generator_cpu_percent_of_one_core=%.1f (over %u processes)\n",
              100.0 * static_cast<double>(sums[8]) / 1e6 / seconds, options.processes);
  if (idle && load_end) {
    std::printf(
        "server_cpu_percent_of_one_core=%.1f server_rss_peak_kib=%llu\n",
        100.0 * (load_end->cpu_seconds - idle->cpu_seconds) / std::chrono::duration<double>(seconds).count(),
        static_cast<unsigned long long>(peak_rss));
  }
  return (failed == 0 && lost == 0) ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"parley-load: a load generator for parleyd, Prosody and ejabberd"};
  app.require_subcommand(1);

  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t count = 0;
  std::string accounts_file;
  std::string prefix = "load";
  std::size_t concurrency = 64;
  unsigned sources = 1;
  CLI::App* reg = app.add_subcommand("register", "register Parley accounts and append them to a file");
  reg->add_option("--host", host, "server address");
  reg->add_option("--port", port, "server port")->required();
  reg->add_option("--count", count, "accounts the file should hold")->required();
  reg->add_option("--accounts", accounts_file, "accounts file")->required();
  reg->add_option("--prefix", prefix, "username prefix");
  reg->add_option("--concurrency", concurrency, "registrations at once");
  reg->add_option("--sources", sources, "loopback source addresses 127.0.0.1..N");

  RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run", "connect, idle, send load and report");
  run_cmd->add_option("--protocol", run.protocol, "parley or xmpp")->check(CLI::IsMember({"parley", "xmpp"}));
  run_cmd->add_option("--host", run.host, "server address");
  run_cmd->add_option("--port", run.port, "server port")->required();
  run_cmd->add_option("--connections", run.connections, "connections (accounts) in all");
  run_cmd->add_option("--accounts", run.accounts_file, "Parley accounts file (from register)");
  run_cmd->add_option("--xmpp-domain", run.xmpp_domain, "XMPP domain");
  run_cmd->add_option("--xmpp-password", run.xmpp_password, "password of every XMPP user");
  run_cmd->add_option("--xmpp-prefix", run.xmpp_prefix, "XMPP users are <prefix>0..<prefix>N-1");
  run_cmd->add_option("--processes", run.processes, "generator processes")->check(CLI::Range(1, 64));
  run_cmd->add_option("--sources", run.sources, "loopback source addresses 127.0.0.1..N")
      ->check(CLI::Range(1, 254));
  run_cmd->add_option("--idle-seconds", run.idle_seconds, "seconds connected and idle before measuring RSS")
      ->check(CLI::Range(0.0, 3600.0));
  run_cmd->add_option("--server-pid", run.server_pid, "server process to measure (RSS, CPU)");
  run_cmd->add_option("--rate", run.rate, "messages per second in all (0: idle only)")
      ->check(CLI::Range(0.0, 1e7));
  run_cmd->add_option("--duration", run.shape.duration_seconds, "seconds of load")
      ->check(CLI::Range(0.0, 3600.0));
  run_cmd
      ->add_option("--drain-seconds", run.shape.drain_seconds, "longest wait for deliveries after the load")
      ->check(CLI::Range(0.0, 600.0));
  run_cmd->add_option("--message-bytes", run.shape.message_bytes, "message content bytes")
      ->check(CLI::Range(20, 65536));
  run_cmd->add_option("--max-outstanding", run.shape.max_outstanding_per_connection,
                      "unanswered Parley sends per connection");
  run_cmd->add_option("--connect-concurrency", run.shape.connect_concurrency, "connection attempts at once");
  run_cmd->add_option("--connect-timeout", run.shape.connect_timeout_seconds, "seconds to connect everything")
      ->check(CLI::Range(1.0, 3600.0));
  run_cmd->add_option("--seed", run.shape.seed, "seed of the sender/recipient choice");
  run_cmd->add_flag("!--random-ids", run.shape.time_ordered_ids,
                    "Parley: random client message ids (default: time-ordered, as the client makes them)");
  run_cmd->add_option("--push-window", run.shape.push_window,
                      "Parley: push window asked for at login (0: none, the server's default)");

  CLI11_PARSE(app, argc, argv);

  if (reg->parsed()) {
    std::vector<Account> existing = ReadAccounts(accounts_file);
    if (existing.size() >= count) {
      std::cout << accounts_file << " already holds " << existing.size() << " accounts\n";
      return 0;
    }
    Target target;
    target.host = host;
    target.port = port;
    target.sources = LoopbackSources(sources);
    const auto start = Clock::now();
    std::size_t failed = 0;
    const std::vector<Account> registered =
        RegisterAccounts(target, prefix, existing.size(), count - existing.size(), concurrency, failed);
    if (!AppendAccounts(accounts_file, registered)) {
      std::cerr << "parley-load: cannot write " << accounts_file << "\n";
      return 1;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("registered=%zu failed=%zu seconds=%.1f\n", registered.size(), failed, seconds);
    return failed == 0 ? 0 : 1;
  }
  if (run.protocol == "parley" && run.accounts_file.empty()) {
    std::cerr << "parley-load: --accounts is needed for --protocol parley\n";
    return 1;
  }
  return Run(run);
}
