// DOUBLE_CONTINUOUS (a continuous order book) and DOUBLE_CALL (a call
// market that clears once, at one price, at the close): RULES.md "DOUBLE_*",
// explained with examples in docs/FORMATS.md. Both keep their resting limit
// orders in an OrderBook; an order is a bid log entry with a side, a limit
// price (amount_minor) and a quantity.
//
// REQUIRES of every bid (checked by the engine before Place): side BUY or
// SELL; immediate_or_cancel only in DOUBLE_CONTINUOUS.
#ifndef GAVEL_ENGINE_DOUBLE_AUCTION_H_
#define GAVEL_ENGINE_DOUBLE_AUCTION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/auction.h"
#include "engine/heap.h"
#include "engine/order_book.h"

namespace gavel {

// What is shared by both formats: the book, each order's account, the
// trades so far, cancelling and the public view of the book.
class DoubleAuction : public Auction {
 public:
  // How the quantity of one order is accounted for; always
  // traded + resting + cancelled == quantity.
  struct OrderStatus {
    Side side = Side::kNone;
    int64_t price_minor = 0;  // the limit
    int64_t quantity = 0;     // as ordered
    int64_t traded = 0;
    int64_t resting = 0;
    int64_t cancelled = 0;  // by the owner, immediate-or-cancel, no-self-trade or the close
  };

  // Public views show at most this many price levels a side.
  static constexpr size_t kViewLevels = 50;

  DoubleAuction(AuctionId id, PrincipalId seller, AuctionSpec spec, absl::Time created_at);

  // Cancels what still rests of the owner's order: the quantity cancelled,
  // 0 when it has traded or been cancelled already. NotFound when `entry`
  // is not an accepted order; PermissionDenied when it is another owner's.
  absl::StatusOr<int64_t> CancelOrder(PrincipalId owner, uint32_t entry,
                                      std::vector<AuctionEvent>* events) override;
  void FillView(AuctionView* view, bool public_view) const override;
  // No reserve, no minimum bid and no lot of the lister's in a double
  // auction: every order brings its own price and quantity.
  bool ReserveMet() const override { return false; }
  int64_t NextMinimum() const override { return 0; }
  int64_t QuantityRemaining() const override { return 0; }

  // Idempotent cancels: what the first cancel under a key (CancelBid's
  // request_id, IdempotencyKeyHash(owner, request_id)) cancelled, so that a
  // resent cancel gets the same answer and cancels nothing more.
  struct CancelAnswer {
    uint32_t entry = 0;
    uint32_t quantity = 0;  // at most 10^9 units an order
  };
  std::optional<CancelAnswer> FindCancel(uint64_t key) const;
  // REQUIRES: FindCancel(key) is nullopt.
  void RecordCancel(uint64_t key, uint32_t entry, int64_t quantity);
  const std::vector<CancelAnswer>& cancels() const { return cancels_; }

  // The account of order `entry`, or nullopt when it is not an accepted
  // order of this auction. Reads the order's bid log entry: the auction
  // must be driven through an Engine (which logs each bid before Place).
  std::optional<OrderStatus> StatusOf(uint32_t entry) const;
  const OrderBook& book() const { return book_; }
  // Every trade so far, in execution order.
  const std::vector<CloseOutcome::TradeAward>& trades() const { return trades_; }

 protected:
  // Opens the account of an accepted order (before it trades or rests).
  void OpenAccount(const BidInput& bid);
  // Records a trade of `quantity` at `price` between two orders.
  CloseOutcome::TradeAward Trade(uint32_t buy_entry, uint32_t sell_entry, int64_t price,
                                 int64_t quantity);
  // Cancels every resting order (at the close).
  void CancelAll();
  // The book changed without a trade (a cancel); a format that publishes
  // something about its book adds events here.
  virtual void BookChanged(std::vector<AuctionEvent>* /*events*/) {}
  // Whether `entry` is an accepted order of this auction.
  bool Accepted(uint32_t entry) const {
    return entry < accounts_.size() && accounts_[entry].owner != kNoPrincipal;
  }

  OrderBook book_;
  // Every trade so far, in execution order. In DOUBLE_CONTINUOUS each is
  // also the incoming order's fill on arrival (its entry is the later of
  // the two), so they are sorted by that order's entry: FillsOf finds an
  // order's fills there rather than in a copy.
  std::vector<CloseOutcome::TradeAward> trades_;

