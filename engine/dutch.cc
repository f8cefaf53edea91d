#include "engine/dutch.h"

#include <algorithm>
#include <utility>

#include "engine/allocation.h"

namespace gavel {

DutchAuction::DutchAuction(AuctionId id, PrincipalId seller, AuctionSpec spec,
                           absl::Time created_at)
    : Auction(id, seller, std::move(spec), created_at), price_(this->start_price_minor()) {}

int64_t DutchAuction::PriceAt(absl::Time t) const {
  const DutchClockRule& clock = dutch();
  const int64_t start_price_minor = this->start_price_minor();
  absl::Duration remainder;
  const int64_t ticks =
      std::max<int64_t>(0, absl::IDivDuration(t - opened_at_, clock.tick_interval, &remainder));
  // Ticks until the floor, rounded up; comparing with it first keeps
  // decrement * ticks from overflowing.
  const int64_t to_floor =
      (start_price_minor - clock.floor_price_minor + clock.decrement_minor - 1) /
      clock.decrement_minor;
  if (ticks >= to_floor) return clock.floor_price_minor;
  return start_price_minor - clock.decrement_minor * ticks;
}

void DutchAuction::OnOpen(absl::Time at) {
  opened_ = true;
  opened_at_ = at;
  now_ = at;
  price_ = PriceAt(at);
}

absl::Time DutchAuction::NextTimer() const {
  if (!opened_ || price_ <= dutch().floor_price_minor || sold_ == quantity()) {
    return absl::InfiniteFuture();
  }
  absl::Duration remainder;
  const int64_t ticks = absl::IDivDuration(now_ - opened_at_, dutch().tick_interval, &remainder);
  return opened_at_ + dutch().tick_interval * (ticks + 1);
}

void DutchAuction::OnTimer(absl::Time at, std::vector<AuctionEvent>* events) {
  now_ = std::max(now_, at);
  const int64_t price = PriceAt(now_);
  if (price == price_) return;
  price_ = price;
  AuctionEvent e;
  e.kind = AuctionEvent::Kind::kPriceTick;
  e.price_minor = price;
  events->push_back(std::move(e));
}

BidDecision DutchAuction::Place(const BidInput& bid, std::vector<AuctionEvent>* /*events*/) {
  BidDecision d;
  now_ = std::max(now_, bid.at);
  price_ = PriceAt(now_);
  if (bid.amount_minor != 0 && bid.amount_minor < price_) {
    d.reason = RejectReason::kBidTooLow;
    d.minimum_minor = price_;
    return d;
  }
  const int64_t units = std::min(bid.quantity, QuantityRemaining());
  acceptances_.push_back({bid.bidder, bid.entry, units, price_});
  sold_ += units;
  d.fills.push_back({0, price_, units});
  d.leading = true;
  d.close_now = QuantityRemaining() == 0;
  return d;
}

void DutchAuction::FillsOf(uint32_t entry, std::vector<Fill>* out) const {
  auto it = std::lower_bound(acceptances_.begin(), acceptances_.end(), entry,
                             [](const CloseOutcome::Award& a, uint32_t e) { return a.entry < e; });
  if (it != acceptances_.end() && it->entry == entry) {
    out->push_back({0, it->price_minor, it->quantity});
  }
}

void DutchAuction::FillView(AuctionView* view, bool /*public_view*/) const {
  if (state() == AuctionState::kOpen) {
    const absl::Time next = NextTimer();
    if (next < ends_at()) view->next_tick_at = next;
    return;
  }
  if (state() == AuctionState::kScheduled || acceptances_.empty()) return;
  const PrincipalId buyer = acceptances_.front().bidder;
  const bool one_buyer =
      std::all_of(acceptances_.begin(), acceptances_.end(),
                  [&](const CloseOutcome::Award& a) { return a.bidder == buyer; });
  view->leader = one_buyer ? buyer : kNoPrincipal;
}

CloseOutcome DutchAuction::Close(absl::Time /*at*/) {
  // The price stays the last one published: a tick due exactly at ends_at
  // never happens.
  CloseOutcome out;
  if (acceptances_.empty()) {
    out.outcome = SettlementOutcome::kUnsoldNoBids;
    return out;
  }
  out.outcome = SettlementOutcome::kSold;
  out.awards = acceptances_;
  out.clearing_price_minor = CommonPrice(out.awards);
  return out;
}

}  // namespace gavel
