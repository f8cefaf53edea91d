// DOUBLE_CONTINUOUS and DOUBLE_CALL driven through gavel::Engine, case by
// case from RULES.md ("DOUBLE_CONTINUOUS", "DOUBLE_CALL"), with fixed times;
// and the OrderBook both formats share.
#include "engine/double_auction.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/auction.h"
#include "engine/engine.h"
#include "engine/order_book.h"
#include "engine/settlement.h"
#include "engine/types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace gavel {

// Book levels compare and print by value (found by ADL from the matchers).
bool operator==(const BookLevel& a, const BookLevel& b) {
  return a.price_minor == b.price_minor && a.quantity == b.quantity && a.orders == b.orders;
}
void PrintTo(const BookLevel& l, std::ostream* os) {
  *os << "{" << l.price_minor << " x" << l.quantity << " (" << l.orders << " orders)}";
}

namespace {

using ::gavel::testing::ExpectHistoryReplaysPublished;
using ::gavel::testing::FakePrincipalNames;
using ::gavel::testing::kAlice;
using ::gavel::testing::kBob;
using ::gavel::testing::kCarol;
using ::gavel::testing::kDave;
using ::gavel::testing::kSeller;
using ::gavel::testing::kT0;
using ::gavel::testing::RecordingListener;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr PrincipalId kErin = 7;  // "p7"
const absl::Time kEnd = kT0 + absl::Hours(1);
constexpr Side kBuy = Side::kBuy;
constexpr Side kSell = Side::kSell;

// A double auction in EUR, open now for one hour, reference price 1.00 EUR.
AuctionSpec DoubleSpec(Format format, int64_t reference = 100) {
  AuctionSpec s;
  s.title = "Apples, per crate";
  s.format = format;
  s.currency = "EUR";
  s.quantity = 1;
  s.start_price_minor = reference;
  s.starts_at = kT0;
  s.ends_at = kEnd;
  return s;
}

// One engine with fake names and a recording listener, plus shorthands.
class DoubleHarness {
 protected:
  AuctionId Create(AuctionSpec spec) {
    absl::StatusOr<AuctionView> view =
        engine_.CreateAuction(kSeller, absl::StrCat("create-", ++creates_), std::move(spec), kT0);
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? view->auction_id : 0;
  }

  absl::StatusOr<BidResult> TryOrder(AuctionId id, PrincipalId who, Side side, int64_t quantity,
                                     int64_t price, bool ioc = false, absl::Time at = kT0,
                                     const std::string& key = "") {
    PlaceBidCommand cmd;
    cmd.auction_id = id;
    cmd.bidder = who;
    const std::string fresh = absl::StrCat("order-", ++orders_);
    cmd.client_bid_id = key.empty() ? fresh : key;
    cmd.amount_minor = price;
    cmd.quantity = quantity;
    cmd.side = side;
    cmd.immediate_or_cancel = ioc;
    return engine_.PlaceBid(cmd, at);
  }

  // An order the engine must answer (accepted or rejected by the rules).
  BidResult Order(AuctionId id, PrincipalId who, Side side, int64_t quantity, int64_t price,
                  bool ioc = false, absl::Time at = kT0) {
    absl::StatusOr<BidResult> r = TryOrder(id, who, side, quantity, price, ioc, at);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : BidResult{};
  }

  AuctionView View(AuctionId id) const {
    absl::StatusOr<AuctionView> v = engine_.GetAuction(id, /*public_view=*/true);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : AuctionView{};
  }

  const DoubleAuction& DoubleOf(AuctionId id) const {
    return dynamic_cast<const DoubleAuction&>(*engine_.Find(id));
  }

  DoubleAuction::OrderStatus Status(AuctionId id, uint32_t entry) const {
    std::optional<DoubleAuction::OrderStatus> s = DoubleOf(id).StatusOf(entry);
    EXPECT_TRUE(s.has_value()) << "entry " << entry;
    return s.value_or(DoubleAuction::OrderStatus{});
  }

  std::shared_ptr<const Settlement> SettlementOf(AuctionId id) const {
    for (const auto& s : listener_.settlements) {
      if (s->auction_id == FormatAuctionId(id)) return s;
    }
    return nullptr;
  }

  std::vector<AuctionEvent> Events(AuctionEvent::Kind kind) const {
    return listener_.EventsOfKind(kind);
  }

  FakePrincipalNames names_;
  RecordingListener listener_;
  Engine engine_{EngineOptions{}, &names_, &listener_};
  int creates_ = 0;
  int orders_ = 0;
};

class ContinuousTest : public ::testing::Test, protected DoubleHarness {};
class CallTest : public ::testing::Test, protected DoubleHarness {};

// ---------------------------------------------------------------------------
// The order book on its own.

TEST(OrderBookTest, LevelsAreFifoQueuesBestFirst) {
  OrderBook book;
  book.Add({1, kAlice, kSell, 102, 5});
  book.Add({2, kBob, kSell, 101, 3});
  book.Add({3, kCarol, kSell, 101, 4});
  book.Add({4, kDave, kBuy, 99, 7});
  book.Add({5, kErin, kBuy, 100, 1});
  ASSERT_TRUE(book.Best(kSell).has_value());
  EXPECT_EQ(book.Best(kSell)->entry, 2u);  // lowest price, then earliest
  EXPECT_EQ(book.Best(kBuy)->entry, 5u);   // highest price
  std::vector<uint32_t> sells;
  book.ForEachOrder(kSell, [&](const OrderBook::Order& o) {
    sells.push_back(o.entry);
    return true;
  });
  EXPECT_THAT(sells, ElementsAre(2u, 3u, 1u));
  std::vector<BookLevel> levels;
  book.Levels(kSell, 10, &levels);
  EXPECT_THAT(levels, ElementsAre(BookLevel{101, 7, 2}, BookLevel{102, 5, 1}));
  levels.clear();
  book.Levels(kBuy, 1, &levels);  // depth-limited
  EXPECT_THAT(levels, ElementsAre(BookLevel{100, 1, 1}));
  EXPECT_EQ(book.Depth(kSell), 12);
  EXPECT_EQ(book.Depth(kBuy), 8);
  EXPECT_EQ(book.order_count(), 5u);
}

// LevelAt looks at the few levels nearest the touch before it
// binary-searches: levels deep in a side, at the edges of that window and
// beyond it, must be found, made and dropped in the same order.
TEST(OrderBookTest, DeepBooksKeepTheirLevelsSortedWhereverOrdersArrive) {
  for (Side side : {kBuy, kSell}) {
    OrderBook book;
    // 40 levels, prices 100..139, added in a scrambled order, 2 orders each.
    uint32_t entry = 0;
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 40; ++i) {
        const int64_t price = 100 + (i * 17) % 40;
        ++entry;
        book.Add({entry, kAlice, side, price, price});
      }
    }
    ASSERT_EQ(book.level_count(side), 40u);
    // Take out both orders of every third level (entries e and e + 40).
    for (uint32_t e = 1; e <= 40; e += 3) {
      EXPECT_GT(book.Remove(e), 0);
      EXPECT_GT(book.Remove(e + 40), 0);
    }
    // Trade one unit off a level deep in the book and off the best.
    const int64_t deep = side == kBuy ? 102 : 138;
    uint32_t deep_entry = 0;
    book.ForEachOrder(side, [&](const OrderBook::Order& o) {
      if (o.price_minor == deep) deep_entry = o.entry;
      return deep_entry == 0;
    });
    ASSERT_NE(deep_entry, 0u);
    book.Reduce(deep_entry, 1);
    book.Reduce(book.Best(side)->entry, 1);

