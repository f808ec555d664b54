// TaskSequence: one connection's tasks run in order, never two at once,
// on a pool shared by all connections.
#include "server/task_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::server {
namespace {

// Waits (bounded) until `done` holds `count`.
bool WaitForCount(std::mutex& mutex, std::condition_variable& changed, const std::vector<int>& done,
                  std::size_t count) {
  std::unique_lock lock(mutex);
  return changed.wait_for(lock, std::chrono::seconds(20), [&] { return done.size() >= count; });
}

TEST(TaskSequenceTest, RunsPostedTasksInOrderOneAtATime) {
  TaskPool pool(4);
  constexpr int kSequences = 8;
  // More tasks per sequence than a batch and than the compaction step, posted
  // while earlier ones run, so the queue is compacted while in use.
  constexpr int kTasks = 1000;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::vector<int>> done(kSequences);
  std::vector<std::atomic<int>> running(kSequences);
  std::atomic<bool> overlapped{false};
  std::vector<std::shared_ptr<TaskSequence>> sequences;
  for (int s = 0; s < kSequences; ++s) sequences.push_back(std::make_shared<TaskSequence>(pool));
  for (int i = 0; i < kTasks; ++i) {
    for (int s = 0; s < kSequences; ++s) {
      sequences[s]->Post([&, s, i] {
        if (running[s].fetch_add(1) != 0) overlapped = true;
        if (i % 97 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        {
          std::lock_guard lock(mutex);
          done[s].push_back(i);
        }
        running[s].fetch_sub(1);
        changed.notify_all();
      });
    }
  }
  std::vector<int> expected(kTasks);
  for (int i = 0; i < kTasks; ++i) expected[i] = i;
  for (int s = 0; s < kSequences; ++s) {
    ASSERT_TRUE(WaitForCount(mutex, changed, done[s], kTasks)) << "sequence " << s;
    std::lock_guard lock(mutex);
    EXPECT_EQ(done[s], expected) << "sequence " << s;
  }
  EXPECT_FALSE(overlapped.load());
}

TEST(TaskSequenceTest, RunsAgainAfterRunningDry) {
  TaskPool pool(2);
  auto sequence = std::make_shared<TaskSequence>(pool);
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<int> done;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) {
      sequence->Post([&, round, i] {
        std::lock_guard lock(mutex);
        done.push_back(round * 3 + i);
        changed.notify_all();
      });
    }
    ASSERT_TRUE(WaitForCount(mutex, changed, done, static_cast<std::size_t>(round * 3 + 3)));
    // Idle once the sequence has nothing left (bounded wait: the last task
    // may still be returning).
    bool idle = false;
    for (int attempt = 0; attempt < 2000 && !idle; ++attempt) {
      idle = sequence->Idle();
      if (!idle) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(idle);
  }
  std::lock_guard lock(mutex);
  EXPECT_EQ(done, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

}  // namespace
}  // namespace parley::server
