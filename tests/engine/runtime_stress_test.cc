// Concurrency stress of the shard runtime (run under ThreadSanitizer in CI):
// many producer threads hand bids for many auctions to every shard at once.
// At the end every accepted bid is accounted for exactly once, and each
// shard's outcomes equal a single-threaded replay of the sequence of
// commands that shard actually ran.
#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "engine/shard.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"

namespace gavel {
namespace {

using testing::EnglishSpec;
using testing::FakePrincipalNames;
using testing::kT0;
using testing::RecordingListener;

constexpr uint32_t kShards = 4;
constexpr int kAuctionsPerShard = 16;
constexpr int kProducers = 4;
constexpr int kBidsPerProducer = 5000;

// One command, as run on a shard; the shard appends it to its own log.
struct Command {
  enum class Kind { kCreate, kBid } kind = Kind::kBid;
  std::string key;  // request_id or client_bid_id
  PlaceBidCommand bid;
  // Results, written on the shard thread.
  AuctionId created = 0;
  BidResult result;
  std::atomic<int> runs{0};
};

class CommandTask final : public ShardTask {
 public:
  CommandTask(Command* command, std::vector<Command*>* shard_log, std::atomic<int>* done)
      : command_(command), shard_log_(shard_log), done_(done) {}
  void Run(ShardContext& ctx) override {
    Command& c = *command_;
    if (c.kind == Command::Kind::kCreate) {
      c.created = ctx.engine.CreateAuction(testing::kSeller, c.key, EnglishSpec(), ctx.now)
                      .value()
                      .auction_id;
    } else {
      c.bid.client_bid_id = c.key;
      c.result = ctx.engine.PlaceBid(c.bid, ctx.now).value();
    }
    c.runs.fetch_add(1, std::memory_order_relaxed);
    shard_log_->push_back(command_);  // shard thread only
    done_->fetch_add(1, std::memory_order_release);
    delete this;
  }

 private:
  Command* const command_;
  std::vector<Command*>* const shard_log_;
  std::atomic<int>* const done_;
};

// Reads every auction's view on the shard thread.
class CollectTask final : public ShardTask {
 public:
  CollectTask(std::vector<AuctionId> ids, std::vector<AuctionView>* out, std::atomic<int>* done)
      : ids_(std::move(ids)), out_(out), done_(done) {}
  void Run(ShardContext& ctx) override {
    for (AuctionId id : ids_) out_->push_back(ctx.engine.GetAuction(id, false).value());
    done_->fetch_add(1, std::memory_order_release);
    delete this;
  }

 private:
  std::vector<AuctionId> ids_;
  std::vector<AuctionView>* const out_;
  std::atomic<int>* const done_;
};

void Submit(Shard& shard, ShardTask* task) {
  while (!shard.Submit(task)) std::this_thread::yield();  // ring full: back off
}

void WaitFor(const std::atomic<int>& counter, int value) {
  while (counter.load(std::memory_order_acquire) < value) std::this_thread::yield();
}

TEST(RuntimeStress, EveryAcceptedBidCountsOnceAndShardsReplayIdentically) {
  FakePrincipalNames names;
  ManualClock clock(kT0);
  std::vector<std::unique_ptr<RecordingListener>> listeners;
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<std::vector<Command*>> logs(kShards);
  for (uint32_t i = 0; i < kShards; ++i) {
    listeners.push_back(std::make_unique<RecordingListener>());
    // A small ring, so that producers also meet a full ring.
    shards.push_back(std::make_unique<Shard>(ShardOptions{i, kShards, 64}, &clock, &names,
                                             listeners.back().get()));
    shards.back()->Start();
  }

  // Auctions on every shard.
  std::vector<std::unique_ptr<Command>> creates;
  std::atomic<int> done{0};
  for (uint32_t s = 0; s < kShards; ++s) {
    for (int i = 0; i < kAuctionsPerShard; ++i) {
      auto c = std::make_unique<Command>();
      c->kind = Command::Kind::kCreate;
      c->key = absl::StrCat("create-", s, "-", i);
      Submit(*shards[s], new CommandTask(c.get(), &logs[s], &done));
      creates.push_back(std::move(c));
    }
  }
  WaitFor(done, static_cast<int>(creates.size()));
  std::vector<AuctionId> ids;
  for (const auto& c : creates) ids.push_back(c->created);

  // Producers.
  std::vector<std::vector<std::unique_ptr<Command>>> bids(kProducers);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::mt19937_64 rng(1000 + p);
      for (int i = 0; i < kBidsPerProducer; ++i) {
        auto c = std::make_unique<Command>();
        c->key = absl::StrCat("p", p, "-", i);
        c->bid.auction_id = ids[rng() % ids.size()];
        c->bid.bidder = 10 + static_cast<PrincipalId>(rng() % 40);
        c->bid.amount_minor = 1000 + static_cast<int64_t>(rng() % 200'000);
        Shard& shard = *shards[c->bid.auction_id % kShards];
        Submit(shard, new CommandTask(c.get(), &logs[c->bid.auction_id % kShards], &done));
        bids[p].push_back(std::move(c));
      }
    });
  }
  for (auto& t : producers) t.join();
  const int total = static_cast<int>(creates.size()) + kProducers * kBidsPerProducer;
  WaitFor(done, total);