    std::vector<BookLevel> levels;
    book.Levels(side, 100, &levels);
    std::vector<BookLevel> want;
    for (int i = 0; i < 40; ++i) {
      const int64_t price = 100 + (i * 17) % 40;
      if (i % 3 == 0) continue;  // entries i + 1 and i + 41 were removed
      want.push_back({price, 2 * price, 2});
    }
    std::sort(want.begin(), want.end(), [&](const BookLevel& a, const BookLevel& b) {
      return side == kBuy ? a.price_minor > b.price_minor : a.price_minor < b.price_minor;
    });
    want.front().quantity -= 1;
    for (BookLevel& l : want) {
      if (l.price_minor == deep) l.quantity -= 1;
    }
    EXPECT_THAT(levels, ::testing::ElementsAreArray(want)) << SideName(side);
  }
}

TEST(OrderBookTest, RemoveFromTheMiddleKeepsTheQueueAndDropsEmptyLevels) {
  OrderBook book;
  book.Add({1, kAlice, kBuy, 100, 1});
  book.Add({2, kBob, kBuy, 100, 2});
  book.Add({3, kCarol, kBuy, 100, 3});
  book.Add({4, kDave, kBuy, 90, 4});
  EXPECT_EQ(book.Remove(2), 2);
  EXPECT_EQ(book.Remove(2), 0);   // not resting any more
  EXPECT_EQ(book.Remove(42), 0);  // never added
  std::vector<uint32_t> buys;
  book.ForEachOrder(kBuy, [&](const OrderBook::Order& o) {
    buys.push_back(o.entry);
    return true;
  });
  EXPECT_THAT(buys, ElementsAre(1u, 3u, 4u));
  EXPECT_EQ(book.Remove(4), 4);
  EXPECT_EQ(book.level_count(kBuy), 1u);
  book.Reduce(1, 1);  // fully traded: leaves the book
  EXPECT_FALSE(book.Find(1).has_value());
  EXPECT_EQ(book.Best(kBuy)->entry, 3u);
  book.Reduce(3, 2);  // partly traded: keeps its place
  EXPECT_EQ(book.Best(kBuy)->quantity, 1);
  book.Add({5, kErin, kBuy, 100, 9});
  EXPECT_EQ(book.Best(kBuy)->entry, 3u);
  int64_t cleared = 0;
  book.Clear([&](const OrderBook::Order& o) { cleared += o.quantity; });
  EXPECT_EQ(cleared, 10);
  EXPECT_EQ(book.order_count(), 0u);
  EXPECT_FALSE(book.Best(kBuy).has_value());
  EXPECT_EQ(book.Depth(kBuy), 0);
}

