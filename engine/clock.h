// The injected clock (STYLE.md 12). The engine itself never reads a clock:
// the shard runtime reads this one and passes `now` into the engine, so
// tests and replays choose time.
#ifndef GAVEL_ENGINE_CLOCK_H_
#define GAVEL_ENGINE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gavel {

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that moves only when told. Thread-safe: one atomic word.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start) : micros_(absl::ToUnixMicros(start)) {}
  absl::Time Now() const override {
    return absl::FromUnixMicros(micros_.load(std::memory_order_acquire));
  }
  void Set(absl::Time t) { micros_.store(absl::ToUnixMicros(t), std::memory_order_release); }
  void Advance(absl::Duration d) {
    micros_.fetch_add(absl::ToInt64Microseconds(d), std::memory_order_acq_rel);
  }

 private:
  std::atomic<int64_t> micros_;
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_CLOCK_H_
