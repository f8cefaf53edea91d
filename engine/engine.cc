#include "engine/engine.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/audit.h"
#include "engine/money.h"

namespace gavel {
namespace {

uint64_t KeyHash(PrincipalId who, absl::string_view key) { return absl::HashOf(who, key); }

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// A format names a trade's orders by bid id only; the principals' names are
// the engine's to add, from the bid log.
std::shared_ptr<const TradeRecord> NamedTrade(const Auction& a, const PrincipalNames& names,
                                              const TradeRecord& trade) {
  auto named = std::make_shared<TradeRecord>(trade);
  auto name_of = [&](const std::string& bid_id) {
    AuctionId id = 0;
    uint32_t entry = 0;
    if (!ParseBidId(bid_id, "bid_id", &id, &entry).ok() || id != a.id() ||
        entry > a.bids().size()) {
      return std::string();
    }
    return std::string(names.Name(a.bids()[entry - 1].bidder));
  };
  if (named->buyer_id.empty()) named->buyer_id = name_of(named->buy_bid_id);
  if (named->seller_id.empty()) named->seller_id = name_of(named->sell_bid_id);
  return named;
}

}  // namespace

Engine::Engine(EngineOptions options, const PrincipalNames* names, EngineListener* listener)
    : options_(options),
      names_(names),
      listener_(listener),
      next_local_id_(options.auction_id_floor / options.shard_count + 1) {}

absl::Time Engine::Clamp(absl::Time now) {
  if (now > now_) now_ = now;
  return now_;
}

absl::Time Engine::NextTimer() const {
  return timers_.empty() ? absl::InfiniteFuture() : timers_.top().at;
}

void Engine::Emit(Auction& a, AuctionEvent e) {
  e.auction_id = a.id();
  if (e.sequence == 0) e.sequence = ++sequence_;
  a.last_sequence_ = e.sequence;
  a.history_.push_back(e);
  listener_->OnEvent(a.history_.back());
}

void Engine::EmitAll(Auction& a, std::vector<AuctionEvent>* events) {
  for (AuctionEvent& e : *events) {
    e.sequence = 0;
    if (e.kind == AuctionEvent::Kind::kTrade && e.trade != nullptr) {
      e.trade = NamedTrade(a, *names_, *e.trade);
    }
    Emit(a, std::move(e));
  }
  events->clear();
}

void Engine::ArmFormatTimer(Auction& a) {
  const absl::Time next = a.NextTimer();
  if (next >= a.ends_at_ || next == a.armed_timer_) return;
  a.armed_timer_ = next;
  timers_.push({next, a.id(), TimerKind::kFormat});
}

void Engine::AdvanceTo(absl::Time now) {
  now = Clamp(now);
  while (!timers_.empty() && timers_.top().at <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    auto it = auctions_.find(t.auction_id);
    if (it == auctions_.end()) continue;
    Auction& a = *it->second;
    if (t.kind == TimerKind::kOpen) {
      if (a.state_ == AuctionState::kScheduled) Open(a, t.at);
      continue;
    }
    if (a.state_ != AuctionState::kOpen) continue;
    if (t.kind == TimerKind::kFormat) {
      // Stale when the format asked for another time since.
      if (t.at != a.armed_timer_ || t.at >= a.ends_at_) continue;
      a.armed_timer_ = absl::InfiniteFuture();
      std::vector<AuctionEvent> events;
      a.OnTimer(t.at, &events);
      for (AuctionEvent& e : events) e.at = t.at;
      EmitAll(a, &events);
      ArmFormatTimer(a);
      continue;
    }
    if (a.ends_at_ > t.at) {
      // Extended by soft close since this timer was set.
      timers_.push({a.ends_at_, a.id(), TimerKind::kClose});
      continue;
    }
    CloseAuction(a, t.at);
  }
}

void Engine::Open(Auction& a, absl::Time at) {
  a.state_ = AuctionState::kOpen;
  a.OnOpen(at);
  AuctionEvent e;
  e.at = at;
  e.kind = AuctionEvent::Kind::kStateChanged;
  e.state = AuctionState::kOpen;
  e.price_minor = a.Sealed() ? 0 : a.CurrentPrice();
  Emit(a, std::move(e));
  ArmFormatTimer(a);
}

absl::StatusOr<AuctionView> Engine::CreateAuction(PrincipalId seller, absl::string_view request_id,
                                                  AuctionSpec spec, absl::Time now) {
  AdvanceTo(now);
  now = now_;
  const uint64_t key = KeyHash(seller, request_id);
  if (auto it = create_keys_.find(key); it != create_keys_.end()) {
    return auctions_.at(it->second)->View(/*public_view=*/false);
  }
  if (spec.ends_at <= now) {
    return absl::InvalidArgumentError("ends_at: must be in the future");
  }
  const AuctionId id = next_local_id_ * options_.shard_count + options_.shard_index;
  absl::StatusOr<std::unique_ptr<Auction>> made = MakeAuction(id, seller, std::move(spec), now);
  if (!made.ok()) return made.status();
  ++next_local_id_;
  Auction& a = **made;
  auctions_.emplace(id, std::move(*made));
  create_keys_.emplace(key, id);
  a.last_sequence_ = ++sequence_;
  if (a.spec().starts_at <= now) {
    Open(a, now);
  } else {
    timers_.push({a.spec().starts_at, id, TimerKind::kOpen});
  }
  timers_.push({a.ends_at_, id, TimerKind::kClose});
  return a.View(/*public_view=*/false);
}

absl::StatusOr<AuctionView> Engine::CancelAuction(PrincipalId seller, AuctionId id,
                                                  absl::Time now) {
  AdvanceTo(now);
  auto it = auctions_.find(id);
  if (it == auctions_.end()) {
    return absl::NotFoundError(absl::StrCat("auction ", FormatAuctionId(id), " does not exist"));
  }
  Auction& a = *it->second;
  if (a.seller() != seller) {
    return absl::PermissionDeniedError(
        absl::StrCat("only the seller may cancel auction ", FormatAuctionId(id)));
  }
  if (a.state_ == AuctionState::kCancelled) return a.View(/*public_view=*/false);
  if (a.state_ != AuctionState::kOpen && a.state_ != AuctionState::kScheduled) {
    return absl::FailedPreconditionError(
        absl::StrCat("auction ", FormatAuctionId(id), " is already ", StateName(a.state_)));
  }
  if (a.accepted_bids_ > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "auction ", FormatAuctionId(id), " has ", a.accepted_bids_,
        " accepted bid(s); an auction can be cancelled only before the first accepted bid"));
  }
  a.state_ = AuctionState::kCancelled;
  CloseOutcome outcome;
  outcome.outcome = SettlementOutcome::kCancelled;
  std::shared_ptr<Settlement> s = BuildSettlement(a, outcome, now_);
  AuctionEvent e;
  e.at = now_;
  e.kind = AuctionEvent::Kind::kClosed;
  e.state = AuctionState::kCancelled;
  e.settlement = s;
  Emit(a, std::move(e));
  listener_->OnSettlement(std::move(s));
  return a.View(/*public_view=*/false);
}