// A node packs the quantity into 30 bits beside the side: the largest order
// PlaceBid accepts (10^9 units) and both sides must come back whole, and a
// cleared book must take the same entries again.
TEST(OrderBookTest, OrdersComeBackWholeAtTheLargestQuantity) {
  static_assert(OrderBook::kMaxQuantity >= 1'000'000'000);
  OrderBook book;
  constexpr int64_t kMost = 1'000'000'000;
  book.Add({1, kAlice, kBuy, 100, kMost});
  book.Add({2, kBob, kSell, std::numeric_limits<int64_t>::max() / 4, kMost - 1});
  const std::optional<OrderBook::Order> buy = book.Find(1);
  ASSERT_TRUE(buy.has_value());
  EXPECT_EQ(buy->entry, 1u);
  EXPECT_EQ(buy->owner, kAlice);
  EXPECT_EQ(buy->side, kBuy);
  EXPECT_EQ(buy->price_minor, 100);
  EXPECT_EQ(buy->quantity, kMost);
  const std::optional<OrderBook::Order> sell = book.Best(kSell);
  ASSERT_TRUE(sell.has_value());
  EXPECT_EQ(sell->owner, kBob);
  EXPECT_EQ(sell->side, kSell);
  EXPECT_EQ(sell->price_minor, std::numeric_limits<int64_t>::max() / 4);
  EXPECT_EQ(sell->quantity, kMost - 1);
  EXPECT_EQ(book.Depth(kBuy) + book.Depth(kSell), 2 * kMost - 1);
  book.Reduce(1, kMost - 1);
  EXPECT_EQ(book.Find(1)->quantity, 1);
  int64_t cleared = 0;
  book.Clear([&](const OrderBook::Order& o) { cleared += o.quantity; });
  EXPECT_EQ(cleared, kMost);
  EXPECT_FALSE(book.Find(1).has_value());
  EXPECT_FALSE(book.Find(2).has_value());
  EXPECT_EQ(book.Remove(2), 0);
  book.Add({2, kCarol, kBuy, 7, 3});  // a cleared node is free again
  EXPECT_EQ(book.Best(kBuy)->owner, kCarol);
  EXPECT_EQ(book.Best(kBuy)->quantity, 3);
  EXPECT_FALSE(book.Best(kSell).has_value());
}

// ---------------------------------------------------------------------------
// DOUBLE_CONTINUOUS matching, as sequences of orders (table-driven). Each
// step is one order; fills name the earlier step whose order was met.

struct ExpectedFill {
  int counter_step;
  int64_t price;
  int64_t quantity;
};

struct OrderStep {
  PrincipalId who;
  Side side;
  int64_t quantity;
  int64_t price;
  bool ioc;
  std::vector<ExpectedFill> fills;
};

struct MatchCase {
  const char* name;
  std::vector<OrderStep> steps;
  std::vector<BookLevel> buys;  // the book afterwards, best first
  std::vector<BookLevel> sells;
  int64_t last_price;
};

const MatchCase kMatchCases[] = {
    {"NoCrossBothRest",
     {{kAlice, kBuy, 5, 99, false, {}}, {kBob, kSell, 5, 100, false, {}}},
     {{99, 5, 1}},
     {{100, 5, 1}},
     0},
    {"BetterPriceTradesFirst",
     {{kAlice, kSell, 1, 105, false, {}},
      {kBob, kSell, 1, 101, false, {}},
      {kCarol, kSell, 1, 103, false, {}},
      {kDave, kBuy, 2, 110, false, {{1, 101, 1}, {2, 103, 1}}}},
     {},
     {{105, 1, 1}},
     103},
    {"EarlierOrderAtTheSamePriceTradesFirst",
     {{kAlice, kSell, 1, 100, false, {}},
      {kBob, kSell, 1, 100, false, {}},
      {kCarol, kBuy, 1, 100, false, {{0, 100, 1}}}},
     {},
     {{100, 1, 1}},
     100},
    {"PartialFillsAcrossLevelsThenTheRestRests",
     {{kAlice, kSell, 3, 100, false, {}},
      {kBob, kSell, 2, 101, false, {}},
      {kCarol, kSell, 5, 102, false, {}},
      {kDave, kBuy, 7, 101, false, {{0, 100, 3}, {1, 101, 2}}}},
     {{101, 2, 1}},
     {{102, 5, 1}},
     101},
    {"TradeIsAtTheRestingOrdersPriceForABuyer",
     {{kAlice, kSell, 5, 100, false, {}}, {kBob, kBuy, 5, 120, false, {{0, 100, 5}}}},
     {},
     {},
     100},
    {"TradeIsAtTheRestingOrdersPriceForASeller",
     {{kAlice, kBuy, 5, 120, false, {}}, {kBob, kSell, 5, 100, false, {{0, 120, 5}}}},
     {},
     {},
     120},
    {"IncomingSellWalksTheBidsDown",
     {{kAlice, kBuy, 1, 100, false, {}},
      {kBob, kBuy, 1, 99, false, {}},
      {kCarol, kBuy, 1, 98, false, {}},
      {kDave, kSell, 3, 99, false, {{0, 100, 1}, {1, 99, 1}}}},
     {{98, 1, 1}},
     {{99, 1, 1}},
     99},
    {"ImmediateOrCancelRemainderIsCancelled",
     {{kAlice, kSell, 2, 100, false, {}}, {kBob, kBuy, 5, 100, true, {{0, 100, 2}}}},
     {},
     {},
     100},
    {"ImmediateOrCancelThatCannotTradeLeavesNothing",
     {{kAlice, kSell, 2, 101, false, {}}, {kBob, kBuy, 5, 100, true, {}}},
     {},
     {{101, 2, 1}},
     0},
    {"PartlyTradedRestingOrderKeepsItsPlace",
     {{kAlice, kSell, 5, 100, false, {}},
      {kBob, kSell, 5, 100, false, {}},
      {kCarol, kBuy, 2, 100, false, {{0, 100, 2}}},
      {kDave, kBuy, 4, 100, false, {{0, 100, 3}, {1, 100, 1}}}},
     {},
     {{100, 4, 1}},
     100},
    {"SelfTradeCancelsTheRestingOrderAndMatchingGoesOn",
     {{kAlice, kSell, 2, 100, false, {}},
      {kBob, kSell, 3, 101, false, {}},
      {kAlice, kBuy, 4, 101, false, {{1, 101, 3}}}},
     {{101, 1, 1}},
     {},
     101},
    {"SelfTradeBehindAnotherOwnersOrderAtTheSameLevel",
     {{kBob, kSell, 1, 100, false, {}},
      {kAlice, kSell, 2, 100, false, {}},
      {kCarol, kSell, 2, 100, false, {}},
      {kAlice, kBuy, 3, 100, false, {{0, 100, 1}, {2, 100, 2}}}},
     {},
     {},
     100},
    {"SelfTradeWithNothingElseToMeetRests",
     {{kAlice, kBuy, 2, 100, false, {}}, {kAlice, kSell, 2, 90, false, {}}},
     {},
     {{90, 2, 1}},
     0},
    // docs/FORMATS.md, "DOUBLE_CONTINUOUS" example.
    {"FormatsDocWorkedExample",
     {{kAlice, kSell, 5, 1000, false, {}},
      {kBob, kSell, 3, 1020, false, {}},
      {kCarol, kBuy, 7, 1020, false, {{0, 1000, 5}, {1, 1020, 2}}},
      {kDave, kBuy, 4, 990, true, {}},
      {kBob, kBuy, 2, 1050, false, {}},
      {kCarol, kSell, 3, 1000, false, {{4, 1050, 2}}}},
     {},
     {{1000, 1, 1}},
     1050},
};

class ContinuousMatchTest : public ::testing::TestWithParam<MatchCase>, protected DoubleHarness {};

TEST_P(ContinuousMatchTest, FillsAndBookFollowPriceTimePriority) {
  const MatchCase& c = GetParam();
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  std::vector<uint32_t> entries;
  for (size_t i = 0; i < c.steps.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("step ", i));
    const OrderStep& s = c.steps[i];
    const BidResult r = Order(id, s.who, s.side, s.quantity, s.price, s.ioc);
    ASSERT_EQ(r.reason, RejectReason::kNone) << r.message;
    entries.push_back(r.entry);
    ASSERT_EQ(r.fills.size(), s.fills.size());
    int64_t filled = 0;
    for (size_t f = 0; f < s.fills.size(); ++f) {
      EXPECT_EQ(r.fills[f].counter_entry, entries[s.fills[f].counter_step]) << "fill " << f;
      EXPECT_EQ(r.fills[f].price_minor, s.fills[f].price) << "fill " << f;
      EXPECT_EQ(r.fills[f].quantity, s.fills[f].quantity) << "fill " << f;
      filled += s.fills[f].quantity;
    }
    EXPECT_EQ(r.leading, filled == s.quantity);  // leading: filled in full at once
  }
  const AuctionView v = View(id);
  EXPECT_EQ(v.buy_levels, c.buys);
  EXPECT_EQ(v.sell_levels, c.sells);
  EXPECT_EQ(v.current_price_minor, c.last_price);
  // Every order's quantity is accounted for.
  for (uint32_t entry : entries) {
    const DoubleAuction::OrderStatus st = Status(id, entry);
    EXPECT_EQ(st.traded + st.resting + st.cancelled, st.quantity) << "entry " << entry;
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, ContinuousMatchTest, ::testing::ValuesIn(kMatchCases),
                         [](const ::testing::TestParamInfo<MatchCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(ContinuousTest, SelfTradePreventionCancelsTheRestingOrderNotTheIncoming) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  const BidResult own = Order(id, kAlice, kSell, 2, 100);
  const BidResult incoming = Order(id, kAlice, kBuy, 2, 100);
  EXPECT_TRUE(incoming.fills.empty());
  EXPECT_EQ(Status(id, own.entry).cancelled, 2);
  EXPECT_EQ(Status(id, incoming.entry).resting, 2);
  EXPECT_TRUE(Events(AuctionEvent::Kind::kTrade).empty());
}

TEST_F(ContinuousTest, FillsAreInTheResultAndTradeEventsFollowTheAcceptanceInOrder) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  const BidResult a = Order(id, kAlice, kSell, 2, 100);
  const BidResult b = Order(id, kBob, kSell, 3, 101);
  const size_t before = listener_.events.size();
  const BidResult c = Order(id, kCarol, kBuy, 4, 105);
  ASSERT_EQ(c.fills.size(), 2u);
  EXPECT_EQ(c.current_price_minor, 101);
  EXPECT_TRUE(c.leading);  // filled in full

  ASSERT_EQ(listener_.events.size(), before + 3);
  const AuctionEvent& accepted = listener_.events[before];
  EXPECT_EQ(accepted.kind, AuctionEvent::Kind::kBidAccepted);
  EXPECT_EQ(accepted.bid_entry, c.entry);
  EXPECT_EQ(accepted.sequence, c.sequence);
  const std::string aid = FormatAuctionId(id);
  struct Want {
    uint32_t sell_entry;
    std::string seller;
    int64_t price;
    int64_t quantity;
  };
  const Want want[] = {{a.entry, "alice", 100, 2}, {b.entry, "bob", 101, 2}};
  for (int i = 0; i < 2; ++i) {
    const AuctionEvent& e = listener_.events[before + 1 + i];
    ASSERT_EQ(e.kind, AuctionEvent::Kind::kTrade);
    EXPECT_EQ(e.sequence, accepted.sequence + 1 + i);
    EXPECT_EQ(e.buy_entry(), c.entry);
    EXPECT_EQ(e.sell_entry(), want[i].sell_entry);
    EXPECT_EQ(names_.Name(e.buyer), "carol");
    EXPECT_EQ(names_.Name(e.seller), want[i].seller);
    EXPECT_EQ(e.price_minor, want[i].price);
    EXPECT_EQ(e.quantity, want[i].quantity);
    EXPECT_EQ(c.fills[i].counter_entry, want[i].sell_entry);
    EXPECT_EQ(c.fills[i].price_minor, want[i].price);
    EXPECT_EQ(c.fills[i].quantity, want[i].quantity);
  }
}

// The format names a trade's two orders by bid log entry (the engine and
// the watchers make bid ids from them), for any auction id and entry.
// Through the engine (the format reads each order's owner, side and limit
// from its bid log entry): a trade event names the incoming and the resting
// order by entry, including past one- and two-digit entries.
TEST_F(ContinuousTest, TradeEventsNameBothOrdersByEntry) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  uint32_t entry = 0;
  for (uint32_t target : {1u, 9u, 99u, 1001u}) {
    // Orders far from the touch fill the log up to the target.
    while (entry + 1 < target) entry = Order(id, kCarol, kBuy, 1, 1).entry;
    const BidResult sell = Order(id, kAlice, kSell, 1, 100);
    ASSERT_EQ(sell.entry, target);
    const BidResult buy = Order(id, kBob, kBuy, 1, 100);
    ASSERT_EQ(buy.fills.size(), 1u);
    entry = buy.entry;
    const std::vector<AuctionEvent> trades = Events(AuctionEvent::Kind::kTrade);
    ASSERT_FALSE(trades.empty());
    EXPECT_EQ(trades.back().bid_entry, target + 1);  // the incoming order
    EXPECT_EQ(trades.back().counter_entry, target);  // the resting one
  }
}

