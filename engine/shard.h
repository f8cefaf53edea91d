// The shard runtime: one thread per shard owns that shard's Engine outright;
// every other thread reaches it only through the shard's bounded lock-free
// ring of tasks. A watched auction's events go into its EventFeed once,
// whatever the number of watchers; the watchers read them on their own
// threads, woken by the FeedHub, so neither a slow watcher nor a thousand
// of them slow a shard (engine/event_feed.h).
//
// Thread safety / invariants:
// - `ring_` (MpscRing): written by any thread (Submit), read only by the
//   shard thread. A task pointer published by the ring's release store is
//   owned by the shard thread from the moment it is popped.
// - Spinning before parking: once the ring is empty after the shard ran
//   something, the shard thread polls `ring_.Empty()` (with a CPU pause) for
//   up to `spin_before_park` of real time before it parks, since waking a
//   parked thread costs tens of microseconds. It spins only after work: a
//   shard that woke up and found nothing to do parks again at once, so an
//   idle shard does not burn a CPU. The spin only reads; whether the shard
//   then parks is decided by the protocol below, unchanged.
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
// - Everything else (engine_, subscribers_, the batch's tasks awaiting
//   acknowledgement and settlements awaiting durability, and with durability
//   batch or none the journal) is touched only by the shard thread, or by
//   the thread that calls Recover() before Start() and Stop() after the
//   joins.
// - Sync thread (journaled shards with durability=sync): the shard thread
//   never waits for an fdatasync. It owns a SyncBatch at a time: the framed
//   bytes the engine logged (`log_buffer_`, the engine's CommandLog in this
//   mode), the tasks that asked for AckWhenDurable, the settlements of
//   closes, and the engine's Counters record right after those records.
//   It hands the batch over by pushing its pointer into `to_sync_`
//   (SpscRing: the shard thread is the only producer, the sync thread the
//   only consumer; the ring's release store of its tail publishes the
//   batch's contents, the consumer's acquire load sees them) and from then
//   on never touches it. The sync thread is then the only user of the
//   Journal and its file (Env's rule: one thread per WritableFile): it pops
//   every batch queued (group commit), appends their bytes in order, does one
//   write(2) and one fdatasync, and only then calls the batch's tasks'
//   Acknowledge and hands its settlements downstream: whatever a client or
//   PostgreSQL learns is in the synced prefix of the journal. It rolls the
//   journal file itself, after a sync, ending the file with the Counters
//   record of the last batch it wrote (the engine's state after exactly the
//   records in that file), and publishes the new compaction bound. Emptied
//   batches go back through `recycled_` (SpscRing, sync thread -> shard
//   thread, same publication rule), so that steady state allocates nothing.
//   When `to_sync_` is full the shard keeps adding to the batch it holds
//   (`open_batch_`) and tries again at its next batch end.
//   Parking: the sync thread reads `sync_signal_` (seq_cst), tries the ring,
//   and when it found nothing stores `sync_parked_` = 1 and futex-waits on
//   `sync_signal_` still holding the value it read. The shard thread, after
//   each push, increments `sync_signal_` and then loads `sync_parked_`
//   (both seq_cst): if it sees 0, its increment comes before the sync
//   thread's store of 1 in the single total order, so the sync thread's
//   re-read of the signal sees the change and does not sleep; if it sees 1
//   it wakes the futex, and the kernel's compare of the futex word (already
//   changed) or the wake itself ends the wait. Stop() increments the signal
//   and wakes unconditionally after `sync_stop_`, once the shard thread has
//   been joined: with `sync_stop_` set and `to_sync_` empty nothing more
//   can come, and the sync thread exits.
//   Failure: a failed write, fdatasync or roll on the sync thread calls
//   on_journal_failure, then sets `journal_failed_` (release); the sync
//   thread abandons the tasks of that group and of every batch it pops
//   later, and never touches the file again. The shard thread, having read
//   `journal_failed_` (acquire), abandons what it still holds instead of
//   handing it over. Each task sits in exactly one place at a time
//   (awaiting_ack_, then a batch, then the sync thread's group), so it is
//   acknowledged or abandoned exactly once, and none after a failure.
// - Compactor thread (journaled shards): compacts the complete journal files
//   below `compact_upto_`. The thread that rolls the journal (the shard
//   thread, or the sync thread in sync mode) publishes a new bound with a
//   release store after a roll and bumps `compactor_signal_` (futex wake);
//   the compactor reads the bound with acquire. The two threads never touch
//   the same file: the writer writes only file `compact_upto_` and later.
// - Compactor -> shard thread, the settled auctions a snapshot dropped (for
//   the engine to free: Engine::DropSettled): after each snapshot the
//   compactor takes back whatever vector the shard has not taken yet
//   (exchange to null), adds it to the new ids (`pending_drops_`,
//   compactor-only) and publishes the whole as a new vector with a release
//   store into `dropped_`. The shard thread, after each batch, loads
//   `dropped_` (relaxed: a cheap look) and, when it is not null, takes it
//   with an acquire exchange to null, which makes the compactor's writes to
//   the vector visible (a null result: the compactor took it back first);
//   it frees the auctions and deletes the vector. Only the compactor stores
//   non-null; each exchange hands a vector to exactly one thread, so each is
//   owned by one thread at a time and deleted once. Nothing is waited for:
//   an idle shard frees them at its next batch (at most 200 ms away: it
//   parks for at most kMaxPark).
//
// Durability (engine/journal.h, DESIGN.md "Durability"): the shard runs a
// batch of tasks, whose Run() computes results and appends journal records.
// With durability sync the batch goes to the sync thread (above), which
// acknowledges the tasks that asked for it (AckWhenDurable) and hands the
// settlements downstream after the fdatasync that covers them. With batch or
// none the shard thread writes the batch with one write(2) (and in batch mode
// an fdatasync when the interval is due) and acknowledges at once; in none
// mode settlements go downstream after the write, in batch mode after the
// next fdatasync. Nothing reaches a client or PostgreSQL before it is in the
// journal. Events reach watchers at once: a watcher may see a command a few
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
#include "engine/event_feed.h"
#include "engine/journal.h"
#include "engine/mpsc_ring.h"
#include "engine/recovery.h"
#include "engine/spsc_ring.h"

