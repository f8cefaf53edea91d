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
// - Slots are constructed on the producer's first lap (placement new before
//   the release of `tail_`), not up front: a ring costs no construction
//   until it is used, however large. Slot i is constructed once tail_ > i,
//   so the destructor destroys min(tail_, capacity) slots.
#ifndef GAVEL_ENGINE_SPSC_RING_H_
#define GAVEL_ENGINE_SPSC_RING_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "engine/mpsc_ring.h"

namespace gavel {

template <typename T>
class SpscRing {
 public:
  // `capacity` is rounded up to a power of two.
  explicit SpscRing(size_t capacity) : mask_(RingSlots(capacity) - 1) {
    slots_ = static_cast<T*>(
        ::operator new((mask_ + 1) * sizeof(T), std::align_val_t{alignof(T)}));
  }
  ~SpscRing() {
    const uint64_t constructed = std::min<uint64_t>(tail_.load(std::memory_order_acquire),
                                                    mask_ + 1);
    for (uint64_t i = 0; i < constructed; ++i) slots_[i].~T();
    ::operator delete(slots_, std::align_val_t{alignof(T)});
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer. False when full.
  bool TryPush(T value) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) > mask_) return false;
    if (tail <= mask_) {
      new (&slots_[tail]) T(std::move(value));  // first lap
    } else {
      slots_[tail & mask_] = std::move(value);
    }
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
  const size_t mask_;
  T* slots_;  // mask_ + 1 slots, constructed on the first lap
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_SPSC_RING_H_
