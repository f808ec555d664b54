// The SQLite schema. Ids are 16-byte blobs, times are Unix milliseconds from
// the store's clock. Child rows go with their parent by ON DELETE CASCADE
// (foreign_keys is on for every connection), so deleting an account or a
// device is one statement inside one transaction; except the idempotence
// records (sends) since version 5, which an account leaves behind to be
// removed in steps (deleted_accounts).
#include "store/schema_migration.h"

namespace parley::store {

namespace {

constexpr SchemaMigration kSqliteMigrations[] = {
    {1, R"sql(
CREATE TABLE accounts (
  id          BLOB PRIMARY KEY,
  username    TEXT NOT NULL UNIQUE,
  created_ms  INTEGER NOT NULL,
  disabled    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- next_message_id and queued_count belong to the device's queue: the id
-- counter makes server ids increase across restarts, the count enforces the
-- queue bound without counting rows (in device_queues since version 3).
CREATE TABLE devices (
  account_id               BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  device_id                INTEGER NOT NULL,
  registration_id          INTEGER NOT NULL,
  name                     TEXT NOT NULL,
  credential_salt          BLOB NOT NULL,
  credential_hash          BLOB NOT NULL,
  created_ms               INTEGER NOT NULL,
  last_seen_ms             INTEGER NOT NULL,
  identity_key             BLOB,
  signed_prekey_id         INTEGER,
  signed_prekey            BLOB,
  signed_prekey_signature  BLOB,
  next_message_id          INTEGER NOT NULL DEFAULT 1,
  queued_count             INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, device_id)
) WITHOUT ROWID;

CREATE TABLE one_time_prekeys (
  account_id  BLOB NOT NULL,
  device_id   INTEGER NOT NULL,
  prekey_id   INTEGER NOT NULL,
  public_key  BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id, prekey_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices(account_id, device_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE messages (
  account_id           BLOB NOT NULL,
  device_id            INTEGER NOT NULL,
  server_id            INTEGER NOT NULL,
  server_timestamp_ms  INTEGER NOT NULL,
  sender_account       BLOB NOT NULL,
  sender_device        INTEGER NOT NULL,
  type                 INTEGER NOT NULL,
  client_message_id    BLOB NOT NULL,
  content              BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id, server_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices(account_id, device_id) ON DELETE CASCADE
);
CREATE INDEX messages_by_time ON messages(server_timestamp_ms);

-- One row per send, for idempotence; its copies say where it was queued.
CREATE TABLE sends (
  sender_account       BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  sender_device        INTEGER NOT NULL,
  client_message_id    BLOB NOT NULL,
  server_timestamp_ms  INTEGER NOT NULL,
  PRIMARY KEY (sender_account, sender_device, client_message_id)
) WITHOUT ROWID;
CREATE INDEX sends_by_time ON sends(server_timestamp_ms);

CREATE TABLE send_copies (
  sender_account     BLOB NOT NULL,
  sender_device      INTEGER NOT NULL,
  client_message_id  BLOB NOT NULL,
  position           INTEGER NOT NULL,
  recipient_account  BLOB NOT NULL,
  recipient_device   INTEGER NOT NULL,
  server_id          INTEGER NOT NULL,
  PRIMARY KEY (sender_account, sender_device, client_message_id, position),
  FOREIGN KEY (sender_account, sender_device, client_message_id)
    REFERENCES sends(sender_account, sender_device, client_message_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE attachments (
  id             BLOB PRIMARY KEY,
  owner          BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  declared_size  INTEGER NOT NULL,
  length         INTEGER NOT NULL DEFAULT 0,
  created_ms     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX attachments_by_owner ON attachments(owner);
CREATE INDEX attachments_by_time ON attachments(created_ms);

CREATE TABLE attachment_chunks (
  attachment_id  BLOB NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
  chunk_offset   INTEGER NOT NULL,
  data           BLOB NOT NULL,
  PRIMARY KEY (attachment_id, chunk_offset)
);

CREATE TABLE invitations (
  token_hash  BLOB PRIMARY KEY,
  created_ms  INTEGER NOT NULL,
  expires_ms  INTEGER,
  used_ms     INTEGER,
  used_by     BLOB REFERENCES accounts(id) ON DELETE SET NULL
) WITHOUT ROWID;
CREATE INDEX invitations_by_user ON invitations(used_by);

CREATE TABLE provisioning_codes (
  code_hash   BLOB PRIMARY KEY,
  account_id  BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_ms  INTEGER NOT NULL,
  expires_ms  INTEGER NOT NULL,
  used_ms     INTEGER
) WITHOUT ROWID;
CREATE INDEX provisioning_codes_by_account ON provisioning_codes(account_id);
)sql"},
    // A send's copies move into its sends row (one B-tree insert per send
    // instead of two). Rows written before keep theirs in send_copies, which
    // is read for them until they are purged with their send.
    {2, R"sql(
ALTER TABLE sends ADD COLUMN copies BLOB;
)sql"},
    // A device's queue counters move out of devices into a narrow table of
    // their own. Every send and every acknowledgement rewrites them; in
    // devices (keys, credentials: ~16 rows a page) that dirtied one page per
    // recipient per group commit and made the read connection re-read the
    // devices pages each send's device check needs after every commit. Here
    // ~100 devices share a page, and devices changes only when devices do.
    {3, R"sql(
CREATE TABLE device_queues (
  account_id       BLOB NOT NULL,
  device_id        INTEGER NOT NULL,
  next_message_id  INTEGER NOT NULL DEFAULT 1,
  queued_count     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, device_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices(account_id, device_id) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO device_queues (account_id, device_id, next_message_id, queued_count)
  SELECT account_id, device_id, next_message_id, queued_count FROM devices;
ALTER TABLE devices DROP COLUMN next_message_id;
ALTER TABLE devices DROP COLUMN queued_count;
)sql"},
    // The idempotence records are keyed by the client message id first.
    // Clients make those ids time-ordered (UUIDv7 layout), so new records
    // append at the right edge of the B-tree instead of landing on their
    // sender's page: a group commit of n sends from n senders dirtied about
    // n pages of sends, now a few (ids that are not time-ordered still work,
    // on random pages as before). Nothing indexes them by sender: an
    // account's records go with it by the ON DELETE CASCADE from accounts,
    // which scans the table (docs/operations-storage.md). send_copies (the
    // copies of records written before version 2) follows its parent's key.
    // Both tables are rebuilt with every row; each old table is dropped
    // after its rows were copied, children first, and the renames carry the
    // new send_copies' foreign key over to the new sends.
    {4, R"sql(
CREATE TABLE sends_v4 (
  client_message_id    BLOB NOT NULL,
  sender_account       BLOB NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  sender_device        INTEGER NOT NULL,
  server_timestamp_ms  INTEGER NOT NULL,
  copies               BLOB,
  PRIMARY KEY (client_message_id, sender_account, sender_device)
) WITHOUT ROWID;
INSERT INTO sends_v4 (client_message_id, sender_account, sender_device, server_timestamp_ms, copies)
  SELECT client_message_id, sender_account, sender_device, server_timestamp_ms, copies FROM sends;
CREATE TABLE send_copies_v4 (
  client_message_id  BLOB NOT NULL,
  sender_account     BLOB NOT NULL,
  sender_device      INTEGER NOT NULL,
  position           INTEGER NOT NULL,
  recipient_account  BLOB NOT NULL,
  recipient_device   INTEGER NOT NULL,
  server_id          INTEGER NOT NULL,
  PRIMARY KEY (client_message_id, sender_account, sender_device, position),
  FOREIGN KEY (client_message_id, sender_account, sender_device)
    REFERENCES sends_v4(client_message_id, sender_account, sender_device) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO send_copies_v4 (client_message_id, sender_account, sender_device, position,
                            recipient_account, recipient_device, server_id)
  SELECT client_message_id, sender_account, sender_device, position, recipient_account,
         recipient_device, server_id FROM send_copies;
DROP TABLE send_copies;
DROP TABLE sends;
ALTER TABLE sends_v4 RENAME TO sends;
ALTER TABLE send_copies_v4 RENAME TO send_copies;
CREATE INDEX sends_by_time ON sends(server_timestamp_ms);
)sql"},
    // sends loses its foreign key to accounts. Since version 4 nothing
    // indexes the records by sender, so the ON DELETE CASCADE made every
    // account deletion read the whole table under the write lock (and the
    // key was checked on every send). DeleteAccount now records the account
    // in deleted_accounts instead; from then on its records count as gone
    // (a record of an account in it, written no later than its deleted_ms,
    // is dead), and PurgeDeletedAccounts removes them in bounded steps,
    // walking sends in key order from the position in send_record_sweep, and
    // forgets the accounts once a walk that began after their deletion has
    // reached the end (in_sweep). SQLite cannot drop a foreign key, so sends
    // is rebuilt with every row under the same key, and send_copies with it
    // (dropping the old sends would otherwise delete its copies through their
    // own ON DELETE CASCADE), as in version 4.
    {5, R"sql(
CREATE TABLE sends_v5 (
  client_message_id    BLOB NOT NULL,
  sender_account       BLOB NOT NULL,
  sender_device        INTEGER NOT NULL,
  server_timestamp_ms  INTEGER NOT NULL,
  copies               BLOB,
  PRIMARY KEY (client_message_id, sender_account, sender_device)
) WITHOUT ROWID;
INSERT INTO sends_v5 (client_message_id, sender_account, sender_device, server_timestamp_ms, copies)
  SELECT client_message_id, sender_account, sender_device, server_timestamp_ms, copies FROM sends;
CREATE TABLE send_copies_v5 (
  client_message_id  BLOB NOT NULL,
  sender_account     BLOB NOT NULL,
  sender_device      INTEGER NOT NULL,
  position           INTEGER NOT NULL,
  recipient_account  BLOB NOT NULL,
  recipient_device   INTEGER NOT NULL,
  server_id          INTEGER NOT NULL,
  PRIMARY KEY (client_message_id, sender_account, sender_device, position),
  FOREIGN KEY (client_message_id, sender_account, sender_device)
    REFERENCES sends_v5(client_message_id, sender_account, sender_device) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO send_copies_v5 (client_message_id, sender_account, sender_device, position,
                            recipient_account, recipient_device, server_id)
  SELECT client_message_id, sender_account, sender_device, position, recipient_account,
         recipient_device, server_id FROM send_copies;
DROP TABLE send_copies;
DROP TABLE sends;
ALTER TABLE sends_v5 RENAME TO sends;
ALTER TABLE send_copies_v5 RENAME TO send_copies;
CREATE INDEX sends_by_time ON sends(server_timestamp_ms);

-- Accounts deleted since their records were last swept. in_sweep: the walk
-- in progress began after the deletion, so its end finishes the account.
CREATE TABLE deleted_accounts (
  account_id  BLOB PRIMARY KEY,
  deleted_ms  INTEGER NOT NULL,
  in_sweep    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The walk in progress: the key of the last sends row it has passed. No
-- row: no walk in progress.
CREATE TABLE send_record_sweep (
  id                 INTEGER PRIMARY KEY CHECK (id = 1),
  client_message_id  BLOB NOT NULL,
  sender_account     BLOB NOT NULL,
  sender_device      INTEGER NOT NULL
);
)sql"},
};

}  // namespace

std::span<const SchemaMigration> SqliteMigrations() { return kSqliteMigrations; }

}  // namespace parley::store
