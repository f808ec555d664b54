// QueueDepthMetrics: the depth of the device queues as /metrics gauges.
//
// The values come from the store's per-queue message counters
// (MessageQueueStore::SummarizeQueueDepths: one narrow row per device, never
// the messages), read when /metrics is scraped and reused for `max_age`, so
// however often Prometheus scrapes, the store answers at most one such query
// per max_age. A failed read shows as NaN (unknown) and is counted; the next
// scrape tries again.
#pragma once

#include <cstdint>
#include <memory>

#include "base/clock.h"
#include "server/metrics.h"
#include "store/message_queue_store.h"

namespace parley::server {

class QueueDepthMetrics {
 public:
  static constexpr std::int64_t kDefaultMaxAgeMs = 5'000;

  // Adds parley_queued_messages, parley_queue_depth_max,
  // parley_queues_nonempty and parley_queue_depth_read_failures_total to
  // `registry`. `store` and `clock` must outlive every later render of
  // `registry` (in parleyd: the server, which serves /metrics). Throws
  // std::invalid_argument if the series were added already.
  QueueDepthMetrics(store::MessageQueueStore& store, const Clock& clock, MetricsRegistry& registry,
                    std::int64_t max_age_ms = kDefaultMaxAgeMs);

 private:
  struct Cache;
  std::shared_ptr<Cache> cache_;
};

}  // namespace parley::server
