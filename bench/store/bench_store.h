// What the store benchmarks share: a fresh SQLite server store in a folder,
// and accounts in it.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/rng.h"
#include "base/uuid.h"
#include "store/sqlite_server_store.h"

namespace parley::store::bench {

// The store file in `dir`.
inline std::string StorePath(const std::string& dir) {
  return (std::filesystem::path(dir) / "bench.db").string();
}

// Opens `dir`/bench.db, removing any earlier one first; nullptr (after a
// message naming `program`) when it cannot.
inline std::unique_ptr<SqliteServerStore> OpenFreshStore(const std::string& dir, const Clock& clock,
                                                         const char* program) {
  std::filesystem::create_directories(dir);
  const std::string path = StorePath(dir);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  auto opened = SqliteServerStore::Open(path, clock, StoreOptions{});
  if (!opened) {
    std::fprintf(stderr, "%s: cannot open %s\n", program, path.c_str());
    return nullptr;
  }
  return std::move(*opened);
}

// Creates `count` accounts of one device each (random ids from `rng`);
// nullopt (after a message naming `program`) when one cannot be created.
inline std::optional<std::vector<AccountId>> CreateAccounts(SqliteServerStore& store, std::size_t count,
                                                            Rng& rng, const char* program) {
  std::vector<AccountId> accounts;
  accounts.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const AccountId id(Uuid::Random(rng));
    NewAccount account{
        id, "bench" + std::to_string(i),
        NewDevice{RegistrationId(1), "bench",
                  DeviceCredential{std::vector<std::uint8_t>(16, 1), std::vector<std::uint8_t>(32, 2)}},
        std::nullopt};
    if (!store.CreateAccount(account)) {
      std::fprintf(stderr, "%s: cannot create account %zu\n", program, i);
      return std::nullopt;
    }
    accounts.push_back(id);
  }
  return accounts;
}

}  // namespace parley::store::bench
