#include "engine/auction.h"

#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/english.h"
#include "engine/money.h"

namespace gavel {
namespace {

std::unique_ptr<const IncrementLadder> LadderFor(const AuctionSpec& spec) {
  if (spec.increment_table.empty()) return nullptr;
  return std::make_unique<const IncrementLadder>(
      IncrementLadder::FromTable(spec.increment_table).value());
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status CheckAmount(absl::string_view field, int64_t v, bool allow_zero) {
  if (v < 0 || (!allow_zero && v == 0)) {
    return Invalid(field, allow_zero ? "must not be negative" : "must be positive");
  }
  if (v > kMaxAmountMinor) {
    return Invalid(field, absl::StrCat("must be at most ", kMaxAmountMinor, " minor units"));
  }
  return absl::OkStatus();
}

// Rules every format shares.
absl::Status ValidateCommon(const AuctionSpec& s) {
  if (s.title.empty()) return Invalid("item.title", "is required");
  if (s.title.size() > 200) return Invalid("item.title", "at most 200 bytes");
  if (s.description.size() > 10000) return Invalid("item.description", "at most 10000 bytes");
  if (s.category.size() > 100) return Invalid("item.category", "at most 100 bytes");
  // PostgreSQL text cannot hold NUL; refuse it here rather than at settlement.
  for (const auto& [field, text] : {std::pair<absl::string_view, const std::string*>{
                                        "item.title", &s.title},
                                    {"item.description", &s.description},
                                    {"item.category", &s.category}}) {
    if (text->find('\0') != std::string::npos) return Invalid(field, "must not contain NUL bytes");
  }
  if (s.currency.size() != 3 || !std::isupper(static_cast<unsigned char>(s.currency[0])) ||
      !std::isupper(static_cast<unsigned char>(s.currency[1])) ||
      !std::isupper(static_cast<unsigned char>(s.currency[2]))) {
    return Invalid("currency", "must be an ISO 4217 code of three upper-case letters, like EUR");
  }
  if (s.quantity < 1 || s.quantity > 1'000'000'000) {
    return Invalid("quantity", "must be between 1 and 1000000000");
  }
  if (auto st = CheckAmount("start_price_minor", s.start_price_minor, false); !st.ok()) return st;
  if (auto st = CheckAmount("reserve_price_minor", s.reserve_price_minor, true); !st.ok()) {
    return st;
  }
  if (auto st = CheckAmount("buy_now_price_minor", s.buy_now_price_minor, true); !st.ok()) {
    return st;
  }
  if (s.ends_at <= s.starts_at) return Invalid("ends_at", "must be after starts_at");
  if (s.ends_at - s.starts_at > absl::Hours(24 * 366)) {
    return Invalid("ends_at", "an auction may run at most 366 days");
  }
  if (s.soft_close.enabled) {
    if (s.soft_close.window <= absl::ZeroDuration()) {
      return Invalid("soft_close.window", "must be positive");
    }
    if (s.soft_close.extension <= absl::ZeroDuration()) {
      return Invalid("soft_close.extension", "must be positive");
    }
    if (s.soft_close.cap < absl::ZeroDuration()) {
      return Invalid("soft_close.cap", "must not be negative");
    }
  }
  if (auto ladder = IncrementLadder::FromTable(s.increment_table); !ladder.ok()) {
    return ladder.status();
  }
  return absl::OkStatus();
}

absl::Status ValidateEnglish(const AuctionSpec& s) {
  if (s.quantity != 1) return Invalid("quantity", "an ENGLISH auction sells exactly 1 unit");
  if (s.reserve_price_minor != 0 && s.reserve_price_minor < s.start_price_minor) {
    return Invalid("reserve_price_minor", "must be at least start_price_minor (or 0: none)");
  }
  if (s.buy_now_price_minor != 0) {
    if (s.buy_now_price_minor <= s.start_price_minor) {
      return Invalid("buy_now_price_minor", "must be above start_price_minor (or 0: none)");
    }
    if (s.buy_now_price_minor < s.reserve_price_minor) {
      return Invalid("buy_now_price_minor", "must be at least reserve_price_minor");
    }
  }
  return absl::OkStatus();
}

}  // namespace

Auction::Auction(AuctionId id, PrincipalId seller, AuctionSpec spec, absl::Time created_at)
    : id_(id),
      seller_(seller),
      spec_(std::move(spec)),
      owned_ladder_(LadderFor(spec_)),
      ladder_(owned_ladder_ ? owned_ladder_.get() : &IncrementLadder::Default()),
      created_at_(created_at),
      ends_at_(spec_.ends_at) {}

AuctionView Auction::View(bool public_view) const {
  AuctionView v;
  v.auction_id = id_;
  v.seller = seller_;
  v.spec = spec_;
  v.has_reserve = spec_.reserve_price_minor > 0;
  if (public_view) v.spec.reserve_price_minor = 0;
  v.state = state_;
  v.bid_count = accepted_bids_;
  v.ends_at = ends_at_;
  v.sequence = last_sequence_;
  v.quantity_remaining = QuantityRemaining();
  const bool hide = public_view && Sealed() && state_ == AuctionState::kOpen;
  if (!hide) {
    v.current_price_minor = CurrentPrice();
    v.leader = Leader();
    v.reserve_met = ReserveMet();
  }
  const bool live = state_ == AuctionState::kOpen || state_ == AuctionState::kScheduled;
  v.buy_now_available = live && BuyNowAvailable();
  v.next_minimum_bid_minor = live ? NextMinimum() : 0;
  FillView(&v, public_view);
  return v;
}

absl::StatusOr<std::unique_ptr<Auction>> MakeAuction(AuctionId id, PrincipalId seller,
                                                     AuctionSpec spec, absl::Time created_at) {
  if (auto st = ValidateCommon(spec); !st.ok()) return st;
  switch (spec.format) {
    case Format::kEnglish:
      if (auto st = ValidateEnglish(spec); !st.ok()) return st;
      return std::make_unique<EnglishAuction>(id, seller, std::move(spec), created_at);
    case Format::kDutch:
    case Format::kSealedFirstPrice:
    case Format::kSealedSecondPrice:
    case Format::kMultiUnitUniform:
    case Format::kMultiUnitPayAsBid:
    case Format::kReverseEnglish:
    case Format::kReverseSealed:
      return MakeOneSidedAuction(id, seller, std::move(spec), created_at);
    case Format::kDoubleContinuous:
    case Format::kDoubleCall:
      return MakeDoubleAuction(id, seller, std::move(spec), created_at);
    case Format::kUnspecified:
      break;
  }
  return Invalid("format", "is required (ENGLISH, DUTCH, SEALED_FIRST_PRICE, ...)");
}

CloseOutcome SingleWinnerOutcome(PrincipalId leader, bool reserve_met, uint32_t entry,
                                 int64_t price_minor) {
  CloseOutcome out;
  if (leader == kNoPrincipal) {
    out.outcome = SettlementOutcome::kUnsoldNoBids;
  } else if (!reserve_met) {
    out.outcome = SettlementOutcome::kUnsoldReserveNotMet;
  } else {
    out.outcome = SettlementOutcome::kSold;
    out.awards.push_back({leader, entry, 1, price_minor});
    out.clearing_price_minor = price_minor;
  }
  return out;
}

absl::StatusOr<int64_t> Auction::CancelOrder(PrincipalId, uint32_t, std::vector<AuctionEvent>*) {
  return absl::FailedPreconditionError(absl::StrCat(
      "only resting orders of a double auction can be cancelled; auction ", FormatAuctionId(id_),
      " is ", FormatName(spec_.format)));
}

}  // namespace gavel