TEST(BidIdTest, FormatBidIdReadsBackThroughParseBidId) {
  for (AuctionId id :
       {AuctionId{1}, AuctionId{9}, AuctionId{10}, AuctionId{1234567}, ~AuctionId{0}}) {
    for (uint32_t entry : {1u, 9u, 10u, 99999u, ~0u}) {
      const std::string text = FormatBidId(id, entry);
      EXPECT_EQ(text, absl::StrCat("A", id, "-", entry));
      AuctionId got_id = 0;
      uint32_t got_entry = 0;
      ASSERT_TRUE(ParseBidId(text, "bid_id", &got_id, &got_entry).ok()) << text;
      EXPECT_EQ(got_id, id);
      EXPECT_EQ(got_entry, entry);
    }
  }
}

// Each id has one spelling, the one Format*Id writes: other spellings of
// the same number (a leading zero, a sign, spaces) are refused, not read.
TEST(BidIdTest, OnlyTheCanonicalSpellingIsAnId) {
  for (const char* text :
       {"A03", "A3 ", " A3", "A+3", "A-3", "A", "a3", "A3x", "A00", "A18446744073709551616"}) {
    absl::StatusOr<AuctionId> got = ParseAuctionId(text);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(got.status().message()), ::testing::HasSubstr("is not an auction id"))
        << text;
  }
  EXPECT_EQ(*ParseAuctionId("A30"), 30u);
  for (const char* text :
       {"A3-05", "A3- 5", "A3-+5", "A3-5 ", "A03-5", "A3-0", "A3-", "A3", "A3-4294967296"}) {
    AuctionId id = 0;
    uint32_t entry = 0;
    absl::Status st = ParseBidId(text, "bid_id", &id, &entry);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("is not a bid id")) << text;
  }
}

// Trades are not stored as events: ForEachEvent rebuilds them (and every
// bid_accepted) from the bid log and the format's fills. From any starting
// sequence they must be exactly what the listener saw, across buys and
// sells hitting several levels, a self-trade cancellation, a rejected order,
// an IOC remainder, a cancel and the close.
TEST_F(ContinuousTest, HistoryReplaysExactlyThePublishedTrades) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  const absl::Time t1 = kT0 + absl::Microseconds(1500);
  Order(id, kAlice, kSell, 2, 100, false, t1);
  Order(id, kBob, kSell, 3, 101, false, t1);
  Order(id, kCarol, kBuy, 4, 105, false, t1 + absl::Nanoseconds(700));  // 2 trades
  Order(id, kDave, kBuy, 5, 99, false, t1 + absl::Seconds(1));
  Order(id, kDave, kBuy, 1, 98, false, t1 + absl::Seconds(2));
  Order(id, kBob, kSell, 7, 98, true, t1 + absl::Seconds(3));  // sells into 2 levels, IOC rest
  const BidResult rest = Order(id, kAlice, kBuy, 2, 97, false, t1 + absl::Seconds(4));
  Order(id, kAlice, kSell, 1, 97, false, t1 + absl::Seconds(5));  // self-trade: rests
  ASSERT_FALSE(TryOrder(id, kCarol, kBuy, 0, 100).ok());          // invalid: never logged
  ASSERT_TRUE(engine_.CancelBid(kAlice, id, rest.entry, t1 + absl::Seconds(6)).ok());
  Order(id, kCarol, kBuy, 1, 200, false, t1 + absl::Seconds(7));
  engine_.AdvanceTo(kEnd + absl::Minutes(1));

  std::vector<AuctionEvent> published;
  for (const AuctionEvent& e : listener_.events) {
    if (e.auction_id == id) published.push_back(e);
  }
  size_t trades = 0;
  for (const AuctionEvent& e : published) trades += e.kind == AuctionEvent::Kind::kTrade;
  ASSERT_EQ(trades, 5u);
  ASSERT_EQ(published.back().kind, AuctionEvent::Kind::kClosed);
  ExpectHistoryReplaysPublished(*engine_.Find(id), published);
}

TEST_F(ContinuousTest, RepeatedClientBidIdReplaysTheSameFillsAndChangesNothing) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  Order(id, kAlice, kSell, 2, 100);
  Order(id, kBob, kSell, 2, 101);
  absl::StatusOr<BidResult> first = TryOrder(id, kCarol, kBuy, 3, 101, false, kT0, "carol-1");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->fills.size(), 2u);
  const size_t events = listener_.events.size();
  // Later trades by others must not leak into the replayed answer.
  Order(id, kDave, kBuy, 1, 101);
  absl::StatusOr<BidResult> again =
      TryOrder(id, kCarol, kBuy, 9, 999, false, kT0 + absl::Minutes(1), "carol-1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->entry, first->entry);
  EXPECT_EQ(again->sequence, first->sequence);
  ASSERT_EQ(again->fills.size(), first->fills.size());
  for (size_t i = 0; i < first->fills.size(); ++i) {
    EXPECT_EQ(again->fills[i].counter_entry, first->fills[i].counter_entry);
    EXPECT_EQ(again->fills[i].price_minor, first->fills[i].price_minor);
    EXPECT_EQ(again->fills[i].quantity, first->fills[i].quantity);
  }
  EXPECT_EQ(listener_.events.size(), events + 2);  // only dave's acceptance and trade
}

