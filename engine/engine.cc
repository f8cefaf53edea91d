#include "engine/engine.h"

#include <algorithm>
#include <cassert>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/audit.h"
#include "engine/double_auction.h"
#include "engine/money.h"

namespace gavel {

uint64_t IdempotencyKeyHash(PrincipalId who, absl::string_view key) {
  return absl::HashOf(who, key);
}

namespace {

// Reuses `out`'s capacity (absl::string_view is not std::string_view here).
void AssignName(absl::string_view name, std::string* out) { out->assign(name.data(), name.size()); }

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Whether a snapshot carries the auction: not settled (CLOSED or
// CANCELLED and marked committed).
bool Live(const Auction& a, const absl::flat_hash_set<AuctionId>& committed_cancelled) {
  if (a.state() == AuctionState::kSettled) return false;
  return a.state() != AuctionState::kCancelled || !committed_cancelled.contains(a.id());
}

}  // namespace

Engine::Engine(EngineOptions options, const PrincipalNames* names, EngineListener* listener)
    : options_(options),
      names_(names),
      listener_(listener),
      next_local_id_(options.auction_id_floor / options.shard_count + 1),
      local_base_(next_local_id_) {}

Auction* Engine::Slot(AuctionId id) const {
  if (id % options_.shard_count != options_.shard_index) return nullptr;
  const uint64_t local = id / options_.shard_count;
  if (local < local_base_ || local - local_base_ >= auctions_.size()) return nullptr;
  return auctions_[local - local_base_].get();
}

void Engine::Insert(std::unique_ptr<Auction> auction) {
  const uint64_t local = auction->id() / options_.shard_count;
  if (auctions_.empty()) local_base_ = local;
  if (local < local_base_) {
    // Only replay creates below the lowest id so far (journals are in id
    // order, so this is rare).
    std::vector<std::unique_ptr<Auction>> moved(local_base_ - local);
    for (auto& slot : auctions_) moved.push_back(std::move(slot));
    auctions_.swap(moved);
    local_base_ = local;
  }
  if (local - local_base_ >= auctions_.size()) auctions_.resize(local - local_base_ + 1);
  auctions_[local - local_base_] = std::move(auction);
  ++auction_count_;
}

absl::Time Engine::Clamp(absl::Time now) {
  if (now > now_) now_ = now;
  return now_;
}

absl::Time Engine::NextTimer() const {
  return timers_.empty() ? absl::InfiniteFuture() : timers_.top().at();
}

void Engine::Emit(Auction& a, AuctionEvent e) {
  e.auction_id = a.id();
  if (e.sequence == 0) e.sequence = ++sequence_;
  a.last_sequence_ = e.sequence;
  if (a.history_ == nullptr) a.history_ = std::make_unique<std::vector<AuctionEvent>>();
  a.history_->push_back(std::move(e));
  listener_->OnEvent(a.history_->back());
}

void Engine::EmitAll(Auction& a, std::vector<AuctionEvent>* events) {
  for (AuctionEvent& e : *events) {
    if (e.kind == AuctionEvent::Kind::kTrade) {
      // Not stored: ForEachEvent rebuilds it from the bid log and the
      // format's fills, at the sequence right after the bid's (or the
      // trade before it). So trades may come only from a continuous
      // double auction's Place, right after its bid's acceptance.
      assert(a.format() == Format::kDoubleContinuous && e.bid_entry == a.bids_.size());
      a.CompleteTrade(&e);
      e.auction_id = a.id();
      e.sequence = ++sequence_;
      e.at = a.Entry(e.bid_entry).at();
      a.last_sequence_ = e.sequence;
      listener_->OnEvent(e);
      continue;
    }
    e.sequence = 0;
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
  if (replaying_) return;  // timer firings come from the journal
  while (!timers_.empty() && timers_.top().at() <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    const Sequence before = sequence_;
    if (!FireTimer(t)) continue;
    if (JournalRecord* r = BeginRecord(RecordType::kTimerFired, before)) {
      r->auction_id = t.auction_id();
      r->timer_kind = t.kind();
      r->timer_at = t.at();
      CommitRecord(r);
    }
  }
}

bool Engine::FireTimer(const Timer& t) {
  Auction* found = Slot(t.auction_id());
  if (found == nullptr) return false;
  Auction& a = *found;
  if (t.kind() == TimerKind::kOpen) {
    if (a.state_ != AuctionState::kScheduled) return false;
    Open(a, t.at());
    return true;
  }
  if (a.state_ != AuctionState::kOpen) return false;
  if (t.kind() == TimerKind::kFormat) {
    // Stale when the format asked for another time since.
    if (t.at() != a.armed_timer_ || t.at() >= a.ends_at_) return false;
    a.armed_timer_ = absl::InfiniteFuture();
    std::vector<AuctionEvent> events;
    a.OnTimer(t.at(), &events);
    for (AuctionEvent& e : events) e.at = t.at();
    EmitAll(a, &events);
    ArmFormatTimer(a);
    return true;
  }
  if (a.ends_at_ > t.at()) {
    // Extended by soft close since this timer was set.
    timers_.push({a.ends_at_, a.id(), TimerKind::kClose});
    return false;
  }
  CloseAuction(a, t.at());
  return true;
}

absl::Status Engine::UnknownAuction(AuctionId id) const {
  // Ids are assigned only to auctions created, and never twice: one of this
  // shard's below the next is a settled auction a snapshot dropped.
  if (id % options_.shard_count == options_.shard_index &&
      id / options_.shard_count < next_local_id_ && id >= options_.shard_count) {
    return absl::NotFoundError(absl::StrCat("auction ", FormatAuctionId(id),
                                            " does not exist in the engine any more: it ended "
                                            "(closed or cancelled), and its record with every bid "
                                            "is in the audit log (gavel audit show ",
                                            FormatAuctionId(id), ")"));
  }
  return absl::NotFoundError(absl::StrCat("auction ", FormatAuctionId(id), " does not exist"));
}

JournalRecord* Engine::BeginRecord(RecordType type, Sequence before) {
  if (log_ == nullptr || replaying_) return nullptr;
  record_.type = type;
  record_.time = now_;
  record_.sequence_before = before;
  return &record_;
}

void Engine::CommitRecord(JournalRecord* record) {
  record->sequence_after = sequence_;
  log_->Append(*record);
}

void Engine::Open(Auction& a, absl::Time at) {
  a.state_ = AuctionState::kOpen;
  a.OnOpen(at);
  // Not stored: ForEachEvent rebuilds it from these two fields, at
  // max(created_at, starts_at), which `at` is (the creation, or the open timer).
  a.open_sequence_ = ++sequence_;
  a.open_price_minor_ = a.Sealed() ? 0 : a.CurrentPrice();
  a.last_sequence_ = a.open_sequence_;
  listener_->OnEvent(a.OpenEvent());
  ArmFormatTimer(a);
}

absl::StatusOr<AuctionView> Engine::CreateAuction(PrincipalId seller, absl::string_view request_id,
                                                  AuctionSpec spec, absl::Time now) {
  AdvanceTo(now);
  now = now_;
  const Sequence before = sequence_;
  const uint64_t key = IdempotencyKeyHash(seller, request_id);
  if (const uint32_t local = create_keys_.Find(key); local != 0) {
    const AuctionId first_id = uint64_t{local} * options_.shard_count + options_.shard_index;
    if (const Auction* first = Slot(first_id)) return first->View(/*public_view=*/false);
    return absl::NotFoundError(absl::StrCat("request_id ", QuoteClientText(request_id),
                                            " created auction ", FormatAuctionId(first_id),
                                            " before; ", UnknownAuction(first_id).message()));
  }
  if (spec.ends_at <= now) {
    return absl::InvalidArgumentError("ends_at: must be in the future");
  }
  // create_keys_ keeps local numbers in 32 bits and at most 2^30 keys.
  if (next_local_id_ > UINT32_MAX || create_keys_.size() >= (size_t{1} << 30)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "shard ", options_.shard_index, " has numbered the most auctions one shard can (",
        size_t{1} << 30, "); list new auctions on a server with more shards"));
  }
  const AuctionId id = next_local_id_ * options_.shard_count + options_.shard_index;
  absl::StatusOr<std::unique_ptr<Auction>> made = MakeAuction(id, seller, std::move(spec), now);
  if (!made.ok()) return made.status();
  ++next_local_id_;
  Auction& a = **made;
  Insert(std::move(*made));
  create_keys_.Insert(key, static_cast<uint32_t>(id / options_.shard_count));
  a.last_sequence_ = ++sequence_;
  if (a.starts_at() <= now) {
    Open(a, now);
  } else {
    timers_.push({a.starts_at(), id, TimerKind::kOpen});
  }
  timers_.push({a.ends_at_, id, TimerKind::kClose});
  if (JournalRecord* r = BeginRecord(RecordType::kCreateAuction, before)) {
    r->auction_id = id;
    r->principal = seller;
    AssignName(names_->Name(seller), &r->principal_name);
    r->key.assign(request_id.data(), request_id.size());
    r->spec = a.spec();
    CommitRecord(r);
  }
  return a.View(/*public_view=*/false);
}

absl::StatusOr<AuctionView> Engine::CancelAuction(PrincipalId seller, AuctionId id,
                                                  absl::Time now) {
  AdvanceTo(now);
  const Sequence before = sequence_;
  Auction* found = Slot(id);
  if (found == nullptr) return UnknownAuction(id);
  Auction& a = *found;
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
  if (JournalRecord* r = BeginRecord(RecordType::kCancelAuction, before)) {
    r->auction_id = id;
    r->principal = seller;
    AssignName(names_->Name(seller), &r->principal_name);
    CommitRecord(r);
  }
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
    log.at = b.at();
    log.result = std::string(RejectReasonName(b.result));
    s->bids.push_back(std::move(log));
  }
  ComputeHashChain(s.get());
  return s;
}

