// Seeded random bid streams through the one-sided formats besides ENGLISH,
// each checked two ways: against a small reference model written here from
// RULES.md alone (every bid's answer, then the outcome and every winner, in
// order), and against properties that must hold whatever the model says: no
// unit oversold; every price within its winner's limit (at most the bid;
// reverse: at least it); a uniform price never above a winner's bid; a
// second price never above the winner's bid nor below max(reserve, start).
// A failure prints the format and the seed that reproduces it.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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

constexpr int kCasesPerFormat = 2000;
constexpr PrincipalId kFirstBidder = 10;

// RULES.md's default ladder, written out again so the model does not lean on
// engine/increment.cc.
int64_t Inc(int64_t x) {
  static constexpr std::pair<int64_t, int64_t> kLadder[] = {
      {500000, 10000}, {250000, 5000}, {100000, 2500}, {50000, 1000}, {25000, 500},
      {10000, 250},    {2500, 100},    {500, 50},      {100, 25},     {0, 5}};
  for (const auto& [from, step] : kLadder) {
    if (x >= from) return step;
  }
  return 5;
}

struct StreamBid {
  PrincipalId bidder;
  int64_t amount;
  int64_t quantity;
  absl::Time at;
};

struct ModelWinner {
  PrincipalId bidder;
  int64_t quantity;
  int64_t price;
  uint32_t entry;
  bool operator==(const ModelWinner& o) const {
    return bidder == o.bidder && quantity == o.quantity && price == o.price && entry == o.entry;
  }
};

void PrintTo(const ModelWinner& w, std::ostream* os) {
  *os << "{p" << w.bidder << " #" << w.entry << ", " << w.quantity << " at " << w.price << "}";
}

// What the rules say, bid by bid, then at the close.
class Model {
 public:
  explicit Model(const AuctionSpec& spec) : spec_(spec) {}

  // The answer to the next bid, which gets bid log entry `entry` if it
  // reaches the format. Returns kAuctionClosed once sold out.
  RejectReason Place(const StreamBid& b, uint32_t entry) {
    if (closed_) return RejectReason::kAuctionClosed;
    switch (spec_.format) {
      case Format::kDutch:
        return PlaceDutch(b, entry);
      case Format::kReverseEnglish:
        return PlaceReverseEnglish(b, entry);
      default:
        return PlaceSealed(b, entry);
    }
  }

  bool closed() const { return closed_; }

  SettlementOutcome Close(std::vector<ModelWinner>* winners) const {
    switch (spec_.format) {
      case Format::kDutch:
        *winners = dutch_sales_;
        return dutch_sales_.empty() ? SettlementOutcome::kUnsoldNoBids : SettlementOutcome::kSold;
      case Format::kReverseEnglish:
        if (low_bidder_ == kNoPrincipal) return SettlementOutcome::kUnsoldNoBids;
        if (spec_.reserve_price_minor > 0 && low_ > spec_.reserve_price_minor) {
          return SettlementOutcome::kUnsoldReserveNotMet;
        }
        winners->push_back({low_bidder_, 1, low_, low_entry_});
        return SettlementOutcome::kSold;
      default:
        return CloseSealed(winners);
    }
  }

 private:
  bool Multi() const {
    return spec_.format == Format::kMultiUnitUniform || spec_.format == Format::kMultiUnitPayAsBid;
  }
  bool Reverse() const {
    return spec_.format == Format::kReverseSealed || spec_.format == Format::kReverseEnglish;
  }

  // price(t), by walking the clock one tick at a time.
  int64_t DutchPrice(absl::Time t) const {
    int64_t price = spec_.start_price_minor;
    for (absl::Time tick = spec_.starts_at + spec_.dutch.tick_interval; tick <= t;
         tick += spec_.dutch.tick_interval) {
      price -= spec_.dutch.decrement_minor;
      if (price <= spec_.dutch.floor_price_minor) return spec_.dutch.floor_price_minor;
    }
    return price;
  }

  RejectReason PlaceDutch(const StreamBid& b, uint32_t entry) {
    const int64_t price = DutchPrice(b.at);
    if (b.amount != 0 && b.amount < price) return RejectReason::kBidTooLow;
    const int64_t units = std::min(b.quantity, spec_.quantity - sold_);
    sold_ += units;
    dutch_sales_.push_back({b.bidder, units, price, entry});
    closed_ = sold_ == spec_.quantity;
    return RejectReason::kNone;
  }

