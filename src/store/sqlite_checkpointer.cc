#include "store/sqlite_checkpointer.h"

#include <algorithm>
#include <utility>

#include "store/try.h"

namespace parley::store {

StoreResult<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::Start(const std::string& path,
                                                                           std::int64_t busy_timeout_ms,
                                                                           SqliteDatabase& writer,
                                                                           int checkpoint_pages) {
  PARLEY_STORE_ASSIGN(connection, SqliteDatabase::Open(path, busy_timeout_ms));
  // A checkpoint fsyncs the database file with its own connection's setting.
  PARLEY_STORE_TRY(connection->Exec("PRAGMA synchronous=FULL; PRAGMA cache_size=-1024;"));
  return std::unique_ptr<SqliteCheckpointer>(
      new SqliteCheckpointer(std::move(connection), writer, std::max(checkpoint_pages, 1)));
}

SqliteCheckpointer::SqliteCheckpointer(std::unique_ptr<SqliteDatabase> connection, SqliteDatabase& writer,
                                       int checkpoint_pages)
    : connection_(std::move(connection)),
      writer_(writer),
      checkpoint_pages_(checkpoint_pages),
      finish_pages_(kFinishFactor * checkpoint_pages),
      writer_checkpoint_pages_(kWriterFactor * checkpoint_pages) {
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
  if (wal_pages >= self->writer_checkpoint_pages_ ||
      (wal_pages >= self->finish_pages_ && !self->running_.load(std::memory_order_acquire))) {
    // BUSY (the thread has just started one) is fine: the next commit retries.
    (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    self->writer_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  // From finish_pages_ on the thread is not woken again: once its current
  // checkpoint ends, the writer finishes at its next commit.
  if (wal_pages >= self->checkpoint_pages_ && wal_pages < self->finish_pages_) {
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
