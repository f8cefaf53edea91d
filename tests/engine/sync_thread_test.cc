// Journaled shards with durability=sync: the shard thread hands its batches
// to a sync thread, which writes, fdatasyncs, and only then acknowledges the
// tasks and forwards the settlements (engine/shard.h). Many producers at
// once, with journal files rolling and compacting underneath; an fdatasync
// failure in the middle of the stream. Run under ThreadSanitizer in CI.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/clock.h"
#include "engine/env_memory.h"
#include "engine/recovery.h"
#include "engine/shard.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"
#include "tests/engine/journal_test_util.h"
#include "tests/engine/shard_test_util.h"

namespace gavel {
namespace {

using testing::DurablyHasBid;
using testing::kShardDir;
using testing::kT0;
using testing::NamedPrincipals;
using testing::RunOn;
using testing::WaitFor;

// What the tasks of one shard saw.
struct ShardCounts {
  uint64_t next_run = 0;              // shard thread only
  std::atomic<uint64_t> next_ack{0};  // the order acknowledgements came in
  std::atomic<int> acked{0};
  std::atomic<int> abandoned{0};
  std::atomic<int> acked_after_abandon{0};
  std::atomic<int> out_of_order{0};
  std::atomic<int> acked_not_durable{0};
  std::atomic<int> twice{0};
  MemEnv* env = nullptr;  // set: check every 16th acknowledgement against a crash
};

// A bid whose answer waits for durability, as the server's RPCs do.
class DurableBid final : public ShardTask {
 public:
  DurableBid(AuctionId auction, std::string key, int64_t amount, ShardCounts* counts)
      : auction_(auction), key_(std::move(key)), amount_(amount), counts_(counts) {}

  void Run(ShardContext& ctx) override {
    (void)ctx.engine.PlaceBid(testing::BidCommand(auction_, testing::kAlice, key_, amount_),
                              ctx.now);
    run_index_ = counts_->next_run++;
    ctx.shard.AckWhenDurable(this);
  }
  void Acknowledge() override {
    if (answered_.exchange(true)) counts_->twice.fetch_add(1);
    if (counts_->abandoned.load() > 0) counts_->acked_after_abandon.fetch_add(1);
    // One thread acknowledges, in the order the tasks ran.
    if (counts_->next_ack.load(std::memory_order_relaxed) != run_index_) {
      counts_->out_of_order.fetch_add(1);
    }
    counts_->next_ack.store(run_index_ + 1, std::memory_order_relaxed);
    if (counts_->env != nullptr && run_index_ % 16 == 0 &&
        !DurablyHasBid(*counts_->env, auction_, key_)) {
      counts_->acked_not_durable.fetch_add(1);
    }
    counts_->acked.fetch_add(1);
    delete this;
  }
  void Abandon() override {
    if (answered_.exchange(true)) counts_->twice.fetch_add(1);
    counts_->abandoned.fetch_add(1);
    delete this;
  }

