// gavel-orderstream: writes the seeded double-auction order stream that
// BM_DoubleStream* replays (format: bench/order_stream.h, BENCHMARKS.md), so
// that another order book can be measured on exactly the same orders.
//
//   gavel-orderstream --seed=42 --ops=1000000 --out=/tmp/orderstream-42-1000000.txt
//
// Prints the stream's mix and expected totals. The benchmark writes the same
// file itself when it is missing; this tool is for using it elsewhere.
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "bench/order_stream.h"

ABSL_FLAG(uint64_t, seed, 42, "random seed (splitmix64)");
ABSL_FLAG(int64_t, ops, 1'000'000, "operations (orders + cancels) in the stream");
ABSL_FLAG(std::string, out, "",
          "file to write (default: orderstream-<seed>-<ops>.txt next to this executable)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Writes a seeded double-auction order stream to a text file.");
  absl::ParseCommandLine(argc, argv);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const int64_t ops = absl::GetFlag(FLAGS_ops);
  if (ops < 1) {
    std::fprintf(stderr, "--ops: must be at least 1\n");
    return 2;
  }
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) out = gavel::bench::DefaultOrderStreamPath(seed, ops);
  const gavel::bench::OrderStream s = gavel::bench::GenerateOrderStream(seed, ops);
  if (absl::Status st = gavel::bench::WriteOrderStream(s, out); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  int64_t ioc = 0;
  for (const gavel::bench::StreamOp& op : s.ops) {
    ioc += op.kind == gavel::bench::StreamOp::Kind::kOrder && op.ioc;
  }
  std::printf(
      "%s\n  ops %zu: orders %lld (crossing %lld, IOC %lld), cancels %lld (%.1f %%)\n"
      "  expect: trades %lld, volume %lld, resting orders %lld (%lld units)\n",
      out.c_str(), s.ops.size(), static_cast<long long>(s.orders),
      static_cast<long long>(s.crossing), static_cast<long long>(ioc),
      static_cast<long long>(s.cancels),
      100.0 * static_cast<double>(s.cancels) / static_cast<double>(ops),
      static_cast<long long>(s.expect.trades), static_cast<long long>(s.expect.volume),
      static_cast<long long>(s.expect.resting), static_cast<long long>(s.expect.resting_quantity));
  return 0;
}
