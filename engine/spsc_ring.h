// A bounded lock-free single-producer single-consumer ring of T.
//
// Thread safety / invariants:
// - Writer: one producer thread at a time calls TryPush. It writes the slot,
//   then publishes it with a release store of `tail_`.
// - Reader: one consumer at a time calls TryPop/Empty. It loads `tail_` with
//   acquire (so the slot's contents are visible), moves the value out, then
//   frees the slot with a release store of `head_`, which the producer loads
//   with acquire before reusing it.
// - "One at a time" may be different threads over time if the hand-over
//   itself is an acquire/release pair (the watch stream hands the consumer
//   role over through its state word; see server/watch.cc).
#ifndef GAVEL_ENGINE_SPSC_RING_H_
#define GAVEL_ENGINE_SPSC_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/mpsc_ring.h"

namespace gavel {

template <typename T>
class SpscRing {
 public:
  // `capacity` is rounded up to a power of two.
  explicit SpscRing(size_t capacity) {
    size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    slots_.resize(cap);
    mask_ = cap - 1;
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer. False when full.
  bool TryPush(T value) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) > mask_) return false;
    slots_[tail & mask_] = std::move(value);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer. False when empty.
  bool TryPop(T* out) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return false;
    *out = std::move(slots_[head & mask_]);
    slots_[head & mask_] = T();
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Either side; exact only for the consumer.
  bool Empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  std::vector<T> slots_;
  size_t mask_ = 0;
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_SPSC_RING_H_
