// Walks arbitrary bytes as protobuf fields and as nested messages.
#include <cstddef>
#include <cstdint>

#include "base/proto.h"

namespace {

void Walk(parley::Bytes data, int depth) {
  parley::ProtoReader r(data);
  parley::ProtoField f;
  while (r.Next(f)) {
    if (f.type == parley::WireType::kLengthDelimited && depth < 8) Walk(f.bytes, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Walk(parley::Bytes(data, size), 0);
  return 0;
}
