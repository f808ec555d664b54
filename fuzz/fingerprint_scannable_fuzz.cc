// Decodes arbitrary bytes as a scanned fingerprint (a QR code's content) and
// compares it with a fixed one. A decoded fingerprint re-serializes to bytes
// that decode to the same version and contents.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/fingerprint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::protocol;
  static const ScannableFingerprint ours(kScannableFingerprintVersion, std::vector<std::uint8_t>(32, 1),
                                         std::vector<std::uint8_t>(32, 2));
  auto scanned = ScannableFingerprint::Deserialize(parley::Bytes(data, size));
  if (!scanned) {
    if (scanned.error().code != ProtocolErrc::kMalformed) std::abort();
    return 0;
  }
  const FingerprintMatch match = ours.Compare(*scanned);
  if (match == FingerprintMatch::kMatch && (scanned->local_content() != ours.remote_content() ||
                                            scanned->remote_content() != ours.local_content())) {
    std::abort();
  }
  // Re-serializing writes the version even where the input left it out, so
  // it may grow past the decoder's cap by those two bytes.
  const std::vector<std::uint8_t> reserialized = scanned->Serialize();
  if (reserialized.size() > kMaxSerializedScannableFingerprintSize) return 0;
  auto again = ScannableFingerprint::Deserialize(reserialized);
  if (!again || again->version() != scanned->version() ||
      again->local_content() != scanned->local_content() ||
      again->remote_content() != scanned->remote_content()) {
    std::abort();
  }
  return 0;
}
