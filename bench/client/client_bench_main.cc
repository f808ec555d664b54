// parley-client-bench: what a user of the client library feels.
//
//  1. Latency: one Client sends texts to another, both online, through a
//     real parleyd on 127.0.0.1; the time from SendText() being called to
//     the receiver's MessageReceived event (decrypted and committed to its
//     store), one message at a time.
//  2. Drain: the receiver goes offline, several senders queue `--messages`
//     texts for it, then it reconnects; the time from Connect() until the
//     whole queue is decrypted, stored and acknowledged, and the receiver
//     process's peak RSS growth meanwhile. With --contacts the receiver
//     has the senders as contacts, so it sends delivery receipts as it
//     drains (otherwise every message is a request: no receipts, S2).
//
// Usage: parley-client-bench [--messages N] [--latency-messages N] [--senders N] [--max-push-window N]
// [--contacts] [--dir D]
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "parleyd_process.h"

namespace {

using namespace parley::client;
using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t messages = 100'000;
  std::size_t latency_messages = 2'000;
  std::size_t senders = 4;
  std::size_t max_push_window = 0;  // 0: parleyd's default
  bool contacts = false;            // the receiver accepts the senders: delivery receipts go back
  std::filesystem::path dir;
};

std::uint64_t ProcStatusKib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::strtoull(line.c_str() + std::strlen(field), nullptr, 10);
  }
  return 0;
}

// CPU seconds (user + system) of a process, from /proc/<pid>/stat.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after ')'.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Resets VmHWM to the current RSS (Linux >= 4.0).
void ResetPeakRss() {
  const int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return;
  if (write(fd, "5", 1) != 1) std::fprintf(stderr, "cannot reset the peak RSS\n");
  close(fd);
}

std::uint64_t DirectoryBytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "parley-client-bench: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T Check(ClientResult<T> r, const char* what) {
  if (!r)
    Die(std::string(what) + ": " + std::string(ClientErrcName(r.error().code)) + " " +
        std::string(r.error().message));
  return std::move(*r);
}

void Check(ClientStatus s, const char* what) {
  if (!s)
    Die(std::string(what) + ": " + std::string(ClientErrcName(s.error().code)) + " " +
        std::string(s.error().message));
}

class Bench {
 public:
  explicit Bench(Options options) : options_(std::move(options)) {}

  int Run() {
    // Rate limits and the queue bound sized for the run: the benchmark
    // measures the client, not the abuse controls.
    const std::string config =
        "messages_per_sender_recipient_pair = { capacity = 1000000, refill_per_hour = 100000000 }\n"
        "requests_per_device = { capacity = 1000000, refill_per_hour = 100000000 }\n"
        "[messages]\nqueue_limit_per_device = " +
        std::to_string(options_.messages + options_.latency_messages + 1000) + "\n" +
        (options_.max_push_window > 0 ? "max_push_window = " + std::to_string(options_.max_push_window) + "\n"
                                      : "");
    server_ = std::make_unique<parley::client::testing::ParleydProcess>(options_.dir, 0, config);
    if (server_->port() == 0) Die("parleyd did not start; see " + (options_.dir / "parleyd.out").string());
    address_ = {"127.0.0.1", server_->port(), server_->fingerprint()};
    std::printf("parleyd on 127.0.0.1:%u; %zu latency messages, %zu queued messages from %zu senders\n",
                server_->port(), options_.latency_messages, options_.messages, options_.senders);
    Latency();
    Drain();
    return 0;
  }

 private:
  std::unique_ptr<Client> Open(const std::string& name) {
    ClientOptions options;
    options.data_dir = options_.dir / "profiles" / name;
    options.key.kind = StoreKeySource::Kind::kKeyFile;
    options.key.key_file = options_.dir / "profiles" / (name + ".key");
    std::filesystem::create_directories(options_.dir / "profiles");
    return Check(Client::Open(options), "open a profile");
  }

  std::unique_ptr<Client> Register(const std::string& name) {
    auto client = Open(name);
    Check(client->Register(address_, name, name + "-bench"), "register");
    return client;
  }

