// Threads for `parley daemon` and `parley chat`: their loops (the socket
// loop, the screen) hand client calls to a WorkerPool and take the outcomes
// back through a HandoffQueue, so they never wait for the server.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::cli {

// Threads that run posted calls in the order they were posted (one thread:
// one after another). At most `max_queued` calls wait; Post refuses more.
// Destroying the pool drops the calls still waiting and waits for those
// running.
class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t max_queued) : max_queued_(max_queued) {
    for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i)
      threads_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      calls_.clear();
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  bool Post(std::function<void()> call) {
    {
      std::lock_guard lock(mutex_);
      if (calls_.size() >= max_queued_) return false;
      calls_.push_back(std::move(call));
    }
    cv_.notify_one();
    return true;
  }
  // Nothing waiting and nothing running.
  bool idle() {
    std::lock_guard lock(mutex_);
    return calls_.empty() && running_ == 0;
  }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !calls_.empty(); });
      if (stop_) return;
      auto call = std::move(calls_.front());
      calls_.pop_front();
      ++running_;
      lock.unlock();
      call();
      lock.lock();
      --running_;
    }
  }

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> calls_;
  std::size_t running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// Items handed from any thread to the one thread that takes them; at most
// `max` wait (Push refuses more).
template <typename T>
class HandoffQueue {
 public:
  explicit HandoffQueue(std::size_t max) : max_(max) {}

  bool Push(T item) {
    std::lock_guard lock(mutex_);
    if (items_.size() >= max_) return false;
    items_.push_back(std::move(item));
    return true;
  }
  std::deque<T> Take() {
    std::lock_guard lock(mutex_);
    std::deque<T> out;
    out.swap(items_);
    return out;
  }

 private:
  const std::size_t max_;
  std::mutex mutex_;
  std::deque<T> items_;
};

}  // namespace parley::cli
