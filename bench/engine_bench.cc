// Engine and runtime microbenchmarks (STYLE.md 7: each prints items/s; the
// history of their figures is in BENCHMARKS.md). Run:
//   build/h-bench/bench/engine_bench --benchmark_min_time=0.2
//
// What each measures:
// - BM_EnglishProxyBid: Engine::PlaceBid alone (one shard's work, no ring):
//   random bidders over N open English auctions, every client_bid_id unique
//   (no idempotent replays), every amount just above the auction's current
//   minimum, so nearly all bids are accepted and move the proxy.
//   prefetch:1 gives the engine the hints Shard::Loop gives it for the two
//   commands queued behind the running one (Engine::PrefetchBid,
//   PrefetchAuction); prefetch:0 is the same loop without them.
// - BM_ShardLatency: one command through MpscRing + a real Shard thread
//   (SystemClock), the shard and this thread pinned to a core each:
//   submit-to-done latency percentiles (p50/p99/p999 in ns) from per-op
//   samples, with one in flight ("pingpong", mode 0), as many as the shard
//   takes ("saturated", 1), paced at half the saturated rate ("half", 2;
//   the shard spins before parking, ShardOptions' default), and paced the
//   same with spin_before_park = 0 ("half, no spin", 3: parks at once).
//   The task is empty (bid:0, the hand-off alone) or an English PlaceBid
//   (bid:1). Counters: how often the shard slept per command, and how often
//   the scheduler preempted the two threads (other work on the machine).
// - BM_RingPushPop: MpscRing alone with 0 (same thread), 1 and 2 producers;
//   BM_AtomicQueuePushPop and BM_MoodycamelPushPop: the Debian-packaged
//   queues on the same test, when their headers are installed.
// - BM_AppendFdatasync: write + fdatasync of a small batch, what the
//   journal's group commit (--durability=sync) waits for on this disk,
//   appending to a growing file (reserved:0) or inside room reserved ahead
//   (reserved:1, what Journal does: WritableFile::Reserve).
// - BM_DurableShard: durable commands (acknowledged after their journal
//   record is fdatasync'ed) through a journaled shard, with the fdatasync on
//   the shard's sync thread (durability=sync) or on the shard thread itself.
// - BM_Memory*: bytes per open English auction, per logged English bid and
//   per resting double-auction order, counted by the global operator
//   new/delete below (live bytes as malloc reports usable sizes) and
//   cross-checked with mallinfo2.
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<atomic_queue/atomic_queue.h>)
#include <atomic_queue/atomic_queue.h>
#endif
#if __has_include(<concurrentqueue/concurrentqueue.h>)
#include <concurrentqueue/concurrentqueue.h>
#endif

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/env.h"
#include "engine/heap.h"
#include "engine/mpsc_ring.h"
#include "engine/shard.h"

