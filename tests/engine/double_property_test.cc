// Seeded random order streams against both double auctions, checked
// against small brute-force reference models written from RULES.md:
// - DOUBLE_CONTINUOUS: every fill as the reference book predicts; no trade
//   outside either side's limit; every order's quantity accounted for
//   (traded + resting + cancelled = ordered); the book never crossed after
//   an order; the public levels as the reference book's.
// - DOUBLE_CALL: the indicative price and volume after every order and
//   cancel as the four clearing rules give them by brute force; at the
//   close the maximum executable volume trades, all at p*, within every
//   limit, the short side in full and the long side by priority.
// A failure names its seed; rerun one with GAVEL_DOUBLE_SEED=<seed>.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/auction.h"
#include "engine/double_auction.h"
#include "engine/engine.h"
#include "engine/settlement.h"
#include "engine/types.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace gavel {
namespace {

using ::gavel::testing::FakePrincipalNames;
using ::gavel::testing::kSeller;
using ::gavel::testing::kT0;
using ::gavel::testing::RecordingListener;

constexpr int kContinuousSeeds = 2000;
constexpr int kCallSeeds = 1000;
const absl::Time kEnd = kT0 + absl::Hours(1);

// Traders are principals 2..7 (1 is the seller).
constexpr PrincipalId kFirstTrader = 2;
constexpr PrincipalId kTraders = 6;

// The seeds to run: 1..count, or the one in GAVEL_DOUBLE_SEED.
std::vector<uint64_t> Seeds(int count) {
  if (const char* one = std::getenv("GAVEL_DOUBLE_SEED"); one != nullptr) {
    uint64_t seed = 0;
    if (absl::SimpleAtoi(one, &seed)) return {seed};
  }
  std::vector<uint64_t> seeds;
  for (int i = 1; i <= count; ++i) seeds.push_back(static_cast<uint64_t>(i));
  return seeds;
}

// An order as the reference models keep it; a vector in arrival order is
// time priority.
struct RefOrder {
  uint32_t entry = 0;
  PrincipalId owner = kNoPrincipal;
  Side side = Side::kNone;
  int64_t price = 0;
  int64_t quantity = 0;  // resting
};

// What the test saw happen to one order, independently of the engine's
// own accounting.
struct Seen {
  PrincipalId owner = kNoPrincipal;
  Side side = Side::kNone;
  int64_t price = 0;
  int64_t quantity = 0;
  int64_t traded = 0;
  int64_t cancelled_by_owner = 0;
};

int64_t Rand(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

int64_t Abs(int64_t v) { return v < 0 ? -v : v; }

bool Chance(std::mt19937_64& rng, double p) { return std::bernoulli_distribution(p)(rng); }

// The reference levels of one side, best first, at most `depth`.
std::vector<BookLevel> RefLevels(const std::vector<RefOrder>& book, Side side, size_t depth) {
  std::vector<BookLevel> levels;
  for (const RefOrder& o : book) {
    if (o.side != side) continue;
    auto it = std::find_if(levels.begin(), levels.end(),
                           [&](const BookLevel& l) { return l.price_minor == o.price; });
    if (it == levels.end()) {
      levels.push_back({o.price, o.quantity, 1});
    } else {
      it->quantity += o.quantity;
      ++it->orders;
    }
  }
  std::sort(levels.begin(), levels.end(), [&](const BookLevel& a, const BookLevel& b) {
    return side == Side::kBuy ? a.price_minor > b.price_minor : a.price_minor < b.price_minor;
  });
  if (levels.size() > depth) levels.resize(depth);
  return levels;
}

bool SameLevels(const std::vector<BookLevel>& a, const std::vector<BookLevel>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].price_minor != b[i].price_minor || a[i].quantity != b[i].quantity ||
        a[i].orders != b[i].orders) {
      return false;
    }
  }
  return true;
}

