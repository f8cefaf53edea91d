// The one-sided formats besides ENGLISH, driven through gavel::Engine case by
// case from RULES.md: DUTCH, SEALED_FIRST_PRICE, SEALED_SECOND_PRICE,
// MULTI_UNIT_UNIFORM, MULTI_UNIT_PAY_AS_BID, REVERSE_ENGLISH and
// REVERSE_SEALED, with fixed times. Every tie-break and edge of the rules
// has a case here.
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/auction.h"
#include "engine/dutch.h"
#include "engine/engine.h"
#include "engine/money.h"
#include "engine/settlement.h"
#include "engine/types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace gavel {
namespace {

using ::gavel::testing::FakePrincipalNames;
using ::gavel::testing::kAlice;
using ::gavel::testing::kBob;
using ::gavel::testing::kCarol;
using ::gavel::testing::kDave;
using ::gavel::testing::kSeller;
using ::gavel::testing::kT0;
using ::gavel::testing::RecordingListener;
using ::testing::StartsWith;

constexpr RejectReason kOk = RejectReason::kNone;
constexpr RejectReason kTooLow = RejectReason::kBidTooLow;
constexpr RejectReason kNotImproving = RejectReason::kBidNotImproving;
constexpr RejectReason kNoQuantity = RejectReason::kQuantityUnavailable;

const absl::Time kEnd = kT0 + absl::Hours(1);

AuctionSpec BaseSpec(Format format) {
  AuctionSpec s;
  s.title = "Crate of tulip bulbs";
  s.category = "garden";
  s.format = format;
  s.currency = "EUR";
  s.quantity = 1;
  s.start_price_minor = 1000;
  s.starts_at = kT0;
  s.ends_at = kEnd;
  return s;
}

// DUTCH: 100.00 EUR, -5.00 EUR every 10 s, floor 40.00 EUR, one hour.
AuctionSpec DutchSpec(int64_t quantity = 1) {
  AuctionSpec s = BaseSpec(Format::kDutch);
  s.quantity = quantity;
  s.start_price_minor = 10000;
  s.dutch = {500, absl::Seconds(10), 4000};
  return s;
}

// Sealed single unit: start 10.00 EUR.
AuctionSpec SealedSpec(Format format, int64_t reserve = 0) {
  AuctionSpec s = BaseSpec(format);
  s.reserve_price_minor = reserve;
  return s;
}

AuctionSpec MultiSpec(Format format, int64_t quantity, int64_t reserve = 0) {
  AuctionSpec s = BaseSpec(format);
  s.quantity = quantity;
  s.reserve_price_minor = reserve;
  return s;
}

// Reverse: the buyer opens at 100.00 EUR.
AuctionSpec ReverseSpec(Format format, int64_t ceiling = 0) {
  AuctionSpec s = BaseSpec(format);
  s.start_price_minor = 10000;
  s.reserve_price_minor = ceiling;
  return s;
}

// `s` moved to run for an hour from `base`: the engine's time never goes
// back, so a test running several auctions one after another gives each its
// own hour.
AuctionSpec At(AuctionSpec s, absl::Time base) {
  s.starts_at = base;
  s.ends_at = base + absl::Hours(1);
  return s;
}

// One engine with fake names and a recording listener, plus shorthands.
class OneSidedTest : public ::testing::Test {
 protected:
  AuctionId Create(AuctionSpec spec, absl::Time now = kT0) {
    absl::StatusOr<AuctionView> view =
        engine_.CreateAuction(kSeller, absl::StrCat("create-", ++creates_), std::move(spec), now);
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? view->auction_id : 0;
  }

  absl::StatusOr<BidResult> TryBid(AuctionId id, PrincipalId bidder, int64_t amount,
                                   int64_t quantity, absl::Time at, const std::string& key) {
    PlaceBidCommand cmd;
    cmd.auction_id = id;
    cmd.bidder = bidder;
    cmd.client_bid_id = key;
    cmd.amount_minor = amount;
    cmd.quantity = quantity;
    return engine_.PlaceBid(cmd, at);
  }

  // A bid with a fresh client_bid_id that the engine must answer.
  BidResult Bid(AuctionId id, PrincipalId bidder, int64_t amount, absl::Time at = kT0,
                int64_t quantity = 1) {
    absl::StatusOr<BidResult> r =
        TryBid(id, bidder, amount, quantity, at, absl::StrCat("bid-", ++bids_));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : BidResult{};
  }

  AuctionView View(AuctionId id, bool public_view = false) const {
    absl::StatusOr<AuctionView> v = engine_.GetAuction(id, public_view);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : AuctionView{};
  }

  std::shared_ptr<const Settlement> SettlementOf(AuctionId id) const {
    for (const auto& s : listener_.settlements) {
      if (s->auction_id == FormatAuctionId(id)) return s;
    }
    return nullptr;
  }

  // Closes `id` at its end and returns its settlement.
  std::shared_ptr<const Settlement> CloseAtEnd(AuctionId id) {
    engine_.AdvanceTo(View(id).ends_at);
    std::shared_ptr<const Settlement> s = SettlementOf(id);
    EXPECT_NE(s, nullptr);
    return s;
  }

  std::vector<AuctionEvent> EventsOf(AuctionId id, AuctionEvent::Kind kind) const {
    std::vector<AuctionEvent> out;
    for (const AuctionEvent& e : listener_.events) {
      if (e.auction_id == id && e.kind == kind) out.push_back(e);
    }
    return out;
  }

