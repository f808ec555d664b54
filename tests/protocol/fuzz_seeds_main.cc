// Writes the seed corpora of the protocol fuzz targets:
//   protocol_fuzz_seeds <fuzz/corpus directory>
// Seeds come from a real, deterministic conversation, so they reach deep
// into each decoder; the interaction seeds are step scripts.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "protocol/prekey_signal_message.h"
#include "test_party.h"

namespace {

using parley::protocol::CiphertextMessage;
using parley::protocol::CiphertextType;
using parley::protocol::testing::TestParty;

void Write(const std::filesystem::path& dir, const std::string& name,
           const std::vector<std::uint8_t>& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <fuzz corpus directory>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  TestParty alice("alice", 1);
  TestParty bob("bob", 2);
  if (!alice.StartSession(bob)) return 1;
  auto first = alice.Encrypt(bob, "hello bob");
  auto second = alice.Encrypt(bob, "second");
  if (!first || !second || !bob.Decrypt(alice, *first) || !bob.Decrypt(alice, *second)) return 1;
  auto reply = bob.Encrypt(alice, "hello alice");
  if (!reply || !alice.Decrypt(bob, *reply)) return 1;

  Write(root / "prekey_signal_message", "with_prekey", first->bytes);
  Write(root / "prekey_signal_message", "second", second->bytes);
  TestParty carol("carol", 3);
  if (!carol.StartSession(bob, 0)) return 1;
  auto no_prekey = carol.Encrypt(bob, "no one-time prekey");
  if (!no_prekey) return 1;
  Write(root / "prekey_signal_message", "without_prekey", no_prekey->bytes);

  Write(root / "signal_message", "reply", reply->bytes);
  auto parsed = parley::protocol::PreKeySignalMessage::Parse(first->bytes);
  if (!parsed) return 1;
  const std::uint8_t* start = parsed->message.authenticated.data();
  Write(root / "signal_message", "embedded",
        std::vector<std::uint8_t>(start, parsed->message.mac.data() + parsed->message.mac.size()));

  Write(root / "session_record", "bob", bob.SessionBytes(alice));
  Write(root / "session_record", "alice", alice.SessionBytes(bob));
  Write(root / "session_record", "empty", parley::protocol::SessionRecord().Serialize());

  // Interaction scripts: each byte is one step (see session_interaction_fuzz.cc).
  Write(root / "session_interaction", "ping_pong", {0x00, 0x02, 0x01, 0x03, 0x00, 0x02, 0x01, 0x03});
  Write(root / "session_interaction", "bursts_reorder",
        {0x00, 0x00, 0x00, 0x06, 0x02, 0x02, 0x01, 0x01, 0x07, 0x03, 0x03, 0x04, 0x02});
  Write(root / "session_interaction", "duplicates_drops",
        {0x00, 0x02, 0x0A, 0x01, 0x03, 0x0B, 0x00, 0x08, 0x00, 0x02, 0x01, 0x09, 0x01, 0x03});
  return 0;
}