std::string LevelsText(const std::vector<BookLevel>& levels) {
  std::string out;
  for (const BookLevel& l : levels) absl::StrAppend(&out, l.price_minor, "x", l.quantity, " ");
  return out;
}

// A fresh engine per seed: each stream starts at kT0.
class Harness {
 protected:
  AuctionId Create(Format format, int64_t reference) {
    listener_ = std::make_unique<RecordingListener>();
    engine_ = std::make_unique<Engine>(EngineOptions{}, &names_, listener_.get());
    AuctionSpec s;
    s.title = "Random stream";
    s.format = format;
    s.currency = "EUR";
    s.start_price_minor = reference;
    s.starts_at = kT0;
    s.ends_at = kEnd;
    absl::StatusOr<AuctionView> v = engine_->CreateAuction(kSeller, "create", s, kT0);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? v->auction_id : 0;
  }

  absl::StatusOr<BidResult> Place(AuctionId id, const RefOrder& o, bool ioc, absl::Time at) {
    PlaceBidCommand cmd;
    cmd.auction_id = id;
    cmd.bidder = o.owner;
    const std::string key = absl::StrCat("k", ++keys_);
    cmd.client_bid_id = key;
    cmd.amount_minor = o.price;
    cmd.quantity = o.quantity;
    cmd.side = o.side;
    cmd.immediate_or_cancel = ioc;
    return engine_->PlaceBid(cmd, at);
  }

  const DoubleAuction& DoubleOf(AuctionId id) const {
    return dynamic_cast<const DoubleAuction&>(*engine_->Find(id));
  }

  // traded + resting + cancelled == ordered, traded as the test saw it, and
  // at least what the owner cancelled was cancelled.
  void ExpectAccounted(AuctionId id, const std::vector<Seen>& seen) {
    for (uint32_t entry = 1; entry < seen.size(); ++entry) {
      const Seen& s = seen[entry];
      if (s.quantity == 0) continue;  // not an accepted order
      std::optional<DoubleAuction::OrderStatus> st = DoubleOf(id).StatusOf(entry);
      ASSERT_TRUE(st.has_value()) << "entry " << entry;
      EXPECT_EQ(st->quantity, s.quantity) << "entry " << entry;
      EXPECT_EQ(st->traded + st->resting + st->cancelled, st->quantity) << "entry " << entry;
      EXPECT_EQ(st->traded, s.traded) << "entry " << entry;
      EXPECT_GE(st->cancelled, s.cancelled_by_owner) << "entry " << entry;
      EXPECT_GE(st->resting, 0);
      EXPECT_GE(st->cancelled, 0);
    }
  }

  FakePrincipalNames names_;
  std::unique_ptr<RecordingListener> listener_;
  std::unique_ptr<Engine> engine_;
  uint64_t keys_ = 0;
};

// ---------------------------------------------------------------------------
// DOUBLE_CONTINUOUS

// The reference matcher: scans for the best opposite order each time.
struct RefContinuous {
  std::vector<RefOrder> book;
  std::vector<Fill> Place(const RefOrder& incoming, bool ioc, std::vector<Seen>* seen) {
    std::vector<Fill> fills;
    int64_t left = incoming.quantity;
    while (left > 0) {
      int best = -1;
      for (size_t i = 0; i < book.size(); ++i) {
        const RefOrder& o = book[i];
        if (o.side == incoming.side) continue;
        if (best < 0) {
          best = static_cast<int>(i);
          continue;
        }
        const RefOrder& b = book[best];
        const bool better = o.side == Side::kSell ? o.price < b.price : o.price > b.price;
        if (better) best = static_cast<int>(i);  // equal price: the earlier stays
      }
      if (best < 0) break;
      RefOrder& counter = book[best];
      const bool crosses = incoming.side == Side::kBuy ? counter.price <= incoming.price
                                                       : counter.price >= incoming.price;
      if (!crosses) break;
      if (counter.owner == incoming.owner) {
        book.erase(book.begin() + best);
        continue;
      }
      const int64_t q = std::min(left, counter.quantity);
      fills.push_back({counter.entry, counter.price, q});
      (*seen)[counter.entry].traded += q;
      (*seen)[incoming.entry].traded += q;
      left -= q;
      counter.quantity -= q;
      if (counter.quantity == 0) book.erase(book.begin() + best);
    }
    if (left > 0 && !ioc) {
      RefOrder rest = incoming;
      rest.quantity = left;
      book.push_back(rest);
    }
    return fills;
  }
  int64_t Cancel(uint32_t entry) {
    for (size_t i = 0; i < book.size(); ++i) {
      if (book[i].entry == entry) {
        const int64_t q = book[i].quantity;
        book.erase(book.begin() + static_cast<long>(i));
        return q;
      }
    }
    return 0;
  }
};

