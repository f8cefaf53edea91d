// Sealed-bid formats: SEALED_FIRST_PRICE, SEALED_SECOND_PRICE (Vickrey),
// MULTI_UNIT_UNIFORM, MULTI_UNIT_PAY_AS_BID (Yankee) and REVERSE_SEALED
// (RULES.md; docs/FORMATS.md). One class: they differ only in the ranking
// order, the supply and the price each winner pays (engine/allocation.h).
#ifndef GAVEL_ENGINE_SEALED_H_
#define GAVEL_ENGINE_SEALED_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/allocation.h"
#include "engine/auction.h"

namespace gavel {

class SealedAuction final : public Auction {
 public:
  // REQUIRES: spec.format is one of the five sealed formats, and the spec
  // passed MakeOneSidedAuction's checks.
  SealedAuction(AuctionId id, PrincipalId seller, AuctionSpec spec, absl::Time created_at);

  // Accepts a bid within the price bound (forward: >= start, else
  // BID_TOO_LOW; reverse: <= start, else BID_NOT_IMPROVING) and the
  // quantity bound (1, or <= Q for multi-unit, else QUANTITY_UNAVAILABLE).
  // A bidder's new bid replaces their standing one and ranks by its own,
  // newer, entry. Never says leading: that would reveal the other bids.
  BidDecision Place(const BidInput& bid, std::vector<AuctionEvent>* events) override;
  CloseOutcome Close(absl::Time at) override;
  // Nothing is revealed before the close: CurrentPrice() is 0 and Leader()
  // is nobody while the auction runs. After the close: the price the
  // marginal (last-ranked) winner pays, and the best-ranked winner.
  int64_t CurrentPrice() const override { return closed_price_; }
  PrincipalId Leader() const override { return closed_leader_; }
  bool ReserveMet() const override { return sold_; }
  // The start price: the least a bid may be, or, in REVERSE_SEALED, the
  // most.
  int64_t NextMinimum() const override { return start_price_minor(); }
  bool Sealed() const override { return true; }
  // Q while open (nothing is allocated before the close), then what was
  // not allocated.
  int64_t QuantityRemaining() const override { return quantity() - allocated_; }

 private:
  const RankOrder order_;
  std::vector<SealedBid> standing_;                     // one per bidder, in first-bid order
  absl::flat_hash_map<PrincipalId, size_t> by_bidder_;  // -> index into standing_
  int64_t closed_price_ = 0;
  PrincipalId closed_leader_ = kNoPrincipal;
  int64_t allocated_ = 0;
  bool sold_ = false;
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_SEALED_H_
