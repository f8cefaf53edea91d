// Versioned schema migrations for the store's PostgreSQL schema.
//
// The schema's history is a list of numbered steps; schema_migrations(version, name, applied_at)
// records which ones a database has. ApplyMigrations runs the missing steps in one transaction
// holding a transaction-level advisory lock, so two servers starting at once do not race, and
// running it again changes nothing. A released step is never edited: change the schema by
// appending a step. Tables are created in the connection's current schema (search_path).
#ifndef GAVEL_SERVER_STORE_MIGRATIONS_H_
#define GAVEL_SERVER_STORE_MIGRATIONS_H_

#include <cstdint>
#include <pqxx/connection>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gavel {

struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

// Every step, by ascending version.
const std::vector<Migration>& SchemaMigrations();

// The pg_advisory_xact_lock key that serializes migrations within one database.
inline constexpr int64_t kMigrationLockKey = 0x676176656c0001;  // "gavel" 1

// Applies the steps `conn`'s database lacks and returns the schema version after. Never
// throws. UNAVAILABLE when the connection fails; FAILED_PRECONDITION when the recorded history
// disagrees with SchemaMigrations() (a recorded version under another name). Versions newer
// than this binary knows are accepted: steps only ever add to the schema.
absl::StatusOr<int> ApplyMigrations(pqxx::connection& conn);

}  // namespace gavel

#endif  // GAVEL_SERVER_STORE_MIGRATIONS_H_
