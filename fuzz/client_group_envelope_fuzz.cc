// Decodes arbitrary bytes as a group message's envelope content (group id,
// then a SenderKeyMessage), as a receiving client does before it looks the
// group and the sender's chain up. Whatever decodes must encode back to the
// same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "client/content.h"
#include "protocol/sender_key_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace client = parley::client;
  const parley::Bytes input(data, size);
  const auto envelope = client::DecodeGroupEnvelope(input);
  if (!envelope) return 0;
  const auto encoded = client::EncodeGroupEnvelope(envelope->group, envelope->message);
  if (encoded.size() != size || !std::equal(encoded.begin(), encoded.end(), data)) std::abort();
  (void)parley::protocol::SenderKeyMessage::Deserialize(envelope->message);
  return 0;
}
