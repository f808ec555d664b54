// Writes the seed corpora of the sender-key and fingerprint fuzz targets:
//   sender_key_fuzz_seeds <fuzz/corpus directory>
// Messages come from the fixed group of fuzz/sender_key_fuzz_group.h, so they
// verify and decrypt inside the fuzzer; records come from real traffic.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"
#include "protocol/fingerprint.h"
#include "protocol/group_cipher.h"
#include "protocol/group_session_builder.h"
#include "protocol/sender_key_record.h"
#include "sender_key_fuzz_group.h"

namespace {

using namespace parley;
using namespace parley::protocol;
using Buf = std::vector<std::uint8_t>;

void Write(const std::filesystem::path& dir, const std::string& name, Bytes bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Buf Text(const std::string& s) { return Buf(s.begin(), s.end()); }

bool WriteRecord(const std::filesystem::path& dir, const std::string& name, InMemorySenderKeyStore& store,
                 const SenderKeyName& key) {
  auto record = store.LoadSenderKey(key);
  if (!record || !*record) return false;
  Write(dir, name, (*record)->Serialize().bytes());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <fuzz corpus directory>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  fuzz::FuzzGroup group;
  fuzz::MakeFuzzGroup(group);
  InMemorySenderKeyStore receiver = fuzz::MakeFuzzReceiver(group);
  GroupCipher sender(group.sender_store, fuzz::kFuzzSender, group.rng);

  // Messages at iterations 0, 1, 2 and one 1,500 further on.
  std::vector<Buf> messages;
  for (const Buf& plaintext : {Text("hello group"), Buf{}, Buf(100, 'x')}) {
    auto m = sender.Encrypt(plaintext);
    if (!m) return 1;
    messages.push_back(*m);
  }
  for (int i = 0; i < 1500; ++i) {
    if (!sender.Encrypt(Buf{})) return 1;
  }
  auto far = sender.Encrypt(Text("far ahead"));
  if (!far) return 1;
  messages.push_back(*far);
  const char* names[] = {"first", "empty_plaintext", "three_blocks", "far_ahead"};
  for (std::size_t i = 0; i < messages.size(); ++i) Write(root / "sender_key_message", names[i], messages[i]);

  Write(root / "sender_key_distribution_message", "iteration_0", group.distribution);
  GroupSessionBuilder builder(group.sender_store, group.rng);
  auto later = builder.CreateDistribution(fuzz::kFuzzSender);
  if (!later) return 1;
  Write(root / "sender_key_distribution_message", "iteration_1504", later->serialized());

  // Records: the sender's own; a receiver's with kept keys (out-of-order
  // delivery); a receiver's with several chains; an empty one.
  const auto records = root / "sender_key_record";
  if (!WriteRecord(records, "own_chain", group.sender_store, fuzz::kFuzzSender)) return 1;
  GroupCipher receiving(receiver, fuzz::kFuzzSender, group.rng);
  if (!receiving.Decrypt(messages[2])) return 1;
  if (!WriteRecord(records, "kept_message_keys", receiver, fuzz::kFuzzSender)) return 1;
  for (int chain = 0; chain < 3; ++chain) {
    InMemorySenderKeyStore fresh_sender;
    auto d = GroupSessionBuilder(fresh_sender, group.rng).CreateDistribution(fuzz::kFuzzSender);
    if (!d || !GroupSessionBuilder(receiver, group.rng).Process(fuzz::kFuzzSender, *d)) return 1;
  }
  if (!WriteRecord(records, "four_chains", receiver, fuzz::kFuzzSender)) return 1;
  Write(records, "empty", SenderKeyRecord().Serialize().bytes());

  // Scanned fingerprints: ours, and libsignal-protocol-c's version 0 layout
  // (tests/test_fingerprint.c) with identifiers.
  const auto scannable = root / "fingerprint_scannable";
  DeterministicRng rng(3);
  auto fingerprint = FingerprintGenerator(1024).Create("alice", crypto::KeyPair::Generate(rng).public_key,
                                                       "bob", crypto::KeyPair::Generate(rng).public_key);
  if (!fingerprint) return 1;
  Write(scannable, "version_1", fingerprint->scannable.Serialize());
  const auto v0 = FromHex(
      "080012310a210506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868120c2b313431353232323232"
      "32"
      "321a310a2105f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b120c2b31343135333333333333"
      "33");
  if (!v0) return 1;
  Write(scannable, "libsignal_version_0", *v0);
  return 0;
}
