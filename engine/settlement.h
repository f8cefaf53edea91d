// A closed auction's record: outcome, winners, and the full bid log with its
// SHA-256 hash chain (docs/AUDIT.md). Self-contained (principals by name), so
// the store can persist it and an auditor can verify it without the engine.
#ifndef GAVEL_ENGINE_SETTLEMENT_H_
#define GAVEL_ENGINE_SETTLEMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/types.h"

namespace gavel {

struct Winner {
  std::string bidder_id;
  int64_t quantity = 0;
  int64_t price_minor = 0;  // price per unit
  std::string bid_id;
};

struct TradeRecord {
  std::string buy_bid_id;
  std::string sell_bid_id;
  std::string buyer_id;
  std::string seller_id;
  int64_t price_minor = 0;
  int64_t quantity = 0;
};

// One entry of the bid log: every bid that reached an open auction, accepted
// or refused by the rules, in sequence order.
struct BidLogEntry {
  Sequence sequence = 0;
  std::string bid_id;
  std::string bidder_id;
  int64_t amount_minor = 0;
  int64_t quantity = 0;
  Side side = Side::kNone;
  absl::Time at;
  std::string result;  // "ACCEPTED" or a RejectReason name
  std::string hash;    // hex SHA-256: H(previous hash || canonical entry)
};

struct Settlement {
  std::string auction_id;
  std::string seller_id;
  AuctionSpec spec;
  SettlementOutcome outcome = SettlementOutcome::kUnspecified;
  std::vector<Winner> winners;     // one-sided formats
  std::vector<TradeRecord> trades; // double auctions, in execution order
  int64_t clearing_price_minor = 0;
  absl::Time created_at;
  absl::Time closed_at;
  std::vector<BidLogEntry> bids;
  std::string spec_hash;   // h0, hex
  std::string final_hash;  // last link (h0 when there are no bids), hex
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_SETTLEMENT_H_
