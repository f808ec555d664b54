// AccountStore: accounts and their usernames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "store/error.h"
#include "store/records.h"

namespace parley::store {

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Creates the account and its primary device (id 1) in one transaction,
  // with the device's keys (`account.primary.keys`) and consuming
  // `account.invitation` in it when set: a crash leaves either all of it or
  // nothing, never a taken username without keys. The username is stored
  // lower-cased; created_ms comes from the store's clock.
  // kConflict: the username (in any case) or the account id is taken.
  // kNotFound / kAlreadyUsed / kExpired: the invitation is unknown, used or
  // expired (nothing is created). kInvalidArgument: a field breaks a cap in
  // store/limits.h, the username is empty or not printable ASCII, or the
  // device name is not UTF-8 (store/validation.h).
  virtual StoreResult<AccountRecord> CreateAccount(const NewAccount& account) = 0;

  // kNotFound when there is no such account.
  virtual StoreResult<AccountRecord> GetAccount(const AccountId& id) = 0;
  // Case-insensitive lookup. kNotFound when no account has this username.
  virtual StoreResult<AccountRecord> GetAccountByUsername(std::string_view username) = 0;

  // Renames the account; the old name is free at once. Renaming to the
  // current name succeeds. kConflict: another account has the name.
  // kNotFound: no such account. kInvalidArgument: empty or too long.
  virtual StoreStatus ChangeUsername(const AccountId& id, std::string_view new_username) = 0;

  // Marks the account disabled (or enabled again). The store keeps the flag;
  // the server refuses disabled accounts. kNotFound: no such account.
  virtual StoreStatus SetAccountDisabled(const AccountId& id, bool disabled) = 0;

  // Those of `ids` whose accounts are disabled, in any order; unknown ids are
  // left out. The server asks with its connected accounts, to close the
  // connections of accounts disabled by another process (parleyd admin).
  // Primary-key lookups only. kInvalidArgument: more than kMaxPageSize ids.
  virtual StoreResult<std::vector<AccountId>> FindDisabledAccounts(std::span<const AccountId> ids) = 0;

  // Those of `ids` that name no account (deleted, e.g. by `parleyd admin
  // delete-account` in another process, or never created), in any order.
  // The server asks with its connected accounts, to close the connections of
  // deleted accounts. Primary-key lookups only. kInvalidArgument: more than
  // kMaxPageSize ids.
  virtual StoreResult<std::vector<AccountId>> FindMissingAccounts(std::span<const AccountId> ids) = 0;

  // Deletes the account with everything it owns in one transaction: devices,
  // their keys and queues, its idempotence records, its attachments (bytes
  // included) and provisioning codes. Messages it already queued for other
  // accounts stay queued; invitations it used stay used. kNotFound: no such
  // account.
  //
  // The idempotence records are gone for every store call from then on, but
  // a backend may leave their rows to PurgeDeletedAccounts (SQLite does: it
  // does not index them by sender, so deleting them here would read every
  // record while holding the write lock).
  virtual StoreStatus DeleteAccount(const AccountId& id) = 0;

  // Removes the rows DeleteAccount left behind, in steps that never hold a
  // write lock long: each call is one transaction that looks at no more than
  // `max_rows` (capped at kMaxPurgeBatch, at least 1) idempotence records
  // and continues where the previous call stopped, also after a restart.
  // Call again until `done`; an account deleted meanwhile makes it false
  // again. A walk over all the records finishes the accounts deleted before
  // it began. PostgreSQL leaves nothing behind and is always done.
  virtual StoreResult<DeletedAccountsPurge> PurgeDeletedAccounts(std::size_t max_rows) = 0;

  // Up to `limit` (capped at kMaxPageSize) accounts ordered by username, those
  // after `after_username` (pass "" for the first page, then the last username
  // of the previous page).
  virtual StoreResult<std::vector<AccountRecord>> ListAccounts(std::string_view after_username,
                                                               std::size_t limit) = 0;

  virtual StoreResult<std::uint64_t> CountAccounts() = 0;
};

}  // namespace parley::store
