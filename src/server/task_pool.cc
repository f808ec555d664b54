#include "server/task_pool.h"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace parley::server {

TaskPool::TaskPool(std::size_t threads) {
  threads = std::max<std::size_t>(threads, 1);
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

TaskPool::~TaskPool() { Stop(); }

void TaskPool::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  // Tasks never started are destroyed here, releasing what they hold.
  std::deque<Task> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(tasks_);
  }
}

void TaskPool::Submit(Task task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void TaskPool::Work() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void TaskSequence::Post(Task task) {
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    schedule = !scheduled_;
    scheduled_ = true;
  }
  if (schedule) pool_.Submit([self = shared_from_this()] { self->RunSome(); });
}

bool TaskSequence::Idle() {
  std::lock_guard lock(mutex_);
  return !scheduled_;
}

void TaskSequence::RunSome() {
  // A bounded batch, then back to the end of the pool's queue, so one busy
  // connection cannot keep a worker from the others.
  constexpr int kBatch = 16;
  constexpr std::size_t kCompactAfter = 64;
  for (int i = 0; i < kBatch; ++i) {
    Task task;
    {
      std::lock_guard lock(mutex_);
      if (next_ == tasks_.size()) {
        std::vector<Task>().swap(tasks_);
        next_ = 0;
        scheduled_ = false;
        return;
      }
      task = std::move(tasks_[next_++]);
      // A sequence that never runs dry drops its run tasks now and then.
      if (next_ >= kCompactAfter && next_ * 2 >= tasks_.size()) {
        tasks_.erase(tasks_.begin(), tasks_.begin() + static_cast<std::ptrdiff_t>(next_));
        next_ = 0;
      }
    }
    task();
  }
  pool_.Submit([self = shared_from_this()] { self->RunSome(); });
}

}  // namespace parley::server
