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
//   itself is an acquire/release pair. (Its users, the shard's rings to and
//   from its sync thread, each have one fixed producer and consumer.)
// - T is trivially copyable (its users pass pointers): a slot is plain
//   memory that the producer overwrites and the consumer copies out, with
//   nothing to construct or destroy.
#ifndef GAVEL_ENGINE_SPSC_RING_H_
#define GAVEL_ENGINE_SPSC_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "engine/mpsc_ring.h"

namespace gavel {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  // `capacity` is rounded up to a power of two.
  explicit SpscRing(size_t capacity)
      : mask_(RingSlots(capacity) - 1), slots_(std::make_unique<T[]>(mask_ + 1)) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer. False when full.
  bool TryPush(T value) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) > mask_) return false;
    slots_[tail & mask_] = value;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer. False when empty.
  bool TryPop(T* out) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return false;
    *out = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Either side; exact only for the consumer.
  bool Empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  const size_t mask_;
  const std::unique_ptr<T[]> slots_;  // mask_ + 1
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_SPSC_RING_H_
