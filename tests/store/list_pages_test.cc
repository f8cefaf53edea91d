// ListSettlements through a running server against a real PostgreSQL: a page
// of large summaries stops at kMaxPageBytes, below gRPC's default 4 MiB
// receive limit, and the token carries on from there.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/audit.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/auth.h"
#include "server/convert.h"
#include "server/server.h"
#include "server/store/store.h"
#include "tests/store/store_test_util.h"

namespace gavel {
namespace {

using ::gavel::testing::SimpleSettlement;
using ::gavel::testing::TestSchema;

const absl::Time kT0 = absl::FromUnixMicros(1717200000000000);  // 2024-06-01

TEST(ServerListSettlementsTest, PagesOfLargeSummariesStayBelowTheDefaultReceiveLimit) {
  TestSchema schema;
  ASSERT_TRUE(schema.ok());
  // 30 double auctions of 4 000 trades each: about 5 MB of summaries.
  constexpr int kSettlements = 30;
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(schema.conninfo());
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<Settlement> all;
    for (int i = 1; i <= kSettlements; ++i) {
      const std::string id = absl::StrCat("A", i);
      Settlement s =
          SimpleSettlement(id, kT0 + absl::Seconds(i), "alice", Format::kDoubleContinuous);
      s.winners.clear();
      s.clearing_price_minor = 0;
      for (int t = 0; t < 4000; ++t) {
        s.trades.push_back({id + "-2", id + "-1", "bob", "carol", 150, 1});
      }
      all.push_back(std::move(s));
    }
    std::vector<const Settlement*> batch;
    for (const Settlement& s : all) batch.push_back(&s);
    ASSERT_TRUE((*store)->WriteSettlements(batch).ok());
  }

  absl::StatusOr<TokenTable> tokens = TokenTable::Parse("audit-token audrey auditor\n");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.shards = 1;
  options.postgres = schema.conninfo();
  absl::StatusOr<std::unique_ptr<GavelServer>> server =
      GavelServer::Start(options, *std::move(tokens));
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto audit = v1::AuditService::NewStub(channel);

  v1::ListSettlementsRequest req;
  req.set_page_size(500);
  std::set<std::string> seen;
  int pages = 0;
  for (;;) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer audit-token");
    v1::ListSettlementsResponse resp;
    const grpc::Status st = audit->ListSettlements(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ++pages;
    EXPECT_LE(resp.ByteSizeLong(), kMaxPageBytes + 200'000);
    for (const v1::Settlement& s : resp.settlements()) {
      EXPECT_EQ(s.trades_size(), 4000);
      EXPECT_TRUE(seen.insert(s.auction_id()).second) << s.auction_id();
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kSettlements)) << "none lost, none twice";
  EXPECT_EQ(pages, 2);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace gavel