// ---------------------------------------------------------------------------
// Counting global allocator: every byte the process asks operator new for,
// as malloc_usable_size reports it (so new and delete agree without a
// header). One relaxed atomic add per allocation; the benchmarks whose hot
// loops allocate nothing (ring, shard) are not affected.
namespace {
std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_allocations{0};

void* Counted(void* p) {
  if (p == nullptr) throw std::bad_alloc();
  g_live_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void* CountedNoThrow(void* p) {
  if (p == nullptr) return nullptr;
  g_live_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void Release(void* p) {
  if (p == nullptr) return;
  g_live_bytes.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
void* AlignedMalloc(size_t n, std::align_val_t al) {
  const size_t a = static_cast<size_t>(al);
  return std::aligned_alloc(a, (std::max<size_t>(n, 1) + a - 1) / a * a);
}
}  // namespace

void* operator new(size_t n) { return Counted(std::malloc(n ? n : 1)); }
void* operator new[](size_t n) { return Counted(std::malloc(n ? n : 1)); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return CountedNoThrow(std::malloc(n ? n : 1));
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return CountedNoThrow(std::malloc(n ? n : 1));
}
void* operator new(size_t n, std::align_val_t al) { return Counted(AlignedMalloc(n, al)); }
void* operator new[](size_t n, std::align_val_t al) { return Counted(AlignedMalloc(n, al)); }
void* operator new(size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return CountedNoThrow(AlignedMalloc(n, al));
}
void* operator new[](size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return CountedNoThrow(AlignedMalloc(n, al));
}
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { Release(p); }

namespace gavel {
namespace {

using bench::kBidders;
using bench::KeyPool;
using bench::kSeller;
using bench::kT0;
using bench::Names;
using bench::NextRandom;
using bench::NullListener;

// Bytes the engine holds: operator new's live blocks plus large arrays in
// mappings of their own (engine/heap.h), which operator new never sees.
int64_t LiveBytes() {
  return g_live_bytes.load() + static_cast<int64_t>(LargeArrayBytes());
}

// Bytes malloc holds for the program (arenas + mmapped chunks), headers
// and alignment included, plus the large-array mappings.
int64_t MallocHeldBytes() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd + LargeArrayBytes());
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

AuctionSpec English(absl::Time starts_at, bool long_text = false) {
  AuctionSpec s;
  s.title = "item";
  if (long_text) {
    s.title = "Vintage mechanical wristwatch, stainless steel, 1970s";  // 52 bytes
    s.description = std::string(400, 'd');
    s.category = "watches/mechanical";
  }
  s.format = Format::kEnglish;
  s.currency = "EUR";
  s.start_price_minor = 100;
  s.starts_at = starts_at;
  s.ends_at = starts_at + absl::Hours(24 * 300);
  return s;
}

// An engine with `count` open English auctions, as one shard holds them.
struct EnglishBook {
  Names names;
  NullListener listener;
  Engine engine{{0, 1}, &names, &listener};
  std::vector<AuctionId> ids;
  std::vector<const Auction*> auctions;

  explicit EnglishBook(int count, bool long_text = false) {
    ids.reserve(count);
    auctions.reserve(count);
    for (int i = 0; i < count; ++i) {
      const AuctionId id =
          engine.CreateAuction(kSeller, absl::StrCat("r", i), English(kT0, long_text), kT0)
              ->auction_id;
      ids.push_back(id);
    }
    for (AuctionId id : ids) auctions.push_back(engine.Find(id));
  }
};

// One random bid just above the auction's current minimum (up to ~3 %
// more), by a random bidder, with key `key`.
inline PlaceBidCommand RandomBid(const std::vector<AuctionId>& ids,
                                 const std::vector<const Auction*>& auctions, uint64_t* rng,
                                 absl::string_view key) {
  const uint64_t r = NextRandom(rng);
  const size_t a = static_cast<size_t>((r & 0xffffffffu) % ids.size());
  PlaceBidCommand cmd;
  cmd.auction_id = ids[a];
  cmd.bidder = 1 + static_cast<PrincipalId>((r >> 32) % kBidders);
  cmd.client_bid_id = key;
  const int64_t minimum = auctions[a]->NextMinimum();
  cmd.amount_minor = minimum + static_cast<int64_t>((r >> 48) % (minimum / 32 + 1));
  return cmd;
}

// ---------------------------------------------------------------------------
// English proxy bids on one engine, no ring.
void BM_EnglishProxyBid(benchmark::State& state) {
  EnglishBook book(static_cast<int>(state.range(0)));
  const bool prefetch = state.range(1) == 1;
  // Bids arrive three ahead of the one placed, as a shard sees its ring:
  // which auction, bidder and key are known on arrival; the amount is
  // decided when the bid is placed (just above the minimum then). With
  // prefetch:1 the loop gives the engine the hints the shard gives it
  // (Shard::Loop: PrefetchBid for the next, PrefetchAuction for the one
  // after); prefetch:0 is the same loop without them.
  constexpr size_t kAhead = 3;
  const KeyPool keys(state.max_iterations + kAhead);
  uint64_t rng = 42;
  // The key's hash is computed on arrival, as the server's network thread
  // does (PlaceBidCommand::key_hash), but inside the timed loop.
  struct Arrived {
    size_t auction;
    PrincipalId bidder;
    uint64_t extra;
    uint64_t key_hash;
  };
  auto arrive = [&](size_t n) {
    const uint64_t r = NextRandom(&rng);
    const auto bidder = 1 + static_cast<PrincipalId>((r >> 32) % kBidders);
    return Arrived{static_cast<size_t>((r & 0xffffffffu) % book.ids.size()), bidder, r >> 48,
                   IdempotencyKeyHash(bidder, keys[n])};
  };
  Arrived queue[4];
  for (size_t k = 0; k < kAhead; ++k) queue[k] = arrive(k);
  const absl::Time now = kT0 + absl::Seconds(1);
  size_t i = 0;
  int64_t accepted = 0;
  for (auto _ : state) {
    queue[(i + kAhead) % 4] = arrive(i + kAhead);
    if (prefetch) {
      const Arrived& next = queue[(i + 1) % 4];
      book.engine.PrefetchBid(book.ids[next.auction], next.key_hash);
      book.engine.PrefetchAuction(book.ids[queue[(i + 2) % 4].auction]);
    }
    const Arrived& bid = queue[i % 4];
    PlaceBidCommand cmd;
    cmd.auction_id = book.ids[bid.auction];
    cmd.bidder = bid.bidder;
    cmd.client_bid_id = keys[i];
    cmd.key_hash = bid.key_hash;
    const int64_t minimum = book.auctions[bid.auction]->NextMinimum();
    cmd.amount_minor = minimum + static_cast<int64_t>(bid.extra % (minimum / 32 + 1));
    absl::StatusOr<BidResult> r = book.engine.PlaceBid(cmd, now);
    accepted += r.ok() && r->reason == RejectReason::kNone && !r->replayed;
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["accepted_share"] =
      static_cast<double>(accepted) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}
BENCHMARK(BM_EnglishProxyBid)
    ->ArgNames({"auctions", "prefetch"})
    ->ArgsProduct({{1'000, 10'000}, {0, 1}});

// ---------------------------------------------------------------------------
// One command through ring + shard.

// A task the benchmark owns and reuses (no allocation per op): Run does the
// command, stamps the time and marks itself done; the shard never touches it
// after that (the "hand itself on" case of ShardTask's contract).
// Cache-line aligned so that the shard finishing one task and this thread
// filling the next never share a line.
class alignas(kCacheLine) ProbeTask final : public ShardTask {
 public:
  void Run(ShardContext& ctx) override {
    if (bid_) {
      // Just above the auction's minimum, which only the shard may read.
      const int64_t minimum = auction_->NextMinimum();
      cmd_.amount_minor = minimum + static_cast<int64_t>(extra_ % (minimum / 32 + 1));
      absl::StatusOr<BidResult> r = ctx.engine.PlaceBid(cmd_, ctx.now);
      accepted_ = r.ok() && r->reason == RejectReason::kNone;
    }
    done_ns_ = NowNs();
    done_.store(true, std::memory_order_release);  // the one handoff back
  }
  void Prefetch(const Engine& engine, int distance) const override {
    if (bid_) engine.PrefetchAhead(distance, cmd_.auction_id, cmd_.key_hash);
  }

  bool bid_ = false;
  PlaceBidCommand cmd_;
  const Auction* auction_ = nullptr;  // dereferenced only on the shard thread
  uint64_t extra_ = 0;
  int64_t submit_ns_ = 0;
  int64_t done_ns_ = 0;
  bool accepted_ = false;
  std::atomic<bool> done_{true};  // true: free to reuse
};

// Pins the calling thread to the `index`-th CPU it may run on (when there
// are at least two), so that the benchmark thread and the shard thread each
// have a core of their own instead of whatever the scheduler picks; returns
// the previous mask for Unpin. On a machine shared with other work the
// scheduler still preempts them ("preempted" counters).
cpu_set_t PinToCpu(int index) {
  cpu_set_t old;
  CPU_ZERO(&old);
  pthread_getaffinity_np(pthread_self(), sizeof(old), &old);
  if (CPU_COUNT(&old) < 2) return old;
  int seen = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &old)) continue;
    if (seen++ == index) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
      break;
    }
  }
  return old;
}
void Unpin(const cpu_set_t& old) { pthread_setaffinity_np(pthread_self(), sizeof(old), &old); }

// GAVEL_BENCH_PREFAULT_MB=N (an experiment, off by default): before the
// timed loop, the shard thread allocates, touches and frees N MiB with
// trimming off, so that the engine's growth during the run reuses memory
// that is already mapped: no first-touch page faults on the shard. Compare
// shard_faults_per_op and the tail with and without it.
void PrefaultOnThisThread() {
  const char* env = std::getenv("GAVEL_BENCH_PREFAULT_MB");
  if (env == nullptr) return;
  const size_t mib = std::strtoul(env, nullptr, 10);
  gavel::RetainFreedMemory(std::numeric_limits<int>::max()).IgnoreError();  // trimming off
  constexpr size_t kChunk = 8 << 20;  // below the mmap threshold: from this thread's arena
  std::vector<char*> chunks;
  for (size_t done = 0; done < (mib << 20); done += kChunk) {
    char* p = static_cast<char*>(std::malloc(kChunk));
    if (p == nullptr) break;
    std::memset(p, 1, kChunk);
    chunks.push_back(p);
  }
  for (char* p : chunks) std::free(p);
}

// Runs `f(engine)` on the shard thread and waits for it.
template <typename F>
void RunOnShard(Shard& shard, F f) {
  class Once final : public ShardTask {
   public:
    explicit Once(F* f) : f_(f) {}
    void Run(ShardContext& ctx) override {
      (*f_)(ctx.engine);
      done.store(true, std::memory_order_release);
    }
    F* f_;
    std::atomic<bool> done{false};
  } task(&f);
  while (!shard.Submit(&task)) std::this_thread::yield();
  while (!task.done.load(std::memory_order_acquire)) std::this_thread::yield();
}

// kHalfNoSpin: as kHalf, with ShardOptions::spin_before_park = 0, so that
// the shard parks as soon as its ring is empty (the loop before the spin).
enum LatencyMode : int64_t { kPingPong = 0, kSaturated = 1, kHalf = 2, kHalfNoSpin = 3 };

// Context switches of the calling thread so far: voluntary (it slept, e.g.
// a parked shard in futex wait) and involuntary (the scheduler took the CPU
// away: on a shared machine, other tenants).
struct Switches {
  int64_t slept = 0;
  int64_t preempted = 0;
  int64_t page_faults = 0;  // minor: first touch of memory the engine grows into
};
Switches ThreadSwitches() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return {ru.ru_nvcsw, ru.ru_nivcsw, ru.ru_minflt};
}

