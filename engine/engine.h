// The engine of one shard: all auctions the shard owns, their timers, the
// per-shard sequence, and the listener events leave through.
//
// Thread safety: none needed. An Engine is owned by exactly one thread (the
// shard's); every method REQUIRES that thread. Other threads reach it only
// by handing a task to the shard (engine/shard.h).
//
// Determinism: the engine never reads a clock. Every call takes `now`, and
// the same sequence of calls with the same `now` values produces the same
// events, byte for byte. `now` values must not decrease; a smaller one is
// treated as the last one seen.
#ifndef GAVEL_ENGINE_ENGINE_H_
#define GAVEL_ENGINE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/auction.h"
#include "engine/hash_index.h"
#include "engine/journal_record.h"
#include "engine/types.h"

namespace gavel {

// Maps interned principals back to their names (for settlements).
class PrincipalNames {
 public:
  virtual ~PrincipalNames() = default;
  virtual absl::string_view Name(PrincipalId id) const = 0;
};

// Where events leave the engine. Called on the shard thread, synchronously,
// after the engine's state is updated; a listener must not call back into
// the engine, and nothing it does can corrupt the engine's state. (A Shard
// passes settlements on to its own downstream listener later, from its sync
// thread with --durability=sync: see engine/shard.h.)
class EngineListener {
 public:
  virtual ~EngineListener() = default;
  virtual void OnEvent(const AuctionEvent& event) = 0;
  // A closed or cancelled auction's settlement, hash chain computed.
  virtual void OnSettlement(std::shared_ptr<const Settlement> settlement) = 0;
};

// Where the engine journals what it does (engine/journal.h). Append is
// called on the shard thread once per state change: every mutating call that
// changed something, and every timer firing, after the change, with the
// record's sequence_before/sequence_after around it. It must not call back
// into the engine. Its failures are its own to report: the engine's state is
// already updated.
class CommandLog {
 public:
  virtual ~CommandLog() = default;
  virtual void Append(const JournalRecord& record) = 0;
};

// The 64-bit hash under which the engine's key indexes find an idempotency
// key of `who` (a bid's client_bid_id, an auction's request_id). A server
// computes a bid's on the thread that reads the request
// (PlaceBidCommand::key_hash), so that the shard, which runs every bid of
// its auctions, does not.
uint64_t IdempotencyKeyHash(PrincipalId who, absl::string_view key);

struct PlaceBidCommand {
  AuctionId auction_id = 0;
  PrincipalId bidder = kNoPrincipal;
  absl::string_view client_bid_id;  // idempotency key, non-empty
  // IdempotencyKeyHash(bidder, client_bid_id) when the caller has computed it; 0:
  // PlaceBid computes it.
  uint64_t key_hash = 0;
  int64_t amount_minor = 0;
  int64_t quantity = 1;
  Side side = Side::kNone;
  bool immediate_or_cancel = false;
};

struct BidResult {
  AuctionId auction_id = 0;
  Format format = Format::kUnspecified;
  uint32_t entry = 0;  // bid log entry (1-based); 0 when not logged
  RejectReason reason = RejectReason::kNone;
  std::string message;  // for a person; empty when accepted
  bool leading = false;
  int64_t current_price_minor = 0;
  int64_t minimum_minor = 0;
  Sequence sequence = 0;
  bool replayed = false;  // the answer to an earlier request with the same key
  std::vector<Fill> fills;  // double auctions: what traded at once
};

struct ListFilter {
  AuctionState state = AuctionState::kUnspecified;  // unspecified: any
  Format format = Format::kUnspecified;
  PrincipalId seller = kNoPrincipal;  // kNoPrincipal: any
  AuctionId after = 0;                // page cursor: ids greater than this
  size_t limit = 50;
};

struct EngineOptions {
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  // New auction ids are numbered above this (ids of earlier runs).
  uint64_t auction_id_floor = 0;
};

class Engine {
 public:
  Engine(EngineOptions options, const PrincipalNames* names, EngineListener* listener);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Fires every timer due at or before `now` (opening, closing, extensions).
  void AdvanceTo(absl::Time now);
  // The earliest pending timer, or InfiniteFuture().
  absl::Time NextTimer() const;