std::string Engine::RejectMessage(const Auction& a, const BidEntry& e) const {
  const absl::string_view cur = a.currency();
  switch (e.result) {
    case RejectReason::kNone:
      return "";
    case RejectReason::kBidTooLow:
      // The price can reach the largest amount a bid may be, and the
      // increment then puts the minimum beyond it.
      if (e.minimum_minor() > kMaxAmountMinor) {
        return absl::StrCat("bid too low: no higher bid is possible, the price has reached ",
                            "the most a bid may be (", FormatAmount(kMaxAmountMinor, cur), ")");
      }
      return absl::StrCat("bid too low: the minimum bid is now ",
                          FormatAmount(e.minimum_minor(), cur));
    case RejectReason::kBidNotImproving:
      // Reverse formats: lower is better, and minimum_minor is the most a
      // bid may be.
      if (a.format() == Format::kReverseEnglish || a.format() == Format::kReverseSealed) {
        if (e.minimum_minor() < 1) return "bid not low enough: the price cannot go any lower";
        return absl::StrCat("bid not low enough: the most you may bid is now ",
                            FormatAmount(e.minimum_minor(), cur));
      }
      if (e.minimum_minor() > kMaxAmountMinor) {
        return absl::StrCat("you already lead with the most a bid may be (",
                            FormatAmount(kMaxAmountMinor, cur), ")");
      }
      return absl::StrCat(
          "you already lead with a higher or equal maximum; a new maximum must be at least ",
          FormatAmount(e.minimum_minor(), cur));
    case RejectReason::kSelfBid:
      return "you listed this auction and may not bid on it";
    case RejectReason::kQuantityUnavailable:
      return absl::StrCat("quantity: only ", a.QuantityRemaining(), " unit(s) available");
    default:
      return std::string(RejectReasonName(e.result));
  }
}

