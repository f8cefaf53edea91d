// SettlementWriter: the outbox between the engine's shards and PostgreSQL.
//
// Shard threads hand over closed auctions' settlements with Enqueue (lock-free, never blocks);
// one background thread batches them into PostgreSQL (Store::WriteSettlements) and reports each
// committed one through `on_committed`, after which the caller may drop it from its journal.
// Nothing is dropped on failure: a failed batch is kept and retried with capped exponential
// backoff, reconnecting as needed, so the server keeps taking bids while PostgreSQL is down.
// A settlement PostgreSQL refuses as data (INVALID_ARGUMENT: e.g. a NUL byte in a title) is
// isolated from its batch so the others are written, and is then held in memory and retried
// every max_backoff, never acknowledged. Errors are logged to stderr, one line per change of
// state, e.g.
//   store: PostgreSQL unavailable (...); 12 settlement(s) waiting, retrying in 400ms
// The lock-free handoff is explained in the "Thread safety / invariants" block that opens
// settlement_writer.cc.
#ifndef GAVEL_SERVER_STORE_SETTLEMENT_WRITER_H_
#define GAVEL_SERVER_STORE_SETTLEMENT_WRITER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "engine/settlement.h"

namespace gavel {

struct SettlementWriterOptions {
  size_t max_batch = 256;  // settlements per transaction
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(5);
  // How long Stop() keeps trying to write what is queued before giving up.
  absl::Duration drain_deadline = absl::Seconds(10);
  // Where the writer's lines go (one call per line, from its thread or
  // Stop's); null: stderr as they are.
  std::function<void(const std::string&)> log;
};

class SettlementWriter {
 public:
  using Options = SettlementWriterOptions;

  // `conninfo` is a libpq connection string (see Store::Open). `on_committed` runs on the
  // writer thread once per settlement, after the transaction holding it has committed (or
  // when it was already stored); it must be quick and must not throw or call Stop().
  SettlementWriter(std::string conninfo, Options options,
                   std::function<void(const std::string& auction_id)> on_committed);
  // Stop(), then frees whatever is still queued.
  ~SettlementWriter();

  SettlementWriter(const SettlementWriter&) = delete;
  SettlementWriter& operator=(const SettlementWriter&) = delete;

  // Starts the writer thread; it connects (retrying until PostgreSQL is reachable) and writes.
  // REQUIRES: called at most once.
  void Start();

  // Queues `settlement` for writing. Lock-free and wait-free apart from the allocation of one
  // queue node: any number of threads may call it at once, before or after Start().
  // REQUIRES: Stop() has not been called.
  void Enqueue(Settlement settlement);

  // Settlements enqueued and not yet committed (the outbox depth). Any thread.
  size_t Pending() const { return pending_.load(std::memory_order_acquire); }

  // Writes what is queued, trying until everything is committed or options.drain_deadline has
  // passed, then stops the thread; logs how many settlements were left unwritten, if any.
  // Idempotent. REQUIRES: not called concurrently with itself or with Enqueue.
  void Stop();

 private:
  // A queue node: an intrusive link plus the settlement it carries.
  struct Node {
    std::atomic<Node*> next{nullptr};
    Settlement settlement;
  };
  class Loop;  // the writer thread's state (settlement_writer.cc)

  void Push(Node* node);  // any thread
  Node* Pop();            // writer thread only

  const std::string conninfo_;
  const Options options_;
  const std::function<void(const std::string&)> on_committed_;

  // Vyukov's MPSC node queue: producers swing head_ to their node, then link the old head to
  // it; the consumer reads from tail_. stub_ keeps the list non-empty.
  std::atomic<Node*> head_;
  Node* tail_;  // writer thread only
  Node stub_;

  std::atomic<size_t> pending_{0};
  // Bumped after every push and by Stop(); the idle writer thread waits on it (futex).
  std::atomic<uint32_t> wake_{0};
  std::atomic<bool> stop_requested_{false};
  absl::Time drain_deadline_;  // written by Stop() before stop_requested_ (release)
  bool stopped_ = false;       // Stop() was called; owner thread only
  std::thread thread_;
};

}  // namespace gavel

#endif  // GAVEL_SERVER_STORE_SETTLEMENT_WRITER_H_
