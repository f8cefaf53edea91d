// Helpers for tests that drive a real Shard thread.
#ifndef GAVEL_TESTS_ENGINE_SHARD_TEST_UTIL_H_
#define GAVEL_TESTS_ENGINE_SHARD_TEST_UTIL_H_

#include <atomic>
#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/shard.h"
#include "gtest/gtest.h"

namespace gavel::testing {

// Spins (yielding) until `done()` or `limit` of real time; the result of
// done().
template <typename F>
bool WaitFor(F done, absl::Duration limit = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Runs `f(ShardContext&)` on the shard thread and waits for it; the atomic
// store/load pair makes everything `f` wrote visible to the caller.
template <typename F>
void RunOn(Shard& shard, F f) {
  struct Task final : ShardTask {
    Task(F fn, std::atomic<bool>* done) : fn(std::move(fn)), done(done) {}
    void Run(ShardContext& ctx) override {
      fn(ctx);
      done->store(true, std::memory_order_release);
      delete this;
    }
    F fn;
    std::atomic<bool>* done;
  };
  std::atomic<bool> done{false};
  ASSERT_TRUE(shard.Submit(new Task(std::move(f), &done)));
  ASSERT_TRUE(WaitFor([&] { return done.load(std::memory_order_acquire); }))
      << "the shard did not run the task";
}

}  // namespace gavel::testing

#endif  // GAVEL_TESTS_ENGINE_SHARD_TEST_UTIL_H_
