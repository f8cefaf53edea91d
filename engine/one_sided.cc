// Factory of the one-sided formats other than ENGLISH, with the checks each
// format's spec must pass beyond the ones every format shares.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/auction.h"
#include "engine/dutch.h"
#include "engine/money.h"
#include "engine/reverse_english.h"
#include "engine/sealed.h"

namespace gavel {
namespace {

// A Dutch clock publishes one price_tick event per move; this bounds the
// events (and journal records) one auction can cause.
constexpr int64_t kMaxDutchTicks = 100'000;

bool IsReverse(Format f) { return f == Format::kReverseEnglish || f == Format::kReverseSealed; }

absl::Status ValidateDutchClock(const AuctionSpec& s) {
  const DutchClockRule& c = s.dutch;
  if (c.decrement_minor <= 0) {
    return Invalid("dutch.decrement_minor", "must be positive (how much the price drops per tick)");
  }
  if (c.decrement_minor > kMaxAmountMinor) {
    return Invalid("dutch.decrement_minor",
                   absl::StrCat("must be at most ", kMaxAmountMinor, " minor units"));
  }
  if (c.tick_interval <= absl::ZeroDuration()) {
    return Invalid("dutch.tick_interval", "must be positive (the time between price drops)");
  }
  if (absl::Trunc(c.tick_interval, absl::Milliseconds(1)) != c.tick_interval) {
    return Invalid("dutch.tick_interval", "must be a whole number of milliseconds");
  }
  if (c.floor_price_minor < 1) {
    return Invalid("dutch.floor_price_minor",
                   "must be at least 1 minor unit (the clock never gives the item away)");
  }
  if (c.floor_price_minor >= s.start_price_minor) {
    return Invalid("dutch.floor_price_minor", "must be below start_price_minor");
  }
  absl::Duration remainder;
  const int64_t ticks_in_run =
      absl::IDivDuration(s.ends_at - s.starts_at, c.tick_interval, &remainder);
  const int64_t ticks_to_floor =
      (s.start_price_minor - c.floor_price_minor + c.decrement_minor - 1) / c.decrement_minor;
  if (std::min(ticks_in_run, ticks_to_floor) > kMaxDutchTicks) {
    return Invalid("dutch.tick_interval",
                   absl::StrCat("the price would move more than ", kMaxDutchTicks,
                                " times; use a longer tick_interval or a larger decrement_minor"));
  }
  return absl::OkStatus();
}

// The checks of each one-sided format (the shared ones have passed).
absl::Status ValidateOneSided(const AuctionSpec& s) {
  const Format f = s.format;
  const bool dutch = f == Format::kDutch;
  const bool multi_unit = f == Format::kMultiUnitUniform || f == Format::kMultiUnitPayAsBid;
  if (!dutch && !multi_unit && s.quantity != 1) {
    return Invalid("quantity",
                   absl::StrCat("a ", FormatName(f), " auction ", IsReverse(f) ? "buys" : "sells",
                                " exactly 1 unit (only DUTCH and MULTI_UNIT_* take "
                                "more)"));
  }
  if (s.buy_now_price_minor != 0) {
    return NotApplicable("buy_now_price_minor", f, "only ENGLISH has buy-it-now (leave it 0)");
  }
  if (s.soft_close.enabled && f != Format::kReverseEnglish) {
    return NotApplicable("soft_close", f,
                         "only ENGLISH and REVERSE_ENGLISH extend their close (leave it unset)");
  }
  if (!s.increment_table.empty() && f != Format::kReverseEnglish) {
    return NotApplicable("increment_table", f,
                         "only ENGLISH and REVERSE_ENGLISH step by increments (leave it empty)");
  }
  if (dutch) {
    if (s.reserve_price_minor != 0) {
      return NotApplicable("reserve_price_minor", f,
                           "the clock's floor_price_minor is the lowest price (leave it 0)");
    }
    return ValidateDutchClock(s);
  }
  if (s.dutch.Set()) {
    return NotApplicable("dutch", f, "only a DUTCH auction has a clock (leave it unset)");
  }
  if (s.reserve_price_minor != 0) {
    if (IsReverse(f) && s.reserve_price_minor > s.start_price_minor) {
      return Invalid("reserve_price_minor",
                     "the buyer's ceiling must be at most start_price_minor (or 0: none)");
    }
    if (!IsReverse(f) && s.reserve_price_minor < s.start_price_minor) {
      return Invalid("reserve_price_minor", "must be at least start_price_minor (or 0: none)");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Auction>> MakeOneSidedAuction(AuctionId id, PrincipalId seller,
                                                             AuctionSpec spec,
                                                             absl::Time created_at) {
  if (absl::Status st = ValidateOneSided(spec); !st.ok()) return st;
  switch (spec.format) {
    case Format::kDutch:
      return std::make_unique<DutchAuction>(id, seller, std::move(spec), created_at);
    case Format::kReverseEnglish:
      return std::make_unique<ReverseEnglishAuction>(id, seller, std::move(spec), created_at);
    case Format::kSealedFirstPrice:
    case Format::kSealedSecondPrice:
    case Format::kMultiUnitUniform:
    case Format::kMultiUnitPayAsBid:
    case Format::kReverseSealed:
      return std::make_unique<SealedAuction>(id, seller, std::move(spec), created_at);
    default:
      break;
  }
  return Invalid("format", absl::StrCat(FormatName(spec.format), " is not a one-sided format"));
}

}  // namespace gavel
