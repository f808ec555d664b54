#include "server/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace parley::server {
namespace {

TEST(Metrics, RendersCountersAndGaugesInPrometheusText) {
  MetricsRegistry registry;
  Counter& hits = registry.AddCounter("parley_rate_limit_hits_total", "Requests refused by a rate limit.",
                                      {{"limit", "registration"}});
  Counter& other = registry.AddCounter("parley_rate_limit_hits_total", "Requests refused by a rate limit.",
                                       {{"limit", "prekey_fetch"}});
  Gauge& depth = registry.AddGauge("parley_queue_depth", "Queued messages.");
  hits.Increment(3);
  other.Increment();
  depth.Set(7);
  depth.Add(-2);
  registry.AddCallbackGauge("parley_computed", "A value read when rendered.", [] { return 2.5; });
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("# HELP parley_rate_limit_hits_total Requests refused by a rate limit.\n"
                      "# TYPE parley_rate_limit_hits_total counter\n"
                      "parley_rate_limit_hits_total{limit=\"registration\"} 3\n"
                      "parley_rate_limit_hits_total{limit=\"prekey_fetch\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE parley_queue_depth gauge\nparley_queue_depth 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("parley_computed 2.5\n"), std::string::npos) << text;
  // One HELP/TYPE per family.
  EXPECT_EQ(text.find("# TYPE parley_rate_limit_hits_total"),
            text.rfind("# TYPE parley_rate_limit_hits_total"));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  Histogram& h = registry.AddHistogram("parley_store_latency_seconds", "Store call latency.", {0.01, 0.1, 1});
  h.Observe(0.005);
  h.Observe(0.01);  // bounds are inclusive (le)
  h.Observe(0.5);
  h.Observe(3);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 3.515);
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE parley_store_latency_seconds histogram\n"
                      "parley_store_latency_seconds_bucket{le=\"0.01\"} 2\n"
                      "parley_store_latency_seconds_bucket{le=\"0.1\"} 2\n"
                      "parley_store_latency_seconds_bucket{le=\"1\"} 3\n"
                      "parley_store_latency_seconds_bucket{le=\"+Inf\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("parley_store_latency_seconds_count 4\n"), std::string::npos) << text;
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry.AddCounter("parley_x_total", "line one\nback\\slash", {{"why", "a \"quoted\"\\ value\n"}})
      .Increment();
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("# HELP parley_x_total line one\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find("parley_x_total{why=\"a \\\"quoted\\\"\\\\ value\\n\"} 1\n"), std::string::npos)
      << text;
}

TEST(Metrics, RejectsInvalidAndDuplicateSeries) {
  MetricsRegistry registry;
  EXPECT_THROW(registry.AddCounter("9starts_with_digit", "h"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("has-dash", "h"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("ok_name", "h", {{"bad-label", "v"}}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("ok_name", "h", {{"__reserved", "v"}}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h_name", "h", {1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h_name", "h", {1}, {{"le", "x"}}), std::invalid_argument);
  registry.AddCounter("ok_name", "h");
  EXPECT_THROW(registry.AddCounter("ok_name", "h"), std::invalid_argument);              // same labels
  EXPECT_THROW(registry.AddGauge("ok_name", "h", {{"a", "b"}}), std::invalid_argument);  // another type
  EXPECT_THROW(registry.AddCounter("ok_name", "other help", {{"a", "b"}}), std::invalid_argument);
}

TEST(Metrics, CountsFromManyThreads) {
  MetricsRegistry registry;
  Counter& c = registry.AddCounter("parley_c_total", "h");
  Histogram& h = registry.AddHistogram("parley_h", "h", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Increment();
        h.Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_EQ(h.bucket_counts()[0], 40000u);
}

}  // namespace
}  // namespace parley::server
