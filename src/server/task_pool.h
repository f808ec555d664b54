// TaskPool and TaskSequence: where request handlers run work that may block
// (store calls), off the transport's network threads.
//
// A TaskPool is a fixed set of worker threads taking tasks in FIFO order. A
// TaskSequence runs its tasks one at a time, in the order they were posted,
// on the pool's threads: one sequence per connection keeps that
// connection's requests, acks and pushes ordered without holding a thread
// while it is idle.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::server {

using Task = std::function<void()>;

class TaskPool {
 public:
  // Starts `threads` workers (at least one).
  explicit TaskPool(std::size_t threads);
  // Stop(), if not done yet.
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Runs `task` on some worker. Ignored after the pool began stopping.
  void Submit(Task task);

  // Stops taking tasks, lets running ones finish, drops those not started
  // and joins the workers. Idempotent. Must not run on a worker (a worker
  // cannot join itself): owners call it from their own thread before the
  // last reference to what the tasks use can be dropped on a worker.
  void Stop();

 private:
  void Work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

class TaskSequence : public std::enable_shared_from_this<TaskSequence> {
 public:
  // `pool` must outlive every task posted here.
  explicit TaskSequence(TaskPool& pool) : pool_(pool) {}

  // Runs `task` after every task posted before it; never two at once.
  void Post(Task task);
  // True when no task is queued or running: work that must follow every
  // task posted so far may then run inline on the caller's thread instead.
  bool Idle();

 private:
  void RunSome();

  TaskPool& pool_;
  std::mutex mutex_;
  // Tasks not yet run are tasks_[next_..]. A vector, not a deque: a default
  // std::deque allocates ~600 bytes at once, and each idle connection has a
  // sequence; the storage is released whenever the sequence runs dry.
  std::vector<Task> tasks_;
  std::size_t next_ = 0;
  bool scheduled_ = false;
};

}  // namespace parley::server