void ReportPercentiles(benchmark::State& state, std::vector<int64_t>& samples) {
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    const size_t k = std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
    return static_cast<double>(samples[k]);
  };
  state.counters["p50_ns"] = at(0.50);
  state.counters["p99_ns"] = at(0.99);
  state.counters["p999_ns"] = at(0.999);
  state.counters["max_ns"] = static_cast<double>(samples.back());
}

// range(0): LatencyMode; range(1): 0 = empty task (the handoff alone),
// 1 = an English PlaceBid in the task.
void BM_ShardLatency(benchmark::State& state) {
  const auto mode = static_cast<LatencyMode>(state.range(0));
  const bool bid = state.range(1) == 1;
  // Paced modes: the offered rate in percent of the saturated rate.
  const int64_t load_percent = state.range(2);
  constexpr int kAuctions = 10'000;
  // Tasks in flight at most: a ring of reusable tasks; FIFO shard order
  // means task i is done before task i + kPool is needed again.
  const size_t pool_size = mode == kPingPong ? 1 : 1024;

  Names names;
  NullListener listener;
  SystemClock clock;
  ShardOptions shard_options{0, 1, 1 << 16};
  if (mode == kHalfNoSpin) shard_options.spin_before_park = absl::ZeroDuration();
  Shard shard(shard_options, &clock, &names, &listener);
  shard.Start();
  // The shard on the second CPU, this thread on the first.
  RunOnShard(shard, [](Engine&) {
    PinToCpu(1);
    PrefaultOnThisThread();
  });
  const cpu_set_t unpinned = PinToCpu(0);
  const absl::Time t0 = clock.Now();
  std::vector<AuctionId> ids;
  std::vector<const Auction*> auctions;  // read only on the shard thread
  RunOnShard(shard, [&](Engine& engine) {
    for (int i = 0; i < kAuctions; ++i) {
      ids.push_back(
          engine.CreateAuction(kSeller, absl::StrCat("r", i), English(t0), t0)->auction_id);
    }
    for (AuctionId id : ids) auctions.push_back(engine.Find(id));
  });

  const bool paced = mode == kHalf || mode == kHalfNoSpin;
  const size_t calibration = paced ? 200'000 : 0;
  const KeyPool keys(bid ? state.max_iterations + calibration + pool_size : 1);
  std::vector<ProbeTask> pool(pool_size);
  std::vector<int64_t> samples;
  samples.reserve(state.max_iterations + pool_size);
  // GAVEL_BENCH_DUMP=FILE: each sample's submit time (ns) and latency, one
  // line each, written after the run (bench/latency_episodes.py reads it).
  const char* dump_path = std::getenv("GAVEL_BENCH_DUMP");
  std::vector<int64_t> submits;
  if (dump_path != nullptr) submits.reserve(samples.capacity());
  uint64_t rng = 7;
  size_t next = 0;      // tasks submitted
  size_t reclaimed = 0;  // tasks whose sample is taken
  int64_t accepted = 0;
  bool record = false;

  // Waits for the oldest task in flight and takes its sample.
  auto reclaim_one = [&] {
    ProbeTask& t = pool[reclaimed % pool_size];
    while (!t.done_.load(std::memory_order_acquire)) CpuRelax();
    if (record) {
      samples.push_back(t.done_ns_ - t.submit_ns_);
      if (dump_path != nullptr) submits.push_back(t.submit_ns_);
    }
    accepted += t.accepted_;
    ++reclaimed;
  };
  auto submit = [&](int64_t submit_ns) {
    if (next - reclaimed == pool_size) reclaim_one();
    ProbeTask& t = pool[next % pool_size];
    t.bid_ = bid;
    if (bid) {
      // The amount is decided on the shard (the minimum lives there).
      const uint64_t r = NextRandom(&rng);
      const size_t a = static_cast<size_t>((r & 0xffffffffu) % ids.size());
      t.cmd_.auction_id = ids[a];
      t.cmd_.bidder = 1 + static_cast<PrincipalId>((r >> 32) % kBidders);
      t.cmd_.client_bid_id = keys[next];
      t.cmd_.key_hash = IdempotencyKeyHash(t.cmd_.bidder, t.cmd_.client_bid_id);
      t.auction_ = auctions[a];
      t.extra_ = r >> 48;
    }
    t.done_.store(false, std::memory_order_relaxed);
    t.submit_ns_ = submit_ns == 0 ? NowNs() : submit_ns;
    while (!shard.Submit(&t)) CpuRelax();  // never full: pool_size < ring
    ++next;
  };
  // Calibration for "half": the saturated rate, measured right here.
  int64_t interval_ns = 0;
  if (paced) {
    const int64_t c0 = NowNs();
    for (size_t k = 0; k < calibration; ++k) submit(0);
    while (reclaimed < next) reclaim_one();
    const double per_op = static_cast<double>(NowNs() - c0) / static_cast<double>(calibration);
    interval_ns = static_cast<int64_t>(per_op * 100.0 / static_cast<double>(load_percent));
    state.counters["saturated_per_s"] = 1e9 / per_op;
    state.counters["paced_interval_ns"] = static_cast<double>(interval_ns);
  }

  Switches shard0;
  RunOnShard(shard, [&](Engine&) { shard0 = ThreadSwitches(); });
  const Switches bench0 = ThreadSwitches();
  record = true;
  accepted = 0;
  int64_t due = NowNs();
  for (auto _ : state) {
    if (mode == kPingPong) {
      submit(0);
      reclaim_one();
    } else if (mode == kSaturated) {
      submit(0);
    } else {
      // Paced: wait for the due time, then submit. Samples are taken only
      // when a task's slot comes round again (1024 submissions later), so
      // this thread never polls a line the shard is writing.
      due += interval_ns;
      int64_t now = NowNs();
      while (now < due) {
        CpuRelax();
        now = NowNs();
      }
      submit(now);
    }
  }
  while (reclaimed < next) reclaim_one();
  const Switches bench1 = ThreadSwitches();
  Switches shard1;
  RunOnShard(shard, [&](Engine&) { shard1 = ThreadSwitches(); });
  shard.Stop();
  Unpin(unpinned);

  if (dump_path != nullptr) {
    if (FILE* f = std::fopen(dump_path, "w"); f != nullptr) {
      for (size_t i = 0; i < submits.size(); ++i) {
        std::fprintf(f, "%" PRId64 " %" PRId64 "\n", submits[i], samples[i]);
      }
      std::fclose(f);
    }
  }
  state.SetItemsProcessed(state.iterations());
  ReportPercentiles(state, samples);
  // How often the shard parked (futex wait) per command, and how often the
  // scheduler took a CPU from the shard or this thread during the run.
  const double ops = static_cast<double>(std::max<int64_t>(1, state.iterations()));
  state.counters["shard_sleeps_per_op"] = static_cast<double>(shard1.slept - shard0.slept) / ops;
  state.counters["preempted"] = static_cast<double>(shard1.preempted - shard0.preempted +
                                                    bench1.preempted - bench0.preempted);
  state.counters["shard_faults_per_op"] =
      static_cast<double>(shard1.page_faults - shard0.page_faults) / ops;
  if (bid) {
    state.counters["accepted_share"] =
        static_cast<double>(accepted) / static_cast<double>(std::max<size_t>(1, samples.size()));
  }
}
BENCHMARK(BM_ShardLatency)
    ->ArgNames({"mode", "bid", "load_pct"})
    ->Args({kPingPong, 0, 0})
    ->Args({kPingPong, 1, 0})
    ->Args({kSaturated, 0, 100})
    ->Args({kSaturated, 1, 100})
    ->Args({kHalf, 0, 50})
    ->Args({kHalf, 1, 50})
    ->Args({kHalf, 1, 25})  // below the rate of a lone bid (see BENCHMARKS.md, seventh round)
    ->Args({kHalfNoSpin, 0, 50})
    ->Args({kHalfNoSpin, 1, 50})
    ->UseRealTime();