BidResult Engine::ResultFor(const Auction& a, uint32_t entry, bool replayed) const {
  const BidEntry& e = a.Entry(entry);
  BidResult r;
  r.auction_id = a.id();
  r.format = a.format();
  r.entry = entry;
  r.reason = e.result;
  if (e.result != RejectReason::kNone) r.message = RejectMessage(a, e);
  r.leading = e.leading_after;
  r.current_price_minor = e.price_after_minor;
  r.minimum_minor = e.minimum_minor();
  r.sequence = e.sequence;
  r.replayed = replayed;
  // A new bid's caller moves in the fills the format just returned, rather
  // than have the format look them up.
  if (replayed) a.FillsOf(entry, &r.fills);
  return r;
}

void Engine::PrefetchAuction(AuctionId id) const {
  const Auction* a = Slot(id);
  if (a == nullptr) return;
  // Every line of the object a bid reads (its state and times, key index,
  // bid log and the format's own state: an EnglishAuction is 248 bytes, at
  // a 16-byte boundary, so within five lines). A prefetch never faults.
  const char* p = reinterpret_cast<const char*>(a);
  for (size_t offset = 0; offset <= 256; offset += 64) __builtin_prefetch(p + offset);
}

void Engine::PrefetchBid(AuctionId id, uint64_t key_hash) const {
  const Auction* a = Slot(id);
  if (a == nullptr) return;
  a->client_bid_ids_.Prefetch(key_hash);
  a->bids_.PrefetchTail();
}

