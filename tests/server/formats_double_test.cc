// DOUBLE_CONTINUOUS and DOUBLE_CALL through gRPC: the server in-process on
// 127.0.0.1:0 without a database, time from a ManualClock, driven through
// the generated stubs.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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

class DoubleFormatsServerTest : public testing::InProcessServerTest {
 protected:

  // A double auction of apples in EUR for ten minutes, reference 1.00 EUR.
  static CreateAuctionRequest DoubleRequest(v1::Format format, const std::string& request_id) {
    CreateAuctionRequest req;
    req.set_request_id(request_id);
    req.mutable_item()->set_title("Apples, per crate");
    req.set_format(format);
    req.set_currency("EUR");
    req.set_start_price_minor(100);
    ToProto(absl::Minutes(10), req.mutable_duration());
    return req;
  }

  grpc::Status Order(const std::string& token, const std::string& auction_id, v1::Side side,
                     int64_t quantity, int64_t price, const std::string& client_bid_id,
                     PlaceBidResponse* resp, bool ioc = false) {
    PlaceBidRequest req;
    req.set_auction_id(auction_id);
    req.set_client_bid_id(client_bid_id);
    req.set_side(side);
    req.set_quantity(quantity);
    req.set_amount_minor(price);
    req.set_immediate_or_cancel(ioc);
    return bidder_->PlaceBid(As(token).get(), req, resp);
  }

  grpc::Status Cancel(const std::string& token, const std::string& auction_id,
                      const std::string& bid_id, v1::CancelBidResponse* resp,
                      const std::string& request_id = "") {
    v1::CancelBidRequest req;
    req.set_request_id(request_id.empty() ? "cancel-" + bid_id : request_id);
    req.set_auction_id(auction_id);
    req.set_bid_id(bid_id);
    return bidder_->CancelBid(As(token).get(), req, resp);
  }

  Auction Get(const std::string& auction_id) {
    v1::GetAuctionRequest get;
    get.set_auction_id(auction_id);
    Auction a;
    grpc::Status st = auctions_->GetAuction(As("dave-token").get(), get, &a);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return a;
  }

  // Reads every event of `auction_id` from the start until the stream ends
  // (after the close event), on its own thread.
  class Watcher {
   public:
    Watcher(v1::AuctionService::Stub* stub, const std::string& auction_id) {
      ctx_.AddMetadata("authorization", "Bearer dave-token");
      ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      v1::WatchAuctionRequest req;
      req.set_auction_id(auction_id);
      req.set_from_sequence(1);
      thread_ = std::thread([this, stub, req] {
        auto reader = stub->WatchAuction(&ctx_, req);
        v1::AuctionEvent e;
        while (reader->Read(&e)) events_.push_back(e);
        status_ = reader->Finish();
      });
    }
    // Waits for the end of the stream.
    const std::vector<v1::AuctionEvent>& Events() {
      if (thread_.joinable()) thread_.join();
      return events_;
    }
    const grpc::Status& status() const { return status_; }
    ~Watcher() {
      ctx_.TryCancel();
      if (thread_.joinable()) thread_.join();
    }

   private:
    grpc::ClientContext ctx_;
    std::thread thread_;
    std::vector<v1::AuctionEvent> events_;
    grpc::Status status_;
  };

};

