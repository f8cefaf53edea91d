// An idempotency index: a key already hashed to 64 bits -> a nonzero 32-bit
// value. Each auction has one for its bids ((bidder, client_bid_id) -> bid
// log entry, 1-based) and each engine one for CreateAuction's request ids
// (-> the auction's shard-local number). Used by one shard thread; no
// synchronisation.
//
// Open addressing with linear probing over one array of 12-byte slots (the
// full 64-bit hash and the value), doubling at 7/8 full. There is no
// deletion: a key goes in once what it names exists, and the bid log and
// the auction numbers never take it back. The object itself is 16 bytes,
// which matters because every open auction has one (absl::flat_hash_map is
// 40 bytes and 17 bytes a slot). The slots come from AllocateArray: huge
// pages once the table is large, where every probe is a random access.
#ifndef GAVEL_ENGINE_HASH_INDEX_H_
#define GAVEL_ENGINE_HASH_INDEX_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "engine/heap.h"

namespace gavel {

class HashIndex {
 public:
  HashIndex() = default;
  ~HashIndex() { FreeArray(slots_, Bytes(capacity())); }
  HashIndex(const HashIndex&) = delete;
  HashIndex& operator=(const HashIndex&) = delete;

  // The value stored under `hash`, or 0.
  uint32_t Find(uint64_t hash) const {
    if (slots_ == nullptr) return 0;
    for (uint32_t i = Home(hash);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.entry == 0) return 0;
      if (s.Hash() == hash) return s.entry;
    }
  }

  // Starts loading the slot Find(hash) looks at first (a hint; no effect
  // on the contents).
  void Prefetch(uint64_t hash) const {
    if (slots_ != nullptr) __builtin_prefetch(&slots_[Home(hash)]);
  }

  // REQUIRES: Find(hash) == 0, entry (the value) > 0, size() < 2^30 (so
  // that the capacity stays within 32 bits; the bid log stops at
  // kMaxBidsPerAuction = 2^30).
  void Insert(uint64_t hash, uint32_t entry) {
    assert(size_ < (uint32_t{1} << 30));
    if (slots_ == nullptr || (size_ + 1) > Capacity() / 8 * 7) Grow();
    Place(hash, entry);
    ++size_;
  }

  size_t size() const { return size_; }
  // Slots allocated (0 before the first key).
  size_t capacity() const { return slots_ == nullptr ? 0 : Capacity(); }

 private:
  static constexpr uint32_t kInitialCapacity = 8;

  struct Slot {
    uint32_t lo = 0;
    uint32_t hi = 0;
    uint32_t entry = 0;  // 0: empty
    uint64_t Hash() const { return uint64_t{hi} << 32 | lo; }
  };
  static_assert(sizeof(Slot) == 12);
  static_assert(std::is_trivially_copyable_v<Slot>);

  uint32_t Capacity() const { return mask_ + 1; }
  static size_t Bytes(size_t capacity) { return capacity * sizeof(Slot); }
  // The hash comes from absl::Hash, but its low bits are mixed once more so
  // that the table does not depend on that.
  uint32_t Home(uint64_t hash) const {
    return static_cast<uint32_t>((hash * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
  }
  void Place(uint64_t hash, uint32_t entry) {
    uint32_t i = Home(hash);
    while (slots_[i].entry != 0) i = (i + 1) & mask_;
    slots_[i] = {static_cast<uint32_t>(hash), static_cast<uint32_t>(hash >> 32), entry};
  }
  void Grow() {
    const uint32_t old_capacity = slots_ == nullptr ? 0 : Capacity();
    Slot* const old = slots_;
    const uint32_t capacity = old_capacity == 0 ? kInitialCapacity : old_capacity * 2;
    // Zero-filled memory is a table of empty slots (Slot is all integers).
    slots_ = static_cast<Slot*>(AllocateArray(Bytes(capacity), /*zero=*/true));
    mask_ = capacity - 1;
    for (uint32_t i = 0; i < old_capacity; ++i) {
      if (old[i].entry != 0) Place(old[i].Hash(), old[i].entry);
    }
    FreeArray(old, Bytes(old_capacity));
  }

  Slot* slots_ = nullptr;
  uint32_t size_ = 0;
  uint32_t mask_ = 0;  // capacity - 1 once slots_ is allocated
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_HASH_INDEX_H_
