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
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/auction.h"
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
// the engine, and nothing it does can corrupt the engine's state.
class EngineListener {
 public:
  virtual ~EngineListener() = default;
  virtual void OnEvent(const AuctionEvent& event) = 0;
  // A closed or cancelled auction's settlement, hash chain computed.
  virtual void OnSettlement(std::shared_ptr<const Settlement> settlement) = 0;
};

struct PlaceBidCommand {
  AuctionId auction_id = 0;
  PrincipalId bidder = kNoPrincipal;
  absl::string_view client_bid_id;  // idempotency key, non-empty
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
  // Cancels the owner's resting order `entry` (a bid log entry) in a
  // double auction; returns the quantity cancelled. NotFound,
  // PermissionDenied, FailedPrecondition (not open, or no resting orders in
  // this format).
  absl::StatusOr<int64_t> CancelBid(PrincipalId owner, AuctionId id, uint32_t entry,
                                    absl::Time now);
  // Marks a closed auction as persisted (CLOSED -> SETTLED).
  void MarkSettled(AuctionId id);

  // Reads. `public_view` hides the reserve and sealed bids.
  absl::StatusOr<AuctionView> GetAuction(AuctionId id, bool public_view) const;
  void ListAuctions(const ListFilter& filter, std::vector<AuctionView>* out) const;
  // The auction, or nullptr. For replaying history to a watcher.
  const Auction* Find(AuctionId id) const;

  Sequence last_sequence() const { return sequence_; }
  size_t auction_count() const { return auctions_.size(); }
  const EngineOptions& options() const { return options_; }

 private:
  enum class TimerKind : uint8_t { kOpen, kFormat, kClose };
  struct Timer {
    absl::Time at;
    AuctionId auction_id;
    TimerKind kind;
    bool operator>(const Timer& o) const {
      if (at != o.at) return at > o.at;
      if (auction_id != o.auction_id) return auction_id > o.auction_id;
      return kind > o.kind;
    }
  };

  absl::Time Clamp(absl::Time now);
  void Emit(Auction& a, AuctionEvent e);
  void EmitAll(Auction& a, std::vector<AuctionEvent>* events);
  // Puts the format's next timer in the heap if it is new and before the end.
  void ArmFormatTimer(Auction& a);
  void Open(Auction& a, absl::Time at);
  void CloseAuction(Auction& a, absl::Time at);
  std::shared_ptr<Settlement> BuildSettlement(const Auction& a, const CloseOutcome& outcome,
                                              absl::Time at) const;
  std::string RejectMessage(const Auction& a, const BidEntry& e) const;
  BidResult ResultFor(const Auction& a, uint32_t entry, bool replayed) const;

  const EngineOptions options_;
  const PrincipalNames* const names_;
  EngineListener* const listener_;
  absl::Time now_ = absl::InfinitePast();
  Sequence sequence_ = 0;
  uint64_t next_local_id_ = 1;
  absl::flat_hash_map<AuctionId, std::unique_ptr<Auction>> auctions_;
  // (seller, request_id) hashed -> auction: CreateAuction idempotency.
  absl::flat_hash_map<uint64_t, AuctionId> create_keys_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_ENGINE_H_