void Engine::CloseAuction(Auction& a, absl::Time at) {
  a.state_ = AuctionState::kClosed;
  CloseOutcome outcome = a.Close(at);
  std::shared_ptr<Settlement> s = BuildSettlement(a, outcome, at);
  AuctionEvent e;
  e.at = at;
  e.kind = AuctionEvent::Kind::kClosed;
  e.state = AuctionState::kClosed;
  e.price_minor = outcome.clearing_price_minor;
  e.settlement = s;
  Emit(a, std::move(e));
  listener_->OnSettlement(std::move(s));
}

std::shared_ptr<Settlement> Engine::BuildSettlement(const Auction& a, const CloseOutcome& outcome,
                                                    absl::Time at) const {
  auto s = std::make_shared<Settlement>();
  s->auction_id = FormatAuctionId(a.id());
  s->seller_id = std::string(names_->Name(a.seller()));
  s->spec = a.spec();
  s->outcome = outcome.outcome;
  s->clearing_price_minor = outcome.clearing_price_minor;
  s->created_at = a.created_at();
  s->closed_at = at;
  for (const CloseOutcome::Award& award : outcome.awards) {
    s->winners.push_back({std::string(names_->Name(award.bidder)), award.quantity,
                          award.price_minor, FormatBidId(a.id(), award.entry)});
  }
  for (const CloseOutcome::TradeAward& t : outcome.trades) {
    s->trades.push_back({FormatBidId(a.id(), t.buy_entry), FormatBidId(a.id(), t.sell_entry),
                         std::string(names_->Name(t.buyer)), std::string(names_->Name(t.seller)),
                         t.price_minor, t.quantity});
  }
  s->bids.reserve(a.bids().size());
  uint32_t entry = 0;
  for (const BidEntry& b : a.bids()) {
    ++entry;
    BidLogEntry log;
    log.sequence = b.sequence;
    log.bid_id = FormatBidId(a.id(), entry);
    log.bidder_id = std::string(names_->Name(b.bidder));
    log.amount_minor = b.amount_minor;
    log.quantity = b.quantity;
    log.side = b.side;
    log.at = b.at;
    log.result = std::string(RejectReasonName(b.result));
    s->bids.push_back(std::move(log));
  }
  ComputeHashChain(s.get());
  return s;
}

