// SpscRing: FIFO order, a full ring refuses, slots built lazily on the first
// lap and destroyed exactly once, and a producer and a consumer on two
// threads (run under ThreadSanitizer in .ci/run) lose, duplicate and reorder
// nothing.
#include "engine/spsc_ring.h"

#include <cstdint>
#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace gavel {
namespace {

// Counts live objects, so that the test sees what the ring constructs.
struct Counted {
  static inline int live = 0;
  Counted() { ++live; }
  explicit Counted(uint64_t v) : value(v) { ++live; }
  Counted(const Counted& o) : value(o.value) { ++live; }
  Counted& operator=(const Counted& o) = default;
  ~Counted() { --live; }
  uint64_t value = 0;
};

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

TEST(SpscRingTest, SlotsAreBuiltOnTheFirstLapAndDestroyedOnce) {
  Counted::live = 0;
  {
    SpscRing<Counted> ring(4096);
    EXPECT_EQ(Counted::live, 0) << "nothing is built up front";
    for (uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(ring.TryPush(Counted(i)));
    EXPECT_EQ(Counted::live, 3);
    Counted out;  // +1
    ASSERT_TRUE(ring.TryPop(&out));
    EXPECT_EQ(out.value, 0u);
    EXPECT_EQ(Counted::live, 4);  // the popped slot stays built
  }
  EXPECT_EQ(Counted::live, 0);
  {
    SpscRing<Counted> ring(4);
    Counted out;
    for (uint64_t i = 0; i < 10; ++i) {  // past the first lap
      ASSERT_TRUE(ring.TryPush(Counted(i)));
      ASSERT_TRUE(ring.TryPop(&out));
      ASSERT_EQ(out.value, i);
    }
    EXPECT_EQ(Counted::live, 5);  // four slots and `out`
  }
  EXPECT_EQ(Counted::live, 0);
}

TEST(SpscRingTest, TwoThreadsPassEveryValueInOrder) {
  constexpr uint64_t kValues = 200'000;
  auto ring = std::make_unique<SpscRing<std::shared_ptr<uint64_t>>>(64);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kValues;) {
      if (ring->TryPush(std::make_shared<uint64_t>(i))) ++i;
    }
  });
  uint64_t next = 0;
  std::shared_ptr<uint64_t> v;
  while (next < kValues) {
    if (ring->TryPop(&v)) {
      ASSERT_EQ(*v, next);
      ++next;
    }
  }
  producer.join();
  EXPECT_TRUE(ring->Empty());
}

}  // namespace
}  // namespace gavel
