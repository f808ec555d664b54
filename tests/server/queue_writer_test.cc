// QueueWriter: what was handed in while a commit ran goes into the next
// commit together, completions come in hand-in order, store errors reach
// every send, and Stop commits what it holds. A scripted store stands in for
// the backend where the test must hold a commit open; the retry test runs on
// a real SQLite store.
#include "server/queue_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/rng.h"
#include "server/loop_turn.h"
#include "store/limits.h"
#include "store/server_store.h"

namespace parley::server {
namespace {

using store::EnqueueRequest;
using store::EnqueueResult;
using store::StoreErrc;
using store::StoreResult;

// A queue store that records each batch it is given and can hold the first
// EnqueueBatch call open until the test releases it.
class ScriptedQueueStore final : public store::MessageQueueStore {
 public:
  StoreResult<EnqueueResult> Enqueue(const EnqueueRequest&) override {
    return Fail(StoreErrc::kInternal, "not used");
  }
  StoreResult<std::vector<StoreResult<EnqueueResult>>> EnqueueBatch(
      std::span<const EnqueueRequest> requests) override {
    std::unique_lock lock(mutex_);
    send_batches_.push_back(requests.size());
    entered_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(10),
                      [this] { return !hold_first_ || send_batches_.size() > 1; });
    if (fail_) return Fail(StoreErrc::kUnavailable, "scripted failure");
    std::vector<StoreResult<EnqueueResult>> results;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      EnqueueResult result;
      result.server_timestamp_ms = 1000;
      result.copies.push_back({requests[i].envelopes.front().recipient, ++next_server_id_});
      results.push_back(result);
    }
    return results;
  }
  StoreResult<std::vector<store::StoredEnvelope>> FetchMessages(const store::DeviceAddress&, std::uint64_t,
                                                                std::size_t) override {
    return std::vector<store::StoredEnvelope>{};
  }
  store::StoreStatus DeleteMessage(const store::DeviceAddress&, std::uint64_t) override {
    return Fail(StoreErrc::kInternal, "not used");
  }
  StoreResult<std::vector<bool>> DeleteMessages(std::span<const store::QueuedCopy> messages) override {
    std::lock_guard lock(mutex_);
    delete_batches_.push_back(messages.size());
    std::vector<bool> found;
    for (const auto& message : messages) found.push_back(message.server_id % 2 == 1);
    return found;
  }
  StoreResult<std::uint64_t> QueueDepth(const store::DeviceAddress&) override { return 0; }
  StoreResult<store::QueueDepthSummary> SummarizeQueueDepths() override { return store::QueueDepthSummary{}; }
  StoreResult<store::PurgeCounts> PurgeExpiredMessages(std::int64_t, std::size_t) override {
    return store::PurgeCounts{};
  }

  // Waits until the first EnqueueBatch call is in progress.
  bool WaitForFirstBatch() {
    std::unique_lock lock(mutex_);
    return entered_.wait_for(lock, std::chrono::seconds(10), [this] { return !send_batches_.empty(); });
  }
  void Release() {
    {
      std::lock_guard lock(mutex_);
      hold_first_ = false;
    }
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable entered_;
  std::condition_variable changed_;
  bool hold_first_ = true;
  bool fail_ = false;
  std::uint64_t next_server_id_ = 0;
  std::vector<std::size_t> send_batches_;
  std::vector<std::size_t> delete_batches_;
};

// Counts completions and lets the test wait for them (bounded).
class Completions {
 public:
  void Add(int tag) {
    {
      std::lock_guard lock(mutex_);
      order_.push_back(tag);
    }
    changed_.notify_all();
  }
  bool WaitFor(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return order_.size() >= count; });
  }
  std::vector<int> order() {
    std::lock_guard lock(mutex_);
    return order_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> order_;
};

const std::uint8_t kContent[] = {1, 2, 3};

