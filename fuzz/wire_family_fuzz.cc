// Decodes arbitrary bytes as each message type of one family (chosen at build
// time by a PARLEY_WIRE_FUZZ_<FAMILY> define; see fuzz/wire.cmake). Every
// input is tried against every decoder of the family, so any seed of the
// family exercises all of them. Whatever decodes must encode, decode again to
// an equal message, and encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/codec.h"

namespace {

using parley::Bytes;
namespace wire = parley::wire;

template <class T>
void CheckRoundTrip(Bytes input) {
  const auto decoded = wire::DecodeMessage<T>(input);
  if (!decoded) return;
  const auto encoded = wire::EncodeMessage(*decoded);
  if (!encoded) std::abort();  // the decoder accepted what the encoder refuses
  const auto again = wire::DecodeMessage<T>(*encoded);
  if (!again || !(*again == *decoded)) std::abort();
  const auto encoded_again = wire::EncodeMessage(*again);
  if (!encoded_again || *encoded_again != *encoded) std::abort();
}

template <class... T>
void CheckAll(Bytes input) {
  (CheckRoundTrip<T>(input), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input(data, size);
#if defined(PARLEY_WIRE_FUZZ_ENVELOPE)
  // What a client decodes for every message it receives.
  CheckAll<wire::Envelope, wire::Push>(input);
#elif defined(PARLEY_WIRE_FUZZ_ACCOUNT)
  CheckAll<wire::RegisterRequest, wire::AuthenticateRequest, wire::LinkDeviceRequest,
           wire::UnlinkDeviceRequest, wire::SetUsernameRequest, wire::RegisterResult, wire::LinkDeviceResult,
           wire::CreateLinkCodeResult, wire::ListDevicesResult, wire::DeviceInfo>(input);
#elif defined(PARLEY_WIRE_FUZZ_KEYS)
  CheckAll<wire::UploadKeysRequest, wire::GetBundlesRequest, wire::BundlesResult, wire::DeviceBundle,
           wire::PreKeyCountResult, wire::SignedPreKey, wire::OneTimePreKey, wire::PreKeysLow,
           wire::LookupUsernameRequest, wire::UsernameLookupResult, wire::GetIdentityKeysRequest,
           wire::IdentityKeysResult, wire::DeviceIdentity>(input);
#elif defined(PARLEY_WIRE_FUZZ_MESSAGES)
  CheckAll<wire::SendMessagesRequest, wire::SendMultiRecipientRequest, wire::RecipientMessages,
           wire::OutgoingMessage, wire::SendResult, wire::MismatchedDevices, wire::RecipientResult,
           wire::SendMultiRecipientResult, wire::Request, wire::Response>(input);
#else
#error "define the family: PARLEY_WIRE_FUZZ_ENVELOPE, _ACCOUNT, _KEYS or _MESSAGES"
#endif
  return 0;
}
