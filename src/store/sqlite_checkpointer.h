// SqliteCheckpointer: copies the WAL back into the database file on a
// thread of its own, so the writer never does it inside a commit.
//
// SQLite's automatic checkpoint runs in the connection whose commit pushed
// the WAL over 1,000 pages, on that commit's thread: it copies those pages
// into the database file and fsyncs it, and every send waiting for the next
// group commit waits for that too. Here the writer's commit only signals (a
// WAL hook) and a second connection runs a PASSIVE checkpoint, which takes no
// lock a writer needs, so commits go on meanwhile.
//
// A checkpoint that runs beside commits never copies the frames committed
// during it, and SQLite starts the WAL from its beginning again only when
// every frame was copied. So once the WAL holds kFinishPages, the writer
// finishes the job itself after a commit while the thread is idle: a PASSIVE
// checkpoint of the few frames the thread left (one small fsync), after
// which the next write restarts the WAL. Past kWriterCheckpointPages (the
// thread far behind) the writer checkpoints regardless.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/error.h"
#include "store/sqlite_database.h"

namespace parley::store {

class SqliteCheckpointer {
 public:
  // WAL size in pages (4 KiB) from which the thread is woken.
  static constexpr int kCheckpointPages = 1000;
  // WAL size from which the writer finishes a checkpoint when the thread is idle.
  static constexpr int kFinishPages = 2 * kCheckpointPages;
  // WAL size from which the writer checkpoints in any case.
  static constexpr int kWriterCheckpointPages = 16 * kCheckpointPages;

  // Opens a connection of its own to `path` and installs the WAL hook on
  // `writer` (which must outlive this object). The thread starts at once.
  static StoreResult<std::unique_ptr<SqliteCheckpointer>> Start(const std::string& path,
                                                                std::int64_t busy_timeout_ms,
                                                                SqliteDatabase& writer);
  // Stops and joins the thread and removes the hook.
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  // Checkpoints run so far by the thread, and inline by the writer.
  std::uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }
  std::uint64_t writer_checkpoints() const { return writer_checkpoints_.load(std::memory_order_relaxed); }

 private:
  SqliteCheckpointer(std::unique_ptr<SqliteDatabase> connection, SqliteDatabase& writer);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void Loop();

  std::unique_ptr<SqliteDatabase> connection_;
  SqliteDatabase& writer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  std::atomic<bool> running_{false};
  bool stopping_ = false;
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::uint64_t> writer_checkpoints_{0};
  std::thread thread_;
};

}  // namespace parley::store