 private:
  const AuctionId auction_;
  const std::string key_;
  const int64_t amount_;
  ShardCounts* const counts_;
  uint64_t run_index_ = 0;
  std::atomic<bool> answered_{false};
};

class CountingDownstream final : public EngineListener {
 public:
  void OnEvent(const AuctionEvent&) override {}
  void OnSettlement(std::shared_ptr<const Settlement>) override { count.fetch_add(1); }
  std::atomic<int> count{0};
};

// A shard journaling with durability=sync into `env` under kShardDir,
// quietly; no background compaction (MemEnv: the sync thread is its only
// user).
ShardOptions MemEnvSyncOptions(MemEnv* env) {
  ShardOptions o;
  o.journal.env = env;
  o.journal.dir = kShardDir;
  o.journal.durability = Durability::kSync;
  o.journal.max_file_age = absl::InfiniteDuration();
  o.background_compaction = false;
  o.log = [](const std::string&) {};
  return o;
}

// Creates the English auction a test bids on, on `shard`; its id.
AuctionId CreateAuctionOn(Shard& shard) {
  AuctionId id = 0;
  RunOn(shard, [&](ShardContext& c) {
    id = c.engine.CreateAuction(testing::kSeller, "a", testing::EnglishSpec(), c.now)->auction_id;
  });
  return id;
}

void SubmitOrYield(Shard& shard, ShardTask* task) {
  while (!shard.Submit(task)) std::this_thread::yield();
}

TEST(SyncThread, ManyProducersEachCommandAcknowledgedOnceInOrderAndRecoveryAgrees) {
  constexpr uint32_t kShards = 2;
  constexpr int kAuctions = 8;  // per shard
  constexpr int kProducers = 4;
  constexpr int kBidsPerProducer = 1500;
  const std::string root = absl::StrCat(::testing::TempDir(), "/gavel-sync-thread-", getpid());
  std::filesystem::remove_all(root);
  NamedPrincipals names;
  ManualClock clock(kT0);
  std::atomic<int> snapshots_while_running{0};
  std::vector<std::unique_ptr<CountingDownstream>> downstream;
  std::vector<std::unique_ptr<ShardCounts>> counts;
  std::vector<std::unique_ptr<Shard>> shards;
  for (uint32_t i = 0; i < kShards; ++i) {
    ShardOptions o;
    o.shard_index = i;
    o.shard_count = kShards;
    o.ring_capacity = 64;  // producers meet a full ring too
    o.journal.dir = absl::StrCat(root, "/shard-", i);
    o.journal.durability = Durability::kSync;
    o.journal.max_file_bytes = 16 << 10;  // many rolls, compacted in the background
    o.log = [&](const std::string& line) {
      if (absl::StrContains(line, "wrote snapshot")) snapshots_while_running.fetch_add(1);
    };
    ASSERT_TRUE(std::filesystem::create_directories(o.journal.dir));
    downstream.push_back(std::make_unique<CountingDownstream>());
    counts.push_back(std::make_unique<ShardCounts>());
    shards.push_back(std::make_unique<Shard>(o, &clock, &names, downstream.back().get()));
    ASSERT_TRUE(shards.back()->Recover(&names).ok());
    shards.back()->Start();
  }
  std::vector<AuctionId> ids;
  for (uint32_t s = 0; s < kShards; ++s) {
    RunOn(*shards[s], [&](ShardContext& c) {
      for (int i = 0; i < kAuctions; ++i) {
        AuctionSpec spec = testing::EnglishSpec();
        spec.ends_at = kT0 + absl::Minutes(30);
        ids.push_back(
            c.engine.CreateAuction(testing::kSeller, absl::StrCat(s, "-", i), spec, c.now)
                ->auction_id);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::mt19937_64 rng(77 + p);
      for (int i = 0; i < kBidsPerProducer; ++i) {
        const AuctionId id = ids[rng() % ids.size()];
        const uint32_t s = static_cast<uint32_t>(id % kShards);
        SubmitOrYield(*shards[s], new DurableBid(id, absl::StrCat("p", p, "-", i),
                                                 1000 + static_cast<int64_t>(rng() % 100'000),
                                                 counts[s].get()));
      }
    });
  }
  for (auto& t : producers) t.join();
  ASSERT_TRUE(WaitFor([&] {
    int n = 0;
    for (auto& c : counts) n += c->acked.load();
    return n == kProducers * kBidsPerProducer;
  }));
  clock.Advance(absl::Minutes(31));  // every auction closes on its timer
  ASSERT_TRUE(WaitFor([&] {
    int n = 0;
    for (auto& d : downstream) n += d->count.load();
    return n == static_cast<int>(kShards) * kAuctions;
  }));
  // The journals rolled and were compacted while the shards ran.
  EXPECT_GT(snapshots_while_running.load(), 0);
  std::vector<std::string> hashes;
  for (auto& s : shards) {
    s->Stop();
    hashes.push_back(s->final_state_hash());
  }
  for (uint32_t s = 0; s < kShards; ++s) {
    SCOPED_TRACE(absl::StrCat("shard ", s));
    EXPECT_EQ(counts[s]->abandoned.load(), 0);
    EXPECT_EQ(counts[s]->twice.load(), 0);
    EXPECT_EQ(counts[s]->out_of_order.load(), 0);
    EXPECT_EQ(counts[s]->next_ack.load(), counts[s]->next_run);
    EXPECT_EQ(downstream[s]->count.load(), kAuctions);  // each settlement once
  }
  // A restart reaches the same state.
  for (uint32_t i = 0; i < kShards; ++i) {
    ShardOptions o;
    o.shard_index = i;
    o.shard_count = kShards;
    o.journal.dir = absl::StrCat(root, "/shard-", i);
    o.log = [](const std::string&) {};
    CountingDownstream d;
    Shard again(o, &clock, &names, &d);
    absl::StatusOr<ShardRecovery> rec = again.Recover(&names);
    ASSERT_TRUE(rec.ok()) << rec.status();
    EXPECT_EQ(rec->state_hash, hashes[i]);
    EXPECT_EQ(rec->outbox, static_cast<size_t>(kAuctions));  // closed, not yet in PostgreSQL
  }
  std::filesystem::remove_all(root);
}

// A settled auction stays in memory until a snapshot has dropped it too;
// then the running shard frees it (the compactor hands the ids over), and
// it answers as it would after a restart. The hand-over runs under TSan.
TEST(SyncThread, AuctionsASnapshotDroppedAreFreedWhileTheShardRuns) {
  const std::string root = absl::StrCat(::testing::TempDir(), "/gavel-drop-", getpid());
  std::filesystem::remove_all(root);
  ASSERT_TRUE(std::filesystem::create_directories(root));
  NamedPrincipals names;
  ManualClock clock(kT0);
  std::atomic<int> dropping_snapshots{0};
  ShardOptions o;
  o.journal.dir = root;
  o.journal.durability = Durability::kSync;
  o.journal.max_file_bytes = 4096;  // rolls (and compacts) every few dozen bids
  o.log = [&](const std::string& line) {
    if (absl::StrContains(line, " 1 settled auction(s) dropped")) dropping_snapshots.fetch_add(1);
  };
  CountingDownstream downstream;
  auto shard = std::make_unique<Shard>(o, &clock, &names, &downstream);
  ASSERT_TRUE(shard->Recover(&names).ok());
  shard->Start();
  AuctionId sold = 0;
  AuctionId open = 0;
  RunOn(*shard, [&](ShardContext& c) {
    AuctionSpec spec = testing::EnglishSpec();
    spec.ends_at = kT0 + absl::Minutes(1);
    sold = c.engine.CreateAuction(testing::kSeller, "sold", spec, c.now)->auction_id;
    spec.ends_at = kT0 + absl::Hours(1);
    open = c.engine.CreateAuction(testing::kSeller, "open", spec, c.now)->auction_id;
    ASSERT_TRUE(
        c.engine.PlaceBid(testing::BidCommand(sold, testing::kAlice, "s", 2000), c.now).ok());
  });
  clock.Advance(absl::Minutes(2));
  ASSERT_TRUE(WaitFor([&] { return downstream.count.load() == 1; }));
  RunOn(*shard, [&](ShardContext& c) {
    c.engine.MarkSettled(sold);               // PostgreSQL has it
    EXPECT_NE(c.engine.Find(sold), nullptr);  // no snapshot has dropped it yet
  });

  // Bids on the open auction roll the journal until a snapshot drops the
  // settled one (when files roll depends on how the sync thread groups the
  // batches); the shard frees it at the end of a batch after that.
  int64_t amount = 1000;
  bool freed = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (!freed && absl::Now() < give_up) {
    RunOn(*shard, [&](ShardContext& c) {
      for (int i = 0; i < 20; ++i, amount += 100) {
        ASSERT_TRUE(c.engine
                        .PlaceBid(testing::BidCommand(open, i % 2 ? testing::kAlice : testing::kBob,
                                                      absl::StrCat("b", amount), amount),
                                  c.now)
                        .ok());
      }
      freed = c.engine.Find(sold) == nullptr;
    });
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_GT(dropping_snapshots.load(), 0);
  ASSERT_TRUE(freed) << "no snapshot freed the settled auction";
  RunOn(*shard, [&](ShardContext& c) {
    EXPECT_EQ(c.engine.auction_count(), 1u);
    absl::StatusOr<AuctionView> view = c.engine.GetAuction(sold, /*public_view=*/true);
    EXPECT_EQ(view.status().code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(absl::StrContains(view.status().message(), "it ended")) << view.status();
    absl::StatusOr<AuctionView> again =
        c.engine.CreateAuction(testing::kSeller, "sold", testing::EnglishSpec(), c.now);
    EXPECT_TRUE(absl::StrContains(again.status().message(), "created auction")) << again.status();
    EXPECT_NE(c.engine.Find(open), nullptr);
    // A watcher is told the same.
    absl::StatusOr<Subscription> watch = c.shard.Subscribe(sold, 1);
    EXPECT_EQ(watch.status().code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(absl::StrContains(watch.status().message(), "it ended")) << watch.status();
  });
  shard->Stop();
  const std::string hash = shard->final_state_hash();
  shard.reset();
  // A restart reaches the same state.
  o.log = [](const std::string&) {};
  Shard again(o, &clock, &names, &downstream);
  absl::StatusOr<ShardRecovery> rec = again.Recover(&names);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->state_hash, hash);
  std::filesystem::remove_all(root);
}

TEST(SyncThread, AcknowledgesOnlyDurableWorkAndAFailedSyncMidStreamIsFinal) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir(kShardDir).ok());
  NamedPrincipals names;
  ManualClock clock(kT0);
  CountingDownstream downstream;
  ShardOptions o = MemEnvSyncOptions(&env);
  o.journal.max_file_bytes = 4000;  // rolls too
  std::atomic<int> failures{0};
  std::atomic<int64_t> syncs_at_failure{-1};
  o.on_journal_failure = [&](const absl::Status&) {
    failures.fetch_add(1);
    syncs_at_failure.store(env.sync_count());
  };
  Shard shard(o, &clock, &names, &downstream);
  ASSERT_TRUE(shard.Recover(&names).ok());
  shard.Start();
  const AuctionId id = CreateAuctionOn(shard);
  ShardCounts counts;
  counts.env = &env;
  constexpr int kProducers = 3;
  constexpr int kBidsPerProducer = 400;
  constexpr int kHalf = kProducers * kBidsPerProducer / 2;
  std::atomic<bool> second_half{false};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kBidsPerProducer; ++i) {
        if (i == kBidsPerProducer / 2) {
          while (!second_half.load()) std::this_thread::yield();
        }
        SubmitOrYield(shard, new DurableBid(id, absl::StrCat("p", p, "-", i),
                                            1000 + 10 * (i * kProducers + p), &counts));
      }
    });
  }
  // The first half acknowledged; then the disk goes away while the
  // producers send the second half.
  ASSERT_TRUE(WaitFor([&] { return counts.acked.load() == kHalf; }));
  env.FailSyncsAfter(0);
  second_half.store(true);
  for (auto& t : producers) t.join();
  const int total = kProducers * kBidsPerProducer;
  ASSERT_TRUE(WaitFor([&] { return counts.acked.load() + counts.abandoned.load() == total; }));
  EXPECT_EQ(counts.acked.load(), kHalf);
  EXPECT_EQ(counts.abandoned.load(), total - kHalf);
  EXPECT_EQ(counts.twice.load(), 0);
  EXPECT_EQ(counts.out_of_order.load(), 0);
  EXPECT_EQ(counts.acked_after_abandon.load(), 0);
  EXPECT_EQ(counts.acked_not_durable.load(), 0);
  EXPECT_EQ(failures.load(), 1);
  EXPECT_TRUE(shard.journal_failed());
  shard.Stop();                                          // does not hang, syncs nothing more
  EXPECT_EQ(env.sync_count(), syncs_at_failure.load());  // the failed one was the last
  // Whatever was acknowledged survives a crash.
  EXPECT_EQ(counts.acked_not_durable.load(), 0);
}

