// InvitationStore: one-time registration invitations, kept as token hashes.
#pragma once

#include <cstdint>
#include <optional>

#include "store/error.h"
#include "store/records.h"

namespace parley::store {

class InvitationStore {
 public:
  virtual ~InvitationStore() = default;

  // Stores an unused invitation; created_ms comes from the clock. An
  // invitation with expires_ms set can be consumed only while the clock is
  // before it. kConflict: an invitation with this hash exists.
  virtual StoreStatus CreateInvitation(const TokenHash& token_hash,
                                       std::optional<std::int64_t> expires_ms) = 0;

  // kNotFound: no such invitation.
  virtual StoreResult<InvitationRecord> GetInvitation(const TokenHash& token_hash) = 0;

  // Marks the invitation used by `used_by`, atomically: of concurrent calls
  // exactly one succeeds. (CreateAccount can consume an invitation in the
  // account's own transaction; prefer that for registration.)
  // kNotFound: no such invitation, or no such account. kAlreadyUsed: consumed
  // before. kExpired: the clock is at or past its expiry.
  virtual StoreStatus ConsumeInvitation(const TokenHash& token_hash, const AccountId& used_by) = 0;
};

}  // namespace parley::store
