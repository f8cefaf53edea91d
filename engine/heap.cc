#include "engine/heap.h"

#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
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

size_t PageRound(size_t bytes) { return (bytes + kPage - 1) & ~(kPage - 1); }

}  // namespace

void* AllocateArray(size_t bytes, bool zero) {
  if (bytes < kLargeArrayBytes) {
    void* p = ::operator new(bytes);
    if (zero) std::memset(p, 0, bytes);
    return p;
  }
  // Map a huge page more than needed, then give back the unaligned head and
  // the tail, so that the array starts on a 2 MiB boundary. Fresh anonymous
  // memory reads as zeros.
  const size_t length = PageRound(bytes);
  void* raw = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + length + kHugePage;
  if (end > aligned + length) munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
  void* p = reinterpret_cast<void*>(aligned);
  // Without transparent huge pages (THP "never", or a kernel without them)
  // this fails and the array simply keeps 4 KiB pages.
  if (g_huge_pages.load(std::memory_order_relaxed)) madvise(p, length, MADV_HUGEPAGE);
  g_large_bytes.fetch_add(length, std::memory_order_relaxed);
  return p;
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

void SetHugePagesForLargeArrays(bool on) { g_huge_pages.store(on, std::memory_order_relaxed); }

absl::Status RetainFreedMemory(size_t retain_bytes) {
  if (retain_bytes == 0) return absl::OkStatus();
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

}  // namespace gavel