class ContinuousPropertyTest : public ::testing::Test, protected Harness {};

TEST_F(ContinuousPropertyTest, RandomStreamsMatchTheReferenceBookAndKeepEveryInvariant) {
  for (uint64_t seed : Seeds(kContinuousSeeds)) {
    SCOPED_TRACE(absl::StrCat("seed ", seed, " (rerun: GAVEL_DOUBLE_SEED=", seed, ")"));
    std::mt19937_64 rng(seed);
    const int64_t reference = Rand(rng, 50, 5000);
    const AuctionId id = Create(Format::kDoubleContinuous, reference);
    RefContinuous ref;
    std::vector<Seen> seen(1);                     // by entry
    std::vector<CloseOutcome::TradeAward> trades;  // as the test derived them
    std::vector<std::vector<Fill>> arrival_fills(1);  // by entry, as answered
    int64_t mid = reference;
    const int ops = static_cast<int>(Rand(rng, 10, 80));
    absl::Time at = kT0;
    for (int op = 0; op < ops && !HasFailure(); ++op) {
      at += absl::Seconds(Rand(rng, 0, 20));
      mid = std::max<int64_t>(10, mid + Rand(rng, -3, 3));
      const bool cancel = !ref.book.empty() && Chance(rng, 0.2);
      if (cancel) {
        const RefOrder target = ref.book[Rand(rng, 0, static_cast<int64_t>(ref.book.size()) - 1)];
        const bool by_owner = Chance(rng, 0.9);
        const PrincipalId who =
            by_owner ? target.owner : kFirstTrader + (target.owner - kFirstTrader + 1) % kTraders;
        absl::StatusOr<int64_t> r = engine_->CancelBid(who, id, target.entry, at);
        if (!by_owner) {
          EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
          continue;
        }
        ASSERT_TRUE(r.ok()) << r.status();
        const int64_t expected = ref.Cancel(target.entry);
        EXPECT_EQ(*r, expected);
        seen[target.entry].cancelled_by_owner += *r;
        // Cancelling it again finds nothing left.
        absl::StatusOr<int64_t> again = engine_->CancelBid(who, id, target.entry, at);
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_EQ(*again, 0);
        continue;
      }
      RefOrder o;
      o.owner = kFirstTrader + static_cast<PrincipalId>(Rand(rng, 0, kTraders - 1));
      o.side = Chance(rng, 0.5) ? Side::kBuy : Side::kSell;
      // Mostly near the touch; sometimes crossing deep into the other side.
      const int64_t offset = Chance(rng, 0.2) ? Rand(rng, 0, 15) : Rand(rng, -6, 2);
      o.price = std::max<int64_t>(1, o.side == Side::kBuy ? mid + offset : mid - offset);
      o.quantity = Chance(rng, 0.1) ? Rand(rng, 20, 200) : Rand(rng, 1, 20);
      const bool ioc = Chance(rng, 0.15);
      const size_t events_before = listener_->events.size();
      absl::StatusOr<BidResult> r = Place(id, o, ioc, at);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->reason, RejectReason::kNone) << r->message;
      o.entry = r->entry;
      if (seen.size() <= o.entry) seen.resize(o.entry + 1);
      seen[o.entry] = {o.owner, o.side, o.price, o.quantity, 0, 0};

      const std::vector<Fill> want = ref.Place(o, ioc, &seen);
      ASSERT_EQ(r->fills.size(), want.size()) << "op " << op;
      if (arrival_fills.size() <= o.entry) arrival_fills.resize(o.entry + 1);
      arrival_fills[o.entry] = r->fills;
      int64_t filled = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        const Fill& f = r->fills[i];
        EXPECT_EQ(f.counter_entry, want[i].counter_entry) << "op " << op << " fill " << i;
        EXPECT_EQ(f.price_minor, want[i].price_minor) << "op " << op << " fill " << i;
        EXPECT_EQ(f.quantity, want[i].quantity) << "op " << op << " fill " << i;
        // Never outside either side's limit, and never with oneself.
        const Seen& counter = seen[f.counter_entry];
        if (o.side == Side::kBuy) {
          EXPECT_LE(f.price_minor, o.price);
          EXPECT_GE(f.price_minor, counter.price);
        } else {
          EXPECT_GE(f.price_minor, o.price);
          EXPECT_LE(f.price_minor, counter.price);
        }
        EXPECT_EQ(f.price_minor, counter.price);  // at the resting order's price
        EXPECT_NE(counter.owner, o.owner);
        EXPECT_NE(counter.side, o.side);
        filled += f.quantity;
        const bool buying = o.side == Side::kBuy;
        trades.push_back({buying ? o.entry : f.counter_entry, buying ? f.counter_entry : o.entry,
                          buying ? o.owner : counter.owner, buying ? counter.owner : o.owner,
                          f.price_minor, f.quantity});
      }
      EXPECT_LE(filled, o.quantity);
      EXPECT_EQ(r->leading, filled == o.quantity);
      // The events: the acceptance, then one trade per fill, in order.
      ASSERT_EQ(listener_->events.size(), events_before + 1 + want.size());
      EXPECT_EQ(listener_->events[events_before].kind, AuctionEvent::Kind::kBidAccepted);
      for (size_t i = 0; i < want.size(); ++i) {
        const AuctionEvent& e = listener_->events[events_before + 1 + i];
        ASSERT_EQ(e.kind, AuctionEvent::Kind::kTrade);
        EXPECT_EQ(e.quantity, want[i].quantity);
        EXPECT_EQ(e.price_minor, want[i].price_minor);
        const CloseOutcome::TradeAward& t = trades[trades.size() - want.size() + i];
        EXPECT_EQ(e.buy_entry(), t.buy_entry);
        EXPECT_EQ(e.sell_entry(), t.sell_entry);
        EXPECT_EQ(e.buyer, t.buyer);
        EXPECT_EQ(e.seller, t.seller);
      }

      // After every order: the book is not crossed, and is the reference's.
      absl::StatusOr<AuctionView> v = engine_->GetAuction(id, /*public_view=*/true);
      ASSERT_TRUE(v.ok());
      if (!v->buy_levels.empty() && !v->sell_levels.empty()) {
        EXPECT_LT(v->buy_levels.front().price_minor, v->sell_levels.front().price_minor)
            << "crossed after op " << op;
      }
      const std::vector<BookLevel> buys =
          RefLevels(ref.book, Side::kBuy, DoubleAuction::kViewLevels);
      const std::vector<BookLevel> sells =
          RefLevels(ref.book, Side::kSell, DoubleAuction::kViewLevels);
      EXPECT_TRUE(SameLevels(v->buy_levels, buys))
          << "op " << op << ": " << LevelsText(v->buy_levels) << "vs " << LevelsText(buys);
      EXPECT_TRUE(SameLevels(v->sell_levels, sells))
          << "op " << op << ": " << LevelsText(v->sell_levels) << "vs " << LevelsText(sells);
      ExpectAccounted(id, seen);
    }
    if (HasFailure()) break;

    engine_->AdvanceTo(kEnd);
    ExpectAccounted(id, seen);
    for (uint32_t entry = 1; entry < seen.size(); ++entry) {
      if (seen[entry].quantity > 0) {
        EXPECT_EQ(DoubleOf(id).StatusOf(entry)->resting, 0) << "entry " << entry;
        // What the order got on arrival is what the auction still says it got
        // (idempotent replays and the event history read it there).
        std::vector<Fill> fills;
        DoubleOf(id).FillsOf(entry, &fills);
        ASSERT_EQ(fills.size(), arrival_fills[entry].size()) << "entry " << entry;
        for (size_t i = 0; i < fills.size(); ++i) {
          EXPECT_EQ(fills[i].counter_entry, arrival_fills[entry][i].counter_entry);
          EXPECT_EQ(fills[i].price_minor, arrival_fills[entry][i].price_minor);
          EXPECT_EQ(fills[i].quantity, arrival_fills[entry][i].quantity);
        }
      }
    }
    ASSERT_FALSE(listener_->settlements.empty());
    const Settlement& s = *listener_->settlements.back();
    EXPECT_EQ(s.auction_id, FormatAuctionId(id));
    EXPECT_EQ(s.outcome,
              trades.empty() ? SettlementOutcome::kUnsoldNoBids : SettlementOutcome::kSold);
    ASSERT_EQ(s.trades.size(), trades.size());
    for (size_t i = 0; i < trades.size(); ++i) {
      EXPECT_EQ(s.trades[i].buy_bid_id, FormatBidId(id, trades[i].buy_entry)) << "trade " << i;
      EXPECT_EQ(s.trades[i].sell_bid_id, FormatBidId(id, trades[i].sell_entry)) << "trade " << i;
      EXPECT_EQ(s.trades[i].price_minor, trades[i].price_minor) << "trade " << i;
      EXPECT_EQ(s.trades[i].quantity, trades[i].quantity) << "trade " << i;
    }
    if (HasFailure()) break;
  }
}

