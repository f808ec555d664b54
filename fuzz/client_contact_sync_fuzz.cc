// Decodes arbitrary bytes as the contacts another of our devices shares
// (a contact-sync body). Whatever decodes must encode inside a content and
// decode from it to the same contacts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "client/content.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace client = parley::client;
  auto body = client::DecodeContactSync(parley::Bytes(data, size));
  if (!body) return 0;
  client::Content content;
  content.message_id.fill(1);
  content.sent_at_ms = 1;
  content.body = *body;
  const auto encoded = client::EncodeContent(content);
  if (!encoded) std::abort();  // the decoder accepted what the encoder refuses
  const auto again = client::DecodeContent(encoded->bytes());
  if (!again) std::abort();
  const auto* synced = std::get_if<client::ContactSyncBody>(&again->body);
  if (synced == nullptr || synced->contacts != body->contacts || synced->snapshot != body->snapshot) {
    std::abort();
  }
  return 0;
}
