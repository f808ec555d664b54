// Metrics: counters, gauges and histograms rendered in the Prometheus text
// exposition format (version 0.0.4) at /metrics.
//
// The transport registers its own series (connections, frames, bytes, handler
// latency); other parts of the server add theirs (rate-limit hits, queue
// depths, store latency) to the same MetricsRegistry. Updating a metric is a
// lock-free atomic operation, safe from any thread. Series never carry user
// data: label values are fixed names chosen by the code.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::server {

// Label name/value pairs of one series, e.g. {{"limit", "registration"}}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class Counter {
 public:
  void Increment(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void Add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending), with
// their count and sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value) noexcept;

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Per bucket (not cumulative), then the +Inf bucket last.
  std::vector<std::uint64_t> bucket_counts() const;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // upper_bounds_.size() + 1
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bucket bounds in seconds for request and storage latencies: 100 µs to 10 s.
std::vector<double> LatencyBucketsSeconds();

// Owns the metrics and renders them. Adding is done at start-up; a name must
// match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*. Adding a
// series whose name is already used by a different type or help text, or the
// same name and labels twice, throws std::invalid_argument (a programming
// error found at start-up). Returned references stay valid for the
// registry's lifetime.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& AddCounter(std::string_view name, std::string_view help, MetricLabels labels = {});
  Gauge& AddGauge(std::string_view name, std::string_view help, MetricLabels labels = {});
  Histogram& AddHistogram(std::string_view name, std::string_view help, std::vector<double> upper_bounds,
                          MetricLabels labels = {});
  // A gauge whose value is read when rendered (e.g. a queue depth). `read`
  // is called from the thread serving /metrics and must be thread-safe.
  void AddCallbackGauge(std::string_view name, std::string_view help, std::function<double()> read,
                        MetricLabels labels = {});

  // The Prometheus text format of every series, families in name order.
  std::string RenderPrometheus() const;

 private:
  struct Family;
  Family& FamilyFor(std::string_view name, std::string_view help, int type, const MetricLabels& labels);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

}  // namespace parley::server
