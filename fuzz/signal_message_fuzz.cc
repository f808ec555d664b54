// SignalMessage: the decoder on arbitrary bytes, the re-encoding round trip,
// and decryption of the bytes against an established session, which must fail
// and leave the session byte-for-byte unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/signal_message.h"
#include "protocol/test_party.h"

namespace {

using parley::protocol::testing::TestParty;

struct Established {
  TestParty alice{"alice", 1};
  TestParty bob{"bob", 2};
  Established() {
    if (!alice.StartSession(bob)) std::abort();
    auto hello = alice.Encrypt(bob, "hello");
    if (!hello || !bob.Decrypt(alice, *hello)) std::abort();
    auto reply = bob.Encrypt(alice, "hi");
    if (!reply || !alice.Decrypt(bob, *reply)) std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::protocol;
  const parley::Bytes input(data, size);
  auto parsed = SignalMessage::Parse(input);
  if (parsed) {
    const std::array<std::uint8_t, kMacKeySize> mac_key{};
    const auto encoded =
        EncodeSignalMessage(parsed->ratchet_key, parsed->counter, parsed->previous_counter,
                            parsed->ciphertext, mac_key, parsed->ratchet_key, parsed->ratchet_key);
    auto again = SignalMessage::Parse(encoded);
    if (!again || !(again->ratchet_key == parsed->ratchet_key) || again->counter != parsed->counter ||
        again->previous_counter != parsed->previous_counter ||
        !std::equal(again->ciphertext.begin(), again->ciphertext.end(), parsed->ciphertext.begin(),
                    parsed->ciphertext.end()) ||
        !again->VerifyMac(parsed->ratchet_key, parsed->ratchet_key, mac_key)) {
      std::abort();
    }
  }

  static Established session;
  const auto before = session.bob.SessionBytes(session.alice);
  CiphertextMessage message{CiphertextType::kMessage, std::vector<std::uint8_t>(input.begin(), input.end())};
  if (session.bob.Decrypt(session.alice, message)) std::abort();  // a forgery authenticated
  if (session.bob.SessionBytes(session.alice) != before) std::abort();
  return 0;
}
