// DUTCH: a descending clock, for one unit or several (RULES.md "DUTCH";
// docs/FORMATS.md).
#ifndef GAVEL_ENGINE_DUTCH_H_
#define GAVEL_ENGINE_DUTCH_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "engine/auction.h"

namespace gavel {

// The clock: price(t) = max(floor, start - decrement * floor((t - opened_at)
// / tick_interval)). Each time the price moves the auction publishes a
// price_tick event through the format timer, until it reaches the floor.
// Every acceptance is a winner at the price of its moment; the auction
// closes when sold out or at ends_at.
class DutchAuction final : public Auction {
 public:
  // REQUIRES: the spec passed MakeOneSidedAuction's DUTCH checks
  // (decrement > 0, tick_interval > 0, 1 <= floor < start).
  DutchAuction(AuctionId id, PrincipalId seller, AuctionSpec spec, absl::Time created_at);

  // amount 0 takes the current price; an amount below it is BID_TOO_LOW
  // (minimum: the current price); any other amount pays the current price.
  // The bid buys min(quantity, units left): a partial fill, reported as one
  // Fill (counter_entry 0: there is no counter order) at the price paid.
  // Leading means "bought". Sold out closes the auction at once.
  BidDecision Place(const BidInput& bid, std::vector<AuctionEvent>* events) override;
  CloseOutcome Close(absl::Time at) override;
  void OnOpen(absl::Time at) override;
  // The next tick while the price is above the floor; else InfiniteFuture.
  absl::Time NextTimer() const override;
  void OnTimer(absl::Time at, std::vector<AuctionEvent>* events) override;
  void FillsOf(uint32_t entry, std::vector<Fill>* out) const override;
  // Adds next_tick_at while the clock still moves; once over, the buyer
  // when one bidder bought every unit sold.
  void FillView(AuctionView* view, bool public_view) const override;
  // The price at the latest moment the auction has seen (opening, a tick, a
  // bid); the start price before it opens. The engine fires every tick due
  // at or before a bid's time first, so this is exact for every bid.
  int64_t CurrentPrice() const override { return price_; }
  // Sold: the last price paid, not where the clock went on to without a
  // taker; unsold: where the clock stopped.
  int64_t FinalPrice() const override {
    return acceptances_.empty() ? price_ : acceptances_.back().price_minor;
  }
  // No reserve applies; "met" once a unit is sold.
  bool ReserveMet() const override { return sold_ > 0; }
  // The least an amount may be: the current price.
  int64_t NextMinimum() const override { return price_; }
  int64_t QuantityRemaining() const override { return quantity() - sold_; }

  // price(t) by the formula above. REQUIRES: opened, t >= opened_at.
  int64_t PriceAt(absl::Time t) const;

 private:
  bool opened_ = false;
  absl::Time opened_at_;
  absl::Time now_;     // the latest moment seen
  int64_t price_ = 0;  // PriceAt(now_), or start before opening
  int64_t sold_ = 0;
  std::vector<CloseOutcome::Award> acceptances_;  // in entry order
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_DUTCH_H_
