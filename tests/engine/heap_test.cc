// RetainFreedMemory: big blocks come from the heap and stay there once
// freed, where glibc's defaults would map each on its own and unmap it.
// AllocateArray: large arrays are 2 MiB-aligned mappings of their own,
// marked for huge pages, and given back when freed.
// Its own executable (and ctest runs each test in a fresh process), so the
// allocator starts from glibc's defaults.
#include "engine/heap.h"

#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "engine/bid_log.h"
#include "gtest/gtest.h"

namespace gavel {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Allocates and writes `bytes`; the asm keeps the compiler from eliding the
// pair of malloc and free.
void* Touch(size_t bytes) {
  void* p = std::malloc(bytes);
  if (p != nullptr) std::memset(p, 1, bytes);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

size_t MappedBytes() { return mallinfo2().hblkhd; }

TEST(HeapTest, FreedBlocksStayInTheHeapForReuse) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "a sanitizer's allocator replaces glibc's malloc";
#endif
  // Control, with glibc's default thresholds (set here, so that the test
  // does not depend on what ran before it in this process): an 8 MiB block
  // is a mapping of its own, and so would the 16 MiB blocks below be
  // without RetainFreedMemory.
  ASSERT_EQ(mallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
  ASSERT_EQ(mallopt(M_TRIM_THRESHOLD, 128 * 1024), 1);
  malloc_trim(0);  // and give back free heap memory an earlier run left
  const size_t mapped0 = MappedBytes();
  void* control = Touch(8 * kMiB);
  ASSERT_NE(control, nullptr);
  EXPECT_GE(MappedBytes(), mapped0 + 8 * kMiB);
  std::free(control);

  ASSERT_TRUE(RetainFreedMemory(kDefaultMallocRetainBytes).ok());
  const size_t mapped = MappedBytes();
  void* a = Touch(16 * kMiB);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(MappedBytes(), mapped) << "the block should come from the heap";
  std::free(a);
  EXPECT_GE(mallinfo2().fordblks, 16 * kMiB) << "the freed block should stay in the heap";

  // The next block of that size reuses it: the heap does not grow.
  const size_t arena = mallinfo2().arena;
  void* b = Touch(16 * kMiB);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(mallinfo2().arena, arena);
  EXPECT_EQ(MappedBytes(), mapped);
  std::free(b);
}

TEST(HeapTest, ZeroLeavesTheDefaults) { EXPECT_TRUE(RetainFreedMemory(0).ok()); }

// Whether this kernel has transparent huge pages at all (MADV_HUGEPAGE then
// marks the mapping, whatever mode the system has chosen).
bool KernelHasHugePages() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  return f.good();
}

// The smaps block of the mapping that contains `p`.
std::string SmapsOf(const void* p) {
  std::ifstream f("/proc/self/smaps");
  const uintptr_t at = reinterpret_cast<uintptr_t>(p);
  std::string line;
  std::string block;
  bool in = false;
  while (std::getline(f, line)) {
    uintptr_t lo = 0;
    uintptr_t hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      if (in) break;
      in = lo <= at && at < hi;
    }
    if (in) block += line + "\n";
  }
  return block;
}

TEST(HeapTest, LargeArraysAreAlignedZeroedHugePageMappingsGivenBackWhenFreed) {
  const size_t before = LargeArrayBytes();
  const size_t bytes = 5 * kMiB + 100;
  auto* p = static_cast<unsigned char*>(AllocateArray(bytes, /*zero=*/false));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (2 * kMiB), 0u) << "2 MiB-aligned";
  for (size_t i = 0; i < bytes; i += 4096) ASSERT_EQ(p[i], 0) << i;  // fresh: zeros
  EXPECT_EQ(p[bytes - 1], 0);
  std::memset(p, 7, bytes);  // all of it is writable
  EXPECT_EQ(LargeArrayBytes(), before + 5 * kMiB + 4096);
  const std::string smaps = SmapsOf(p);
  ASSERT_FALSE(smaps.empty());
  if (KernelHasHugePages()) {
    // VmFlags "hg": marked with MADV_HUGEPAGE.
    const size_t flags = smaps.find("VmFlags:");
    ASSERT_NE(flags, std::string::npos) << smaps;
    EXPECT_NE(smaps.find(" hg", flags), std::string::npos) << smaps;
  }
  FreeArray(p, bytes);
  EXPECT_EQ(LargeArrayBytes(), before);
  EXPECT_TRUE(SmapsOf(p).empty()) << "the mapping is gone";
}

