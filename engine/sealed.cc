#include "engine/sealed.h"

#include <algorithm>
#include <utility>

namespace gavel {
namespace {

RankOrder OrderFor(Format format) {
  switch (format) {
    case Format::kMultiUnitPayAsBid:
      return RankOrder::kHighestThenLargerThenEarlier;
    case Format::kReverseSealed:
      return RankOrder::kLowestThenEarlier;
    default:
      return RankOrder::kHighestThenEarlier;
  }
}

bool IsMultiUnit(Format format) {
  return format == Format::kMultiUnitUniform || format == Format::kMultiUnitPayAsBid;
}

}  // namespace

SealedAuction::SealedAuction(AuctionId id, PrincipalId seller, AuctionSpec spec,
                             absl::Time created_at)
    : Auction(id, seller, std::move(spec), created_at), order_(OrderFor(this->format())) {}

BidDecision SealedAuction::Place(const BidInput& bid, std::vector<AuctionEvent>* /*events*/) {
  BidDecision d;
  const int64_t most_units = IsMultiUnit(format()) ? quantity() : 1;
  const int64_t start_price_minor = this->start_price_minor();
  if (bid.quantity > most_units) {
    d.reason = RejectReason::kQuantityUnavailable;
    return d;
  }
  if (order_ == RankOrder::kLowestThenEarlier) {
    if (bid.amount_minor > start_price_minor) {
      d.reason = RejectReason::kBidNotImproving;
      d.minimum_minor = start_price_minor;  // here: the most a bid may be
      return d;
    }
  } else if (bid.amount_minor < start_price_minor) {
    d.reason = RejectReason::kBidTooLow;
    d.minimum_minor = start_price_minor;
    return d;
  }
  const SealedBid standing{bid.bidder, bid.entry, bid.amount_minor, bid.quantity};
  auto [it, inserted] = by_bidder_.try_emplace(bid.bidder, standing_.size());
  if (inserted) {
    standing_.push_back(standing);
  } else {
    standing_[it->second] = standing;  // replaced: it ranks by its new entry
  }
  d.leading = false;
  return d;
}

CloseOutcome SealedAuction::Close(absl::Time /*at*/) {
  CloseOutcome out;
  if (standing_.empty()) {
    out.outcome = SettlementOutcome::kUnsoldNoBids;
    return out;
  }
  std::vector<SealedBid> ranked = standing_;
  RankBids(order_, &ranked);
  std::vector<Allocation> won;
  Allocate(order_, ranked, IsMultiUnit(format()) ? quantity() : 1, reserve_price_minor(), &won);
  if (won.empty()) {
    out.outcome = SettlementOutcome::kUnsoldReserveNotMet;
    return out;
  }

  // What each winner pays.
  int64_t shared_price = 0;  // 0: each pays their own bid
  if (format() == Format::kSealedSecondPrice) {
    const int64_t second = ranked.size() > 1 ? ranked[1].price_minor : 0;
    shared_price = std::max({second, reserve_price_minor(), start_price_minor()});
  } else if (format() == Format::kMultiUnitUniform) {
    shared_price = ranked[won.back().rank].price_minor;  // the lowest winning price
  }
  out.outcome = SettlementOutcome::kSold;
  for (const Allocation& a : won) {
    const SealedBid& b = ranked[a.rank];
    out.awards.push_back(
        {b.bidder, b.entry, a.quantity, shared_price > 0 ? shared_price : b.price_minor});
    allocated_ += a.quantity;
  }
  out.clearing_price_minor = CommonPrice(out.awards);
  sold_ = true;
  closed_leader_ = out.awards.front().bidder;
  closed_price_ = out.awards.back().price_minor;
  return out;
}

}  // namespace gavel