  FakePrincipalNames names_;
  RecordingListener listener_;
  Engine engine_{EngineOptions{}, &names_, &listener_};
  int creates_ = 0;
  int bids_ = 0;
};

// The winners of a settlement, as comparable values.
struct Won {
  std::string bidder;
  int64_t quantity;
  int64_t price;
  bool operator==(const Won& o) const {
    return bidder == o.bidder && quantity == o.quantity && price == o.price;
  }
};

void PrintTo(const Won& w, std::ostream* os) {
  *os << "{" << w.bidder << ", " << w.quantity << " at " << w.price << "}";
}

std::vector<Won> WinnersOf(const Settlement& s) {
  std::vector<Won> out;
  for (const Winner& w : s.winners) out.push_back({w.bidder_id, w.quantity, w.price_minor});
  return out;
}

// ===========================================================================
// Validation: InvalidArgument naming the field, per format.

struct InvalidSpecCase {
  const char* name;
  AuctionSpec (*make)();
  const char* field;  // the message starts with it
};

const InvalidSpecCase kInvalidSpecs[] = {
    {"DutchWithoutDecrement",
     [] {
       AuctionSpec s = DutchSpec();
       s.dutch.decrement_minor = 0;
       return s;
     },
     "dutch.decrement_minor"},
    {"DutchNegativeDecrement",
     [] {
       AuctionSpec s = DutchSpec();
       s.dutch.decrement_minor = -500;
       return s;
     },
     "dutch.decrement_minor"},
    {"DutchWithoutTick",
     [] {
       AuctionSpec s = DutchSpec();
       s.dutch.tick_interval = absl::ZeroDuration();
       return s;
     },
     "dutch.tick_interval"},
    {"DutchTickNotWholeMilliseconds",
     [] {
       AuctionSpec s = DutchSpec();
       s.dutch.tick_interval = absl::Microseconds(1500);
       return s;
     },
     "dutch.tick_interval"},
    {"DutchClockWithTooManyTicks",
     [] {
       AuctionSpec s = DutchSpec();
       s.start_price_minor = 1'000'000'000;
       s.dutch = {1, absl::Milliseconds(1), 1};
       return s;
     },
     "dutch.tick_interval"},
    {"DutchFloorZero",
     [] {
       AuctionSpec s = DutchSpec();
       s.dutch.floor_price_minor = 0;
       return s;
     },
     "dutch.floor_price_minor"},
    {"DutchFloorAtStart",
     [] {
       AuctionSpec s = DutchSpec();
       s.dutch.floor_price_minor = s.start_price_minor;
       return s;
     },
     "dutch.floor_price_minor"},
    {"DutchWithReserve",
     [] {
       AuctionSpec s = DutchSpec();
       s.reserve_price_minor = 5000;
       return s;
     },
     "reserve_price_minor"},
    {"DutchWithBuyNow",
     [] {
       AuctionSpec s = DutchSpec();
       s.buy_now_price_minor = 20000;
       return s;
     },
     "buy_now_price_minor"},
    {"DutchWithSoftClose",
     [] {
       AuctionSpec s = DutchSpec();
       s.soft_close = {true, absl::Minutes(1), absl::Minutes(1), absl::Minutes(5)};
       return s;
     },
     "soft_close"},
    {"DutchWithIncrementTable",
     [] {
       AuctionSpec s = DutchSpec();
       s.increment_table = {{0, 10}};
       return s;
     },
     "increment_table"},
    {"SealedFirstPriceQuantityTwo",
     [] {
       AuctionSpec s = SealedSpec(Format::kSealedFirstPrice);
       s.quantity = 2;
       return s;
     },
     "quantity"},
    {"SealedSecondPriceReserveBelowStart",
     [] { return SealedSpec(Format::kSealedSecondPrice, 999); }, "reserve_price_minor"},
    {"SealedWithDutchClock",
     [] {
       AuctionSpec s = SealedSpec(Format::kSealedFirstPrice);
       s.dutch = {500, absl::Seconds(10), 400};
       return s;
     },
     "dutch"},
    {"SealedWithSoftClose",
     [] {
       AuctionSpec s = SealedSpec(Format::kSealedSecondPrice);
       s.soft_close = {true, absl::Minutes(1), absl::Minutes(1), absl::Minutes(5)};
       return s;
     },
     "soft_close"},
    {"SealedWithBuyNow",
     [] {
       AuctionSpec s = SealedSpec(Format::kSealedFirstPrice);
       s.buy_now_price_minor = 5000;
       return s;
     },
     "buy_now_price_minor"},
    {"SealedWithIncrementTable",
     [] {
       AuctionSpec s = SealedSpec(Format::kSealedFirstPrice);
       s.increment_table = {{0, 10}};
       return s;
     },
     "increment_table"},
    {"MultiUnitReserveBelowStart", [] { return MultiSpec(Format::kMultiUnitUniform, 10, 500); },
     "reserve_price_minor"},
    {"PayAsBidWithBuyNow",
     [] {
       AuctionSpec s = MultiSpec(Format::kMultiUnitPayAsBid, 10);
       s.buy_now_price_minor = 5000;
       return s;
     },
     "buy_now_price_minor"},
    {"ReverseEnglishQuantityTwo",
     [] {
       AuctionSpec s = ReverseSpec(Format::kReverseEnglish);
       s.quantity = 2;
       return s;
     },
     "quantity"},
    {"ReverseEnglishCeilingAboveStart", [] { return ReverseSpec(Format::kReverseEnglish, 10001); },
     "reserve_price_minor"},
    {"ReverseEnglishWithBuyNow",
     [] {
       AuctionSpec s = ReverseSpec(Format::kReverseEnglish);
       s.buy_now_price_minor = 5000;
       return s;
     },
     "buy_now_price_minor"},
    {"ReverseSealedCeilingAboveStart", [] { return ReverseSpec(Format::kReverseSealed, 20000); },
     "reserve_price_minor"},
    {"ReverseSealedWithSoftClose",
     [] {
       AuctionSpec s = ReverseSpec(Format::kReverseSealed);
       s.soft_close = {true, absl::Minutes(1), absl::Minutes(1), absl::Minutes(5)};
       return s;
     },
     "soft_close"},
};

void PrintTo(const InvalidSpecCase& c, std::ostream* os) { *os << c.name; }

class OneSidedValidationTest : public ::testing::TestWithParam<InvalidSpecCase> {};

TEST_P(OneSidedValidationTest, RejectsWithInvalidArgumentNamingTheField) {
  FakePrincipalNames names;
  RecordingListener listener;
  Engine engine(EngineOptions{}, &names, &listener);
  absl::StatusOr<AuctionView> v = engine.CreateAuction(kSeller, "req", GetParam().make(), kT0);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << v.status();
  EXPECT_THAT(std::string(v.status().message()), StartsWith(GetParam().field)) << v.status();
  EXPECT_EQ(engine.auction_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(OneSided, OneSidedValidationTest, ::testing::ValuesIn(kInvalidSpecs),
                         [](const ::testing::TestParamInfo<InvalidSpecCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(OneSidedTest, EveryFormatAcceptsItsValidSpec) {
  AuctionSpec reverse_english = ReverseSpec(Format::kReverseEnglish, 8000);
  reverse_english.soft_close = {true, absl::Minutes(2), absl::Minutes(2), absl::Minutes(10)};
  reverse_english.increment_table = {{0, 100}};
  const AuctionSpec specs[] = {
      DutchSpec(),
      DutchSpec(1000),
      SealedSpec(Format::kSealedFirstPrice, 1000),
      SealedSpec(Format::kSealedSecondPrice, 5000),
      MultiSpec(Format::kMultiUnitUniform, 1, 2000),
      MultiSpec(Format::kMultiUnitPayAsBid, 1'000'000),
      reverse_english,
      ReverseSpec(Format::kReverseSealed, 10000),
  };
  for (const AuctionSpec& spec : specs) {
    SCOPED_TRACE(FormatName(spec.format));
    absl::StatusOr<AuctionView> v =
        engine_.CreateAuction(kSeller, absl::StrCat("r", ++creates_), spec, kT0);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->state, AuctionState::kOpen);
    EXPECT_EQ(v->spec.format, spec.format);
  }
}

TEST_F(OneSidedTest, SellerMayNotBidInAnyFormat) {
  absl::Time base = kT0;
  for (const AuctionSpec& spec :
       {DutchSpec(), SealedSpec(Format::kSealedFirstPrice), SealedSpec(Format::kSealedSecondPrice),
        MultiSpec(Format::kMultiUnitUniform, 3), MultiSpec(Format::kMultiUnitPayAsBid, 3),
        ReverseSpec(Format::kReverseEnglish), ReverseSpec(Format::kReverseSealed)}) {
    SCOPED_TRACE(FormatName(spec.format));
    base += absl::Hours(2);
    const AuctionId id = Create(At(spec, base), base);
    EXPECT_EQ(Bid(id, kSeller, 5000, base).reason, RejectReason::kSelfBid);
    EXPECT_EQ(View(id).bid_count, 0);
    // Not sold to the seller either.
    EXPECT_EQ(CloseAtEnd(id)->outcome, SettlementOutcome::kUnsoldNoBids);
  }
}

// ===========================================================================
// DUTCH

struct DutchPriceCase {
  absl::Duration after_open;
  int64_t floor;
  int64_t price;
};

// start 100.00, -5.00 every 10 s.
const DutchPriceCase kDutchPrices[] = {
    {absl::ZeroDuration(), 4000, 10000},
    {absl::Microseconds(9'999'999), 4000, 10000},  // just before the first tick
    {absl::Seconds(10), 4000, 9500},               // exactly at it
    {absl::Seconds(19), 4000, 9500},
    {absl::Seconds(20), 4000, 9000},
    {absl::Seconds(110), 4000, 4500},
    {absl::Seconds(120), 4000, 4000},  // 100.00 - 12 * 5.00 lands on the floor
    {absl::Seconds(130), 4000, 4000},  // and stays there
    {absl::Minutes(59), 4000, 4000},
    // A floor between two steps: the price stops at the floor, not below.
    {absl::Seconds(110), 4200, 4500},
    {absl::Seconds(120), 4200, 4200},
    {absl::Seconds(500), 4200, 4200},
};

TEST_F(OneSidedTest, DutchPriceFollowsTheClockAtEveryTickBoundaryAndStopsAtTheFloor) {
  absl::Time base = kT0;
  for (const DutchPriceCase& c : kDutchPrices) {
    SCOPED_TRACE(absl::StrCat("t+", absl::FormatDuration(c.after_open), " floor ", c.floor));
    base += absl::Hours(2);
    AuctionSpec spec = At(DutchSpec(), base);
    spec.dutch.floor_price_minor = c.floor;
    const AuctionId id = Create(spec, base);
    const absl::Time at = base + c.after_open;
    engine_.AdvanceTo(at);
    EXPECT_EQ(View(id).current_price_minor, c.price);
    EXPECT_EQ(View(id, true).current_price_minor, c.price);
    EXPECT_EQ(View(id).next_minimum_bid_minor, c.price);
    // The formula itself, without the engine.
    const auto* dutch = dynamic_cast<const DutchAuction*>(engine_.Find(id));
    ASSERT_NE(dutch, nullptr);
    EXPECT_EQ(dutch->PriceAt(at), c.price);
    // A bid at that moment pays exactly that price.
    const BidResult r = Bid(id, kAlice, 0, at);
    ASSERT_EQ(r.reason, kOk) << r.message;
    ASSERT_EQ(r.fills.size(), 1u);
    EXPECT_EQ(r.fills[0].price_minor, c.price);
    EXPECT_EQ(r.current_price_minor, c.price);
    ASSERT_NE(SettlementOf(id), nullptr);
    EXPECT_EQ(WinnersOf(*SettlementOf(id)), (std::vector<Won>{{"alice", 1, c.price}}));
  }
}

TEST_F(OneSidedTest, DutchPublishesOnePriceTickPerMoveUntilTheFloor) {
  const AuctionId id = Create(DutchSpec());
  engine_.AdvanceTo(kT0 + absl::Minutes(30));
  const std::vector<AuctionEvent> ticks = EventsOf(id, AuctionEvent::Kind::kPriceTick);
  // 100.00 down to 40.00 by 5.00: 12 moves, the last one onto the floor.
  ASSERT_EQ(ticks.size(), 12u);
  Sequence last = 0;
  for (size_t i = 0; i < ticks.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("tick ", i + 1));
    EXPECT_EQ(ticks[i].at, kT0 + absl::Seconds(10) * static_cast<int64_t>(i + 1));
    EXPECT_EQ(ticks[i].price_minor, 10000 - 500 * static_cast<int64_t>(i + 1));
    EXPECT_GT(ticks[i].sequence, last);
    last = ticks[i].sequence;
  }
  EXPECT_EQ(ticks.back().price_minor, 4000);
  // The opening event carries the start price and comes first.
  const std::vector<AuctionEvent> opened = EventsOf(id, AuctionEvent::Kind::kStateChanged);
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].price_minor, 10000);
  EXPECT_LT(opened[0].sequence, ticks[0].sequence);
  // At the floor the clock stops: no next tick, no more events.
  EXPECT_EQ(View(id).next_tick_at, absl::InfiniteFuture());
  engine_.AdvanceTo(kEnd);
  EXPECT_EQ(EventsOf(id, AuctionEvent::Kind::kPriceTick).size(), 12u);
}

TEST_F(OneSidedTest, DutchTickDueAtTheEndIsNeverPublished) {
  AuctionSpec spec = DutchSpec();
  spec.ends_at = kT0 + absl::Seconds(30);  // ticks at 10 s and 20 s; 30 s is the end
  const AuctionId id = Create(spec);
  EXPECT_EQ(View(id).next_tick_at, kT0 + absl::Seconds(10));
  engine_.AdvanceTo(kT0 + absl::Seconds(20));
  EXPECT_EQ(View(id).next_tick_at, absl::InfiniteFuture());  // the next would be at the end
  engine_.AdvanceTo(kT0 + absl::Seconds(40));
  const std::vector<AuctionEvent> ticks = EventsOf(id, AuctionEvent::Kind::kPriceTick);
  ASSERT_EQ(ticks.size(), 2u);
  EXPECT_EQ(ticks[1].price_minor, 9000);
  EXPECT_EQ(View(id).state, AuctionState::kClosed);
  EXPECT_EQ(View(id).current_price_minor, 9000);
  EXPECT_EQ(SettlementOf(id)->outcome, SettlementOutcome::kUnsoldNoBids);
}

TEST_F(OneSidedTest, DutchViewShowsTheNextTick) {
  const AuctionId id = Create(DutchSpec());
  engine_.AdvanceTo(kT0 + absl::Seconds(15));
  const AuctionView v = View(id, true);
  EXPECT_EQ(v.current_price_minor, 9500);
  EXPECT_EQ(v.next_tick_at, kT0 + absl::Seconds(20));
}

TEST_F(OneSidedTest, DutchClockStartsWhenTheAuctionOpensNotWhenCreated) {
  AuctionSpec spec = DutchSpec();
  spec.starts_at = kT0 + absl::Minutes(5);
  const AuctionId id = Create(spec, kT0);
  EXPECT_EQ(View(id).current_price_minor, 10000);
  EXPECT_EQ(Bid(id, kAlice, 0, kT0 + absl::Minutes(1)).reason, RejectReason::kAuctionNotOpen);
  engine_.AdvanceTo(kT0 + absl::Minutes(5) + absl::Seconds(25));
  EXPECT_EQ(View(id).current_price_minor, 9000);
  const std::vector<AuctionEvent> ticks = EventsOf(id, AuctionEvent::Kind::kPriceTick);
  ASSERT_EQ(ticks.size(), 2u);
  EXPECT_EQ(ticks[0].at, kT0 + absl::Minutes(5) + absl::Seconds(10));
}

struct DutchBidCase {
  const char* name;
  int64_t amount;  // 0: take the current price
  RejectReason reason;
  int64_t minimum;
};

// At t+25 s the price is 90.00.
const DutchBidCase kDutchBids[] = {
    {"NoAmountTakesTheCurrentPrice", 0, kOk, 0},
    {"AmountAtThePriceIsAccepted", 9000, kOk, 0},
    {"AmountAboveThePricePaysOnlyThePrice", 9999, kOk, 0},
    {"AmountBelowThePriceIsTooLow", 8999, kTooLow, 9000},
};

TEST_F(OneSidedTest, DutchBidAmountsAgainstTheCurrentPrice) {
  absl::Time base = kT0;
  for (const DutchBidCase& c : kDutchBids) {
    SCOPED_TRACE(c.name);
    base += absl::Hours(2);
    const AuctionId id = Create(At(DutchSpec(), base), base);
    const absl::Time at = base + absl::Seconds(25);
    const BidResult r = Bid(id, kAlice, c.amount, at);
    EXPECT_EQ(RejectReasonName(r.reason), RejectReasonName(c.reason));
    EXPECT_EQ(r.minimum_minor, c.minimum);
    if (c.reason == kOk) {
      EXPECT_TRUE(r.leading);
      EXPECT_EQ(WinnersOf(*SettlementOf(id)), (std::vector<Won>{{"alice", 1, 9000}}));
      EXPECT_EQ(SettlementOf(id)->closed_at, at);
      EXPECT_EQ(SettlementOf(id)->clearing_price_minor, 9000);
    } else {
      EXPECT_EQ(r.message, "bid too low: the minimum bid is now 90.00 EUR");
      EXPECT_EQ(View(id).state, AuctionState::kOpen);
      EXPECT_EQ(View(id).quantity_remaining, 1);
    }
  }
}

TEST_F(OneSidedTest, DutchMultiUnitFillsUpToWhatIsLeftAndClosesWhenSoldOut) {
  const AuctionId id = Create(DutchSpec(3));
  // alice takes 2 at 95.00.
  const BidResult a = Bid(id, kAlice, 0, kT0 + absl::Seconds(10), 2);
  ASSERT_EQ(a.reason, kOk);
  ASSERT_EQ(a.fills.size(), 1u);
  EXPECT_EQ(a.fills[0].quantity, 2);
  EXPECT_EQ(a.fills[0].price_minor, 9500);
  EXPECT_EQ(View(id).quantity_remaining, 1);
  EXPECT_EQ(View(id).state, AuctionState::kOpen);
  // The clock keeps going after a sale.
  engine_.AdvanceTo(kT0 + absl::Seconds(30));
  EXPECT_EQ(View(id).current_price_minor, 8500);
  // bob wants 5 at 85.00 but gets the 1 left; that sells out.
  const BidResult b = Bid(id, kBob, 8700, kT0 + absl::Seconds(31), 5);
  ASSERT_EQ(b.reason, kOk);
  ASSERT_EQ(b.fills.size(), 1u);
  EXPECT_EQ(b.fills[0].quantity, 1);
  EXPECT_EQ(b.fills[0].price_minor, 8500);
  EXPECT_EQ(View(id).state, AuctionState::kClosed);
  EXPECT_EQ(View(id).quantity_remaining, 0);
  const auto s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->outcome, SettlementOutcome::kSold);
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"alice", 2, 9500}, {"bob", 1, 8500}}));
  EXPECT_EQ(s->winners[0].bid_id, FormatBidId(id, 1));
  EXPECT_EQ(s->winners[1].bid_id, FormatBidId(id, 2));
  EXPECT_EQ(s->clearing_price_minor, 0);  // two prices
  EXPECT_EQ(s->closed_at, kT0 + absl::Seconds(31));
  // Sold out: nothing more.
  EXPECT_EQ(Bid(id, kCarol, 0, kT0 + absl::Seconds(32)).reason, RejectReason::kAuctionClosed);
  EXPECT_EQ(EventsOf(id, AuctionEvent::Kind::kPriceTick).size(), 3u);
}