std::string Engine::RejectMessage(const Auction& a, const BidEntry& e) const {
  const std::string& cur = a.spec().currency;
  switch (e.result) {
    case RejectReason::kNone:
      return "";
    case RejectReason::kBidTooLow:
      return absl::StrCat("bid too low: the minimum bid is now ",
                          FormatAmount(e.minimum_minor, cur));
    case RejectReason::kBidNotImproving:
      // Reverse formats: lower is better, and minimum_minor is the most a
      // bid may be.
      if (a.spec().format == Format::kReverseEnglish ||
          a.spec().format == Format::kReverseSealed) {
        if (e.minimum_minor < 1) return "bid not low enough: the price cannot go any lower";
        return absl::StrCat("bid not low enough: the most you may bid is now ",
                            FormatAmount(e.minimum_minor, cur));
      }
      return absl::StrCat("you already lead with a higher or equal maximum; a new maximum must be "
                          "at least ",
                          FormatAmount(e.minimum_minor, cur));
    case RejectReason::kSelfBid:
      return "you listed this auction and may not bid on it";
    case RejectReason::kQuantityUnavailable:
      return absl::StrCat("quantity: only ", a.QuantityRemaining(), " unit(s) available");
    default:
      return std::string(RejectReasonName(e.result));
  }
}

BidResult Engine::ResultFor(const Auction& a, uint32_t entry, bool replayed) const {
  const BidEntry& e = a.bids_[entry - 1];
  BidResult r;
  r.auction_id = a.id();
  r.format = a.spec().format;
  r.entry = entry;
  r.reason = e.result;
  r.message = RejectMessage(a, e);
  r.leading = e.leading_after;
  r.current_price_minor = e.price_after_minor;
  r.minimum_minor = e.minimum_minor;
  r.sequence = e.sequence;
  r.replayed = replayed;
  a.FillsOf(entry, &r.fills);
  return r;
}