  // Lists a new auction (starts_at/ends_at already absolute). A repeated
  // (seller, request_id) returns the first auction. InvalidArgument naming
  // the field.
  absl::StatusOr<AuctionView> CreateAuction(PrincipalId seller, absl::string_view request_id,
                                            AuctionSpec spec, absl::Time now);
  // Cancels an auction that has no accepted bid. NotFound, PermissionDenied
  // (not the seller), FailedPrecondition (bids accepted, or already closed).
  // Cancelling a cancelled auction returns it unchanged.
  absl::StatusOr<AuctionView> CancelAuction(PrincipalId seller, AuctionId id, absl::Time now);
  // One bid. NotFound for an unknown auction; otherwise a BidResult, which
  // may be a rejection by the rules.
  absl::StatusOr<BidResult> PlaceBid(const PlaceBidCommand& cmd, absl::Time now);
  // Hints for a shard that sees its next commands coming (software
  // pipelining; they change nothing and cost a few loads). A bid spends most
  // of its time waiting for two cache misses, its auction's key slot and the
  // end of its bid log (BENCHMARKS.md); started one and two commands early,
  // the loads overlap the commands before. PrefetchAuction: the bid two
  // commands ahead; starts loading the auction object. PrefetchBid: the next
  // bid; reads the auction (loaded by then) and starts loading the key slot
  // and the bid log's tail. Unknown ids are ignored.
  // `key_hash` is IdempotencyKeyHash(bidder, client_bid_id).
  void PrefetchAuction(AuctionId id) const;
  void PrefetchBid(AuctionId id, uint64_t key_hash) const;
  // The hint for a bid `distance` (1 or 2) commands ahead: PrefetchBid for
  // 1, PrefetchAuction for 2 (what ShardTask::Prefetch of a bid calls).
  void PrefetchAhead(int distance, AuctionId id, uint64_t key_hash) const;
  // Cancels the owner's resting order `entry` (a bid log entry) in a
  // double auction; returns the quantity cancelled. NotFound,
  // PermissionDenied, FailedPrecondition (not open, or no resting orders in
  // this format). A cancel under a `request_id` the owner used before in
  // this auction returns the first one's quantity and changes nothing
  // (whatever entry it names); a refused one does not use its key up. The
  // server always passes one; without (journals written before keys were
  // kept) a cancel is not idempotent. `answered_entry`, when given, is set
  // to the order the answer is about (`entry`, or the first request's).
  absl::StatusOr<int64_t> CancelBid(PrincipalId owner, AuctionId id, uint32_t entry, absl::Time now,
                                    absl::string_view request_id = {},
                                    uint32_t* answered_entry = nullptr);
  // Marks a closed or cancelled auction's settlement as committed to
  // PostgreSQL: CLOSED -> SETTLED; a CANCELLED auction keeps its state but is
  // no longer carried by the journal's snapshots. Unknown ids are ignored.
  void MarkSettled(AuctionId id);
  // Frees an auction whose settlement is committed (MarkSettled) once a
  // snapshot has dropped it too: from then on the engine answers for it as
  // after a restart (UnknownAuction: "it ended"; its CreateAuction key
  // stays). Ids not held, or not marked settled, are ignored. Not journaled:
  // the snapshot already holds the same.
  void DropSettled(AuctionId id);

  // ---- Journal ----
  // Journals every state change to `log` from now on (null: none). `log`
  // must outlive the engine or be reset.
  void SetCommandLog(CommandLog* log) { log_ = log; }
  // Applies one journaled record (engine/journal_record.h) with replay
  // semantics: time and sequence numbers come from the record, AdvanceTo
  // fires nothing by itself, and a kTimerFired record fires exactly that
  // timer. `record.principal` must already be resolved from its name.
  // Nothing is journaled while replaying. Internal (naming the record) when
  // the record does not apply as it did when it was written: the journal and
  // the engine disagree.
  absl::Status Replay(const JournalRecord& record);
  // The counters record that ends a rolled journal file or a snapshot.
  JournalRecord CountersRecord() const;
  // Settlements not yet committed (CLOSED, or CANCELLED and not marked):
  // the outbox after a recovery, in auction id order.
  void UnsettledSettlements(std::vector<std::shared_ptr<const Settlement>>* out) const;
  // SHA-256 (hex) of a canonical dump of the state a restart must
  // reproduce: the sequence counter and every auction not yet settled (view,
  // bid log, event history), principals by name. Equal hashes before a
  // shutdown and after the recovery that follows mean nothing was lost or
  // changed.
  std::string StateHash() const;
  // Auctions a snapshot carries (not settled).
  size_t live_auction_count() const;

  // Reads. `public_view` hides the reserve and sealed bids.
  absl::StatusOr<AuctionView> GetAuction(AuctionId id, bool public_view) const;
  void ListAuctions(const ListFilter& filter, std::vector<AuctionView>* out) const;
  // The auction, or nullptr. For replaying history to a watcher.
  const Auction* Find(AuctionId id) const;

