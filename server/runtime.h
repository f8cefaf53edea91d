// The engine runtime as the server sees it: N shards, each one thread that
// owns its auctions, placed by auction id; each shard's journal under the
// data directory; and the hand-off of settlements to persistence.
#ifndef GAVEL_SERVER_RUNTIME_H_
#define GAVEL_SERVER_RUNTIME_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/clock.h"
#include "engine/journal.h"
#include "engine/recovery.h"
#include "engine/shard.h"
#include "grpcpp/support/status.h"

namespace gavel {

// Receives closed auctions' settlements, from any shard thread at once.
// Must not block (the store's writer takes them through a lock-free queue).
class SettlementSink {
 public:
  virtual ~SettlementSink() = default;
  virtual void Submit(std::shared_ptr<const Settlement> settlement) = 0;
};

// A ShardTask made from a callable, for reads and other one-off tasks whose
// answer needs no durability.
template <typename F>
class FnTask final : public ShardTask {
 public:
  explicit FnTask(F f) : f_(std::move(f)) {}
  void Run(ShardContext& ctx) override {
    f_(ctx);
    delete this;
  }

 private:
  F f_;
};

// What a command's caller is told when the journal failed before the
// command was durable: the outcome is unknown.
grpc::Status JournalFailedStatus();

// What a bid command will touch, so that the shard can start loading it
// while the commands ahead of it run (ShardTask::Prefetch).
struct BidHint {
  AuctionId auction_id = 0;  // 0: no hint
  uint64_t key_hash = 0;     // PlaceBidCommand::key_hash
};

// A command (it changes state): `run(ctx)` applies it on the shard and fills
// the response, returning the status to finish with; `answer(status)` tells
// the caller, once the command's journal records are durable (or with
// JournalFailedStatus() when they never will be). `run` runs on the shard
// thread; `answer` on the shard thread, or with --durability=sync on the
// shard's sync thread (engine/shard.h), so it must not touch shard state.
// A bid passes its `hint`.
template <typename F, typename A>
class CommandTask final : public ShardTask {
 public:
  CommandTask(F run, A answer, BidHint hint)
      : run_(std::move(run)), answer_(std::move(answer)), hint_(hint) {}
  void Run(ShardContext& ctx) override {
    status_ = run_(ctx);
    ctx.shard.AckWhenDurable(this);
  }
  void Prefetch(const Engine& engine, int distance) const override {
    if (hint_.auction_id != 0) {
      engine.PrefetchAhead(distance, hint_.auction_id, hint_.key_hash);
    }
  }
  void Acknowledge() override {
    answer_(std::move(status_));
    delete this;
  }
  void Abandon() override {
    answer_(JournalFailedStatus());
    delete this;
  }

 private:
  F run_;
  A answer_;
  const BidHint hint_;
  grpc::Status status_;
};

struct RuntimeOptions {
  uint32_t shards = 1;
  size_t ring_capacity = 1 << 16;
  absl::Duration spin_before_park = ShardOptions().spin_before_park;
  uint64_t auction_id_floor = 0;  // new auction ids are numbered above it
  // The data directory; each shard journals under DATA_DIR/shard-N. Empty:
  // no journal (nothing survives a restart).
  std::string data_dir;
  JournalOptions journal;  // durability and file limits; dir and shard are set per shard
  // Log lines (recovery, snapshots, state hashes); null: stderr.
  std::function<void(const std::string&)> log;
  // A shard's journal failed (see ShardOptions::on_journal_failure).
  std::function<void(uint32_t shard, const absl::Status&)> on_journal_failure;
  // Empty: shards are not pinned; else shard i runs on CPU shard_cpus[i]
  // (ShardOptions::cpu). REQUIRES: one per shard.
  std::vector<int> shard_cpus;
};

class Runtime final : private EngineListener {
 public:
  // `clock`, `names` and `sink` (may be null) must outlive the runtime.
  Runtime(RuntimeOptions options, const Clock* clock, const PrincipalNames* names,
          SettlementSink* sink);
  ~Runtime() override;

  // With a data directory: restores every shard from its journal, one after
  // the other (names are interned through `principals`, on this thread), and
  // hands the outbox to the sink. REQUIRES: before Start.
  absl::StatusOr<std::vector<ShardRecovery>> Recover(PrincipalResolver* principals);
  void Start();
  // Runs what is queued, then stops every shard thread (each closes its
  // journal, writes its snapshot and logs its state hash).
  void Stop();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // The shutdown has begun (GavelServer::Shutdown, before gRPC's grace
  // period): the shards still run what they are given, but a BidStream
  // places nothing it reads from now on and ends, naming the first request
  // it did not place. Any thread.
  void BeginDrain() { draining_.store(true, std::memory_order_release); }
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  bool journaled() const { return !data_dir_.empty(); }

  Shard& ForAuction(AuctionId id) { return *shards_[id % shards_.size()]; }
  Shard& ForKey(uint64_t key) { return *shards_[key % shards_.size()]; }
  Shard& shard(size_t i) { return *shards_[i]; }
  size_t shard_count() const { return shards_.size(); }
  // Wakes watchers (engine/event_feed.h).
  FeedHub& feed_hub() { return feed_hub_; }

  // Any thread. Runs `f(ShardContext&)` on `shard`; false when the shard's
  // ring is full or the runtime is stopping.
  template <typename F>
  bool Run(Shard& shard, F f) {
    auto* task = new FnTask<F>(std::move(f));
    if (shard.Submit(task)) return true;
    delete task;
    return false;
  }

  // Any thread. Runs the command `run(ShardContext&) -> grpc::Status` on
  // `shard`, and `answer(grpc::Status)` once it is durable (see
  // CommandTask); false when the shard's ring is full or the runtime is
  // stopping (neither then runs). A bid passes its `hint`.
  template <typename F, typename A>
  bool RunCommand(Shard& shard, F run, A answer, BidHint hint = {}) {
    auto* task = new CommandTask<F, A>(std::move(run), std::move(answer), hint);
    if (shard.Submit(task)) return true;
    delete task;
    return false;
  }

 private:
  void OnEvent(const AuctionEvent&) override {}
  void OnSettlement(std::shared_ptr<const Settlement> settlement) override;

  SettlementSink* const sink_;
  const std::string data_dir_;
  FeedHub feed_hub_;  // before shards_: they point at it
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
};

// The directory of shard `index` under `data_dir`: DATA_DIR/shard-INDEX.
std::string ShardDir(const std::string& data_dir, uint32_t index);

// FNV-1a: a hash that stays the same across processes and builds, for
// placing CreateAuction requests on shards by their idempotency key.
uint64_t StableHash(absl::string_view a, absl::string_view b);

}  // namespace gavel

#endif  // GAVEL_SERVER_RUNTIME_H_
