// Ranking and allocation of sealed bids, written once for every sealed
// format: SEALED_FIRST_PRICE, SEALED_SECOND_PRICE, MULTI_UNIT_UNIFORM,
// MULTI_UNIT_PAY_AS_BID and REVERSE_SEALED (RULES.md; docs/FORMATS.md).
// Pure functions over plain values: no auction state, no events.
#ifndef GAVEL_ENGINE_ALLOCATION_H_
#define GAVEL_ENGINE_ALLOCATION_H_

#include <cstdint>
#include <vector>

#include "engine/auction.h"
#include "engine/types.h"

namespace gavel {

// A bidder's standing sealed bid. `entry` is its bid log entry; entries
// grow with the engine sequence, so a lower entry is an earlier bid.
struct SealedBid {
  PrincipalId bidder = kNoPrincipal;
  uint32_t entry = 0;
  int64_t price_minor = 0;
  int64_t quantity = 1;
};

// The order in which sealed bids win.
enum class RankOrder : uint8_t {
  // Highest price first; equal prices: the earlier bid (sealed single
  // unit, MULTI_UNIT_UNIFORM).
  kHighestThenEarlier,
  // Highest price first, then the larger quantity, then the earlier bid
  // (MULTI_UNIT_PAY_AS_BID, "Yankee").
  kHighestThenLargerThenEarlier,
  // Lowest price first; equal prices: the earlier bid (REVERSE_SEALED).
  kLowestThenEarlier,
};

// Whether `a` ranks strictly before `b` in `order`. A strict weak order;
// total on bids with distinct entries.
bool RanksBefore(RankOrder order, const SealedBid& a, const SealedBid& b);

// Sorts `bids` best first.
void RankBids(RankOrder order, std::vector<SealedBid>* bids);

struct Allocation {
  size_t rank = 0;       // index into the ranked bids
  int64_t quantity = 0;  // units this bid wins, 1..its quantity
};

// Fills `supply` units in rank order over `ranked` (sorted by RankBids with
// the same `order`), skipping bids that do not meet the limit: with a
// forward order, a bid below `limit_minor` does not win; with
// kLowestThenEarlier, a bid above it does not win (the buyer's ceiling).
// `limit_minor` 0 means no limit. The last winner may get fewer units than
// it asked for. Appends to `out` in rank order.
void Allocate(RankOrder order, const std::vector<SealedBid>& ranked, int64_t supply,
              int64_t limit_minor, std::vector<Allocation>* out);

// The price every award shares, or 0 when they differ or there are none:
// a settlement's clearing_price_minor for the one-sided formats.
int64_t CommonPrice(const std::vector<CloseOutcome::Award>& awards);

}  // namespace gavel

#endif  // GAVEL_ENGINE_ALLOCATION_H_
