// Placement rates of every format but ENGLISH's proxy (that one is
// BM_EnglishProxyBid in engine_bench.cc), and the double-auction order
// stream replay. Linked into engine_bench (one binary, one main, one counting
// allocator); figures and commands in BENCHMARKS.md. Run:
//   build/h-fmt/bench/engine_bench --benchmark_filter='Format|DoubleStream'
//
// - BM_FormatPlaceBid/format:F: Engine::PlaceBid alone, one engine, 10k open
//   auctions of format F (the gavel.v1.Format number), random bidders (of
//   1000), unique client_bid_ids, amounts a bidder of that format would send
//   and that are nearly all accepted (see FormatBid). ENGLISH is included to
//   compare within one run.
// - BM_DoubleStreamEngine: the seeded order stream (bench/order_stream.h)
//   replayed into one DOUBLE_CONTINUOUS auction of one Engine: O lines
//   through Engine::PlaceBid, C lines through Engine::CancelBid (the stream's
//   order number mapped to the bid log entry PlaceBid returned). One
//   iteration = the whole stream into a fresh engine; items = ops (orders
//   and cancels). The end state is checked against the stream's "expect"
//   line (trades, volume, resting orders and units). prefetch:1 hints the
//   next order to the engine first (Engine::PrefetchBid), as the shard does.
// - BM_DoubleStreamBook: the same stream into a ContinuousDoubleAuction
//   alone (no Engine: no bid log, idempotency map, events or BidResult):
//   what the order book and matching cost by themselves.
//
// The stream file is $GAVEL_ORDER_STREAM, else orderstream-42-1000000.txt
// beside this executable; it is generated when missing.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/order_stream.h"
#include "benchmark/benchmark.h"
#include "engine/double_auction.h"
#include "engine/engine.h"

