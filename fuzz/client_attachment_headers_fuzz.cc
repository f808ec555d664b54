// Parses arbitrary text as the headers parleyd's attachment routes answer
// with (Upload-Offset, Location, Content-Range). What parses must print back
// to the same text: the syntax has exactly one spelling per value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/attachment_headers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace client = parley::client;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto n = client::ParseAttachmentDecimal(text); n && std::to_string(*n) != text) std::abort();
  if (auto id = client::ParseAttachmentLocation(text); id && client::AttachmentPath(*id) != text)
    std::abort();
  if (auto r = client::ParseContentRange(text)) {
    const std::string printed = r->unsatisfied
                                    ? "bytes */" + std::to_string(r->length)
                                    : "bytes " + std::to_string(r->first) + "-" + std::to_string(r->last) +
                                          "/" + std::to_string(r->length);
    if (printed != text || (!r->unsatisfied && (r->first > r->last || r->last >= r->length))) std::abort();
  }
  return 0;
}
