#include "server/token_buckets.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "server/metrics.h"

namespace parley::server {

template <class Key, class Hash>
BasicTokenBuckets<Key, Hash>::BasicTokenBuckets(const TokenBucketConfig& config, const Clock& clock,
                                                std::size_t max_keys, Counter* refused_when_full,
                                                const char* name)
    : config_(config),
      clock_(clock),
      max_keys_(std::max<std::size_t>(max_keys, 1)),
      refused_when_full_(refused_when_full),
      name_(name),
      sweep_at_keys_(std::min(kMinSweepKeys, max_keys_)) {}

template <class Key, class Hash>
double BasicTokenBuckets<Key, Hash>::TokensAt(const Bucket& bucket, std::int64_t now) const {
  if (now <= bucket.updated_ms) return bucket.tokens;
  return std::min(config_.capacity, bucket.tokens + static_cast<double>(now - bucket.updated_ms) *
                                                        config_.refill_per_hour / 3'600'000.0);
}

template <class Key, class Hash>
void BasicTokenBuckets<Key, Hash>::Sweep(std::int64_t now) {
  // The earliest time a kept bucket is full again: a sweep then frees room.
  double earliest_full_ms = std::numeric_limits<double>::infinity();
  std::erase_if(buckets_, [&](const auto& entry) {
    const double tokens = TokensAt(entry.second, now);
    if (tokens >= config_.capacity) return true;
    if (config_.refill_per_hour > 0) {
      earliest_full_ms =
          std::min(earliest_full_ms, (config_.capacity - tokens) * 3'600'000.0 / config_.refill_per_hour);
    }
    return false;
  });
  sweep_at_keys_ = std::clamp(2 * buckets_.size(), std::min(kMinSweepKeys, max_keys_), max_keys_);
  if (buckets_.size() >= max_keys_) {
    const double wait = std::clamp(earliest_full_ms, static_cast<double>(kFullSweepIntervalMs), 3'600'000.0);
    full_until_ms_ = now + static_cast<std::int64_t>(wait) + 1;
  } else {
    full_until_ms_ = 0;
  }
}

template <class Key, class Hash>
std::uint64_t BasicTokenBuckets<Key, Hash>::Take(const Key& key, double cost) {
  if (config_.capacity <= 0) return 0;  // a zero bucket means no limit
  const std::int64_t now = clock_.NowMillis();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= sweep_at_keys_ && now >= full_until_ms_) Sweep(now);
    if (buckets_.size() >= max_keys_) {
      if (refused_when_full_ != nullptr) refused_when_full_->Increment();
      if (!warned_full_ || now - last_full_warning_ms_ >= 60'000) {
        warned_full_ = true;
        last_full_warning_ms_ = now;
        spdlog::warn(
            "event=rate_limit_table_full limit={} keys={} detail=\"new keys are refused; raise "
            "rate_limits.max_tracked_keys if this is not an attack\"",
            name_, buckets_.size());
      }
      return static_cast<std::uint64_t>(std::max<std::int64_t>(full_until_ms_ - now, 1));
    }
    it = buckets_.emplace(key, Bucket{config_.capacity, now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = TokensAt(bucket, now);
  bucket.updated_ms = std::max(bucket.updated_ms, now);
  if (bucket.tokens >= cost) {
    bucket.tokens -= cost;
    return 0;
  }
  if (config_.refill_per_hour <= 0) return 3'600'000;
  const double missing = cost - bucket.tokens;
  return static_cast<std::uint64_t>(missing * 3'600'000.0 / config_.refill_per_hour) + 1;
}

template <class Key, class Hash>
std::size_t BasicTokenBuckets<Key, Hash>::size() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

template class BasicTokenBuckets<std::string>;
template class BasicTokenBuckets<AccountPair, AccountPairHash>;
template class BasicTokenBuckets<DeviceBucketKey, DeviceBucketKeyHash>;

Counter* KeysRefusedCounter(MetricsRegistry& registry, const char* limit) {
  return &registry.AddCounter("parley_rate_limit_keys_refused_total",
                              "New keys refused because the limit tracked rate_limits.max_tracked_keys keys",
                              {{"limit", limit}});
}

AccountPair MakeAccountPair(const AccountId& sender, const AccountId& recipient) {
  AccountPair pair{};
  for (std::size_t i = 0; i < Uuid::kSize; ++i) {
    pair[i] = sender.value().bytes()[i];
    pair[Uuid::kSize + i] = recipient.value().bytes()[i];
  }
  return pair;
}

DeviceBucketKey MakeDeviceBucketKey(const AccountId& account, DeviceId device) {
  DeviceBucketKey key{};
  for (std::size_t i = 0; i < Uuid::kSize; ++i) key[i] = account.value().bytes()[i];
  const std::uint32_t id = device.value();
  for (std::size_t i = 0; i < 4; ++i) key[Uuid::kSize + i] = static_cast<std::uint8_t>(id >> (8 * (3 - i)));
  return key;
}

}  // namespace parley::server
