// SessionStore: session records by peer address.
#pragma once

#include "protocol/address.h"
#include "protocol/error.h"
#include "protocol/session_record.h"

namespace parley::protocol {

// Records are handed out as objects the store owns, so that an established
// conversation costs no copy and no re-serialization per message.
// SessionCipher and SessionBuilder change a loaded record only after a
// message authenticated (or a bundle verified), then call SessionUpdated; a
// persistent store writes the record there, and if that fails it must drop
// its cached copy so that memory never runs ahead of storage.
class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // The record for address, or nullptr. The pointer stays valid until the
  // next StoreSession or DeleteSession on this store.
  virtual SessionRecord* LoadSession(const ProtocolAddress& address) = 0;
  // Stores record for address, replacing any record there.
  virtual ProtocolStatus StoreSession(const ProtocolAddress& address, SessionRecord record) = 0;
  // Persists the changes made to the record LoadSession returned for address.
  virtual ProtocolStatus SessionUpdated(const ProtocolAddress& address) = 0;
  virtual ProtocolStatus DeleteSession(const ProtocolAddress& address) = 0;
};

// HasCurrentSession: true when address has a record with a current state,
// that is, when SessionCipher::Encrypt can encrypt to it.
inline bool HasCurrentSession(SessionStore& store, const ProtocolAddress& address) {
  const SessionRecord* record = store.LoadSession(address);
  return record != nullptr && record->has_current_state();
}

}  // namespace parley::protocol
