#include "latency_histogram.h"

#include <bit>
#include <charconv>

namespace parley::load {

namespace {

constexpr std::uint32_t kSubBucketBits = 6;  // 64 sub-buckets per power of two
constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBucketBits;

bool ParseNumber(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::uint32_t LatencyHistogram::BucketOf(std::uint64_t micros) {
  if (micros < kSubBuckets) return static_cast<std::uint32_t>(micros);
  const std::uint32_t shift = static_cast<std::uint32_t>(std::bit_width(micros)) - 1 - kSubBucketBits;
  // (micros >> shift) is in [64, 128).
  return static_cast<std::uint32_t>(kSubBuckets * (shift + 1) + ((micros >> shift) - kSubBuckets));
}

std::uint64_t LatencyHistogram::BucketUpperValue(std::uint32_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  const std::uint32_t shift = bucket / kSubBuckets - 1;
  const std::uint64_t mantissa = kSubBuckets + bucket % kSubBuckets;
  return ((mantissa + 1) << shift) - 1;
}

void LatencyHistogram::Record(std::uint64_t micros) {
  ++buckets_[BucketOf(micros)];
  ++count_;
  if (micros > max_) max_ = micros;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (const auto& [bucket, n] : other.buckets_) buckets_[bucket] += n;
  count_ += other.count_;
  if (other.max_ > max_) max_ = other.max_;
}

std::uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const double wanted = q * static_cast<double>(count_);
  std::uint64_t seen = 0;
  for (const auto& [bucket, n] : buckets_) {
    seen += n;
    if (static_cast<double>(seen) >= wanted) {
      const std::uint64_t value = BucketUpperValue(bucket);
      return value < max_ ? value : max_;
    }
  }
  return max_;
}

std::string LatencyHistogram::Serialize() const {
  std::string out = "max:" + std::to_string(max_);
  for (const auto& [bucket, n] : buckets_) out += "," + std::to_string(bucket) + ":" + std::to_string(n);
  return out;
}

bool LatencyHistogram::Parse(std::string_view text) {
  LatencyHistogram parsed;
  bool first = true;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) return false;
    std::uint64_t value = 0;
    if (!ParseNumber(item.substr(colon + 1), value)) return false;
    if (first) {
      if (item.substr(0, colon) != "max") return false;
      parsed.max_ = value;
      first = false;
      continue;
    }
    std::uint64_t bucket = 0;
    if (!ParseNumber(item.substr(0, colon), bucket) || bucket > 64 * kSubBuckets) return false;
    parsed.buckets_[static_cast<std::uint32_t>(bucket)] += value;
    parsed.count_ += value;
  }
  if (first) return false;
  *this = std::move(parsed);
  return true;
}

}  // namespace parley::load