TEST_F(DoubleFormatsServerTest, ContinuousOrdersTradeWithFillsBookLevelsAndTradeEvents) {
  const Auction a = Create(DoubleRequest(v1::DOUBLE_CONTINUOUS, "c1"));
  ASSERT_EQ(a.state(), v1::OPEN);
  Watcher watcher(auctions_.get(), a.auction_id());

  PlaceBidResponse bob1, bob2, carol, replay;
  ASSERT_TRUE(Order("bob-token", a.auction_id(), v1::SELL, 5, 100, "bob-1", &bob1).ok());
  ASSERT_EQ(bob1.outcome(), v1::ACCEPTED);
  EXPECT_EQ(bob1.fills_size(), 0);
  ASSERT_TRUE(Order("bob-token", a.auction_id(), v1::SELL, 4, 102, "bob-2", &bob2).ok());
  ASSERT_TRUE(Order("carol-token", a.auction_id(), v1::BUY, 7, 102, "carol-1", &carol).ok());
  ASSERT_EQ(carol.outcome(), v1::ACCEPTED);
  ASSERT_EQ(carol.fills_size(), 2);
  EXPECT_EQ(carol.fills(0).counter_bid_id(), bob1.bid_id());
  EXPECT_EQ(carol.fills(0).price_minor(), 100);
  EXPECT_EQ(carol.fills(0).quantity(), 5);
  EXPECT_EQ(carol.fills(1).counter_bid_id(), bob2.bid_id());
  EXPECT_EQ(carol.fills(1).price_minor(), 102);
  EXPECT_EQ(carol.fills(1).quantity(), 2);
  EXPECT_EQ(carol.current_price_minor(), 102);
  // The same client_bid_id answers the same fills again.
  ASSERT_TRUE(Order("carol-token", a.auction_id(), v1::BUY, 1, 500, "carol-1", &replay).ok());
  EXPECT_EQ(replay.bid_id(), carol.bid_id());
  ASSERT_EQ(replay.fills_size(), 2);
  EXPECT_EQ(replay.fills(1).counter_bid_id(), bob2.bid_id());
  EXPECT_EQ(replay.fills(1).quantity(), 2);

  PlaceBidResponse dave;
  ASSERT_TRUE(Order("dave-token", a.auction_id(), v1::BUY, 3, 99, "dave-1", &dave).ok());
  const Auction book = Get(a.auction_id());
  ASSERT_EQ(book.buy_levels_size(), 1);
  EXPECT_EQ(book.buy_levels(0).price_minor(), 99);
  EXPECT_EQ(book.buy_levels(0).quantity(), 3);
  EXPECT_EQ(book.buy_levels(0).orders(), 1);
  ASSERT_EQ(book.sell_levels_size(), 1);
  EXPECT_EQ(book.sell_levels(0).price_minor(), 102);
  EXPECT_EQ(book.sell_levels(0).quantity(), 2);
  EXPECT_EQ(book.current_price_minor(), 102);
  EXPECT_EQ(book.bid_count(), 4);

  clock_.Advance(absl::Minutes(11));
  EXPECT_EQ(Get(a.auction_id()).state(), v1::CLOSED);
  const std::vector<v1::AuctionEvent>& events = watcher.Events();
  ASSERT_TRUE(watcher.status().ok()) << watcher.status().error_message();
  std::vector<v1::Trade> trades;
  for (const v1::AuctionEvent& e : events) {
    if (e.has_trade()) trades.push_back(e.trade());
  }
  ASSERT_EQ(trades.size(), 2u);
  EXPECT_EQ(trades[0].buy_bid_id(), carol.bid_id());
  EXPECT_EQ(trades[0].sell_bid_id(), bob1.bid_id());
  EXPECT_EQ(trades[0].buyer_id(), "carol");
  EXPECT_EQ(trades[0].seller_id(), "bob");
  EXPECT_EQ(trades[0].price_minor(), 100);
  EXPECT_EQ(trades[0].quantity(), 5);
  EXPECT_EQ(trades[1].sell_bid_id(), bob2.bid_id());
  EXPECT_EQ(trades[1].quantity(), 2);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_closed());
  EXPECT_EQ(events.back().closed().outcome(), v1::SOLD);
}

// The answer's message says what happened to the order: rested, filled,
// partly filled with the rest resting, or (immediate or cancel) cancelled.
TEST_F(DoubleFormatsServerTest, AcceptedMessagesSayWhatBecameOfTheOrder) {
  const Auction a = Create(DoubleRequest(v1::DOUBLE_CONTINUOUS, "m1"));
  const std::string& id = a.auction_id();
  PlaceBidResponse r;
  ASSERT_TRUE(Order("bob-token", id, v1::SELL, 5, 100, "s1", &r).ok());
  EXPECT_EQ(r.message(), "accepted: the order rests in the book");
  ASSERT_TRUE(Order("carol-token", id, v1::BUY, 2, 100, "b1", &r).ok());
  EXPECT_EQ(r.message(), "accepted: filled in full (2 unit(s))");
  ASSERT_TRUE(Order("carol-token", id, v1::BUY, 2, 90, "b2", &r, /*ioc=*/true).ok());
  EXPECT_EQ(r.message(), "accepted: nothing crossed, so the order was cancelled (immediate or cancel)");
  ASSERT_TRUE(Order("carol-token", id, v1::BUY, 5, 100, "b3", &r, /*ioc=*/true).ok());
  EXPECT_EQ(r.message(), "accepted: 3 unit(s) traded; the rest was cancelled (immediate or cancel)");
  ASSERT_TRUE(Order("bob-token", id, v1::SELL, 2, 100, "s2", &r).ok());
  ASSERT_TRUE(Order("dave-token", id, v1::BUY, 5, 100, "b4", &r).ok());
  EXPECT_EQ(r.message(), "accepted: 2 unit(s) traded; the rest rests in the book");
  EXPECT_EQ(Get(id).buy_levels(0).quantity(), 3);  // the rest did rest
}