absl::StatusOr<BidResult> Engine::PlaceBid(const PlaceBidCommand& cmd, absl::Time now) {
  AdvanceTo(now);
  now = now_;
  auto it = auctions_.find(cmd.auction_id);
  if (it == auctions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("auction ", FormatAuctionId(cmd.auction_id), " does not exist"));
  }
  Auction& a = *it->second;
  const uint64_t key = KeyHash(cmd.bidder, cmd.client_bid_id);
  if (auto k = a.client_bid_ids_.find(key); k != a.client_bid_ids_.end()) {
    return ResultFor(a, k->second, /*replayed=*/true);
  }
  if (cmd.amount_minor < 0 || cmd.amount_minor > kMaxAmountMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount_minor: must be between 1 and ", kMaxAmountMinor));
  }
  if (cmd.amount_minor == 0 && a.spec().format != Format::kDutch) {
    return absl::InvalidArgumentError("amount_minor: is required and must be positive");
  }
  if (cmd.quantity < 1 || cmd.quantity > 1'000'000'000) {
    return absl::InvalidArgumentError("quantity: must be between 1 and 1000000000");
  }
  const Format format = a.spec().format;
  if ((format == Format::kDoubleContinuous || format == Format::kDoubleCall) &&
      cmd.side != Side::kBuy && cmd.side != Side::kSell) {
    return absl::InvalidArgumentError("side: BUY or SELL is required in a double auction");
  }
  if (cmd.immediate_or_cancel && format == Format::kDoubleCall) {
    return absl::InvalidArgumentError(
        "immediate_or_cancel: applies only to DOUBLE_CONTINUOUS; a call market trades only at "
        "its close");
  }
  const bool two_sided = format == Format::kDoubleContinuous || format == Format::kDoubleCall;
  if (!two_sided && cmd.side != Side::kNone) {
    return absl::InvalidArgumentError(absl::StrCat(
        "side: only double auctions take BUY or SELL orders; auction ",
        FormatAuctionId(a.id()), " is ", FormatName(format)));
  }
  if (!two_sided && cmd.immediate_or_cancel) {
    return absl::InvalidArgumentError("immediate_or_cancel: applies only to DOUBLE_CONTINUOUS");
  }
  BidResult closed;
  closed.auction_id = a.id();
  closed.format = format;
  closed.current_price_minor = a.CurrentPrice();
  if (a.state_ == AuctionState::kScheduled) {
    closed.reason = RejectReason::kAuctionNotOpen;
    closed.message = absl::StrCat("auction opens at ", TimeText(a.spec().starts_at));
    return closed;
  }
  if (a.state_ != AuctionState::kOpen || now >= a.ends_at_) {
    closed.reason = RejectReason::kAuctionClosed;
    closed.message = a.state_ == AuctionState::kCancelled
                         ? std::string("auction was cancelled by the seller")
                         : absl::StrCat("auction closed at ", TimeText(a.ends_at_));
    return closed;
  }

  const uint32_t entry = static_cast<uint32_t>(a.bids_.size() + 1);
  BidEntry& e = a.bids_.emplace_back();
  e.sequence = ++sequence_;
  e.at = now;
  e.amount_minor = cmd.amount_minor;
  e.quantity = cmd.quantity;
  e.bidder = cmd.bidder;
  e.side = cmd.side;
  a.client_bid_ids_.emplace(key, entry);

  BidDecision d;
  std::vector<AuctionEvent> format_events;
  if (cmd.bidder == a.seller()) {
    d.reason = RejectReason::kSelfBid;
  } else {
    d = a.Place({cmd.bidder, cmd.amount_minor, cmd.quantity, cmd.side, cmd.immediate_or_cancel,
                 now, entry},
                &format_events);
  }
  e.result = d.reason;
  e.leading_after = d.leading;
  e.minimum_minor = d.minimum_minor;
  e.price_after_minor = a.Sealed() ? 0 : a.CurrentPrice();
  a.last_sequence_ = e.sequence;
  if (d.reason != RejectReason::kNone) return ResultFor(a, entry, /*replayed=*/false);

  ++a.accepted_bids_;
  AuctionEvent accepted;
  accepted.sequence = e.sequence;
  accepted.at = now;
  accepted.kind = AuctionEvent::Kind::kBidAccepted;
  accepted.bid_entry = entry;
  accepted.bid_count = a.accepted_bids_;
  if (!a.Sealed()) {
    accepted.price_minor = a.CurrentPrice();
    accepted.leader = a.Leader();
  }
  Emit(a, std::move(accepted));
  for (AuctionEvent& fe : format_events) fe.at = now;
  EmitAll(a, &format_events);
  ArmFormatTimer(a);

  const SoftCloseRule& sc = a.spec().soft_close;
  if (!d.close_now && sc.enabled && now >= a.ends_at_ - sc.window) {
    const absl::Time limit = a.spec().ends_at + sc.cap;
    const absl::Time extended = std::min(now + sc.extension, limit);
    if (extended > a.ends_at_) {
      a.ends_at_ = extended;
      AuctionEvent x;
      x.at = now;
      x.kind = AuctionEvent::Kind::kExtended;
      x.new_ends_at = extended;
      Emit(a, std::move(x));
    }
  }
  BidResult result = ResultFor(a, entry, /*replayed=*/false);
  if (d.close_now) CloseAuction(a, now);
  return result;
}