// docs/FORMATS.md, "DUTCH" example.
TEST_F(OneSidedTest, DutchFormatsDocExample) {
  const AuctionId id = Create(DutchSpec(3));
  const BidResult bob = Bid(id, kBob, 0, kT0 + absl::Seconds(25), 2);
  ASSERT_EQ(bob.reason, kOk);
  EXPECT_EQ(bob.fills[0].quantity, 2);
  EXPECT_EQ(bob.fills[0].price_minor, 9000);
  const BidResult low = Bid(id, kCarol, 8000, kT0 + absl::Seconds(31));
  EXPECT_EQ(low.reason, kTooLow);
  EXPECT_EQ(low.minimum_minor, 8500);
  const BidResult carol = Bid(id, kCarol, 8700, kT0 + absl::Seconds(32), 5);
  ASSERT_EQ(carol.reason, kOk);
  EXPECT_EQ(carol.fills[0].quantity, 1);
  const auto s = SettlementOf(id);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->closed_at, kT0 + absl::Seconds(32));
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"bob", 2, 9000}, {"carol", 1, 8500}}));
  // Nobody bidding: the floor at 12 ticks.
  const auto* dutch = dynamic_cast<const DutchAuction*>(engine_.Find(id));
  ASSERT_NE(dutch, nullptr);
  EXPECT_EQ(dutch->PriceAt(kT0 + absl::Seconds(119)), 4500);
  EXPECT_EQ(dutch->PriceAt(kT0 + absl::Seconds(120)), 4000);
}

