// SessionRecord storage format: the decoder on arbitrary bytes; whatever it
// accepts must serialize to a canonical form that decodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "protocol/limits.h"
#include "protocol/session_record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::protocol;
  auto record = SessionRecord::Deserialize(parley::Bytes(data, size));
  if (!record) return 0;
  if (record->previous_states().size() > kMaxArchivedStates) std::abort();
  const auto canonical = record->Serialize();
  auto again = SessionRecord::Deserialize(canonical);
  if (!again || again->Serialize() != canonical) std::abort();
  return 0;
}