void Engine::PrefetchAhead(int distance, AuctionId id, uint64_t key_hash) const {
  if (distance == 1) {
    PrefetchBid(id, key_hash);
  } else {
    PrefetchAuction(id);
  }
}

absl::StatusOr<BidResult> Engine::PlaceBid(const PlaceBidCommand& cmd, absl::Time now) {
  AdvanceTo(now);
  now = now_;
  const Sequence before = sequence_;
  Auction* found = Slot(cmd.auction_id);
  if (found == nullptr) return UnknownAuction(cmd.auction_id);
  Auction& a = *found;
  // A hash handed in must be the key's: a wrong one would take a new bid
  // for a resent one, or the reverse.
  assert(cmd.key_hash == 0 || cmd.key_hash == IdempotencyKeyHash(cmd.bidder, cmd.client_bid_id));
  const uint64_t key =
      cmd.key_hash != 0 ? cmd.key_hash : IdempotencyKeyHash(cmd.bidder, cmd.client_bid_id);
  if (const uint32_t entry = a.client_bid_ids_.Find(key); entry != 0) {
    return ResultFor(a, entry, /*replayed=*/true);
  }
  if (absl::Status invalid = CheckBid(a, cmd); !invalid.ok()) return invalid;
  if (a.state_ != AuctionState::kOpen || now >= a.ends_at_) return NotOpenResult(a, now);
  if (a.bids_.size() >= kMaxBidsPerAuction) {
    return absl::ResourceExhaustedError(
        absl::StrCat("auction ", FormatAuctionId(a.id()), " has taken ", kMaxBidsPerAuction,
                     " bids, the most one auction keeps; it takes no more"));
  }

  // From here on the bid is in the bid log: journaled whatever the rules say.
  BidResult result = ApplyBid(a, cmd, key, now);
  if (JournalRecord* r = BeginRecord(RecordType::kPlaceBid, before)) {
    r->auction_id = cmd.auction_id;
    r->principal = cmd.bidder;
    AssignName(names_->Name(cmd.bidder), &r->principal_name);
    r->key.assign(cmd.client_bid_id.data(), cmd.client_bid_id.size());
    r->amount_minor = cmd.amount_minor;
    r->quantity = cmd.quantity;
    r->side = cmd.side;
    r->immediate_or_cancel = cmd.immediate_or_cancel;
    CommitRecord(r);
  }
  return result;
}

absl::Status Engine::CheckBid(const Auction& a, const PlaceBidCommand& cmd) const {
  if (cmd.amount_minor < 0 || cmd.amount_minor > kMaxAmountMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount_minor: must be between 1 and ", kMaxAmountMinor));
  }
  if (cmd.amount_minor == 0 && a.format() != Format::kDutch) {
    return absl::InvalidArgumentError("amount_minor: is required and must be positive");
  }
  if (cmd.quantity < 1 || cmd.quantity > kMaxQuantity) {
    return Invalid("quantity", absl::StrCat("must be between 1 and ", kMaxQuantity));
  }
  const Format format = a.format();
  if (TwoSided(format) && cmd.side != Side::kBuy && cmd.side != Side::kSell) {
    return absl::InvalidArgumentError("side: BUY or SELL is required in a double auction");
  }
  if (cmd.immediate_or_cancel && format == Format::kDoubleCall) {
    return absl::InvalidArgumentError(
        "immediate_or_cancel: applies only to DOUBLE_CONTINUOUS; a call market trades only at "
        "its close");
  }
  const bool two_sided = TwoSided(format);
  if (!two_sided && cmd.side != Side::kNone) {
    return absl::InvalidArgumentError(absl::StrCat(
        "side: only double auctions take BUY or SELL orders; auction ",
        FormatAuctionId(a.id()), " is ", FormatName(format)));
  }
  if (!two_sided && cmd.immediate_or_cancel) {
    return absl::InvalidArgumentError("immediate_or_cancel: applies only to DOUBLE_CONTINUOUS");
  }
  return absl::OkStatus();
}

