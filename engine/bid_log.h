// One auction's in-memory bid log: every bid that reached the auction while
// it was open, accepted or refused by the rules, in arrival order. Owned by
// the auction's shard thread; no synchronisation.
#ifndef GAVEL_ENGINE_BID_LOG_H_
#define GAVEL_ENGINE_BID_LOG_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "absl/time/time.h"
#include "engine/heap.h"
#include "engine/types.h"

namespace gavel {

// The most entries one auction's bid log holds (PlaceBid refuses more with
// RESOURCE_EXHAUSTED): keeps entry numbers, BidLog's capacity and the key
// index's slots well inside 32 bits.
inline constexpr size_t kMaxBidsPerAuction = size_t{1} << 30;

// One entry of the in-memory bid log, in 48 bytes: names are resolved only
// when the settlement is built, and an accepted bid's kBidAccepted event is
// rebuilt from its entry (Auction::ForEachEvent) rather than stored. Bit
// fields hold what has fewer bits than its type: a shard's sequence numbers
// stay below 2^55 (114 years at 10 M a second), quantities below 2^30
// (PlaceBid accepts 1..1e9).
struct BidEntry {
  Sequence sequence : 55 = 0;
  bool leading_after : 1 = false;  // for idempotent replays of the answer
  RejectReason result : 8 = RejectReason::kNone;
  int64_t at_micros = 0;  // unix microseconds, as settlements and the audit keep it
  int64_t amount_minor = 0;
  int64_t price_after_minor = 0;  // 0 in sealed formats
  uint32_t quantity : 30 = 0;
  Side side : 2 = Side::kNone;
  PrincipalId bidder = kNoPrincipal;

  absl::Time at() const { return absl::FromUnixMicros(at_micros); }
  // Refused: the minimum that applied (BID_TOO_LOW; in reverse formats the
  // most a bid could be), else 0.
  int64_t minimum_minor() const { return result == RejectReason::kNone ? 0 : detail_; }
  // Accepted, not sealed: the leader after it, else kNoPrincipal.
  PrincipalId leader_after() const {
    return result == RejectReason::kNone ? static_cast<PrincipalId>(detail_) : kNoPrincipal;
  }
  // Sets the result with the detail that goes with it.
  void SetRefused(RejectReason reason, int64_t minimum_minor) {
    result = reason;
    detail_ = minimum_minor;
  }
  void SetAccepted(PrincipalId leader_after) {
    result = RejectReason::kNone;
    detail_ = leader_after;
  }

 private:
  int64_t detail_ = kNoPrincipal;  // minimum_minor (refused) or leader_after (accepted)
};

static_assert(std::is_trivially_copyable_v<BidEntry>);
static_assert(sizeof(BidEntry) == 48);

// A vector of BidEntry in 16 bytes instead of 24 (32-bit size and capacity:
// entries are numbered in 32 bits anyway); every open auction has one. It
// doubles when full, copying with memcpy (BidEntry is trivially copyable);
// once large (AllocateArray: huge pages), it grows by moving its pages.
// Growing by a quarter instead saved 10 % of the memory per bid but cost
// about 12 % of the English bid rate (more reallocations and copies), and
// by half cost both (BENCHMARKS.md, third round).
class BidLog {
 public:
  BidLog() = default;
  ~BidLog() { FreeArray(data_, size_t{capacity_} * sizeof(BidEntry)); }
  BidLog(const BidLog&) = delete;
  BidLog& operator=(const BidLog&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  const BidEntry& operator[](size_t i) const { return data_[i]; }
  BidEntry& operator[](size_t i) { return data_[i]; }
  const BidEntry* begin() const { return data_; }
  const BidEntry* end() const { return data_ + size_; }

  // Starts loading the last entry and the place of the next one (a hint).
  void PrefetchTail() const {
    if (size_ > 0) __builtin_prefetch(data_ + size_ - 1);
    if (size_ < capacity_) __builtin_prefetch(data_ + size_, /*rw=*/1);
  }

  // Appends a default entry and returns it.
  BidEntry& emplace_back() {
    if (size_ == capacity_) Grow();
    return *new (data_ + size_++) BidEntry();
  }

 private:
  void Grow() {
    const uint32_t capacity = static_cast<uint32_t>(
        std::min<uint64_t>(UINT32_MAX, capacity_ < 4 ? 4 : uint64_t{capacity_} * 2));
    data_ = static_cast<BidEntry*>(GrowArray(data_, size_t{capacity_} * sizeof(BidEntry),
                                             size_t{size_} * sizeof(BidEntry),
                                             size_t{capacity} * sizeof(BidEntry)));
    capacity_ = capacity;
  }

  BidEntry* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_BID_LOG_H_