// A disk that stops answering: the sync thread's queue fills, the shard then
// takes no more commands, so its ring fills and Submit refuses (the server
// answers RESOURCE_EXHAUSTED) instead of unsynced work piling up without
// bound. Once the disk answers again, every command taken is acknowledged.
TEST(SyncThread, AStalledDiskFillsTheRingInsteadOfGrowingTheBacklog) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir(kShardDir).ok());
  NamedPrincipals names;
  ManualClock clock(kT0);
  CountingDownstream downstream;
  ShardOptions o = MemEnvSyncOptions(&env);
  o.ring_capacity = 16;
  Shard shard(o, &clock, &names, &downstream);
  ASSERT_TRUE(shard.Recover(&names).ok());
  shard.Start();
  const AuctionId id = CreateAuctionOn(shard);
  ShardCounts counts;
  env.StallSyncs(true);
  // One command at a time, so that each becomes a batch of its own: the
  // sync thread's queue (1024 batches) fills, then the ring (16).
  int taken = 0;
  bool refused = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!refused && absl::Now() < deadline) {
    auto* bid = new DurableBid(id, absl::StrCat("k", taken), 1000 + 10 * taken, &counts);
    if (!shard.Submit(bid)) {
      delete bid;
      refused = true;
      break;
    }
    ++taken;
    absl::SleepFor(absl::Microseconds(300));  // the shard hands it over alone
  }
  EXPECT_TRUE(refused) << "the ring never filled: " << taken << " commands taken while stalled";
  std::printf("stalled disk: %d commands taken before Submit refused\n", taken);
  EXPECT_EQ(counts.acked.load(), 0);  // nothing durable yet
  EXPECT_LT(taken, 3000);  // bounded: ~1024 queued batches plus the ring (unbounded before)
  env.StallSyncs(false);
  ASSERT_TRUE(WaitFor([&] { return counts.acked.load() == taken; }));
  EXPECT_EQ(counts.abandoned.load(), 0);
  EXPECT_EQ(counts.twice.load(), 0);
  EXPECT_EQ(counts.out_of_order.load(), 0);
  shard.Stop();
}

}  // namespace
}  // namespace gavel
