#include "engine/reverse_english.h"

#include <algorithm>

namespace gavel {

int64_t ReverseEnglishAuction::NextMinimum() const {
  if (leader_ == kNoPrincipal) return start_price_minor();
  return std::max<int64_t>(0, price_ - ladder().Step(price_));
}

bool ReverseEnglishAuction::ReserveMet() const {
  const int64_t ceiling = reserve_price_minor();
  return leader_ != kNoPrincipal && (ceiling == 0 || price_ <= ceiling);
}

BidDecision ReverseEnglishAuction::Place(const BidInput& bid,
                                         std::vector<AuctionEvent>* /*events*/) {
  BidDecision d;
  if (bid.quantity != 1) {
    d.reason = RejectReason::kQuantityUnavailable;
    return d;
  }
  const int64_t most = NextMinimum();
  if (bid.amount_minor > most) {
    d.reason = RejectReason::kBidNotImproving;
    d.minimum_minor = most;  // here: the most a bid may be
    d.leading = bid.bidder == leader_;
    return d;
  }
  leader_ = bid.bidder;
  price_ = bid.amount_minor;
  leader_entry_ = bid.entry;
  d.leading = true;
  return d;
}

CloseOutcome ReverseEnglishAuction::Close(absl::Time /*at*/) {
  return SingleWinnerOutcome(leader_, ReserveMet(), leader_entry_, price_);
}

}  // namespace gavel
