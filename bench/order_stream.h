// A fixed, seeded stream of double-auction orders, written to a plain text
// file so that Gavel's engine and any other order book can be measured on
// exactly the same orders (issue 4; figures in BENCHMARKS.md). Written by
// `gavel-orderstream` (bench/gavel_orderstream.cc), replayed by
// BM_DoubleStream* (bench/formats_bench.cc).
//
// File format, version 1 (ASCII, one record a line, fields separated by one
// space, '\n' line ends):
//
//   gavel-orderstream 1                         first line, always
//   # any text                                  comment, ignored
//   seed <u64>                                  header lines, before the
//   ops <n> orders <n> crossing <n> cancels <n> first O or C line
//   expect trades <n> volume <n> resting <n> resting_quantity <n>
//   O <order> <owner> <B|S> <price> <quantity> <G|I>
//   C <order> <owner>
//
// - O: a limit order. <order> numbers the O lines 1, 2, 3, ... in file
//   order; it is also the order's time priority. <owner> is a bidder id
//   (1..1000; 0 is the auction's lister and never trades). <price> is the
//   limit in integer minor units (> 0), <quantity> units (> 0). G: what does
//   not trade at once rests (good till cancelled); I: immediate-or-cancel.
// - C: owner <owner> cancels what still rests of order <order>. The
//   generator only cancels orders that rest at that moment in its own model
//   of the book, so every C cancels something in a book that follows the
//   rules below.
// - expect: what a book that follows RULES.md "DOUBLE_CONTINUOUS" ends with
//   after the whole stream: the number of trades (one per pair of orders
//   matched at one price), the units traded, and the orders and units still
//   resting. The rules: price-time priority; an incoming order trades with
//   the best opposite orders while the prices cross, at the resting order's
//   price; no self-trade (an incoming order that would meet its owner's own
//   resting order cancels the resting one, and matching goes on).
//
// The mix (fractions of ops): ~60 % limit orders near the touch (1-10
// units, at or up to 15 ticks behind their side's best, nearer ones
// likelier; 1 in 10 inside the spread), ~30 % cancels of a uniformly chosen
// resting order, ~10 % crossing orders (1-40 units priced 0-4 ticks through
// the opposite best; half of them IOC). Owners are uniform over 1..1000. A
// tick is 1 minor unit; prices start around 100000 and wander with the
// trades. With these numbers the book stays at a few thousand orders over
// a few dozen levels a side whatever the stream's length. Randomness is
// splitmix64 from the seed, so a stream is the same on every machine.
#ifndef GAVEL_BENCH_ORDER_STREAM_H_
#define GAVEL_BENCH_ORDER_STREAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gavel::bench {

struct StreamOp {
  enum class Kind : uint8_t { kOrder, kCancel };
  Kind kind = Kind::kOrder;
  bool buy = false;    // kOrder
  bool ioc = false;    // kOrder
  uint32_t order = 0;  // the O line's number; for kCancel, the order cancelled
  uint32_t owner = 0;
  int32_t quantity = 0;     // kOrder
  int64_t price_minor = 0;  // kOrder
};

struct StreamTotals {
  int64_t trades = 0;
  int64_t volume = 0;
  int64_t resting = 0;
  int64_t resting_quantity = 0;
};

struct OrderStream {
  uint64_t seed = 0;
  int64_t orders = 0;
  int64_t crossing = 0;  // of `orders`: priced through the opposite touch
  int64_t cancels = 0;
  StreamTotals expect;
  std::vector<StreamOp> ops;
};

// The stream of `ops` operations from `seed`, with its expected totals
// (computed by a reference book inside the generator).
OrderStream GenerateOrderStream(uint64_t seed, int64_t ops);

// Writes `stream` in the format above. Internal/Unavailable on I/O errors.
absl::Status WriteOrderStream(const OrderStream& stream, const std::string& path);
// Reads a file in the format above. NotFound when it does not exist;
// InvalidArgument naming the line when it does not parse.
absl::StatusOr<OrderStream> ReadOrderStream(const std::string& path);

// The default file for (seed, ops): next to the running executable
// ("<dir of /proc/self/exe>/orderstream-<seed>-<ops>.txt", i.e. in the build
// tree), or $GAVEL_ORDER_STREAM when set.
std::string DefaultOrderStreamPath(uint64_t seed, int64_t ops);
// Reads `path`, generating and writing it first when it does not exist.
absl::StatusOr<OrderStream> LoadOrGenerate(const std::string& path, uint64_t seed, int64_t ops);

}  // namespace gavel::bench

#endif  // GAVEL_BENCH_ORDER_STREAM_H_
