// HeapTrimmer: pages freed in the middle of the heap (which glibc never
// returns by itself) go back to the kernel on the trimmer's timer.
#include "server/heap_trimmer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace parley::server {
namespace {

// This process's resident memory in KiB.
std::int64_t ResidentKib() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST(HeapTrimmerTest, FreedHeapGoesBackOnTheTimer) {
  MetricsRegistry registry;
  HeapTrimmer trimmer(registry, std::chrono::milliseconds(50));
  // 64 MiB in 32 KiB blocks (below the mmap threshold, so on the heap),
  // touched so they are resident; all freed but the last, which pins the
  // heap top: only a trim can return the rest.
  constexpr std::size_t kBlock = 32 * 1024;
  constexpr std::size_t kBlocks = 2048;
  std::vector<char*> blocks;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    char* block = static_cast<char*>(std::malloc(kBlock));
    ASSERT_NE(block, nullptr);
    std::memset(block, 1, kBlock);
    blocks.push_back(block);
  }
  for (std::size_t i = 0; i + 1 < kBlocks; ++i) std::free(blocks[i]);
  const std::int64_t before = ResidentKib();
  trimmer.Start();
  std::int64_t after = before;
  for (int i = 0; i < 200 && before - after < 32 * 1024; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = ResidentKib();
  }
  trimmer.Stop();
  std::free(blocks.back());
  EXPECT_GE(before - after, 32 * 1024) << "resident " << before << " KiB before, " << after << " KiB after";
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("\nparley_heap_trims_released_total "), std::string::npos) << text;
  EXPECT_EQ(text.find("\nparley_heap_trims_released_total 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace parley::server
