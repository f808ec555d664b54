// Clock: time is injected, so tests are hermetic.
#pragma once

#include <chrono>
#include <cstdint>

namespace parley {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch.
  virtual std::int64_t NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowMillis() const override;
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_millis = 0) : now_(start_millis) {}
  std::int64_t NowMillis() const override { return now_; }
  void Advance(std::int64_t millis) { now_ += millis; }
  void Set(std::int64_t millis) { now_ = millis; }

 private:
  std::int64_t now_;
};

}  // namespace parley
