#include "server/heap_trimmer.h"

#include <malloc.h>

namespace parley::server {

HeapTrimmer::HeapTrimmer(MetricsRegistry& metrics, std::chrono::milliseconds interval)
    : interval_(interval),
      trims_(metrics.AddCounter("parley_heap_trims_total", "Timed returns of free heap pages to the kernel")),
      trims_released_(metrics.AddCounter("parley_heap_trims_released_total",
                                         "Timed heap trims that returned at least one page")) {
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThresholdBytes));
}

HeapTrimmer::~HeapTrimmer() { Stop(); }

bool HeapTrimmer::TrimNow() {
  const bool released = malloc_trim(0) != 0;
  trims_.Increment();
  if (released) trims_released_.Increment();
  return released;
}

void HeapTrimmer::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void HeapTrimmer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HeapTrimmer::Loop() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    TrimNow();
    lock.lock();
  }
}

}  // namespace parley::server
