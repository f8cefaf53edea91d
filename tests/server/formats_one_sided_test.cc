// The one-sided formats besides ENGLISH end to end: the server in-process on
// 127.0.0.1:0 without a database, driven through the generated stubs, with a
// ManualClock so that ticks and closes are deterministic. Each format is
// created, bid on and closed; the closed event and GetAuction must show the
// right winners and prices, sealed auctions must show nothing but the count
// while open, and a Dutch watcher must see the clock's price ticks.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/convert.h"
#include "server/server.h"
#include "tests/server/in_process_server.h"

namespace gavel {
namespace {

using v1::Auction;
using v1::CreateAuctionRequest;
using v1::PlaceBidRequest;
using v1::PlaceBidResponse;

const absl::Time kStart = testing::kServerStart;

class FormatsOneSidedTest : public testing::InProcessServerTest {
 protected:

  // A ten-minute auction of `format`, start 10.00 EUR (reverse: the buyer
  // opens at 100.00 EUR).
  static CreateAuctionRequest Request(const std::string& request_id, v1::Format format) {
    CreateAuctionRequest req;
    req.set_request_id(request_id);
    req.mutable_item()->set_title("Tulip bulbs");
    req.set_format(format);
    req.set_currency("EUR");
    req.set_start_price_minor(format == v1::REVERSE_ENGLISH || format == v1::REVERSE_SEALED ? 10000
                                                                                            : 1000);
    ToProto(absl::Minutes(10), req.mutable_duration());
    return req;
  }

