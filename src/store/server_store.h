// ServerStore: everything parleyd keeps, behind one interface with two
// backends (SQLite, PostgreSQL) that pass one conformance suite.
//
// Thread safety: every backend may be called from several threads at once;
// each call is atomic (one transaction) and sees the effects of calls that
// returned before it started.
//
// Time: a store reads time only from the Clock it was opened with (created,
// last-seen and queue timestamps, expiry checks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "store/account_store.h"
#include "store/attachment_store.h"
#include "store/device_store.h"
#include "store/error.h"
#include "store/invitation_store.h"
#include "store/key_store.h"
#include "store/limits.h"
#include "store/message_queue_store.h"
#include "store/provisioning_store.h"

namespace parley::store {

class ServerStore : public AccountStore,
                    public DeviceStore,
                    public KeyStore,
                    public MessageQueueStore,
                    public AttachmentStore,
                    public InvitationStore,
                    public ProvisioningStore {
 public:
  ~ServerStore() override = default;
  // "sqlite" or "postgresql", for logs and metrics.
  virtual std::string_view backend_name() const = 0;
  // Counts over the whole store, in one consistent snapshot. Scans the
  // accounts, devices and attachments tables (not the messages): meant for
  // admin commands and a metrics scrape, not for every request.
  virtual StoreResult<StoreStats> CollectStats() = 0;
};

struct StoreOptions {
  // Messages a device's queue may hold; past it Enqueue fails with kQueueFull.
  std::uint64_t max_queue_depth = kDefaultMaxQueueDepth;
  // Largest declared attachment size accepted.
  std::uint64_t max_attachment_bytes = kDefaultMaxAttachmentBytes;
  // SQLite: how long a statement waits for another process's lock.
  std::int64_t sqlite_busy_timeout_ms = 5'000;
  // SQLite: WAL pages (4 KiB) from which a checkpoint runs off the writer's
  // thread (store/sqlite_checkpointer.h); at least 1.
  int sqlite_checkpoint_pages = 4'000;
  // PostgreSQL: connections kept open; callers beyond it wait for one.
  std::size_t postgres_pool_size = 4;
  // PostgreSQL: how long a caller waits for a free connection before kUnavailable.
  std::int64_t postgres_acquire_timeout_ms = 10'000;
};

// Which backend a store URL names.
enum class StoreBackend { kSqlite, kPostgres };

struct StoreLocation {
  StoreBackend backend = StoreBackend::kSqlite;
  // The SQLite file path, or the PostgreSQL connection URL (passed to libpq).
  std::string target;
};

// Parses a store URL:
//   sqlite:///absolute/path.db   SQLite file (three slashes: empty host)
//   sqlite:relative/path.db      SQLite file relative to the working directory
//   /path/file.db, file.db       a bare path is a SQLite file
//   postgresql://... postgres://...   PostgreSQL, any libpq connection URL
// kInvalidArgument: empty, an unknown scheme ("mysql://..."), a sqlite URL
// with a host ("sqlite://host/x") or without a path.
StoreResult<StoreLocation> ParseStoreUrl(std::string_view url);

// Opens (creating if needed) and migrates the store that `url` names.
// `clock` must outlive the store. kUnavailable: the database cannot be opened
// or reached. kCorrupt: the file is not a database. kIncompatibleSchema: the
// schema is newer than this build.
StoreResult<std::unique_ptr<ServerStore>> OpenServerStore(std::string_view url, const Clock& clock,
                                                          const StoreOptions& options = {});

}  // namespace parley::store