TEST_F(ContinuousTest, CancelByOwnerOtherAfterFillAndTwice) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  const BidResult resting = Order(id, kAlice, kSell, 5, 100);
  const BidResult partly = Order(id, kBob, kSell, 4, 101);
  const BidResult filled = Order(id, kCarol, kSell, 1, 102);
  Order(id, kDave, kBuy, 7, 101);  // alice's 5 at 100, then 2 of bob's 4 at 101
  Order(id, kErin, kBuy, 1, 102);  // 1 more of bob's at 101, the best sell
  EXPECT_EQ(Status(id, partly.entry).resting, 1);

  struct Case {
    const char* name;
    PrincipalId who;
    uint32_t entry;
    absl::StatusCode code;
    int64_t cancelled;
  };
  const Case cases[] = {
      {"another bidder's order", kBob, filled.entry, absl::StatusCode::kPermissionDenied, 0},
      {"own, partly traded", kBob, partly.entry, absl::StatusCode::kOk, 1},
      {"own, cancelled already", kBob, partly.entry, absl::StatusCode::kOk, 0},
      {"own, fully traded", kAlice, resting.entry, absl::StatusCode::kOk, 0},
      {"own, resting in full", kCarol, filled.entry, absl::StatusCode::kOk, 1},
      {"no such bid", kCarol, 99, absl::StatusCode::kNotFound, 0},
  };
  for (const Case& c : cases) {
    absl::StatusOr<int64_t> r = engine_.CancelBid(c.who, id, c.entry, kT0 + absl::Minutes(1));
    EXPECT_EQ(r.status().code(), c.code) << c.name << ": " << r.status();
    if (r.ok()) {
      EXPECT_EQ(*r, c.cancelled) << c.name;
    }
  }
  const DoubleAuction::OrderStatus bob = Status(id, partly.entry);
  EXPECT_EQ(bob.traded, 3);
  EXPECT_EQ(bob.cancelled, 1);
  EXPECT_EQ(bob.resting, 0);
  EXPECT_TRUE(View(id).sell_levels.empty());
}

TEST_F(ContinuousTest, CancelOfARejectedBidIsNotFound) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  const BidResult self = Order(id, kSeller, kSell, 1, 100);
  EXPECT_EQ(self.reason, RejectReason::kSelfBid);
  absl::StatusOr<int64_t> r = engine_.CancelBid(kSeller, id, self.entry, kT0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
}

TEST_F(ContinuousTest, RestingOrdersAreCancelledAtTheCloseAndTradesSettleInOrder) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  const BidResult a = Order(id, kAlice, kSell, 3, 100);
  const BidResult b = Order(id, kBob, kBuy, 2, 101, false, kT0 + absl::Minutes(1));
  const BidResult c = Order(id, kCarol, kSell, 4, 99, false, kT0 + absl::Minutes(2));
  const BidResult d = Order(id, kDave, kBuy, 5, 100, false, kT0 + absl::Minutes(3));
  // bob took 2 of alice's 3 at 100, so carol's 4 at 99 rested; dave takes
  // carol's 4 at 99 (the best sell) and alice's last at 100.
  ASSERT_EQ(d.fills.size(), 2u);
  EXPECT_EQ(d.fills[0].counter_entry, c.entry);
  EXPECT_EQ(d.fills[0].quantity, 4);
  EXPECT_EQ(d.fills[1].counter_entry, a.entry);
  EXPECT_EQ(d.fills[1].quantity, 1);
  const BidResult e = Order(id, kErin, kBuy, 6, 90, false, kT0 + absl::Minutes(4));

  engine_.AdvanceTo(kEnd);
  const AuctionView v = View(id);
  EXPECT_EQ(v.state, AuctionState::kClosed);
  EXPECT_TRUE(v.buy_levels.empty());
  EXPECT_TRUE(v.sell_levels.empty());
  EXPECT_EQ(Status(id, e.entry).cancelled, 6);
  EXPECT_EQ(Status(id, a.entry).traded, 3);
  EXPECT_EQ(Status(id, a.entry).cancelled, 0);

  std::shared_ptr<const Settlement> s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->outcome, SettlementOutcome::kSold);
  EXPECT_EQ(s->clearing_price_minor, 0);
  EXPECT_TRUE(s->winners.empty());
  ASSERT_EQ(s->trades.size(), 3u);
  const auto bid = [&](const BidResult& r) { return FormatBidId(id, r.entry); };
  EXPECT_EQ(s->trades[0].buy_bid_id, bid(b));
  EXPECT_EQ(s->trades[0].sell_bid_id, bid(a));
  EXPECT_EQ(s->trades[0].buyer_id, "bob");
  EXPECT_EQ(s->trades[0].seller_id, "alice");
  EXPECT_EQ(s->trades[0].price_minor, 100);
  EXPECT_EQ(s->trades[0].quantity, 2);
  EXPECT_EQ(s->trades[1].sell_bid_id, bid(c));
  EXPECT_EQ(s->trades[1].price_minor, 99);
  EXPECT_EQ(s->trades[1].quantity, 4);
  EXPECT_EQ(s->trades[2].buy_bid_id, bid(d));
  EXPECT_EQ(s->trades[2].sell_bid_id, bid(a));
  EXPECT_EQ(s->trades[2].price_minor, 100);
  EXPECT_EQ(s->trades[2].quantity, 1);
  // The bid log lists every order with its side.
  ASSERT_EQ(s->bids.size(), 5u);
  EXPECT_EQ(s->bids[0].side, kSell);
  EXPECT_EQ(s->bids[1].side, kBuy);

  absl::StatusOr<int64_t> late = engine_.CancelBid(kErin, id, e.entry, kEnd);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ContinuousTest, NoTradeSettlesUnsoldNoBids) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  Order(id, kAlice, kSell, 3, 100);
  Order(id, kBob, kBuy, 3, 99);
  engine_.AdvanceTo(kEnd);
  std::shared_ptr<const Settlement> s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->outcome, SettlementOutcome::kUnsoldNoBids);
  EXPECT_TRUE(s->trades.empty());
}

TEST_F(ContinuousTest, OrderAtOrAfterTheEndIsRefused) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  const BidResult r = Order(id, kAlice, kSell, 3, 100, false, kEnd);
  EXPECT_EQ(r.reason, RejectReason::kAuctionClosed);
}

// ---------------------------------------------------------------------------
// Requests and specs a double auction refuses.

TEST_F(ContinuousTest, OrderWithoutASideIsInvalid) {
  for (Format f : {Format::kDoubleContinuous, Format::kDoubleCall}) {
    const AuctionId id = Create(DoubleSpec(f));
    absl::StatusOr<BidResult> r = TryOrder(id, kAlice, Side::kNone, 1, 100);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("side"));
    EXPECT_TRUE(DoubleOf(id).bids().empty());
  }
}

TEST_F(CallTest, ImmediateOrCancelInACallMarketIsInvalid) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall));
  absl::StatusOr<BidResult> r = TryOrder(id, kAlice, kBuy, 1, 100, /*ioc=*/true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("immediate_or_cancel"));
}