  PlaceBidResponse Bid(const std::string& token, const std::string& auction_id, int64_t amount,
                       int64_t quantity = 0) {
    PlaceBidRequest req;
    req.set_auction_id(auction_id);
    req.set_amount_minor(amount);
    req.set_quantity(quantity);
    req.set_client_bid_id(absl::StrCat("bid-", ++bids_));
    PlaceBidResponse resp;
    grpc::Status st = bidder_->PlaceBid(As(token).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  Auction Get(const std::string& auction_id) {
    v1::GetAuctionRequest get;
    get.set_auction_id(auction_id);
    Auction a;
    grpc::Status st = auctions_->GetAuction(As("carol-token").get(), get, &a);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return a;
  }

  // Moves the clock past the end; the next RPC on the shard closes it.
  Auction CloseAndGet(const std::string& auction_id) {
    clock_.Advance(absl::Minutes(11));
    Auction a = Get(auction_id);
    EXPECT_EQ(a.state(), v1::CLOSED);
    return a;
  }

  // Every event of a closed auction, replayed from the start; the stream
  // ends after the close event.
  std::vector<v1::AuctionEvent> History(const std::string& auction_id) {
    v1::WatchAuctionRequest watch;
    watch.set_auction_id(auction_id);
    watch.set_from_sequence(1);
    auto ctx = As("dave-token");
    auto reader = auctions_->WatchAuction(ctx.get(), watch);
    std::vector<v1::AuctionEvent> events;
    v1::AuctionEvent e;
    while (reader->Read(&e)) events.push_back(e);
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return events;
  }

  static v1::Closed ClosedOf(const std::vector<v1::AuctionEvent>& events) {
    if (events.empty() || !events.back().has_closed()) {
      ADD_FAILURE() << "no closed event at the end";
      return {};
    }
    return events.back().closed();
  }

  struct Won {
    std::string bidder;
    int64_t quantity;
    int64_t price;
    bool operator==(const Won& o) const {
      return bidder == o.bidder && quantity == o.quantity && price == o.price;
    }
    friend void PrintTo(const Won& w, std::ostream* os) {
      *os << "{" << w.bidder << ", " << w.quantity << " at " << w.price << "}";
    }
  };

  static std::vector<Won> WinnersOf(const v1::Closed& closed) {
    std::vector<Won> out;
    for (const v1::Winner& w : closed.winners()) {
      out.push_back({w.bidder_id(), w.quantity(), w.price_minor()});
    }
    return out;
  }

  int bids_ = 0;
};

TEST_F(FormatsOneSidedTest, DutchClockTicksToWatchersAndSellsUnitsAtTheirMoment) {
  // 100.00 EUR, -5.00 every 10 s, floor 40.00, 3 units.
  CreateAuctionRequest req = Request("dutch", v1::DUTCH);
  req.set_start_price_minor(10000);
  req.set_quantity(3);
  req.mutable_dutch()->set_decrement_minor(500);
  ToProto(absl::Seconds(10), req.mutable_dutch()->mutable_tick_interval());
  req.mutable_dutch()->set_floor_price_minor(4000);
  const Auction created = Create(req);
  ASSERT_EQ(created.state(), v1::OPEN);
  EXPECT_EQ(created.current_price_minor(), 10000);
  EXPECT_EQ(FromProto(created.next_tick_at()), kStart + absl::Seconds(10));
  const std::string id = created.auction_id();

  std::vector<v1::AuctionEvent> live;
  grpc::Status watch_status;
  auto watch_ctx = As("dave-token");
  watch_ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchAuctionRequest watch;
  watch.set_auction_id(id);
  watch.set_from_sequence(1);
  std::thread watcher([&] {
    auto reader = auctions_->WatchAuction(watch_ctx.get(), watch);
    v1::AuctionEvent e;
    while (reader->Read(&e)) live.push_back(e);
    watch_status = reader->Finish();
  });

  clock_.Advance(absl::Seconds(25));
  const Auction at25 = Get(id);
  EXPECT_EQ(at25.current_price_minor(), 9000);
  EXPECT_EQ(at25.next_minimum_bid_minor(), 9000);
  EXPECT_EQ(FromProto(at25.next_tick_at()), kStart + absl::Seconds(30));
  EXPECT_EQ(at25.quantity_remaining(), 3);

  // bob takes 2 at the current price, naming no amount.
  const PlaceBidResponse bob = Bid("bob-token", id, 0, 2);
  EXPECT_EQ(bob.outcome(), v1::ACCEPTED) << bob.message();
  EXPECT_TRUE(bob.leading());
  EXPECT_EQ(bob.current_price_minor(), 9000);
  ASSERT_EQ(bob.fills_size(), 1);
  EXPECT_EQ(bob.fills(0).quantity(), 2);
  EXPECT_EQ(bob.fills(0).price_minor(), 9000);

  clock_.Advance(absl::Seconds(10));  // 85.00 at t+30 s
  const PlaceBidResponse low = Bid("carol-token", id, 8000, 1);
  EXPECT_EQ(low.outcome(), v1::REJECTED);
  EXPECT_EQ(low.reject_reason(), v1::BID_TOO_LOW);
  EXPECT_NE(low.message().find("85.00 EUR"), std::string::npos) << low.message();
  // carol wants 5 but the 1 left is all she gets; that sells out.
  const PlaceBidResponse carol = Bid("carol-token", id, 8500, 5);
  EXPECT_EQ(carol.outcome(), v1::ACCEPTED) << carol.message();
  ASSERT_EQ(carol.fills_size(), 1);
  EXPECT_EQ(carol.fills(0).quantity(), 1);
  EXPECT_EQ(carol.fills(0).price_minor(), 8500);
  watcher.join();
  ASSERT_TRUE(watch_status.ok()) << watch_status.error_message();

  const Auction closed = Get(id);
  EXPECT_EQ(closed.state(), v1::CLOSED);
  EXPECT_EQ(closed.quantity_remaining(), 0);

  std::vector<int64_t> tick_prices;
  std::vector<absl::Time> tick_times;
  for (const v1::AuctionEvent& e : live) {
    if (e.has_price_tick()) {
      tick_prices.push_back(e.price_tick().price_minor());
      tick_times.push_back(FromProto(e.at()));
    }
  }
  EXPECT_EQ(tick_prices, (std::vector<int64_t>{9500, 9000, 8500}));
  EXPECT_EQ(tick_times,
            (std::vector<absl::Time>{kStart + absl::Seconds(10), kStart + absl::Seconds(20),
                                     kStart + absl::Seconds(30)}));
  for (size_t i = 1; i < live.size(); ++i) EXPECT_LT(live[i - 1].sequence(), live[i].sequence());
  EXPECT_EQ(WinnersOf(ClosedOf(live)), (std::vector<Won>{{"bob", 2, 9000}, {"carol", 1, 8500}}));
  EXPECT_EQ(ClosedOf(live).outcome(), v1::SOLD);
}

TEST_F(FormatsOneSidedTest, SealedBidsAreHiddenUntilTheCloseThenTheSecondPriceIsPaid) {
  CreateAuctionRequest req = Request("vickrey", v1::SEALED_SECOND_PRICE);
  req.set_reserve_price_minor(2000);
  const std::string id = Create(req).auction_id();

  const PlaceBidResponse bob = Bid("bob-token", id, 5000);
  const PlaceBidResponse carol = Bid("carol-token", id, 3000);
  for (const PlaceBidResponse& r : {bob, carol}) {
    EXPECT_EQ(r.outcome(), v1::ACCEPTED) << r.message();
    EXPECT_FALSE(r.leading());
    EXPECT_EQ(r.current_price_minor(), 0);
  }
  const PlaceBidResponse low = Bid("dave-token", id, 999);
  EXPECT_EQ(low.reject_reason(), v1::BID_TOO_LOW);

  const Auction open = Get(id);
  EXPECT_EQ(open.state(), v1::OPEN);
  EXPECT_EQ(open.bid_count(), 2);
  EXPECT_EQ(open.current_price_minor(), 0);
  EXPECT_TRUE(open.leading_bidder_id().empty());
  EXPECT_FALSE(open.reserve_met());
  EXPECT_EQ(open.spec().reserve_price_minor(), 0);
  EXPECT_TRUE(open.has_reserve());
  v1::ListAuctionsRequest list;
  v1::ListAuctionsResponse listed;
  ASSERT_TRUE(auctions_->ListAuctions(As("bob-token").get(), list, &listed).ok());
  ASSERT_EQ(listed.auctions_size(), 1);
  EXPECT_EQ(listed.auctions(0).bid_count(), 2);
  EXPECT_EQ(listed.auctions(0).current_price_minor(), 0);
  EXPECT_TRUE(listed.auctions(0).leading_bidder_id().empty());

  const Auction closed = CloseAndGet(id);
  EXPECT_EQ(closed.current_price_minor(), 3000);
  EXPECT_EQ(closed.leading_bidder_id(), "bob");
  EXPECT_TRUE(closed.reserve_met());
  const std::vector<v1::AuctionEvent> events = History(id);
  for (const v1::AuctionEvent& e : events) {
    if (!e.has_bid_accepted()) continue;
    EXPECT_EQ(e.bid_accepted().price_minor(), 0);
    EXPECT_TRUE(e.bid_accepted().leading_bidder_id().empty());
  }
  EXPECT_EQ(ClosedOf(events).outcome(), v1::SOLD);
  EXPECT_EQ(WinnersOf(ClosedOf(events)), (std::vector<Won>{{"bob", 1, 3000}}));
}

TEST_F(FormatsOneSidedTest, SealedFirstPriceWinnerPaysTheirBidAndALaterEqualBidLoses) {
  const std::string id = Create(Request("first", v1::SEALED_FIRST_PRICE)).auction_id();
  Bid("bob-token", id, 4000);
  Bid("carol-token", id, 4500);
  Bid("bob-token", id, 4500);  // replaces bob's bid; now the later of the two
  const Auction closed = CloseAndGet(id);
  EXPECT_EQ(closed.current_price_minor(), 4500);
  EXPECT_EQ(WinnersOf(ClosedOf(History(id))), (std::vector<Won>{{"carol", 1, 4500}}));
}

TEST_F(FormatsOneSidedTest, MultiUnitUniformAndPayAsBidAllocateByRank) {
  CreateAuctionRequest uniform = Request("uniform", v1::MULTI_UNIT_UNIFORM);
  uniform.set_quantity(5);
  CreateAuctionRequest yankee = Request("yankee", v1::MULTI_UNIT_PAY_AS_BID);
  yankee.set_quantity(5);
  const std::string u = Create(uniform).auction_id();
  const std::string y = Create(yankee).auction_id();
  for (const std::string& id : {u, y}) {
    EXPECT_EQ(Bid("bob-token", id, 1200, 3).outcome(), v1::ACCEPTED);
    EXPECT_EQ(Bid("carol-token", id, 1100, 1).outcome(), v1::ACCEPTED);
    EXPECT_EQ(Bid("dave-token", id, 1100, 3).outcome(), v1::ACCEPTED);
    const PlaceBidResponse too_many = Bid("dave-token", id, 1500, 6);
    EXPECT_EQ(too_many.reject_reason(), v1::QUANTITY_UNAVAILABLE);
    EXPECT_NE(too_many.message().find("5 unit"), std::string::npos) << too_many.message();
    EXPECT_EQ(Get(id).current_price_minor(), 0);
  }
  CloseAndGet(u);
  // Uniform: price, then the earlier: carol before dave, dave gets the 1 left.
  EXPECT_EQ(WinnersOf(ClosedOf(History(u))),
            (std::vector<Won>{{"bob", 3, 1100}, {"carol", 1, 1100}, {"dave", 1, 1100}}));
  EXPECT_EQ(ClosedOf(History(u)).clearing_price_minor(), 1100);
  // Pay-as-bid: price, then the larger quantity: dave before carol.
  EXPECT_EQ(WinnersOf(ClosedOf(History(y))),
            (std::vector<Won>{{"bob", 3, 1200}, {"dave", 2, 1100}}));
  EXPECT_EQ(Get(y).quantity_remaining(), 0);
}

TEST_F(FormatsOneSidedTest, ReverseEnglishGoesDownAndPaysTheLowestBid) {
  CreateAuctionRequest req = Request("reverse", v1::REVERSE_ENGLISH);
  req.set_reserve_price_minor(9000);  // the buyer's hidden ceiling
  const Auction created = Create(req);
  const std::string id = created.auction_id();
  EXPECT_EQ(created.next_minimum_bid_minor(), 10000);  // the most a first bid may be

  const PlaceBidResponse high = Bid("bob-token", id, 10001);
  EXPECT_EQ(high.outcome(), v1::REJECTED);
  EXPECT_EQ(high.reject_reason(), v1::BID_NOT_IMPROVING);
  EXPECT_NE(high.message().find("100.00 EUR"), std::string::npos) << high.message();
  const PlaceBidResponse bob = Bid("bob-token", id, 9500);
  EXPECT_TRUE(bob.leading());
  EXPECT_EQ(bob.current_price_minor(), 9500);
  Auction now = Get(id);
  EXPECT_EQ(now.leading_bidder_id(), "bob");
  EXPECT_EQ(now.next_minimum_bid_minor(), 9400);  // 95.00 - inc(95.00)
  EXPECT_FALSE(now.reserve_met());
  EXPECT_EQ(Bid("carol-token", id, 9401).reject_reason(), v1::BID_NOT_IMPROVING);
  EXPECT_TRUE(Bid("carol-token", id, 8800).leading());
  const Auction closed = CloseAndGet(id);
  EXPECT_EQ(closed.leading_bidder_id(), "carol");
  EXPECT_TRUE(closed.reserve_met());
  EXPECT_EQ(WinnersOf(ClosedOf(History(id))), (std::vector<Won>{{"carol", 1, 8800}}));
}

TEST_F(FormatsOneSidedTest, ReverseSealedLowestWinsAndTheCeilingCanLeaveItUnsold) {
  CreateAuctionRequest ok = Request("reverse-sealed", v1::REVERSE_SEALED);
  CreateAuctionRequest ceiling = Request("reverse-sealed-ceiling", v1::REVERSE_SEALED);
  ceiling.set_reserve_price_minor(6000);
  const std::string a = Create(ok).auction_id();
  const std::string b = Create(ceiling).auction_id();
  for (const std::string& id : {a, b}) {
    EXPECT_EQ(Bid("bob-token", id, 10500).reject_reason(), v1::BID_NOT_IMPROVING);
    EXPECT_EQ(Bid("bob-token", id, 7000).outcome(), v1::ACCEPTED);
    EXPECT_EQ(Bid("carol-token", id, 6500).outcome(), v1::ACCEPTED);
    EXPECT_EQ(Get(id).current_price_minor(), 0);
    EXPECT_TRUE(Get(id).leading_bidder_id().empty());
  }
  CloseAndGet(a);
  EXPECT_EQ(WinnersOf(ClosedOf(History(a))), (std::vector<Won>{{"carol", 1, 6500}}));
  const v1::Closed unsold = ClosedOf(History(b));
  EXPECT_EQ(unsold.outcome(), v1::UNSOLD_RESERVE_NOT_MET);
  EXPECT_EQ(unsold.winners_size(), 0);
}

TEST_F(FormatsOneSidedTest, FormatFieldsThatDoNotApplyAreInvalidArgumentsNamingThem) {
  struct Case {
    v1::Format format;
    std::function<void(CreateAuctionRequest*)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {v1::DUTCH, [](CreateAuctionRequest*) {}, "dutch.decrement_minor"},
      {v1::DUTCH,
       [](CreateAuctionRequest* r) {
         r->mutable_dutch()->set_decrement_minor(100);
         ToProto(absl::Seconds(5), r->mutable_dutch()->mutable_tick_interval());
         r->mutable_dutch()->set_floor_price_minor(2000);
       },
       "dutch.floor_price_minor"},
      {v1::SEALED_FIRST_PRICE, [](CreateAuctionRequest* r) { r->set_quantity(2); }, "quantity"},
      {v1::SEALED_SECOND_PRICE, [](CreateAuctionRequest* r) { r->set_buy_now_price_minor(5000); },
       "buy_now_price_minor"},
      {v1::REVERSE_ENGLISH, [](CreateAuctionRequest* r) { r->set_reserve_price_minor(20000); },
       "reserve_price_minor"},
      {v1::MULTI_UNIT_UNIFORM,
       [](CreateAuctionRequest* r) {
         ToProto(absl::Seconds(5), r->mutable_soft_close()->mutable_window());
         ToProto(absl::Seconds(5), r->mutable_soft_close()->mutable_extension());
       },
       "soft_close"},
  };
  int n = 0;
  for (const Case& c : cases) {
    CreateAuctionRequest req = Request(absl::StrCat("bad-", ++n), c.format);
    c.mutate(&req);
    Auction a;
    grpc::Status st = seller_->CreateAuction(As("seller-token").get(), req, &a);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(st.error_message().rfind(c.field, 0), 0u) << st.error_message();
  }
}

}  // namespace
}  // namespace gavel
