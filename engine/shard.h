// The shard runtime: one thread per shard owns that shard's Engine outright;
// every other thread reaches it only through the shard's bounded lock-free
// ring of tasks. Events fan out from the shard thread to watchers through
// their own bounded queues (EventSubscriber), so a slow watcher never slows
// a shard.
//
// Thread safety / invariants:
// - `ring_` (MpscRing): written by any thread (Submit), read only by the
//   shard thread. A task pointer published by the ring's release store is
//   owned by the shard thread from the moment it is popped.
// - `parked_`: the shard thread stores 1 before it re-checks the ring and
//   sleeps (futex wait on `parked_` == 1); a producer, after its push, loads
//   `parked_` and, seeing 1, stores 0 and wakes it. The four operations
//   involved (the ring's publishing store and its Empty() load, the store
//   and the load of `parked_`) are all seq_cst, so they fall in one total
//   order (Dekker): either the consumer sees the new task or the producer
//   sees the parked flag, and no wake-up is lost. (seq_cst operations rather
//   than fences, so that ThreadSanitizer can check it.) No mutex and no
//   condition variable anywhere.
// - `stop_`: set once by Stop(); the shard thread drains the ring and exits.
// - `submitting_`: Submit counts itself in (seq_cst) before it reads
//   `accepting_` and out after its push; Stop clears `accepting_` first. The
//   shard thread exits only after reading `submitting_` == 0 and then finding
//   the ring empty, so a Submit that returned true is always run: either its
//   push is visible to that check, or it read `accepting_` after Stop cleared
//   it and never pushed.
// - Everything else (engine_, journal_, subscribers_, the batch's tasks
//   awaiting acknowledgement and settlements awaiting durability) is touched
//   only by the shard thread, or by the thread that calls Recover() before
//   Start() and Stop() after the join.
// - Compactor thread (journaled shards): compacts the complete journal files
//   below `compact_upto_`. The shard thread publishes a new bound with a
//   release store after a roll and bumps `compactor_signal_` (futex wake);
//   the compactor reads the bound with acquire. The two threads never touch
//   the same file: the shard writes only file `compact_upto_` and later.
//
// Durability (engine/journal.h, DESIGN.md "Durability"): the shard runs a
// batch of tasks, whose Run() computes results and appends journal records,
// then writes the batch with one write(2) and, in sync mode, one fdatasync;
// only then does it acknowledge the tasks that asked for it
// (AckWhenDurable) and hand the batch's settlements downstream, so that
// nothing reaches a client or PostgreSQL before it is in the journal.
// Events reach watchers at once: a watcher may see a command a few
// milliseconds before it is durable, like any read.
#ifndef GAVEL_ENGINE_SHARD_H_
#define GAVEL_ENGINE_SHARD_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/journal.h"
#include "engine/mpsc_ring.h"
#include "engine/recovery.h"

namespace gavel {

class Shard;

// Receives one auction's events on the shard thread. Offer must not block:
// it queues the event for its own consumer, or returns false when it cannot
// take more (or has gone away), and the shard then drops it.
class EventSubscriber {
 public:
  virtual ~EventSubscriber() = default;
  virtual bool Offer(const AuctionEvent& event) = 0;
  // The shard dropped this subscriber because Offer returned false; events
  // from `resume_from` on were not delivered.
  virtual void Dropped(Sequence resume_from) = 0;
};

// What a task sees when it runs on the shard thread.
struct ShardContext {
  Engine& engine;
  Shard& shard;
  absl::Time now;
};

// A unit of work handed to a shard. Run is called exactly once, on the shard
// thread; the task owns itself and must delete itself (or hand itself on)
// before Run returns or later.
//
// A command whose answer must wait until its journal records are durable
// calls ctx.shard.AckWhenDurable(this) in Run and keeps itself alive; the
// shard then calls exactly one of Acknowledge (the records are durable as
// the durability mode requires: answer now) or Abandon (the journal failed:
// the outcome is unknown and must not be reported as done), on the shard
// thread, after which the task owns itself again. Tasks that use it override
// both.
class ShardTask {
 public:
  virtual ~ShardTask() = default;
  virtual void Run(ShardContext& ctx) = 0;
  virtual void Acknowledge() {}
  virtual void Abandon() {}
};

struct ShardOptions {
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  size_t ring_capacity = 1 << 16;
  uint64_t auction_id_floor = 0;  // see EngineOptions
  // The journal; journal.dir empty: none (every task is acknowledged at
  // once, and a restart starts empty). shard_index/shard_count are taken
  // from above.
  JournalOptions journal = {};
  // Compact rolled journal files into snapshots on a thread of the shard's
  // own (else only at Stop).
  bool background_compaction = true;
  // Where the shard's log lines go (recovery, torn tails, compactions, the
  // state hash); null: stderr.
  std::function<void(const std::string&)> log = nullptr;
  // Called once, on the shard thread, when a journal write or fdatasync
  // fails. The shard has then stopped acknowledging for good (tasks waiting
  // and later ones are abandoned); it never retries. The server exits.
  std::function<void(const absl::Status&)> on_journal_failure = nullptr;
};

// What a shard's recovery found (Shard::Recover).
struct ShardRecovery {
  RecoveryReport report;
  std::string state_hash;  // Engine::StateHash after the replay
  size_t live_auctions = 0;
  size_t outbox = 0;  // settlements handed downstream again (closed, not yet committed)
};

class Shard final : private EngineListener {
 public:
  // `clock`, `names` and `downstream` must outlive the shard. `downstream`
  // sees every event and settlement after the shard's own watchers.
  Shard(ShardOptions options, const Clock* clock, const PrincipalNames* names,
        EngineListener* downstream);
  ~Shard() override;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // With a journal: restores the engine from the journal directory, opens
  // the journal for writing and hands the settlements still waiting for
  // PostgreSQL to `downstream` (the outbox). Logs one line with the state
  // hash. `principals` maps journaled names to ids. REQUIRES: a journal is
  // configured; called once, before Start.
  absl::StatusOr<ShardRecovery> Recover(PrincipalResolver* principals);

