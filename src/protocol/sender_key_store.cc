#include "protocol/sender_key_store.h"

namespace parley::protocol {

ProtocolResult<std::optional<SenderKeyRecord>> InMemorySenderKeyStore::LoadSenderKey(
    const SenderKeyName& name) {
  const auto it = records_.find(name);
  if (it == records_.end()) return std::optional<SenderKeyRecord>();
  auto record = SenderKeyRecord::Deserialize(it->second.bytes());
  if (!record) return tl::unexpected(record.error());
  return std::optional<SenderKeyRecord>(std::move(*record));
}

ProtocolResult<void> InMemorySenderKeyStore::StoreSenderKey(const SenderKeyName& name,
                                                            const SenderKeyRecord& record) {
  records_.insert_or_assign(name, record.Serialize());
  return {};
}

}  // namespace parley::protocol