BidResult Engine::NotOpenResult(const Auction& a, absl::Time now) const {
  BidResult closed;
  closed.auction_id = a.id();
  closed.format = a.format();
  closed.current_price_minor = a.ShownPrice();
  if (a.state_ == AuctionState::kScheduled) {
    closed.reason = RejectReason::kAuctionNotOpen;
    closed.message = absl::StrCat("auction opens at ", TimeText(a.starts_at()));
    return closed;
  }
  closed.reason = RejectReason::kAuctionClosed;
  if (a.state_ == AuctionState::kCancelled) {
    closed.message = "auction was cancelled by the seller";
  } else if (now < a.ends_at_) {
    closed.message = "auction closed early: sold out, or bought at the buy-it-now price";
  } else {
    closed.message = absl::StrCat("auction closed at ", TimeText(a.ends_at_));
  }
  return closed;
}

BidResult Engine::ApplyBid(Auction& a, const PlaceBidCommand& cmd, uint64_t key, absl::Time now) {
  const uint32_t entry = static_cast<uint32_t>(a.bids_.size() + 1);
  a.client_bid_ids_.Insert(key, entry);
  BidEntry& e = a.bids_.emplace_back();
  e.sequence = ++sequence_;
  e.at_micros = absl::ToUnixMicros(now);
  e.amount_minor = cmd.amount_minor;
  e.quantity = static_cast<uint32_t>(cmd.quantity);  // CheckBid: 1..1e9
  e.bidder = cmd.bidder;
  e.side = cmd.side;

  BidDecision d;
  if (cmd.bidder == a.seller()) {
    d.reason = RejectReason::kSelfBid;
  } else {
    d = a.Place(
        {cmd.bidder, cmd.amount_minor, cmd.quantity, cmd.side, cmd.immediate_or_cancel, now, entry},
        &format_events_);
  }
  const bool sealed = a.Sealed();
  e.leading_after = d.leading;
  e.price_after_minor = sealed ? 0 : a.CurrentPrice();
  a.last_sequence_ = e.sequence;
  if (d.reason != RejectReason::kNone) {
    e.SetRefused(d.reason, d.minimum_minor);
    return ResultFor(a, entry, /*replayed=*/false);
  }

  ++a.accepted_bids_;
  e.SetAccepted(sealed ? kNoPrincipal : a.Leader());
  // Not stored in history_: ForEachEvent rebuilds it from the bid log.
  a.BidAcceptedEvent(entry, a.accepted_bids_, &bid_event_);
  listener_->OnEvent(bid_event_);
  if (!format_events_.empty()) {
    for (AuctionEvent& fe : format_events_) fe.at = now;
    EmitAll(a, &format_events_);
  }
  ArmFormatTimer(a);

  const SoftCloseRule& sc = a.soft_close();
  if (!d.close_now && sc.enabled && now >= a.ends_at_ - sc.window) {
    const absl::Time limit = a.listed_ends_at() + sc.cap;
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
  result.fills = std::move(d.fills);
  if (d.close_now) CloseAuction(a, now);
  return result;
}

absl::StatusOr<int64_t> Engine::CancelBid(PrincipalId owner, AuctionId id, uint32_t entry,
                                          absl::Time now, absl::string_view request_id,
                                          uint32_t* answered_entry) {
  if (answered_entry != nullptr) *answered_entry = entry;
  AdvanceTo(now);
  const Sequence before = sequence_;
  Auction* found = Slot(id);
  if (found == nullptr) return UnknownAuction(id);
  Auction& a = *found;
  // Set when the cancel has a key to keep: only double auctions have
  // orders to cancel.
  DoubleAuction* const book =
      TwoSided(a.format()) && !request_id.empty() ? static_cast<DoubleAuction*>(&a) : nullptr;
  const uint64_t key = book != nullptr ? IdempotencyKeyHash(owner, request_id) : 0;
  if (book != nullptr) {
    if (std::optional<DoubleAuction::CancelAnswer> first = book->FindCancel(key)) {
      if (answered_entry != nullptr) *answered_entry = first->entry;
      return int64_t{first->quantity};
    }
  }
  if (entry == 0 || entry > a.bids_.size()) {
    return absl::NotFoundError(
        absl::StrCat("bid ", FormatBidId(id, entry), " does not exist"));
  }
  if (a.Entry(entry).bidder != owner) {
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
    if (book != nullptr) book->RecordCancel(key, entry, *cancelled);
    if (JournalRecord* r = BeginRecord(RecordType::kCancelBidWithKey, before)) {
      r->auction_id = id;
      r->principal = owner;
      AssignName(names_->Name(owner), &r->principal_name);
      AssignName(request_id, &r->key);
      r->entry = entry;
      CommitRecord(r);
    }
  }
  return cancelled;
}

void Engine::MarkSettled(AuctionId id) {
  Auction* found = Slot(id);
  if (found == nullptr) return;
  Auction& a = *found;
  if (a.state_ == AuctionState::kClosed) {
    a.state_ = AuctionState::kSettled;
  } else if (a.state_ != AuctionState::kCancelled || !committed_cancelled_.insert(id).second) {
    return;  // not closed, or already marked
  }
  if (JournalRecord* r = BeginRecord(RecordType::kMarkSettled, sequence_)) {
    r->auction_id = id;
    CommitRecord(r);
  }
}

void Engine::DropSettled(AuctionId id) {
  const Auction* a = Slot(id);
  if (a == nullptr || Live(*a, committed_cancelled_)) return;
  committed_cancelled_.erase(id);
  auctions_[id / options_.shard_count - local_base_].reset();
  --auction_count_;
}

absl::StatusOr<AuctionView> Engine::GetAuction(AuctionId id, bool public_view) const {
  const Auction* a = Slot(id);
  if (a == nullptr) return UnknownAuction(id);
  return a->View(public_view);
}

const Auction* Engine::Find(AuctionId id) const { return Slot(id); }

void Engine::ListAuctions(const ListFilter& f, std::vector<AuctionView>* out) const {
  size_t n = 0;
  for (const auto& a : auctions_) {  // in id order
    if (n == f.limit) break;
    if (a == nullptr || a->id() <= f.after) continue;
    if (f.state != AuctionState::kUnspecified && a->state() != f.state) continue;
    if (f.format != Format::kUnspecified && a->format() != f.format) continue;
    if (f.seller != kNoPrincipal && a->seller() != f.seller) continue;
    out->push_back(a->View(/*public_view=*/true));
    ++n;
  }
}

// ---------------------------------------------------------------- journal

absl::Status Engine::Replay(const JournalRecord& r) {
  replaying_ = true;
  absl::Status status = ReplayCommand(r);
  replaying_ = false;
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(RecordTypeName(r.type), " record (auction ",
                                            FormatAuctionId(r.auction_id), ", sequence ",
                                            r.sequence_before, "): ", status.message()));
  }
  return status;
}

