#include "engine/auction.h"

#include <algorithm>
#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/english.h"
#include "engine/money.h"

namespace gavel {
namespace {

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
  if (s.title.size() > kMaxTitleBytes) {
    return Invalid("item.title", absl::StrCat("at most ", kMaxTitleBytes, " bytes"));
  }
  if (s.description.size() > kMaxDescriptionBytes) {
    return Invalid("item.description", absl::StrCat("at most ", kMaxDescriptionBytes, " bytes"));
  }
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
  if (s.quantity < 1 || s.quantity > kMaxQuantity) {
    return Invalid("quantity", absl::StrCat("must be between 1 and ", kMaxQuantity));
  }
  if (auto st = CheckAmount("start_price_minor", s.start_price_minor, false); !st.ok()) return st;
  if (auto st = CheckAmount("reserve_price_minor", s.reserve_price_minor, true); !st.ok()) {
    return st;
  }
  if (auto st = CheckAmount("buy_now_price_minor", s.buy_now_price_minor, true); !st.ok()) {
    return st;
  }
  // Times are kept in 64-bit nanoseconds (PackedTime, good to 2262): with
  // these bounds every time an auction can reach, soft-close extensions
  // included, fits.
  const std::string latest = absl::StrCat("must be before ", kLatestAuctionTimeText);
  if (s.starts_at >= kLatestAuctionTime) return Invalid("starts_at", latest);
  if (s.ends_at >= kLatestAuctionTime) return Invalid("ends_at", latest);
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
    const absl::Duration most = absl::Hours(24 * 366);
    if (s.soft_close.window > most) return Invalid("soft_close.window", "at most 366 days");
    if (s.soft_close.extension > most) return Invalid("soft_close.extension", "at most 366 days");
    if (s.soft_close.cap > most) return Invalid("soft_close.cap", "at most 366 days");
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

std::unique_ptr<const Auction::Rules> Auction::RulesFor(const AuctionSpec& spec) {
  const SoftCloseRule& sc = spec.soft_close;
  const DutchClockRule& dc = spec.dutch;
  const bool default_soft_close = !sc.enabled && sc.window == absl::ZeroDuration() &&
                                  sc.extension == absl::ZeroDuration() &&
                                  sc.cap == absl::ZeroDuration();
  if (default_soft_close && !dc.Set() && spec.increment_table.empty()) return nullptr;
  auto rules = std::make_unique<Rules>();
  rules->soft_close = sc;
  rules->dutch = dc;
  if (!spec.increment_table.empty()) {
    rules->ladder = std::make_unique<const IncrementLadder>(
        IncrementLadder::FromTable(spec.increment_table).value());
  }
  return rules;
}

Auction::Auction(AuctionId id, PrincipalId seller, AuctionSpec spec, absl::Time created_at)
    : id_(id),
      seller_(seller),
      format_(spec.format),
      currency_{spec.currency.size() > 0 ? spec.currency[0] : ' ',
                spec.currency.size() > 1 ? spec.currency[1] : ' ',
                spec.currency.size() > 2 ? spec.currency[2] : ' '},
      title_size_(static_cast<uint8_t>(spec.title.size())),
      description_size_(static_cast<uint16_t>(spec.description.size())),
      ends_at_(spec.ends_at),
      start_price_minor_(spec.start_price_minor),
      reserve_price_minor_(spec.reserve_price_minor),
      buy_now_price_minor_(spec.buy_now_price_minor),
      quantity_(spec.quantity),
      starts_at_(spec.starts_at),
      listed_ends_at_(spec.ends_at),
      created_at_(created_at),
      rules_(RulesFor(spec)) {
  static_assert(kMaxTitleBytes <= UINT8_MAX && kMaxDescriptionBytes <= UINT16_MAX);
  item_text_ = std::move(spec.title);
  item_text_.reserve(title_size_ + description_size_ + spec.category.size());
  item_text_.append(spec.description);
  item_text_.append(spec.category);
  item_text_.shrink_to_fit();
}

AuctionSpec Auction::spec() const {
  AuctionSpec s;
  const absl::string_view text = item_text_;
  s.title = std::string(text.substr(0, title_size_));
  s.description = std::string(text.substr(title_size_, description_size_));
  s.category = std::string(text.substr(title_size_ + description_size_));
  s.format = format_;
  s.currency = std::string(currency());
  s.quantity = quantity_;
  s.start_price_minor = start_price_minor_;
  s.reserve_price_minor = reserve_price_minor_;
  s.buy_now_price_minor = buy_now_price_minor_;
  s.starts_at = starts_at_;
  s.ends_at = listed_ends_at_;
  if (rules_ != nullptr) {
    s.soft_close = rules_->soft_close;
    s.dutch = rules_->dutch;
    if (rules_->ladder != nullptr) s.increment_table = rules_->ladder->steps();
  }
  return s;
}

const SoftCloseRule& Auction::soft_close() const {
  static const SoftCloseRule kNone;
  return rules_ != nullptr ? rules_->soft_close : kNone;
}

const DutchClockRule& Auction::dutch() const {
  static const DutchClockRule kNone;
  return rules_ != nullptr ? rules_->dutch : kNone;
}

AuctionView Auction::View(bool public_view) const {
  AuctionView v;
  v.auction_id = id_;
  v.seller = seller_;
  v.spec = spec();
  v.has_reserve = reserve_price_minor_ > 0;
  if (public_view) v.spec.reserve_price_minor = 0;
  v.state = state_;
  v.bid_count = accepted_bids_;
  v.ends_at = ends_at_;
  v.sequence = last_sequence_;
  v.quantity_remaining = QuantityRemaining();
  const bool hide = public_view && Sealed() && state_ == AuctionState::kOpen;
  const bool live = state_ == AuctionState::kOpen || state_ == AuctionState::kScheduled;
  if (!hide) {
    v.current_price_minor = ShownPrice();
    v.leader = Leader();
    v.reserve_met = ReserveMet();
  }
  v.buy_now_available = live && BuyNowAvailable();
  v.next_minimum_bid_minor = live ? NextMinimum() : 0;
  FillView(&v, public_view);
  return v;
}

const AuctionEvent* Auction::closed_event() const {
  const absl::Span<const AuctionEvent> stored = history();
  for (auto it = stored.rbegin(); it != stored.rend(); ++it) {
    if (it->kind == AuctionEvent::Kind::kClosed) return &*it;
  }
  return nullptr;
}

AuctionEvent Auction::OpenEvent() const {
  AuctionEvent e;
  e.auction_id = id_;
  e.sequence = open_sequence_;
  e.at = std::max<absl::Time>(created_at_, starts_at_);
  e.kind = AuctionEvent::Kind::kStateChanged;
  e.state = AuctionState::kOpen;
  e.price_minor = open_price_minor_;
  return e;
}

void Auction::BidAcceptedEvent(uint32_t entry, int64_t bid_count, AuctionEvent* e) const {
  const BidEntry& b = Entry(entry);
  e->auction_id = id_;
  e->sequence = b.sequence;
  e->at = b.at();
  e->kind = AuctionEvent::Kind::kBidAccepted;
  e->bid_entry = entry;
  e->bid_count = bid_count;
  // Sealed formats: price_after_minor is 0 and leader_after kNoPrincipal.
  e->price_minor = b.price_after_minor;
  e->leader = b.leader_after();
}

void Auction::CompleteTrade(AuctionEvent* e) const {
  e->incoming_buys = Entry(e->bid_entry).side == Side::kBuy;
  e->buyer = Entry(e->buy_entry()).bidder;
  e->seller = Entry(e->sell_entry()).bidder;
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
  return absl::FailedPreconditionError(
      absl::StrCat("only resting orders of a double auction can be cancelled; auction ",
                   FormatAuctionId(id_), " is ", FormatName(format_)));
}

}  // namespace gavel
