// SenderKeyStore: where sender-key records live, keyed by (group id, sender).
//
// The protocol layer loads a record, works on that copy and stores it back
// only once an operation has succeeded, so a store never sees a half-done
// change. InMemorySenderKeyStore keeps each record in its storage format, so
// everything that passes through it also passes through Serialize() and
// Deserialize().
#pragma once

#include <compare>
#include <map>
#include <optional>
#include <string>

#include "base/secret.h"
#include "protocol/address.h"
#include "protocol/error.h"
#include "protocol/sender_key_record.h"

namespace parley::protocol {

// Whose chain in which group. Our own chain is stored under our own address.
struct SenderKeyName {
  std::string group_id;
  ProtocolAddress sender;

  friend auto operator<=>(const SenderKeyName&, const SenderKeyName&) = default;
  friend bool operator==(const SenderKeyName&, const SenderKeyName&) = default;
};

class SenderKeyStore {
 public:
  virtual ~SenderKeyStore() = default;
  // The stored record, or nullopt when there is none. A stored record that
  // does not parse is kInvalidState.
  virtual ProtocolResult<std::optional<SenderKeyRecord>> LoadSenderKey(const SenderKeyName& name) = 0;
  // Replaces the stored record.
  virtual ProtocolResult<void> StoreSenderKey(const SenderKeyName& name, const SenderKeyRecord& record) = 0;
};

class InMemorySenderKeyStore final : public SenderKeyStore {
 public:
  ProtocolResult<std::optional<SenderKeyRecord>> LoadSenderKey(const SenderKeyName& name) override;
  ProtocolResult<void> StoreSenderKey(const SenderKeyName& name, const SenderKeyRecord& record) override;

 private:
  std::map<SenderKeyName, SecretBuffer> records_;
};

}  // namespace parley::protocol