TEST_F(OneSidedTest, DutchSameBidderMayAcceptTwiceEachAWinnerAtItsPrice) {
  const AuctionId id = Create(DutchSpec(3));
  ASSERT_EQ(Bid(id, kAlice, 0, kT0).reason, kOk);
  ASSERT_EQ(Bid(id, kAlice, 0, kT0 + absl::Seconds(10)).reason, kOk);
  EXPECT_EQ(View(id).quantity_remaining, 1);
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(s->outcome, SettlementOutcome::kSold);
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"alice", 1, 10000}, {"alice", 1, 9500}}));
}

TEST_F(OneSidedTest, DutchPartlySoldAtTheEndIsSoldWithTheAcceptances) {
  const AuctionId id = Create(DutchSpec(5));
  ASSERT_EQ(Bid(id, kBob, 0, kT0 + absl::Minutes(10), 2).reason, kOk);  // at the floor
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(s->outcome, SettlementOutcome::kSold);
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"bob", 2, 4000}}));
  EXPECT_EQ(View(id).quantity_remaining, 3);
}

TEST_F(OneSidedTest, DutchViewAfterTheCloseShowsTheLastPricePaidNotTheClock) {
  // Three auctions with the same end: one buyer, two buyers, none.
  const AuctionId one = Create(DutchSpec(3));
  const AuctionId two = Create(DutchSpec(3));
  const AuctionId unsold = Create(DutchSpec());
  ASSERT_EQ(Bid(one, kAlice, 0, kT0).reason, kOk);
  ASSERT_EQ(Bid(two, kAlice, 0, kT0).reason, kOk);
  // While open: the clock's price, and nobody "leads" a Dutch auction.
  const AuctionView open = View(one);
  EXPECT_EQ(open.current_price_minor, 10000);
  EXPECT_EQ(open.leader, kNoPrincipal);
  ASSERT_EQ(Bid(one, kAlice, 0, kT0 + absl::Seconds(10)).reason, kOk);
  ASSERT_EQ(Bid(two, kBob, 0, kT0 + absl::Seconds(20)).reason, kOk);
  ASSERT_EQ(CloseAtEnd(one)->outcome, SettlementOutcome::kSold);

  const auto* clock = dynamic_cast<const DutchAuction*>(engine_.Find(one));
  ASSERT_NE(clock, nullptr);
  ASSERT_EQ(clock->CurrentPrice(), 4000) << "the clock went on to the floor";
  AuctionView over = View(one);
  EXPECT_EQ(over.current_price_minor, 9500) << "the last price paid";
  EXPECT_EQ(over.leader, kAlice) << "one buyer took every unit sold";
  const BidResult late = Bid(one, kBob, 0, over.ends_at + absl::Seconds(1));
  EXPECT_EQ(late.reason, RejectReason::kAuctionClosed);
  EXPECT_EQ(late.current_price_minor, 9500) << "a late bid is told the same price";

  ASSERT_EQ(SettlementOf(two)->outcome, SettlementOutcome::kSold);
  over = View(two);
  EXPECT_EQ(over.current_price_minor, 9000);
  EXPECT_EQ(over.leader, kNoPrincipal) << "two buyers: no one of them";

  ASSERT_EQ(SettlementOf(unsold)->outcome, SettlementOutcome::kUnsoldNoBids);
  over = View(unsold);
  EXPECT_EQ(over.current_price_minor, 4000) << "unsold: where the clock stopped";
  EXPECT_EQ(over.leader, kNoPrincipal);
}

TEST_F(OneSidedTest, DutchBidAtTheEndIsTooLateAndJustBeforeIsAtTheLastPrice) {
  AuctionSpec spec = DutchSpec();
  spec.ends_at = kT0 + absl::Seconds(30);
  const AuctionId id = Create(spec);
  EXPECT_EQ(Bid(id, kAlice, 0, kT0 + absl::Seconds(30)).reason, RejectReason::kAuctionClosed);
  EXPECT_EQ(SettlementOf(id)->outcome, SettlementOutcome::kUnsoldNoBids);

  const AuctionId id2 = Create(DutchSpec(), kT0 + absl::Seconds(30));
  const absl::Time end2 = View(id2).ends_at;
  const BidResult r = Bid(id2, kAlice, 0, end2 - absl::Microseconds(1));
  ASSERT_EQ(r.reason, kOk);
  EXPECT_EQ(r.fills[0].price_minor, 4000);
}

TEST_F(OneSidedTest, DutchRepeatedClientBidIdReplaysTheFill) {
  const AuctionId id = Create(DutchSpec(3));
  absl::StatusOr<BidResult> first = TryBid(id, kAlice, 0, 2, kT0 + absl::Seconds(10), "k");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<BidResult> again = TryBid(id, kAlice, 0, 2, kT0 + absl::Seconds(40), "k");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  ASSERT_EQ(again->fills.size(), 1u);
  EXPECT_EQ(again->fills[0].quantity, 2);
  EXPECT_EQ(again->fills[0].price_minor, 9500);
  EXPECT_EQ(View(id).quantity_remaining, 1);
}