absl::StatusOr<int64_t> Engine::CancelBid(PrincipalId owner, AuctionId id, uint32_t entry,
                                          absl::Time now) {
  AdvanceTo(now);
  auto it = auctions_.find(id);
  if (it == auctions_.end()) {
    return absl::NotFoundError(absl::StrCat("auction ", FormatAuctionId(id), " does not exist"));
  }
  Auction& a = *it->second;
  if (entry == 0 || entry > a.bids_.size()) {
    return absl::NotFoundError(
        absl::StrCat("bid ", FormatBidId(id, entry), " does not exist"));
  }
  if (a.bids_[entry - 1].bidder != owner) {
    return absl::PermissionDeniedError(
        absl::StrCat("bid ", FormatBidId(id, entry), " is not yours to cancel"));
  }
  if (a.state_ != AuctionState::kOpen) {
    return absl::FailedPreconditionError(absl::StrCat(
        "auction ", FormatAuctionId(id), " is ", StateName(a.state_), "; nothing rests to cancel"));
  }
  std::vector<AuctionEvent> events;
  absl::StatusOr<int64_t> cancelled = a.CancelOrder(owner, entry, &events);
  if (cancelled.ok()) {
    a.last_sequence_ = ++sequence_;
    for (AuctionEvent& e : events) e.at = now_;
    EmitAll(a, &events);
  }
  return cancelled;
}

void Engine::MarkSettled(AuctionId id) {
  auto it = auctions_.find(id);
  if (it != auctions_.end() && it->second->state_ == AuctionState::kClosed) {
    it->second->state_ = AuctionState::kSettled;
  }
}

absl::StatusOr<AuctionView> Engine::GetAuction(AuctionId id, bool public_view) const {
  auto it = auctions_.find(id);
  if (it == auctions_.end()) {
    return absl::NotFoundError(absl::StrCat("auction ", FormatAuctionId(id), " does not exist"));
  }
  return it->second->View(public_view);
}

const Auction* Engine::Find(AuctionId id) const {
  auto it = auctions_.find(id);
  return it == auctions_.end() ? nullptr : it->second.get();
}

void Engine::ListAuctions(const ListFilter& f, std::vector<AuctionView>* out) const {
  std::vector<const Auction*> match;
  for (const auto& [id, a] : auctions_) {
    if (id <= f.after) continue;
    if (f.state != AuctionState::kUnspecified && a->state() != f.state) continue;
    if (f.format != Format::kUnspecified && a->spec().format != f.format) continue;
    if (f.seller != kNoPrincipal && a->seller() != f.seller) continue;
    match.push_back(a.get());
  }
  const size_t n = std::min(match.size(), f.limit);
  std::partial_sort(match.begin(), match.begin() + n, match.end(),
                    [](const Auction* x, const Auction* y) { return x->id() < y->id(); });
  for (size_t i = 0; i < n; ++i) out->push_back(match[i]->View(/*public_view=*/true));
}

}  // namespace gavel