 private:
  // An order's account, by entry, in 8 bytes: what neither its bid log
  // entry (side, limit, quantity) nor the book (what rests) holds. What was
  // cancelled (by the owner, immediate-or-cancel, no-self-trade or the
  // close) is the rest: quantity - traded - resting. The owner is here too
  // (as in the log), so that cancelling never reaches into the bid log.
  struct Account {
    PrincipalId owner = kNoPrincipal;  // kNoPrincipal: not an accepted order
    uint32_t traded = 0;               // at most 10^9 units an order
  };
  static_assert(sizeof(Account) == 8);
  std::vector<Account, ArrayAllocator<Account>> accounts_;
  HashIndex cancel_keys_;  // key -> 1 + its index in cancels_
  std::vector<CancelAnswer> cancels_;
};
// DOUBLE_CONTINUOUS: an incoming order trades at once against the best
// opposite orders while the prices cross, each trade at the resting order's
// price; what is left rests (or, immediate-or-cancel, is cancelled).
class ContinuousDoubleAuction final : public DoubleAuction {
 public:
  using DoubleAuction::DoubleAuction;

  // `leading` means: filled in full on arrival.
  BidDecision Place(const BidInput& bid, std::vector<AuctionEvent>* events) override;
  // Cancels what rests; SOLD when anything traded.
  CloseOutcome Close(absl::Time at) override;
  // The last trade's price; 0 before the first trade.
  int64_t CurrentPrice() const override { return last_price_; }
  // The trades the order made on arrival (the later order of a trade is the
  // one that arrived).
  void FillsOf(uint32_t entry, std::vector<Fill>* out) const override;
  // Every fill on arrival is a trade.
  void TradesOf(uint32_t entry, std::vector<Fill>* out) const override { FillsOf(entry, out); }

 private:
  int64_t last_price_ = 0;
};

// DOUBLE_CALL: orders rest until the close, when every eligible order trades
// at one clearing price. Meanwhile the indicative price and volume (where it
// would clear now) are published as kIndicative events whenever they change.
class CallDoubleAuction final : public DoubleAuction {
 public:
  // Where the book clears: the price and the volume that trades there.
  // Volume 0 (and price 0) when no buy and sell cross.
  struct Clearing {
    int64_t price_minor = 0;
    int64_t volume = 0;
    bool operator==(const Clearing& o) const {
      return price_minor == o.price_minor && volume == o.volume;
    }
  };

  CallDoubleAuction(AuctionId id, PrincipalId seller, AuctionSpec spec, absl::Time created_at);

  // `leading` means: the order would trade in full if the call closed now.
  BidDecision Place(const BidInput& bid, std::vector<AuctionEvent>* events) override;
  // Executes the call at the clearing price; SOLD when anything traded.
  CloseOutcome Close(absl::Time at) override;
  // The indicative price while open; the clearing price after the close.
  int64_t CurrentPrice() const override { return indicative_.price_minor; }
  void FillView(AuctionView* view, bool public_view) const override;

  // The clearing price and volume of the book as it is (RULES.md: maximum
  // volume, then minimum surplus, then market pressure, then nearest the
  // reference price, the lower on a tie).
  Clearing ComputeClearing();
  const Clearing& indicative() const { return indicative_; }

 private:
  struct Candidate {
    int64_t price_minor = 0;
    int64_t demand = 0;  // buy quantity with limit >= price
    int64_t supply = 0;  // sell quantity with limit <= price
  };

  void BookChanged(std::vector<AuctionEvent>* events) override;
  // Quantity of `side` that has priority over or equal to `price`: buys at
  // or above it, sells at or below it.
  int64_t QuantityAtOrBetter(Side side, int64_t price) const;

  Clearing indicative_;
  // Scratch for ComputeClearing, kept so that it allocates only while the
  // book grows.
  std::vector<BookLevel> buy_levels_;
  std::vector<BookLevel> sell_levels_;
  std::vector<Candidate> candidates_;
  // Scratch for Close: the eligible orders of each side in priority order.
  std::vector<OrderBook::Order> eligible_buys_;
  std::vector<OrderBook::Order> eligible_sells_;
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_DOUBLE_AUCTION_H_
