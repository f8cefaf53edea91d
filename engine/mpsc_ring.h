// A bounded lock-free multi-producer single-consumer ring of T (a trivially
// copyable value, typically a pointer).
//
// Thread safety / invariants:
// - Writers: any number of producer threads call TryPush. A producer claims
//   slot `pos` by a CAS on `tail_` (relaxed is enough for the claim itself),
//   writes the value, then publishes it with a release store of
//   `cell.sequence = pos + 1`.
// - Reader: exactly one consumer thread calls TryPop/Peek/Empty. It reads
//   `cell.sequence` with acquire; seeing `pos + 1` means the value written
//   before the producer's release store is visible. It then frees the cell
//   for the producer one lap later with a release store of
//   `cell.sequence = pos + capacity`.
// - A producer sees a cell whose sequence is behind its position only when
//   the consumer has not yet freed it: the ring is full and TryPush fails at
//   once (the caller answers RESOURCE_EXHAUSTED); it never waits or spins on
//   another thread. This is D. Vyukov's bounded queue design, specialised to
//   one consumer (the head needs no CAS).
#ifndef GAVEL_ENGINE_MPSC_RING_H_
#define GAVEL_ENGINE_MPSC_RING_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace gavel {

inline constexpr size_t kCacheLine = 64;

// A ring's slot count: `capacity` rounded up to a power of two, at least 2.
inline size_t RingSlots(size_t capacity) { return std::max<size_t>(2, std::bit_ceil(capacity)); }

template <typename T>
class MpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "MpscRing holds plain values");

 public:
  // `capacity` is rounded up to a power of two.
  explicit MpscRing(size_t capacity) {
    const size_t cap = RingSlots(capacity);
    mask_ = cap - 1;
    cells_ = std::make_unique<Cell[]>(cap);
    for (size_t i = 0; i < cap; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }
  MpscRing(const MpscRing&) = delete;
  MpscRing& operator=(const MpscRing&) = delete;

  // Any thread. False when the ring is full.
  bool TryPush(T value) {
    uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      const uint64_t seq = cell.sequence.load(std::memory_order_acquire);
      const int64_t diff = static_cast<int64_t>(seq) - static_cast<int64_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          // Publishes the value; seq_cst for the shard's park/wake handshake.
          cell.sequence.store(pos + 1, std::memory_order_seq_cst);
          return true;
        }
      } else if (diff < 0) {
        return false;  // full: the consumer has not freed this cell yet
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // REQUIRES: the single consumer thread. False when empty.
  bool TryPop(T* out) {
    Cell& cell = cells_[head_ & mask_];
    const uint64_t seq = cell.sequence.load(std::memory_order_acquire);
    if (seq != head_ + 1) return false;
    *out = cell.value;
    cell.sequence.store(head_ + mask_ + 1, std::memory_order_release);  // frees the cell
    ++head_;
    return true;
  }

  // REQUIRES: the single consumer thread. The value `ahead` places behind
  // the one TryPop returns next (0: that one), without taking it; false when
  // it is not published yet. Its cell stays the consumer's until TryPop
  // frees it, so no producer overwrites the value meanwhile.
  bool Peek(size_t ahead, T* out) const {
    const uint64_t pos = head_ + ahead;
    const Cell& cell = cells_[pos & mask_];
    if (cell.sequence.load(std::memory_order_acquire) != pos + 1) return false;
    *out = cell.value;
    return true;
  }

  // REQUIRES: the single consumer thread. seq_cst: see engine/shard.h.
  bool Empty() const {
    return cells_[head_ & mask_].sequence.load(std::memory_order_seq_cst) != head_ + 1;
  }

  size_t capacity() const { return mask_ + 1; }

 private:
  struct alignas(kCacheLine) Cell {
    std::atomic<uint64_t> sequence{0};
    T value{};
  };
  std::unique_ptr<Cell[]> cells_;
  size_t mask_ = 0;
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};  // producers
  alignas(kCacheLine) uint64_t head_ = 0;              // consumer only
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_MPSC_RING_H_