TEST_F(OneSidedTest, DutchWithoutAcceptanceIsUnsoldNoBids) {
  const AuctionId id = Create(DutchSpec());
  EXPECT_EQ(Bid(id, kAlice, 100, kT0).reason, kTooLow);
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(s->outcome, SettlementOutcome::kUnsoldNoBids);
  EXPECT_TRUE(s->winners.empty());
  ASSERT_EQ(s->bids.size(), 1u);  // the refused bid is in the log
  EXPECT_EQ(s->bids[0].result, "BID_TOO_LOW");
}

// ===========================================================================
// SEALED_FIRST_PRICE and SEALED_SECOND_PRICE

struct SealedBidStep {
  PrincipalId bidder;
  int64_t amount;
  RejectReason reason = kOk;
};

struct SealedCase {
  const char* name;
  Format format;
  int64_t reserve;
  std::vector<SealedBidStep> bids;
  SettlementOutcome outcome;
  std::vector<Won> winners;
};

constexpr Format kFirst = Format::kSealedFirstPrice;
constexpr Format kSecond = Format::kSealedSecondPrice;
constexpr Format kReverseSealed = Format::kReverseSealed;
constexpr SettlementOutcome kSold = SettlementOutcome::kSold;
constexpr SettlementOutcome kNoBids = SettlementOutcome::kUnsoldNoBids;
constexpr SettlementOutcome kReserveNotMet = SettlementOutcome::kUnsoldReserveNotMet;

// Start 10.00 EUR (reverse: the buyer opens at 100.00 EUR).
const SealedCase kSealedCases[] = {
    {"FirstPriceWinnerPaysOwnBid",
     kFirst,
     0,
     {{kAlice, 1500}, {kBob, 2500}, {kCarol, 2000}},
     kSold,
     {{"bob", 1, 2500}}},
    {"FirstPriceEqualBidsTheEarlierWins",
     kFirst,
     0,
     {{kAlice, 2000}, {kBob, 2000}},
     kSold,
     {{"alice", 1, 2000}}},
    {"FirstPriceHighestBelowReserveIsUnsold",
     kFirst,
     3000,
     {{kAlice, 2999}, {kBob, 1000}},
     kReserveNotMet,
     {}},
    {"FirstPriceHighestAtReserveSells",
     kFirst,
     3000,
     {{kAlice, 3000}},
     kSold,
     {{"alice", 1, 3000}}},
    {"FirstPriceBidBelowStartIsTooLow",
     kFirst,
     0,
     {{kAlice, 999, kTooLow}, {kBob, 1000}},
     kSold,
     {{"bob", 1, 1000}}},
    {"FirstPriceNoBids", kFirst, 0, {}, kNoBids, {}},
    {"VickreyWinnerPaysTheSecondHighestBid",
     kSecond,
     0,
     {{kAlice, 1500}, {kBob, 2500}, {kCarol, 2000}},
     kSold,
     {{"bob", 1, 2000}}},
    {"VickreyOneBidPaysTheStart", kSecond, 0, {{kAlice, 5000}}, kSold, {{"alice", 1, 1000}}},
    {"VickreyOneBidPaysTheReserve", kSecond, 3000, {{kAlice, 5000}}, kSold, {{"alice", 1, 3000}}},
    {"VickreyReserveAboveTheSecondBidIsThePrice",
     kSecond,
     3000,
     {{kAlice, 5000}, {kBob, 2000}},
     kSold,
     {{"alice", 1, 3000}}},
    {"VickreySecondBidAboveTheReserveIsThePrice",
     kSecond,
     3000,
     {{kAlice, 5000}, {kBob, 4000}},
     kSold,
     {{"alice", 1, 4000}}},
    {"VickreyEqualTopBidsTheEarlierWinsAtThatAmount",
     kSecond,
     0,
     {{kAlice, 1200}, {kBob, 4000}, {kCarol, 4000}},
     kSold,
     {{"bob", 1, 4000}}},
    {"VickreyHighestBelowReserveIsUnsold",
     kSecond,
     3000,
     {{kAlice, 2500}, {kBob, 2000}},
     kReserveNotMet,
     {}},
    {"VickreyWinnerNeverPaysMoreThanTheirBid",
     kSecond,
     3000,
     {{kAlice, 3000}, {kBob, 2999}},
     kSold,
     {{"alice", 1, 3000}}},
    {"ReplacementTakesTheNewSequenceAndLosesTheTie",
     kFirst,
     0,
     {{kAlice, 2000}, {kBob, 2000}, {kAlice, 2000}},
     kSold,
     {{"bob", 1, 2000}}},
    {"ReplacementCanLowerABid",
     kSecond,
     0,
     {{kAlice, 9000}, {kBob, 5000}, {kAlice, 3000}},
     kSold,
     {{"bob", 1, 3000}}},
    {"ReplacementCountsOnceForTheSecondPrice",
     kSecond,
     0,
     {{kAlice, 9000}, {kAlice, 8000}, {kBob, 2000}},
     kSold,
     {{"alice", 1, 2000}}},
    {"RefusedReplacementKeepsTheStandingBid",
     kFirst,
     0,
     {{kAlice, 3000}, {kAlice, 500, kTooLow}, {kBob, 2000}},
     kSold,
     {{"alice", 1, 3000}}},
    // docs/FORMATS.md, "SEALED_*" example: start 10.00, reserve 20.00 EUR.
    {"FormatsDocExampleFirstPrice",
     kFirst,
     2000,
     {{kBob, 5000}, {kCarol, 3000}, {kDave, 999, kTooLow}, {kCarol, 5000}},
     kSold,
     {{"bob", 1, 5000}}},
    {"FormatsDocExampleSecondPrice",
     kSecond,
     2000,
     {{kBob, 5000}, {kCarol, 3000}, {kDave, 999, kTooLow}, {kCarol, 5000}},
     kSold,
     {{"bob", 1, 5000}}},
    {"FormatsDocExampleSecondPriceWithoutTheReplacement",
     kSecond,
     2000,
     {{kBob, 5000}, {kCarol, 3000}, {kDave, 999, kTooLow}},
     kSold,
     {{"bob", 1, 3000}}},
    {"FormatsDocExampleReverseSealed",
     kReverseSealed,
     9000,
     {{kBob, 9500}, {kCarol, 8800}},
     kSold,
     {{"carol", 1, 8800}}},
    // REVERSE_SEALED: lowest wins, paid its bid; the reserve is a ceiling.
    {"ReverseSealedLowestWinsPaidItsBid",
     kReverseSealed,
     0,
     {{kAlice, 9000}, {kBob, 7000}, {kCarol, 8000}},
     kSold,
     {{"bob", 1, 7000}}},
    {"ReverseSealedEqualBidsTheEarlierWins",
     kReverseSealed,
     0,
     {{kAlice, 7000}, {kBob, 7000}},
     kSold,
     {{"alice", 1, 7000}}},
    {"ReverseSealedBidAboveTheOpeningPriceIsRefused",
     kReverseSealed,
     0,
     {{kAlice, 10001, kNotImproving}, {kBob, 10000}},
     kSold,
     {{"bob", 1, 10000}}},
    {"ReverseSealedLowestAboveTheCeilingIsUnsold",
     kReverseSealed,
     6000,
     {{kAlice, 6001}, {kBob, 9000}},
     kReserveNotMet,
     {}},
    {"ReverseSealedLowestAtTheCeilingSells",
     kReverseSealed,
     6000,
     {{kAlice, 6000}, {kBob, 5000}},
     kSold,
     {{"bob", 1, 5000}}},
    {"ReverseSealedReplacementRanksByItsNewSequence",
     kReverseSealed,
     0,
     {{kAlice, 7000}, {kBob, 7000}, {kAlice, 7000}},
     kSold,
     {{"bob", 1, 7000}}},
};

void PrintTo(const SealedCase& c, std::ostream* os) { *os << c.name; }

class SealedRulesTest : public OneSidedTest, public ::testing::WithParamInterface<SealedCase> {};