namespace gavel {
namespace {

using bench::kBidders;
using bench::KeyPool;
using bench::kSeller;
using bench::kT0;
using bench::Names;
using bench::NextRandom;
using bench::NullListener;

// ---------------------------------------------------------------------------
// Per-format placement.

// An auction of `format` open from kT0 for 300 days, with what that format
// requires: DUTCH 10^9 units on a slow clock (it never sells out or ticks in
// the run); MULTI_UNIT_* 100 units; REVERSE_* opening at 1 000 000.00.
AuctionSpec SpecFor(Format format) {
  AuctionSpec s;
  s.title = "item";
  s.format = format;
  s.currency = "EUR";
  s.start_price_minor = 10'000;
  s.starts_at = kT0;
  s.ends_at = kT0 + absl::Hours(24 * 300);
  switch (format) {
    case Format::kDutch:
      s.quantity = 1'000'000'000;
      s.start_price_minor = 100'000;
      s.dutch.decrement_minor = 100;
      s.dutch.tick_interval = absl::Hours(1);
      s.dutch.floor_price_minor = 1'000;
      break;
    case Format::kMultiUnitUniform:
    case Format::kMultiUnitPayAsBid:
      s.quantity = 100;
      break;
    case Format::kReverseEnglish:
    case Format::kReverseSealed:
      s.start_price_minor = 100'000'000;
      break;
    default:
      break;
  }
  return s;
}

// One bid as a bidder of that format would send it, against auction `a`:
// - ENGLISH: just above the current minimum (up to ~3 % more);
// - DUTCH: 1 unit at up to ~3 % above the clock's price (pays the price);
// - SEALED_*, REVERSE_SEALED: uniform in [start, 2 start] (reverse: in
//   [start / 2, start]); a bidder's later bid replaces their earlier one;
// - MULTI_UNIT_*: price uniform in [start, 2 start], 1-10 units;
// - REVERSE_ENGLISH: 0-1 % below the most a bid may be now;
// - DOUBLE_CALL: a buy or sell limit order within +-1 % of 100.00, 1-10 units.
void FormatBid(Format format, const Auction& a, uint64_t r, PlaceBidCommand* cmd) {
  const int64_t start = a.spec().start_price_minor;
  const uint64_t hi = r >> 40;
  switch (format) {
    case Format::kEnglish: {
      const int64_t minimum = a.NextMinimum();
      cmd->amount_minor =
          minimum + static_cast<int64_t>(hi % static_cast<uint64_t>(minimum / 32 + 1));
      break;
    }
    case Format::kDutch: {
      const int64_t price = a.CurrentPrice();
      cmd->amount_minor = price + static_cast<int64_t>(hi % static_cast<uint64_t>(price / 32 + 1));
      break;
    }
    case Format::kSealedFirstPrice:
    case Format::kSealedSecondPrice:
      cmd->amount_minor = start + static_cast<int64_t>(hi % static_cast<uint64_t>(start + 1));
      break;
    case Format::kMultiUnitUniform:
    case Format::kMultiUnitPayAsBid:
      cmd->amount_minor = start + static_cast<int64_t>(hi % static_cast<uint64_t>(start + 1));
      cmd->quantity = 1 + static_cast<int64_t>((r >> 20) % 10);
      break;
    case Format::kReverseEnglish: {
      const int64_t most = a.NextMinimum();
      cmd->amount_minor = std::max<int64_t>(
          1, most - static_cast<int64_t>(hi % static_cast<uint64_t>(most / 100 + 1)));
      break;
    }
    case Format::kReverseSealed:
      cmd->amount_minor =
          start / 2 + static_cast<int64_t>(hi % static_cast<uint64_t>(start / 2 + 1));
      break;
    case Format::kDoubleCall:
    case Format::kDoubleContinuous:
      cmd->side = ((r >> 20) & 1) != 0 ? Side::kBuy : Side::kSell;
      cmd->amount_minor = 9'900 + static_cast<int64_t>(hi % 201);
      cmd->quantity = 1 + static_cast<int64_t>((r >> 24) % 10);
      break;
    default:
      break;
  }
}

void BM_FormatPlaceBid(benchmark::State& state) {
  const Format format = static_cast<Format>(state.range(0));
  const int auctions = static_cast<int>(state.range(1));
  Names names;
  NullListener listener;
  Engine engine({0, 1}, &names, &listener);
  std::vector<AuctionId> ids;
  std::vector<const Auction*> views;
  for (int i = 0; i < auctions; ++i) {
    absl::StatusOr<AuctionView> v =
        engine.CreateAuction(kSeller, absl::StrCat("r", i), SpecFor(format), kT0);
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      return;
    }
    ids.push_back(v->auction_id);
  }
  for (AuctionId id : ids) views.push_back(engine.Find(id));
  const KeyPool keys(state.max_iterations);
  uint64_t rng = 42;
  const absl::Time now = kT0 + absl::Seconds(1);
  size_t i = 0;
  int64_t accepted = 0;
  for (auto _ : state) {
    const uint64_t r = NextRandom(&rng);
    const size_t a = static_cast<size_t>((r & 0xffffffffu) % ids.size());
    PlaceBidCommand cmd;
    cmd.auction_id = ids[a];
    cmd.bidder = 1 + static_cast<PrincipalId>((r >> 32) % kBidders);
    cmd.client_bid_id = keys[i++];
    FormatBid(format, *views[a], r, &cmd);
    absl::StatusOr<BidResult> res = engine.PlaceBid(cmd, now);
    accepted += res.ok() && res->reason == RejectReason::kNone && !res->replayed;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(FormatName(format)));
  state.counters["accepted_share"] =
      static_cast<double>(accepted) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}
BENCHMARK(BM_FormatPlaceBid)
    ->ArgNames({"format", "auctions"})
    ->Args({static_cast<int64_t>(Format::kEnglish), 10'000})
    ->Args({static_cast<int64_t>(Format::kDutch), 10'000})
    ->Args({static_cast<int64_t>(Format::kSealedFirstPrice), 10'000})
    ->Args({static_cast<int64_t>(Format::kSealedSecondPrice), 10'000})
    ->Args({static_cast<int64_t>(Format::kMultiUnitUniform), 10'000})
    ->Args({static_cast<int64_t>(Format::kMultiUnitPayAsBid), 10'000})
    ->Args({static_cast<int64_t>(Format::kReverseEnglish), 10'000})
    ->Args({static_cast<int64_t>(Format::kReverseSealed), 10'000})
    ->Args({static_cast<int64_t>(Format::kDoubleCall), 10'000});

// ---------------------------------------------------------------------------
// The double-auction order stream.

constexpr uint64_t kStreamSeed = 42;
constexpr int64_t kStreamOps = 1'000'000;

// The stream, read (or generated) once per process.
const bench::OrderStream* Stream(benchmark::State& state) {
  static const absl::StatusOr<bench::OrderStream>* stream = [] {
    const std::string path = bench::DefaultOrderStreamPath(kStreamSeed, kStreamOps);
    return new absl::StatusOr<bench::OrderStream>(
        bench::LoadOrGenerate(path, kStreamSeed, kStreamOps));
  }();
  if (!stream->ok()) {
    state.SkipWithError(std::string(stream->status().message()).c_str());
    return nullptr;
  }
  return &**stream;
}

AuctionSpec ContinuousSpec() {
  AuctionSpec s = SpecFor(Format::kDoubleContinuous);
  s.start_price_minor = 100'000;
  return s;
}

// Puts the end state next to the stream's expectations; false (and the
// benchmark skipped) when they differ.
bool CheckTotals(benchmark::State& state, const bench::OrderStream& s, const DoubleAuction& a) {
  int64_t volume = 0;
  for (const CloseOutcome::TradeAward& t : a.trades()) volume += t.quantity;
  const OrderBook& book = a.book();
  const int64_t resting = static_cast<int64_t>(book.order_count());
  const int64_t resting_quantity = book.Depth(Side::kBuy) + book.Depth(Side::kSell);
  const int64_t trades = static_cast<int64_t>(a.trades().size());
  state.counters["trades"] = static_cast<double>(trades);
  state.counters["book_orders"] = static_cast<double>(resting);
  state.counters["book_levels"] =
      static_cast<double>(book.level_count(Side::kBuy) + book.level_count(Side::kSell));
  if (trades != s.expect.trades || volume != s.expect.volume || resting != s.expect.resting ||
      resting_quantity != s.expect.resting_quantity) {
    state.SkipWithError(absl::StrCat("end state differs from the stream's expect line: trades ",
                                     trades, "/", s.expect.trades, " volume ", volume, "/",
                                     s.expect.volume, " resting ", resting, "/", s.expect.resting,
                                     " units ", resting_quantity, "/", s.expect.resting_quantity)
                            .c_str());
    return false;
  }
  return true;
}

void BM_DoubleStreamEngine(benchmark::State& state) {
  const bool prefetch = state.range(0) == 1;
  const bench::OrderStream* s = Stream(state);
  if (s == nullptr) return;
  const KeyPool keys(static_cast<size_t>(s->orders) + 1);
  std::vector<uint32_t> entry_of(static_cast<size_t>(s->orders) + 1);  // order number -> entry
  Names names;
  NullListener listener;
  const absl::Time now = kT0 + absl::Seconds(1);
  int64_t rejected = 0;
  int64_t cancel_errors = 0;
  int64_t cancelled_nothing = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto engine = std::make_unique<Engine>(EngineOptions{0, 1}, &names, &listener);
    const AuctionId id =
        engine->CreateAuction(kSeller, "stream", ContinuousSpec(), kT0)->auction_id;
    state.ResumeTiming();
    const size_t n = s->ops.size();
    // An order's key hash, computed once, as the server's network thread
    // does (PlaceBidCommand::key_hash), but inside the timed loop.
    auto key_hash = [&](size_t k) {
      const bench::StreamOp& op = s->ops[k];
      return op.kind == bench::StreamOp::Kind::kOrder ? IdempotencyKeyHash(op.owner, keys[op.order])
                                                      : 0;
    };
    uint64_t next_hash = n > 0 ? key_hash(0) : 0;
    for (size_t k = 0; k < n; ++k) {
      const bench::StreamOp& op = s->ops[k];
      const uint64_t hash = next_hash;
      next_hash = k + 1 < n ? key_hash(k + 1) : 0;
      if (prefetch && next_hash != 0) {
        // What Shard::Loop does for the next task in its ring.
        engine->PrefetchBid(id, next_hash);
      }
      if (op.kind == bench::StreamOp::Kind::kOrder) {
        PlaceBidCommand cmd;
        cmd.auction_id = id;
        cmd.bidder = op.owner;
        cmd.client_bid_id = keys[op.order];
        cmd.key_hash = hash;
        cmd.amount_minor = op.price_minor;
        cmd.quantity = op.quantity;
        cmd.side = op.buy ? Side::kBuy : Side::kSell;
        cmd.immediate_or_cancel = op.ioc;
        absl::StatusOr<BidResult> r = engine->PlaceBid(cmd, now);
        if (r.ok() && r->reason == RejectReason::kNone) {
          entry_of[op.order] = r->entry;
        } else {
          ++rejected;
        }
      } else {
        absl::StatusOr<int64_t> c = engine->CancelBid(op.owner, id, entry_of[op.order], now);
        cancel_errors += !c.ok();
        cancelled_nothing += c.ok() && *c == 0;
      }
    }
    state.PauseTiming();
    const auto* a = static_cast<const DoubleAuction*>(engine->Find(id));
    if (!CheckTotals(state, *s, *a)) return;
    engine.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(s->ops.size()));
  state.counters["rejected"] = static_cast<double>(rejected);
  state.counters["cancel_errors"] = static_cast<double>(cancel_errors);
  state.counters["cancelled_nothing"] = static_cast<double>(cancelled_nothing);
}
BENCHMARK(BM_DoubleStreamEngine)
    ->ArgName("prefetch")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_DoubleStreamBook(benchmark::State& state) {
  const bench::OrderStream* s = Stream(state);
  if (s == nullptr) return;
  std::vector<AuctionEvent> events;
  events.reserve(64);
  const absl::Time now = kT0 + absl::Seconds(1);
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<std::unique_ptr<Auction>> made =
        MakeDoubleAuction(1, kSeller, ContinuousSpec(), kT0);
    if (!made.ok()) {
      state.SkipWithError(std::string(made.status().message()).c_str());
      return;
    }
    auto* a = static_cast<ContinuousDoubleAuction*>(made->get());
    state.ResumeTiming();
    for (const bench::StreamOp& op : s->ops) {
      if (op.kind == bench::StreamOp::Kind::kOrder) {
        benchmark::DoNotOptimize(
            a->Place({op.owner, op.price_minor, op.quantity, op.buy ? Side::kBuy : Side::kSell,
                      op.ioc, now, op.order},
                     &events));
      } else {
        benchmark::DoNotOptimize(a->CancelOrder(op.owner, op.order, &events));
      }
      events.clear();
    }
    state.PauseTiming();
    if (!CheckTotals(state, *s, *a)) return;
    made->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(s->ops.size()));
}
BENCHMARK(BM_DoubleStreamBook)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace gavel
