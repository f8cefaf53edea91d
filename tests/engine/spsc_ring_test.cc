// SpscRing: FIFO order, a full ring refuses, and a producer and a consumer
// on two threads (run under ThreadSanitizer in .ci/run) lose, duplicate and
// reorder nothing, and see what the other wrote through the pointers passed.
#include "engine/spsc_ring.h"

#include <cstdint>
#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace gavel {
namespace {

TEST(SpscRingTest, FifoAndFullAndEmpty) {
  SpscRing<int> ring(3);  // rounded up to 4
  int out = 0;
  EXPECT_TRUE(ring.Empty());
  EXPECT_FALSE(ring.TryPop(&out));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.TryPush(i));
  EXPECT_FALSE(ring.TryPush(99)) << "full";
  for (int lap = 0; lap < 5; ++lap) {  // wrap around several times
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(ring.TryPop(&out));
      EXPECT_EQ(out, lap * 4 + i);
      ASSERT_TRUE(ring.TryPush((lap + 1) * 4 + i));
    }
  }
  EXPECT_FALSE(ring.Empty());
}

TEST(SpscRingTest, TwoThreadsPassEveryValueInOrder) {
  constexpr uint64_t kValues = 200'000;
  // As the shard passes batches: a pointer to memory the producer filled
  // just before the push, which the consumer reads and frees.
  auto ring = std::make_unique<SpscRing<uint64_t*>>(64);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kValues;) {
      auto* v = new uint64_t(i);
      if (ring->TryPush(v)) {
        ++i;
      } else {
        delete v;
      }
    }
  });
  uint64_t next = 0;
  uint64_t* v = nullptr;
  while (next < kValues) {
    if (ring->TryPop(&v)) {
      ASSERT_EQ(*v, next);
      delete v;
      ++next;
    }
  }
  producer.join();
  EXPECT_TRUE(ring->Empty());
}

}  // namespace
}  // namespace gavel
