// gavel-server's start against a real PostgreSQL: a data directory that has
// lost a shard's journal is refused, not silently started without it.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/auth.h"
#include "server/server.h"
#include "tests/store/store_test_util.h"

namespace gavel {
namespace {

using ::gavel::testing::TestSchema;

class ServerStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(schema_.ok());
    char dir[] = "/tmp/gavel-start-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
    data_dir_ = root_ + "/data";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  absl::Status StartAndStop(uint32_t shards = 2) {
    absl::StatusOr<TokenTable> tokens = TokenTable::Parse("s alice seller\n");
    if (!tokens.ok()) return tokens.status();
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.shards = shards;
    options.postgres = schema_.conninfo();
    options.data_dir = data_dir_;
    absl::StatusOr<std::unique_ptr<GavelServer>> server =
        GavelServer::Start(options, *std::move(tokens));
    if (!server.ok()) return server.status();
    (*server)->Shutdown();
    return absl::OkStatus();
  }

  // The data directory as `saved`, without `remove` (paths inside it).
  void Restore(const std::string& saved, std::initializer_list<const char*> remove) {
    std::filesystem::remove_all(data_dir_);
    std::filesystem::copy(saved, data_dir_, std::filesystem::copy_options::recursive);
    std::filesystem::remove(data_dir_ + "/LOCK");
    for (const char* path : remove) std::filesystem::remove_all(data_dir_ + "/" + path);
  }

  TestSchema schema_;
  std::string root_;
  std::string data_dir_;
};

TEST_F(ServerStartTest, AShardThatLostItsJournalIsRefused) {
  ASSERT_TRUE(StartAndStop().ok());
  ASSERT_TRUE(std::filesystem::exists(data_dir_ + "/auction-id-floor"));
  ASSERT_TRUE(StartAndStop().ok()) << "a plain restart";
  const std::string saved = root_ + "/saved";
  std::filesystem::copy(data_dir_, saved, std::filesystem::copy_options::recursive);

  Restore(saved, {"shard-0"});
  absl::Status st = StartAndStop();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_EQ(st.message(), absl::StrCat("the data directory ", data_dir_,
                                       " holds the journal of shard-1 but none of shard-0: its "
                                       "files are missing; restore them from a backup (starting "
                                       "without them would lose every auction and bid they "
                                       "held)"));

  // The last shard's files gone look like a larger --shards: both are said.
  Restore(saved, {"shard-1"});
  st = StartAndStop();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(),
                                "if it was written with --shards=1, start it with "
                                "that"))
      << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "otherwise the files of shard-1 are missing")) << st;
  Restore(saved, {});
  st = StartAndStop(/*shards=*/3);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "if it was written with --shards=2")) << st;

  Restore(saved, {"shard-0", "shard-1"});
  st = StartAndStop();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "no shard's journal is left")) << st;

  // Removing what is left of it, as the message says, starts afresh.
  std::filesystem::remove(data_dir_ + "/auction-id-floor");
  EXPECT_TRUE(StartAndStop().ok());
}

}  // namespace
}  // namespace gavel
