// Base64Decode on arbitrary text: anything it accepts must re-encode to the
// same text (there is one canonical form).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/base64.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = parley::Base64Decode(text);
  if (decoded && parley::Base64Encode(*decoded) != text) std::abort();
  return 0;
}
