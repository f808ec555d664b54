// LatencyHistogram: delivery latencies in microseconds, in log-linear
// buckets (64 per power of two, so a percentile is within 1.6% of the true
// value), cheap to record and to merge across generator processes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace parley::load {

class LatencyHistogram {
 public:
  void Record(std::uint64_t micros);
  void Merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  // The smallest recorded bucket value at or above fraction `q` (0..1) of
  // the samples; 0 when empty.
  std::uint64_t Percentile(double q) const;

  // "bucket:count,bucket:count,..." and back (for the control pipe between
  // generator processes); Parse returns false on malformed text.
  std::string Serialize() const;
  bool Parse(std::string_view text);

 private:
  static std::uint32_t BucketOf(std::uint64_t micros);
  static std::uint64_t BucketUpperValue(std::uint32_t bucket);

  std::map<std::uint32_t, std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace parley::load
