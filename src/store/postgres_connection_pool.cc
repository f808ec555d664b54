#include "store/postgres_connection_pool.h"

#include <pqxx/except>

#include <chrono>
#include <exception>
#include <utility>

namespace parley::store {

PostgresConnectionPool::PostgresConnectionPool(std::string url, std::size_t size,
                                               std::int64_t acquire_timeout_ms, Initializer initializer)
    : url_(std::move(url)),
      size_(size == 0 ? 1 : size),
      acquire_timeout_ms_(acquire_timeout_ms),
      initializer_(std::move(initializer)) {}

PostgresConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) pool_->Release(std::move(connection_), discard_);
}

StoreResult<PostgresConnectionPool::Lease> PostgresConnectionPool::Acquire() {
  {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(acquire_timeout_ms_);
    while (idle_.empty() && open_ >= size_) {
      if (released_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= size_) {
        return Fail(StoreErrc::kUnavailable, "no PostgreSQL connection became free in time");
      }
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    ++open_;  // reserve the slot; open outside the lock
  }
  try {
    auto connection = std::make_unique<pqxx::connection>(url_);
    if (initializer_) initializer_(*connection);
    return Lease(this, std::move(connection));
  } catch (const std::exception&) {
    std::lock_guard lock(mutex_);
    --open_;
    released_.notify_one();
    return Fail(StoreErrc::kUnavailable, "cannot connect to PostgreSQL");
  }
}

void PostgresConnectionPool::Release(std::unique_ptr<pqxx::connection> connection, bool discard) {
  if (discard || !connection->is_open()) {
    connection.reset();  // closes it outside the pool's lock
    std::lock_guard lock(mutex_);
    --open_;
  } else {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  released_.notify_one();
}

}  // namespace parley::store
