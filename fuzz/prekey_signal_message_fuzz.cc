// PreKeySignalMessage: the decoder on arbitrary bytes, the re-encoding round
// trip, and decryption by a fresh responder: a failure must create no session,
// trust no identity and use up no prekey. (The seeds hold real messages to this
// responder, which do decrypt; the responder is then made afresh.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "protocol/prekey_signal_message.h"
#include "protocol/test_party.h"

namespace {

using parley::protocol::testing::TestParty;

struct Responder {
  TestParty alice{"alice", 1};
  TestParty bob{"bob", 2};
  Responder() {
    bob.MakeBundle(1);
    bob.MakeBundle(0xFFFFFF);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::protocol;
  const parley::Bytes input(data, size);
  auto parsed = PreKeySignalMessage::Parse(input);
  if (parsed) {
    const std::uint8_t* inner_start = parsed->message.authenticated.data();
    const std::uint8_t* inner_end = parsed->message.mac.data() + parsed->message.mac.size();
    const auto encoded = EncodePreKeySignalMessage(
        parsed->registration_id, parsed->prekey_id, parsed->signed_prekey_id, parsed->base_key,
        parsed->identity_key, parley::Bytes(inner_start, inner_end));
    auto again = PreKeySignalMessage::Parse(encoded);
    if (!again || again->registration_id != parsed->registration_id ||
        again->prekey_id != parsed->prekey_id || again->signed_prekey_id != parsed->signed_prekey_id ||
        !(again->base_key == parsed->base_key) || !(again->identity_key == parsed->identity_key) ||
        again->message.counter != parsed->message.counter) {
      std::abort();
    }
  }

  static std::unique_ptr<Responder> responder_ptr = std::make_unique<Responder>();
  Responder& responder = *responder_ptr;
  CiphertextMessage message{CiphertextType::kPreKey, std::vector<std::uint8_t>(input.begin(), input.end())};
  if (responder.bob.Decrypt(responder.alice, message)) {
    if (responder.bob.Session(responder.alice) == nullptr) std::abort();
    responder_ptr = std::make_unique<Responder>();
    return 0;
  }
  if (responder.bob.Session(responder.alice) != nullptr) std::abort();
  if (!responder.bob.prekeys().ContainsPreKey(parley::PreKeyId(1))) std::abort();
  if (responder.bob.identities().GetIdentity(responder.alice.address())) std::abort();
  return 0;
}