TEST_F(ContinuousTest, SellerMayNotTrade) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleContinuous));
  Order(id, kAlice, kBuy, 1, 100);
  const BidResult r = Order(id, kSeller, kSell, 1, 100);
  EXPECT_EQ(r.reason, RejectReason::kSelfBid);
  EXPECT_TRUE(r.fills.empty());
  EXPECT_TRUE(Events(AuctionEvent::Kind::kTrade).empty());
}

struct SpecCase {
  const char* name;
  void (*mutate)(AuctionSpec*);
  const char* field;
};

const SpecCase kSpecCases[] = {
    {"Quantity", [](AuctionSpec* s) { s->quantity = 10; }, "quantity"},
    {"Reserve", [](AuctionSpec* s) { s->reserve_price_minor = 500; }, "reserve_price_minor"},
    {"BuyNow", [](AuctionSpec* s) { s->buy_now_price_minor = 500; }, "buy_now_price_minor"},
    {"SoftClose",
     [](AuctionSpec* s) {
       s->soft_close = {true, absl::Minutes(1), absl::Minutes(1), absl::Minutes(5)};
     },
     "soft_close"},
    {"DutchClock", [](AuctionSpec* s) { s->dutch.decrement_minor = 5; }, "dutch"},
    {"IncrementTable",
     [](AuctionSpec* s) {
       s->increment_table = {{0, 5}};
     },
     "increment_table"},
    {"NoReferencePrice", [](AuctionSpec* s) { s->start_price_minor = 0; }, "start_price_minor"},
};

class DoubleSpecTest : public ::testing::TestWithParam<std::tuple<Format, SpecCase>>,
                       protected DoubleHarness {};

TEST_P(DoubleSpecTest, FieldThatDoesNotApplyIsInvalidAndNamed) {
  const auto& [format, c] = GetParam();
  AuctionSpec spec = DoubleSpec(format);
  c.mutate(&spec);
  absl::StatusOr<AuctionView> v = engine_.CreateAuction(kSeller, "r", spec, kT0);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << v.status();
  EXPECT_THAT(std::string(v.status().message()), ::testing::StartsWith(c.field));
  EXPECT_EQ(engine_.auction_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Validation, DoubleSpecTest,
                         ::testing::Combine(::testing::Values(Format::kDoubleContinuous,
                                                              Format::kDoubleCall),
                                            ::testing::ValuesIn(kSpecCases)),
                         [](const ::testing::TestParamInfo<std::tuple<Format, SpecCase>>& info) {
                           return absl::StrCat(FormatName(std::get<0>(info.param)), "_",
                                               std::get<1>(info.param).name);
                         });

TEST_F(ContinuousTest, ValidSpecsCreateBothFormats) {
  for (Format f : {Format::kDoubleContinuous, Format::kDoubleCall}) {
    const AuctionId id = Create(DoubleSpec(f));
    const AuctionView v = View(id);
    EXPECT_EQ(v.state, AuctionState::kOpen);
    EXPECT_EQ(v.spec.format, f);
    EXPECT_EQ(v.next_minimum_bid_minor, 0);
    EXPECT_EQ(v.leader, kNoPrincipal);
  }
}

// ---------------------------------------------------------------------------
// DOUBLE_CALL: the clearing price, rule by rule (table-driven). Each case
// is built so that the earlier rules tie and the named rule decides.

struct CallOrder {
  Side side;
  int64_t quantity;
  int64_t price;
};

struct ClearingCase {
  const char* name;
  int64_t reference;
  std::vector<CallOrder> orders;
  int64_t price;   // p*
  int64_t volume;  // executed at p*
};

const ClearingCase kClearingCases[] = {
    // Candidates 100 (volume 0), 102 (6), 103 (0): the reference is ignored.
    {"Rule1MaximumVolume",
     100,
     {{kBuy, 6, 102}, {kBuy, 4, 100}, {kSell, 6, 102}, {kSell, 3, 103}},
     102,
     6},
    // 101 and 103 both execute 5; surplus 0 at 101, 2 at 103 (the reference).
    {"Rule2MinimumSurplus", 103, {{kBuy, 5, 103}, {kSell, 5, 101}, {kSell, 2, 103}}, 101, 5},
    // 101 and 102 execute 5 with buy surplus 5 (103, 104: sell surplus 8):
    // the highest, though the reference is 101.
    {"Rule3BuyPressureTakesTheHighest",
     101,
     {{kBuy, 5, 104}, {kBuy, 5, 102}, {kSell, 5, 101}, {kSell, 8, 103}},
     102,
     5},
    // 103 and 104 execute 5 with sell surplus 5 (101, 102: buy surplus 8):
    // the lowest, though the reference is 104.
    {"Rule3SellPressureTakesTheLowest",
     104,
     {{kSell, 5, 101}, {kSell, 5, 103}, {kBuy, 5, 104}, {kBuy, 8, 102}},
     103,
     5},
    // 101 and 104: volume 5, surplus 0 at both: the nearer the reference.
    {"Rule4NearestTheReferenceAbove", 103, {{kBuy, 5, 104}, {kSell, 5, 101}}, 104, 5},
    {"Rule4NearestTheReferenceBelow", 102, {{kBuy, 5, 104}, {kSell, 5, 101}}, 101, 5},
    {"Rule4ReferenceFarAbove", 100000, {{kBuy, 5, 104}, {kSell, 5, 101}}, 104, 5},
    {"Rule4ReferenceOnACandidate", 101, {{kBuy, 5, 104}, {kSell, 5, 101}}, 101, 5},
    {"Rule4EqualDistanceTakesTheLower", 250, {{kBuy, 5, 300}, {kSell, 5, 200}}, 200, 5},
    // Surplus +1 at 101 and -1 at 104: no one-sided pressure, so rule 4.
    {"Rule4WhenPressureIsMixed",
     104,
     {{kBuy, 5, 104}, {kBuy, 1, 101}, {kSell, 5, 101}, {kSell, 1, 104}},
     104,
     5},
    {"Rule4WhenPressureIsMixedReferenceBelow",
     90,
     {{kBuy, 5, 104}, {kBuy, 1, 101}, {kSell, 5, 101}, {kSell, 1, 104}},
     101,
     5},
    {"NothingCrossesNothingClears", 100, {{kBuy, 5, 99}, {kSell, 5, 100}}, 0, 0},
    {"OneSidedBookNothingClears", 100, {{kBuy, 5, 99}, {kBuy, 5, 100}}, 0, 0},
    {"AllAtOnePrice", 100, {{kBuy, 7, 100}, {kSell, 4, 100}, {kSell, 1, 100}}, 100, 5},
    // docs/FORMATS.md, "DOUBLE_CALL", rule 4 alone.
    {"FormatsDocRule4Nearer", 1030, {{kBuy, 5, 1040}, {kSell, 5, 1010}}, 1040, 5},
    {"FormatsDocRule4EquallyNear", 1025, {{kBuy, 5, 1040}, {kSell, 5, 1010}}, 1010, 5},
};

class ClearingTest : public ::testing::TestWithParam<ClearingCase>, protected DoubleHarness {};

TEST_P(ClearingTest, ClearingPriceFollowsTheFourRules) {
  const ClearingCase& c = GetParam();
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall, c.reference));
  const PrincipalId traders[] = {kAlice, kBob, kCarol, kDave, kErin, 8, 9, 10};
  for (size_t i = 0; i < c.orders.size(); ++i) {
    const BidResult r =
        Order(id, traders[i], c.orders[i].side, c.orders[i].quantity, c.orders[i].price);
    ASSERT_EQ(r.reason, RejectReason::kNone);
    EXPECT_TRUE(r.fills.empty());
  }
  const AuctionView open = View(id);
  EXPECT_EQ(open.indicative_price_minor, c.price);
  EXPECT_EQ(open.indicative_volume, c.volume);
  EXPECT_EQ(open.current_price_minor, c.price);

  engine_.AdvanceTo(kEnd);
  std::shared_ptr<const Settlement> s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->clearing_price_minor, c.price);
  EXPECT_EQ(s->outcome, c.volume > 0 ? SettlementOutcome::kSold : SettlementOutcome::kUnsoldNoBids);
  int64_t volume = 0;
  for (const TradeRecord& t : s->trades) {
    EXPECT_EQ(t.price_minor, c.price);
    volume += t.quantity;
  }
  EXPECT_EQ(volume, c.volume);
  const std::vector<AuctionEvent> closed = Events(AuctionEvent::Kind::kClosed);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].price_minor, c.price);
}

