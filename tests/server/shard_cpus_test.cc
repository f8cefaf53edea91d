// --shard_cpus: each shard thread runs on the CPU it is given, and a list
// that does not fit the machine or the shards is refused at start.
#include <sched.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/runtime.h"
#include "server/server.h"
#include "tests/engine/shard_test_util.h"
#include "tests/server/in_process_server.h"

namespace gavel {
namespace {

// The CPUs this process may run on.
std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

absl::Status StartWith(uint32_t shards, std::vector<int> cpus) {
  absl::StatusOr<TokenTable> tokens = TokenTable::Parse("seller-token alice seller\n");
  EXPECT_TRUE(tokens.ok());
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.shards = shards;
  options.shard_cpus = std::move(cpus);
  absl::StatusOr<std::unique_ptr<GavelServer>> server =
      GavelServer::Start(options, *std::move(tokens));
  return server.status();
}

class ShardCpusTest : public testing::InProcessServerTest {
 protected:
  uint32_t Shards() const override {
    return static_cast<uint32_t>(std::min<size_t>(2, cpus_.size()));
  }
  void Configure(ServerOptions* options) const override {
    // The last allowed CPUs, last first: not the order the kernel would pick.
    for (size_t i = 0; i < Shards(); ++i)
      options->shard_cpus.push_back(cpus_[cpus_.size() - 1 - i]);
  }
  const std::vector<int> cpus_ = AllowedCpus();
};

TEST_F(ShardCpusTest, EachShardRunsOnlyOnItsCpu) {
  Runtime& runtime = server_->runtime_for_test();
  for (size_t i = 0; i < Shards(); ++i) {
    const int want = cpus_[cpus_.size() - 1 - i];
    int only = -2;  // -1: not pinned to `want` alone
    testing::RunOn(runtime.shard(i), [&](ShardContext&) {
      cpu_set_t set;
      CPU_ZERO(&set);
      if (sched_getaffinity(0, sizeof(set), &set) == 0) {  // this thread's
        only = CPU_COUNT(&set) == 1 && CPU_ISSET(want, &set) ? want : -1;
      }
    });
    EXPECT_EQ(only, want) << "shard " << i;
  }
}

TEST(ShardCpusStartTest, AListThatDoesNotFitIsRefusedAtStart) {
  const std::vector<int> cpus = AllowedCpus();
  ASSERT_FALSE(cpus.empty());
  absl::Status one_for_two = StartWith(2, {cpus[0]});
  EXPECT_EQ(one_for_two.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(one_for_two.message().find("gives 1 CPU(s) for 2 shard(s)"), std::string::npos)
      << one_for_two.message();

  absl::Status missing = StartWith(1, {CPU_SETSIZE + 5});
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("is not one this process may run on (it may use "),
            std::string::npos)
      << missing.message();

  absl::Status twice = StartWith(2, {cpus[0], cpus[0]});
  EXPECT_EQ(twice.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(twice.message().find("is given twice"), std::string::npos) << twice.message();

  EXPECT_TRUE(StartWith(1, {cpus.back()}).ok());
}

}  // namespace
}  // namespace gavel
