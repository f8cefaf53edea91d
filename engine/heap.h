// How the process's allocator treats memory the engine frees. A shard grows
// bid logs, key indexes and order books while auctions run and frees them
// when they settle; with glibc's defaults, every block from 128 KiB up is a
// private mapping that goes back to the kernel when freed, and a free heap
// top beyond 128 KiB is trimmed, so the next auction's growth faults fresh,
// zeroed pages in again (a page fault per 4 KiB) and copies its log into
// them. RetainFreedMemory keeps freed memory in the heap for reuse instead.
// Measured in BENCHMARKS.md (fifth round): the double-auction stream through
// the engine runs about 6 % faster (median of an A/B), English bids over 10k
// auctions about 4 %.
#ifndef GAVEL_ENGINE_HEAP_H_
#define GAVEL_ENGINE_HEAP_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace gavel {

// Default for gavel-server's --malloc_retain_mb.
inline constexpr size_t kDefaultMallocRetainBytes = size_t{256} << 20;

// The engine's largest arrays, a big auction's bid log and key index (and a
// double auction's order records and book nodes, through ArrayAllocator),
// are read at random places (a key probe per bid, a resting order's entry), and
// on a large book the address translations miss as often as the caches.
// From kLargeArrayBytes up, such an array gets a mapping of its own, aligned
// to 2 MiB and marked for transparent huge pages (MADV_HUGEPAGE; Debian's
// default THP mode, `madvise`, grants them only where asked), and goes back
// to the kernel when freed. One mapping per array keeps the count of
// mappings small (at most memory / 2 MiB); marking ranges of malloc's heap
// instead would split it into ever more. Smaller arrays use operator new.
// Thread-safe (the shards allocate at once); the byte count is one relaxed
// atomic.
inline constexpr size_t kLargeArrayBytes = size_t{2} << 20;

// `bytes` of memory for an array, zero-filled when `zero`. Throws
// std::bad_alloc when none is left, as operator new does.
void* AllocateArray(size_t bytes, bool zero);
// Frees what AllocateArray(bytes, ...) returned (null: nothing).
void FreeArray(void* p, size_t bytes);
// Grows what AllocateArray(old_bytes, ...) returned (or null) to new_bytes,
// keeping its first `used_bytes`, and returns the new place (the old one is
// gone). A large array moves its pages with mremap: nothing is copied and no
// fresh page is zeroed for the part already there. The rest of the new
// array is not initialised. REQUIRES: used_bytes <= old_bytes <= new_bytes.
void* GrowArray(void* p, size_t old_bytes, size_t used_bytes, size_t new_bytes);
// Bytes in large-array mappings now, for the memory benchmarks (malloc's
// counters do not see them).
size_t LargeArrayBytes();
// How many times GrowArray moved a large array's pages (rather than copying
// its bytes): for tests and diagnostics.
uint64_t LargeArrayMoves();
// Whether large arrays are marked for huge pages (default true; gavel-server
// --huge_pages). Applies to arrays allocated afterwards. A huge page costs a
// pause the first time it is touched (the kernel finds and zeroes 2 MiB).
void SetHugePagesForLargeArrays(bool on);

// An allocator for std::vector that takes its memory from AllocateArray:
// the same huge pages for a big auction's by-entry vectors (a double
// auction's order records and book nodes).
template <typename T>
struct ArrayAllocator {
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  using value_type = T;
  ArrayAllocator() = default;
  template <typename U>
  ArrayAllocator(const ArrayAllocator<U>& /*other*/) {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) { return static_cast<T*>(AllocateArray(n * sizeof(T), /*zero=*/false)); }
  void deallocate(T* p, size_t n) { FreeArray(p, n * sizeof(T)); }
  friend bool operator==(const ArrayAllocator&, const ArrayAllocator&) { return true; }
};

// Process-wide (glibc mallopt): blocks below 32 MiB (glibc's most) come from
// the heap instead of their own mappings, and up to `retain_bytes` of free
// memory at the heap's top is kept rather than returned to the kernel. The
// cost is a resident size that stays near its peak. Call it once, early,
// before other threads allocate. `retain_bytes` 0 leaves glibc's defaults.
// Under a sanitizer (its own allocator) it does nothing.
absl::Status RetainFreedMemory(size_t retain_bytes);

// What gavel-server's --malloc_retain_mb and --huge_pages set (and
// engine_bench's GAVEL_MALLOC_RETAIN_MB and GAVEL_HUGE_PAGES):
// RetainFreedMemory(retain_mb MiB, clamped to 1 TiB before the shift;
// malloc's own limit is 2 GiB) and SetHugePagesForLargeArrays(huge_pages).
absl::Status ConfigureHeap(uint64_t retain_mb, bool huge_pages);

}  // namespace gavel

#endif  // GAVEL_ENGINE_HEAP_H_
