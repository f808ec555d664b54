// The PostgreSQL schema: the same tables and semantics as sqlite_schema.cc.
// Account ids are uuid (readable in psql), other ids and keys bytea, times
// bigint Unix milliseconds from the store's injected clock (never now()), as
// on SQLite.
#include "store/schema_migration.h"

namespace parley::store {

namespace {

constexpr SchemaMigration kPostgresMigrations[] = {
    {1, R"sql(
CREATE TABLE accounts (
  id          uuid PRIMARY KEY,
  username    text NOT NULL UNIQUE,
  created_ms  bigint NOT NULL,
  disabled    boolean NOT NULL DEFAULT false
);

-- next_message_id and queued_count belong to the device's queue. Enqueue
-- updates them with a row lock, which also orders concurrent enqueues to
-- one queue: ids commit in increasing order.
CREATE TABLE devices (
  account_id               uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  device_id                integer NOT NULL,
  registration_id          integer NOT NULL,
  name                     text NOT NULL,
  credential_salt          bytea NOT NULL,
  credential_hash          bytea NOT NULL,
  created_ms               bigint NOT NULL,
  last_seen_ms             bigint NOT NULL,
  identity_key             bytea,
  signed_prekey_id         bigint,
  signed_prekey            bytea,
  signed_prekey_signature  bytea,
  next_message_id          bigint NOT NULL DEFAULT 1,
  queued_count             bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, device_id)
);

CREATE TABLE one_time_prekeys (
  account_id  uuid NOT NULL,
  device_id   integer NOT NULL,
  prekey_id   bigint NOT NULL,
  public_key  bytea NOT NULL,
  PRIMARY KEY (account_id, device_id, prekey_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices(account_id, device_id) ON DELETE CASCADE
);

CREATE TABLE messages (
  account_id           uuid NOT NULL,
  device_id            integer NOT NULL,
  server_id            bigint NOT NULL,
  server_timestamp_ms  bigint NOT NULL,
  sender_account       uuid NOT NULL,
  sender_device        integer NOT NULL,
  type                 bigint NOT NULL,
  client_message_id    bytea NOT NULL,
  content              bytea NOT NULL,
  PRIMARY KEY (account_id, device_id, server_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices(account_id, device_id) ON DELETE CASCADE
);
CREATE INDEX messages_by_time ON messages(server_timestamp_ms);

CREATE TABLE sends (
  sender_account       uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  sender_device        integer NOT NULL,
  client_message_id    bytea NOT NULL,
  server_timestamp_ms  bigint NOT NULL,
  PRIMARY KEY (sender_account, sender_device, client_message_id)
);
CREATE INDEX sends_by_time ON sends(server_timestamp_ms);

CREATE TABLE send_copies (
  sender_account     uuid NOT NULL,
  sender_device      integer NOT NULL,
  client_message_id  bytea NOT NULL,
  position           integer NOT NULL,
  recipient_account  uuid NOT NULL,
  recipient_device   integer NOT NULL,
  server_id          bigint NOT NULL,
  PRIMARY KEY (sender_account, sender_device, client_message_id, position),
  FOREIGN KEY (sender_account, sender_device, client_message_id)
    REFERENCES sends(sender_account, sender_device, client_message_id) ON DELETE CASCADE
);

CREATE TABLE attachments (
  id             bytea PRIMARY KEY,
  owner          uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  declared_size  bigint NOT NULL,
  length         bigint NOT NULL DEFAULT 0,
  created_ms     bigint NOT NULL
);
CREATE INDEX attachments_by_owner ON attachments(owner);
CREATE INDEX attachments_by_time ON attachments(created_ms);

CREATE TABLE attachment_chunks (
  attachment_id  bytea NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
  chunk_offset   bigint NOT NULL,
  data           bytea NOT NULL,
  PRIMARY KEY (attachment_id, chunk_offset)
);
-- Chunks are already encrypted: compressing them only costs CPU.
ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE messages ALTER COLUMN content SET STORAGE EXTERNAL;

CREATE TABLE invitations (
  token_hash  bytea PRIMARY KEY,
  created_ms  bigint NOT NULL,
  expires_ms  bigint,
  used_ms     bigint,
  used_by     uuid REFERENCES accounts(id) ON DELETE SET NULL
);
CREATE INDEX invitations_by_user ON invitations(used_by);

CREATE TABLE provisioning_codes (
  code_hash   bytea PRIMARY KEY,
  account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_ms  bigint NOT NULL,
  expires_ms  bigint NOT NULL,
  used_ms     bigint
);
CREATE INDEX provisioning_codes_by_account ON provisioning_codes(account_id);
)sql"},
};

}  // namespace

std::span<const SchemaMigration> PostgresMigrations() { return kPostgresMigrations; }

}  // namespace parley::store