  Sequence last_sequence() const { return sequence_; }
  size_t auction_count() const { return auction_count_; }
  const EngineOptions& options() const { return options_; }

 private:
  // 16 bytes: every auction has one in the heap while it is open.
  struct Timer {
    Timer(absl::Time when, AuctionId id, TimerKind k)
        : packed_at(when), id_kind(id << 2 | static_cast<uint64_t>(k)) {}
    absl::Time at() const { return packed_at; }
    AuctionId auction_id() const { return id_kind >> 2; }
    TimerKind kind() const { return static_cast<TimerKind>(id_kind & 3); }
    // By time, then auction id, then kind.
    bool operator>(const Timer& o) const {
      if (packed_at.nanos() != o.packed_at.nanos()) return packed_at.nanos() > o.packed_at.nanos();
      return id_kind > o.id_kind;
    }

    PackedTime packed_at;
    uint64_t id_kind;  // auction id << 2 | kind (ids stay far below 2^62)
  };

  absl::Time Clamp(absl::Time now);
  // Applies timer `t` if it is still due (an auction's state and ends_at
  // decide: stale timers are skipped); true when it changed the state.
  bool FireTimer(const Timer& t);
  // The scratch record for a change about to be journaled, or null when
  // nothing is journaled (no log, or replaying).
  JournalRecord* BeginRecord(RecordType type, Sequence before);
  void CommitRecord(JournalRecord* record);
  absl::Status ReplayCommand(const JournalRecord& r);
  // NotFound for an auction this engine does not hold, saying when it was
  // settled and dropped by a snapshot.
  absl::Status UnknownAuction(AuctionId id) const;
  // The auction with this id, or null (no id lookup hashes: see auctions_).
  Auction* Slot(AuctionId id) const;
  void Insert(std::unique_ptr<Auction> auction);
  // The part of PlaceBid after the checks: logs the bid, asks
  // the format, publishes events, extends or closes.
  // `key`: the bid's idempotency key hash, recorded with its entry.
  BidResult ApplyBid(Auction& a, const PlaceBidCommand& cmd, uint64_t key, absl::Time now);
  // PlaceBid's checks of the command itself: InvalidArgument naming the field.
  absl::Status CheckBid(const Auction& a, const PlaceBidCommand& cmd) const;
  // The unlogged rejection of a bid on an auction that is not open at `now`.
  BidResult NotOpenResult(const Auction& a, absl::Time now) const;
  void Emit(Auction& a, AuctionEvent e);
  void EmitAll(Auction& a, std::vector<AuctionEvent>* events);
  // Puts the format's next timer in the heap if it is new and before the end.
  void ArmFormatTimer(Auction& a);
  void Open(Auction& a, absl::Time at);
  void CloseAuction(Auction& a, absl::Time at);
  std::shared_ptr<Settlement> BuildSettlement(const Auction& a, const CloseOutcome& outcome,
                                              absl::Time at) const;
  std::string RejectMessage(const Auction& a, const BidEntry& e) const;
  // The answer to bid `entry` as its log entry has it. A replayed answer's
  // fills come from the format (Auction::FillsOf); a new answer's caller
  // moves in the fills the format's Place just returned.
  BidResult ResultFor(const Auction& a, uint32_t entry, bool replayed) const;

  const EngineOptions options_;
  const PrincipalNames* const names_;
  EngineListener* const listener_;
  absl::Time now_ = absl::InfinitePast();
  Sequence sequence_ = 0;
  uint64_t next_local_id_ = 1;
  // A shard's ids are dense (local number * shard_count + shard_index, the
  // local number counting up), so auctions sit in a vector indexed by local
  // number - local_base_. Null: never created here (an id of an earlier run),
  // or settled and dropped by a snapshot. Hence in id order: lists, the
  // outbox and the state hash walk it without sorting.
  std::vector<std::unique_ptr<Auction>> auctions_;
  uint64_t local_base_ = 0;
  size_t auction_count_ = 0;
  // (seller, request_id) hashed -> the auction's local number (id /
  // shard_count): CreateAuction idempotency.
  HashIndex create_keys_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  // Cancelled auctions whose settlement PostgreSQL has committed.
  absl::flat_hash_set<AuctionId> committed_cancelled_;
  CommandLog* log_ = nullptr;
  bool replaying_ = false;
  JournalRecord record_;  // reused: journaling a bid allocates nothing in steady state
  std::vector<AuctionEvent> format_events_;  // reused by ApplyBid
  AuctionEvent bid_event_;                   // reused: only bid_accepted fields ever set
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_ENGINE_H_