struct TestSend {
  explicit TestSend(std::uint8_t id_byte) {
    std::array<std::uint8_t, 16> id{};
    id[0] = id_byte;
    request.client_message_id = store::ClientMessageId(id);
    envelope.recipient = {AccountId(Uuid()), DeviceId(1)};
    envelope.type = 3;
    envelope.content = kContent;
    request.envelopes = std::span(&envelope, 1);
  }
  store::OutgoingEnvelope envelope;
  EnqueueRequest request;
};

TEST(QueueWriterTest, SendsAndAcksHandedInDuringACommitShareTheNextOne) {
  ScriptedQueueStore store;
  MetricsRegistry registry;
  QueueWriter writer(store, registry);
  Completions done;
  TestSend a(1), b(2), c(3);
  writer.Enqueue({a.request}, [&](auto results) {
    EXPECT_TRUE(results[0]);
    done.Add(1);
  });
  ASSERT_TRUE(store.WaitForFirstBatch());
  // While the first commit is held open, two more connections send and two acks arrive.
  writer.Enqueue({b.request}, [&](auto results) {
    ASSERT_TRUE(results[0]);
    EXPECT_EQ(results[0]->copies.front().server_id, 2u);
    done.Add(2);
  });
  writer.Enqueue({c.request}, [&](auto results) {
    ASSERT_TRUE(results[0]);
    EXPECT_EQ(results[0]->copies.front().server_id, 3u);
    done.Add(3);
  });
  writer.Delete({b.envelope.recipient, 7}, [&](StoreResult<bool> found) {
    ASSERT_TRUE(found);
    EXPECT_TRUE(*found);
    done.Add(4);
  });
  writer.Delete({b.envelope.recipient, 8}, [&](StoreResult<bool> found) {
    ASSERT_TRUE(found);
    EXPECT_FALSE(*found);
    done.Add(5);
  });
  store.Release();
  ASSERT_TRUE(done.WaitFor(5));
  EXPECT_EQ(done.order(), (std::vector<int>{1, 2, 3, 4, 5}));
  writer.Stop();
  EXPECT_EQ(store.send_batches_, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(store.delete_batches_, (std::vector<std::size_t>{2}));
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("\nparley_queue_commits_total 2\n"), std::string::npos) << text;
}

TEST(QueueWriterTest, WorkHandedInDuringALoopTurnWakesTheWriterWhenTheTurnsPostRuns) {
  ScriptedQueueStore store;
  store.hold_first_ = false;
  MetricsRegistry registry;
  QueueWriter writer(store, registry);
  Completions done;
  TestSend a(1), b(2);
  // The writer's thread asleep for lack of work: work wakes it only when
  // something wakes it. (Once the count is seen, the thread holds the
  // writer's mutex until it sleeps, and hand-ins take that mutex.)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (writer.sleeps() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(writer.sleeps(), 1u);
  std::vector<std::function<void()>> posted;
  {
    LoopTurn turn([&](std::function<void()> handler) { posted.push_back(std::move(handler)); });
    writer.Enqueue({a.request}, [&](auto results) {
      EXPECT_TRUE(results[0]);
      done.Add(1);
    });
    writer.Enqueue({b.request}, [&](auto results) {
      EXPECT_TRUE(results[0]);
      done.Add(2);
    });
    writer.Delete({a.envelope.recipient, 1}, [&](StoreResult<bool> found) {
      EXPECT_TRUE(found);
      done.Add(3);
    });
  }
  // One wake for the turn, and the idle writer waits for it.
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_FALSE(done.WaitFor(1, std::chrono::milliseconds(300)));
  posted.front()();
  ASSERT_TRUE(done.WaitFor(3));
  EXPECT_EQ(done.order(), (std::vector<int>{1, 2, 3}));
  // All of the turn in one commit.
  writer.Stop();
  EXPECT_EQ(store.send_batches_, (std::vector<std::size_t>{2}));
  EXPECT_EQ(store.delete_batches_, (std::vector<std::size_t>{1}));
}