// BidStream keeps a request's key and the engine's answer, and makes the
// protobuf answer only when it writes it: its answers must be PlaceBid's,
// field for field, for orders that rest, trade across levels, are
// immediate-or-cancel, and are resent (a replayed answer, whose fills are
// looked up again), with keys too long for a string's inline buffer.
TEST_F(DoubleFormatsServerTest, BidStreamAnswersOrdersExactlyAsPlaceBidDoes) {
  const Auction by_stream = Create(DoubleRequest(v1::DOUBLE_CONTINUOUS, "s1"));
  const Auction by_call = Create(DoubleRequest(v1::DOUBLE_CONTINUOUS, "u1"));
  PlaceBidResponse r;
  for (const Auction& a : {by_stream, by_call}) {
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(Order("carol-token", a.auction_id(), v1::SELL, 3 + i, 100 + 5 * i,
                        "carol-resting-sell-order-" + std::to_string(i), &r)
                      .ok());
    }
  }
  struct Step {
    v1::Side side;
    int64_t quantity;
    int64_t price;
    bool ioc;
    std::string key;
  };
  // carol's sells: 3 at 100, 4 at 105, 5 at 110, 6 at 115.
  const std::vector<Step> steps = {
      {v1::BUY, 2, 90, false, "bob-rests-below-the-book-0001"},
      {v1::BUY, 5, 107, false, "bob-crosses-two-sells-0002"},          // 3 at 100, 2 at 105
      {v1::BUY, 9, 120, true, "bob-sweeps-immediate-or-cancel-0003"},  // 2, 5, 2 of 6
      {v1::BUY, 1, 95, true, "bob-misses-immediate-or-cancel-0004"},
      {v1::BUY, 5, 107, false, "bob-crosses-two-sells-0002"},  // resent: the same answer
      {v1::BUY, 1, 200, false, "b6"},                          // a short key: 1 of 4 at 115
  };
  auto place = [&](const std::string& auction_id, const Step& s) {
    PlaceBidRequest req;
    req.set_auction_id(auction_id);
    req.set_client_bid_id(s.key);
    req.set_side(s.side);
    req.set_quantity(s.quantity);
    req.set_amount_minor(s.price);
    req.set_immediate_or_cancel(s.ioc);
    return req;
  };
  std::vector<PlaceBidResponse> streamed;
  {
    auto ctx = As("bob-token");
    auto stream = bidder_->BidStream(ctx.get());
    for (const Step& s : steps) ASSERT_TRUE(stream->Write(place(by_stream.auction_id(), s)));
    stream->WritesDone();
    PlaceBidResponse resp;
    while (stream->Read(&resp)) streamed.push_back(resp);
    grpc::Status st = stream->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_EQ(streamed.size(), steps.size());
  // The same bids by unary PlaceBid on the twin auction; the answers may
  // differ only in the auction's id (in every bid id) and the sequence.
  for (size_t i = 0; i < steps.size(); ++i) {
    PlaceBidResponse unary;
    grpc::Status st =
        bidder_->PlaceBid(As("bob-token").get(), place(by_call.auction_id(), steps[i]), &unary);
    ASSERT_TRUE(st.ok()) << st.error_message();
    PlaceBidResponse got = streamed[i];
    EXPECT_EQ(got.client_bid_id(), steps[i].key);
    EXPECT_GT(got.sequence(), 0u);
    got.clear_sequence();
    unary.clear_sequence();
    std::string text = got.ShortDebugString();
    for (size_t at; (at = text.find(by_stream.auction_id())) != std::string::npos;) {
      text.replace(at, by_stream.auction_id().size(), by_call.auction_id());
    }
    EXPECT_EQ(text, unary.ShortDebugString()) << "step " << i;
  }
  // What was compared is not trivial: fills over two and three levels, an
  // IOC that traded and one that did not, and the resent order's answer is
  // its first one.
  EXPECT_EQ(streamed[0].fills_size(), 0);
  EXPECT_EQ(streamed[1].fills_size(), 2);
  EXPECT_EQ(streamed[2].fills_size(), 3);
  EXPECT_EQ(streamed[3].fills_size(), 0);
  EXPECT_EQ(streamed[4].ShortDebugString(), streamed[1].ShortDebugString());
  EXPECT_EQ(streamed[5].fills_size(), 1);
}

