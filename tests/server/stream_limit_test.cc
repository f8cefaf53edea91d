// --max_watch_streams, --max_bid_streams and their _per_principal caps: a
// stream past a cap is refused at once with RESOURCE_EXHAUSTED, the streams
// already open go on, and a place comes back when a stream ends.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/convert.h"
#include "server/server.h"
#include "tests/engine/shard_test_util.h"
#include "tests/server/in_process_server.h"

namespace gavel {
namespace {

constexpr size_t kMostWatchers = 3;
constexpr size_t kMostWatchersEach = 2;
constexpr size_t kMostBidStreams = 2;
constexpr size_t kMostBidStreamsEach = 1;

class StreamLimitTest : public testing::InProcessServerTest {
 protected:
  void Configure(ServerOptions* options) const override {
    options->max_watch_streams = kMostWatchers;
    options->max_watch_streams_per_principal = kMostWatchersEach;
    options->max_bid_streams = kMostBidStreams;
    options->max_bid_streams_per_principal = kMostBidStreamsEach;
  }

  // Whether a watch of `auction_id` as `token` is let in (reads its first
  // event) within 10 s; places come back once the server is done with a
  // stream, a moment after its client is, so it retries. The watch it let
  // in is ended.
  bool WatchLetIn(const std::string& auction_id, const std::string& token) {
    return testing::WaitFor(
        [&] {
          WatchCall w = OpenWatch(auction_id, token);
          v1::AuctionEvent e;
          const bool in = w.reader->Read(&e);
          w.ctx->TryCancel();
          w.reader->Finish();
          if (!in) absl::SleepFor(absl::Milliseconds(20));
          return in;
        },
        absl::Seconds(10));
  }

  // A bid stream of bob's that has had one bid answered (so the server
  // holds it open).
  struct BidStreamCall {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReaderWriter<v1::PlaceBidRequest, v1::PlaceBidResponse>> stream;
  };
  bool Bid(BidStreamCall& call, const std::string& auction_id, int64_t amount,
           const std::string& key, v1::PlaceBidResponse* resp) {
    v1::PlaceBidRequest req;
    req.set_auction_id(auction_id);
    req.set_client_bid_id(key);
    req.set_amount_minor(amount);
    return call.stream->Write(req) && call.stream->Read(resp);
  }
  BidStreamCall OpenBids(const std::string& token) {
    BidStreamCall c{As(token), nullptr};
    c.stream = bidder_->BidStream(c.ctx.get());
    return c;
  }
};

TEST_F(StreamLimitTest, WatchStreamsPastTheCapAreRefusedAndAPlaceComesBackWhenOneEnds) {
  const std::string id = Create(EnglishRequest("r1")).auction_id();
  std::vector<WatchCall> open;
  v1::AuctionEvent e;
  const char* const kWatchers[kMostWatchers] = {"bob-token", "carol-token", "dave-token"};
  for (size_t i = 0; i < kMostWatchers; ++i) {
    open.push_back(OpenWatch(id, kWatchers[i]));
    ASSERT_TRUE(open.back().reader->Read(&e)) << "watcher " << i;  // the history: open
  }
  WatchCall refused = OpenWatch(id, "audit-token");
  EXPECT_FALSE(refused.reader->Read(&e));
  grpc::Status st = refused.reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("watch streams open (3, --max_watch_streams)"),
            std::string::npos)
      << st.error_message();

  // The watchers already open see the next event.
  v1::PlaceBidResponse resp;
  v1::PlaceBidRequest bid;
  bid.set_auction_id(id);
  bid.set_client_bid_id("b1");
  bid.set_amount_minor(1500);
  ASSERT_TRUE(bidder_->PlaceBid(As("bob-token").get(), bid, &resp).ok());
  for (WatchCall& w : open) {
    ASSERT_TRUE(w.reader->Read(&e));
    EXPECT_TRUE(e.has_bid_accepted()) << e.ShortDebugString();
  }

  // One ends; its place comes back (the server lets go once the call is
  // done on its side, so poll for a while).
  open.front().ctx->TryCancel();
  open.front().reader->Finish();
  open.erase(open.begin());
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        WatchCall again = OpenWatch(id, "audit-token");
        if (again.reader->Read(&e)) {
          again.ctx->TryCancel();
          again.reader->Finish();
          return true;
        }
        EXPECT_EQ(again.reader->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
        absl::SleepFor(absl::Milliseconds(20));
        return false;
      },
      absl::Seconds(10)));
  for (WatchCall& w : open) w.ctx->TryCancel();
  for (WatchCall& w : open) w.reader->Finish();
}

