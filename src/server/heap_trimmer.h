// HeapTrimmer: how parleyd's heap gives memory back to the kernel.
//
// glibc hands the free top of a heap back to the kernel as soon as it
// exceeds 128 KiB. On the relay path that happens on nearly every burst of
// frees (TLS record buffers, frames), and each hand-back is an madvise with
// a TLB flush, followed by page faults on the next allocation: measured as
// the largest kernel cost of a busy parleyd. The trimmer raises that
// threshold so the busy path keeps its pages, and instead returns every free
// page (top and middle of every arena, malloc_trim) on a timer, so memory
// freed after a burst of connections or messages still goes back within one
// interval.
#pragma once

#include <chrono>
#include <cstddef>

#include "server/metrics.h"
#include "server/periodic_thread.h"

namespace parley::server {

class HeapTrimmer {
 public:
  // Free heap top kept without trimming (glibc's default is 128 KiB).
  static constexpr std::size_t kTrimThresholdBytes = std::size_t{64} << 20;

  // Sets the threshold (process-wide) and adds the series to `metrics`.
  HeapTrimmer(MetricsRegistry& metrics, std::chrono::milliseconds interval);
  // Stop(), if not done yet.
  ~HeapTrimmer();
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Returns free heap pages to the kernel now; true if any were.
  bool TrimNow();

  // Trims every interval on a thread of its own.
  void Start() { thread_.Start(); }
  // Stops that thread. Idempotent.
  void Stop() { thread_.Stop(); }

 private:
  Counter& trims_;
  Counter& trims_released_;
  // Last: stopped before the counters it uses go.
  PeriodicThread thread_;
};

}  // namespace parley::server