TEST(HeapTest, HugePagesOffLeavesLargeArraysUnmarked) {
  SetHugePagesForLargeArrays(false);
  void* p = AllocateArray(4 * kMiB, /*zero=*/false);
  const std::string smaps = SmapsOf(p);
  SetHugePagesForLargeArrays(true);
  const size_t flags = smaps.find("VmFlags:");
  ASSERT_NE(flags, std::string::npos) << smaps;
  EXPECT_EQ(smaps.find(" hg", flags), std::string::npos) << smaps;
  FreeArray(p, 4 * kMiB);
}

TEST(HeapTest, SmallArraysComeFromTheHeapZeroedWhenAsked) {
  const size_t before = LargeArrayBytes();
  auto* p = static_cast<unsigned char*>(AllocateArray(1000, /*zero=*/true));
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(p[i], 0) << i;
  EXPECT_EQ(LargeArrayBytes(), before);
  FreeArray(p, 1000);
  FreeArray(nullptr, 0);
}

// Small to large (a copy), then large to larger (pages moved): the used
// bytes survive, the result is 2 MiB-aligned and counted, the old mapping
// is gone.
TEST(HeapTest, GrowArrayKeepsTheUsedBytesAndMovesLargeArraysWhole) {
  const size_t before = LargeArrayBytes();
  auto* p = static_cast<uint32_t*>(AllocateArray(kMiB, /*zero=*/false));
  for (uint32_t i = 0; i < kMiB / 4; ++i) p[i] = i * 2654435761u;
  p = static_cast<uint32_t*>(GrowArray(p, kMiB, kMiB, 3 * kMiB));  // small -> large
  EXPECT_EQ(LargeArrayBytes(), before + 3 * kMiB);
  for (uint32_t i = kMiB / 4; i < 3 * kMiB / 4; ++i) p[i] = i * 2654435761u;
  void* old = p;
  const uint64_t moves = LargeArrayMoves();
  p = static_cast<uint32_t*>(GrowArray(p, 3 * kMiB, 3 * kMiB, 8 * kMiB));  // large -> large
  EXPECT_EQ(LargeArrayMoves(), moves + 1) << "pages moved, not bytes copied";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (2 * kMiB), 0u);
  EXPECT_EQ(LargeArrayBytes(), before + 8 * kMiB);
  EXPECT_TRUE(SmapsOf(old).empty()) << "the old place is unmapped";
  for (uint32_t i = 0; i < 3 * kMiB / 4; ++i) ASSERT_EQ(p[i], i * 2654435761u) << i;
  for (uint32_t i = 3 * kMiB / 4; i < 2 * kMiB; ++i) p[i] = 1;  // the rest is writable
  if (KernelHasHugePages()) {
    const std::string smaps = SmapsOf(p);
    EXPECT_NE(smaps.find(" hg", smaps.find("VmFlags:")), std::string::npos) << smaps;
  }
  FreeArray(p, 8 * kMiB);
  EXPECT_EQ(LargeArrayBytes(), before);
}

// A bid log that grows across kLargeArrayBytes keeps every entry.
TEST(HeapTest, ABidLogKeepsItsEntriesAsItGrowsIntoALargeArray) {
  BidLog log;
  constexpr uint32_t kEntries = 300'000;  // 300 000 x 48 B: past 2 MiB, then moved twice
  for (uint32_t i = 0; i < kEntries; ++i) {
    BidEntry& e = log.emplace_back();
    e.sequence = i + 1;
    e.amount_minor = 1000 + i;
    e.bidder = i % 77;
  }
  ASSERT_EQ(log.size(), kEntries);
  EXPECT_GE(log.capacity() * sizeof(BidEntry), kLargeArrayBytes);
  for (uint32_t i = 0; i < kEntries; ++i) {
    ASSERT_EQ(log[i].sequence, i + 1);
    ASSERT_EQ(log[i].amount_minor, 1000 + i);
    ASSERT_EQ(log[i].bidder, i % 77);
  }
}

}  // namespace
}  // namespace gavel