TEST_F(DoubleFormatsServerTest, CancelBidOwnOtherAndMalformed) {
  const Auction a = Create(DoubleRequest(v1::DOUBLE_CONTINUOUS, "c1"));
  const Auction other = Create(DoubleRequest(v1::DOUBLE_CONTINUOUS, "c2"));
  PlaceBidResponse bob, carol;
  ASSERT_TRUE(Order("bob-token", a.auction_id(), v1::SELL, 5, 100, "bob-1", &bob).ok());
  ASSERT_TRUE(Order("carol-token", a.auction_id(), v1::BUY, 2, 100, "carol-1", &carol).ok());
  ASSERT_EQ(carol.fills_size(), 1);

  v1::CancelBidResponse resp;
  grpc::Status st = Cancel("carol-token", a.auction_id(), bob.bid_id(), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  st = Cancel("bob-token", a.auction_id(), "A1-x", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("bid_id"), std::string::npos) << st.error_message();
  st = Cancel("bob-token", other.auction_id(), bob.bid_id(), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  st = Cancel("bob-token", a.auction_id(), absl::StrCat(a.auction_id(), "-99"), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);

  st = Cancel("bob-token", a.auction_id(), bob.bid_id(), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(resp.cancelled());
  EXPECT_EQ(resp.quantity_cancelled(), 3);
  EXPECT_EQ(Get(a.auction_id()).sell_levels_size(), 0);
  // Carol's order traded in full: nothing left to cancel.
  v1::CancelBidResponse nothing;
  st = Cancel("carol-token", a.auction_id(), carol.bid_id(), &nothing);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(nothing.cancelled());
  EXPECT_EQ(nothing.quantity_cancelled(), 0);
}

// API.md: repeating a request with the same key returns the first result
// and changes nothing; a cancel's key is its request_id.
TEST_F(DoubleFormatsServerTest, ACancelResentWithItsKeyGetsTheFirstAnswerAndCancelsNothingMore) {
  const Auction a = Create(DoubleRequest(v1::DOUBLE_CONTINUOUS, "k1"));
  PlaceBidResponse first, second, carols;
  ASSERT_TRUE(Order("bob-token", a.auction_id(), v1::SELL, 5, 100, "bob-1", &first).ok());
  ASSERT_TRUE(Order("bob-token", a.auction_id(), v1::SELL, 4, 101, "bob-2", &second).ok());
  ASSERT_TRUE(Order("carol-token", a.auction_id(), v1::BUY, 2, 90, "carol-1", &carols).ok());

  v1::CancelBidResponse resp;
  grpc::Status st = Cancel("bob-token", a.auction_id(), first.bid_id(), &resp, "undo-1");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.quantity_cancelled(), 5);
  // The answer was lost; bob resends: the same answer, not "nothing left".
  v1::CancelBidResponse again;
  st = Cancel("bob-token", a.auction_id(), first.bid_id(), &again, "undo-1");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(again.cancelled());
  EXPECT_EQ(again.quantity_cancelled(), 5);
  EXPECT_EQ(again.message(), resp.message());
  EXPECT_EQ(again.bid_id(), first.bid_id());
  // The same key on his other order is still the first request: nothing
  // more is cancelled.
  v1::CancelBidResponse reused;
  st = Cancel("bob-token", a.auction_id(), second.bid_id(), &reused, "undo-1");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(reused.quantity_cancelled(), 5);
  EXPECT_EQ(reused.bid_id(), first.bid_id()) << "the answer is about the first order";
  Auction view = Get(a.auction_id());
  ASSERT_EQ(view.sell_levels_size(), 1);
  EXPECT_EQ(view.sell_levels(0).quantity(), 4);
  // A refused cancel does not use its key up; keys are per bidder.
  st = Cancel("carol-token", a.auction_id(), second.bid_id(), &resp, "undo-1");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  st = Cancel("carol-token", a.auction_id(), carols.bid_id(), &resp, "undo-1");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.quantity_cancelled(), 2);
  // A new key cancels the other order.
  st = Cancel("bob-token", a.auction_id(), second.bid_id(), &resp, "undo-2");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.quantity_cancelled(), 4);
  EXPECT_EQ(resp.bid_id(), second.bid_id());
  EXPECT_EQ(Get(a.auction_id()).sell_levels_size(), 0);

  // The key is required, here as on every other mutating request.
  v1::CancelBidRequest keyless;
  keyless.set_auction_id(a.auction_id());
  keyless.set_bid_id(second.bid_id());
  st = bidder_->CancelBid(As("bob-token").get(), keyless, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "request_id: is required (an idempotency key)");
  v1::CancelAuctionRequest keyless_auction;
  keyless_auction.set_auction_id(a.auction_id());
  Auction out;
  st = seller_->CancelAuction(As("seller-token").get(), keyless_auction, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "request_id: is required (an idempotency key)");
  // And it is held to the same length as every other key.
  keyless_auction.set_request_id(std::string(129, 'k'));
  st = seller_->CancelAuction(As("seller-token").get(), keyless_auction, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "request_id: at most 128 bytes");
  EXPECT_EQ(Get(a.auction_id()).state(), v1::OPEN) << "a refused cancel changes nothing";
}

