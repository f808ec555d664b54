// Decodes arbitrary bytes as a frame, as a server (client frames, with and
// without authentication) and as a client (server frames). Whatever decodes
// must encode, decode again to an equal frame, and encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "wire/codec.h"

namespace {

using parley::Bytes;
namespace wire = parley::wire;

void CheckRoundTrip(const wire::Frame& frame) {
  const auto encoded = wire::EncodeFrame(frame);
  if (!encoded) std::abort();  // the decoder accepted what the encoder refuses
  const auto again = wire::DecodeFrame(*encoded);
  if (!again || !(*again == frame)) std::abort();
  const auto encoded_again = wire::EncodeFrame(*again);
  if (!encoded_again || *encoded_again != *encoded) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input(data, size);
  const auto frame = wire::DecodeFrame(input);
  const auto client = wire::DecodeClientFrame(input);
  const auto server = wire::DecodeServerFrame(input);
  const auto unauthenticated = wire::DecodeClientFrame(input, wire::kMaxUnauthenticatedFrameSize);
  (void)wire::PeekRequestId(input);
  // The directional decoders split exactly what DecodeFrame accepts.
  if (frame.has_value() != (client.has_value() || server.has_value())) std::abort();
  if (client.has_value() && server.has_value()) std::abort();
  if (unauthenticated.has_value() && !client.has_value()) std::abort();
  if (frame) CheckRoundTrip(*frame);
  return 0;
}
