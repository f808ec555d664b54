// What `parleyd admin ...` does, against an open store. Each command writes
// plain lines for an operator to read and returns the store's error, if any.
// Invitation tokens are printed once, at creation; the store keeps only their
// hash (InvitationTokenHash), which the registration handler recomputes.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/rng.h"
#include "store/server_store.h"

namespace parley::server {

// SHA-256 of the token's bytes.
store::TokenHash InvitationTokenHash(std::string_view token);

// A new invitation: a random token (32 lower-case hex characters, 128 bits)
// whose hash is stored, valid for `valid_for_ms` from now or without expiry.
struct CreatedInvitation {
  std::string token;
  std::optional<std::int64_t> expires_ms;
};
store::StoreResult<CreatedInvitation> CreateInvitation(store::InvitationStore& invitations, Rng& rng,
                                                       const Clock& clock,
                                                       std::optional<std::int64_t> valid_for_ms);

// Writes one line per account, ordered by username:
// "<account id> <username> created=<UTC time> <active|disabled>".
store::StoreStatus ListAccounts(store::AccountStore& accounts, std::ostream& out);

// Disables (or enables again) the account with this username.
store::StoreStatus SetAccountDisabledByUsername(store::AccountStore& accounts, std::string_view username,
                                                bool disabled);

// "accounts=N disabled_accounts=N devices=N queued_messages=N" and the backend,
// from the store's own snapshot (ServerStore::CollectStats).
void WriteStats(const store::StoreStats& stats, std::string_view backend, std::ostream& out);

// "2024-05-01T12:00:00Z" for milliseconds since the Unix epoch.
std::string FormatUtc(std::int64_t unix_ms);

}  // namespace parley::server