TEST_P(SealedRulesTest, FollowsTheRules) {
  const SealedCase& c = GetParam();
  AuctionSpec spec = c.format == kReverseSealed ? ReverseSpec(c.format, c.reserve)
                                                : SealedSpec(c.format, c.reserve);
  const AuctionId id = Create(spec);
  int n = 0;
  for (const SealedBidStep& b : c.bids) {
    SCOPED_TRACE(absl::StrCat("bid ", ++n, ": ", names_.Name(b.bidder), " ", b.amount));
    const BidResult r = Bid(id, b.bidder, b.amount, kT0 + absl::Seconds(n));
    EXPECT_EQ(RejectReasonName(r.reason), RejectReasonName(b.reason)) << r.message;
    EXPECT_FALSE(r.leading);  // never revealed
    EXPECT_EQ(r.current_price_minor, 0);
    if (b.reason != kOk) {
      EXPECT_EQ(r.minimum_minor, spec.start_price_minor);
    }
  }
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(OutcomeName(s->outcome), OutcomeName(c.outcome));
  EXPECT_EQ(WinnersOf(*s), c.winners);
  if (!c.winners.empty()) {
    EXPECT_EQ(s->clearing_price_minor, c.winners[0].price);
    const AuctionView v = View(id, true);
    EXPECT_EQ(v.current_price_minor, c.winners[0].price);
    EXPECT_EQ(names_.Name(v.leader), c.winners[0].bidder);
    EXPECT_TRUE(v.reserve_met);
  } else {
    EXPECT_EQ(View(id, true).leader, kNoPrincipal);
  }
}

INSTANTIATE_TEST_SUITE_P(Sealed, SealedRulesTest, ::testing::ValuesIn(kSealedCases),
                         [](const ::testing::TestParamInfo<SealedCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(OneSidedTest, SealedSingleUnitRefusesMoreThanOneUnit) {
  for (Format f : {kFirst, kSecond, kReverseSealed}) {
    SCOPED_TRACE(FormatName(f));
    const AuctionId id = Create(f == kReverseSealed ? ReverseSpec(f) : SealedSpec(f));
    const BidResult r = Bid(id, kAlice, 5000, kT0, 2);
    EXPECT_EQ(r.reason, kNoQuantity);
    EXPECT_EQ(r.message, "quantity: only 1 unit(s) available");
  }
}

TEST_F(OneSidedTest, SealedBidsStayHiddenInViewsListsEventsAndAnswersUntilTheClose) {
  const AuctionId id = Create(SealedSpec(kSecond, 2000));
  const BidResult a = Bid(id, kAlice, 5000, kT0 + absl::Seconds(1));
  const BidResult b = Bid(id, kBob, 3000, kT0 + absl::Seconds(2));
  for (const BidResult& r : {a, b}) {
    EXPECT_EQ(r.reason, kOk);
    EXPECT_FALSE(r.leading);
    EXPECT_EQ(r.current_price_minor, 0);
  }
  // A replay of the answer reveals no more than the answer did.
  absl::StatusOr<BidResult> replay = TryBid(id, kAlice, 5000, 1, kT0 + absl::Seconds(3), "bid-1");
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->replayed);
  EXPECT_FALSE(replay->leading);
  EXPECT_EQ(replay->current_price_minor, 0);

  for (bool public_view : {true, false}) {
    SCOPED_TRACE(public_view ? "public view" : "full view");
    const AuctionView v = View(id, public_view);
    EXPECT_EQ(v.bid_count, 2);
    EXPECT_EQ(v.current_price_minor, 0);
    EXPECT_EQ(v.leader, kNoPrincipal);
    EXPECT_FALSE(v.reserve_met);
    EXPECT_EQ(v.next_minimum_bid_minor, 1000);  // the start: public anyway
  }
  EXPECT_EQ(View(id, true).spec.reserve_price_minor, 0);
  std::vector<AuctionView> listed;
  engine_.ListAuctions(ListFilter{}, &listed);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].bid_count, 2);
  EXPECT_EQ(listed[0].current_price_minor, 0);
  EXPECT_EQ(listed[0].leader, kNoPrincipal);
  for (const AuctionEvent& e : listener_.events) {
    EXPECT_EQ(e.price_minor, 0) << static_cast<int>(e.kind);
    EXPECT_EQ(e.leader, kNoPrincipal) << static_cast<int>(e.kind);
  }
  const std::vector<AuctionEvent> accepted = EventsOf(id, AuctionEvent::Kind::kBidAccepted);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_EQ(accepted[1].bid_count, 2);
  // A late bid after the close is answered with the result, which is public now.
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"alice", 1, 3000}}));
  const AuctionView after = View(id, true);
  EXPECT_EQ(after.current_price_minor, 3000);
  EXPECT_EQ(after.leader, kAlice);
  EXPECT_TRUE(after.reserve_met);
  EXPECT_EQ(Bid(id, kCarol, 9000, kEnd).reason, RejectReason::kAuctionClosed);
}

TEST_F(OneSidedTest, SealedBidCountCountsReplacements) {
  const AuctionId id = Create(SealedSpec(kFirst));
  Bid(id, kAlice, 2000);
  Bid(id, kAlice, 2500);
  EXPECT_EQ(View(id, true).bid_count, 2);  // accepted bids, like every format
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"alice", 1, 2500}}));
  EXPECT_EQ(s->winners[0].bid_id, FormatBidId(id, 2));
}

// ===========================================================================
// MULTI_UNIT_UNIFORM and MULTI_UNIT_PAY_AS_BID

struct MultiBid {
  PrincipalId bidder;
  int64_t price;
  int64_t quantity;
  RejectReason reason = kOk;
};

struct MultiCase {
  const char* name;
  Format format;
  int64_t supply;
  int64_t reserve;
  std::vector<MultiBid> bids;
  SettlementOutcome outcome;
  std::vector<Won> winners;  // in rank order
};

constexpr Format kUniform = Format::kMultiUnitUniform;
constexpr Format kPayAsBid = Format::kMultiUnitPayAsBid;

const MultiCase kMultiCases[] = {
    {"UniformEveryWinnerPaysTheLowestWinningPrice",
     kUniform,
     5,
     0,
     {{kAlice, 1200, 2}, {kBob, 1500, 2}, {kCarol, 1100, 1}},
     kSold,
     {{"bob", 2, 1100}, {"alice", 2, 1100}, {"carol", 1, 1100}}},
    {"UniformMarginalWinnerGetsAPartialQuantity",
     kUniform,
     5,
     0,
     {{kAlice, 1200, 3}, {kBob, 1100, 3}, {kCarol, 1000, 2}},
     kSold,
     {{"alice", 3, 1100}, {"bob", 2, 1100}}},
    {"UniformEqualPricesTheEarlierFirstWhateverTheQuantity",
     kUniform,
     4,
     0,
     {{kAlice, 1000, 1}, {kBob, 1000, 3}, {kCarol, 1000, 3}},
     kSold,
     {{"alice", 1, 1000}, {"bob", 3, 1000}}},
    {"UniformSupplyLeftOverWhenDemandIsShort",
     kUniform,
     10,
     0,
     {{kAlice, 1300, 2}, {kBob, 1200, 3}},
     kSold,
     {{"alice", 2, 1200}, {"bob", 3, 1200}}},
    {"UniformBidsBelowTheReserveDoNotWin",
     kUniform,
     5,
     1150,
     {{kAlice, 1200, 2}, {kBob, 1100, 3}},
     kSold,
     {{"alice", 2, 1200}}},
    {"UniformAllBelowTheReserveIsUnsold",
     kUniform,
     5,
     2000,
     {{kAlice, 1999, 2}, {kBob, 1100, 3}},
     kReserveNotMet,
     {}},
    {"UniformNoBids", kUniform, 5, 0, {}, kNoBids, {}},
    {"YankeeEachPaysOwnBid",
     kPayAsBid,
     5,
     0,
     {{kAlice, 1200, 3}, {kBob, 1100, 3}, {kCarol, 1000, 2}},
     kSold,
     {{"alice", 3, 1200}, {"bob", 2, 1100}}},
    {"YankeeEqualPricesTheLargerQuantityFirstThenTheEarlier",
     kPayAsBid,
     4,
     0,
     {{kAlice, 1000, 1}, {kBob, 1000, 3}, {kCarol, 1000, 3}},
     kSold,
     {{"bob", 3, 1000}, {"carol", 1, 1000}}},
    {"YankeePriceBeforeQuantity",
     kPayAsBid,
     3,
     0,
     {{kAlice, 1000, 3}, {kBob, 1001, 1}},
     kSold,
     {{"bob", 1, 1001}, {"alice", 2, 1000}}},
    {"YankeeBidsBelowTheReserveDoNotWin",
     kPayAsBid,
     5,
     1100,
     {{kAlice, 1099, 5}, {kBob, 1100, 1}},
     kSold,
     {{"bob", 1, 1100}}},
    {"QuantityAboveSupplyIsRefused",
     kUniform,
     3,
     0,
     {{kAlice, 1200, 4, kNoQuantity}, {kBob, 1000, 3}},
     kSold,
     {{"bob", 3, 1000}}},
    {"PriceBelowStartIsTooLow", kPayAsBid, 3, 0, {{kAlice, 999, 1, kTooLow}}, kNoBids, {}},
    // docs/FORMATS.md, "MULTI_UNIT_*" example.
    {"FormatsDocExampleUniform",
     kUniform,
     5,
     0,
     {{kBob, 1200, 3}, {kCarol, 1100, 1}, {kDave, 1100, 3}},
     kSold,
     {{"bob", 3, 1100}, {"carol", 1, 1100}, {"dave", 1, 1100}}},
    {"FormatsDocExamplePayAsBid",
     kPayAsBid,
     5,
     0,
     {{kBob, 1200, 3}, {kCarol, 1100, 1}, {kDave, 1100, 3}},
     kSold,
     {{"bob", 3, 1200}, {"dave", 2, 1100}}},
    {"ReplacementChangesPriceAndQuantityAndTakesTheNewSequence",
     kUniform,
     4,
     0,
     {{kAlice, 1500, 4}, {kBob, 1300, 2}, {kAlice, 1300, 3}},
     kSold,
     {{"bob", 2, 1300}, {"alice", 2, 1300}}},
};

