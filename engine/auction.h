// One auction's state: the parts every format shares (spec, state, bid log,
// idempotency keys, event history) and the per-format rules behind a small
// virtual interface. Owned by exactly one shard; never touched by another
// thread. docs/FORMATS.md explains each format's rules to users.
#ifndef GAVEL_ENGINE_AUCTION_H_
#define GAVEL_ENGINE_AUCTION_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/bid_log.h"
#include "engine/hash_index.h"
#include "engine/increment.h"
#include "engine/settlement.h"
#include "engine/types.h"

namespace gavel {

// The latest starts_at or ends_at an auction may have, and how refusals
// name it.
inline constexpr absl::Time kLatestAuctionTime = absl::FromUnixSeconds(7'258'118'400);
inline constexpr absl::string_view kLatestAuctionTimeText = "2200-01-01T00:00:00Z";

// An absl::Time in 8 bytes instead of 16: unix nanoseconds, with the two
// infinities kept. Converts both ways implicitly, so fields of this type
// read and compare like absl::Time. Times here come from the clock and from
// protobuf Timestamps, both whole nanoseconds, so nothing is lost (a finite
// time beyond 1678-2262 would become an infinity).
class PackedTime {
 public:
  PackedTime() = default;
  PackedTime(absl::Time t)  // NOLINT: implicit by design
      : nanos_(t == absl::InfiniteFuture() ? kFuture
               : t == absl::InfinitePast() ? kPast
                                           : absl::ToUnixNanos(t)) {}
  // The raw value: orders like the time (infinities at the ends).
  int64_t nanos() const { return nanos_; }
  operator absl::Time() const {  // NOLINT: implicit by design
    return nanos_ == kFuture ? absl::InfiniteFuture()
           : nanos_ == kPast ? absl::InfinitePast()
                             : absl::FromUnixNanos(nanos_);
  }

 private:
  static constexpr int64_t kFuture = INT64_MAX;
  static constexpr int64_t kPast = INT64_MIN;
  int64_t nanos_ = 0;  // the unix epoch, as absl::Time{}
};

// Limits on an item's text (checked for every format).
inline constexpr size_t kMaxTitleBytes = 200;
inline constexpr size_t kMaxDescriptionBytes = 10000;

// Something that happened to an auction, in per-shard sequence order: every
// field but the settlement, trivially copyable (an EventFeed copies it
// word by word between threads).
struct AuctionEventFields {
  enum class Kind : uint8_t {
    kStateChanged,  // state: OPEN at starts_at (every end is kClosed)
    kBidAccepted,   // price_minor, leader, bid_entry, bid_count
    kPriceTick,     // price_minor (Dutch)
    kExtended,      // new_ends_at (soft close)
    kTrade,         // trade (double auctions)
    kIndicative,    // price_minor, quantity (call market)
    kClosed,        // settlement
  };
  AuctionId auction_id = 0;
  Sequence sequence = 0;
  absl::Time at;
  Kind kind = Kind::kStateChanged;
  AuctionState state = AuctionState::kUnspecified;
  int64_t price_minor = 0;
  int64_t quantity = 0;
  int64_t bid_count = 0;
  PrincipalId leader = kNoPrincipal;
  uint32_t bid_entry = 0;
  // kTrade: the resting order the incoming one (bid_entry) traded with, at
  // price_minor for quantity. A format raises the event with these; the
  // engine adds who bought and who sold (Auction::CompleteTrade). Trades are
  // not stored as events: ForEachEvent rebuilds them from the bid log and
  // the format's fills.
  uint32_t counter_entry = 0;
  bool incoming_buys = false;
  PrincipalId buyer = kNoPrincipal;
  PrincipalId seller = kNoPrincipal;
  absl::Time new_ends_at;

  uint32_t buy_entry() const { return incoming_buys ? bid_entry : counter_entry; }
  uint32_t sell_entry() const { return incoming_buys ? counter_entry : bid_entry; }
};
static_assert(std::is_trivially_copyable_v<AuctionEventFields>);

struct AuctionEvent : AuctionEventFields {
  std::shared_ptr<const Settlement> settlement;  // kClosed only
};

// A bid as the format sees it. REQUIRES (checked by the engine before the
// format is asked): the auction is open, at < ends_at, bidder != seller,
// 0 < amount_minor <= kMaxAmountMinor, quantity >= 1.
struct BidInput {
  PrincipalId bidder = kNoPrincipal;
  int64_t amount_minor = 0;
  int64_t quantity = 1;
  Side side = Side::kNone;
  bool immediate_or_cancel = false;
  absl::Time at;
  uint32_t entry = 0;  // this bid's index + 1 in the bid log
};

// One execution against a resting order (continuous double auction), as
// the incoming order sees it.
struct Fill {
  uint32_t counter_entry = 0;  // the resting order's bid log entry
  int64_t price_minor = 0;
  int64_t quantity = 0;
};

// The format's answer to one bid.
struct BidDecision {
  RejectReason reason = RejectReason::kNone;
  int64_t minimum_minor = 0;  // with kBidTooLow: the least that would do
  bool leading = false;
  bool close_now = false;  // buy-it-now taken, or sold out
  std::vector<Fill> fills;  // trades this bid made at once (double auctions)
};

// A price level of an order book, as public views show it.
struct BookLevel {
  int64_t price_minor = 0;
  int64_t quantity = 0;
  int64_t orders = 0;
};

// Who won, as the format decides at close.
struct CloseOutcome {
  SettlementOutcome outcome = SettlementOutcome::kUnsoldNoBids;
  struct Award {
    PrincipalId bidder = kNoPrincipal;
    uint32_t entry = 0;
    int64_t quantity = 0;
    int64_t price_minor = 0;
  };
  std::vector<Award> awards;
  // Double auctions: every trade in execution order.
  struct TradeAward {
    uint32_t buy_entry = 0;
    uint32_t sell_entry = 0;
    PrincipalId buyer = kNoPrincipal;
    PrincipalId seller = kNoPrincipal;
    int64_t price_minor = 0;
    int64_t quantity = 0;
  };
  std::vector<TradeAward> trades;
  int64_t clearing_price_minor = 0;
};

// The close of a format with one winner at one price (English, reverse
// English): SOLD to `leader` at `price`, or why not.
CloseOutcome SingleWinnerOutcome(PrincipalId leader, bool reserve_met, uint32_t entry,
                                 int64_t price_minor);

// What a public view shows (GetAuction, ListAuctions).
struct AuctionView {
  AuctionId auction_id = 0;
  PrincipalId seller = kNoPrincipal;
  AuctionSpec spec;  // reserve_price_minor zeroed in public views
  bool has_reserve = false;
  AuctionState state = AuctionState::kUnspecified;
  int64_t current_price_minor = 0;
  PrincipalId leader = kNoPrincipal;
  int64_t bid_count = 0;
  bool reserve_met = false;
  bool buy_now_available = false;
  absl::Time ends_at;
  Sequence sequence = 0;
  int64_t quantity_remaining = 0;
  int64_t next_minimum_bid_minor = 0;
  // Double auctions: the book, best first (public: levels, not orders).
  std::vector<BookLevel> buy_levels;
  std::vector<BookLevel> sell_levels;
  // Call market: the price and volume it would clear at now.
  int64_t indicative_price_minor = 0;
  int64_t indicative_volume = 0;
  // Dutch: when the clock next moves (InfiniteFuture: it does not).
  absl::Time next_tick_at = absl::InfiniteFuture();
};

class Auction {
 public:
  // REQUIRES: spec validated by MakeAuction (the increment table is valid).
  Auction(AuctionId id, PrincipalId seller, AuctionSpec spec, absl::Time created_at);
  virtual ~Auction() = default;
  Auction(const Auction&) = delete;
  Auction& operator=(const Auction&) = delete;

  // ---- Per-format rules ----
  // Decides one bid. Returns a rejection without changing state, or updates
  // the format's state and says whether the bidder now leads. Events the
  // format raises besides the bid's own acceptance (trades, indicative
  // prices) go to `events`; the engine numbers and publishes them after the
  // bid_accepted event. Only `at`, `kind` and the payload need filling.
  virtual BidDecision Place(const BidInput& bid, std::vector<AuctionEvent>* events) = 0;
  // Decides the result at `at` (ends_at, or at once when Place said
  // close_now). Called once.
  virtual CloseOutcome Close(absl::Time at) = 0;
  // Called once when the auction opens.
  virtual void OnOpen(absl::Time /*at*/) {}
  // A format's own timer (the Dutch clock): the next time it wants OnTimer,
  // or InfiniteFuture. Asked after open, after every bid and after every
  // OnTimer; timers at or after ends_at never fire.
  virtual absl::Time NextTimer() const { return absl::InfiniteFuture(); }
  virtual void OnTimer(absl::Time /*at*/, std::vector<AuctionEvent>* /*events*/) {}
  // Cancels the owner's resting order (bid log entry `entry`). Returns the
  // quantity cancelled; NotFound (no such resting order), PermissionDenied
  // (another owner's), FailedPrecondition (the format has no resting orders).
  // Events the cancel raises (a new indicative price) go to `events`, as in
  // Place.
  virtual absl::StatusOr<int64_t> CancelOrder(PrincipalId owner, uint32_t entry,
                                              std::vector<AuctionEvent>* events);
  // The fills bid log entry `entry` made when it arrived (for idempotent
  // replays of the answer).
  virtual void FillsOf(uint32_t /*entry*/, std::vector<Fill>* /*out*/) const {}
  // The trades entry `entry` made when it arrived, each raised as a kTrade
  // event right after its acceptance (ForEachEvent rebuilds them from
  // these). Only a format that trades on arrival has any; a Dutch bid's
  // fills are units bought, not trades.
  virtual void TradesOf(uint32_t /*entry*/, std::vector<Fill>* /*out*/) const {}
  // Adds format-specific parts to a view (book levels, indicative price,
  // next tick).
  virtual void FillView(AuctionView* /*view*/, bool /*public_view*/) const {}
  virtual int64_t CurrentPrice() const = 0;
  // The price shown once the auction is over: the current one, except
  // where the format's clock went on past the last sale (Dutch).
  virtual int64_t FinalPrice() const { return CurrentPrice(); }
  // The price a view or a refused late bid shows: CurrentPrice while the
  // auction is scheduled or open, FinalPrice once it is over.
  int64_t ShownPrice() const {
    return state_ == AuctionState::kOpen || state_ == AuctionState::kScheduled ? CurrentPrice()
                                                                               : FinalPrice();
  }
  virtual PrincipalId Leader() const { return kNoPrincipal; }
  virtual bool ReserveMet() const = 0;
  virtual bool BuyNowAvailable() const { return false; }
  // The least a bidder other than the leader may bid now.
  virtual int64_t NextMinimum() const = 0;
  // Whether bid amounts and leaders stay hidden until close (sealed formats).
  virtual bool Sealed() const { return false; }
  virtual int64_t QuantityRemaining() const { return quantity_; }

  // ---- Shared state, maintained by the engine ----
  AuctionId id() const { return id_; }
  PrincipalId seller() const { return seller_; }
  // The spec as listed, rebuilt from the compact form the auction keeps
  // (the item text is copied): for views, settlements and the journal. Hot
  // paths use the accessors below.
  AuctionSpec spec() const;
  Format format() const { return format_; }
  int64_t quantity() const { return quantity_; }
  int64_t start_price_minor() const { return start_price_minor_; }
  int64_t reserve_price_minor() const { return reserve_price_minor_; }  // 0: none
  int64_t buy_now_price_minor() const { return buy_now_price_minor_; }  // 0: none
  absl::Time starts_at() const { return starts_at_; }
  absl::Time listed_ends_at() const { return listed_ends_at_; }  // spec().ends_at
  absl::string_view currency() const { return absl::string_view(currency_, 3); }
  const SoftCloseRule& soft_close() const;
  const DutchClockRule& dutch() const;
  AuctionState state() const { return state_; }
  absl::Time ends_at() const { return ends_at_; }
  absl::Time created_at() const { return created_at_; }
  int64_t accepted_bids() const { return accepted_bids_; }
  Sequence last_sequence() const { return last_sequence_; }
  const BidLog& bids() const { return bids_; }
  // Bid log entry `entry` (1-based, as entries are numbered everywhere).
  const BidEntry& Entry(uint32_t entry) const { return bids_[entry - 1]; }
  // Calls fn(const AuctionEvent&) for every event with sequence >=
  // from_sequence, in sequence order, until fn returns false; returns false
  // when fn did. Only the rare events are stored; the opening and every
  // kBidAccepted are rebuilt here (from the bid log), exactly as they were
  // published. The one way to read an auction's history.
  template <typename Fn>
  bool ForEachEvent(Sequence from_sequence, Fn&& fn) const;
  // The kClosed event (a close or a cancel), or null.
  const AuctionEvent* closed_event() const;
  // Fills `e` as the kBidAccepted event of bid log entry `entry`, the
  // `bid_count`th accepted bid (fields of other kinds untouched: pass a
  // default or an earlier bid_accepted). REQUIRES: that entry was accepted.
  void BidAcceptedEvent(uint32_t entry, int64_t bid_count, AuctionEvent* e) const;
  // Fills the engine's part of a kTrade event the format raised (buyer,
  // seller, incoming_buys) from the bid log.
  void CompleteTrade(AuctionEvent* e) const;
  // The kStateChanged OPEN event, at max(created_at, starts_at). REQUIRES:
  // the auction has opened (the engine set open_sequence_).
  AuctionEvent OpenEvent() const;
  const IncrementLadder& ladder() const {
    return rules_ != nullptr && rules_->ladder != nullptr ? *rules_->ladder
                                                          : IncrementLadder::Default();
  }
  // The stored (rare) events, in sequence order.
  absl::Span<const AuctionEvent> history() const {
    return history_ == nullptr ? absl::Span<const AuctionEvent>() : *history_;
  }

  AuctionView View(bool public_view) const;

 private:
  friend class Engine;

  // The parts of a spec most auctions leave at their defaults, allocated
  // only when one is set.
  struct Rules {
    SoftCloseRule soft_close;
    DutchClockRule dutch;
    std::unique_ptr<const IncrementLadder> ladder;  // a custom ladder, or null
  };
  static std::unique_ptr<const Rules> RulesFor(const AuctionSpec& spec);

  // What a bid reads first, together at the front of the object.
  const AuctionId id_;
  const PrincipalId seller_;
  uint32_t accepted_bids_ = 0;  // bid log entries are numbered in 32 bits
  const Format format_;
  AuctionState state_ = AuctionState::kScheduled;
  char currency_[3];
  // The item text's parts (ValidateCommon: title <= 200, description <=
  // 10000 bytes), here to fill the padding.
  uint8_t title_size_ = 0;
  uint16_t description_size_ = 0;
  Sequence last_sequence_ = 0;
  PackedTime ends_at_;
  BidLog bids_;
  // (bidder, client_bid_id) hashed to 64 bits -> entry in bids_ (1-based).
  HashIndex client_bid_ids_;
  const int64_t start_price_minor_;
  const int64_t reserve_price_minor_;
  const int64_t buy_now_price_minor_;

  // The rest of the spec, compact: spec() rebuilds it.
  const int64_t quantity_;
  const PackedTime starts_at_;
  const PackedTime listed_ends_at_;
  const PackedTime created_at_;
  const std::unique_ptr<const Rules> rules_;  // null: all defaults
  // title, description and category, one after the other.
  std::string item_text_;
  // The rare events (not the opening, not kBidAccepted, not kTrade): see
  // ForEachEvent. Null until the first.
  std::unique_ptr<std::vector<AuctionEvent>> history_;
  PackedTime armed_timer_ = absl::InfiniteFuture();  // the format timer in the heap
  // The opening's event, kept as its two variable fields (0: not opened);
  // it happened at max(created_at, starts_at).
  Sequence open_sequence_ = 0;
  int64_t open_price_minor_ = 0;
};

template <typename Fn>
bool Auction::ForEachEvent(Sequence from_sequence, Fn&& fn) const {
  if (open_sequence_ != 0 && open_sequence_ >= from_sequence) {
    const AuctionEvent e = OpenEvent();
    if (!fn(e)) return false;
  }
  // Merge the stored events with those rebuilt from the bid log: each
  // accepted bid and then the trades it made, which took the sequence
  // numbers right after it. bid_count counts every accepted bid, also those
  // before from_sequence.
  const absl::Span<const AuctionEvent> stored = history();
  size_t h = 0;
  while (h < stored.size() && stored[h].sequence < from_sequence) ++h;
  auto give = [&](const AuctionEvent& e) {
    for (; h < stored.size() && stored[h].sequence < e.sequence; ++h) {
      if (!fn(stored[h])) return false;
    }
    return e.sequence < from_sequence || fn(e);
  };
  int64_t count = 0;
  std::vector<Fill> fills;
  for (size_t b = 0; b < bids_.size(); ++b) {
    const BidEntry& bid = bids_[b];
    if (bid.result != RejectReason::kNone) continue;
    ++count;
    const uint32_t entry = static_cast<uint32_t>(b + 1);
    fills.clear();
    TradesOf(entry, &fills);
    if (bid.sequence + fills.size() < from_sequence) continue;
    AuctionEvent e;
    BidAcceptedEvent(entry, count, &e);
    if (!give(e)) return false;
    for (size_t i = 0; i < fills.size(); ++i) {
      AuctionEvent t;
      t.auction_id = id_;
      t.sequence = bid.sequence + 1 + i;
      t.at = bid.at();
      t.kind = AuctionEvent::Kind::kTrade;
      t.price_minor = fills[i].price_minor;
      t.quantity = fills[i].quantity;
      t.bid_entry = entry;
      t.counter_entry = fills[i].counter_entry;
      CompleteTrade(&t);
      if (!give(t)) return false;
    }
  }
  for (; h < stored.size(); ++h) {
    if (!fn(stored[h])) return false;
  }
  return true;
}

// Creates the format's Auction, or InvalidArgument naming the offending
// field.
absl::StatusOr<std::unique_ptr<Auction>> MakeAuction(AuctionId id, PrincipalId seller,
                                                     AuctionSpec spec, absl::Time created_at);

// The factories of each family of formats, REQUIRES: the spec passed the
// checks every format shares. engine/one_sided.cc: DUTCH, the sealed and
// multi-unit formats, REVERSE_*; engine/double_auction.cc: DOUBLE_*.
absl::StatusOr<std::unique_ptr<Auction>> MakeOneSidedAuction(AuctionId id, PrincipalId seller,
                                                             AuctionSpec spec,
                                                             absl::Time created_at);
absl::StatusOr<std::unique_ptr<Auction>> MakeDoubleAuction(AuctionId id, PrincipalId seller,
                                                           AuctionSpec spec,
                                                           absl::Time created_at);

}  // namespace gavel

#endif  // GAVEL_ENGINE_AUCTION_H_
