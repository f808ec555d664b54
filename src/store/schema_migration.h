// One step of a backend's schema history. Version n turns schema n-1 into
// schema n; a database records each applied version in schema_migrations, and
// opening a store applies the missing ones in order, in one transaction.
// Migrations are append-only: a released step is never edited.
#pragma once

#include <span>

namespace parley::store {

struct SchemaMigration {
  int version;
  const char* sql;  // one or more statements
};

// The SQLite and PostgreSQL histories (same tables and semantics, each in its
// own dialect).
std::span<const SchemaMigration> SqliteMigrations();
std::span<const SchemaMigration> PostgresMigrations();

}  // namespace parley::store