void PrintTo(const MultiCase& c, std::ostream* os) { *os << c.name; }

class MultiUnitRulesTest : public OneSidedTest, public ::testing::WithParamInterface<MultiCase> {};

TEST_P(MultiUnitRulesTest, FollowsTheRules) {
  const MultiCase& c = GetParam();
  const AuctionId id = Create(MultiSpec(c.format, c.supply, c.reserve));
  int n = 0;
  for (const MultiBid& b : c.bids) {
    SCOPED_TRACE(
        absl::StrCat("bid ", ++n, ": ", names_.Name(b.bidder), " ", b.quantity, " at ", b.price));
    const BidResult r = Bid(id, b.bidder, b.price, kT0 + absl::Seconds(n), b.quantity);
    EXPECT_EQ(RejectReasonName(r.reason), RejectReasonName(b.reason)) << r.message;
    EXPECT_FALSE(r.leading);
    EXPECT_EQ(View(id).quantity_remaining, c.supply);  // nothing allocated before the close
  }
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(OutcomeName(s->outcome), OutcomeName(c.outcome));
  EXPECT_EQ(WinnersOf(*s), c.winners);
  int64_t sold = 0;
  for (const Won& w : c.winners) sold += w.quantity;
  EXPECT_EQ(View(id).quantity_remaining, c.supply - sold);
}

INSTANTIATE_TEST_SUITE_P(MultiUnit, MultiUnitRulesTest, ::testing::ValuesIn(kMultiCases),
                         [](const ::testing::TestParamInfo<MultiCase>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(OneSidedTest, MultiUnitQuantityRefusalNamesTheSupply) {
  const AuctionId id = Create(MultiSpec(kPayAsBid, 7));
  const BidResult r = Bid(id, kAlice, 5000, kT0, 8);
  EXPECT_EQ(r.reason, kNoQuantity);
  EXPECT_EQ(r.message, "quantity: only 7 unit(s) available");
}

TEST_F(OneSidedTest, UniformClearingPriceIsInTheSettlementAndPayAsBidHasNone) {
  const AuctionId u = Create(MultiSpec(kUniform, 3));
  const AuctionId p = Create(MultiSpec(kPayAsBid, 3));
  for (AuctionId id : {u, p}) {
    Bid(id, kAlice, 1500, kT0, 2);
    Bid(id, kBob, 1200, kT0, 2);
  }
  EXPECT_EQ(CloseAtEnd(u)->clearing_price_minor, 1200);
  const auto s = SettlementOf(p);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"alice", 2, 1500}, {"bob", 1, 1200}}));
  EXPECT_EQ(s->clearing_price_minor, 0);
}

// ===========================================================================
// REVERSE_ENGLISH

struct ReverseStep {
  PrincipalId bidder;
  int64_t amount;
  RejectReason reason;
  PrincipalId leader;  // after the bid
  int64_t price;       // after the bid
  int64_t most;        // next_minimum_bid_minor after the bid: the most a bid may be
};

struct ReverseCase {
  const char* name;
  int64_t start;
  std::vector<ReverseStep> steps;
};

const ReverseCase kReverseCases[] = {
    {"FirstBidAtTheOpeningPriceLeads",
     10000,
     {{kAlice, 10000, kOk, kAlice, 10000, 9750}}},  // inc(100.00) = 2.50
    {"FirstBidAboveTheOpeningPriceIsRefused",
     10000,
     {{kAlice, 10001, kNotImproving, kNoPrincipal, 10000, 10000}}},
    {"EachBidMustUndercutByTheIncrementAtThePrice",
     10000,
     {{kAlice, 9000, kOk, kAlice, 9000, 8900},  // inc(90.00) = 1.00
      {kBob, 8901, kNotImproving, kAlice, 9000, 8900},
      {kBob, 8900, kOk, kBob, 8900, 8800},
      {kCarol, 2600, kOk, kCarol, 2600, 2500},  // inc(26.00) = 1.00
      {kAlice, 2550, kNotImproving, kCarol, 2600, 2500},
      {kAlice, 2500, kOk, kAlice, 2500, 2400},
      {kBob, 2000, kOk, kBob, 2000, 1950}}},  // inc(20.00) = 0.50
    {"EqualBidIsNotLowerAndIsRefused",
     10000,
     {{kAlice, 5000, kOk, kAlice, 5000, 4900}, {kBob, 5000, kNotImproving, kAlice, 5000, 4900}}},
    {"TheLeaderMayUndercutThemselves",
     10000,
     {{kAlice, 5000, kOk, kAlice, 5000, 4900},
      {kAlice, 4900, kOk, kAlice, 4900, 4800}}},  // inc(49.00) = 1.00
    {"NoLowerBidOnceTheStepReachesZero",
     9,
     {{kAlice, 5, kOk, kAlice, 5, 0}, {kBob, 1, kNotImproving, kAlice, 5, 0}}},
};

void PrintTo(const ReverseCase& c, std::ostream* os) { *os << c.name; }

class ReverseEnglishRulesTest : public OneSidedTest,
                                public ::testing::WithParamInterface<ReverseCase> {};

TEST_P(ReverseEnglishRulesTest, FollowsTheRules) {
  const ReverseCase& c = GetParam();
  AuctionSpec spec = ReverseSpec(Format::kReverseEnglish);
  spec.start_price_minor = c.start;
  const AuctionId id = Create(spec);
  EXPECT_EQ(View(id).next_minimum_bid_minor, c.start);
  int n = 0;
  int64_t most_before = c.start;
  for (const ReverseStep& s : c.steps) {
    SCOPED_TRACE(absl::StrCat("step ", ++n, ": ", names_.Name(s.bidder), " bids ", s.amount));
    const BidResult r = Bid(id, s.bidder, s.amount);
    EXPECT_EQ(RejectReasonName(r.reason), RejectReasonName(s.reason)) << r.message;
    EXPECT_EQ(r.leading, s.leader == s.bidder);
    EXPECT_EQ(r.current_price_minor, s.price);
    const AuctionView v = View(id, true);
    EXPECT_EQ(v.leader, s.leader);
    EXPECT_EQ(v.current_price_minor, s.price);
    EXPECT_EQ(v.next_minimum_bid_minor, s.most);
    if (s.reason != kOk) {
      EXPECT_EQ(r.minimum_minor, most_before);
      EXPECT_THAT(r.message, StartsWith("bid not low enough"));
    }
    most_before = s.most;
  }
}