INSTANTIATE_TEST_SUITE_P(Rules, ClearingTest, ::testing::ValuesIn(kClearingCases),
                         [](const ::testing::TestParamInfo<ClearingCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(CallTest, LongerSideIsRationedByPriceThenTime) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall, 100));
  const BidResult alice = Order(id, kAlice, kBuy, 4, 105);
  const BidResult bob = Order(id, kBob, kBuy, 4, 103, false, kT0 + absl::Seconds(1));
  const BidResult carol = Order(id, kCarol, kBuy, 4, 103, false, kT0 + absl::Seconds(2));
  const BidResult low = Order(id, kErin, kBuy, 4, 90, false, kT0 + absl::Seconds(3));
  const BidResult dave = Order(id, kDave, kSell, 6, 100, false, kT0 + absl::Seconds(4));
  // 100 and 103 both execute 6 with buy surplus 6: the higher, 103.
  EXPECT_EQ(View(id).indicative_price_minor, 103);
  EXPECT_EQ(View(id).indicative_volume, 6);
  EXPECT_TRUE(dave.leading);    // the short side trades in full
  EXPECT_FALSE(alice.leading);  // when alice ordered, nothing crossed

  engine_.AdvanceTo(kEnd);
  std::shared_ptr<const Settlement> s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->outcome, SettlementOutcome::kSold);
  EXPECT_EQ(s->clearing_price_minor, 103);
  ASSERT_EQ(s->trades.size(), 2u);
  EXPECT_EQ(s->trades[0].buy_bid_id, FormatBidId(id, alice.entry));
  EXPECT_EQ(s->trades[0].sell_bid_id, FormatBidId(id, dave.entry));
  EXPECT_EQ(s->trades[0].buyer_id, "alice");
  EXPECT_EQ(s->trades[0].seller_id, "dave");
  EXPECT_EQ(s->trades[0].quantity, 4);
  EXPECT_EQ(s->trades[0].price_minor, 103);
  EXPECT_EQ(s->trades[1].buy_bid_id, FormatBidId(id, bob.entry));
  EXPECT_EQ(s->trades[1].quantity, 2);
  EXPECT_EQ(s->trades[1].price_minor, 103);
  // Carol was as good a price as bob but later: nothing; all else cancelled.
  EXPECT_EQ(Status(id, carol.entry).traded, 0);
  EXPECT_EQ(Status(id, carol.entry).cancelled, 4);
  EXPECT_EQ(Status(id, bob.entry).cancelled, 2);
  EXPECT_EQ(Status(id, low.entry).cancelled, 4);
  EXPECT_EQ(Status(id, dave.entry).traded, 6);
}

// docs/FORMATS.md, "DOUBLE_CALL" example.
TEST_F(CallTest, FormatsDocWorkedExample) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall, 1000));
  struct Step {
    PrincipalId who;
    Side side;
    int64_t quantity;
    int64_t price;
    bool event;
    int64_t indicative_price;
    int64_t indicative_volume;
  };
  const Step steps[] = {
      {kAlice, kBuy, 5, 1050, false, 0, 0},
      {kBob, kSell, 3, 980, true, 1050, 3},
      {kCarol, kSell, 4, 1010, true, 1010, 5},
      {kDave, kBuy, 1, 900, false, 1010, 5},
  };
  std::vector<BidResult> orders;
  for (const Step& s : steps) {
    const size_t before = Events(AuctionEvent::Kind::kIndicative).size();
    orders.push_back(Order(id, s.who, s.side, s.quantity, s.price));
    ASSERT_EQ(Events(AuctionEvent::Kind::kIndicative).size(), before + (s.event ? 1 : 0));
    EXPECT_EQ(View(id).indicative_price_minor, s.indicative_price);
    EXPECT_EQ(View(id).indicative_volume, s.indicative_volume);
  }
  engine_.AdvanceTo(kEnd);
  std::shared_ptr<const Settlement> s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->clearing_price_minor, 1010);
  ASSERT_EQ(s->trades.size(), 2u);
  EXPECT_EQ(s->trades[0].buyer_id, "alice");
  EXPECT_EQ(s->trades[0].seller_id, "bob");
  EXPECT_EQ(s->trades[0].quantity, 3);
  EXPECT_EQ(s->trades[1].buyer_id, "alice");
  EXPECT_EQ(s->trades[1].seller_id, "carol");
  EXPECT_EQ(s->trades[1].quantity, 2);
  EXPECT_EQ(Status(id, orders[2].entry).cancelled, 2);
  EXPECT_EQ(Status(id, orders[3].entry).cancelled, 1);
}

TEST_F(CallTest, ShortSideOrdersAllTradeInFullAndAreSplitAcrossTheLongSide) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall, 100));
  const BidResult s1 = Order(id, kAlice, kSell, 3, 95);
  const BidResult s2 = Order(id, kBob, kSell, 3, 98);
  const BidResult b1 = Order(id, kCarol, kBuy, 2, 101);
  const BidResult b2 = Order(id, kDave, kBuy, 10, 100);
  // Volume 6 at 98 and at 100, each with buy surplus 6: the higher, 100.
  engine_.AdvanceTo(kEnd);
  std::shared_ptr<const Settlement> s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->clearing_price_minor, 100);
  // Pairing walks both sides in priority: (carol, alice, 2), (dave, alice,
  // 1), (dave, bob, 3).
  ASSERT_EQ(s->trades.size(), 3u);
  const auto pair = [&](const TradeRecord& t) {
    return std::make_pair(t.buy_bid_id, t.sell_bid_id);
  };
  EXPECT_EQ(pair(s->trades[0]),
            std::make_pair(FormatBidId(id, b1.entry), FormatBidId(id, s1.entry)));
  EXPECT_EQ(s->trades[0].quantity, 2);
  EXPECT_EQ(pair(s->trades[1]),
            std::make_pair(FormatBidId(id, b2.entry), FormatBidId(id, s1.entry)));
  EXPECT_EQ(s->trades[1].quantity, 1);
  EXPECT_EQ(pair(s->trades[2]),
            std::make_pair(FormatBidId(id, b2.entry), FormatBidId(id, s2.entry)));
  EXPECT_EQ(s->trades[2].quantity, 3);
  EXPECT_EQ(Status(id, b2.entry).traded, 4);
  EXPECT_EQ(Status(id, b2.entry).cancelled, 6);
}

