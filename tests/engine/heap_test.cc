// RetainFreedMemory: big blocks come from the heap and stay there once
// freed, where glibc's defaults would map each on its own and unmap it.
// Its own executable (and ctest runs each test in a fresh process), so the
// allocator starts from glibc's defaults.
#include "engine/heap.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

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
  // Control, with glibc's defaults: an 8 MiB block is a mapping of its own.
  // (Freeing it raises glibc's dynamic threshold to 8 MiB, so the 16 MiB
  // blocks below would be mappings too without the settings.)
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

}  // namespace
}  // namespace gavel