namespace gavel {

class Shard;

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
// the outcome is unknown and must not be reported as done), after which the
// task owns itself again. Tasks that use it override both. They are called on
// the shard thread, except with durability=sync, where the shard's sync
// thread calls them (and the shard thread abandons what it still holds after
// a journal failure); either way after Run, with a happens-before edge from
// it. They must not touch the engine or other shard-thread state.
class ShardTask {
 public:
  virtual ~ShardTask() = default;
  virtual void Run(ShardContext& ctx) = 0;
  // A hint, on the shard thread, that this task runs `distance` (1 or 2)
  // tasks from now: a bid calls engine.PrefetchBid (1) or
  // engine.PrefetchAuction (2), so that its memory is on the way while the
  // tasks before it run. Must change nothing. Default: no hint.
  virtual void Prefetch(const Engine& /*engine*/, int /*distance*/) const {}
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
  // After running tasks, the shard polls its ring this long (real time, with
  // a CPU pause) before it parks: waking a parked thread costs tens of
  // microseconds. Only after work: an idle shard parks at once. Zero: park
  // as soon as there is nothing to do. (The sync thread never spins.)
  absl::Duration spin_before_park = absl::Microseconds(30);
  // Where the shard's log lines go (recovery, torn tails, compactions, the
  // state hash); null: stderr.
  std::function<void(const std::string&)> log = nullptr;
  // Called once, on the shard thread (on the sync thread with
  // durability=sync), when a journal write or fdatasync fails. The shard has then stopped
  // acknowledging for good (tasks waiting and later ones are abandoned); it never retries. The
  // server exits.
  std::function<void(const absl::Status&)> on_journal_failure = nullptr;
  // Events a watched auction's feed keeps (EventFeed): a watcher further
  // behind than that is cut off with the sequence to resume from.
  size_t watch_capacity = 4096;
  // Wakes watchers when their feed has news; must outlive the shard. Null:
  // nobody is woken (readers poll; tests).
  FeedHub* feed_hub = nullptr;
  // The CPU the shard thread runs on (pinned at Start), or -1: wherever the
  // scheduler puts it. Meant for a core kept free of other work and of the
  // timer tick (isolcpus, nohz_full): on a shared core the tick alone stalls
  // a shard for tens of microseconds every few milliseconds (BENCHMARKS.md,
  // seventh round). The sync and compaction threads are not pinned.
  int cpu = -1;
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
  // task's Acknowledge (or Abandon) once this batch's records, and every
  // record before them, are durable.
  void AckWhenDurable(ShardTask* task);

  // Any thread. Hands `task` to the shard; false when the ring is full or
  // the shard is stopping (the caller still owns the task).
  bool Submit(ShardTask* task);

  // REQUIRES: the shard thread (from a task). A subscription to the
  // auction's past events with sequence >= from_sequence (none when 0; at
  // most watch_capacity of them, then it is behind), then every new one
  // until the close. The caller hands it to its reader and, for the reader
  // to be woken, adds the reader to the feed hub with its feed(). NotFound
  // for an unknown auction.
  absl::StatusOr<Subscription> Subscribe(AuctionId id, Sequence from_sequence);