  // Close everything, then read the final state on each shard.
  clock.Advance(absl::Hours(2));
  std::vector<std::vector<AuctionView>> views(kShards);
  std::atomic<int> collected{0};
  for (uint32_t s = 0; s < kShards; ++s) {
    std::vector<AuctionId> mine;
    for (AuctionId id : ids) {
      if (id % kShards == s) mine.push_back(id);
    }
    Submit(*shards[s], new CollectTask(mine, &views[s], &collected));
  }
  WaitFor(collected, static_cast<int>(kShards));
  for (auto& s : shards) s->Stop();  // joins: the logs are ours now

  // Every command ran exactly once; accepted bids add up to the bid counts.
  int64_t accepted = 0;
  for (const auto& producer : bids) {
    for (const auto& c : producer) {
      ASSERT_EQ(c->runs.load(), 1) << c->key;
      if (c->result.reason == RejectReason::kNone) ++accepted;
    }
  }
  int64_t counted = 0;
  for (const auto& shard_views : views) {
    for (const AuctionView& v : shard_views) {
      counted += v.bid_count;
      EXPECT_EQ(v.state, AuctionState::kClosed);
    }
  }
  EXPECT_EQ(accepted, counted);
  EXPECT_GT(accepted, 0);

  // Replay each shard's log on one thread: identical answers, views and
  // settlement hashes.
  for (uint32_t s = 0; s < kShards; ++s) {
    SCOPED_TRACE(absl::StrCat("shard ", s));
    RecordingListener replay_listener;
    Engine replay({s, kShards}, &names, &replay_listener);
    for (Command* c : logs[s]) {
      if (c->kind == Command::Kind::kCreate) {
        ASSERT_EQ(replay.CreateAuction(testing::kSeller, c->key, EnglishSpec(), kT0)->auction_id,
                  c->created);
        continue;
      }
      PlaceBidCommand cmd = c->bid;
      cmd.client_bid_id = c->key;
      BidResult r = replay.PlaceBid(cmd, kT0).value();
      ASSERT_EQ(r.reason, c->result.reason) << c->key;
      ASSERT_EQ(r.sequence, c->result.sequence) << c->key;
      ASSERT_EQ(r.current_price_minor, c->result.current_price_minor) << c->key;
      ASSERT_EQ(r.leading, c->result.leading) << c->key;
      ASSERT_EQ(r.entry, c->result.entry) << c->key;
    }
    replay.AdvanceTo(kT0 + absl::Hours(2));
    for (const AuctionView& live : views[s]) {
      AuctionView v = replay.GetAuction(live.auction_id, false).value();
      EXPECT_EQ(v.current_price_minor, live.current_price_minor);
      EXPECT_EQ(v.leader, live.leader);
      EXPECT_EQ(v.bid_count, live.bid_count);
      EXPECT_EQ(v.sequence, live.sequence);
      EXPECT_EQ(v.state, live.state);
    }
    ASSERT_EQ(replay_listener.settlements.size(), listeners[s]->settlements.size());
    for (size_t i = 0; i < replay_listener.settlements.size(); ++i) {
      EXPECT_EQ(replay_listener.settlements[i]->final_hash,
                listeners[s]->settlements[i]->final_hash);
    }
  }
}

}  // namespace
}  // namespace gavel
