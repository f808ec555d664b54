// Keeps a Client connected while `parley daemon` or `parley chat` runs.
//
// The client reconnects by itself after a connection drops; this covers the
// first connection, a server that was unreachable at start, and a profile
// registered while running. Attempts back off from 1 s to 30 s.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "client/client.h"

namespace parley::cli {

class Connector {
 public:
  explicit Connector(client::Client& client) : client_(client), thread_([this] { Loop(); }) {}
  ~Connector() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

 private:
  void Loop() {
    auto wait = std::chrono::seconds(1);
    std::unique_lock lock(mutex_);
    while (!stop_) {
      lock.unlock();
      if (client_.account() && !client_.connected()) {
        wait = client_.Connect() ? std::chrono::seconds(1)
                                 : std::min<std::chrono::seconds>(wait * 2, std::chrono::seconds(30));
      }
      lock.lock();
      cv_.wait_for(lock, wait, [this] { return stop_; });
    }
  }

  client::Client& client_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace parley::cli