// ---------------------------------------------------------------------------
// MpscRing alone, and the two Debian-packaged queues issue 4 names in its
// place (libatomic-queue-dev, libconcurrentqueue-dev), on the same test:
// 65 536 cells of uint64_t (a shard's ring holds task pointers, one word).
// range(0) producers: 0 = push and pop on the benchmark thread (the cost of
// the two operations, uncontended); 1 or 2 = producer threads pushing while
// the benchmark thread pops (one item per iteration).
// Each adapter gives a producer handle per pushing thread (Producer) and
// pops on the benchmark thread.
struct OurRing {
  MpscRing<uint64_t> q{1 << 16};
  struct Producer {
    OurRing* r;
    bool Push(uint64_t v) { return r->q.TryPush(v); }
  };
  Producer MakeProducer() { return {this}; }
  bool Pop(uint64_t* v) { return q.TryPop(v); }
};
#if __has_include(<atomic_queue/atomic_queue.h>)
// Bounded, lock-free, one FIFO for every producer; 0 marks an empty cell
// (the values pushed start at 1).
struct AtomicQueueRing {
  atomic_queue::AtomicQueueB<uint64_t> q{1 << 16};
  struct Producer {
    AtomicQueueRing* r;
    bool Push(uint64_t v) { return r->q.try_push(std::move(v)); }
  };
  Producer MakeProducer() { return {this}; }
  bool Pop(uint64_t* v) { return q.try_pop(*v); }
};
#endif
#if __has_include(<concurrentqueue/concurrentqueue.h>)
// Lock-free, a sub-queue per producer (FIFO per producer only), used as its
// author recommends for speed: a token per producer and one for the
// consumer, 65 536 slots made at construction for each of up to two
// explicit producers, so that try_enqueue never allocates (bounded).
struct MoodycamelQueue {
  moodycamel::ConcurrentQueue<uint64_t> q{(1 << 16) * 2, 2, 0};
  moodycamel::ConsumerToken consumer{q};
  struct Producer {
    moodycamel::ConcurrentQueue<uint64_t>* q;
    std::unique_ptr<moodycamel::ProducerToken> token;
    bool Push(uint64_t v) { return q->try_enqueue(*token, v); }
  };
  Producer MakeProducer() { return {&q, std::make_unique<moodycamel::ProducerToken>(q)}; }
  bool Pop(uint64_t* v) { return q.try_dequeue(consumer, *v); }
};
#endif

