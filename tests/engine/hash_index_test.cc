// HashIndex: every key inserted is found with its entry, across growth;
// keys never inserted are not found, also when they share a slot or the
// low 32 bits with one that was.
#include "engine/hash_index.h"

#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>

#include "gtest/gtest.h"

namespace gavel {
namespace {

TEST(HashIndexTest, EmptyFindsNothingAndAllocatesNothing) {
  HashIndex t;
  EXPECT_EQ(t.Find(0), 0u);
  EXPECT_EQ(t.Find(42), 0u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.capacity(), 0u);
}

// 300 000 keys: the table grows past kLargeArrayBytes into a mapping of
// its own (engine/heap.h) on the way.
TEST(HashIndexTest, FindsEveryKeyWithItsEntryAcrossGrowth) {
  const size_t large_before = LargeArrayBytes();
  auto owned = std::make_unique<HashIndex>();
  HashIndex& t = *owned;
  std::mt19937_64 rng(7);
  std::unordered_map<uint64_t, uint32_t> want;
  for (uint32_t entry = 1; entry <= 300'000; ++entry) {
    uint64_t h = rng();
    while (want.count(h) != 0) h = rng();
    ASSERT_EQ(t.Find(h), 0u);
    t.Insert(h, entry);
    want[h] = entry;
    if (entry % 9973 == 0) {  // now and then, everything so far
      for (const auto& [key, e] : want) ASSERT_EQ(t.Find(key), e);
    }
  }
  EXPECT_EQ(t.size(), want.size());
  EXPECT_LE(t.size(), t.capacity() / 8 * 7);
  for (const auto& [key, e] : want) ASSERT_EQ(t.Find(key), e);
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t h = rng();
    if (want.count(h) == 0) {
      ASSERT_EQ(t.Find(h), 0u);
    }
  }
  EXPECT_GE(t.capacity() * 12, kLargeArrayBytes);
  EXPECT_GE(LargeArrayBytes(), large_before + t.capacity() * 12);
  owned.reset();
  EXPECT_EQ(LargeArrayBytes(), large_before);  // given back
}

// Keys that differ only in their high 32 bits, or only in one low bit, are
// distinct keys: all 64 bits decide.
TEST(HashIndexTest, KeysDifferingInAnyBitAreDistinct) {
  HashIndex t;
  t.Insert(0x0000'0001'0000'0005ull, 1);
  t.Insert(0x0000'0002'0000'0005ull, 2);
  t.Insert(0x0000'0001'0000'0004ull, 3);
  t.Insert(0, 4);  // hash 0 is a key like any other
  EXPECT_EQ(t.Find(0x0000'0001'0000'0005ull), 1u);
  EXPECT_EQ(t.Find(0x0000'0002'0000'0005ull), 2u);
  EXPECT_EQ(t.Find(0x0000'0001'0000'0004ull), 3u);
  EXPECT_EQ(t.Find(0), 4u);
  EXPECT_EQ(t.Find(0x0000'0003'0000'0005ull), 0u);
  EXPECT_EQ(t.Find(0x0000'0001'0000'0006ull), 0u);
}

}  // namespace
}  // namespace gavel