  RejectReason PlaceReverseEnglish(const StreamBid& b, uint32_t entry) {
    if (b.quantity != 1) return RejectReason::kQuantityUnavailable;
    const int64_t most = low_bidder_ == kNoPrincipal ? spec_.start_price_minor : low_ - Inc(low_);
    if (b.amount > most) return RejectReason::kBidNotImproving;
    low_ = b.amount;
    low_bidder_ = b.bidder;
    low_entry_ = entry;
    return RejectReason::kNone;
  }

  RejectReason PlaceSealed(const StreamBid& b, uint32_t entry) {
    if (b.quantity > (Multi() ? spec_.quantity : 1)) return RejectReason::kQuantityUnavailable;
    if (Reverse() && b.amount > spec_.start_price_minor) return RejectReason::kBidNotImproving;
    if (!Reverse() && b.amount < spec_.start_price_minor) return RejectReason::kBidTooLow;
    standing_[b.bidder] = {b.bidder, b.quantity, b.amount, entry};  // replaces
    return RejectReason::kNone;
  }

  SettlementOutcome CloseSealed(std::vector<ModelWinner>* winners) const {
    if (standing_.empty()) return SettlementOutcome::kUnsoldNoBids;
    // Rank by a sort key: price (high first; reverse: low first), for
    // pay-as-bid the larger quantity, then the earlier entry.
    using Key = std::tuple<int64_t, int64_t, uint32_t>;
    auto key = [this](const ModelWinner& w) {
      const int64_t price_key = Reverse() ? w.price : -w.price;
      const int64_t quantity_key = spec_.format == Format::kMultiUnitPayAsBid ? -w.quantity : 0;
      return Key{price_key, quantity_key, w.entry};
    };
    std::vector<ModelWinner> ranked;
    for (const auto& [bidder, bid] : standing_) ranked.push_back(bid);
    std::sort(ranked.begin(), ranked.end(),
              [&](const ModelWinner& a, const ModelWinner& b) { return key(a) < key(b); });
    const int64_t r = spec_.reserve_price_minor;
    int64_t left = Multi() ? spec_.quantity : 1;
    for (const ModelWinner& bid : ranked) {
      if (left == 0) break;
      const bool meets = r == 0 || (Reverse() ? bid.price <= r : bid.price >= r);
      if (!meets) continue;
      const int64_t units = std::min(left, bid.quantity);
      winners->push_back({bid.bidder, units, bid.price, bid.entry});
      left -= units;
    }
    if (winners->empty()) return SettlementOutcome::kUnsoldReserveNotMet;
    if (spec_.format == Format::kSealedSecondPrice) {
      const int64_t second = ranked.size() > 1 ? ranked[1].price : 0;
      (*winners)[0].price = std::max({second, r, spec_.start_price_minor});
    }
    if (spec_.format == Format::kMultiUnitUniform) {
      int64_t lowest = winners->front().price;
      for (const ModelWinner& w : *winners) lowest = std::min(lowest, w.price);
      for (ModelWinner& w : *winners) w.price = lowest;
    }
    return SettlementOutcome::kSold;
  }

  const AuctionSpec spec_;
  bool closed_ = false;
  // Dutch.
  int64_t sold_ = 0;
  std::vector<ModelWinner> dutch_sales_;
  // Reverse English.
  int64_t low_ = 0;
  PrincipalId low_bidder_ = kNoPrincipal;
  uint32_t low_entry_ = 0;
  // Sealed: each bidder's standing bid (quantity, price, entry).
  absl::flat_hash_map<PrincipalId, ModelWinner> standing_;
};

int64_t Uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

AuctionSpec RandomSpec(Format format, std::mt19937_64& rng) {
  AuctionSpec s;
  s.title = "lot";
  s.format = format;
  s.currency = "EUR";
  s.starts_at = kT0;
  s.ends_at = kT0 + absl::Hours(1);
  // Prices on a coarse grid so that equal bids are common.
  s.start_price_minor = 100 * Uniform(rng, 5, 50);
  const bool multi = format == Format::kMultiUnitUniform || format == Format::kMultiUnitPayAsBid;
  const bool reverse = format == Format::kReverseSealed || format == Format::kReverseEnglish;
  if (multi) s.quantity = Uniform(rng, 1, 8);
  if (format == Format::kDutch) {
    s.quantity = Uniform(rng, 1, 5);
    s.dutch.decrement_minor = 50 * Uniform(rng, 1, 10);
    s.dutch.tick_interval = absl::Seconds(Uniform(rng, 1, 120));
    s.dutch.floor_price_minor = Uniform(rng, 1, s.start_price_minor - 1);
  } else if (Uniform(rng, 0, 2) > 0) {
    // A reserve half the time or so: forward at or above start, reverse at
    // or below it.
    s.reserve_price_minor = reverse ? Uniform(rng, s.start_price_minor / 2, s.start_price_minor)
                                    : Uniform(rng, s.start_price_minor, 2 * s.start_price_minor);
  }
  return s;
}

