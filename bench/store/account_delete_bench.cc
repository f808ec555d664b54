// account-delete-bench: what deleting an account costs when the idempotence
// records are not indexed by sender (SQLite since schema version 4). Fills a
// store with `--records` send records between random pairs of `--accounts`
// accounts through CommitQueueBatch (1,024 sends per commit, time-ordered
// client message ids; each commit acknowledges the messages of the commit
// before, so only the records stay), then deletes `--deletes` accounts one
// after another and reports the wall and thread CPU time of each
// DeleteAccount call. The first delete after the fill finds the table in
// SQLite's page cache as far as it fits (64 MiB) and the rest in the OS's.
// Then (schema version 5) removes the deleted accounts' records with
// PurgeDeletedAccounts in steps of `--step` records, as parleyd's purge does,
// and reports the steps' count, their wall times (median, 99th percentile,
// largest: how long each holds the write lock, its commit included), the
// whole walk's wall and CPU time, and the records removed against the
// number the deleted accounts sent.
//
//   account-delete-bench --dir DIR [--records 1000000] [--accounts 1000] [--deletes 3] [--step 10000]
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

struct Options {
  std::string dir;
  std::size_t records = 1'000'000;
  std::size_t accounts = 1000;
  std::size_t deletes = 3;
  std::size_t step = 10'000;
};

bool Parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::size_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (key == "--dir") {
      options.dir = argv[i + 1];
    } else if (key == "--records") {
      options.records = value;
    } else if (key == "--accounts") {
      options.accounts = value;
    } else if (key == "--deletes") {
      options.deletes = value;
    } else if (key == "--step") {
      options.step = value;
    } else {
      return false;
    }
  }
  return (argc % 2) == 1 && !options.dir.empty() && options.accounts >= 2 && options.records >= 1 &&
         options.records <= 100'000'000 && options.deletes >= 1 && options.deletes < options.accounts &&
         options.step >= 1 && options.step <= kMaxPurgeBatch;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!Parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: account-delete-bench --dir DIR [--records N] [--accounts N>=2] [--deletes N] "
                 "[--step 1..10000]\n");
    return 2;
  }
  SystemClock clock;
  auto opened = bench::OpenFreshStore(options.dir, clock, "account-delete-bench");
  if (!opened) return 1;
  SqliteServerStore& store = *opened;

  DeterministicRng rng(1);
  auto created = bench::CreateAccounts(store, options.accounts, rng, "account-delete-bench");
  if (!created) return 1;
  const std::vector<AccountId> accounts = std::move(*created);

  const std::vector<std::uint8_t> content(32, 0x5a);
  std::vector<OutgoingEnvelope> envelopes(kMaxEnqueueBatch);
  std::vector<EnqueueRequest> sends;
  std::vector<QueuedCopy> acks;
  std::uint64_t sequence = 0;
  std::vector<std::uint64_t> sent(options.accounts, 0);
  const auto fill_started = std::chrono::steady_clock::now();
  while (sequence < options.records) {
    sends.clear();
    for (std::size_t s = 0; s < kMaxEnqueueBatch && sequence < options.records; ++s) {
      std::uint64_t pick = 0;
      rng.Fill({reinterpret_cast<std::uint8_t*>(&pick), sizeof pick});
      const std::size_t from = pick % options.accounts;
      const std::size_t to = (from + 1 + (pick >> 32) % (options.accounts - 1)) % options.accounts;
      // Time-ordered ids, as clients make them (UUIDv7 layout: time first).
      std::array<std::uint8_t, 16> id{};
      const std::uint64_t now_ms = static_cast<std::uint64_t>(clock.NowMillis());
      for (int b = 0; b < 6; ++b) id[b] = static_cast<std::uint8_t>(now_ms >> (40 - 8 * b));
      ++sequence;
      std::memcpy(id.data() + 8, &sequence, sizeof sequence);
      ++sent[from];
      envelopes[s] = {{accounts[to], DeviceId(1)}, 1, content};
      sends.push_back({{accounts[from], DeviceId(1)}, ClientMessageId(id), std::span(&envelopes[s], 1)});
    }
    auto committed = store.CommitQueueBatch(sends, acks);
    if (!committed) {
      std::fprintf(stderr, "account-delete-bench: commit failed\n");
      return 1;
    }
    acks.clear();
    for (const auto& result : committed->sends) {
      if (!result || result->copies.size() != 1) {
        std::fprintf(stderr, "account-delete-bench: a send failed\n");
        return 1;
      }
      acks.push_back(result->copies.front());
    }
  }
  if (!acks.empty() && !store.CommitQueueBatch({}, acks)) {
    std::fprintf(stderr, "account-delete-bench: final acknowledgement failed\n");
    return 1;
  }
  const double fill_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_started).count();
  std::printf("records=%zu accounts=%zu fill_s=%.1f db_bytes=%llu\n", options.records, options.accounts,
              fill_seconds,
              static_cast<unsigned long long>(std::filesystem::file_size(bench::StorePath(options.dir))));

  for (std::size_t d = 0; d < options.deletes; ++d) {
    const auto started = std::chrono::steady_clock::now();
    const double cpu_started = ThreadCpuSeconds();
    auto deleted = store.DeleteAccount(accounts[d]);
    const double cpu = ThreadCpuSeconds() - cpu_started;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!deleted) {
      std::fprintf(stderr, "account-delete-bench: delete failed\n");
      return 1;
    }
    std::printf("delete=%zu wall_ms=%.1f cpu_ms=%.1f\n", d + 1, wall * 1e3, cpu * 1e3);
  }

  std::uint64_t expected = 0;
  for (std::size_t d = 0; d < options.deletes; ++d) expected += sent[d];
  std::vector<double> step_ms;
  std::uint64_t removed = 0;
  std::uint64_t examined = 0;
  const auto walk_started = std::chrono::steady_clock::now();
  const double walk_cpu_started = ThreadCpuSeconds();
  // One walk over the table; a bound far past it in case one never ends.
  const std::size_t max_steps = options.records / options.step + 10;
  bool done = false;
  while (!done && step_ms.size() < max_steps) {
    const auto started = std::chrono::steady_clock::now();
    auto purged = store.PurgeDeletedAccounts(options.step);
    step_ms.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() *
                      1e3);
    if (!purged) {
      std::fprintf(stderr, "account-delete-bench: purge step failed\n");
      return 1;
    }
    removed += purged->send_records;
    examined += purged->rows_examined;
    done = purged->done;
  }
  const double walk_cpu = ThreadCpuSeconds() - walk_cpu_started;
  const double walk_wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - walk_started).count();
  std::vector<double> sorted = step_ms;
  std::sort(sorted.begin(), sorted.end());
  const auto at = [&](double q) { return sorted[static_cast<std::size_t>(q * double(sorted.size() - 1))]; };
  std::printf(
      "purge step=%zu steps=%zu examined=%llu removed=%llu expected=%llu done=%d step_ms_median=%.2f "
      "step_ms_p99=%.2f step_ms_max=%.2f walk_wall_ms=%.0f walk_cpu_ms=%.0f\n",
      options.step, step_ms.size(), static_cast<unsigned long long>(examined),
      static_cast<unsigned long long>(removed), static_cast<unsigned long long>(expected), done ? 1 : 0,
      at(0.5), at(0.99), sorted.back(), walk_wall * 1e3, walk_cpu * 1e3);
  return done && removed == expected ? 0 : 1;
}
