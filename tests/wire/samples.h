// Sample messages for the wire tests, the libprotobuf cross-check and the
// fuzz seed corpora: every type of wire/messages.h, each valid and with every
// optional field set, built from fixed bytes (no randomness).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wire/message_list.h"
#include "wire/messages.h"

namespace parley::wire::testing {

// A valid public key (0x05 then 32 bytes) derived from `seed`.
PublicKeyBytes SampleKey(std::uint8_t seed);
AccountId SampleAccount(std::uint8_t seed);
DeviceCredential SampleCredential(std::uint8_t seed);

// Sample<T>(): a valid T with every optional field set and every list
// non-empty.
template <class T>
T Sample();
#define PARLEY_WIRE_DECLARE_SAMPLE(T) \
  template <>                         \
  T Sample<T>();
PARLEY_WIRE_MESSAGES(PARLEY_WIRE_DECLARE_SAMPLE)
#undef PARLEY_WIRE_DECLARE_SAMPLE

// A frame with a name, for tests that walk all of them and for seed files.
struct NamedFrame {
  std::string name;
  Frame frame;
};

// Every request, response and push kind, plus variants: optional fields
// absent, each error status, each GetBundles and GetIdentityKeys target.
std::vector<NamedFrame> SampleFrames();

}  // namespace parley::wire::testing
