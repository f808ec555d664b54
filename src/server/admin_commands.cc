#include "server/admin_commands.h"

#include <openssl/sha.h>

#include <array>
#include <ctime>

#include "base/hex.h"

namespace parley::server {

store::TokenHash InvitationTokenHash(std::string_view token) {
  store::TokenHash hash{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), hash.data());
  return hash;
}

store::StoreResult<CreatedInvitation> CreateInvitation(store::InvitationStore& invitations, Rng& rng,
                                                       const Clock& clock,
                                                       std::optional<std::int64_t> valid_for_ms) {
  std::array<std::uint8_t, 16> random{};
  rng.Fill(random);
  CreatedInvitation created;
  created.token = ToHex(random);
  if (valid_for_ms) created.expires_ms = clock.NowMillis() + *valid_for_ms;
  auto stored = invitations.CreateInvitation(InvitationTokenHash(created.token), created.expires_ms);
  if (!stored) return tl::unexpected(stored.error());
  return created;
}

store::StoreStatus ListAccounts(store::AccountStore& accounts, std::ostream& out) {
  std::string after;
  for (;;) {
    auto page = accounts.ListAccounts(after, store::kMaxPageSize);
    if (!page) return tl::unexpected(page.error());
    for (const store::AccountRecord& a : *page) {
      out << a.id.value().ToString() << " " << a.username << " created=" << FormatUtc(a.created_ms) << " "
          << (a.disabled ? "disabled" : "active") << "\n";
    }
    if (page->size() < store::kMaxPageSize) return {};
    after = page->back().username;
  }
}

store::StoreStatus SetAccountDisabledByUsername(store::AccountStore& accounts, std::string_view username,
                                                bool disabled) {
  auto account = accounts.GetAccountByUsername(username);
  if (!account) return tl::unexpected(account.error());
  return accounts.SetAccountDisabled(account->id, disabled);
}

store::StoreResult<store::AccountRecord> DeleteAccountByUsername(store::AccountStore& accounts,
                                                                 std::string_view username) {
  auto account = accounts.GetAccountByUsername(username);
  if (!account) return tl::unexpected(account.error());
  if (auto deleted = accounts.DeleteAccount(account->id); !deleted) return tl::unexpected(deleted.error());
  return *account;
}

store::StoreResult<store::DeletedAccountsPurge> PurgeDeletedAccountRecords(store::AccountStore& accounts,
                                                                           std::size_t max_steps) {
  store::DeletedAccountsPurge total;
  total.done = false;
  for (std::size_t step = 0; step < max_steps && !total.done; ++step) {
    auto purged = accounts.PurgeDeletedAccounts(store::kMaxPurgeBatch);
    if (!purged) return tl::unexpected(purged.error());
    total.rows_examined += purged->rows_examined;
    total.send_records += purged->send_records;
    total.accounts_finished += purged->accounts_finished;
    total.done = purged->done;
  }
  return total;
}

void WriteStats(const store::StoreStats& stats, std::string_view backend, std::ostream& out) {
  out << "store=" << backend << " accounts=" << stats.accounts
      << " disabled_accounts=" << stats.disabled_accounts << " devices=" << stats.devices
      << " queued_messages=" << stats.queued_messages << "\n";
}

std::string FormatUtc(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace parley::server
