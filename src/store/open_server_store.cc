// ParseStoreUrl and OpenServerStore: the one place that picks a backend.
#include <cctype>
#include <string>

#include "store/postgres_server_store.h"
#include "store/server_store.h"
#include "store/sqlite_server_store.h"
#include "store/try.h"

namespace parley::store {

namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// "name://" with a scheme of letters, digits, '+', '-', '.' (RFC 3986).
bool HasScheme(std::string_view url) {
  const auto colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  for (char c : url.substr(0, colon)) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

StoreResult<StoreLocation> ParseStoreUrl(std::string_view url) {
  if (url.empty()) return Fail(StoreErrc::kInvalidArgument, "the store URL is empty");
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    return StoreLocation{StoreBackend::kPostgres, std::string(url)};
  }
  if (StartsWith(url, "sqlite://")) {
    const std::string_view rest = url.substr(9);
    // sqlite:///abs/path: an empty host, then the absolute path.
    if (!StartsWith(rest, "/")) return Fail(StoreErrc::kInvalidArgument, "a sqlite:// URL names a host");
    if (rest.size() == 1) return Fail(StoreErrc::kInvalidArgument, "the sqlite URL has no path");
    return StoreLocation{StoreBackend::kSqlite, std::string(rest)};
  }
  if (StartsWith(url, "sqlite:")) {
    const std::string_view path = url.substr(7);
    if (path.empty()) return Fail(StoreErrc::kInvalidArgument, "the sqlite URL has no path");
    return StoreLocation{StoreBackend::kSqlite, std::string(path)};
  }
  if (HasScheme(url)) return Fail(StoreErrc::kInvalidArgument, "unknown store URL scheme");
  return StoreLocation{StoreBackend::kSqlite, std::string(url)};
}

StoreResult<std::unique_ptr<ServerStore>> OpenServerStore(std::string_view url, const Clock& clock,
                                                          const StoreOptions& options) {
  PARLEY_STORE_ASSIGN(location, ParseStoreUrl(url));
  if (location.backend == StoreBackend::kPostgres) {
    PARLEY_STORE_ASSIGN(store, PostgresServerStore::Open(location.target, clock, options));
    return std::unique_ptr<ServerStore>(std::move(store));
  }
  PARLEY_STORE_ASSIGN(store, SqliteServerStore::Open(location.target, clock, options));
  return std::unique_ptr<ServerStore>(std::move(store));
}

}  // namespace parley::store
