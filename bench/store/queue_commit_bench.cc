// queue-commit-bench: the store's share of one relayed message, without the
// network. What parleyd's relay does on SQLite, at a fixed group-commit
// size: for each send the recipient's devices are listed (the check on the
// network thread), then one CommitQueueBatch queues `--batch` sends between
// random pairs of `--accounts` accounts (160-byte contents, time-ordered
// client message ids) and deletes the messages queued by the commit before
// (their acknowledgements), as the queue writer does. Durable as in parleyd:
// WAL, synchronous=FULL, every commit fsynced, checkpoints on their thread.
//
// Reports CPU time per message: of the calling thread for the device
// checks and for the commits, and of the whole process (the checkpoint
// thread included), plus the bytes the process wrote to disk. A fixed
// batch size takes the batching out of the comparison, which on a shared
// machine follows the load (docs/benchmarks.md).
//
//   queue-commit-bench --dir DIR [--accounts 1000] [--batch 16] [--commits 2000]
#include <sys/resource.h>
#include <time.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/rng.h"
#include "base/uuid.h"
#include "bench_store.h"
#include "store/limits.h"
#include "store/sqlite_server_store.h"

namespace {

using namespace parley;
using namespace parley::store;

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::uint64_t WrittenBytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value)
    if (key == "write_bytes:") return value;
  return 0;
}

// The send's device check, through whichever call the store offers for it.
template <class Store>
bool CheckDevices(Store& store, const AccountId& recipient) {
  if constexpr (requires { store.ListDeviceRegistrations(recipient); }) {
    auto devices = store.ListDeviceRegistrations(recipient);
    return devices && devices->size() == 1;
  } else {
    auto devices = store.ListDevices(recipient);
    return devices && devices->size() == 1;
  }
}

struct Options {
  std::string dir;
  std::size_t accounts = 1000;
  std::size_t batch = 16;
  std::size_t commits = 2000;
};

bool Parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--dir") {
      options.dir = value;
    } else if (key == "--accounts") {
      options.accounts = std::strtoull(value, nullptr, 10);
    } else if (key == "--batch") {
      options.batch = std::strtoull(value, nullptr, 10);
    } else if (key == "--commits") {
      options.commits = std::strtoull(value, nullptr, 10);
    } else {
      return false;
    }
  }
  return (argc % 2) == 1 && !options.dir.empty() && options.accounts >= 2 && options.batch >= 1 &&
         options.batch <= kMaxEnqueueBatch && options.commits >= 1 && options.commits <= 1'000'000;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!Parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: queue-commit-bench --dir DIR [--accounts N>=2] [--batch 1..%zu] [--commits N]\n",
                 kMaxEnqueueBatch);
    return 2;
  }
  SystemClock clock;
  auto opened = bench::OpenFreshStore(options.dir, clock, "queue-commit-bench");
  if (!opened) return 1;
  SqliteServerStore& store = *opened;

  DeterministicRng rng(1);
  auto created = bench::CreateAccounts(store, options.accounts, rng, "queue-commit-bench");
  if (!created) return 1;
  const std::vector<AccountId> accounts = std::move(*created);

  const std::vector<std::uint8_t> content(160, 0x5a);
  std::vector<OutgoingEnvelope> envelopes(options.batch);
  std::vector<EnqueueRequest> sends(options.batch);
  std::vector<QueuedCopy> acks;
  std::uint64_t sequence = 0;
  std::uint64_t failures = 0;
  double check_seconds = 0;
  double commit_seconds = 0;
  const double process_before = ProcessCpuSeconds();
  const std::uint64_t written_before = WrittenBytes();
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t c = 0; c < options.commits; ++c) {
    const double check_started = ThreadCpuSeconds();
    for (std::size_t s = 0; s < options.batch; ++s) {
      std::uint64_t pick = 0;
      rng.Fill({reinterpret_cast<std::uint8_t*>(&pick), sizeof pick});
      const std::size_t from = pick % options.accounts;
      const std::size_t to = (from + 1 + (pick >> 32) % (options.accounts - 1)) % options.accounts;
      if (!CheckDevices(store, accounts[to])) ++failures;
      // Time-ordered ids, as clients make them (UUIDv7 layout: time first).
      std::array<std::uint8_t, 16> id{};
      const std::uint64_t now_ms = static_cast<std::uint64_t>(clock.NowMillis());
      for (int b = 0; b < 6; ++b) id[b] = static_cast<std::uint8_t>(now_ms >> (40 - 8 * b));
      ++sequence;
      std::memcpy(id.data() + 8, &sequence, sizeof sequence);
      envelopes[s] = {{accounts[to], DeviceId(1)}, 1, content};
      sends[s] = {{accounts[from], DeviceId(1)}, ClientMessageId(id), std::span(&envelopes[s], 1)};
    }
    const double commit_started = ThreadCpuSeconds();
    check_seconds += commit_started - check_started;
    auto committed = store.CommitQueueBatch(sends, acks);
    commit_seconds += ThreadCpuSeconds() - commit_started;
    if (!committed) {
      std::fprintf(stderr, "queue-commit-bench: commit failed\n");
      return 1;
    }
    acks.clear();
    for (const auto& result : committed->sends) {
      if (!result || result->copies.size() != 1) {
        ++failures;
        continue;
      }
      acks.push_back(result->copies.front());
    }
    for (bool deleted : committed->deleted)
      if (!deleted) ++failures;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double process = ProcessCpuSeconds() - process_before;
  const double written = double(WrittenBytes() - written_before);
  const double messages = double(options.commits * options.batch);
  std::printf(
      "accounts=%zu batch=%zu commits=%zu messages=%.0f failures=%llu\n"
      "us_per_message check=%.2f commit=%.2f process=%.2f written_bytes_per_message=%.0f "
      "commits_per_s=%.0f\n",
      options.accounts, options.batch, options.commits, messages, static_cast<unsigned long long>(failures),
      check_seconds / messages * 1e6, commit_seconds / messages * 1e6, process / messages * 1e6,
      written / messages, double(options.commits) / wall);
  return failures == 0 ? 0 : 3;
}
