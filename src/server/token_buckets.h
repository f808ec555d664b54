// BasicTokenBuckets: the abuse controls' token buckets (S7), one per key (an
// address, an account, a device, a pair of accounts), kept in memory.
//
// A bucket that has refilled to its capacity behaves exactly like no bucket
// (a new key starts full), so such buckets are forgotten: the table holds
// only the keys that used part of their budget recently. The sweep that
// forgets them runs when a new key arrives and the table has doubled since
// the last sweep (amortised O(1) per new key; no thread of its own).
//
// The table is also capped (rate_limits.max_tracked_keys). At the cap, a key
// already in the table is served as usual and a new key is refused, as if
// its bucket were empty, until a sweep frees room; a sweep at the cap runs
// at most once per kFullSweepIntervalMs, so a flood of new keys costs O(1)
// each. Refusing is the safe failure for every limit: an address-keyed
// table is filled by whoever controls many addresses, and letting new keys
// through at the cap would turn the cap into a way around the limit; the
// account-, device- and pair-keyed tables hold only keys of authenticated
// accounts (whose creation is itself limited), so reaching the cap there
// means the cap is set below the server's active population: the refusals
// (counted, logged) tell the operator to raise it, and no limit is lifted
// meanwhile.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "base/strong_id.h"
#include "base/uuid.h"
#include "server/config.h"

namespace parley::server {

class Counter;
class MetricsRegistry;

template <class Key, class Hash = std::hash<Key>>
class BasicTokenBuckets {
 public:
  // A table never sweeps while it holds fewer keys than this (or than its
  // cap, if that is smaller).
  static constexpr std::size_t kMinSweepKeys = 1024;
  // At the cap, at most one sweep per this many milliseconds; a refused new
  // key is told to retry no sooner.
  static constexpr std::int64_t kFullSweepIntervalMs = 1000;

  // `clock` must outlive the buckets. `refused_when_full` (may be null)
  // counts new keys refused at the cap of `max_keys` keys; `name` (a static
  // string) names the limit in the log line about it.
  BasicTokenBuckets(const TokenBucketConfig& config, const Clock& clock,
                    std::size_t max_keys = kDefaultRateLimitMaxTrackedKeys,
                    Counter* refused_when_full = nullptr, const char* name = "unnamed");

  // Takes `cost` tokens from `key`'s bucket: 0 when allowed, else the
  // milliseconds until they would be there (nothing is taken then). A new
  // key at the cap gets the time until the next sweep may free room. A
  // capacity of 0 means no limit (nothing is tracked).
  std::uint64_t Take(const Key& key, double cost = 1);

  // Keys tracked now (buckets not yet forgotten).
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated_ms = 0;
  };
  // The bucket's tokens at `now`.
  double TokensAt(const Bucket& bucket, std::int64_t now) const;
  // Forgets the full buckets and plans the next sweep (mutex_ held).
  void Sweep(std::int64_t now);

  TokenBucketConfig config_;
  const Clock& clock_;
  const std::size_t max_keys_;
  Counter* refused_when_full_;
  const char* name_;
  mutable std::mutex mutex_;
  std::unordered_map<Key, Bucket, Hash> buckets_;
  // The next sweep runs when a new key arrives and the table holds this many.
  std::size_t sweep_at_keys_;
  // At the cap: no sweep (and no new key) before this time.
  std::int64_t full_until_ms_ = 0;
  std::int64_t last_full_warning_ms_ = 0;
  bool warned_full_ = false;
};
using TokenBuckets = BasicTokenBuckets<std::string>;

// The series parley_rate_limit_keys_refused_total{limit="<limit>"} in
// `registry`: new keys a limit refused at its cap.
Counter* KeysRefusedCounter(MetricsRegistry& registry, const char* limit);

// A sender's account id, then a recipient's: the key of the per-pair message
// limit (checked on every send: no strings built for it).
using AccountPair = std::array<std::uint8_t, 2 * Uuid::kSize>;
AccountPair MakeAccountPair(const AccountId& sender, const AccountId& recipient);
struct AccountPairHash {
  std::size_t operator()(const AccountPair& pair) const noexcept {
    // Account ids are random (version-4 UUIDs, made by the server): their
    // bytes are a hash. Both halves, so (a, b) and (b, a) differ.
    std::size_t h = 0;
    for (std::size_t i = 0; i < sizeof(h); ++i) h = h << 8 | (pair[i] ^ pair[Uuid::kSize + sizeof(h) + i]);
    return h;
  }
};
using PairTokenBuckets = BasicTokenBuckets<AccountPair, AccountPairHash>;

// An account id, then a device id: the key of the per-device request limit
// (checked on every request of an authenticated device).
using DeviceBucketKey = std::array<std::uint8_t, Uuid::kSize + 4>;
DeviceBucketKey MakeDeviceBucketKey(const AccountId& account, DeviceId device);
struct DeviceBucketKeyHash {
  std::size_t operator()(const DeviceBucketKey& key) const noexcept {
    // The account id's bytes are random; the device id's are mixed in.
    std::size_t h = 0;
    for (std::size_t i = 0; i < sizeof(h); ++i) h = h << 8 | key[i];
    std::size_t device = 0;
    for (std::size_t i = Uuid::kSize; i < key.size(); ++i) device = device << 8 | key[i];
    return h ^ (device * 0x9E3779B97F4A7C15ULL);
  }
};
using DeviceTokenBuckets = BasicTokenBuckets<DeviceBucketKey, DeviceBucketKeyHash>;

}  // namespace parley::server
