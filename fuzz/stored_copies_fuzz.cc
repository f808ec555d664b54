// DecodeQueuedCopies on arbitrary bytes (a damaged sends.copies column):
// anything it accepts must re-encode to the same bytes.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "store/column_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const parley::Bytes stored(data, size);
  auto copies = parley::store::DecodeQueuedCopies(stored);
  if (!copies) return 0;
  const std::vector<std::uint8_t> again = parley::store::EncodeQueuedCopies(*copies);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  return 0;
}