absl::Status Engine::ReplayCommand(const JournalRecord& r) {
  Clamp(r.time);
  switch (r.type) {
    case RecordType::kFileHeader:
      return absl::OkStatus();
    case RecordType::kCounters:
      sequence_ = r.sequence_after;
      next_local_id_ = std::max(next_local_id_, r.next_local_id);
      return absl::OkStatus();
    default:
      break;
  }
  sequence_ = r.sequence_before;
  switch (r.type) {
    case RecordType::kCreateAuction: {
      if (r.auction_id % options_.shard_count != options_.shard_index) {
        return absl::InternalError("the auction id belongs to another shard");
      }
      // Assign exactly the journaled id, whatever the counter says now.
      const uint64_t local = r.auction_id / options_.shard_count;
      const uint64_t next = std::max(next_local_id_, local + 1);
      const size_t count = auction_count_;
      next_local_id_ = local;
      absl::StatusOr<AuctionView> view = CreateAuction(r.principal, r.key, r.spec, r.time);
      next_local_id_ = next;
      if (!view.ok()) return view.status();
      if (auction_count_ != count + 1 || view->auction_id != r.auction_id) {
        return absl::InternalError("the request id was already used by another auction");
      }
      break;
    }
    case RecordType::kCancelAuction: {
      const Auction* a = Slot(r.auction_id);
      if (a == nullptr || a->state_ == AuctionState::kCancelled) {
        return absl::InternalError("the auction does not exist or is already cancelled");
      }
      if (absl::Status st = CancelAuction(r.principal, r.auction_id, r.time).status(); !st.ok()) {
        return st;
      }
      break;
    }
    case RecordType::kPlaceBid: {
      PlaceBidCommand cmd;
      cmd.auction_id = r.auction_id;
      cmd.bidder = r.principal;
      cmd.client_bid_id = r.key;
      cmd.amount_minor = r.amount_minor;
      cmd.quantity = r.quantity;
      cmd.side = r.side;
      cmd.immediate_or_cancel = r.immediate_or_cancel;
      absl::StatusOr<BidResult> result = PlaceBid(cmd, r.time);
      if (!result.ok()) return result.status();
      if (result->entry == 0 || result->replayed) {
        return absl::InternalError("the bid did not reach the bid log");
      }
      break;
    }
    case RecordType::kCancelBid:
    case RecordType::kCancelBidWithKey:
      if (absl::Status st = CancelBid(r.principal, r.auction_id, r.entry, r.time, r.key).status();
          !st.ok()) {
        return st;
      }
      break;
    case RecordType::kEndedAuctionKey: {
      // A dropped auction's CreateAuction key: a resend is told which
      // auction it made (below), never given a new one.
      if (r.auction_id % options_.shard_count != options_.shard_index ||
          r.auction_id < options_.shard_count) {
        return absl::InternalError("the auction id belongs to another shard");
      }
      const uint64_t local = r.auction_id / options_.shard_count;
      const uint64_t key = IdempotencyKeyHash(r.principal, r.key);
      if (local > UINT32_MAX || create_keys_.Find(key) != 0 || Slot(r.auction_id) != nullptr) {
        return absl::InternalError("the request id or the auction id is already in use");
      }
      create_keys_.Insert(key, static_cast<uint32_t>(local));
      next_local_id_ = std::max(next_local_id_, local + 1);
      break;
    }
    case RecordType::kMarkSettled: {
      if (Slot(r.auction_id) == nullptr) {
        return absl::InternalError("the auction does not exist");
      }
      MarkSettled(r.auction_id);
      break;
    }
    case RecordType::kTimerFired:
      if (!FireTimer({r.timer_at, r.auction_id, r.timer_kind})) {
        return absl::InternalError(absl::StrCat("the timer at ", TimeText(r.timer_at),
                                                " was not due"));
      }
      break;
    default:
      return absl::InternalError("unexpected record type");
  }
  if (sequence_ != r.sequence_after) {
    return absl::InternalError(absl::StrCat("replay reached sequence ", sequence_,
                                            ", the journal says ", r.sequence_after));
  }
  return absl::OkStatus();
}

