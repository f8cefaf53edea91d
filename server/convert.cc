#include "server/convert.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/display_text.h"
#include "engine/money.h"

namespace gavel {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  absl::string_view message = status.message();
  if (message.size() <= kMaxStatusMessageBytes) {
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(message));
  }
  // Cut at a character boundary (not inside a UTF-8 sequence).
  size_t cut = kMaxStatusMessageBytes;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      absl::StrCat(message.substr(0, cut), "... (message cut)"));
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1'000'000;
  int64_t rem = micros % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t micros = absl::ToInt64Microseconds(d);
  out->set_seconds(micros / 1'000'000);
  out->set_nanos(static_cast<int32_t>((micros % 1'000'000) * 1000));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::StatusOr<absl::Time> CheckedTime(absl::string_view field,
                                       const google::protobuf::Timestamp& t) {
  // RFC 3339 range, 0001-01-01 to 9999-12-31, as google.protobuf.Timestamp.
  if (t.seconds() < -62135596800 || t.seconds() > 253402300799 || t.nanos() < 0 ||
      t.nanos() >= 1'000'000'000) {
    return Invalid(field, "is not a valid time");
  }
  return FromProto(t);
}

namespace {

// Every duration of a spec (how long an auction runs, its soft close, its
// Dutch tick) is at most 366 days: the engine's own rules say so for each,
// and saying it here names the field the client sent.
constexpr int64_t kMaxDurationSeconds = 366LL * 86400;

absl::Status CheckDuration(absl::string_view field, const google::protobuf::Duration& d) {
  if (d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000) {
    return Invalid(field, "is not a valid duration: nanos must be within ±999999999");
  }
  if ((d.seconds() < 0 && d.nanos() > 0) || (d.seconds() > 0 && d.nanos() < 0)) {
    return Invalid(field, "is not a valid duration: seconds and nanos must have the same sign");
  }
  if (d.seconds() < 0 || d.nanos() < 0) return Invalid(field, "must not be negative");
  if (d.seconds() > kMaxDurationSeconds || (d.seconds() == kMaxDurationSeconds && d.nanos() > 0)) {
    return Invalid(field, "must be at most 366 days");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckIdempotencyKey(absl::string_view field, absl::string_view key) {
  if (key.empty()) return Invalid(field, "is required (an idempotency key)");
  if (key.size() > 128) return Invalid(field, "at most 128 bytes");
  return absl::OkStatus();
}

absl::StatusOr<AuctionId> CheckBidRequest(const v1::PlaceBidRequest& req) {
  absl::StatusOr<AuctionId> id = ParseAuctionId(req.auction_id());
  if (!id.ok()) return id.status();
  if (absl::Status st = CheckIdempotencyKey("client_bid_id", req.client_bid_id()); !st.ok()) {
    return st;
  }
  if (req.quantity() < 0) return absl::InvalidArgumentError("quantity: must not be negative");
  if (!v1::Side_IsValid(req.side())) return absl::InvalidArgumentError("side: unknown value");
  return id;
}

PlaceBidCommand BidCommandFromRequest(const v1::PlaceBidRequest& req, AuctionId auction_id,
                                      PrincipalId bidder) {
  PlaceBidCommand cmd;
  cmd.auction_id = auction_id;
  cmd.bidder = bidder;
  cmd.client_bid_id = req.client_bid_id();
  cmd.amount_minor = req.amount_minor();
  cmd.quantity = req.quantity() == 0 ? 1 : req.quantity();
  cmd.side = static_cast<Side>(req.side());
  cmd.immediate_or_cancel = req.immediate_or_cancel();
  cmd.key_hash = IdempotencyKeyHash(bidder, cmd.client_bid_id);
  return cmd;
}

namespace {

// Refuses what would reach other users' terminals and pages as it is:
// control characters (C0 and DEL; in a description, tab and newline are
// allowed), C1 controls, and the bidirectional embeddings, overrides and
// isolates (U+202A-U+202E, U+2066-U+2069) that can make text read backwards.
// `text` is valid UTF-8 (protobuf checks a string field).
absl::Status CheckDisplayText(absl::string_view field, absl::string_view text, bool multiline) {
  for (size_t from = 0;;) {
    const std::optional<ControlCharacter> c = FindControlCharacter(text, from);
    if (!c.has_value()) return absl::OkStatus();
    if (!(multiline && (c->code_point == '\n' || c->code_point == '\t'))) {
      return Invalid(
          field, absl::StrCat(
                     "must not contain control characters (U+",
                     absl::AsciiStrToUpper(absl::StrCat(absl::Hex(c->code_point, absl::kZeroPad4))),
                     " at byte ", c->offset, ")"));
    }
    from = c->offset + c->length;
  }
}

}  // namespace

absl::Status SpecFromRequest(const v1::CreateAuctionRequest& req, absl::Time now,
                             AuctionSpec* spec) {
  if (absl::Status st = CheckIdempotencyKey("request_id", req.request_id()); !st.ok()) return st;
  if (absl::Status st = CheckDisplayText("item.title", req.item().title(), false); !st.ok()) {
    return st;
  }
  if (absl::Status st = CheckDisplayText("item.category", req.item().category(), false); !st.ok()) {
    return st;
  }
  if (absl::Status st = CheckDisplayText("item.description", req.item().description(), true);
      !st.ok()) {
    return st;
  }
  if (!v1::Format_IsValid(req.format()) || req.format() == v1::FORMAT_UNSPECIFIED) {
    return Invalid("format", "is required (ENGLISH, DUTCH, SEALED_FIRST_PRICE, ...)");
  }
  spec->title = req.item().title();
  spec->description = req.item().description();
  spec->category = req.item().category();
  spec->format = static_cast<Format>(req.format());
  spec->currency = req.currency();
  spec->quantity = req.quantity() == 0 ? 1 : req.quantity();
  spec->start_price_minor = req.start_price_minor();
  spec->reserve_price_minor = req.reserve_price_minor();
  spec->buy_now_price_minor = req.buy_now_price_minor();
  if (req.has_starts_at()) {
    absl::StatusOr<absl::Time> starts_at = CheckedTime("starts_at", req.starts_at());
    if (!starts_at.ok()) return starts_at.status();
    spec->starts_at = std::max(*starts_at, now);
  } else {
    spec->starts_at = now;
  }
  if (req.has_ends_at() == req.has_duration()) {
    return Invalid("ends_at", "give exactly one of ends_at and duration");
  }
  if (req.has_ends_at()) {
    absl::StatusOr<absl::Time> ends_at = CheckedTime("ends_at", req.ends_at());
    if (!ends_at.ok()) return ends_at.status();
    spec->ends_at = *ends_at;
    if (spec->ends_at <= now) return Invalid("ends_at", "must be in the future");
  } else {
    if (auto st = CheckDuration("duration", req.duration()); !st.ok()) return st;
    if (FromProto(req.duration()) <= absl::ZeroDuration()) {
      return Invalid("duration", "must be positive");
    }
    spec->ends_at = spec->starts_at + FromProto(req.duration());
    if (spec->starts_at < kLatestAuctionTime && spec->ends_at >= kLatestAuctionTime) {
      return Invalid("duration",
                     absl::StrCat("ends the auction too late: counted from starts_at, an auction "
                                  "must end before ",
                                  kLatestAuctionTimeText));
    }
  }
  if (req.has_soft_close()) {
    const v1::SoftClose& sc = req.soft_close();
    if (auto st = CheckDuration("soft_close.window", sc.window()); !st.ok()) return st;
    if (auto st = CheckDuration("soft_close.extension", sc.extension()); !st.ok()) return st;
    if (auto st = CheckDuration("soft_close.cap", sc.cap()); !st.ok()) return st;
    spec->soft_close.enabled = true;
    spec->soft_close.window = FromProto(sc.window());
    spec->soft_close.extension = FromProto(sc.extension());
    spec->soft_close.cap = FromProto(sc.cap());
    // The engine takes a cap of 0 (journals written before this check must
    // still replay), but it would let no bid extend the auction: a new
    // request is refused here.
    if (spec->soft_close.cap == absl::ZeroDuration()) {
      return Invalid("soft_close.cap",
                     "must be positive: the most bids may extend the auction in all (0 would let "
                     "none extend it; leave soft_close unset for a hard close)");
    }
  }
  if (req.has_dutch()) {
    if (auto st = CheckDuration("dutch.tick_interval", req.dutch().tick_interval()); !st.ok()) {
      return st;
    }
    spec->dutch.decrement_minor = req.dutch().decrement_minor();
    spec->dutch.tick_interval = FromProto(req.dutch().tick_interval());
    spec->dutch.floor_price_minor = req.dutch().floor_price_minor();
    // Every other format's own checks refuse a clock it has no use for;
    // ENGLISH's cannot (journals written before would no longer replay),
    // so a new request is refused here.
    if (spec->format == Format::kEnglish && spec->dutch.Set()) {
      return NotApplicable("dutch", spec->format,
                           "only a DUTCH auction has a clock (leave it unset)");
    }
  }
  for (const v1::IncrementStep& step : req.increment_table()) {
    spec->increment_table.push_back({step.from_minor(), step.step_minor()});
  }
  return absl::OkStatus();
}

void SpecToProto(const AuctionSpec& spec, v1::AuctionSpec* out) {
  out->mutable_item()->set_title(spec.title);
  out->mutable_item()->set_description(spec.description);
  out->mutable_item()->set_category(spec.category);
  out->set_format(static_cast<v1::Format>(spec.format));
  out->set_currency(spec.currency);
  out->set_quantity(spec.quantity);
  out->set_start_price_minor(spec.start_price_minor);
  out->set_reserve_price_minor(spec.reserve_price_minor);
  out->set_buy_now_price_minor(spec.buy_now_price_minor);
  ToProto(spec.starts_at, out->mutable_starts_at());
  ToProto(spec.ends_at, out->mutable_ends_at());
  if (spec.soft_close.enabled) {
    ToProto(spec.soft_close.window, out->mutable_soft_close()->mutable_window());
    ToProto(spec.soft_close.extension, out->mutable_soft_close()->mutable_extension());
    ToProto(spec.soft_close.cap, out->mutable_soft_close()->mutable_cap());
  }
  if (spec.format == Format::kDutch) {
    out->mutable_dutch()->set_decrement_minor(spec.dutch.decrement_minor);
    ToProto(spec.dutch.tick_interval, out->mutable_dutch()->mutable_tick_interval());
    out->mutable_dutch()->set_floor_price_minor(spec.dutch.floor_price_minor);
  }
  for (const IncrementStep& step : spec.increment_table) {
    v1::IncrementStep* s = out->add_increment_table();
    s->set_from_minor(step.from_minor);
    s->set_step_minor(step.step_minor);
  }
}

void ViewToProto(const AuctionView& v, const PrincipalNames& names, v1::Auction* out) {
  out->set_auction_id(FormatAuctionId(v.auction_id));
  out->set_seller_id(std::string(names.Name(v.seller)));
  SpecToProto(v.spec, out->mutable_spec());
  out->set_state(static_cast<v1::AuctionState>(v.state));
  out->set_current_price_minor(v.current_price_minor);
  if (v.leader != kNoPrincipal) out->set_leading_bidder_id(std::string(names.Name(v.leader)));
  out->set_bid_count(v.bid_count);
  out->set_reserve_met(v.reserve_met);
  ToProto(v.ends_at, out->mutable_ends_at());
  ToProto(v.spec.starts_at, out->mutable_starts_at());
  out->set_sequence(v.sequence);
  out->set_has_reserve(v.has_reserve);
  out->set_buy_now_available(v.buy_now_available);
  out->set_quantity_remaining(v.quantity_remaining);
  out->set_next_minimum_bid_minor(v.next_minimum_bid_minor);
  for (const BookLevel& l : v.buy_levels) {
    v1::BookLevel* pl = out->add_buy_levels();
    pl->set_price_minor(l.price_minor);
    pl->set_quantity(l.quantity);
    pl->set_orders(l.orders);
  }
  for (const BookLevel& l : v.sell_levels) {
    v1::BookLevel* pl = out->add_sell_levels();
    pl->set_price_minor(l.price_minor);
    pl->set_quantity(l.quantity);
    pl->set_orders(l.orders);
  }
  out->set_indicative_price_minor(v.indicative_price_minor);
  out->set_indicative_volume(v.indicative_volume);
  if (v.next_tick_at != absl::InfiniteFuture()) ToProto(v.next_tick_at, out->mutable_next_tick_at());
}

void SettlementToProto(const Settlement& s, bool with_bids, v1::Settlement* out) {
  out->set_auction_id(s.auction_id);
  out->set_seller_id(s.seller_id);
  SpecToProto(s.spec, out->mutable_spec());
  out->set_outcome(static_cast<v1::SettlementOutcome>(s.outcome));
  for (const Winner& w : s.winners) {
    v1::Winner* pw = out->add_winners();
    pw->set_bidder_id(w.bidder_id);
    pw->set_quantity(w.quantity);
    pw->set_price_minor(w.price_minor);
    pw->set_bid_id(w.bid_id);
  }
  for (const TradeRecord& t : s.trades) {
    v1::Trade* pt = out->add_trades();
    pt->set_buy_bid_id(t.buy_bid_id);
    pt->set_sell_bid_id(t.sell_bid_id);
    pt->set_buyer_id(t.buyer_id);
    pt->set_seller_id(t.seller_id);
    pt->set_price_minor(t.price_minor);
    pt->set_quantity(t.quantity);
  }
  out->set_clearing_price_minor(s.clearing_price_minor);
  ToProto(s.closed_at, out->mutable_closed_at());
  ToProto(s.created_at, out->mutable_created_at());
  out->set_final_hash(s.final_hash);
  out->set_spec_hash(s.spec_hash);
  if (!with_bids) return;
  for (const BidLogEntry& b : s.bids) {
    v1::BidRecord* pb = out->add_bids();
    pb->set_sequence(b.sequence);
    pb->set_bid_id(b.bid_id);
    pb->set_bidder_id(b.bidder_id);
    pb->set_amount_minor(b.amount_minor);
    pb->set_quantity(b.quantity);
    pb->set_side(static_cast<v1::Side>(b.side));
    ToProto(b.at, pb->mutable_at());
    pb->set_result(b.result);
    pb->set_hash(b.hash);
  }
}

void EventToProto(const AuctionEvent& e, const PrincipalNames& names, v1::AuctionEvent* out) {
  out->Clear();
  out->set_auction_id(FormatAuctionId(e.auction_id));
  out->set_sequence(e.sequence);
  ToProto(e.at, out->mutable_at());
  switch (e.kind) {
    case AuctionEvent::Kind::kStateChanged:
      out->set_state_changed(static_cast<v1::AuctionState>(e.state));
      break;
    case AuctionEvent::Kind::kBidAccepted: {
      v1::BidAccepted* b = out->mutable_bid_accepted();
      b->set_bid_id(FormatBidId(e.auction_id, e.bid_entry));
      b->set_price_minor(e.price_minor);
      if (e.leader != kNoPrincipal) b->set_leading_bidder_id(std::string(names.Name(e.leader)));
      b->set_bid_count(e.bid_count);
      break;
    }
    case AuctionEvent::Kind::kPriceTick:
      out->mutable_price_tick()->set_price_minor(e.price_minor);
      break;
    case AuctionEvent::Kind::kExtended:
      ToProto(e.new_ends_at, out->mutable_extended()->mutable_new_ends_at());
      break;
    case AuctionEvent::Kind::kTrade: {
      v1::Trade* t = out->mutable_trade();
      t->set_buy_bid_id(FormatBidId(e.auction_id, e.buy_entry()));
      t->set_sell_bid_id(FormatBidId(e.auction_id, e.sell_entry()));
      t->set_buyer_id(std::string(names.Name(e.buyer)));
      t->set_seller_id(std::string(names.Name(e.seller)));
      t->set_price_minor(e.price_minor);
      t->set_quantity(e.quantity);
      break;
    }
    case AuctionEvent::Kind::kIndicative:
      out->mutable_indicative()->set_price_minor(e.price_minor);
      out->mutable_indicative()->set_volume(e.quantity);
      break;
    case AuctionEvent::Kind::kClosed: {
      v1::Closed* c = out->mutable_closed();
      if (e.settlement != nullptr) {
        c->set_outcome(static_cast<v1::SettlementOutcome>(e.settlement->outcome));
        for (const Winner& w : e.settlement->winners) {
          v1::Winner* pw = c->add_winners();
          pw->set_bidder_id(w.bidder_id);
          pw->set_quantity(w.quantity);
          pw->set_price_minor(w.price_minor);
          pw->set_bid_id(w.bid_id);
        }
        c->set_clearing_price_minor(e.settlement->clearing_price_minor);
        c->set_final_hash(e.settlement->final_hash);
      }
      break;
    }
  }
}

namespace {

// What an accepted bid means, in the words of its format.
// `immediate_or_cancel`: the request's flag (double-continuous orders).
std::string AcceptedMessage(const BidResult& r, bool immediate_or_cancel) {
  int64_t traded = 0;
  for (const Fill& f : r.fills) traded += f.quantity;
  switch (r.format) {
    case Format::kEnglish:
    case Format::kReverseEnglish:
      return r.leading ? "accepted: you are the leading bidder"
                       : "accepted, but another bidder's maximum is higher";
    case Format::kDutch:
      return r.fills.empty()
                 ? "accepted"
                 : absl::StrCat("accepted: you bought ", traded, " unit(s) at the clock's price");
    case Format::kSealedFirstPrice:
    case Format::kSealedSecondPrice:
    case Format::kMultiUnitUniform:
    case Format::kMultiUnitPayAsBid:
    case Format::kReverseSealed:
      return "accepted: your sealed bid is recorded (it replaces any earlier bid of yours); "
             "results at the close";
    case Format::kDoubleContinuous:
      if (r.leading) return absl::StrCat("accepted: filled in full (", traded, " unit(s))");
      if (traded == 0) {
        return immediate_or_cancel
                   ? "accepted: nothing crossed, so the order was cancelled (immediate or cancel)"
                   : "accepted: the order rests in the book";
      }
      return absl::StrCat("accepted: ", traded, " unit(s) traded; the rest ",
                          immediate_or_cancel ? "was cancelled (immediate or cancel)"
                                              : "rests in the book");
    case Format::kDoubleCall:
      return "accepted: the order waits for the call at the close";
    case Format::kUnspecified:
      break;
  }
  return "accepted";
}

}  // namespace

void BidResultToProto(const BidResult& r, const PlaceBidCommand& cmd, v1::PlaceBidResponse* out) {
  out->set_auction_id(FormatAuctionId(r.auction_id));
  out->set_client_bid_id(std::string(cmd.client_bid_id));
  if (r.entry != 0) out->set_bid_id(FormatBidId(r.auction_id, r.entry));
  out->set_outcome(r.reason == RejectReason::kNone ? v1::ACCEPTED : v1::REJECTED);
  out->set_reject_reason(static_cast<v1::RejectReason>(r.reason));
  out->set_message(r.reason == RejectReason::kNone ? AcceptedMessage(r, cmd.immediate_or_cancel)
                                                   : r.message);
  out->set_leading(r.leading);
  out->set_current_price_minor(r.current_price_minor);
  out->set_sequence(r.sequence);
  for (const Fill& f : r.fills) {
    v1::Fill* pf = out->add_fills();
    // A Dutch purchase trades with the lister, not with a resting order.
    if (f.counter_entry != 0) pf->set_counter_bid_id(FormatBidId(r.auction_id, f.counter_entry));
    pf->set_price_minor(f.price_minor);
    pf->set_quantity(f.quantity);
  }
}

}  // namespace gavel