// ---------------------------------------------------------------------------
// DOUBLE_CALL

struct RefClearing {
  int64_t price = 0;
  int64_t volume = 0;
};

// RULES.md "DOUBLE_CALL", literally: every candidate, every rule in turn.
RefClearing BruteForceClearing(const std::vector<RefOrder>& book, int64_t reference) {
  struct Cand {
    int64_t price, demand, supply;
  };
  std::vector<Cand> cands;
  for (const RefOrder& o : book) {
    if (std::any_of(cands.begin(), cands.end(),
                    [&](const Cand& c) { return c.price == o.price; })) {
      continue;
    }
    Cand c{o.price, 0, 0};
    for (const RefOrder& x : book) {
      if (x.side == Side::kBuy && x.price >= c.price) c.demand += x.quantity;
      if (x.side == Side::kSell && x.price <= c.price) c.supply += x.quantity;
    }
    cands.push_back(c);
  }
  int64_t max_volume = 0;
  for (const Cand& c : cands) max_volume = std::max(max_volume, std::min(c.demand, c.supply));
  if (max_volume == 0) return {};
  std::vector<Cand> rule1;
  for (const Cand& c : cands) {
    if (std::min(c.demand, c.supply) == max_volume) rule1.push_back(c);
  }
  int64_t min_surplus = std::numeric_limits<int64_t>::max();
  for (const Cand& c : rule1) min_surplus = std::min(min_surplus, Abs(c.demand - c.supply));
  std::vector<Cand> rule2;
  for (const Cand& c : rule1) {
    if (Abs(c.demand - c.supply) == min_surplus) rule2.push_back(c);
  }
  const bool all_buy =
      std::all_of(rule2.begin(), rule2.end(), [](const Cand& c) { return c.demand > c.supply; });
  const bool all_sell =
      std::all_of(rule2.begin(), rule2.end(), [](const Cand& c) { return c.demand < c.supply; });
  auto by_price = [](const Cand& a, const Cand& b) { return a.price < b.price; };
  if (all_buy) return {std::max_element(rule2.begin(), rule2.end(), by_price)->price, max_volume};
  if (all_sell) return {std::min_element(rule2.begin(), rule2.end(), by_price)->price, max_volume};
  const Cand* best = nullptr;
  for (const Cand& c : rule2) {
    const int64_t d = Abs(c.price - reference);
    if (best == nullptr || d < Abs(best->price - reference) ||
        (d == Abs(best->price - reference) && c.price < best->price)) {
      best = &c;
    }
  }
  return {best->price, max_volume};
}