// A call market's orders trade only at the close: an answer resent after it
// (the same key) still has no fills, though the order traded then, and the
// trades are in the settlement. (In DOUBLE_CONTINUOUS the same trades would
// be the later order's fills on arrival; the call market must not take them
// for that.)
TEST_F(CallTest, AnAnswerResentAfterTheCloseHasNoFills) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall, 100));
  Order(id, kAlice, kSell, 3, 95);
  absl::StatusOr<BidResult> buy = TryOrder(id, kCarol, kBuy, 2, 101, false, kT0, "carol-1");
  ASSERT_TRUE(buy.ok());
  EXPECT_TRUE(buy->fills.empty());
  engine_.AdvanceTo(kEnd);
  ASSERT_NE(SettlementOf(id), nullptr);
  ASSERT_EQ(SettlementOf(id)->trades.size(), 1u);
  EXPECT_EQ(Status(id, buy->entry).traded, 2);
  absl::StatusOr<BidResult> again =
      TryOrder(id, kCarol, kBuy, 2, 101, false, kEnd + absl::Minutes(1), "carol-1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->entry, buy->entry);
  EXPECT_TRUE(again->fills.empty());
  std::vector<Fill> fills;
  DoubleOf(id).FillsOf(buy->entry, &fills);
  EXPECT_TRUE(fills.empty());
}

TEST_F(CallTest, NothingTradesBeforeTheCloseAndTheBookMayCross) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall));
  const BidResult sell = Order(id, kAlice, kSell, 5, 90);
  const BidResult buy = Order(id, kBob, kBuy, 5, 110);
  EXPECT_TRUE(buy.fills.empty());
  EXPECT_TRUE(buy.leading);  // it would trade in full at the close
  EXPECT_TRUE(Events(AuctionEvent::Kind::kTrade).empty());
  const AuctionView v = View(id);
  EXPECT_THAT(v.buy_levels, ElementsAre(BookLevel{110, 5, 1}));
  EXPECT_THAT(v.sell_levels, ElementsAre(BookLevel{90, 5, 1}));
  EXPECT_EQ(Status(id, sell.entry).resting, 5);
  // Volume 5 at 90 and 110, surplus 0: nearest the reference 100, the lower.
  EXPECT_EQ(v.indicative_price_minor, 90);
  engine_.AdvanceTo(kEnd);
  EXPECT_TRUE(Events(AuctionEvent::Kind::kTrade).empty());  // trades go with the settlement
  ASSERT_NE(SettlementOf(id), nullptr);
  EXPECT_EQ(SettlementOf(id)->trades.size(), 1u);
  EXPECT_EQ(View(id).current_price_minor, 90);
}

TEST_F(CallTest, IndicativeEventsWhenPriceOrVolumeChangesAfterOrdersAndCancels) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall, 100));
  struct Step {
    const char* what;
    PrincipalId who;
    Side side;  // kNone: cancel the order of step `cancel`
    int64_t quantity;
    int64_t price;
    int cancel;
    bool event;  // an indicative event follows
    int64_t indicative_price;
    int64_t indicative_volume;
  };
  const Step steps[] = {
      {"buy, nothing to cross", kAlice, kBuy, 5, 100, -1, false, 0, 0},
      {"sell crosses", kBob, kSell, 3, 99, -1, true, 100, 3},  // buy surplus: the higher
      {"buy below the market changes nothing", kCarol, kBuy, 1, 90, -1, false, 100, 3},
      {"sell adds volume", kDave, kSell, 2, 100, -1, true, 100, 5},
      {"cancel it again", kDave, Side::kNone, 0, 0, 3, true, 100, 3},
      {"cancel the other side", kBob, Side::kNone, 0, 0, 1, true, 0, 0},
  };
  std::vector<uint32_t> entries;
  for (const Step& s : steps) {
    SCOPED_TRACE(s.what);
    const size_t before = Events(AuctionEvent::Kind::kIndicative).size();
    if (s.side == Side::kNone) {
      absl::StatusOr<int64_t> r = engine_.CancelBid(s.who, id, entries[s.cancel], kT0);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_GT(*r, 0);
      entries.push_back(0);
    } else {
      const BidResult r = Order(id, s.who, s.side, s.quantity, s.price);
      ASSERT_EQ(r.reason, RejectReason::kNone);
      entries.push_back(r.entry);
    }
    const std::vector<AuctionEvent> indicative = Events(AuctionEvent::Kind::kIndicative);
    ASSERT_EQ(indicative.size(), before + (s.event ? 1 : 0));
    if (s.event) {
      EXPECT_EQ(indicative.back().price_minor, s.indicative_price);
      EXPECT_EQ(indicative.back().quantity, s.indicative_volume);
      EXPECT_EQ(indicative.back().sequence, listener_.events.back().sequence);
      EXPECT_EQ(indicative.back().at, kT0);
    }
    EXPECT_EQ(View(id).indicative_price_minor, s.indicative_price);
    EXPECT_EQ(View(id).indicative_volume, s.indicative_volume);
  }
}

TEST_F(CallTest, CancelWorksUntilTheCloseAndTheCancelledOrderDoesNotTrade) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall, 100));
  const BidResult a = Order(id, kAlice, kBuy, 5, 100);
  const BidResult b = Order(id, kBob, kSell, 5, 100);
  EXPECT_EQ(engine_.CancelBid(kBob, id, a.entry, kT0).status().code(),
            absl::StatusCode::kPermissionDenied);
  absl::StatusOr<int64_t> r = engine_.CancelBid(kAlice, id, a.entry, kT0 + absl::Minutes(59));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(*engine_.CancelBid(kAlice, id, a.entry, kT0 + absl::Minutes(59)), 0);
  engine_.AdvanceTo(kEnd);
  std::shared_ptr<const Settlement> s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->outcome, SettlementOutcome::kUnsoldNoBids);
  EXPECT_EQ(s->clearing_price_minor, 0);
  EXPECT_EQ(Status(id, b.entry).cancelled, 5);
  EXPECT_EQ(engine_.CancelBid(kBob, id, b.entry, kEnd).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CallTest, LeadingMeansTheOrderWouldTradeInFullNow) {
  const AuctionId id = Create(DoubleSpec(Format::kDoubleCall, 100));
  EXPECT_FALSE(Order(id, kAlice, kSell, 4, 100).leading);  // nothing to meet
  EXPECT_TRUE(Order(id, kBob, kBuy, 3, 100).leading);      // 3 of the 4 for sale
  EXPECT_FALSE(Order(id, kCarol, kBuy, 3, 100).leading);   // only 1 left for carol
  EXPECT_FALSE(Order(id, kDave, kBuy, 3, 90).leading);     // below the price
  EXPECT_TRUE(Order(id, kErin, kSell, 2, 95).leading);     // sells at 95 come first
}

}  // namespace
}  // namespace gavel
