// DOUBLE_CONTINUOUS and DOUBLE_CALL, and the factory of both (RULES.md
// "DOUBLE_*"; docs/FORMATS.md).
#include "engine/double_auction.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <limits>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/settlement.h"

namespace gavel {
namespace {

// Orders an auction's vectors are sized for before they grow.
constexpr size_t kInitialOrders = 64;

Side Opposite(Side side) { return side == Side::kBuy ? Side::kSell : Side::kBuy; }

// Whether an incoming order with limit `limit` trades with a resting
// opposite order at `resting_price`.
bool Crosses(Side incoming, int64_t limit, int64_t resting_price) {
  return incoming == Side::kBuy ? resting_price <= limit : resting_price >= limit;
}

// What a double auction's spec may not carry (the checks every format
// shares have passed).
absl::Status ValidateDouble(const AuctionSpec& s) {
  if (s.quantity != 1) {
    return NotApplicable("quantity", s.format,
                         "every order carries its own quantity (leave it unset)");
  }
  if (s.reserve_price_minor != 0) {
    return NotApplicable("reserve_price_minor", s.format,
                         "every order carries its own limit price (leave it 0)");
  }
  if (s.buy_now_price_minor != 0) {
    return NotApplicable("buy_now_price_minor", s.format, "there is no buy-it-now (leave it 0)");
  }
  if (s.soft_close.enabled) {
    return NotApplicable("soft_close", s.format, "the close is hard (leave it unset)");
  }
  if (s.dutch.Set()) {
    return NotApplicable("dutch", s.format, "only a DUTCH auction has a clock (leave it unset)");
  }
  if (!s.increment_table.empty()) {
    return NotApplicable("increment_table", s.format,
                         "orders may be at any price (leave it empty)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Auction>> MakeDoubleAuction(AuctionId id, PrincipalId seller,
                                                           AuctionSpec spec,
                                                           absl::Time created_at) {
  if (absl::Status st = ValidateDouble(spec); !st.ok()) return st;
  if (spec.format == Format::kDoubleCall) {
    return std::make_unique<CallDoubleAuction>(id, seller, std::move(spec), created_at);
  }
  return std::make_unique<ContinuousDoubleAuction>(id, seller, std::move(spec), created_at);
}

// ---------------------------------------------------------------- shared

DoubleAuction::DoubleAuction(AuctionId id, PrincipalId seller, AuctionSpec spec,
                             absl::Time created_at)
    : Auction(id, seller, std::move(spec), created_at) {
  book_.Reserve(kInitialOrders, kInitialOrders);
  accounts_.reserve(kInitialOrders + 1);
  trades_.reserve(kInitialOrders);
}

void DoubleAuction::OpenAccount(const BidInput& bid) {
  assert(bid.side == Side::kBuy || bid.side == Side::kSell);
  assert(bid.bidder != kNoPrincipal);  // an owner marks the order accepted
  if (bid.entry >= accounts_.size()) accounts_.resize(bid.entry + 1);
  accounts_[bid.entry] = {bid.bidder, 0};
}

CloseOutcome::TradeAward DoubleAuction::Trade(uint32_t buy_entry, uint32_t sell_entry,
                                              int64_t price, int64_t quantity) {
  // At most 10^9 units an order: the counts stay within 32 bits.
  Account& buy = accounts_[buy_entry];
  Account& sell = accounts_[sell_entry];
  buy.traded += static_cast<uint32_t>(quantity);
  sell.traded += static_cast<uint32_t>(quantity);
  trades_.push_back({buy_entry, sell_entry, buy.owner, sell.owner, price, quantity});
  return trades_.back();
}

void DoubleAuction::CancelAll() {
  book_.Clear([](const OrderBook::Order&) {});
}

absl::StatusOr<int64_t> DoubleAuction::CancelOrder(PrincipalId owner, uint32_t entry,
                                                   std::vector<AuctionEvent>* events) {
  if (!Accepted(entry)) {
    return absl::NotFoundError(absl::StrCat("bid ", FormatBidId(id(), entry),
                                            " is not an accepted order; nothing to cancel"));
  }
  if (accounts_[entry].owner != owner) {
    return absl::PermissionDeniedError(
        absl::StrCat("bid ", FormatBidId(id(), entry), " is not yours to cancel"));
  }
  const int64_t cancelled = book_.Remove(entry);  // what rested is now cancelled
  if (cancelled > 0) BookChanged(events);
  return cancelled;
}

std::optional<DoubleAuction::CancelAnswer> DoubleAuction::FindCancel(uint64_t key) const {
  const uint32_t i = cancel_keys_.Find(key);
  if (i == 0) return std::nullopt;
  return cancels_[i - 1];
}

void DoubleAuction::RecordCancel(uint64_t key, uint32_t entry, int64_t quantity) {
  cancels_.push_back({entry, static_cast<uint32_t>(quantity)});
  cancel_keys_.Insert(key, static_cast<uint32_t>(cancels_.size()));
}

void DoubleAuction::FillView(AuctionView* view, bool /*public_view*/) const {
  // Levels are public in both views; who placed which order is not shown.
  book_.Levels(Side::kBuy, kViewLevels, &view->buy_levels);
  book_.Levels(Side::kSell, kViewLevels, &view->sell_levels);
}

std::optional<DoubleAuction::OrderStatus> DoubleAuction::StatusOf(uint32_t entry) const {
  if (!Accepted(entry)) return std::nullopt;
  const BidEntry& e = Entry(entry);
  const std::optional<OrderBook::Order> in_book = book_.Find(entry);
  const int64_t traded = accounts_[entry].traded;
  const int64_t resting = in_book ? in_book->quantity : 0;
  const int64_t cancelled = int64_t{e.quantity} - traded - resting;
  return OrderStatus{e.side, e.amount_minor, e.quantity, traded, resting, cancelled};
}

// ---------------------------------------------------------------- continuous

BidDecision ContinuousDoubleAuction::Place(const BidInput& bid, std::vector<AuctionEvent>* events) {
  BidDecision d;
  OpenAccount(bid);
  const Side opposite = Opposite(bid.side);
  const bool buying = bid.side == Side::kBuy;
  int64_t left = bid.quantity;
  while (left > 0) {
    const std::optional<OrderBook::Order> best = book_.Best(opposite);
    if (!best || !Crosses(bid.side, bid.amount_minor, best->price_minor)) break;
    const uint32_t counter = best->entry;
    if (best->owner == bid.bidder) {
      // No self-trade: the owner's resting order goes, and matching goes on.
      book_.Remove(counter);
      continue;
    }
    const int64_t price = best->price_minor;
    const int64_t quantity = std::min(left, best->quantity);
    book_.Reduce(counter, quantity);
    left -= quantity;
    Trade(buying ? bid.entry : counter, buying ? counter : bid.entry, price, quantity);
    d.fills.push_back({counter, price, quantity});
    last_price_ = price;

    AuctionEvent e;
    e.kind = AuctionEvent::Kind::kTrade;
    e.price_minor = price;
    e.quantity = quantity;
    e.bid_entry = bid.entry;
    e.counter_entry = counter;  // the engine adds buyer and seller (Auction::CompleteTrade)
    events->push_back(std::move(e));
  }
  // What is left rests, or (immediate-or-cancel) is cancelled: not traded
  // and not in the book.
  if (left > 0 && !bid.immediate_or_cancel) {
    book_.Add({bid.entry, bid.bidder, bid.side, bid.amount_minor, left});
  }
  d.leading = left == 0;
  return d;
}

void ContinuousDoubleAuction::FillsOf(uint32_t entry, std::vector<Fill>* out) const {
  // trades_ is sorted by the arriving order's entry, the later of the two.
  auto arrived = [](const CloseOutcome::TradeAward& t) {
    return std::max(t.buy_entry, t.sell_entry);
  };
  auto it =
      std::partition_point(trades_.begin(), trades_.end(),
                           [&](const CloseOutcome::TradeAward& t) { return arrived(t) < entry; });
  for (; it != trades_.end() && arrived(*it) == entry; ++it) {
    out->push_back(
        {it->buy_entry == entry ? it->sell_entry : it->buy_entry, it->price_minor, it->quantity});
  }
}

CloseOutcome ContinuousDoubleAuction::Close(absl::Time /*at*/) {
  CancelAll();
  CloseOutcome out;
  out.outcome = trades_.empty() ? SettlementOutcome::kUnsoldNoBids : SettlementOutcome::kSold;
  out.trades = trades_;
  return out;
}

// ---------------------------------------------------------------- call market

CallDoubleAuction::CallDoubleAuction(AuctionId id, PrincipalId seller, AuctionSpec spec,
                                     absl::Time created_at)
    : DoubleAuction(id, seller, std::move(spec), created_at) {
  candidates_.reserve(2 * kInitialOrders);
  buy_levels_.reserve(kInitialOrders);
  sell_levels_.reserve(kInitialOrders);
  eligible_buys_.reserve(kInitialOrders);
  eligible_sells_.reserve(kInitialOrders);
}

BidDecision CallDoubleAuction::Place(const BidInput& bid, std::vector<AuctionEvent>* events) {
  BidDecision d;
  OpenAccount(bid);
  book_.Add({bid.entry, bid.bidder, bid.side, bid.amount_minor, bid.quantity});
  BookChanged(events);
  const int64_t p = indicative_.price_minor;
  const bool eligible = indicative_.volume > 0 &&
                        (bid.side == Side::kBuy ? bid.amount_minor >= p : bid.amount_minor <= p);
  // The new order is the last at its price, so it trades in full when all
  // of its side at its price or better fits in the volume.
  d.leading = eligible && QuantityAtOrBetter(bid.side, bid.amount_minor) <= indicative_.volume;
  return d;
}

void CallDoubleAuction::BookChanged(std::vector<AuctionEvent>* events) {
  const Clearing now = ComputeClearing();
  if (now == indicative_) return;
  indicative_ = now;
  AuctionEvent e;
  e.kind = AuctionEvent::Kind::kIndicative;
  e.price_minor = now.price_minor;
  e.quantity = now.volume;
  events->push_back(std::move(e));
}

int64_t CallDoubleAuction::QuantityAtOrBetter(Side side, int64_t price) const {
  int64_t total = 0;
  book_.ForEachLevel(side, [&](const BookLevel& level) {
    if (side == Side::kBuy ? level.price_minor < price : level.price_minor > price) return false;
    total += level.quantity;
    return true;
  });
  return total;
}

CallDoubleAuction::Clearing CallDoubleAuction::ComputeClearing() {
  const std::optional<OrderBook::Order> best_buy = book_.Best(Side::kBuy);
  const std::optional<OrderBook::Order> best_sell = book_.Best(Side::kSell);
  if (!best_buy || !best_sell || best_buy->price_minor < best_sell->price_minor) {
    return {};  // nothing crosses: no volume at any price
  }
  buy_levels_.clear();
  sell_levels_.clear();
  book_.Levels(Side::kBuy, std::numeric_limits<size_t>::max(), &buy_levels_);    // high to low
  book_.Levels(Side::kSell, std::numeric_limits<size_t>::max(), &sell_levels_);  // low to high

  // Every limit price, ascending, with demand D(p) (buys at p or above) and
  // supply S(p) (sells at p or below).
  candidates_.clear();
  int64_t demand = book_.Depth(Side::kBuy);
  int64_t supply = 0;
  size_t b = buy_levels_.size();  // walks buys upwards: buy_levels_[b - 1] is next
  size_t s = 0;
  while (b > 0 || s < sell_levels_.size()) {
    int64_t p = std::numeric_limits<int64_t>::max();
    if (b > 0) p = buy_levels_[b - 1].price_minor;
    if (s < sell_levels_.size()) p = std::min(p, sell_levels_[s].price_minor);
    if (s < sell_levels_.size() && sell_levels_[s].price_minor == p) {
      supply += sell_levels_[s].quantity;
      ++s;
    }
    candidates_.push_back({p, demand, supply});
    if (b > 0 && buy_levels_[b - 1].price_minor == p) {
      demand -= buy_levels_[b - 1].quantity;
      --b;
    }
  }

  // 1) maximum executable volume; 2) then minimum surplus.
  int64_t max_volume = 0;
  for (const Candidate& c : candidates_)
    max_volume = std::max(max_volume, std::min(c.demand, c.supply));
  if (max_volume == 0) return {};
  int64_t min_surplus = std::numeric_limits<int64_t>::max();
  for (const Candidate& c : candidates_) {
    if (std::min(c.demand, c.supply) == max_volume) {
      min_surplus = std::min(min_surplus, std::abs(c.demand - c.supply));
    }
  }
  // 3) market pressure; 4) nearest the reference price, the lower on a tie.
  const int64_t reference = start_price_minor();
  bool all_buy_surplus = true;
  bool all_sell_surplus = true;
  int64_t lowest = 0;
  int64_t highest = 0;
  int64_t nearest = 0;
  bool first = true;
  for (const Candidate& c : candidates_) {
    if (std::min(c.demand, c.supply) != max_volume ||
        std::abs(c.demand - c.supply) != min_surplus) {
      continue;
    }
    all_buy_surplus = all_buy_surplus && c.demand > c.supply;
    all_sell_surplus = all_sell_surplus && c.demand < c.supply;
    if (first) {
      lowest = nearest = c.price_minor;
      first = false;
    } else if (std::abs(c.price_minor - reference) < std::abs(nearest - reference)) {
      nearest = c.price_minor;  // ascending: on equal distance the lower stays
    }
    highest = c.price_minor;
  }
  if (all_buy_surplus) return {highest, max_volume};
  if (all_sell_surplus) return {lowest, max_volume};
  return {nearest, max_volume};
}

CloseOutcome CallDoubleAuction::Close(absl::Time /*at*/) {
  const Clearing clearing = ComputeClearing();
  const int64_t p = clearing.price_minor;
  if (clearing.volume > 0) {
    // The eligible orders of each side in price-time priority; walking both
    // at once pairs them into trades, so the longer side is rationed by
    // priority and every order of the shorter side trades in full.
    eligible_buys_.clear();
    eligible_sells_.clear();
    book_.ForEachOrder(Side::kBuy, [&](const OrderBook::Order& o) {
      if (o.price_minor < p) return false;
      eligible_buys_.push_back(o);
      return true;
    });
    book_.ForEachOrder(Side::kSell, [&](const OrderBook::Order& o) {
      if (o.price_minor > p) return false;
      eligible_sells_.push_back(o);
      return true;
    });
    size_t i = 0;
    size_t j = 0;
    while (i < eligible_buys_.size() && j < eligible_sells_.size()) {
      OrderBook::Order& buy = eligible_buys_[i];
      OrderBook::Order& sell = eligible_sells_[j];
      const int64_t quantity = std::min(buy.quantity, sell.quantity);
      book_.Reduce(buy.entry, quantity);
      book_.Reduce(sell.entry, quantity);
      Trade(buy.entry, sell.entry, p, quantity);
      buy.quantity -= quantity;
      sell.quantity -= quantity;
      if (buy.quantity == 0) ++i;
      if (sell.quantity == 0) ++j;
    }
  }
  CancelAll();  // what did not trade
  indicative_ = clearing;
  CloseOutcome out;
  out.outcome = trades_.empty() ? SettlementOutcome::kUnsoldNoBids : SettlementOutcome::kSold;
  out.trades = trades_;
  out.clearing_price_minor = trades_.empty() ? 0 : p;
  return out;
}

void CallDoubleAuction::FillView(AuctionView* view, bool public_view) const {
  DoubleAuction::FillView(view, public_view);
  view->indicative_price_minor = indicative_.price_minor;
  view->indicative_volume = indicative_.volume;
}

}  // namespace gavel
