// clients/client.h against an in-process fake server.
#include "clients/client.h"

#include <chrono>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fake_gavel.h"
#include "gtest/gtest.h"

namespace gavel::client {
namespace {

using ::gavel::testing::FakeGavel;

TEST(Client, EveryCallSendsTheBearerToken) {
  FakeGavel fake;
  GavelClient client(fake.Channel(), "tok-alice");
  v1::Auction auction;
  v1::ListAuctionsResponse list;
  v1::PlaceBidResponse bid;
  v1::Settlement settlement;
  // Unimplemented handlers still record the call.
  client.GetAuction({}, &auction);
  client.ListAuctions({}, &list);
  client.PlaceBid({}, &bid);
  client.GetSettlement({}, &settlement);
  client.WatchAuction({}, [](const v1::AuctionEvent&) { return true; });
  const std::vector<testing::CallRecord> calls = fake.Calls();
  ASSERT_EQ(calls.size(), 5u);
  for (const testing::CallRecord& call : calls) {
    EXPECT_EQ(call.authorization, "Bearer tok-alice") << call.method;
  }
}

TEST(Client, NoTokenSendsNoAuthorization) {
  FakeGavel fake;
  GavelClient client(fake.Channel(), "");
  v1::Auction auction;
  client.GetAuction({}, &auction);
  ASSERT_EQ(fake.Calls().size(), 1u);
  EXPECT_EQ(fake.Calls()[0].authorization, "");
}

TEST(Client, UnaryCallsCarryTheDeadlineAndWatchDoesNot) {
  FakeGavel fake;
  GavelClient client(fake.Channel(), "t", absl::Seconds(30));
  v1::Auction auction;
  client.GetAuction({}, &auction);
  client.WatchAuction({}, [](const v1::AuctionEvent&) { return true; });
  const std::vector<testing::CallRecord> calls = fake.Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0].has_deadline);
  EXPECT_GT(calls[0].deadline_left, std::chrono::seconds(20));
  EXPECT_LE(calls[0].deadline_left, std::chrono::seconds(31));  // the wire rounds up
  EXPECT_FALSE(calls[1].has_deadline);
}

TEST(Client, NoDeadlineWhenNoneOrInfinite) {
  FakeGavel fake;
  v1::Auction auction;
  GavelClient(fake.Channel(), "t").GetAuction({}, &auction);
  GavelClient(fake.Channel(), "t", absl::InfiniteDuration()).GetAuction({}, &auction);
  for (const testing::CallRecord& call : fake.Calls()) EXPECT_FALSE(call.has_deadline);
}

TEST(Client, ResponsesAndRequestsPassThrough) {
  FakeGavel fake;
  fake.handlers.place_bid = [](const v1::PlaceBidRequest& r, v1::PlaceBidResponse* out) {
    out->set_bid_id(r.auction_id() + "-1");
    out->set_outcome(v1::ACCEPTED);
    out->set_current_price_minor(r.amount_minor());
    return grpc::Status::OK;
  };
  GavelClient client(fake.Channel(), "t");
  v1::PlaceBidRequest request;
  request.set_auction_id("A7");
  request.set_amount_minor(1250);
  v1::PlaceBidResponse response;
  ASSERT_TRUE(client.PlaceBid(request, &response).ok());
  EXPECT_EQ(response.bid_id(), "A7-1");
  EXPECT_EQ(response.current_price_minor(), 1250);
}

TEST(Client, ErrorsComeBackAsStatus) {
  FakeGavel fake;
  fake.handlers.get_auction = [](const v1::GetAuctionRequest& r, v1::Auction*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "auction " + r.auction_id() + " not found");
  };
  GavelClient client(fake.Channel(), "t");
  v1::GetAuctionRequest request;
  request.set_auction_id("A9");
  v1::Auction auction;
  grpc::Status status = client.GetAuction(request, &auction);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "auction A9 not found");
}

std::vector<v1::AuctionEvent> Events(int n) {
  std::vector<v1::AuctionEvent> events(n);
  for (int i = 0; i < n; ++i) events[i].set_sequence(i + 1);
  return events;
}

TEST(Client, WatchDeliversEveryEventInOrderThenTheFinalStatus) {
  FakeGavel fake;
  fake.handlers.watch_auction = [](const v1::WatchAuctionRequest& r,
                                   std::vector<v1::AuctionEvent>* events) {
    *events = Events(5);
    for (v1::AuctionEvent& e : *events) e.set_auction_id(r.auction_id());
    return grpc::Status::OK;
  };
  GavelClient client(fake.Channel(), "t");
  v1::WatchAuctionRequest request;
  request.set_auction_id("A1");
  std::vector<uint64_t> seen;
  grpc::Status status = client.WatchAuction(request, [&](const v1::AuctionEvent& e) {
    EXPECT_EQ(e.auction_id(), "A1");
    seen.push_back(e.sequence());
    return true;
  });
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
}

TEST(Client, WatchReturnsTheStreamsError) {
  FakeGavel fake;
  fake.handlers.watch_auction = [](const v1::WatchAuctionRequest&,
                                   std::vector<v1::AuctionEvent>* events) {
    *events = Events(2);
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "watcher too slow; dropped");
  };
  GavelClient client(fake.Channel(), "t");
  int seen = 0;
  grpc::Status status = client.WatchAuction({}, [&](const v1::AuctionEvent&) {
    ++seen;
    return true;
  });
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "watcher too slow; dropped");
}

TEST(Client, WatchStopsWhenTheCallbackSaysSo) {
  FakeGavel fake;
  fake.handlers.watch_auction = [](const v1::WatchAuctionRequest&,
                                   std::vector<v1::AuctionEvent>* events) {
    *events = Events(100);
    return grpc::Status::OK;
  };
  GavelClient client(fake.Channel(), "t");
  int seen = 0;
  grpc::Status status =
      client.WatchAuction({}, [&](const v1::AuctionEvent&) { return ++seen < 3; });
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(seen, 3);
}

TEST(Client, UnreachableServerIsUnavailableAtOnce) {
  // Port 1 on localhost: nothing listens there.
  GavelClient client("127.0.0.1:1", "t", absl::Seconds(20));
  v1::Auction auction;
  const absl::Time start = absl::Now();
  grpc::Status status = client.GetAuction({}, &auction);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace gavel::client