TEST_F(DoubleFormatsServerTest, RequestsADoubleAuctionRefusesNameTheField) {
  const Auction a = Create(DoubleRequest(v1::DOUBLE_CONTINUOUS, "c1"));
  PlaceBidResponse resp;
  grpc::Status st = Order("bob-token", a.auction_id(), v1::SIDE_UNSPECIFIED, 1, 100, "b1", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("side"), std::string::npos) << st.error_message();

  CreateAuctionRequest reserve = DoubleRequest(v1::DOUBLE_CALL, "c2");
  reserve.set_reserve_price_minor(500);
  Auction refused;
  st = seller_->CreateAuction(As("seller-token").get(), reserve, &refused);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("reserve_price_minor"), std::string::npos)
      << st.error_message();

  const Auction call = Create(DoubleRequest(v1::DOUBLE_CALL, "c3"));
  st = Order("bob-token", call.auction_id(), v1::BUY, 1, 100, "b2", &resp, /*ioc=*/true);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("immediate_or_cancel"), std::string::npos)
      << st.error_message();
}

TEST_F(DoubleFormatsServerTest, CallMarketPublishesIndicativePricesAndClearsAtTheClose) {
  const Auction a = Create(DoubleRequest(v1::DOUBLE_CALL, "call"));
  Watcher watcher(auctions_.get(), a.auction_id());

  PlaceBidResponse b1, s1, s2, b2;
  ASSERT_TRUE(Order("bob-token", a.auction_id(), v1::BUY, 5, 105, "b1", &b1).ok());
  ASSERT_TRUE(Order("carol-token", a.auction_id(), v1::SELL, 3, 98, "s1", &s1).ok());
  EXPECT_EQ(s1.fills_size(), 0);  // nothing trades before the close
  // Volume 3 at 98 and at 105, buy surplus 2 at both: the higher, 105.
  EXPECT_EQ(s1.current_price_minor(), 105);
  ASSERT_TRUE(Order("dave-token", a.auction_id(), v1::SELL, 4, 101, "s2", &s2).ok());
  // Volume 5 at 101 and 105 (sell surplus 2): the lower, 101.
  ASSERT_TRUE(Order("dave-token", a.auction_id(), v1::BUY, 1, 90, "b2", &b2).ok());  // no change

  const Auction open = Get(a.auction_id());
  EXPECT_EQ(open.indicative_price_minor(), 101);
  EXPECT_EQ(open.indicative_volume(), 5);
  ASSERT_EQ(open.buy_levels_size(), 2);
  EXPECT_EQ(open.buy_levels(0).price_minor(), 105);
  ASSERT_EQ(open.sell_levels_size(), 2);
  EXPECT_EQ(open.sell_levels(0).price_minor(), 98);

  clock_.Advance(absl::Minutes(10));
  const Auction closed = Get(a.auction_id());
  EXPECT_EQ(closed.state(), v1::CLOSED);
  EXPECT_EQ(closed.current_price_minor(), 101);

  const std::vector<v1::AuctionEvent>& events = watcher.Events();
  ASSERT_TRUE(watcher.status().ok()) << watcher.status().error_message();
  std::vector<v1::Indicative> indicative;
  for (const v1::AuctionEvent& e : events) {
    EXPECT_FALSE(e.has_trade());
    if (e.has_indicative()) indicative.push_back(e.indicative());
  }
  ASSERT_EQ(indicative.size(), 2u);
  EXPECT_EQ(indicative[0].price_minor(), 105);
  EXPECT_EQ(indicative[0].volume(), 3);
  EXPECT_EQ(indicative[1].price_minor(), 101);
  EXPECT_EQ(indicative[1].volume(), 5);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_closed());
  EXPECT_EQ(events.back().closed().outcome(), v1::SOLD);
  EXPECT_EQ(events.back().closed().clearing_price_minor(), 101);
}

}  // namespace
}  // namespace gavel
