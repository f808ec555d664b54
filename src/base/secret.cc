#include "base/secret.h"

#include <cstring>
#include <ostream>

namespace parley {

void WipeMemory(void* p, std::size_t n) {
  if (p != nullptr && n != 0) explicit_bzero(p, n);
}

void SecretBuffer::Truncate(std::size_t n) {
  if (n >= data_.size()) return;
  WipeMemory(data_.data() + n, data_.size() - n);
  data_.resize(n);
}

std::ostream& PrintRedacted(std::ostream& os) { return os << "<redacted>"; }

}  // namespace parley