// A watch the server ends itself (an auction it does not have: NOT_FOUND
// from the shard) gives its place back too: more such watches than the cap,
// one after another, are all answered NOT_FOUND, and a real one is let in.
TEST_F(StreamLimitTest, WatchesEndedByTheServerGiveTheirPlacesBack) {
  const std::string id = Create(EnglishRequest("r1")).auction_id();
  v1::AuctionEvent e;
  for (size_t i = 0; i < 3 * kMostWatchers; ++i) {
    WatchCall missing = OpenWatch("A999999", "dave-token");
    EXPECT_FALSE(missing.reader->Read(&e));
    // A place is given back when the call is done on the server's side,
    // a moment after the client sees its end: wait for that.
    grpc::Status st = missing.reader->Finish();
    testing::WaitFor(
        [&] {
          if (st.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) return true;
          absl::SleepFor(absl::Milliseconds(20));
          WatchCall retry = OpenWatch("A999999", "dave-token");
          retry.reader->Read(&e);
          st = retry.reader->Finish();
          return false;
        },
        absl::Seconds(10));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND)
        << "watch " << i << ": " << st.error_message();
  }
  EXPECT_TRUE(WatchLetIn(id, "dave-token"));
}

// One principal may hold only its share: dave's third watch is refused for
// him alone while carol's is let in; then the server is full for carol too.
TEST_F(StreamLimitTest, OnePrincipalCannotTakeEveryPlace) {
  const std::string id = Create(EnglishRequest("r1")).auction_id();
  v1::AuctionEvent e;
  std::vector<WatchCall> daves;
  for (size_t i = 0; i < kMostWatchersEach; ++i) {
    daves.push_back(OpenWatch(id, "dave-token"));
    ASSERT_TRUE(daves.back().reader->Read(&e)) << "dave's watch " << i;
  }
  WatchCall third = OpenWatch(id, "dave-token");
  EXPECT_FALSE(third.reader->Read(&e));
  grpc::Status st = third.reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("you already have the most watch streams one principal "
                                    "may have open (2, --max_watch_streams_per_principal)"),
            std::string::npos)
      << st.error_message();

  WatchCall carols = OpenWatch(id, "carol-token");
  ASSERT_TRUE(carols.reader->Read(&e));  // 3 of 3 places now
  WatchCall carols_second = OpenWatch(id, "carol-token");
  EXPECT_FALSE(carols_second.reader->Read(&e));
  st = carols_second.reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("--max_watch_streams)"), std::string::npos)
      << st.error_message();

  // dave ends one of his: he may open another.
  daves.front().ctx->TryCancel();
  daves.front().reader->Finish();
  EXPECT_TRUE(WatchLetIn(id, "dave-token"));
  daves.back().ctx->TryCancel();
  daves.back().reader->Finish();
  carols.ctx->TryCancel();
  carols.reader->Finish();
}

TEST_F(StreamLimitTest, BidStreamsPastTheCapAreRefusedAndAPlaceComesBackWhenOneEnds) {
  const std::string id = Create(EnglishRequest("r1")).auction_id();
  v1::PlaceBidResponse resp;
  std::vector<BidStreamCall> open;
  for (size_t i = 0; i < kMostBidStreams; ++i) {
    open.push_back(OpenBids(i == 0 ? "bob-token" : "carol-token"));
    ASSERT_TRUE(
        Bid(open.back(), id, 2000 + 1000 * static_cast<int64_t>(i), "k" + std::to_string(i), &resp))
        << "stream " << i;
    EXPECT_EQ(resp.outcome(), v1::ACCEPTED) << resp.message();
  }
  // bob has his one stream: his second is refused for him alone...
  BidStreamCall bobs_second = OpenBids("bob-token");
  EXPECT_FALSE(Bid(bobs_second, id, 8000, "b2", &resp));
  grpc::Status mine = bobs_second.stream->Finish();
  EXPECT_EQ(mine.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(
      mine.error_message().find("you already have the most bid streams one principal may have "
                                "open (1, --max_bid_streams_per_principal)"),
      std::string::npos)
      << mine.error_message();
  // ...and dave's first because the server has its most.
  BidStreamCall refused = OpenBids("dave-token");
  EXPECT_FALSE(Bid(refused, id, 9000, "d1", &resp));
  grpc::Status st = refused.stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("bid streams open (2, --max_bid_streams)"), std::string::npos)
      << st.error_message();

  // The open streams still answer.
  ASSERT_TRUE(Bid(open[0], id, 10000, "k-again", &resp));
  EXPECT_EQ(resp.client_bid_id(), "k-again");

  // One ends cleanly; its place comes back.
  open[0].stream->WritesDone();
  EXPECT_TRUE(open[0].stream->Finish().ok());
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        BidStreamCall again = OpenBids("dave-token");
        if (Bid(again, id, 20000, "d-again", &resp)) {
          EXPECT_EQ(resp.client_bid_id(), "d-again");
          again.stream->WritesDone();
          EXPECT_TRUE(again.stream->Finish().ok());
          return true;
        }
        EXPECT_EQ(again.stream->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
        absl::SleepFor(absl::Milliseconds(20));
        return false;
      },
      absl::Seconds(10)));
  open[1].stream->WritesDone();
  EXPECT_TRUE(open[1].stream->Finish().ok());
}

}  // namespace
}  // namespace gavel