class CallPropertyTest : public ::testing::Test, protected Harness {};

TEST_F(CallPropertyTest, RandomCallsClearAtTheBruteForcePriceAndVolume) {
  for (uint64_t seed : Seeds(kCallSeeds)) {
    SCOPED_TRACE(absl::StrCat("seed ", seed, " (rerun: GAVEL_DOUBLE_SEED=", seed, ")"));
    std::mt19937_64 rng(seed);
    const int64_t reference = Rand(rng, 50, 5000);
    const AuctionId id = Create(Format::kDoubleCall, reference);
    std::vector<RefOrder> book;  // what rests, in time priority
    std::vector<Seen> seen(1);
    // Narrow or wide price spreads, so that candidates tie often.
    const int64_t spread = Chance(rng, 0.5) ? 3 : 25;
    const int ops = static_cast<int>(Rand(rng, 1, 60));
    RefClearing published;  // the last indicative event
    absl::Time at = kT0;
    for (int op = 0; op < ops && !HasFailure(); ++op) {
      at += absl::Seconds(Rand(rng, 0, 30));
      const size_t events_before = listener_->events.size();
      if (!book.empty() && Chance(rng, 0.15)) {
        const size_t i = static_cast<size_t>(Rand(rng, 0, static_cast<int64_t>(book.size()) - 1));
        const RefOrder target = book[i];
        absl::StatusOr<int64_t> r = engine_->CancelBid(target.owner, id, target.entry, at);
        ASSERT_TRUE(r.ok()) << r.status();
        EXPECT_EQ(*r, target.quantity);
        seen[target.entry].cancelled_by_owner += *r;
        book.erase(book.begin() + static_cast<long>(i));
      } else {
        RefOrder o;
        o.owner = kFirstTrader + static_cast<PrincipalId>(Rand(rng, 0, kTraders - 1));
        o.side = Chance(rng, 0.5) ? Side::kBuy : Side::kSell;
        o.price = std::max<int64_t>(1, reference + Rand(rng, -spread, spread));
        o.quantity = Chance(rng, 0.1) ? Rand(rng, 20, 100) : Rand(rng, 1, 10);
        absl::StatusOr<BidResult> r = Place(id, o, /*ioc=*/false, at);
        ASSERT_TRUE(r.ok()) << r.status();
        ASSERT_EQ(r->reason, RejectReason::kNone);
        EXPECT_TRUE(r->fills.empty());
        o.entry = r->entry;
        if (seen.size() <= o.entry) seen.resize(o.entry + 1);
        seen[o.entry] = {o.owner, o.side, o.price, o.quantity, 0, 0};
        book.push_back(o);
      }
      // The indicative price and volume are the brute-force ones, and an
      // event says so exactly when they change.
      const RefClearing want = BruteForceClearing(book, reference);
      absl::StatusOr<AuctionView> v = engine_->GetAuction(id, /*public_view=*/true);
      ASSERT_TRUE(v.ok());
      EXPECT_EQ(v->indicative_price_minor, want.price) << "op " << op;
      EXPECT_EQ(v->indicative_volume, want.volume) << "op " << op;
      int indicative_events = 0;
      for (size_t i = events_before; i < listener_->events.size(); ++i) {
        const AuctionEvent& e = listener_->events[i];
        EXPECT_NE(e.kind, AuctionEvent::Kind::kTrade) << "a trade before the close";
        if (e.kind != AuctionEvent::Kind::kIndicative) continue;
        ++indicative_events;
        EXPECT_EQ(e.price_minor, want.price);
        EXPECT_EQ(e.quantity, want.volume);
      }
      const bool changed = want.price != published.price || want.volume != published.volume;
      EXPECT_EQ(indicative_events, changed ? 1 : 0) << "op " << op;
      published = want;
    }
    if (HasFailure()) break;

    const RefClearing want = BruteForceClearing(book, reference);
    engine_->AdvanceTo(kEnd);
    ASSERT_FALSE(listener_->settlements.empty());
    const Settlement& s = *listener_->settlements.back();
    ASSERT_EQ(s.auction_id, FormatAuctionId(id));
    EXPECT_EQ(s.clearing_price_minor, want.price);
    EXPECT_EQ(s.outcome,
              want.volume > 0 ? SettlementOutcome::kSold : SettlementOutcome::kUnsoldNoBids);
    const int64_t p = want.price;
    int64_t volume = 0;
    for (const TradeRecord& t : s.trades) {
      AuctionId aid = 0;
      uint32_t buy = 0;
      uint32_t sell = 0;
      ASSERT_TRUE(ParseBidId(t.buy_bid_id, "buy", &aid, &buy).ok());
      ASSERT_TRUE(ParseBidId(t.sell_bid_id, "sell", &aid, &sell).ok());
      EXPECT_EQ(t.price_minor, p);
      EXPECT_EQ(seen[buy].side, Side::kBuy);
      EXPECT_EQ(seen[sell].side, Side::kSell);
      EXPECT_GE(seen[buy].price, p);  // within both limits
      EXPECT_LE(seen[sell].price, p);
      EXPECT_EQ(t.buyer_id, names_.Name(seen[buy].owner));
      EXPECT_EQ(t.seller_id, names_.Name(seen[sell].owner));
      EXPECT_GT(t.quantity, 0);
      seen[buy].traded += t.quantity;
      seen[sell].traded += t.quantity;
      volume += t.quantity;
    }
    EXPECT_EQ(volume, want.volume);  // the maximum executable volume
    ExpectAccounted(id, seen);

    if (want.volume > 0) {
      // Eligible orders per side in priority; the short side trades in full,
      // the long side in priority order: nobody trades while a better one
      // is left short.
      for (Side side : {Side::kBuy, Side::kSell}) {
        std::vector<RefOrder> eligible;
        int64_t total = 0;
        for (const RefOrder& o : book) {
          if (side == Side::kBuy ? o.side == side && o.price >= p
                                 : o.side == side && o.price <= p) {
            eligible.push_back(o);
            total += o.quantity;
          }
        }
        std::stable_sort(eligible.begin(), eligible.end(),
                         [&](const RefOrder& a, const RefOrder& b) {
                           return side == Side::kBuy ? a.price > b.price : a.price < b.price;
                         });
        if (total == want.volume) {
          for (const RefOrder& o : eligible) EXPECT_EQ(seen[o.entry].traded, o.quantity);
        }
        bool short_seen = false;
        for (const RefOrder& o : eligible) {
          if (short_seen) {
            EXPECT_EQ(seen[o.entry].traded, 0) << "entry " << o.entry;
          }
          if (seen[o.entry].traded < o.quantity) short_seen = true;
        }
      }
      // Nothing that was not eligible traded.
      for (const RefOrder& o : book) {
        const bool eligible = o.side == Side::kBuy ? o.price >= p : o.price <= p;
        if (!eligible) {
          EXPECT_EQ(seen[o.entry].traded, 0) << "entry " << o.entry;
        }
      }
    }
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace gavel
