// Value types shared by every layer: ids, enums, the auction spec.
// Pure C++ and Abseil: no gRPC, no SQL.
#ifndef GAVEL_ENGINE_TYPES_H_
#define GAVEL_ENGINE_TYPES_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gavel {

// Auction ids are assigned by the shard that creates the auction: the
// number modulo the shard count is the shard. Shown to users as "A<number>".
using AuctionId = uint64_t;
// A principal (seller, bidder) interned by the server from its tokens file.
using PrincipalId = uint32_t;
// Per-shard sequence number; every accepted command gets the next one.
using Sequence = uint64_t;

inline constexpr PrincipalId kNoPrincipal = 0xFFFFFFFFu;

// Numbering matches gavel.v1.Format.
enum class Format : uint8_t {
  kUnspecified = 0,
  kEnglish = 1,
  kDutch = 2,
  kSealedFirstPrice = 3,
  kSealedSecondPrice = 4,
  kMultiUnitUniform = 5,
  kMultiUnitPayAsBid = 6,
  kReverseEnglish = 7,
  kReverseSealed = 8,
  kDoubleContinuous = 9,
  kDoubleCall = 10,
};
// The double auctions: buy and sell orders (a DoubleAuction).
inline bool TwoSided(Format f) {
  return f == Format::kDoubleContinuous || f == Format::kDoubleCall;
}

// Numbering matches gavel.v1.AuctionState.
enum class AuctionState : uint8_t {
  kUnspecified = 0,
  kScheduled = 1,
  kOpen = 2,
  kClosed = 3,
  kSettled = 4,
  kCancelled = 5,
};

// Numbering matches gavel.v1.Side.
enum class Side : uint8_t { kNone = 0, kBuy = 1, kSell = 2 };

// Numbering matches gavel.v1.RejectReason; kNone means accepted.
enum class RejectReason : uint8_t {
  kNone = 0,
  kBidTooLow = 1,
  kAuctionNotOpen = 2,
  kAuctionClosed = 3,
  kSelfBid = 4,
  kQuantityUnavailable = 5,
  kCurrencyMismatch = 6,
  kBidNotImproving = 7,
  kAmountOverflow = 8,
};

// Numbering matches gavel.v1.SettlementOutcome.
enum class SettlementOutcome : uint8_t {
  kUnspecified = 0,
  kSold = 1,
  kUnsoldNoBids = 2,
  kUnsoldReserveNotMet = 3,
  kCancelled = 4,
};

// Upper-case names as in the proto ("ENGLISH", "OPEN", "BID_TOO_LOW", ...).
absl::string_view FormatName(Format f);
absl::string_view StateName(AuctionState s);
absl::string_view SideName(Side s);
absl::string_view RejectReasonName(RejectReason r);  // kNone: "ACCEPTED"
absl::string_view OutcomeName(SettlementOutcome o);
// Parses the names above; nullopt-like failure as InvalidArgument.
absl::StatusOr<Format> ParseFormatName(absl::string_view name);
absl::StatusOr<SettlementOutcome> ParseOutcomeName(absl::string_view name);

// A value a client sent, quoted for an error message: in double quotes,
// bytes outside printable ASCII escaped (\n, \x1b), and cut after its
// first kQuotedBytes bytes with how long it was, so that neither a long nor
// a binary value makes the message unreadable, or too long for gRPC to send
// back (its metadata limit is 8 KiB).
inline constexpr size_t kQuotedBytes = 40;
std::string QuoteClientText(absl::string_view text);

// The most units an auction may offer or a bid may ask for.
inline constexpr int64_t kMaxQuantity = 1'000'000'000;

// INVALID_ARGUMENT "FIELD: WHY": how every check of a request names the
// field at fault (API.md).
absl::Status Invalid(absl::string_view field, absl::string_view why);
// INVALID_ARGUMENT "FIELD: does not apply to FORMAT; WHY": a parameter the
// format has no use for.
absl::Status NotApplicable(absl::string_view field, Format format, absl::string_view why);

// "A<number>" and back. ParseAuctionId fails with InvalidArgument.
std::string FormatAuctionId(AuctionId id);
absl::StatusOr<AuctionId> ParseAuctionId(absl::string_view text);
// A bid id names one entry of an auction's bid log: "A<number>-<entry>",
// entry counted from 1.
std::string FormatBidId(AuctionId id, uint32_t entry);
// "A<number>-<entry>" back to its parts; InvalidArgument naming `field`.
absl::Status ParseBidId(absl::string_view text, absl::string_view field, AuctionId* id,
                        uint32_t* entry);

struct IncrementStep {
  int64_t from_minor = 0;  // applies to prices >= from_minor
  int64_t step_minor = 0;
};

struct SoftCloseRule {
  bool enabled = false;
  absl::Duration window;
  absl::Duration extension;
  absl::Duration cap;
};

struct DutchClockRule {
  int64_t decrement_minor = 0;
  absl::Duration tick_interval;
  int64_t floor_price_minor = 0;

  // Whether any part of a clock was given (all zero: none).
  bool Set() const {
    return decrement_minor != 0 || floor_price_minor != 0 || tick_interval != absl::ZeroDuration();
  }
};

// What a seller asked for. Times are absolute: the server resolves
// "duration" and "starts_at unset" against the clock before the engine sees
// the spec, so replay never consults a clock.
struct AuctionSpec {
  std::string title;
  std::string description;
  std::string category;
  Format format = Format::kUnspecified;
  std::string currency;  // ISO 4217, three upper-case letters
  int64_t quantity = 1;
  int64_t start_price_minor = 0;
  int64_t reserve_price_minor = 0;  // 0: none
  int64_t buy_now_price_minor = 0;  // 0: none
  absl::Time starts_at;
  absl::Time ends_at;
  SoftCloseRule soft_close;
  DutchClockRule dutch;
  std::vector<IncrementStep> increment_table;  // empty: default ladder
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_TYPES_H_
