// REVERSE_ENGLISH: a procurement auction, the mirror of ENGLISH without
// proxy bidding: the lister buys, bids go down, the lowest bid leads and is
// paid its bid (RULES.md "REVERSE_ENGLISH and REVERSE_SEALED";
// docs/FORMATS.md).
#ifndef GAVEL_ENGINE_REVERSE_ENGLISH_H_
#define GAVEL_ENGINE_REVERSE_ENGLISH_H_

#include <cstdint>
#include <vector>

#include "engine/auction.h"

namespace gavel {

class ReverseEnglishAuction final : public Auction {
 public:
  using Auction::Auction;

  // Accepts a bid of at most NextMinimum() (see there) and makes it the
  // leader; else BID_NOT_IMPROVING with that bound. Every bidder, the
  // leader too, is held to the same bound.
  BidDecision Place(const BidInput& bid, std::vector<AuctionEvent>* events) override;
  // The lowest bid wins at its amount when it is at most the reserve (the
  // buyer's hidden ceiling), else UNSOLD_RESERVE_NOT_MET.
  CloseOutcome Close(absl::Time at) override;
  // P: the lowest bid, or the start price before the first bid.
  int64_t CurrentPrice() const override {
    return leader_ == kNoPrincipal ? start_price_minor() : price_;
  }
  PrincipalId Leader() const override { return leader_; }
  bool ReserveMet() const override;
  // Reverse meaning, in the same field as every format's minimum: the MOST
  // a bid may be now. Before the first bid the start price; then
  // P - inc(P), with inc from the ladder at P. 0 once no lower bid is
  // possible (P - inc(P) < 1).
  int64_t NextMinimum() const override;

 private:
  PrincipalId leader_ = kNoPrincipal;
  int64_t price_ = 0;  // P: the lowest bid
  uint32_t leader_entry_ = 0;
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_REVERSE_ENGLISH_H_
