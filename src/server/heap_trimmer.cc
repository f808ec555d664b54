#include "server/heap_trimmer.h"

#include <malloc.h>

namespace parley::server {

HeapTrimmer::HeapTrimmer(MetricsRegistry& metrics, std::chrono::milliseconds interval)
    : trims_(metrics.AddCounter("parley_heap_trims_total", "Timed returns of free heap pages to the kernel")),
      trims_released_(metrics.AddCounter("parley_heap_trims_released_total",
                                         "Timed heap trims that returned at least one page")),
      thread_(interval, [this] { TrimNow(); }) {
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThresholdBytes));
}

HeapTrimmer::~HeapTrimmer() { Stop(); }

bool HeapTrimmer::TrimNow() {
  const bool released = malloc_trim(0) != 0;
  trims_.Increment();
  if (released) trims_released_.Increment();
  return released;
}

}  // namespace parley::server
