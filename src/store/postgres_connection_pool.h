// PostgresConnectionPool: a fixed number of libpqxx connections shared by the
// threads of one process. Internal to the store layer.
//
// Connections open lazily, up to the pool size; a caller beyond that waits
// for a free one (up to the acquire timeout). A connection that broke is
// discarded when its lease ends and replaced by a new one on demand, so the
// pool recovers by itself after the database restarts.
#pragma once

#include <pqxx/connection>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/error.h"

namespace parley::store {

class PostgresConnectionPool {
 public:
  // Runs on each new connection before first use (prepares statements). It
  // may throw pqxx exceptions; the connection is then not used.
  using Initializer = std::function<void(pqxx::connection&)>;

  PostgresConnectionPool(std::string url, std::size_t size, std::int64_t acquire_timeout_ms,
                         Initializer initializer);
  PostgresConnectionPool(const PostgresConnectionPool&) = delete;
  PostgresConnectionPool& operator=(const PostgresConnectionPool&) = delete;

  // Exclusive use of one connection until destroyed.
  class Lease {
   public:
    Lease(PostgresConnectionPool* pool, std::unique_ptr<pqxx::connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    pqxx::connection& connection() { return *connection_; }
    // The connection is broken or in an unknown state: close it instead of
    // returning it to the pool.
    void Discard() { discard_ = true; }

   private:
    PostgresConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> connection_;
    bool discard_ = false;
  };

  // kUnavailable: no connection could be opened, or none became free in time.
  StoreResult<Lease> Acquire();

 private:
  void Release(std::unique_ptr<pqxx::connection> connection, bool discard);

  const std::string url_;
  const std::size_t size_;
  const std::int64_t acquire_timeout_ms_;
  const Initializer initializer_;

  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace parley::store
