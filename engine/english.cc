#include "engine/english.h"

#include <algorithm>

#include "engine/money.h"

namespace gavel {

bool EnglishAuction::ReserveMet() const {
  const int64_t reserve = reserve_price_minor();
  return leader_ != kNoPrincipal && (reserve == 0 || maximum_ >= reserve);
}

bool EnglishAuction::BuyNowAvailable() const {
  if (buy_now_price_minor() == 0 || buy_now_taken_) return false;
  // Until the first accepted bid, or, with a reserve, until it is met.
  if (reserve_price_minor() > 0) return !ReserveMet();
  return leader_ == kNoPrincipal;
}

EnglishAuction::EnglishAuction(AuctionId id, PrincipalId seller, AuctionSpec spec,
                               absl::Time created_at)
    : Auction(id, seller, std::move(spec), created_at), next_minimum_(this->start_price_minor()) {}

void EnglishAuction::UpdateNextMinimum() {
  next_minimum_ =
      leader_ == kNoPrincipal ? start_price_minor() : SaturatingAdd(price_, ladder().Step(price_));
}

void EnglishAuction::LiftToReserve(int64_t maximum) {
  const int64_t reserve = reserve_price_minor();
  if (reserve > 0 && maximum >= reserve && reserve > price_) price_ = reserve;
}

BidDecision EnglishAuction::Place(const BidInput& bid, std::vector<AuctionEvent>* /*events*/) {
  BidDecision d;
  const int64_t m = bid.amount_minor;
  if (bid.quantity != 1) {
    d.reason = RejectReason::kQuantityUnavailable;
    return d;
  }
  if (BuyNowAvailable() && m >= buy_now_price_minor()) {
    // Buy-it-now: the auction closes at once, winner this bidder at B.
    buy_now_taken_ = true;
    leader_ = bid.bidder;
    maximum_ = buy_now_price_minor();
    price_ = buy_now_price_minor();
    leader_entry_ = bid.entry;
    UpdateNextMinimum();
    d.leading = true;
    d.close_now = true;
    return d;
  }
  if (leader_ == kNoPrincipal) {
    if (m < start_price_minor()) {
      d.reason = RejectReason::kBidTooLow;
      d.minimum_minor = start_price_minor();
      return d;
    }
    leader_ = bid.bidder;
    maximum_ = m;
    leader_entry_ = bid.entry;
    price_ = start_price_minor();
    LiftToReserve(m);
    UpdateNextMinimum();
    d.leading = true;
    return d;
  }
  if (bid.bidder == leader_) {
    // The leader raises their own maximum; the price only moves to meet
    // the reserve.
    if (m <= maximum_) {
      d.reason = RejectReason::kBidNotImproving;
      d.minimum_minor = maximum_ + 1;
      d.leading = true;
      return d;
    }
    maximum_ = m;
    leader_entry_ = bid.entry;
    LiftToReserve(m);
    UpdateNextMinimum();
    d.leading = true;
    return d;
  }
  const int64_t minimum = next_minimum_;
  if (m < minimum) {
    d.reason = RejectReason::kBidTooLow;
    d.minimum_minor = minimum;
    return d;
  }
  if (m > maximum_) {
    // New leader: the proxy pays one increment over the old maximum, capped
    // at the new maximum.
    price_ = std::min(m, SaturatingAdd(maximum_, ladder().Step(maximum_)));
    leader_ = bid.bidder;
    maximum_ = m;
    leader_entry_ = bid.entry;
    LiftToReserve(m);
    d.leading = true;
  } else {
    // The leader's proxy answers; equal maxima: the earlier bid keeps the lead.
    price_ = std::min(maximum_, SaturatingAdd(m, ladder().Step(m)));
    LiftToReserve(maximum_);
    d.leading = false;
  }
  UpdateNextMinimum();
  return d;
}

CloseOutcome EnglishAuction::Close(absl::Time /*at*/) {
  return SingleWinnerOutcome(leader_, ReserveMet(), leader_entry_, price_);
}

}  // namespace gavel