TEST(QueueWriterTest, WorkHandedInOutsideALoopTurnWakesTheWriterAtOnce) {
  ScriptedQueueStore store;
  store.hold_first_ = false;
  MetricsRegistry registry;
  QueueWriter writer(store, registry);
  Completions done;
  TestSend a(1);
  writer.Enqueue({a.request}, [&](auto results) {
    EXPECT_TRUE(results[0]);
    done.Add(1);
  });
  EXPECT_TRUE(done.WaitFor(1));
}

TEST(QueueWriterTest, WorkSoonAfterACommitWaitsOutTheCommitWindowAndSharesOneCommit) {
  ScriptedQueueStore store;
  store.hold_first_ = false;
  MetricsRegistry registry;
  QueueWriter writer(store, registry, std::chrono::seconds(2));
  Completions done;
  TestSend a(1), b(2), c(3);
  // No commit before it: the first send is not held back.
  writer.Enqueue({a.request}, [&](auto results) {
    EXPECT_TRUE(results[0]);
    done.Add(1);
  });
  ASSERT_TRUE(done.WaitFor(1));
  // Within the window of that commit: both wait for its end, then go together.
  writer.Enqueue({b.request}, [&](auto results) {
    EXPECT_TRUE(results[0]);
    done.Add(2);
  });
  writer.Delete({a.envelope.recipient, 1}, [&](StoreResult<bool> found) {
    EXPECT_TRUE(found);
    done.Add(3);
  });
  writer.Enqueue({c.request}, [&](auto results) {
    EXPECT_TRUE(results[0]);
    done.Add(4);
  });
  EXPECT_FALSE(done.WaitFor(2, std::chrono::milliseconds(300)));
  ASSERT_TRUE(done.WaitFor(4));
  EXPECT_EQ(done.order(), (std::vector<int>{1, 2, 4, 3}));
  writer.Stop();
  EXPECT_EQ(store.send_batches_, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(store.delete_batches_, (std::vector<std::size_t>{1}));
}

TEST(QueueWriterTest, AFullBatchAndStopDoNotWaitForTheCommitWindow) {
  ScriptedQueueStore store;
  store.hold_first_ = false;
  MetricsRegistry registry;
  QueueWriter writer(store, registry, std::chrono::hours(1));
  Completions done;
  TestSend a(1);
  writer.Enqueue({a.request}, [&](auto) { done.Add(1); });
  ASSERT_TRUE(done.WaitFor(1));
  // A full batch inside the hour-long window commits at once.
  std::vector<EnqueueRequest> full(store::kMaxEnqueueBatch, a.request);
  writer.Enqueue(full, [&](auto results) {
    EXPECT_EQ(results.size(), store::kMaxEnqueueBatch);
    done.Add(2);
  });
  ASSERT_TRUE(done.WaitFor(2));
  // So does what Stop finds waiting.
  writer.Enqueue({a.request}, [&](auto) { done.Add(3); });
  writer.Stop();
  EXPECT_EQ(done.order(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(store.send_batches_, (std::vector<std::size_t>{1, store::kMaxEnqueueBatch, 1}));
}

TEST(QueueWriterTest, AFailedCommitAnswersEverySendWithTheStoreError) {
  ScriptedQueueStore store;
  store.hold_first_ = false;
  store.fail_ = true;
  MetricsRegistry registry;
  QueueWriter writer(store, registry);
  Completions done;
  TestSend a(1), b(2);
  writer.Enqueue({a.request, b.request}, [&](auto results) {
    ASSERT_EQ(results.size(), 2u);
    for (const auto& result : results) {
      ASSERT_FALSE(result);
      EXPECT_EQ(result.error().code, StoreErrc::kUnavailable);
    }
    done.Add(1);
  });
  ASSERT_TRUE(done.WaitFor(1));
}

TEST(QueueWriterTest, StopCommitsWhatItHoldsAndRefusesLaterWork) {
  ScriptedQueueStore store;
  MetricsRegistry registry;
  QueueWriter writer(store, registry);
  Completions done;
  TestSend a(1), b(2);
  writer.Enqueue({a.request}, [&](auto results) {
    EXPECT_TRUE(results[0]);
    done.Add(1);
  });
  ASSERT_TRUE(store.WaitForFirstBatch());
  writer.Enqueue({b.request}, [&](auto results) {
    EXPECT_TRUE(results[0]);
    done.Add(2);
  });
  store.Release();
  writer.Stop();  // returns only after both were committed and answered
  EXPECT_EQ(done.order(), (std::vector<int>{1, 2}));
  writer.Enqueue({a.request}, [&](auto results) {
    ASSERT_FALSE(results[0]);
    EXPECT_EQ(results[0].error().code, StoreErrc::kUnavailable);
    done.Add(3);
  });
  writer.Delete({a.envelope.recipient, 1}, [&](StoreResult<bool> found) {
    ASSERT_FALSE(found);
    EXPECT_EQ(found.error().code, StoreErrc::kUnavailable);
    done.Add(4);
  });
  EXPECT_EQ(done.order(), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(store.send_batches_.size(), 2u);
}

TEST(QueueWriterTest, AGroupLargerThanOneBatchIsRefused) {
  ScriptedQueueStore store;
  MetricsRegistry registry;
  QueueWriter writer(store, registry);
  TestSend a(1);
  std::vector<EnqueueRequest> too_many(store::kMaxEnqueueBatch + 1, a.request);
  bool answered = false;
  writer.Enqueue(too_many, [&](auto results) {
    ASSERT_EQ(results.size(), too_many.size());
    ASSERT_FALSE(results[0]);
    EXPECT_EQ(results[0].error().code, StoreErrc::kInvalidArgument);
    answered = true;
  });
  EXPECT_TRUE(answered);
  writer.Stop();
  EXPECT_TRUE(store.send_batches_.empty());
}

// On a real store: a retry in the same group commit as its first attempt is
// queued once.
TEST(QueueWriterTest, ARetryInTheSameCommitIsQueuedOnce) {
  char pattern[] = "/tmp/parley-queue-writer-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  {
    SystemClock clock;
    auto opened = store::OpenServerStore("sqlite:" + (dir / "parley.db").string(), clock);
    ASSERT_TRUE(opened) << opened.error().message;
    store::ServerStore& backend = **opened;
    DeterministicRng rng(7);
    store::NewAccount account{AccountId(Uuid::Random(rng)), "bob", {}, std::nullopt};
    account.primary.registration_id = RegistrationId(1);
    account.primary.name = "primary";
    account.primary.credential.salt = std::vector<std::uint8_t>(16, 1);
    account.primary.credential.hash = std::vector<std::uint8_t>(32, 2);
    ASSERT_TRUE(backend.CreateAccount(account));
    const store::DeviceAddress bob{account.id, DeviceId(1)};

    MetricsRegistry registry;
    QueueWriter writer(backend, registry);
    TestSend send(9);
    send.envelope.recipient = bob;
    send.request.sender = bob;
    Completions done;
    writer.Enqueue({send.request, send.request}, [&](auto results) {
      ASSERT_TRUE(results[0]);
      ASSERT_TRUE(results[1]);
      EXPECT_FALSE(results[0]->duplicate);
      EXPECT_TRUE(results[1]->duplicate);
      EXPECT_EQ(results[1]->copies, results[0]->copies);
      done.Add(1);
    });
    ASSERT_TRUE(done.WaitFor(1));
    writer.Stop();
    auto depth = backend.QueueDepth(bob);
    ASSERT_TRUE(depth);
    EXPECT_EQ(*depth, 1u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::server
