// Bid increment ladders (RULES.md "Default increment ladder").
#ifndef GAVEL_ENGINE_INCREMENT_H_
#define GAVEL_ENGINE_INCREMENT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/types.h"

namespace gavel {

// inc(x): the step for a price x. Immutable after construction.
class IncrementLadder {
 public:
  // eBay's ladder, in minor units.
  static const IncrementLadder& Default();
  // A per-auction ladder. The first step must start at 0, `from_minor`
  // strictly increasing, every step > 0; else InvalidArgument naming
  // increment_table[i].
  static absl::StatusOr<IncrementLadder> FromTable(const std::vector<IncrementStep>& table);

  // The step for price x (x >= 0). Binary search: called twice per
  // accepted English bid.
  int64_t Step(int64_t x) const {
    size_t lo = 0;  // steps_[lo].from_minor <= x (the first step starts at 0)
    size_t hi = steps_.size();
    while (hi - lo > 1) {
      const size_t mid = (lo + hi) / 2;
      if (steps_[mid].from_minor <= x) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return steps_[lo].step_minor;
  }
  const std::vector<IncrementStep>& steps() const { return steps_; }

 private:
  explicit IncrementLadder(std::vector<IncrementStep> steps) : steps_(std::move(steps)) {}
  std::vector<IncrementStep> steps_;
};

}  // namespace gavel

#endif  // GAVEL_ENGINE_INCREMENT_H_