  uint32_t index() const { return options_.shard_index; }
  // Auctions with a feed (watched, still open).
  size_t feed_count_for_test() const { return feeds_.size(); }
  // Any thread: whether the journal failed (the shard acknowledges nothing).
  bool journal_failed() const { return journal_failed_.load(std::memory_order_acquire); }
  // After Stop: the state hash at shutdown (empty without a journal).
  const std::string& final_state_hash() const { return final_state_hash_; }

 private:
  void OnEvent(const AuctionEvent& event) override;
  void OnSettlement(std::shared_ptr<const Settlement> settlement) override;
  // What the shard thread hands the sync thread (durability=sync; see the
  // invariants above).
  struct SyncBatch {
    std::string bytes;  // framed journal records, in the engine's order
    uint64_t records = 0;
    std::vector<ShardTask*> tasks;  // to acknowledge once `bytes` are durable
    std::vector<std::shared_ptr<const Settlement>> settlements;  // likewise, downstream
    JournalRecord counters;  // Engine::CountersRecord() right after `bytes`
    absl::Time now;          // the shard's time at the hand-over
  };
  // The engine's CommandLog with durability=sync: frames records in memory
  // on the shard thread.
  class RecordBuffer final : public CommandLog {
   public:
    void Append(const JournalRecord& record) override;
    std::string bytes;
    uint64_t records = 0;
  };

  void Loop();
  // Polls the ring until it is not empty or stop_ is set (true), or until
  // `until_ns` (steady clock; false).
  bool SpinForWork(int64_t until_ns) const;
  void Park(absl::Time deadline);
  void Wake();
  bool sync_thread_mode() const {
    return journal_ != nullptr && options_.journal.durability == Durability::kSync;
  }
  // Shard thread, durability=sync: hands what this batch produced to the
  // sync thread (or abandons it after a journal failure).
  void HandOver(absl::Time now);
  void SyncLoop();
  // Sync thread: writes, syncs, acknowledges and forwards `group`, rolls.
  void SyncGroup(std::vector<SyncBatch*>& group);
  // Sync thread: empties `batch` and returns it to the shard thread.
  void Recycle(SyncBatch* batch);
  void Log(const std::string& line) const;
  // After each batch: writes, syncs as the durability mode says, acknowledges,
  // hands durable settlements downstream, rolls the journal.
  void EndBatch(absl::Time now);
  void ForwardSettlements();
  // Logs, calls on_journal_failure, then sets journal_failed_ and abandons
  // awaiting_ack_. On the thread that owns the journal.
  void FailJournal(const absl::Status& status, size_t abandoning);
  // Shard thread: abandons the tasks waiting for durability and drops the
  // settlements waiting for it (they must never reach PostgreSQL).
  void AbandonWaiting();
  // Asks the compactor thread to snapshot every file before `upto`.
  void RequestCompaction(uint64_t upto);
  // When the batch-mode fdatasync is due (InfiniteFuture: none pending).
  absl::Time SyncDeadline() const;
  void CompactorLoop();
  // Writes snapshot `upto`; the ids of the settled auctions it dropped go
  // to `dropped` (if not null).
  void Compact(uint64_t upto, std::vector<AuctionId>* dropped = nullptr);
  // Shard thread: frees the auctions the compactor handed over (dropped_).
  void FreeDropped();

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
  // Feeds of watched open auctions (shard thread). A feed nobody else holds
  // any more is dropped at its auction's next event.
  absl::flat_hash_map<AuctionId, std::shared_ptr<EventFeed>> feeds_;

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

  // Durability=sync (see the invariants above).
  RecordBuffer log_buffer_;                          // shard thread
  SyncBatch* open_batch_ = nullptr;                  // shard thread: filled, not yet handed over
  absl::Time last_handover_ = absl::InfinitePast();  // shard thread
  std::unique_ptr<SpscRing<SyncBatch*>> to_sync_;    // shard -> sync thread
  std::unique_ptr<SpscRing<SyncBatch*>> recycled_;   // sync -> shard thread
  std::thread sync_thread_;
  alignas(kCacheLine) std::atomic<uint32_t> sync_signal_{0};  // bumped per hand-over
  std::atomic<uint32_t> sync_parked_{0};
  std::atomic<bool> sync_stop_{false};
  std::thread compactor_;
  alignas(kCacheLine) std::atomic<uint64_t> compact_upto_{0};
  std::atomic<uint32_t> compactor_signal_{0};
  std::atomic<bool> compactor_stop_{false};
  std::vector<AuctionId> pending_drops_;  // compactor thread
  alignas(kCacheLine) std::atomic<std::vector<AuctionId>*> dropped_{nullptr};
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_SHARD_H_