template <typename Queue>
void QueuePushPop(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  auto queue = std::make_unique<Queue>();
  Queue& ring = *queue;
  if (producers == 0) {
    auto producer = ring.MakeProducer();
    uint64_t v = 0;
    for (auto _ : state) {
      producer.Push(v + 1);
      ring.Pop(&v);
      benchmark::DoNotOptimize(v);
    }
    state.SetItemsProcessed(state.iterations());
    return;
  }
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> full{0};
  std::vector<std::thread> threads;
  // One producer: consumer and producer on a core each. Two: three threads
  // on two cores, left to the scheduler.
  const bool pin = producers == 1;
  cpu_set_t unpinned;
  if (pin) unpinned = PinToCpu(0);
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&] {
      if (pin) PinToCpu(1);
      auto producer = ring.MakeProducer();
      while (!go.load(std::memory_order_acquire)) CpuRelax();
      int64_t full_here = 0;
      uint64_t x = 1;
      while (!stop.load(std::memory_order_relaxed)) {
        if (producer.Push(x)) {
          ++x;
        } else {
          ++full_here;
          CpuRelax();
        }
      }
      full.fetch_add(full_here, std::memory_order_relaxed);
    });
  }
  go.store(true, std::memory_order_release);
  int64_t empty = 0;
  for (auto _ : state) {
    uint64_t v;
    while (!ring.Pop(&v)) {
      ++empty;
      CpuRelax();
    }
    benchmark::DoNotOptimize(v);
  }
  stop.store(true, std::memory_order_relaxed);
  for (auto& t : threads) t.join();
  if (pin) Unpin(unpinned);
  state.SetItemsProcessed(state.iterations());
  state.counters["pop_found_empty"] = static_cast<double>(empty);
  state.counters["push_found_full"] = static_cast<double>(full.load());
}

