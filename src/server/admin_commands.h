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

// Deletes the account with this username and everything it owns
// (AccountStore::DeleteAccount: devices, keys, queues, attachments; its
// username is free at once). Returns the account as it was. kNotFound: no
// account has this username.
store::StoreResult<store::AccountRecord> DeleteAccountByUsername(store::AccountStore& accounts,
                                                                 std::string_view username);

// Removes what deleted accounts left of their idempotence records
// (AccountStore::PurgeDeletedAccounts) until nothing is left, in at most
// `max_steps` steps of kMaxPurgeBatch records each, one short transaction
// per step. Returns the sums; `done` is false when the steps ran out first.
// Safe while a server runs on the same store: both continue one walk.
store::StoreResult<store::DeletedAccountsPurge> PurgeDeletedAccountRecords(store::AccountStore& accounts,
                                                                           std::size_t max_steps);

// "accounts=N disabled_accounts=N devices=N queued_messages=N" and the backend,
// from the store's own snapshot (ServerStore::CollectStats).
void WriteStats(const store::StoreStats& stats, std::string_view backend, std::ostream& out);

// "2024-05-01T12:00:00Z" for milliseconds since the Unix epoch.
std::string FormatUtc(std::int64_t unix_ms);

}  // namespace parley::server
