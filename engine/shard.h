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
// - Everything else (engine_, subscribers_) is touched only by the shard
//   thread.
#ifndef GAVEL_ENGINE_SHARD_H_
#define GAVEL_ENGINE_SHARD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/mpsc_ring.h"

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
class ShardTask {
 public:
  virtual ~ShardTask() = default;
  virtual void Run(ShardContext& ctx) = 0;
};

struct ShardOptions {
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  size_t ring_capacity = 1 << 16;
  uint64_t auction_id_floor = 0;  // see EngineOptions
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

  void Start();
  // Stops taking tasks, runs the ones already queued, joins the thread.
  void Stop();

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

 private:
  void OnEvent(const AuctionEvent& event) override;
  void OnSettlement(std::shared_ptr<const Settlement> settlement) override;
  void Loop();
  void Park(absl::Time deadline);
  void Wake();

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
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_SHARD_H_