void BM_RingPushPop(benchmark::State& state) { QueuePushPop<OurRing>(state); }
BENCHMARK(BM_RingPushPop)->ArgName("producers")->Arg(0)->Arg(1)->Arg(2)->UseRealTime();
#if __has_include(<atomic_queue/atomic_queue.h>)
void BM_AtomicQueuePushPop(benchmark::State& state) { QueuePushPop<AtomicQueueRing>(state); }
BENCHMARK(BM_AtomicQueuePushPop)->ArgName("producers")->Arg(0)->Arg(1)->Arg(2)->UseRealTime();
#endif
#if __has_include(<concurrentqueue/concurrentqueue.h>)
void BM_MoodycamelPushPop(benchmark::State& state) { QueuePushPop<MoodycamelQueue>(state); }
BENCHMARK(BM_MoodycamelPushPop)->ArgName("producers")->Arg(0)->Arg(1)->Arg(2)->UseRealTime();
#endif

// ---------------------------------------------------------------------------
// What the journal's group commit waits for: one write(2) of `range(0)`
// bytes appended to a file, then fdatasync, in $TMPDIR (default /tmp; the
// server's --data_dir is what matters in production). Items/s = syncs/s;
// p50/p99 of the fdatasync alone.
void BM_AppendFdatasync(benchmark::State& state) {
  const bool reserved = state.range(1) == 1;
  const char* dir = std::getenv("TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/gavel-bench-fsync-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    state.SkipWithError("mkstemp failed");
    return;
  }
  ::close(fd);
  // Through the journal's own file type: appends after the written bytes,
  // inside room reserved ahead (as Journal::OpenFile does) or not.
  absl::StatusOr<std::unique_ptr<WritableFile>> file = Env::Default()->OpenAppendable(path);
  if (!file.ok()) {
    state.SkipWithError("open failed");
    return;
  }
  if (reserved && !(*file)->Reserve(uint64_t{256} << 20)) {
    state.SkipWithError("this file system cannot reserve (fallocate)");
    return;
  }
  const std::string record(static_cast<size_t>(state.range(0)), 'r');
  std::vector<int64_t> samples;
  samples.reserve(state.max_iterations);
  for (auto _ : state) {
    if (!(*file)->Append(record).ok()) {
      state.SkipWithError("write failed");
      break;
    }
    const int64_t t0 = NowNs();
    if (!(*file)->Sync().ok()) {
      state.SkipWithError("fdatasync failed");
      break;
    }
    samples.push_back(NowNs() - t0);
  }
  (*file)->Close().IgnoreError();
  ::unlink(path.c_str());
  state.SetItemsProcessed(state.iterations());
  ReportPercentiles(state, samples);
}
// CPU time is this thread's: the kernel's work for write and fdatasync.
BENCHMARK(BM_AppendFdatasync)
    ->ArgNames({"bytes", "reserved"})
    ->Args({256, 0})
    ->Args({256, 1})
    ->Args({2048, 0})
    ->Args({2048, 1})
    ->UseRealTime();

// ---------------------------------------------------------------------------
// Durable commands through a journaled shard in $TMPDIR: an English PlaceBid
// each, answered once its journal record is durable. range(0) commands in
// flight (closed loop: each acknowledgement lets the next one go);
// range(1) 0 = durability=sync (the shard writes, its sync thread runs the
// fdatasync and acknowledges: the shard runs on meanwhile), 1 = the shard
// thread does write + fdatasync itself before acknowledging (durability=batch
// with a zero interval: what durability=sync did before the sync thread).
// Items/s = acknowledged commands/s; p50/p99 from submit to acknowledgement.
class alignas(kCacheLine) DurableProbe final : public ShardTask {
 public:
  void Run(ShardContext& ctx) override {
    const int64_t minimum = ctx.engine.Find(cmd_.auction_id)->NextMinimum();
    cmd_.amount_minor = minimum + static_cast<int64_t>(extra_ % (minimum / 32 + 1));
    (void)ctx.engine.PlaceBid(cmd_, ctx.now);
    ctx.shard.AckWhenDurable(this);
  }
  void Acknowledge() override {
    done_ns_ = NowNs();
    done_.store(true, std::memory_order_release);
  }
  void Abandon() override {
    abandoned_ = true;
    Acknowledge();
  }
  PlaceBidCommand cmd_;
  uint64_t extra_ = 0;
  int64_t submit_ns_ = 0;
  int64_t done_ns_ = 0;
  bool abandoned_ = false;
  std::atomic<bool> done_{true};  // true: free to reuse
};