std::vector<StreamBid> RandomStream(const AuctionSpec& spec, std::mt19937_64& rng) {
  std::vector<StreamBid> out;
  const int bidders = static_cast<int>(Uniform(rng, 1, 6));
  const int n = static_cast<int>(Uniform(rng, 0, 25));
  absl::Time at = spec.starts_at;
  const int64_t start = spec.start_price_minor;
  for (int i = 0; i < n; ++i) {
    at += absl::Milliseconds(Uniform(rng, 0, 3'600'000 / (n + 1)));
    StreamBid b;
    b.bidder = kFirstBidder + static_cast<PrincipalId>(Uniform(rng, 0, bidders - 1));
    b.at = at;
    switch (spec.format) {
      case Format::kDutch:
        b.amount = Uniform(rng, 0, 2) == 0 ? 0 : 50 * Uniform(rng, 1, start / 50);
        b.quantity = Uniform(rng, 1, spec.quantity + 1);
        break;
      case Format::kReverseEnglish:
        // Mostly downwards from the last amount, sometimes not far enough.
        b.amount = std::max<int64_t>(1, start - 25 * Uniform(rng, 0, i * 8 + 4));
        b.quantity = Uniform(rng, 0, 15) == 0 ? 2 : 1;
        break;
      default:
        b.amount = std::max<int64_t>(1, start + 100 * Uniform(rng, -2, 12) -
                                            (spec.format == Format::kReverseSealed ? 1000 : 0));
        b.quantity = Uniform(rng, 1, spec.quantity + (Uniform(rng, 0, 9) == 0 ? 1 : 0));
        break;
    }
    out.push_back(b);
  }
  return out;
}

class OneSidedPropertyTest : public ::testing::TestWithParam<Format> {};

