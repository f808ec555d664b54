// Decodes arbitrary bytes as decrypted message content (the client parses it
// only after the message MAC verified, but the sender is untrusted).
// Whatever decodes must encode, and decode again to the same encoding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "client/content.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace client = parley::client;
  const auto content = client::DecodeContent(parley::Bytes(data, size));
  if (!content) return 0;
  const auto encoded = client::EncodeContent(*content);
  if (!encoded) std::abort();  // the decoder accepted what the encoder refuses
  const auto again = client::DecodeContent(encoded->bytes());
  if (!again) std::abort();
  const auto encoded_again = client::EncodeContent(*again);
  if (!encoded_again || encoded_again->size() != encoded->size() ||
      !std::equal(encoded->bytes().begin(), encoded->bytes().end(), encoded_again->bytes().begin())) {
    std::abort();
  }
  return 0;
}