class AnyPrincipal final : public PrincipalResolver {
 public:
  PrincipalId Resolve(absl::string_view) override { return 1; }
};

void BM_DurableShard(benchmark::State& state) {
  const size_t inflight = static_cast<size_t>(state.range(0));
  const bool on_shard = state.range(1) == 1;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/gavel-bench-durable-XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  Names names;
  NullListener listener;
  SystemClock clock;
  ShardOptions o{0, 1, 1 << 16};
  o.journal.dir = dir;
  o.journal.durability = on_shard ? Durability::kBatch : Durability::kSync;
  o.journal.batch_interval = absl::ZeroDuration();
  o.log = [](const std::string&) {};
  // GAVEL_BENCH_SPIN_US: spin_before_park of the shard
  // (default: ShardOptions').
  if (const char* spin = std::getenv("GAVEL_BENCH_SPIN_US")) {
    o.spin_before_park = absl::Microseconds(std::atoi(spin));
  }
  std::vector<int64_t> samples;
  samples.reserve(state.max_iterations);
  int64_t abandoned = 0;
  {
    Shard shard(o, &clock, &names, &listener);
    AnyPrincipal resolver;
    if (!shard.Recover(&resolver).ok()) {
      state.SkipWithError("recovery of an empty journal directory failed");
      return;
    }
    shard.Start();
    std::vector<AuctionId> ids;
    const absl::Time t0 = clock.Now();
    RunOnShard(shard, [&](Engine& engine) {
      for (int i = 0; i < 1000; ++i) {
        ids.push_back(
            engine.CreateAuction(kSeller, absl::StrCat("r", i), English(t0), t0)->auction_id);
      }
    });
    const KeyPool keys(state.max_iterations + inflight);
    std::vector<DurableProbe> pool(inflight);
    uint64_t rng = 11;
    size_t next = 0;
    auto take = [&](DurableProbe& t) {
      // Yield rather than spin: the shard and its sync thread need the CPUs.
      while (!t.done_.load(std::memory_order_acquire)) std::this_thread::yield();
      if (t.submit_ns_ != 0) samples.push_back(t.done_ns_ - t.submit_ns_);
      abandoned += t.abandoned_;
    };
    for (auto _ : state) {
      DurableProbe& t = pool[next % inflight];
      take(t);
      const uint64_t r = NextRandom(&rng);
      t.cmd_.auction_id = ids[(r & 0xffffffffu) % ids.size()];
      t.cmd_.bidder = 1 + static_cast<PrincipalId>((r >> 32) % kBidders);
      t.cmd_.client_bid_id = keys[next];
      t.cmd_.key_hash = IdempotencyKeyHash(t.cmd_.bidder, t.cmd_.client_bid_id);
      t.extra_ = r >> 48;
      t.done_.store(false, std::memory_order_relaxed);
      t.submit_ns_ = NowNs();
      while (!shard.Submit(&t)) std::this_thread::yield();
      ++next;
    }
    for (DurableProbe& t : pool) take(t);
    shard.Stop();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  state.SetItemsProcessed(state.iterations());
  ReportPercentiles(state, samples);
  if (abandoned > 0) state.SkipWithError("the journal failed");
}
BENCHMARK(BM_DurableShard)
    ->ArgNames({"inflight", "fsync_on_shard"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({64, 0})
    ->Args({64, 1})
    ->UseRealTime();

// ---------------------------------------------------------------------------
// Memory. One iteration each: the figures are counters; items/s is the
// rate of the work measured (creations, bids).

// range(0): 0 = short item text ("item": fits std::string's inline buffer),
// 1 = a realistic title (52 bytes) + 400-byte description + category.
void BM_MemoryPerEnglishAuction(benchmark::State& state) {
  constexpr int kAuctions = 100'000;
  const bool long_text = state.range(0) == 1;
  for (auto _ : state) {
    Names names;
    NullListener listener;
    Engine engine({0, 1}, &names, &listener);
    std::vector<std::string> request_ids;
    request_ids.reserve(kAuctions);
    for (int i = 0; i < kAuctions; ++i) request_ids.push_back(absl::StrCat("r", i));
    const AuctionSpec spec = English(kT0, long_text);
    const int64_t live0 = LiveBytes();
    const int64_t held0 = MallocHeldBytes();
    const int64_t calls0 = g_allocations.load();
    for (int i = 0; i < kAuctions; ++i) {
      // The spec is copied inside the count: its text is the auction's.
      benchmark::DoNotOptimize(engine.CreateAuction(kSeller, request_ids[i], spec, kT0));
    }
    const int64_t live1 = LiveBytes();
    const int64_t held1 = MallocHeldBytes();
    const int64_t calls1 = g_allocations.load();
    state.counters["bytes_per_auction"] = static_cast<double>(live1 - live0) / kAuctions;
    state.counters["malloc_bytes_per_auction"] = static_cast<double>(held1 - held0) / kAuctions;
    state.counters["allocs_per_auction"] = static_cast<double>(calls1 - calls0) / kAuctions;
  }
  state.SetItemsProcessed(state.iterations() * kAuctions);
}
BENCHMARK(BM_MemoryPerEnglishAuction)->ArgName("long_text")->Arg(0)->Arg(1)->Iterations(1);

// 1M bids over 10k open English auctions (100 per auction), every one
// logged; bytes per bid include the bid log entry, the idempotency key's
// hash slot and the amortised growth of both (bid_accepted events are not
// stored: Auction::ForEachEvent rebuilds them from the bid log).
void BM_MemoryPerEnglishBid(benchmark::State& state) {
  constexpr int kAuctions = 10'000;
  constexpr int kBids = 1'000'000;
  for (auto _ : state) {
    state.PauseTiming();
    EnglishBook book(kAuctions);
    const KeyPool keys(kBids);
    uint64_t rng = 42;
    int64_t accepted = 0;
    const absl::Time now = kT0 + absl::Seconds(1);
    const int64_t live0 = LiveBytes();
    const int64_t held0 = MallocHeldBytes();
    state.ResumeTiming();
    for (int i = 0; i < kBids; ++i) {
      absl::StatusOr<BidResult> r =
          book.engine.PlaceBid(RandomBid(book.ids, book.auctions, &rng, keys[i]), now);
      accepted += r.ok() && r->reason == RejectReason::kNone;
    }
    state.PauseTiming();
    state.counters["bytes_per_bid"] = static_cast<double>(LiveBytes() - live0) / kBids;
    state.counters["malloc_bytes_per_bid"] =
        static_cast<double>(MallocHeldBytes() - held0) / kBids;
    state.counters["accepted_share"] = static_cast<double>(accepted) / kBids;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBids);
}
BENCHMARK(BM_MemoryPerEnglishBid)->Iterations(1)->Unit(benchmark::kMillisecond);

// Resting orders of a continuous double auction: 1M limit orders that never
// cross (buys below 2000, sells above 3000) over 100 auctions, so every one
// rests in a book.
void BM_MemoryPerRestingOrder(benchmark::State& state) {
  constexpr int kAuctions = 100;
  constexpr int kOrders = 1'000'000;
  for (auto _ : state) {
    state.PauseTiming();
    Names names;
    NullListener listener;
    Engine engine({0, 1}, &names, &listener);
    std::vector<AuctionId> ids;
    for (int i = 0; i < kAuctions; ++i) {
      AuctionSpec s = English(kT0);
      s.format = Format::kDoubleContinuous;
      absl::StatusOr<AuctionView> v = engine.CreateAuction(kSeller, absl::StrCat("d", i), s, kT0);
      if (!v.ok()) {
        state.SkipWithError(std::string(v.status().message()).c_str());
        return;
      }
      ids.push_back(v->auction_id);
    }
    const KeyPool keys(kOrders);
    uint64_t rng = 9;
    int64_t rested = 0;
    const absl::Time now = kT0 + absl::Seconds(1);
    const int64_t live0 = LiveBytes();
    const int64_t held0 = MallocHeldBytes();
    state.ResumeTiming();
    for (int i = 0; i < kOrders; ++i) {
      const uint64_t r = NextRandom(&rng);
      PlaceBidCommand cmd;
      cmd.auction_id = ids[r % kAuctions];
      cmd.bidder = 1 + static_cast<PrincipalId>((r >> 32) % kBidders);
      cmd.client_bid_id = keys[i];
      const bool buy = (r >> 20) & 1;
      cmd.side = buy ? Side::kBuy : Side::kSell;
      cmd.amount_minor = buy ? 1000 + static_cast<int64_t>((r >> 40) % 1000)
                             : 3000 + static_cast<int64_t>((r >> 40) % 1000);
      cmd.quantity = 1 + static_cast<int64_t>((r >> 52) % 10);
      absl::StatusOr<BidResult> res = engine.PlaceBid(cmd, now);
      rested += res.ok() && res->reason == RejectReason::kNone && res->fills.empty();
    }
    state.PauseTiming();
    state.counters["bytes_per_order"] = static_cast<double>(LiveBytes() - live0) / kOrders;
    state.counters["malloc_bytes_per_order"] =
        static_cast<double>(MallocHeldBytes() - held0) / kOrders;
    state.counters["rested_share"] = static_cast<double>(rested) / kOrders;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kOrders);
}
BENCHMARK(BM_MemoryPerRestingOrder)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace gavel

// As gavel-server does by default (--malloc_retain_mb); GAVEL_MALLOC_RETAIN_MB
// overrides, 0 for glibc's defaults (A/B in one binary). Likewise
// GAVEL_HUGE_PAGES for --huge_pages.
int main(int argc, char** argv) {
  const char* env = std::getenv("GAVEL_MALLOC_RETAIN_MB");
  const char* huge = std::getenv("GAVEL_HUGE_PAGES");  // default on; 0 for the A/B
  if (absl::Status s = gavel::ConfigureHeap(
          env != nullptr ? std::strtoull(env, nullptr, 10) : gavel::kDefaultMallocRetainBytes >> 20,
          huge == nullptr || std::strcmp(huge, "0") != 0);
      !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
