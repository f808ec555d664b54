#include "store/sqlite_checkpointer.h"

#include <utility>

#include "store/try.h"

namespace parley::store {

StoreResult<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::Start(const std::string& path,
                                                                           std::int64_t busy_timeout_ms,
                                                                           SqliteDatabase& writer) {
  PARLEY_STORE_ASSIGN(connection, SqliteDatabase::Open(path, busy_timeout_ms));
  // A checkpoint fsyncs the database file with its own connection's setting.
  PARLEY_STORE_TRY(connection->Exec("PRAGMA synchronous=FULL; PRAGMA cache_size=-1024;"));
  return std::unique_ptr<SqliteCheckpointer>(new SqliteCheckpointer(std::move(connection), writer));
}

SqliteCheckpointer::SqliteCheckpointer(std::unique_ptr<SqliteDatabase> connection, SqliteDatabase& writer)
    : connection_(std::move(connection)), writer_(writer) {
  // Replaces SQLite's automatic checkpoint (itself a WAL hook).
  sqlite3_wal_hook(writer_.handle(), &SqliteCheckpointer::OnCommit, this);
  thread_ = std::thread([this] { Loop(); });
}

SqliteCheckpointer::~SqliteCheckpointer() {
  sqlite3_wal_hook(writer_.handle(), nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int SqliteCheckpointer::OnCommit(void* context, sqlite3* db, const char* schema, int wal_pages) {
  auto* self = static_cast<SqliteCheckpointer*>(context);
  if (wal_pages >= kWriterCheckpointPages ||
      (wal_pages >= kFinishPages && !self->running_.load(std::memory_order_acquire))) {
    // BUSY (the thread has just started one) is fine: the next commit retries.
    (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    self->writer_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  if (wal_pages >= kCheckpointPages) {
    {
      std::lock_guard lock(self->mutex_);
      self->requested_ = true;
    }
    self->wake_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteCheckpointer::Loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || requested_; });
    if (stopping_) return;
    requested_ = false;
    running_.store(true, std::memory_order_release);
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never waits for a lock a
    // writer holds; a busy database just means the next signal tries again.
    (void)sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                    nullptr);
    checkpoints_.fetch_add(1, std::memory_order_relaxed);
    running_.store(false, std::memory_order_release);
    lock.lock();
  }
}

}  // namespace parley::store