INSTANTIATE_TEST_SUITE_P(ReverseEnglish, ReverseEnglishRulesTest,
                         ::testing::ValuesIn(kReverseCases),
                         [](const ::testing::TestParamInfo<ReverseCase>& info) {
                           return std::string(info.param.name);
                         });

// docs/FORMATS.md, "REVERSE_*" example: start 100.00, ceiling 90.00 EUR.
TEST_F(OneSidedTest, ReverseEnglishFormatsDocExample) {
  const AuctionId id = Create(ReverseSpec(Format::kReverseEnglish, 9000));
  const BidResult high = Bid(id, kBob, 10001);
  EXPECT_EQ(high.reason, kNotImproving);
  EXPECT_EQ(high.message, "bid not low enough: the most you may bid is now 100.00 EUR");
  EXPECT_TRUE(Bid(id, kBob, 9500).leading);
  EXPECT_FALSE(View(id).reserve_met);
  const BidResult close = Bid(id, kCarol, 9401);
  EXPECT_EQ(close.reason, kNotImproving);
  EXPECT_EQ(close.minimum_minor, 9400);
  EXPECT_TRUE(Bid(id, kCarol, 8800).leading);
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(s->outcome, kSold);
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"carol", 1, 8800}}));
}

TEST_F(OneSidedTest, ReverseEnglishRefusalNamesTheMostABidMayBe) {
  const AuctionId id = Create(ReverseSpec(Format::kReverseEnglish));
  Bid(id, kAlice, 9000);
  const BidResult r = Bid(id, kBob, 8950);
  EXPECT_EQ(r.reason, kNotImproving);
  EXPECT_EQ(r.minimum_minor, 8900);
  EXPECT_EQ(r.message, "bid not low enough: the most you may bid is now 89.00 EUR");
  const AuctionId low = Create(ReverseSpec(Format::kReverseEnglish));
  Bid(low, kAlice, 4);
  EXPECT_EQ(Bid(low, kBob, 1).message, "bid not low enough: the price cannot go any lower");
}

TEST_F(OneSidedTest, ReverseEnglishUsesTheAuctionsOwnLadder) {
  AuctionSpec spec = ReverseSpec(Format::kReverseEnglish);
  spec.increment_table = {{0, 1}, {5000, 1000}};
  const AuctionId id = Create(spec);
  Bid(id, kAlice, 6000);
  EXPECT_EQ(View(id).next_minimum_bid_minor, 5000);  // 6000 - inc(6000) = 1000
  Bid(id, kBob, 4000);
  EXPECT_EQ(View(id).next_minimum_bid_minor, 3999);  // inc(4000) = 1
}

TEST_F(OneSidedTest, ReverseEnglishWinnerIsPaidTheLowestBid) {
  const AuctionId id = Create(ReverseSpec(Format::kReverseEnglish, 8000));
  Bid(id, kAlice, 9500);
  EXPECT_FALSE(View(id, true).reserve_met);
  Bid(id, kBob, 8000);
  EXPECT_TRUE(View(id, true).reserve_met);
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(s->outcome, kSold);
  EXPECT_EQ(WinnersOf(*s), (std::vector<Won>{{"bob", 1, 8000}}));
  EXPECT_EQ(s->clearing_price_minor, 8000);
}

TEST_F(OneSidedTest, ReverseEnglishLowestAboveTheCeilingIsUnsold) {
  const AuctionId id = Create(ReverseSpec(Format::kReverseEnglish, 8000));
  Bid(id, kAlice, 9500);
  Bid(id, kBob, 8001);
  EXPECT_EQ(View(id, true).spec.reserve_price_minor, 0);  // the ceiling is hidden
  EXPECT_TRUE(View(id, true).has_reserve);
  const auto s = CloseAtEnd(id);
  EXPECT_EQ(s->outcome, kReserveNotMet);
  EXPECT_TRUE(s->winners.empty());
}

TEST_F(OneSidedTest, ReverseEnglishWithoutBidsIsUnsoldNoBids) {
  const AuctionId id = Create(ReverseSpec(Format::kReverseEnglish));
  EXPECT_EQ(CloseAtEnd(id)->outcome, kNoBids);
}

TEST_F(OneSidedTest, ReverseEnglishSoftCloseExtendsAsEnglish) {
  AuctionSpec spec = ReverseSpec(Format::kReverseEnglish);
  spec.soft_close = {true, absl::Minutes(2), absl::Minutes(2), absl::Minutes(3)};
  const AuctionId id = Create(spec);
  ASSERT_EQ(Bid(id, kAlice, 9000, kEnd - absl::Minutes(5)).reason, kOk);
  EXPECT_EQ(View(id).ends_at, kEnd);  // before the window
  ASSERT_EQ(Bid(id, kBob, 8000, kEnd - absl::Minutes(1)).reason, kOk);
  EXPECT_EQ(View(id).ends_at, kEnd + absl::Minutes(1));
  // A refused bid inside the window does not extend.
  EXPECT_EQ(Bid(id, kAlice, 7950, kEnd + absl::Seconds(30)).reason, kNotImproving);
  EXPECT_EQ(View(id).ends_at, kEnd + absl::Minutes(1));
  ASSERT_EQ(Bid(id, kAlice, 7000, kEnd + absl::Seconds(50)).reason, kOk);
  EXPECT_EQ(View(id).ends_at, kEnd + absl::Minutes(2) + absl::Seconds(50));
  ASSERT_EQ(Bid(id, kBob, 6000, kEnd + absl::Minutes(2) + absl::Seconds(40)).reason, kOk);
  EXPECT_EQ(View(id).ends_at, kEnd + absl::Minutes(3));  // capped
  engine_.AdvanceTo(kEnd + absl::Minutes(3));
  EXPECT_EQ(WinnersOf(*SettlementOf(id)), (std::vector<Won>{{"bob", 1, 6000}}));
  EXPECT_EQ(EventsOf(id, AuctionEvent::Kind::kExtended).size(), 3u);
}

TEST_F(OneSidedTest, ReverseEnglishBidsArePublic) {
  const AuctionId id = Create(ReverseSpec(Format::kReverseEnglish));
  Bid(id, kAlice, 9000);
  const std::vector<AuctionEvent> accepted = EventsOf(id, AuctionEvent::Kind::kBidAccepted);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].price_minor, 9000);
  EXPECT_EQ(accepted[0].leader, kAlice);
}

TEST_F(OneSidedTest, ReverseEnglishRefusesMoreThanOneUnit) {
  const AuctionId id = Create(ReverseSpec(Format::kReverseEnglish));
  EXPECT_EQ(Bid(id, kAlice, 9000, kT0, 2).reason, kNoQuantity);
}

TEST_F(OneSidedTest, CancelWorksInEveryFormatOnlyBeforeTheFirstAcceptedBid) {
  for (const AuctionSpec& spec :
       {DutchSpec(), SealedSpec(kFirst), MultiSpec(kUniform, 3),
        ReverseSpec(Format::kReverseEnglish), ReverseSpec(kReverseSealed)}) {
    SCOPED_TRACE(FormatName(spec.format));
    const AuctionId untouched = Create(spec);
    ASSERT_TRUE(engine_.CancelAuction(kSeller, untouched, kT0).ok());
    EXPECT_EQ(SettlementOf(untouched)->outcome, SettlementOutcome::kCancelled);
    const AuctionId bid_on = Create(spec);
    ASSERT_EQ(Bid(bid_on, kDave, spec.start_price_minor).reason, kOk);
    EXPECT_EQ(engine_.CancelAuction(kSeller, bid_on, kT0).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace gavel
