// Fuzzes the attachment header decoders. The first byte picks the decoder,
// the rest is the header value. Whatever is accepted must print back to the
// same text (ids, numbers) or decode to in-range values (credentials).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/attachment_http.h"
#include "wire/limits.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace parley::server;
  switch (data[0] % 4) {
    case 0: {
      auto login = ParseBasicAuthorization(text);
      if (login && (login->device.value() < parley::wire::kPrimaryDeviceId ||
                    login->device.value() > parley::wire::kMaxDeviceId)) {
        std::abort();
      }
      break;
    }
    case 1: {
      auto id = ParseAttachmentId(text);
      if (id && AttachmentIdToString(*id) != text) std::abort();
      break;
    }
    case 2: {
      auto number = ParseDecimal(text);
      if (number && std::to_string(*number) != text) std::abort();
      break;
    }
    default: {
      auto from = ParseRangeStart(text);
      if (from && text.size() < 7) std::abort();
      break;
    }
  }
  return 0;
}