JournalRecord Engine::CountersRecord() const {
  JournalRecord r;
  r.type = RecordType::kCounters;
  r.time = now_;
  r.sequence_before = sequence_;
  r.sequence_after = sequence_;
  r.next_local_id = next_local_id_;
  return r;
}

namespace {

// A canonical dump: every field as <length>:<bytes>; (as in engine/audit.h),
// so that no two states can produce the same text.
class Dump {
 public:
  void Str(absl::string_view s) { absl::StrAppend(&out_, s.size(), ":", s, ";"); }
  void Int(int64_t v) { Str(absl::StrCat(v)); }
  void Time(absl::Time t) {
    if (t == absl::InfiniteFuture()) return Str("+inf");
    if (t == absl::InfinitePast()) return Str("-inf");
    Str(absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone()));
  }
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

}  // namespace

void Engine::UnsettledSettlements(std::vector<std::shared_ptr<const Settlement>>* out) const {
  for (const auto& a : auctions_) {  // in id order
    if (a == nullptr) continue;
    const AuctionState s = a->state();
    if ((s != AuctionState::kClosed && s != AuctionState::kCancelled) ||
        !Live(*a, committed_cancelled_)) {
      continue;
    }
    const AuctionEvent* closed = a->closed_event();
    if (closed != nullptr && closed->settlement != nullptr) out->push_back(closed->settlement);
  }
}

size_t Engine::live_auction_count() const {
  size_t n = 0;
  for (const auto& a : auctions_) n += a != nullptr && Live(*a, committed_cancelled_) ? 1 : 0;
  return n;
}