TEST_P(OneSidedPropertyTest, RandomStreamsFollowTheModelAndKeepEveryPromise) {
  const Format format = GetParam();
  FakePrincipalNames names;
  int64_t bids_seen = 0;
  int64_t refused = 0;
  int64_t sold_cases = 0;
  int64_t partial_fills = 0;
  for (uint64_t seed = 1; seed <= kCasesPerFormat; ++seed) {
    SCOPED_TRACE(absl::StrCat(FormatName(format), " seed ", seed));
    std::mt19937_64 rng(seed * 7919 + static_cast<uint64_t>(format));
    const AuctionSpec spec = RandomSpec(format, rng);
    const std::vector<StreamBid> stream = RandomStream(spec, rng);

    RecordingListener listener;
    Engine engine(EngineOptions{}, &names, &listener);
    absl::StatusOr<AuctionView> created = engine.CreateAuction(kSeller, "create", spec, kT0);
    ASSERT_TRUE(created.ok()) << created.status();
    const AuctionId id = created->auction_id;

    Model model(spec);
    uint32_t next_entry = 1;
    // Amount and quantity of each bid log entry, for the promises below.
    absl::flat_hash_map<uint32_t, StreamBid> by_entry;
    for (size_t i = 0; i < stream.size(); ++i) {
      const StreamBid& b = stream[i];
      PlaceBidCommand cmd;
      cmd.auction_id = id;
      cmd.bidder = b.bidder;
      const std::string key = absl::StrCat("b", i);
      cmd.client_bid_id = key;
      cmd.amount_minor = b.amount;
      cmd.quantity = b.quantity;
      absl::StatusOr<BidResult> r = engine.PlaceBid(cmd, b.at);
      ASSERT_TRUE(r.ok()) << r.status();
      const RejectReason expected = model.Place(b, next_entry);
      ASSERT_EQ(RejectReasonName(r->reason), RejectReasonName(expected))
          << "bid " << i << ": p" << b.bidder << " " << b.amount << " x" << b.quantity << " at +"
          << absl::FormatDuration(b.at - kT0);
      if (r->entry != 0) {
        ASSERT_EQ(r->entry, next_entry);
        by_entry[next_entry] = b;
        ++next_entry;
      }
      ++bids_seen;
      if (r->reason != RejectReason::kNone) ++refused;
    }
    engine.AdvanceTo(spec.ends_at);
    ASSERT_EQ(listener.settlements.size(), 1u);
    const Settlement& s = *listener.settlements[0];

    std::vector<ModelWinner> expected_winners;
    const SettlementOutcome expected_outcome = model.Close(&expected_winners);
    ASSERT_EQ(OutcomeName(s.outcome), OutcomeName(expected_outcome));
    std::vector<ModelWinner> winners;
    for (const Winner& w : s.winners) {
      AuctionId bid_auction = 0;
      uint32_t entry = 0;
      ASSERT_TRUE(ParseBidId(w.bid_id, "bid_id", &bid_auction, &entry).ok()) << w.bid_id;
      ASSERT_EQ(bid_auction, id);
      ASSERT_TRUE(by_entry.contains(entry)) << w.bid_id;
      ASSERT_EQ(names.Name(by_entry[entry].bidder), w.bidder_id);
      winners.push_back({by_entry[entry].bidder, w.quantity, w.price_minor, entry});
    }
    ASSERT_EQ(winners, expected_winners);
    if (s.outcome == SettlementOutcome::kSold) ++sold_cases;

    // Promises that hold whatever the model says.
    int64_t units = 0;
    for (const ModelWinner& w : winners) {
      const StreamBid& bid = by_entry[w.entry];
      ASSERT_GE(w.quantity, 1);
      ASSERT_LE(w.quantity, bid.quantity);
      units += w.quantity;
      if (w.quantity < bid.quantity) ++partial_fills;
      switch (format) {
        case Format::kReverseEnglish:
        case Format::kReverseSealed:
          ASSERT_GE(w.price, bid.amount);  // paid at least what they asked
          ASSERT_LE(w.price, spec.start_price_minor);
          if (spec.reserve_price_minor > 0) {
            ASSERT_LE(w.price, spec.reserve_price_minor);
          }
          break;
        case Format::kDutch:
          if (bid.amount > 0) {
            ASSERT_LE(w.price, bid.amount);
          }
          ASSERT_GE(w.price, spec.dutch.floor_price_minor);
          ASSERT_LE(w.price, spec.start_price_minor);
          break;
        default:
          ASSERT_LE(w.price, bid.amount);
          ASSERT_GE(w.price, std::max(spec.start_price_minor, spec.reserve_price_minor));
          break;
      }
    }
    ASSERT_LE(units, spec.quantity);
    if (format == Format::kMultiUnitUniform && !winners.empty()) {
      for (const ModelWinner& w : winners) {
        ASSERT_EQ(w.price, winners.front().price);
        ASSERT_LE(w.price, by_entry[w.entry].amount);
      }
      ASSERT_EQ(s.clearing_price_minor, winners.front().price);
    }
    if (format == Format::kSealedSecondPrice && !winners.empty()) {
      ASSERT_EQ(winners.size(), 1u);
      ASSERT_LE(winners[0].price, by_entry[winners[0].entry].amount);
    }
    if (format == Format::kDutch && model.closed()) {
      ASSERT_EQ(units, spec.quantity);  // closed early only when sold out
    }
  }
  // The streams exercise both sides of the rules.
  EXPECT_GT(bids_seen, kCasesPerFormat * 5);
  EXPECT_GT(sold_cases, kCasesPerFormat / 4);
  EXPECT_LT(sold_cases, kCasesPerFormat);
  EXPECT_GT(refused, 0);
  const bool can_split = format == Format::kDutch || format == Format::kMultiUnitUniform ||
                         format == Format::kMultiUnitPayAsBid;
  EXPECT_EQ(partial_fills > 0, can_split);
}

INSTANTIATE_TEST_SUITE_P(OneSided, OneSidedPropertyTest,
                         ::testing::Values(Format::kDutch, Format::kSealedFirstPrice,
                                           Format::kSealedSecondPrice, Format::kMultiUnitUniform,
                                           Format::kMultiUnitPayAsBid, Format::kReverseEnglish,
                                           Format::kReverseSealed),
                         [](const ::testing::TestParamInfo<Format>& info) {
                           return std::string(FormatName(info.param));
                         });

}  // namespace
}  // namespace gavel
