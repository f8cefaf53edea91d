// ENGLISH: ascending, open, proxy bidding, hidden reserve, buy-it-now and
// soft close (RULES.md "ENGLISH"; docs/FORMATS.md).
#ifndef GAVEL_ENGINE_ENGLISH_H_
#define GAVEL_ENGINE_ENGLISH_H_

#include "engine/auction.h"

namespace gavel {

class EnglishAuction final : public Auction {
 public:
  EnglishAuction(AuctionId id, PrincipalId seller, AuctionSpec spec, absl::Time created_at);

  BidDecision Place(const BidInput& bid, std::vector<AuctionEvent>* events) override;
  CloseOutcome Close(absl::Time at) override;
  int64_t CurrentPrice() const override { return price_; }
  PrincipalId Leader() const override { return leader_; }
  bool ReserveMet() const override;
  bool BuyNowAvailable() const override;
  int64_t NextMinimum() const override { return next_minimum_; }

 private:
  // Raises the price to the reserve when `maximum` covers it (RULES.md: "if
  // m >= R > P then P = R").
  void LiftToReserve(int64_t maximum);
  // next_minimum_ from leader_ and price_; called whenever they change.
  void UpdateNextMinimum();

  PrincipalId leader_ = kNoPrincipal;
  int64_t maximum_ = 0;      // M: the leader's proxy maximum
  int64_t price_ = 0;        // P: the current price
  int64_t next_minimum_;     // NextMinimum(), cached: it changes only with P
  uint32_t leader_entry_ = 0;
  bool buy_now_taken_ = false;
};

// Engine::PrefetchAuction prefetches the object's start and each 64 bytes
// up to 256 past it: the whole object while it is at most 256 bytes.
static_assert(sizeof(EnglishAuction) <= 256);

}  // namespace gavel

#endif  // GAVEL_ENGINE_ENGLISH_H_
