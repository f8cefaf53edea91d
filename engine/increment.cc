#include "engine/increment.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gavel {

const IncrementLadder& IncrementLadder::Default() {
  static const IncrementLadder* const kDefault = new IncrementLadder({
      {0, 5},
      {100, 25},
      {500, 50},
      {2500, 100},
      {10000, 250},
      {25000, 500},
      {50000, 1000},
      {100000, 2500},
      {250000, 5000},
      {500000, 10000},
  });
  return *kDefault;
}

absl::StatusOr<IncrementLadder> IncrementLadder::FromTable(
    const std::vector<IncrementStep>& table) {
  if (table.empty()) return Default();
  if (table.size() > 64) {
    return absl::InvalidArgumentError("increment_table: at most 64 steps");
  }
  for (size_t i = 0; i < table.size(); ++i) {
    const IncrementStep& s = table[i];
    if (i == 0 && s.from_minor != 0) {
      return absl::InvalidArgumentError("increment_table[0].from_minor: the first step must start at 0");
    }
    if (i > 0 && s.from_minor <= table[i - 1].from_minor) {
      return absl::InvalidArgumentError(absl::StrCat(
          "increment_table[", i, "].from_minor: steps must be in strictly increasing order"));
    }
    if (s.step_minor <= 0 || s.step_minor > 1'000'000'000'000) {
      return absl::InvalidArgumentError(
          absl::StrCat("increment_table[", i, "].step_minor: must be between 1 and 1000000000000"));
    }
  }
  return IncrementLadder(table);
}

}  // namespace gavel
