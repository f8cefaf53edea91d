#include "engine/shard.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/futex.h"
#include "engine/journal_file.h"

namespace gavel {
namespace {

// The CPU's spin-wait hint: lets the sibling hyperthread run and saves power
// while a thread polls.
inline void CpuPause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Real time for spinning (not the injected clock: a ManualClock never moves
// by itself, and a spin is about the CPU, not about engine time).
int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// spin_before_park in nanoseconds, at most an hour (no overflow when added
// to the steady clock); 0 when not positive.
int64_t SpinNanos(absl::Duration spin) {
  return absl::ToInt64Nanoseconds(std::clamp(spin, absl::ZeroDuration(), absl::Hours(1)));
}

// A parked shard wakes at least this often even without tasks or timers, so
// that a clock that jumps (tests, NTP) is noticed.
constexpr absl::Duration kMaxPark = absl::Milliseconds(200);
constexpr int kBatch = 256;  // tasks per group commit at most
// Durability=sync: batches queued for the sync thread at most (beyond, the
// shard grows the batch it holds), and batches one sync covers at most.
constexpr size_t kSyncRing = 1024;
constexpr size_t kSyncGroup = 256;
// A shard with a batch the full ring refused tries again this often.
constexpr absl::Duration kHandOverRetry = absl::Milliseconds(1);

ShardOptions WithJournalShard(ShardOptions o) {
  o.journal.shard_index = o.shard_index;
  o.journal.shard_count = o.shard_count;
  return o;
}

}  // namespace

Shard::Shard(ShardOptions options, const Clock* clock, const PrincipalNames* names,
             EngineListener* downstream)
    : options_(WithJournalShard(std::move(options))),
      clock_(clock),
      downstream_(downstream),
      engine_({options_.shard_index, options_.shard_count, options_.auction_id_floor}, names,
              this),
      ring_(options_.ring_capacity) {
  awaiting_ack_.reserve(kBatch);
  if (!options_.journal.dir.empty() && options_.journal.durability == Durability::kSync) {
    to_sync_ = std::make_unique<SpscRing<SyncBatch*>>(kSyncRing);
    recycled_ = std::make_unique<SpscRing<SyncBatch*>>(kSyncRing);
  }
}

Shard::~Shard() {
  Stop();
  delete dropped_.load(std::memory_order_acquire);  // the threads are gone
  // Every task was acknowledged or abandoned; what is left is empty batches.
  delete open_batch_;
  SyncBatch* b = nullptr;
  if (to_sync_ != nullptr) {
    while (to_sync_->TryPop(&b)) delete b;
    while (recycled_->TryPop(&b)) delete b;
  }
}

void Shard::RecordBuffer::Append(const JournalRecord& record) {
  AppendFrame(record, &bytes);
  ++records;
}

void Shard::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

absl::StatusOr<ShardRecovery> Shard::Recover(PrincipalResolver* principals) {
  if (options_.journal.dir.empty()) {
    return absl::FailedPreconditionError("this shard has no journal to recover from");
  }
  if (recovered_) return absl::FailedPreconditionError("the shard has recovered already");
  RecoveryOptions ro;
  ro.env = options_.journal.env;
  ro.dir = options_.journal.dir;
  ro.shard_index = options_.shard_index;
  ro.shard_count = options_.shard_count;
  ro.log = options_.log;
  recovering_ = true;  // replayed closes are not new settlements
  absl::StatusOr<RecoveryReport> report = gavel::Recover(ro, &engine_, principals);
  recovering_ = false;
  if (!report.ok()) return report.status();
  absl::StatusOr<std::unique_ptr<Journal>> journal =
      Journal::Open(options_.journal, report->next_file_number, clock_->Now());
  if (!journal.ok()) return journal.status();
  journal_ = *std::move(journal);
  // With durability=sync the journal belongs to the sync thread once
  // started; the engine logs into the shard thread's own buffer.
  if (sync_thread_mode()) {
    engine_.SetCommandLog(&log_buffer_);
  } else {
    engine_.SetCommandLog(journal_.get());
  }
  recovered_ = true;

  ShardRecovery out;
  out.report = *report;
  out.state_hash = engine_.StateHash();
  out.live_auctions = engine_.live_auction_count();
  // The outbox: closed auctions PostgreSQL has not confirmed. Durable (they
  // come from the journal), so they go downstream at once.
  std::vector<std::shared_ptr<const Settlement>> outbox;
  engine_.UnsettledSettlements(&outbox);
  out.outbox = outbox.size();
  if (downstream_ != nullptr) {
    for (auto& s : outbox) downstream_->OnSettlement(std::move(s));
  }
  // Every file below the new one is complete: compact them in the background.
  compact_upto_.store(report->next_file_number, std::memory_order_release);
  Log(absl::StrCat(
      "shard ", options_.shard_index, ": recovered ", options_.journal.dir, " in ",
      absl::FormatDuration(report->elapsed), ": ",
      report->snapshot_number != 0
          ? absl::StrCat(SnapshotFileName(report->snapshot_number), " (",
                         report->snapshot_records, " records)")
          : std::string("no snapshot"),
      " + ", report->journal_files, " journal file(s) (", report->journal_records,
      " records)", report->torn_tail ? ", torn tail discarded" : "", "; ", out.live_auctions,
      " live auction(s), outbox ", out.outbox, ", sequence ", engine_.last_sequence(),
      "; state hash ", out.state_hash, "; journal continues in ",
      JournalFileName(report->next_file_number), " (durability=",
      DurabilityName(options_.journal.durability), ")"));
  return out;
}

void Shard::Start() {
  if (!options_.journal.dir.empty() && !recovered_) {
    Log(absl::StrCat("shard ", options_.shard_index,
                     ": Start() without Recover(): a journaled shard must recover first"));
    std::abort();
  }
  // Named for top -H and perf: "gavel-shard-3", "gavel-sync-3".
  if (sync_thread_mode()) {
    sync_thread_ = std::thread([this] { SyncLoop(); });
    pthread_setname_np(sync_thread_.native_handle(),
                       absl::StrCat("gavel-sync-", options_.shard_index).c_str());
  }
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(),
                     absl::StrCat("gavel-shard-", options_.shard_index).c_str());
  if (options_.cpu >= 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    if (options_.cpu < CPU_SETSIZE) CPU_SET(options_.cpu, &one);
    // An empty set (a CPU past CPU_SETSIZE) is refused with EINVAL.
    if (const int err = pthread_setaffinity_np(thread_.native_handle(), sizeof(one), &one);
        err != 0) {
      Log(absl::StrCat("shard ", options_.shard_index, ": cannot pin to CPU ", options_.cpu,
                       " (error ", err, "); it runs unpinned"));
    }
  }
  if (journal_ != nullptr && options_.background_compaction) {
    compactor_ = std::thread([this] { CompactorLoop(); });
  }
}

void Shard::Stop() {
  accepting_.store(false, std::memory_order_seq_cst);
  stop_.store(true, std::memory_order_seq_cst);
  Wake();
  if (thread_.joinable()) thread_.join();
  if (sync_thread_.joinable()) {
    // The shard thread has handed over its last batch: the sync thread
    // drains the ring and exits.
    sync_stop_.store(true, std::memory_order_seq_cst);
    sync_signal_.fetch_add(1, std::memory_order_seq_cst);
    FutexWakeOne(&sync_signal_);
    sync_thread_.join();
  }
  if (compactor_.joinable()) {
    compactor_stop_.store(true, std::memory_order_release);
    compactor_signal_.fetch_add(1, std::memory_order_release);
    compactor_signal_.notify_all();
    compactor_.join();
  }
  if (stopped_ || journal_ == nullptr) return;
  stopped_ = true;
  // The shard (and sync) threads have exited: their state is ours now.
  if (journal_->failure().ok()) {
    const absl::Status closed = journal_->Close(engine_.CountersRecord());
    if (!closed.ok()) {
      Log(absl::StrCat("shard ", options_.shard_index, ": closing the journal failed: ",
                       closed.message(), "; the next start recovers from the journal"));
      return;
    }
    ForwardSettlements();  // everything is synced now
    Compact(journal_->file_number() + 1);
  }
  final_state_hash_ = engine_.StateHash();
  Log(absl::StrCat("shard ", options_.shard_index, ": stopped; ",
                   engine_.live_auction_count(), " live auction(s), sequence ",
                   engine_.last_sequence(), "; state hash ", final_state_hash_));
}

void Shard::AckWhenDurable(ShardTask* task) { awaiting_ack_.push_back(task); }

bool Shard::Submit(ShardTask* task) {
  // In flight from before the accepting_ check until after the push and wake:
  // Stop's drain waits for us (see "submitting_" in shard.h).
  submitting_.fetch_add(1, std::memory_order_seq_cst);
  const bool pushed = accepting_.load(std::memory_order_seq_cst) && ring_.TryPush(task);
  if (pushed) Wake();
  submitting_.fetch_sub(1, std::memory_order_seq_cst);
  return pushed;
}

void Shard::Wake() {
  // The load is seq_cst, like the ring's publishing store before it (see
  // shard.h); the exchange makes one waker pay for the syscall.
  if (parked_.load(std::memory_order_seq_cst) == 1 &&
      parked_.exchange(0, std::memory_order_seq_cst) == 1) {
    FutexWakeOne(&parked_);
  }
}

void Shard::Park(absl::Time deadline) {
  parked_.store(1, std::memory_order_seq_cst);
  if (!ring_.Empty() || stop_.load(std::memory_order_seq_cst)) {
    parked_.store(0, std::memory_order_relaxed);
    return;
  }
  const absl::Duration wait = std::clamp(deadline - clock_->Now(), absl::ZeroDuration(), kMaxPark);
  if (wait > absl::ZeroDuration()) FutexWait(&parked_, 1, wait);
  parked_.store(0, std::memory_order_relaxed);
}

bool Shard::SpinForWork(int64_t until_ns) const {
  for (;;) {
    // Check the time only every few polls: a pause is ~10-140 cycles.
    for (int i = 0; i < 16; ++i) {
      if (!ring_.Empty() || stop_.load(std::memory_order_relaxed)) return true;
      CpuPause();
    }
    if (SteadyNs() >= until_ns) return false;
  }
}

void Shard::Loop() {
  const int64_t spin_ns = SpinNanos(options_.spin_before_park);
  int64_t spin_until = 0;  // steady ns: may spin before parking until then
  for (;;) {
    int ran = 0;
    ShardTask* task = nullptr;
    absl::Time now = clock_->Now();
    // The sync thread is a full queue behind (a slow disk): take no more
    // commands, so that the ring fills and Submit refuses them
    // (RESOURCE_EXHAUSTED) instead of the unsynced batch growing unbounded.
    const bool backlogged = open_batch_ != nullptr;
    while (!backlogged && ran < kBatch && ring_.TryPop(&task)) {
      now = clock_->Now();
      engine_.AdvanceTo(now);
      // Software pipelining: the two tasks queued behind this one start
      // loading what they will touch (ShardTask::Prefetch).
      ShardTask* ahead = nullptr;
      if (ring_.Peek(0, &ahead)) ahead->Prefetch(engine_, 1);
      if (ring_.Peek(1, &ahead)) ahead->Prefetch(engine_, 2);
      ShardContext ctx{engine_, *this, now};
      task->Run(ctx);
      ++ran;
    }
    if (ran == 0) engine_.AdvanceTo(now);
    EndBatch(now);
    FreeDropped();
    if (backlogged && open_batch_ != nullptr) {
      // Still full: Park would return at once while the ring holds tasks.
      absl::SleepFor(kHandOverRetry);
      continue;
    }
    if (ran > 0) {
      // Work came in: poll a while before parking next time.
      if (spin_ns > 0) spin_until = SteadyNs() + spin_ns;
      continue;
    }
    if (stop_.load(std::memory_order_acquire)) {
      // A Submit still in flight may yet push: wait for it before the last
      // look; and the last batch must have reached the sync thread.
      if (submitting_.load(std::memory_order_seq_cst) == 0 && ring_.Empty() &&
          open_batch_ == nullptr) {
        break;
      }
      continue;
    }
    // Only right after work (spin_until is renewed by work alone): an idle
    // shard that woke up for a timer or kMaxPark parks again at once. Timers
    // fall due at most one spin late.
    if (spin_until > 0 && SpinForWork(spin_until)) continue;
    spin_until = 0;
    absl::Time deadline = std::min(engine_.NextTimer(), SyncDeadline());
    if (open_batch_ != nullptr) deadline = std::min(deadline, now + kHandOverRetry);
    Park(deadline);
  }
}

absl::Time Shard::SyncDeadline() const {
  // Only in batch mode: with sync, the journal belongs to the sync thread.
  if (journal_ == nullptr || options_.journal.durability != Durability::kBatch ||
      !journal_->has_unsynced()) {
    return absl::InfiniteFuture();
  }
  return last_sync_ + options_.journal.batch_interval;
}

void Shard::EndBatch(absl::Time now) {
  if (journal_ == nullptr) {
    for (ShardTask* t : awaiting_ack_) t->Acknowledge();
    awaiting_ack_.clear();
    return;
  }
  if (sync_thread_mode()) return HandOver(now);
  if (journal_failed_.load(std::memory_order_relaxed)) {
    AbandonWaiting();
    return;
  }
  if (absl::Status st = journal_->Write(); !st.ok()) {
    return FailJournal(st, awaiting_ack_.size());
  }
  const Durability mode = options_.journal.durability;
  const bool sync_now = journal_->has_unsynced() &&
                        (mode == Durability::kSync ||
                         (mode == Durability::kBatch && now >= last_sync_ + options_.journal.batch_interval));
  if (sync_now) {
    if (absl::Status st = journal_->Sync(); !st.ok()) {
      return FailJournal(st, awaiting_ack_.size());
    }
    last_sync_ = now;
  }
  // sync: everything written is synced now; batch and none: written is enough.
  for (ShardTask* t : awaiting_ack_) t->Acknowledge();
  awaiting_ack_.clear();
  if (!journal_->has_unsynced() || mode == Durability::kNone) ForwardSettlements();
  if (journal_->ShouldRoll(now)) {
    if (absl::Status st = journal_->Roll(engine_.CountersRecord(), now); !st.ok()) {
      return FailJournal(st, awaiting_ack_.size());
    }
    last_sync_ = now;
    ForwardSettlements();
    RequestCompaction(journal_->file_number());
  }
}

void Shard::HandOver(absl::Time now) {
  if (journal_failed_.load(std::memory_order_acquire)) {
    // The sync thread failed: nothing becomes durable any more.
    AbandonWaiting();
    log_buffer_.bytes.clear();
    log_buffer_.records = 0;
    if (open_batch_ != nullptr) {
      for (ShardTask* t : open_batch_->tasks) t->Abandon();
      delete open_batch_;
      open_batch_ = nullptr;
    }
    return;
  }
  const bool produced =
      !log_buffer_.bytes.empty() || !awaiting_ack_.empty() || !awaiting_sync_.empty();
  // Nothing new: an idle shard still sends an empty batch now and then, so
  // that the sync thread can roll a file by age.
  if (!produced && open_batch_ == nullptr && now < last_handover_ + kMaxPark) return;
  if (open_batch_ == nullptr) {
    if (!recycled_->TryPop(&open_batch_)) open_batch_ = new SyncBatch;
  }
  SyncBatch& b = *open_batch_;
  if (b.bytes.empty()) {
    b.bytes.swap(log_buffer_.bytes);  // the recycled batch's capacity comes back
  } else {
    b.bytes.append(log_buffer_.bytes);
  }
  log_buffer_.bytes.clear();
  b.records += log_buffer_.records;
  log_buffer_.records = 0;
  b.tasks.insert(b.tasks.end(), awaiting_ack_.begin(), awaiting_ack_.end());
  awaiting_ack_.clear();
  for (auto& s : awaiting_sync_) b.settlements.push_back(std::move(s));
  awaiting_sync_.clear();
  b.counters = engine_.CountersRecord();
  b.now = now;
  if (!to_sync_->TryPush(open_batch_)) return;  // full: kept, tried again later
  open_batch_ = nullptr;
  last_handover_ = now;
  // Dekker with SyncLoop's park (see shard.h): the increment, then the load.
  sync_signal_.fetch_add(1, std::memory_order_seq_cst);
  if (sync_parked_.load(std::memory_order_seq_cst) == 1) FutexWakeOne(&sync_signal_);
}

void Shard::SyncLoop() {
  std::vector<SyncBatch*> group;
  group.reserve(kSyncGroup);
  for (;;) {
    const uint32_t seen = sync_signal_.load(std::memory_order_seq_cst);
    SyncBatch* b = nullptr;
    while (group.size() < kSyncGroup && to_sync_->TryPop(&b)) group.push_back(b);
    if (!group.empty()) {
      SyncGroup(group);
      group.clear();
      // No spin here: under load the next batches queue up during the
      // fdatasync, and at low load saving one wake-up (tens of µs) beside an
      // fdatasync (hundreds) is not worth a CPU that gRPC could use.
      continue;
    }
    // Set only once the shard thread has exited: nothing more can come.
    if (sync_stop_.load(std::memory_order_seq_cst)) {
      if (to_sync_->Empty()) return;
      continue;
    }
    sync_parked_.store(1, std::memory_order_seq_cst);
    if (sync_signal_.load(std::memory_order_seq_cst) == seen) {
      FutexWait(&sync_signal_, seen, absl::Seconds(-1));  // no time limit
    }
    sync_parked_.store(0, std::memory_order_relaxed);
  }
}

void Shard::SyncGroup(std::vector<SyncBatch*>& group) {
  if (journal_failed_.load(std::memory_order_relaxed)) {
    // After a failure (set on this thread): abandon, never touch the file.
    for (SyncBatch* b : group) {
      for (ShardTask* t : b->tasks) t->Abandon();
      Recycle(b);
    }
    return;
  }
  for (SyncBatch* b : group) journal_->AppendFramed(b->bytes, b->records);
  absl::Status st = journal_->Write();
  if (st.ok()) st = journal_->Sync();
  if (!st.ok()) {
    size_t waiting = 0;
    for (SyncBatch* b : group) waiting += b->tasks.size();
    FailJournal(st, waiting);
    for (SyncBatch* b : group) {
      for (ShardTask* t : b->tasks) t->Abandon();
      Recycle(b);  // settlements dropped: never durable, must not reach PostgreSQL
    }
    return;
  }
  // Everything written so far is durable.
  for (SyncBatch* b : group) {
    for (ShardTask* t : b->tasks) t->Acknowledge();
    b->tasks.clear();
    if (downstream_ != nullptr) {
      for (auto& s : b->settlements) downstream_->OnSettlement(std::move(s));
    }
    b->settlements.clear();
  }
  const SyncBatch& last = *group.back();
  if (journal_->ShouldRoll(last.now)) {
    // The file ends with the counters as of its last record.
    if (absl::Status roll = journal_->Roll(last.counters, last.now); !roll.ok()) {
      FailJournal(roll, 0);
    } else {
      RequestCompaction(journal_->file_number());
    }
  }
  for (SyncBatch* b : group) Recycle(b);
}

void Shard::Recycle(SyncBatch* b) {
  b->tasks.clear();
  b->settlements.clear();
  b->records = 0;
  if (b->bytes.capacity() > (8u << 20)) {
    std::string().swap(b->bytes);  // one huge batch inflated it
  } else {
    b->bytes.clear();
  }
  if (!recycled_->TryPush(b)) delete b;
}

void Shard::ForwardSettlements() {
  if (downstream_ != nullptr) {
    for (auto& s : awaiting_sync_) downstream_->OnSettlement(std::move(s));
  }
  awaiting_sync_.clear();
}

void Shard::FailJournal(const absl::Status& status, size_t abandoning) {
  Log(absl::StrCat("shard ", options_.shard_index, ": FATAL: the journal failed (",
                   status.message(),
                   "); this shard acknowledges nothing from now on, and a "
                   "failed journal write or fsync is never retried. ",
                   abandoning,
                   " command(s) waiting for it are answered UNAVAILABLE (outcome unknown); "
                   "restart the server to recover from the journal."));
  if (options_.on_journal_failure) options_.on_journal_failure(status);
  // After the callback: whoever sees the flag (the shard thread, in sync
  // mode) abandons its tasks only once the callback has run.
  journal_failed_.store(true, std::memory_order_release);
  if (sync_thread_mode()) return;  // awaiting_ack_ belongs to the shard thread
  AbandonWaiting();
}

void Shard::AbandonWaiting() {
  for (ShardTask* t : awaiting_ack_) t->Abandon();
  awaiting_ack_.clear();
  awaiting_sync_.clear();  // never durable: must not reach PostgreSQL
}

void Shard::RequestCompaction(uint64_t upto) {
  compact_upto_.store(upto, std::memory_order_release);
  compactor_signal_.fetch_add(1, std::memory_order_release);
  compactor_signal_.notify_all();
}

void Shard::CompactorLoop() {
  uint64_t done = 0;
  for (;;) {
    const uint32_t signal = compactor_signal_.load(std::memory_order_acquire);
    const uint64_t upto = compact_upto_.load(std::memory_order_acquire);
    if (upto > done) {
      Compact(upto, &pending_drops_);
      done = upto;
      if (!pending_drops_.empty()) {
        // Takes back what the shard has not taken yet (its own vector), so
        // that nothing waits for another snapshot.
        std::unique_ptr<std::vector<AuctionId>> untaken(
            dropped_.exchange(nullptr, std::memory_order_acquire));
        if (untaken != nullptr) {
          pending_drops_.insert(pending_drops_.end(), untaken->begin(), untaken->end());
        }
        dropped_.store(new std::vector<AuctionId>(std::move(pending_drops_)),
                       std::memory_order_release);
        pending_drops_.clear();
      }
      continue;
    }
    if (compactor_stop_.load(std::memory_order_acquire)) return;
    compactor_signal_.wait(signal, std::memory_order_acquire);
  }
}

void Shard::FreeDropped() {
  if (dropped_.load(std::memory_order_relaxed) == nullptr) return;
  std::unique_ptr<std::vector<AuctionId>> ids(
      dropped_.exchange(nullptr, std::memory_order_acquire));
  if (ids == nullptr) return;  // the compactor took it back to add to it
  for (AuctionId id : *ids) {
    engine_.DropSettled(id);
    feeds_.erase(id);
  }
}

void Shard::Compact(uint64_t upto, std::vector<AuctionId>* dropped) {
  CompactionStats stats;
  const absl::Time started = absl::Now();
  absl::Status st =
      CompactJournal(options_.journal.env, options_.journal.dir, options_.shard_index,
                     options_.shard_count, upto, options_.journal.ended_key_retention, &stats);
  // Once a snapshot is in place, what it dropped may be freed, whatever
  // failed after.
  if (dropped != nullptr) {
    dropped->insert(dropped->end(), stats.dropped.begin(), stats.dropped.end());
  }
  if (!st.ok()) {
    // The next roll tries again with a new file.
    Log(absl::StrCat("shard ", options_.shard_index, ": snapshot failed: ", st.message(),
                     stats.snapshot_number == 0
                         ? "; the journal files are kept"
                         : "; it was written, but the files it covers may not all be removed"));
    return;
  }
  if (stats.snapshot_number == 0) return;
  Log(absl::StrCat("shard ", options_.shard_index, ": wrote ", SnapshotFileName(upto), " in ",
                   absl::FormatDuration(absl::Now() - started), ": ", stats.records_kept, " of ",
                   stats.records_in, " records kept, ", stats.auctions_dropped,
                   " settled auction(s) dropped, ", stats.keys_kept,
                   " request id(s) of dropped auctions kept, ", stats.keys_expired, " expired, ",
                   stats.files_removed, " file(s) removed"));
}

absl::StatusOr<Subscription> Shard::Subscribe(AuctionId id, Sequence from_sequence) {
  const Auction* a = engine_.Find(id);
  // Unknown, or ended and freed: the engine says which.
  if (a == nullptr) return engine_.GetAuction(id, /*public_view=*/true).status();
  // Sequences are the shard's: one past its next is one that no event has
  // had yet. (After a crash, events a watcher saw before they were durable
  // are gone, and their sequences are given to new events: skipping those
  // would lose them.)
  const Sequence next = engine_.last_sequence() + 1;
  if (from_sequence > next) {
    return absl::OutOfRangeError(absl::StrCat(
        "from_sequence ", from_sequence, " is ahead of the auction's events: the next event of ",
        FormatAuctionId(id), "'s shard will have sequence ", next, " or more; watch from ", next,
        " (or 0) for the events from now on"));
  }
  Subscription sub;
  const size_t capacity = RingSlots(options_.watch_capacity);
  sub.capacity_ = capacity;
  bool terminal = false;
  if (from_sequence > 0) {
    a->ForEachEvent(from_sequence, [&](const AuctionEvent& e) {
      if (sub.history_.size() == capacity) {
        // More than a feed keeps: the watcher gets these, then is told to
        // come back for the rest.
        sub.history_cut_ = true;
        return false;
      }
      sub.history_.push_back(e);
      terminal = e.kind == AuctionEvent::Kind::kClosed;
      return true;
    });
  }
  // Events from here on have greater sequences than the auction's last.
  sub.last_sequence_ = std::max(a->last_sequence(), from_sequence > 0 ? from_sequence - 1 : 0);
  if (!sub.history_.empty()) sub.last_sequence_ = sub.history_.front().sequence - 1;
  if (sub.history_cut_) return sub;
  const AuctionState s = a->state();
  const bool open = s == AuctionState::kOpen || s == AuctionState::kScheduled;
  if (!open) {
    // Already over: the close (unless the history ended with it), then the end.
    if (!terminal) {
      if (const AuctionEvent* closed = a->closed_event()) sub.history_.push_back(*closed);
    }
    return sub;
  }
  std::shared_ptr<EventFeed>& feed = feeds_[id];
  if (feed == nullptr) feed = std::make_shared<EventFeed>(capacity);
  sub.feed_ = feed;
  sub.cursor_ = feed->published();
  return sub;
}

void Shard::OnEvent(const AuctionEvent& event) {
  if (!feeds_.empty()) {
    auto it = feeds_.find(event.auction_id);
    if (it != feeds_.end()) {
      const bool last = event.kind == AuctionEvent::Kind::kClosed;
      std::shared_ptr<EventFeed>& feed = it->second;
      if (feed.use_count() == 1 && !last) {
        // Nobody reads it any more (only this shard can hand it out).
        feeds_.erase(it);
      } else {
        feed->Publish(event);
        // A reference is copied only for a hand-over to the hub.
        if (options_.feed_hub != nullptr && feed->ClaimNotify()) {
          options_.feed_hub->FeedUpdated(last ? std::move(feed) : feed);
        }
        if (last) feeds_.erase(it);
      }
    }
  }
  if (downstream_ != nullptr) downstream_->OnEvent(event);
}

void Shard::OnSettlement(std::shared_ptr<const Settlement> settlement) {
  if (recovering_) return;  // Recover hands the outbox over once replay is done
  if (journal_ != nullptr) {
    // Downstream (PostgreSQL) must never hold a close the journal may lose.
    if (!journal_failed_.load(std::memory_order_relaxed)) {
      awaiting_sync_.push_back(std::move(settlement));
    }
    return;
  }
  if (downstream_ != nullptr) downstream_->OnSettlement(std::move(settlement));
}

}  // namespace gavel
