#include "engine/allocation.h"

#include <algorithm>

namespace gavel {

bool RanksBefore(RankOrder order, const SealedBid& a, const SealedBid& b) {
  switch (order) {
    case RankOrder::kHighestThenEarlier:
      if (a.price_minor != b.price_minor) return a.price_minor > b.price_minor;
      break;
    case RankOrder::kHighestThenLargerThenEarlier:
      if (a.price_minor != b.price_minor) return a.price_minor > b.price_minor;
      if (a.quantity != b.quantity) return a.quantity > b.quantity;
      break;
    case RankOrder::kLowestThenEarlier:
      if (a.price_minor != b.price_minor) return a.price_minor < b.price_minor;
      break;
  }
  return a.entry < b.entry;
}

void RankBids(RankOrder order, std::vector<SealedBid>* bids) {
  std::sort(bids->begin(), bids->end(),
            [order](const SealedBid& a, const SealedBid& b) { return RanksBefore(order, a, b); });
}

void Allocate(RankOrder order, const std::vector<SealedBid>& ranked, int64_t supply,
              int64_t limit_minor, std::vector<Allocation>* out) {
  const bool reverse = order == RankOrder::kLowestThenEarlier;
  int64_t left = supply;
  for (size_t i = 0; i < ranked.size() && left > 0; ++i) {
    const int64_t price = ranked[i].price_minor;
    if (limit_minor > 0 && (reverse ? price > limit_minor : price < limit_minor)) {
      // Ranked: every later bid misses the limit too.
      break;
    }
    const int64_t units = std::min(left, ranked[i].quantity);
    out->push_back({i, units});
    left -= units;
  }
}

int64_t CommonPrice(const std::vector<CloseOutcome::Award>& awards) {
  if (awards.empty()) return 0;
  for (const CloseOutcome::Award& a : awards) {
    if (a.price_minor != awards.front().price_minor) return 0;
  }
  return awards.front().price_minor;
}

}  // namespace gavel
