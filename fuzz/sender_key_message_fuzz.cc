// Decodes arbitrary bytes as a SenderKeyMessage and decrypts them in a fixed
// group, twice: as they are, and re-signed with the sender's signing key so
// that every header (key id, iteration near or far) reaches the chain logic.
// Invariants: a decoded message keeps the exact input; a failed decrypt leaves
// the stored record as it was; a message that decrypted is a duplicate after.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "crypto/xeddsa.h"
#include "protocol/group_cipher.h"
#include "protocol/sender_key_message.h"
#include "sender_key_fuzz_group.h"

namespace {

using parley::protocol::GroupCipher;
using parley::protocol::InMemorySenderKeyStore;
using parley::protocol::ProtocolErrc;
using parley::protocol::SenderKeyRecord;

struct Fixture {
  Fixture() {
    parley::fuzz::MakeFuzzGroup(group);
    receiver = parley::fuzz::MakeFuzzReceiver(group);
    auto record = group.sender_store.LoadSenderKey(parley::fuzz::kFuzzSender);
    if (!record || !*record || !(*record)->NewestState()->signing_private()) std::abort();
    signing_key = *(*record)->NewestState()->signing_private();
  }
  parley::fuzz::FuzzGroup group;
  InMemorySenderKeyStore receiver;
  parley::crypto::PrivateKey signing_key;
  parley::DeterministicRng rng{7};
};

std::vector<std::uint8_t> StoredBytes(InMemorySenderKeyStore& store) {
  auto record = store.LoadSenderKey(parley::fuzz::kFuzzSender);
  if (!record || !*record) std::abort();
  const parley::SecretBuffer bytes = (*record)->Serialize();
  return std::vector<std::uint8_t>(bytes.bytes().begin(), bytes.bytes().end());
}

void DecryptOnce(Fixture& f, parley::Bytes input) {
  InMemorySenderKeyStore store = f.receiver;
  const std::vector<std::uint8_t> before = StoredBytes(store);
  GroupCipher cipher(store, parley::fuzz::kFuzzSender, f.rng);
  auto plaintext = cipher.Decrypt(input);
  if (!plaintext) {
    if (StoredBytes(store) != before) std::abort();
    return;
  }
  auto again = cipher.Decrypt(input);
  if (again || again.error().code != ProtocolErrc::kDuplicateMessage) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  const parley::Bytes input(data, size);

  auto parsed = parley::protocol::SenderKeyMessage::Deserialize(input);
  if (parsed && !std::ranges::equal(parsed->serialized(), input)) std::abort();
  DecryptOnce(fixture, input);

  if (size > parley::crypto::kSignatureSize) {
    std::vector<std::uint8_t> resigned(data, data + size - parley::crypto::kSignatureSize);
    const auto signature = parley::crypto::XEdDsaSign(fixture.signing_key, resigned, fixture.rng);
    resigned.insert(resigned.end(), signature.begin(), signature.end());
    DecryptOnce(fixture, resigned);
  }
  return 0;
}
