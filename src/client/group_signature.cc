#include "client/group_signature.h"

#include <string_view>

#include "base/byte_writer.h"
#include "crypto/xeddsa.h"

namespace parley::client {

static_assert(sizeof(kGroupChangeSignatureLabel) - 1 == 32);
static_assert(kGroupChangeSignatureSize == crypto::kSignatureSize);

ContentResult<std::vector<std::uint8_t>> GroupChangeSignedBytes(const ContentId& group,
                                                                const GroupChange& change) {
  auto ops = EncodeGroupOps(change.ops);
  if (!ops) return tl::unexpected(ops.error());
  const std::string_view label(kGroupChangeSignatureLabel, sizeof(kGroupChangeSignatureLabel) - 1);
  ByteWriter w(label.size() + group.size() + 8 + 16 + 4 + 4 + ops->size());
  w.WriteBytes(std::span(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()));
  w.WriteBytes(group);
  w.WriteU64BE(change.stamp.version);
  w.WriteBytes(change.stamp.author.value().bytes());
  w.WriteU32BE(change.stamp.device);
  w.WriteU32BE(static_cast<std::uint32_t>(ops->size()));
  w.WriteBytes(*ops);
  return w.Take();
}

ContentResult<GroupChange> SignGroupChange(const ContentId& group, GroupChange change,
                                           const crypto::KeyPair& identity, Rng& rng) {
  auto bytes = GroupChangeSignedBytes(group, change);
  if (!bytes) return tl::unexpected(bytes.error());
  change.signature = crypto::XEdDsaSign(identity.private_key, *bytes, rng);
  return change;
}

bool VerifyGroupChange(const ContentId& group, const GroupChange& change,
                       const crypto::PublicKey& author_identity) {
  if (!change.signature) return false;
  auto bytes = GroupChangeSignedBytes(group, change);
  if (!bytes) return false;
  return crypto::XEdDsaVerify(author_identity, *bytes, *change.signature);
}

}  // namespace parley::client
