// Writes the seed corpora of the wire fuzz targets from the sample messages:
//   wire_fuzz_seeds <fuzz/corpus>
// creates <fuzz/corpus>/wire_<target>/<name> files. The seeds in the
// repository were written by this program; rerun it when the samples change.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "samples.h"
#include "wire/codec.h"
#include "wire/message_list.h"

namespace {

namespace fs = std::filesystem;
namespace wire = parley::wire;
using wire::testing::Sample;

bool Write(const fs::path& dir, const std::string& name, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

template <class T>
bool WriteMessage(const fs::path& dir, const std::string& name, const T& message) {
  const auto encoded = wire::EncodeMessage(message);
  if (!encoded) {
    std::fprintf(stderr, "%s does not encode\n", name.c_str());
    return false;
  }
  return Write(dir, name, *encoded);
}

// The seed of each message type is named after the type.
template <class T>
constexpr const char* kNameOf = nullptr;
#define PARLEY_WIRE_NAME_OF(T) \
  template <>                  \
  constexpr const char* kNameOf<wire::T> = #T;
PARLEY_WIRE_MESSAGES(PARLEY_WIRE_NAME_OF)
#undef PARLEY_WIRE_NAME_OF

template <class... T>
bool WriteSamples(const fs::path& dir) {
  bool ok = true;
  ((ok = WriteMessage(dir, kNameOf<T>, Sample<T>()) && ok), ...);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <fuzz/corpus directory>\n", argv[0]);
    return 2;
  }
  const fs::path corpus(argv[1]);
  bool ok = true;

  for (const auto& [name, frame] : wire::testing::SampleFrames()) {
    const auto encoded = wire::EncodeFrame(frame);
    ok = encoded && Write(corpus / "wire_frame", name, *encoded) && ok;
  }

  const fs::path envelope = corpus / "wire_envelope";
  ok = WriteSamples<wire::Envelope, wire::Push>(envelope) && ok;
  wire::Envelope small = Sample<wire::Envelope>();
  small.content = {0x33};
  ok = WriteMessage(envelope, "Envelope_one_byte_content", small) && ok;
  ok = WriteMessage(envelope, "Push_queue_empty", wire::Push{1, wire::QueueEmpty{}}) && ok;
  ok = WriteMessage(envelope, "Push_prekeys_low", wire::Push{2, Sample<wire::PreKeysLow>()}) && ok;

  const fs::path account = corpus / "wire_account";
  ok = WriteSamples<wire::RegisterRequest, wire::AuthenticateRequest, wire::LinkDeviceRequest,
                    wire::UnlinkDeviceRequest, wire::SetUsernameRequest, wire::RegisterResult,
                    wire::LinkDeviceResult, wire::CreateLinkCodeResult, wire::ListDevicesResult,
                    wire::DeviceInfo>(account) &&
       ok;
  wire::RegisterRequest minimal = Sample<wire::RegisterRequest>();
  minimal.invitation_token.reset();
  minimal.device_name.reset();
  minimal.prekeys.clear();
  ok = WriteMessage(account, "RegisterRequest_minimal", minimal) && ok;

  const fs::path keys = corpus / "wire_keys";
  ok = WriteSamples<wire::UploadKeysRequest, wire::GetBundlesRequest, wire::BundlesResult, wire::DeviceBundle,
                    wire::PreKeyCountResult, wire::SignedPreKey, wire::OneTimePreKey, wire::PreKeysLow,
                    wire::LookupUsernameRequest, wire::UsernameLookupResult, wire::GetIdentityKeysRequest,
                    wire::IdentityKeysResult, wire::DeviceIdentity>(keys) &&
       ok;
  ok = WriteMessage(keys, "GetBundlesRequest_by_username",
                    wire::GetBundlesRequest{std::string("carol"), std::nullopt}) &&
       ok;
  ok = WriteMessage(keys, "GetIdentityKeysRequest_by_username",
                    wire::GetIdentityKeysRequest{std::string("carol"), std::nullopt}) &&
       ok;
  ok = WriteMessage(keys, "UploadKeysRequest_prekeys_only",
                    wire::UploadKeysRequest{std::nullopt, Sample<wire::UploadKeysRequest>().prekeys}) &&
       ok;

  const fs::path messages = corpus / "wire_messages";
  ok = WriteSamples<wire::SendMessagesRequest, wire::SendMultiRecipientRequest, wire::RecipientMessages,
                    wire::OutgoingMessage, wire::SendResult, wire::MismatchedDevices, wire::RecipientResult,
                    wire::SendMultiRecipientResult, wire::Request, wire::Response>(messages) &&
       ok;
  ok = WriteMessage(messages, "Response_mismatched_devices",
                    wire::Response{3, wire::ResponseStatus::kMismatchedDevices, "mismatched devices",
                                   std::nullopt, Sample<wire::MismatchedDevices>()}) &&
       ok;
  ok = WriteMessage(messages, "Response_rate_limited",
                    wire::Response{4, wire::ResponseStatus::kRateLimited, "", 1000, std::monostate{}}) &&
       ok;

  if (!ok) return 1;
  std::printf("seeds written under %s\n", corpus.c_str());
  return 0;
}
