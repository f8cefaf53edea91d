#include "server/store/migrations.h"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/store/internal/pg_status.h"

namespace gavel {
namespace {

// v1. Names follow the API (auction_id, amount_minor, reserve_price_minor, ...). Ids are
// COLLATE "C": byte order, the same on every server, and it is the order ListSettlements pages by.
// Durations are interval, NULL meaning infinite; increment_table is a jsonb array of
// {"from_minor": .., "step_minor": ..} in the seller's order ([] = the default ladder).
constexpr absl::string_view kSchemaV1 = R"sql(
CREATE TABLE auctions (
  auction_id              text COLLATE "C" PRIMARY KEY,
  seller_id               text NOT NULL,
  format                  text NOT NULL,
  currency                text NOT NULL,
  quantity                bigint NOT NULL,
  start_price_minor       bigint NOT NULL,
  reserve_price_minor     bigint NOT NULL,
  buy_now_price_minor     bigint NOT NULL,
  starts_at               timestamptz NOT NULL,
  ends_at                 timestamptz NOT NULL,
  title                   text NOT NULL,
  description             text NOT NULL,
  category                text NOT NULL,
  soft_close_enabled      boolean NOT NULL,
  soft_close_window       interval,
  soft_close_extension    interval,
  soft_close_cap          interval,
  dutch_decrement_minor   bigint NOT NULL,
  dutch_tick_interval     interval,
  dutch_floor_price_minor bigint NOT NULL,
  increment_table         jsonb NOT NULL,
  created_at              timestamptz NOT NULL
);
CREATE INDEX auctions_seller_id_idx ON auctions (seller_id);
CREATE INDEX auctions_format_idx ON auctions (format);

CREATE TABLE settlements (
  auction_id           text COLLATE "C" PRIMARY KEY REFERENCES auctions (auction_id),
  outcome              text NOT NULL,
  clearing_price_minor bigint NOT NULL,
  closed_at            timestamptz NOT NULL,
  spec_hash            text NOT NULL,
  final_hash           text NOT NULL,
  inserted_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX settlements_closed_at_idx ON settlements (closed_at, auction_id);
CREATE INDEX settlements_outcome_idx ON settlements (outcome, closed_at, auction_id);

CREATE TABLE settlement_winners (
  auction_id  text COLLATE "C" NOT NULL REFERENCES settlements (auction_id),
  ordinal     integer NOT NULL,
  bidder_id   text NOT NULL,
  bid_id      text NOT NULL,
  quantity    bigint NOT NULL,
  price_minor bigint NOT NULL,
  PRIMARY KEY (auction_id, ordinal)
);

CREATE TABLE bids (
  auction_id   text COLLATE "C" NOT NULL REFERENCES auctions (auction_id),
  sequence     bigint NOT NULL,
  bid_id       text NOT NULL,
  bidder_id    text NOT NULL,
  amount_minor bigint NOT NULL,
  quantity     bigint NOT NULL,
  side         text NOT NULL,
  at           timestamptz NOT NULL,
  result       text NOT NULL,
  hash         text NOT NULL,
  PRIMARY KEY (auction_id, sequence)
);

CREATE TABLE trades (
  auction_id  text COLLATE "C" NOT NULL REFERENCES settlements (auction_id),
  ordinal     integer NOT NULL,
  buy_bid_id  text NOT NULL,
  sell_bid_id text NOT NULL,
  buyer_id    text NOT NULL,
  seller_id   text NOT NULL,
  price_minor bigint NOT NULL,
  quantity    bigint NOT NULL,
  PRIMARY KEY (auction_id, ordinal)
);
)sql";

}  // namespace

const std::vector<Migration>& SchemaMigrations() {
  static const std::vector<Migration>* const kMigrations = new std::vector<Migration>{
      {1, "auctions, settlements, settlement_winners, bids, trades", kSchemaV1},
  };
  return *kMigrations;
}

absl::StatusOr<int> ApplyMigrations(pqxx::connection& conn) {
  try {
    pqxx::work tx(conn, "gavel_migrations");
    // CREATE TABLE IF NOT EXISTS would otherwise print a NOTICE on every start.
    tx.exec("SET LOCAL client_min_messages = warning");
    tx.exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLockKey, ")"));
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    std::map<int, std::string> applied;
    for (const auto& row : tx.exec("SELECT version, name FROM schema_migrations")) {
      applied[row[0].as<int>()] = row[1].as<std::string>();
    }
    int version = applied.empty() ? 0 : applied.rbegin()->first;
    for (const Migration& m : SchemaMigrations()) {
      auto it = applied.find(m.version);
      if (it != applied.end()) {
        if (it->second != m.name) {
          return absl::FailedPreconditionError(
              absl::StrCat("schema_migrations: version ", m.version, " was applied as \"",
                           it->second, "\" but this binary's version ", m.version, " is \"", m.name,
                           "\"; the database belongs to a different schema history"));
        }
        continue;
      }
      tx.exec(std::string(m.sql));
      tx.exec(absl::StrCat("INSERT INTO schema_migrations (version, name) VALUES (", m.version,
                           ", ", tx.quote(std::string(m.name)), ")"));
      version = std::max(version, m.version);
    }
    tx.commit();
    return version;
  } catch (...) {
    return store_internal::StatusFromCurrentException("applying schema migrations");
  }
}

}  // namespace gavel
