// Decrypts arbitrary bytes as a downloaded attachment blob (the server, or
// whoever broke into it, chooses every byte; the key and digest come from an
// authenticated message).
//
// Input: a flags byte, the stated plaintext size - 1 (16 bits, big-endian),
// then the blob. Flag bit 0: the harness puts the right MAC and digest over
// the blob first, so that the padding and size checks behind the MAC are
// reached; bits 1-3 choose the piece size the blob is fed in. Whatever the
// pieces, the outcome must be the same as in one piece, and a blob that
// verifies yields the same plaintext, of exactly the stated size.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "client/attachment_cipher.h"
#include "crypto/hash.h"

namespace {

namespace client = parley::client;

client::AttachmentDigest Sha256(parley::Bytes bytes) {
  client::AttachmentDigest d{};
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

struct Outcome {
  bool ok = false;
  client::AttachmentErrc code{};
  std::vector<std::uint8_t> plaintext;
};

Outcome Decrypt(const client::AttachmentKey& key, const client::AttachmentDigest& digest, std::uint64_t size,
                parley::Bytes blob, std::size_t piece) {
  Outcome o;
  auto d = client::AttachmentDecryptor::Create(key, digest, size);
  if (!d) std::abort();  // every size the harness states is valid
  for (std::size_t at = 0; at < blob.size(); at += piece) {
    auto ok = (*d)->Update(blob.subspan(at, std::min(piece, blob.size() - at)), o.plaintext);
    if (!ok) {
      o.code = ok.error().code;
      return o;
    }
  }
  auto ok = (*d)->Finish(o.plaintext);
  if (!ok) {
    o.code = ok.error().code;
    return o;
  }
  o.ok = true;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t flags = data[0];
  const std::uint64_t stated = ((std::uint64_t{data[1]} << 8) | data[2]) + 1;
  std::vector<std::uint8_t> blob(data + 3, data + size);

  client::AttachmentKey key;
  for (std::size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<std::uint8_t>(i * 7 + 1);
  if ((flags & 1) != 0 && blob.size() >= client::kAttachmentMacSize) {
    const std::size_t body = blob.size() - client::kAttachmentMacSize;
    const auto tag = parley::crypto::HmacSha256(key.bytes().last<32>(), parley::Bytes(blob.data(), body));
    std::copy(tag.begin(), tag.end(), blob.begin() + static_cast<std::ptrdiff_t>(body));
  }
  const client::AttachmentDigest digest = Sha256(blob);

  static constexpr std::array<std::size_t, 8> kPieces{1, 3, 15, 16, 17, 32, 33, 4096};
  const Outcome whole = Decrypt(key, digest, stated, blob, blob.size() == 0 ? 1 : blob.size());
  const Outcome pieces = Decrypt(key, digest, stated, blob, kPieces[(flags >> 1) & 7]);
  // Unverified plaintext before a failure depends on the pieces; the outcome may not.
  if (whole.ok != pieces.ok || whole.code != pieces.code) std::abort();
  if (whole.ok && whole.plaintext != pieces.plaintext) std::abort();
  if (whole.ok && whole.plaintext.size() != stated) std::abort();
  return 0;
}
