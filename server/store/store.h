// The settled record in PostgreSQL: writes settlements in batches, reads them back for auditors.
//
// Errors are values: no libpqxx exception leaves this class. Every status carries its context
// ("writing settlement batch of 12: <PostgreSQL's message>"), and the code says what to do:
//   UNAVAILABLE          the connection failed or was lost, or a commit's outcome is unknown:
//                        open a new Store and retry (writes are idempotent, retrying is safe)
//   ABORTED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED
//                        transient (deadlock, serialization failure, out of resources, query
//                        cancelled): retry
//   INVALID_ARGUMENT     the request or the data cannot be stored as given (a bad filter or
//                        page_token, a NUL byte in a string, a time PostgreSQL cannot represent)
//   NOT_FOUND            no such settlement
//   FAILED_PRECONDITION  the database schema is not one this binary understands
//   INTERNAL             anything else
//
// Times are stored as timestamptz and durations as interval, both at microsecond precision
// (sub-microsecond parts are dropped, as in the audit hash chain). Times must lie in years
// 1..9999 or be absl::InfiniteFuture()/InfinitePast() (stored as 'infinity'/'-infinity');
// absl::InfiniteDuration() is stored as NULL.
#ifndef GAVEL_SERVER_STORE_STORE_H_
#define GAVEL_SERVER_STORE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/settlement.h"
#include "engine/types.h"

namespace gavel {

// Which settlements ListSettlements returns. Every set field narrows the result.
struct SettlementFilter {
  absl::Time closed_after = absl::InfinitePast();     // inclusive; InfinitePast: no bound
  absl::Time closed_before = absl::InfiniteFuture();  // exclusive; InfiniteFuture: no bound
  std::string seller_id = {};                         // empty: any seller
  Format format = Format::kUnspecified;               // kUnspecified: any format
  SettlementOutcome outcome = SettlementOutcome::kUnspecified;  // kUnspecified: any outcome
  int page_size = 0;            // 0: 50; larger than 500: 500; negative: INVALID_ARGUMENT
  std::string page_token = {};  // empty: the first page; else a next_page_token, same filter
};

struct SettlementPage {
  // Ordered by closed_at, then auction_id. Summaries: `bids` is empty (GetSettlement has them),
  // every other field is filled.
  std::vector<Settlement> settlements;
  // Empty on the last page. Opaque; valid only with the filter that produced it.
  std::string next_page_token;
};

// One PostgreSQL connection. Thread-compatible, not thread-safe: use one Store per thread.
class Store {
 public:
  // Connects with a libpq connection string ("host=... port=... user=... dbname=..."; add
  // `connect_timeout=N` for remote servers) and applies the schema migrations
  // (migrations.h). UNAVAILABLE when PostgreSQL cannot be reached.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& conninfo);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes every settlement of `batch` (auction, settlement, winners, trades, bid log) in one
  // transaction. Idempotent on auction_id: a settlement whose auction_id is already stored is
  // skipped entirely (the stored version wins, its rows stay as they are), and the others are
  // still written; the same auction_id twice in `batch` keeps the first. All or nothing: on
  // error nothing of the batch is written. The pointers are only read during the call.
  absl::Status WriteSettlements(const std::vector<const Settlement*>& batch);

  // The stored settlement, field for field: bids by sequence, winners and trades in their
  // original order. NOT_FOUND when no settlement has this auction_id.
  absl::StatusOr<Settlement> GetSettlement(absl::string_view auction_id);

  // One page of settlements matching `filter`, keyset-paged by (closed_at, auction_id), so
  // settlements written while paging never make a page skip or repeat one.
  absl::StatusOr<SettlementPage> ListSettlements(const SettlementFilter& filter);
  // The next_page_token of a page of `filter` that ends with `last` (for a
  // caller that cuts a page short).
  static std::string PageTokenAfter(const Settlement& last, const SettlementFilter& filter);

  // Human-readable warnings about server settings that put committed settlements at risk
  // (fsync, synchronous_commit, full_page_writes off). Empty when the settings are durable.
  absl::StatusOr<std::vector<std::string>> DatabaseSettingsWarnings();

  // The largest number N of any auction id "A<N>" stored, or 0. A restarted
  // server numbers new auctions above it, so that ids never repeat.
  absl::StatusOr<uint64_t> HighestAuctionNumber();

 private:
  struct Connection;
  explicit Store(std::unique_ptr<Connection> connection);

  std::unique_ptr<Connection> connection_;
};

}  // namespace gavel

#endif  // GAVEL_SERVER_STORE_STORE_H_