  void Latency() {
    auto alice = Register("alice");
    auto bob = Register("bob");
    Check(bob->AddContact("alice"), "add contact");
    Check(alice->AddContact("bob"), "add contact");

    std::mutex mutex;
    std::condition_variable cv;
    std::map<std::string, Clock::time_point> arrived;
    bob->SetEventHandler([&](const Event& e) {
      if (const auto* m = std::get_if<MessageReceived>(&e)) {
        const auto now = Clock::now();
        std::lock_guard lock(mutex);
        arrived.emplace(m->message.body, now);
        cv.notify_all();
      }
    });
    // The first message sets up the session (bundle fetch, X3DH); not counted.
    std::vector<double> ms;
    ms.reserve(options_.latency_messages);
    for (std::size_t i = 0; i <= options_.latency_messages; ++i) {
      const std::string body = "latency " + std::to_string(i);
      const auto start = Clock::now();
      Check(alice->SendText("bob", body), "send");
      std::unique_lock lock(mutex);
      if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived.contains(body); })) {
        Die("a message did not arrive within 10 s");
      }
      if (i > 0) ms.push_back(std::chrono::duration<double, std::milli>(arrived[body] - start).count());
      arrived.erase(body);
    }
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * ms.size()))]; };
    double sum = 0;
    for (double v : ms) sum += v;
    std::printf(
        "latency send->receive (ms, %zu messages): mean %.2f  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
        ms.size(), sum / ms.size(), at(0.50), at(0.90), at(0.99), ms.back());
    bob->SetEventHandler(nullptr);
  }

  void Drain() {
    // Senders queue messages for "carol" while she is offline.
    auto carol = Register("carol");
    std::vector<std::unique_ptr<Client>> senders;
    for (std::size_t s = 0; s < options_.senders; ++s) {
      senders.push_back(Register("sender" + std::to_string(s)));
      Check(senders.back()->AddContact("carol"), "add contact");
      if (options_.contacts) Check(carol->AddContact("sender" + std::to_string(s)), "add contact");
    }
    carol.reset();
    const auto fill_start = Clock::now();
    std::vector<std::thread> threads;
    std::atomic<bool> failed{false};
    for (std::size_t s = 0; s < options_.senders; ++s) {
      threads.emplace_back([&, s] {
        const std::size_t count =
            options_.messages / options_.senders + (s < options_.messages % options_.senders);
        for (std::size_t i = 0; i < count && !failed; ++i) {
          if (!senders[s]->SendText("carol", "queued " + std::to_string(s) + "/" + std::to_string(i))) {
            failed = true;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    if (failed) Die("a sender failed");
    const double fill_s = std::chrono::duration<double>(Clock::now() - fill_start).count();
    std::printf("queued %zu messages in %.1f s (%.0f sends/s over %zu sending clients)\n", options_.messages,
                fill_s, options_.messages / fill_s, options_.senders);
    senders.clear();

    carol = Open("carol");
    std::atomic<std::size_t> received{0};
    std::atomic<std::size_t> undecryptable{0};
    carol->SetEventHandler([&](const Event& e) {
      if (std::holds_alternative<MessageReceived>(e)) ++received;
      if (std::holds_alternative<DecryptionFailed>(e)) ++undecryptable;
    });
    const std::uint64_t rss_before = ProcStatusKib("VmRSS:");
    ResetPeakRss();
    const double client_cpu_before = ProcessCpuSeconds(getpid());
    const double server_cpu_before = ProcessCpuSeconds(server_->pid());
    const auto start = Clock::now();
    Check(carol->Connect(), "connect");
    Check(carol->WaitUntilDrained(std::chrono::seconds(600)), "drain");
    const double drain_s = std::chrono::duration<double>(Clock::now() - start).count();
    const std::uint64_t peak = ProcStatusKib("VmHWM:");
    const double client_cpu = ProcessCpuSeconds(getpid()) - client_cpu_before;
    const double server_cpu = ProcessCpuSeconds(server_->pid()) - server_cpu_before;
    carol->Disconnect();
    if (received != options_.messages) {
      Die("received " + std::to_string(received) + " of " + std::to_string(options_.messages) + " (" +
          std::to_string(undecryptable) + " failed to decrypt)");
    }
    std::printf(
        "drain: %zu messages decrypted, stored and acknowledged in %.2f s (%.0f msgs/s); "
        "RSS %.1f MiB before, peak +%.1f MiB; receiver profile %.1f MiB on disk\n",
        options_.messages, drain_s, options_.messages / drain_s, rss_before / 1024.0,
        (peak > rss_before ? peak - rss_before : 0) / 1024.0,
        DirectoryBytes(options_.dir / "profiles" / "carol") / 1048576.0);
    std::printf("drain CPU: receiving client %.1f s, parleyd %.1f s (%.0f and %.0f us per message)\n",
                client_cpu, server_cpu, client_cpu * 1e6 / options_.messages,
                server_cpu * 1e6 / options_.messages);
  }

  Options options_;
  std::unique_ptr<parley::client::testing::ParleydProcess> server_;
  ServerAddress address_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--messages") {
      options.messages = std::stoul(value());
    } else if (arg == "--latency-messages") {
      options.latency_messages = std::stoul(value());
    } else if (arg == "--senders") {
      options.senders = std::max<std::size_t>(1, std::stoul(value()));
    } else if (arg == "--max-push-window") {
      options.max_push_window = std::stoul(value());
    } else if (arg == "--contacts") {
      options.contacts = true;
    } else if (arg == "--dir") {
      options.dir = value();
    } else {
      std::fprintf(stderr,
                   "usage: parley-client-bench [--messages N] [--latency-messages N] [--senders N] "
                   "[--max-push-window N] [--contacts] [--dir D]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  if (options.latency_messages == 0) Die("--latency-messages must be at least 1");
  bool temporary = false;
  if (options.dir.empty()) {
    char pattern[] = "/tmp/parley-client-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) Die("cannot make a temporary directory");
    options.dir = pattern;
    temporary = true;
  }
  std::filesystem::create_directories(options.dir);
  const auto dir = options.dir;
  int rc = Bench(std::move(options)).Run();
  if (temporary) std::filesystem::remove_all(dir);
  return rc;
}
