// Engine microbenchmarks. Run:
//   build/release/bench/engine_bench --benchmark_min_time=0.5
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/engine.h"

namespace gavel {
namespace {

class Names final : public PrincipalNames {
 public:
  absl::string_view Name(PrincipalId) const override { return "bidder"; }
};

class NullListener final : public EngineListener {
 public:
  void OnEvent(const AuctionEvent&) override {}
  void OnSettlement(std::shared_ptr<const Settlement>) override {}
};

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

AuctionSpec English() {
  AuctionSpec s;
  s.title = "item";
  s.format = Format::kEnglish;
  s.currency = "EUR";
  s.start_price_minor = 100;
  s.starts_at = kT0;
  s.ends_at = kT0 + absl::Hours(24 * 300);
  return s;
}

// English proxy bids on one engine (one shard's worth of work, no ring):
// random bidders over `range(0)` open auctions, each bid a random maximum a
// little above the current minimum, so most are accepted and move the proxy.
void BM_EnglishProxyBid(benchmark::State& state) {
  Names names;
  NullListener listener;
  Engine engine({0, 1}, &names, &listener);
  const int auctions = static_cast<int>(state.range(0));
  std::vector<AuctionId> ids;
  for (int i = 0; i < auctions; ++i) {
    ids.push_back(engine.CreateAuction(0, absl::StrCat("r", i), English(), kT0)->auction_id);
  }
  std::mt19937_64 rng(42);
  std::vector<int64_t> price(auctions, 100);
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back(absl::StrCat("k", i));
  uint64_t n = 0;
  for (auto _ : state) {
    const size_t a = rng() % auctions;
    PlaceBidCommand cmd;
    cmd.auction_id = ids[a];
    cmd.bidder = 1 + static_cast<PrincipalId>(rng() % 1000);
    cmd.client_bid_id = keys[n++ & 4095];
    price[a] += 1 + static_cast<int64_t>(rng() % 500);
    cmd.amount_minor = price[a];
    benchmark::DoNotOptimize(engine.PlaceBid(cmd, kT0));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnglishProxyBid)->Arg(10'000);

}  // namespace
}  // namespace gavel

BENCHMARK_MAIN();
