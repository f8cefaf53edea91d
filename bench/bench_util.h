// What the engine benchmarks share: a random generator cheap enough for a
// timed loop, a principal table and a listener that do nothing, pre-formatted
// idempotency keys, and the fixed clock start.
#ifndef GAVEL_BENCH_BENCH_UTIL_H_
#define GAVEL_BENCH_BENCH_UTIL_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/engine.h"

namespace gavel::bench {

// splitmix64: a few cycles, and the same sequence on every machine and
// compiler (the order stream file depends on it).
inline uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Names final : public PrincipalNames {
 public:
  absl::string_view Name(PrincipalId) const override { return "bidder"; }
};

class NullListener final : public EngineListener {
 public:
  void OnEvent(const AuctionEvent&) override {}
  void OnSettlement(std::shared_ptr<const Settlement>) override {}
};

inline const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
inline constexpr PrincipalId kSeller = 0;
inline constexpr uint32_t kBidders = 1000;  // bidder ids 1..kBidders

// `count` distinct idempotency keys "k<i>", pre-formatted into one buffer so
// the timed loop neither allocates nor formats.
class KeyPool {
 public:
  explicit KeyPool(size_t count) : text_(count * kStride), length_(count) {
    for (size_t i = 0; i < count; ++i) {
      char* slot = &text_[i * kStride];
      slot[0] = 'k';
      const std::string digits = absl::StrCat(i);
      std::memcpy(slot + 1, digits.data(), digits.size());
      length_[i] = static_cast<uint8_t>(1 + digits.size());
    }
  }
  absl::string_view operator[](size_t i) const {
    return absl::string_view(&text_[i * kStride], length_[i]);
  }
  size_t size() const { return length_.size(); }

 private:
  static constexpr size_t kStride = 24;
  std::vector<char> text_;
  std::vector<uint8_t> length_;
};

}  // namespace gavel::bench

#endif  // GAVEL_BENCH_BENCH_UTIL_H_
