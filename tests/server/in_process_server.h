// The fixture every server test starts from: a GavelServer in-process on
// 127.0.0.1:0 without a database, a ManualClock, one token per role, and the
// generated stubs.
#ifndef GAVEL_TESTS_SERVER_IN_PROCESS_SERVER_H_
#define GAVEL_TESTS_SERVER_IN_PROCESS_SERVER_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/clock.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/convert.h"
#include "server/server.h"

namespace gavel::testing {

inline const absl::Time kServerStart = absl::FromUnixSeconds(1'800'000'000);

class InProcessServerTest : public ::testing::Test {
 protected:
  // alice sells (and holds a bidder token too); bob, carol, dave bid;
  // audrey audits.
  static constexpr char kTokens[] =
      "seller-token alice seller\n"
      "alice-bids alice bidder\n"
      "bob-token bob bidder\n"
      "carol-token carol bidder\n"
      "dave-token dave bidder\n"
      "audit-token audrey auditor\n";

  void SetUp() override {
    absl::StatusOr<TokenTable> tokens = TokenTable::Parse(kTokens);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.clock = &clock_;
    options.shards = Shards();
    Configure(&options);
    absl::StatusOr<std::unique_ptr<GavelServer>> server =
        GavelServer::Start(options, *std::move(tokens));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    target_ = absl::StrCat("127.0.0.1:", server_->port());
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    seller_ = v1::SellerService::NewStub(channel_);
    bidder_ = v1::BidderService::NewStub(channel_);
    auctions_ = v1::AuctionService::NewStub(channel_);
    audit_ = v1::AuditService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  virtual uint32_t Shards() const { return 1; }
  // A fixture's own settings, applied last.
  virtual void Configure(ServerOptions* /*options*/) const {}

  // An ENGLISH auction of a fountain pen in EUR, from 10.00, for ten minutes.
  static v1::CreateAuctionRequest EnglishRequest(const std::string& request_id) {
    v1::CreateAuctionRequest req;
    req.set_request_id(request_id);
    req.mutable_item()->set_title("Fountain pen");
    req.set_format(v1::ENGLISH);
    req.set_currency("EUR");
    req.set_start_price_minor(1000);
    ToProto(absl::Minutes(10), req.mutable_duration());
    return req;
  }

  // Creates `req` as the seller; the auction (a failure is a test failure).
  v1::Auction Create(const v1::CreateAuctionRequest& req) {
    v1::Auction a;
    grpc::Status st = seller_->CreateAuction(As("seller-token").get(), req, &a);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return a;
  }

  // A watch stream of `auction_id` from `from_sequence`, as `token`, ending
  // by `deadline` at the latest.
  struct WatchCall {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReader<v1::AuctionEvent>> reader;
  };
  WatchCall OpenWatch(const std::string& auction_id, const std::string& token,
                      uint64_t from_sequence = 1, absl::Duration deadline = absl::Seconds(10)) {
    WatchCall w{As(token), nullptr};
    w.ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::WatchAuctionRequest req;
    req.set_auction_id(auction_id);
    req.set_from_sequence(from_sequence);
    w.reader = auctions_->WatchAuction(w.ctx.get(), req);
    return w;
  }

  // A call context carrying `token` (none when empty), with a deadline.
  static std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  ManualClock clock_{kServerStart};
  std::unique_ptr<GavelServer> server_;
  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SellerService::Stub> seller_;
  std::unique_ptr<v1::BidderService::Stub> bidder_;
  std::unique_ptr<v1::AuctionService::Stub> auctions_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
};

}  // namespace gavel::testing

#endif  // GAVEL_TESTS_SERVER_IN_PROCESS_SERVER_H_