  // REQUIRES: Recover succeeded when a journal is configured.
  void Start();
  // Stops taking tasks, runs the ones already queued, joins the thread.
  // With a journal (not failed): closes it, compacts everything into a
  // snapshot and logs the final state hash. Idempotent.
  void Stop();

  // REQUIRES: the shard thread, inside a task's Run. The shard calls the
  // task's Acknowledge (or Abandon) once this batch's records are durable.
  void AckWhenDurable(ShardTask* task);

  // Any thread. Hands `task` to the shard; false when the ring is full or
  // the shard is stopping (the caller still owns the task).
  bool Submit(ShardTask* task);

  // REQUIRES: the shard thread (from a task). Sends `subscriber` the
  // auction's past events with sequence >= from_sequence (none when 0),
  // then every new one until the auction closes. NotFound for an unknown
  // auction.
  absl::Status Subscribe(AuctionId id, Sequence from_sequence,
                         std::shared_ptr<EventSubscriber> subscriber);

  uint32_t index() const { return options_.shard_index; }
  size_t watcher_count_for_test() const;
  // Any thread: whether the journal failed (the shard acknowledges nothing).
  bool journal_failed() const { return journal_failed_.load(std::memory_order_acquire); }
  // After Stop: the state hash at shutdown (empty without a journal).
  const std::string& final_state_hash() const { return final_state_hash_; }

 private:
  void OnEvent(const AuctionEvent& event) override;
  void OnSettlement(std::shared_ptr<const Settlement> settlement) override;
  void Loop();
  void Park(absl::Time deadline);
  void Wake();
  void Log(const std::string& line) const;
  // After each batch: writes, syncs as the durability mode says, acknowledges,
  // hands durable settlements downstream, rolls the journal.
  void EndBatch(absl::Time now);
  void ForwardSettlements();
  void FailJournal(const absl::Status& status);
  // When the batch-mode fdatasync is due (InfiniteFuture: none pending).
  absl::Time SyncDeadline() const;
  void CompactorLoop();
  void Compact(uint64_t upto);

  const ShardOptions options_;
  const Clock* const clock_;
  EngineListener* const downstream_;
  Engine engine_;
  MpscRing<ShardTask*> ring_;
  alignas(kCacheLine) std::atomic<uint32_t> parked_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> accepting_{true};
  alignas(kCacheLine) std::atomic<uint32_t> submitting_{0};  // Submits in flight
  std::thread thread_;
  absl::flat_hash_map<AuctionId, std::vector<std::shared_ptr<EventSubscriber>>> subscribers_;

  // Journal (shard thread; see the invariants above).
  std::unique_ptr<Journal> journal_;
  bool recovering_ = false;
  bool recovered_ = false;
  bool stopped_ = false;
  absl::Time last_sync_ = absl::InfinitePast();
  std::vector<ShardTask*> awaiting_ack_;
  std::vector<std::shared_ptr<const Settlement>> awaiting_sync_;
  std::atomic<bool> journal_failed_{false};
  std::string final_state_hash_;
  std::thread compactor_;
  alignas(kCacheLine) std::atomic<uint64_t> compact_upto_{0};
  std::atomic<uint32_t> compactor_signal_{0};
  std::atomic<bool> compactor_stop_{false};
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_SHARD_H_
