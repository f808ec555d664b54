// Decodes arbitrary bytes as a stored SenderKeyRecord. A decoded record stays
// within the limits, and its serialization is canonical: it decodes and
// re-serializes to the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "protocol/limits.h"
#include "protocol/sender_key_record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::protocol;
  auto record = SenderKeyRecord::Deserialize(parley::Bytes(data, size));
  if (!record) {
    if (record.error().code != ProtocolErrc::kInvalidState) std::abort();
    return 0;
  }
  if (record->states().size() > kMaxSenderKeyStates) std::abort();
  for (const SenderKeyState& state : record->states()) {
    if (state.message_keys().size() > kMaxSenderMessageKeys) std::abort();
  }
  const parley::SecretBuffer first = record->Serialize();
  if (first.size() > kMaxSerializedSenderKeyRecordSize) std::abort();
  auto again = SenderKeyRecord::Deserialize(first.bytes());
  if (!again) std::abort();
  const parley::SecretBuffer second = again->Serialize();
  if (!std::ranges::equal(first.bytes(), second.bytes())) std::abort();
  return 0;
}
