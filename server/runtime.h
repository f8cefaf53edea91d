// The engine runtime as the server sees it: N shards, each one thread that
// owns its auctions, placed by auction id; and the hand-off of settlements
// to persistence.
#ifndef GAVEL_SERVER_RUNTIME_H_
#define GAVEL_SERVER_RUNTIME_H_

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "engine/clock.h"
#include "engine/shard.h"

namespace gavel {

// Receives closed auctions' settlements, from any shard thread at once.
// Must not block (the store's writer takes them through a lock-free queue).
class SettlementSink {
 public:
  virtual ~SettlementSink() = default;
  virtual void Submit(std::shared_ptr<const Settlement> settlement) = 0;
};

// A ShardTask made from a callable, for the server's one-off tasks.
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

struct RuntimeOptions {
  uint32_t shards = 1;
  size_t ring_capacity = 1 << 16;
  uint64_t auction_id_floor = 0;  // new auction ids are numbered above it
};

class Runtime final : private EngineListener {
 public:
  // `clock`, `names` and `sink` (may be null) must outlive the runtime.
  Runtime(RuntimeOptions options, const Clock* clock, const PrincipalNames* names,
          SettlementSink* sink);
  ~Runtime() override;

  void Start();
  // Runs what is queued, then stops every shard thread.
  void Stop();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  Shard& ForAuction(AuctionId id) { return *shards_[id % shards_.size()]; }
  Shard& ForKey(uint64_t key) { return *shards_[key % shards_.size()]; }
  Shard& shard(size_t i) { return *shards_[i]; }
  size_t shard_count() const { return shards_.size(); }

  // Any thread. Runs `f(ShardContext&)` on `shard`; false when the shard's
  // ring is full or the runtime is stopping.
  template <typename F>
  bool Run(Shard& shard, F f) {
    auto* task = new FnTask<F>(std::move(f));
    if (shard.Submit(task)) return true;
    delete task;
    return false;
  }

 private:
  void OnEvent(const AuctionEvent&) override {}
  void OnSettlement(std::shared_ptr<const Settlement> settlement) override;

  SettlementSink* const sink_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<bool> stopping_{false};
};

// FNV-1a: a hash that stays the same across processes and builds, for
// placing CreateAuction requests on shards by their idempotency key.
uint64_t StableHash(absl::string_view a, absl::string_view b);

}  // namespace gavel

#endif  // GAVEL_SERVER_RUNTIME_H_
