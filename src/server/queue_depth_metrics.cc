#include "server/queue_depth_metrics.h"

#include <spdlog/spdlog.h>

#include <limits>
#include <mutex>
#include <optional>

namespace parley::server {

struct QueueDepthMetrics::Cache {
  Cache(store::MessageQueueStore& s, const Clock& c, Counter& f, std::int64_t age)
      : store(s), clock(c), failures(f), max_age_ms(age) {}

  // The summary at most max_age_ms old, or nullopt when the store failed.
  std::optional<store::QueueDepthSummary> Read() {
    std::lock_guard lock(mutex);
    const std::int64_t now = clock.NowMillis();
    if (summary && now - read_ms < max_age_ms && now >= read_ms) return summary;
    auto read = store.SummarizeQueueDepths();
    if (!read) {
      failures.Increment();
      spdlog::warn("event=queue_depth_read_failed error={}", store::ToString(read.error().code));
      summary.reset();
      return std::nullopt;
    }
    summary = *read;
    read_ms = now;
    return summary;
  }

  double Value(std::uint64_t store::QueueDepthSummary::*field) {
    const auto read = Read();
    if (!read) return std::numeric_limits<double>::quiet_NaN();
    return static_cast<double>((*read).*field);
  }

  store::MessageQueueStore& store;
  const Clock& clock;
  Counter& failures;
  const std::int64_t max_age_ms;
  std::mutex mutex;
  std::optional<store::QueueDepthSummary> summary;
  std::int64_t read_ms = 0;
};

QueueDepthMetrics::QueueDepthMetrics(store::MessageQueueStore& store, const Clock& clock,
                                     MetricsRegistry& registry, std::int64_t max_age_ms)
    : cache_(std::make_shared<Cache>(
          store, clock,
          registry.AddCounter("parley_queue_depth_read_failures_total",
                              "Reads of the queue depth gauges that the store failed"),
          max_age_ms)) {
  using Summary = store::QueueDepthSummary;
  std::shared_ptr<Cache> cache = cache_;
  registry.AddCallbackGauge("parley_queued_messages", "Messages waiting in all device queues",
                            [cache] { return cache->Value(&Summary::queued_messages); });
  registry.AddCallbackGauge("parley_queue_depth_max", "Messages in the deepest device queue",
                            [cache] { return cache->Value(&Summary::deepest_queue); });
  registry.AddCallbackGauge("parley_queues_nonempty", "Device queues holding at least one message",
                            [cache] { return cache->Value(&Summary::nonempty_queues); });
}

}  // namespace parley::server