std::string Engine::StateHash() const {
  Dump d;
  // Not next_local_id_: a restart may raise it to PostgreSQL's highest id
  // (EngineOptions::auction_id_floor), which is not the journal's to say.
  d.Int(static_cast<int64_t>(sequence_));
  std::string spec;
  std::vector<Fill> fills;
  for (const auto& slot : auctions_) {  // in id order
    if (slot == nullptr || !Live(*slot, committed_cancelled_)) continue;
    const Auction* a = slot.get();
    d.Str("auction");
    JournalRecord create;  // the spec, encoded once and exactly
    create.type = RecordType::kCreateAuction;
    create.auction_id = a->id();
    create.principal_name = std::string(names_->Name(a->seller()));
    create.spec = a->spec();
    spec.clear();
    EncodeRecord(create, &spec);
    d.Str(spec);
    d.Int(static_cast<int64_t>(a->state()));
    d.Time(a->created_at());
    d.Time(a->ends_at());
    d.Time(a->armed_timer_);
    d.Int(a->accepted_bids());
    d.Int(static_cast<int64_t>(a->last_sequence()));
    d.Int(static_cast<int64_t>(a->client_bid_ids_.size()));
    if (TwoSided(a->format())) {
      // What a resent cancel would answer.
      for (const DoubleAuction::CancelAnswer& c : static_cast<const DoubleAuction*>(a)->cancels()) {
        d.Int(c.entry);
        d.Int(c.quantity);
      }
    }
    uint32_t entry = 0;
    for (const BidEntry& b : a->bids()) {
      ++entry;
      d.Int(static_cast<int64_t>(b.sequence));
      d.Int(b.at_micros);
      d.Int(b.amount_minor);
      d.Int(b.quantity);
      d.Str(names_->Name(b.bidder));
      d.Str(b.leader_after() == kNoPrincipal ? absl::string_view("-")
                                             : names_->Name(b.leader_after()));
      d.Int(static_cast<int64_t>(b.side));
      d.Int(static_cast<int64_t>(b.result));
      d.Int(b.leading_after ? 1 : 0);
      d.Int(b.price_after_minor);
      d.Int(b.minimum_minor());
      fills.clear();
      a->FillsOf(entry, &fills);
      for (const Fill& f : fills) {
        d.Int(f.counter_entry);
        d.Int(f.price_minor);
        d.Int(f.quantity);
      }
    }
    a->ForEachEvent(0, [&](const AuctionEvent& e) {
      d.Str("event");
      d.Int(static_cast<int64_t>(e.sequence));
      d.Time(e.at);
      d.Int(static_cast<int64_t>(e.kind));
      d.Int(static_cast<int64_t>(e.state));
      d.Int(e.price_minor);
      d.Int(e.quantity);
      d.Int(e.bid_count);
      d.Str(e.leader == kNoPrincipal ? absl::string_view("-") : names_->Name(e.leader));
      d.Int(e.bid_entry);
      d.Time(e.new_ends_at);
      if (e.kind == AuctionEvent::Kind::kTrade) {
        d.Int(e.buy_entry());
        d.Int(e.sell_entry());
        d.Str(names_->Name(e.buyer));
        d.Str(names_->Name(e.seller));
      }
      if (e.settlement != nullptr) d.Str(e.settlement->final_hash);
      return true;
    });
    const AuctionView v = a->View(/*public_view=*/false);
    d.Str("view");
    d.Int(v.current_price_minor);
    d.Str(v.leader == kNoPrincipal ? absl::string_view("-") : names_->Name(v.leader));
    d.Int(v.reserve_met ? 1 : 0);
    d.Int(v.buy_now_available ? 1 : 0);
    d.Int(v.quantity_remaining);
    d.Int(v.next_minimum_bid_minor);
    for (const auto* levels : {&v.buy_levels, &v.sell_levels}) {
      d.Str("levels");
      for (const BookLevel& l : *levels) {
        d.Int(l.price_minor);
        d.Int(l.quantity);
        d.Int(l.orders);
      }
    }
    d.Int(v.indicative_price_minor);
    d.Int(v.indicative_volume);
    d.Time(v.next_tick_at);
  }
  return ToHex(Sha256(d.text()));
}

}  // namespace gavel
