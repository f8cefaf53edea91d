#include "engine/heap.h"

#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace gavel {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kPage = 4096;

std::atomic<size_t> g_large_bytes{0};
std::atomic<bool> g_huge_pages{true};
std::atomic<uint64_t> g_large_moves{0};

size_t PageRound(size_t bytes) { return (bytes + kPage - 1) & ~(kPage - 1); }

// `length` (page-rounded) bytes of fresh anonymous memory starting on a
// 2 MiB boundary: a huge page more is mapped, then the unaligned head and
// the tail are given back.
void* MapAligned(size_t length) {
  void* raw = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + length + kHugePage;
  if (end > aligned + length) {
    munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
  }
  return reinterpret_cast<void*>(aligned);
}

// Without transparent huge pages (THP "never", or a kernel without them)
// madvise fails and the array simply keeps 4 KiB pages.
void AdviseHugePages(void* p, size_t length) {
  if (g_huge_pages.load(std::memory_order_relaxed)) madvise(p, length, MADV_HUGEPAGE);
}

}  // namespace

void* AllocateArray(size_t bytes, bool zero) {
  if (bytes < kLargeArrayBytes) {
    void* p = ::operator new(bytes);
    if (zero) std::memset(p, 0, bytes);
    return p;
  }
  const size_t length = PageRound(bytes);
  void* p = MapAligned(length);  // fresh anonymous memory reads as zeros
  if (p == nullptr) throw std::bad_alloc();
  AdviseHugePages(p, length);
  g_large_bytes.fetch_add(length, std::memory_order_relaxed);
  return p;
}

void* GrowArray(void* p, size_t old_bytes, size_t used_bytes, size_t new_bytes) {
  assert(used_bytes <= old_bytes && old_bytes <= new_bytes);
  if (p != nullptr && old_bytes >= kLargeArrayBytes) {
    // Move the pages, not the bytes, into an aligned place (MREMAP_FIXED
    // replaces the reservation), so that huge pages move whole.
    const size_t old_length = PageRound(old_bytes);
    const size_t new_length = PageRound(new_bytes);
    if (void* dest = MapAligned(new_length); dest != nullptr) {
      void* moved = mremap(p, old_length, new_length, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
      if (moved != MAP_FAILED) {
        AdviseHugePages(moved, new_length);
        g_large_bytes.fetch_add(new_length - old_length, std::memory_order_relaxed);
        g_large_moves.fetch_add(1, std::memory_order_relaxed);
        return moved;
      }
      // The kernel may have unmapped the reservation before failing, and
      // another thread may have mapped that range since: never munmap it.
      // At worst our own untouched reservation stays, on a path that
      // should not happen; the array is copied instead.
    }
  }
  void* grown = AllocateArray(new_bytes, /*zero=*/false);
  if (used_bytes > 0) std::memcpy(grown, p, used_bytes);
  FreeArray(p, old_bytes);
  return grown;
}

void FreeArray(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kLargeArrayBytes) {
    ::operator delete(p);
    return;
  }
  const size_t length = PageRound(bytes);
  munmap(p, length);
  g_large_bytes.fetch_sub(length, std::memory_order_relaxed);
}

size_t LargeArrayBytes() { return g_large_bytes.load(std::memory_order_relaxed); }

uint64_t LargeArrayMoves() { return g_large_moves.load(std::memory_order_relaxed); }

void SetHugePagesForLargeArrays(bool on) { g_huge_pages.store(on, std::memory_order_relaxed); }

absl::Status RetainFreedMemory(size_t retain_bytes) {
  if (retain_bytes == 0) return absl::OkStatus();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // A sanitizer's allocator replaces glibc's malloc (ASan's mallopt refuses
  // everything); there is nothing to set.
  return absl::OkStatus();
#endif
  // glibc refuses an mmap threshold above HEAP_MAX_SIZE / 2 (32 MiB on
  // 64-bit); setting either value also ends its dynamic adjustment.
  constexpr int kMmapThreshold = 32 << 20;
  const int trim = static_cast<int>(std::min<size_t>(retain_bytes, INT_MAX));
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, trim) != 1) {
    return absl::InternalError(absl::StrCat("malloc refused the settings (mmap threshold ",
                                            kMmapThreshold, " B, trim threshold ", trim, " B)"));
  }
  return absl::OkStatus();
}

absl::Status ConfigureHeap(uint64_t retain_mb, bool huge_pages) {
  SetHugePagesForLargeArrays(huge_pages);
  return RetainFreedMemory(std::min<uint64_t>(retain_mb, uint64_t{1} << 20) << 20);
}

}  // namespace gavel
