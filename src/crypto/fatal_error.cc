#include "crypto/fatal_error.h"

#include <cstdio>
#include <cstdlib>

namespace parley::crypto {

void FatalCryptoError(const char* what) noexcept {
  std::fprintf(stderr, "parley crypto: fatal: %s\n", what);
  std::abort();
}

}  // namespace parley::crypto
