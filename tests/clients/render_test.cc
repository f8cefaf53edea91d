// clients/cli/render.h: what people read, line for line.
#include "clients/cli/render.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gavel::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t k091403 = 1714554843;  // 2024-05-01T09:14:03Z

v1::AuctionEvent EventAt(uint64_t sequence, int64_t seconds) {
  v1::AuctionEvent e;
  e.set_auction_id("A3");
  e.set_sequence(sequence);
  e.mutable_at()->set_seconds(seconds);
  return e;
}

v1::Auction EnglishAuction() {
  v1::Auction a;
  a.set_auction_id("A3");
  a.set_seller_id("alice");
  a.mutable_spec()->mutable_item()->set_title("Vintage lamp");
  a.mutable_spec()->set_format(v1::ENGLISH);
  a.mutable_spec()->set_currency("EUR");
  a.mutable_spec()->set_start_price_minor(1000);
  a.set_state(v1::OPEN);
  a.set_current_price_minor(1500);
  a.set_leading_bidder_id("bob");
  a.set_bid_count(3);
  a.set_has_reserve(true);
  a.mutable_ends_at()->set_seconds(k091403 + 60);
  return a;
}

TEST(Render, EventLineForAnAcceptedBid) {
  v1::AuctionEvent e = EventAt(12, k091403);
  e.mutable_bid_accepted()->set_price_minor(1500);
  e.mutable_bid_accepted()->set_leading_bidder_id("bob");
  e.mutable_bid_accepted()->set_bid_count(3);
  EXPECT_EQ(EventLine(e, "EUR"), "#12 09:14:03 bid accepted: 15.00 EUR, leader bob (3 bids)");
  e.mutable_bid_accepted()->set_bid_count(1);
  EXPECT_EQ(EventLine(e, "EUR"), "#12 09:14:03 bid accepted: 15.00 EUR, leader bob (1 bid)");
}

TEST(Render, EventLineForASealedBidShowsOnlyTheCount) {
  v1::AuctionEvent e = EventAt(4, k091403);
  e.mutable_bid_accepted()->set_bid_count(4);
  EXPECT_EQ(EventLine(e, "EUR"), "#4 09:14:03 bid accepted (4 bids)");
}

TEST(Render, EventLineForExtensionAndTick) {
  v1::AuctionEvent e = EventAt(14, k091403 + 17);
  e.mutable_extended()->mutable_new_ends_at()->set_seconds(k091403 + 77);
  EXPECT_EQ(EventLine(e, "EUR"), "#14 09:14:20 extended to 2024-05-01T09:15:20Z");
  v1::AuctionEvent tick = EventAt(15, k091403);
  tick.mutable_price_tick()->set_price_minor(4500);
  EXPECT_EQ(EventLine(tick, "JPY"), "#15 09:14:03 price now 4500 JPY");
}

TEST(Render, EventLineForCloseNamesWinnersAndPrice) {
  v1::AuctionEvent e = EventAt(16, k091403);
  v1::Closed* closed = e.mutable_closed();
  closed->set_outcome(v1::SOLD);
  v1::Winner* w = closed->add_winners();
  w->set_bidder_id("bob");
  w->set_quantity(1);
  w->set_price_minor(1500);
  EXPECT_EQ(EventLine(e, "EUR"), "#16 09:14:03 closed: SOLD to bob at 15.00 EUR");

  w->set_quantity(2);
  EXPECT_EQ(EventLine(e, "EUR"), "#16 09:14:03 closed: SOLD to bob, 2 at 15.00 EUR");

  v1::Winner* w2 = closed->add_winners();
  w2->set_bidder_id("carol");
  w2->set_quantity(1);
  w2->set_price_minor(1400);
  EXPECT_EQ(EventLine(e, "EUR"),
            "#16 09:14:03 closed: SOLD to bob (2 at 15.00 EUR), carol (1 at 14.00 EUR)");

  closed->clear_winners();
  closed->set_outcome(v1::UNSOLD_RESERVE_NOT_MET);
  EXPECT_EQ(EventLine(e, "EUR"), "#16 09:14:03 closed: UNSOLD (reserve not met)");
  closed->set_outcome(v1::UNSOLD_NO_BIDS);
  EXPECT_EQ(EventLine(e, "EUR"), "#16 09:14:03 closed: UNSOLD (no bids)");
  closed->set_outcome(v1::CANCELLED_BY_SELLER);
  EXPECT_EQ(EventLine(e, "EUR"), "#16 09:14:03 closed: CANCELLED by the seller");
}

TEST(Render, EventLineForTradesAndStateChanges) {
  v1::AuctionEvent e = EventAt(7, k091403);
  v1::Trade* t = e.mutable_trade();
  t->set_quantity(10);
  t->set_price_minor(1250);
  t->set_buyer_id("bob");
  t->set_seller_id("carol");
  t->set_buy_bid_id("A3-4");
  t->set_sell_bid_id("A3-2");
  EXPECT_EQ(EventLine(e, "EUR"),
            "#7 09:14:03 trade: 10 @ 12.50 EUR, bob buys from carol (A3-4 / A3-2)");
  v1::AuctionEvent s = EventAt(1, k091403);
  s.set_state_changed(v1::OPEN);
  EXPECT_EQ(EventLine(s, "EUR"), "#1 09:14:03 state: open");
}

TEST(Render, BidResultWhenLeading) {
  v1::PlaceBidRequest request;
  request.set_amount_minor(2000);
  v1::PlaceBidResponse response;
  response.set_outcome(v1::ACCEPTED);
  response.set_leading(true);
  response.set_current_price_minor(1250);
  response.set_bid_id("A3-2");
  response.set_message("accepted: you are the leading bidder");  // adds nothing; left out
  EXPECT_EQ(BidResult(request, response, EnglishAuction()),
            "ACCEPTED: you are leading at 12.50 EUR (bid A3-2)");
}

TEST(Render, BidResultWhenOutbidByAProxy) {
  v1::PlaceBidRequest request;
  request.set_amount_minor(1300);
  v1::PlaceBidResponse response;
  response.set_outcome(v1::ACCEPTED);
  response.set_leading(false);
  response.set_current_price_minor(1350);
  response.set_bid_id("A3-5");
  response.set_message("bob's maximum is higher");
  EXPECT_EQ(BidResult(request, response, EnglishAuction()),
            "ACCEPTED: you are not leading; the price is 13.50 EUR (bid A3-5)\n"
            "  bob's maximum is higher");
}

TEST(Render, BidResultForASealedBid) {
  v1::Auction auction = EnglishAuction();
  auction.mutable_spec()->set_format(v1::SEALED_SECOND_PRICE);
  v1::PlaceBidRequest request;
  request.set_amount_minor(4200);
  v1::PlaceBidResponse response;
  response.set_outcome(v1::ACCEPTED);
  response.set_bid_id("A3-9");
  EXPECT_EQ(BidResult(request, response, auction),
            "ACCEPTED: sealed bid of 42.00 EUR recorded (bid A3-9)");
}

TEST(Render, BidResultWhenRejected) {
  v1::PlaceBidRequest request;
  v1::PlaceBidResponse response;
  response.set_outcome(v1::REJECTED);
  response.set_reject_reason(v1::BID_TOO_LOW);
  response.set_message("the least you can bid is 15.50 EUR");
  EXPECT_EQ(BidResult(request, response, EnglishAuction()),
            "REJECTED (BID_TOO_LOW): the least you can bid is 15.50 EUR");
}

TEST(Render, OrderResultCountsFillsAndTheRest) {
  v1::PlaceBidRequest request;
  request.set_side(v1::BUY);
  request.set_quantity(10);
  request.set_amount_minor(1250);
  v1::PlaceBidResponse response;
  response.set_outcome(v1::ACCEPTED);
  response.set_bid_id("A3-7");
  v1::Fill* f = response.add_fills();
  f->set_quantity(4);
  f->set_price_minor(1240);
  f->set_counter_bid_id("A3-5");
  EXPECT_EQ(OrderResult(request, response, "EUR"),
            "ACCEPTED: buy 10 @ 12.50 EUR (order A3-7): filled 4, 6 resting\n"
            "  fill: 4 @ 12.40 EUR against A3-5");
  request.set_immediate_or_cancel(true);
  EXPECT_THAT(OrderResult(request, response, "EUR"),
              HasSubstr("filled 4, 6 cancelled (immediate or cancel)"));
  response.clear_fills();
  request.set_immediate_or_cancel(false);
  EXPECT_EQ(OrderResult(request, response, "EUR"),
            "ACCEPTED: buy 10 @ 12.50 EUR (order A3-7): 10 resting");
}

TEST(Render, AuctionDetailsUseTheAuctionsCurrencyAndLowerCaseWords) {
  std::ostringstream out;
  PrintAuction(EnglishAuction(), out, {{"request id", "req-1"}});
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("auction        A3\n"));
  EXPECT_THAT(text, HasSubstr("format         english\n"));
  EXPECT_THAT(text, HasSubstr("state          open\n"));
  EXPECT_THAT(text, HasSubstr("current price  15.00 EUR\n"));
  EXPECT_THAT(text, HasSubstr("reserve        hidden, not met\n"));
  EXPECT_THAT(text, HasSubstr("ends at        2024-05-01T09:15:03Z\n"));
  EXPECT_THAT(text, HasSubstr("request id     req-1\n"));
  EXPECT_THAT(text, Not(HasSubstr("description")));  // empty values are left out
}

TEST(Render, ADutchAuctionOverShowsTheLastPricePaid) {
  v1::Auction a = EnglishAuction();
  a.mutable_spec()->set_format(v1::DUTCH);
  a.set_bid_count(1);
  a.set_current_price_minor(4500);
  std::ostringstream open;
  PrintAuction(a, open, {});
  EXPECT_THAT(open.str(), HasSubstr("current price  45.00 EUR\n"));
  a.set_state(v1::SETTLED);
  std::ostringstream over;
  PrintAuction(a, over, {});
  EXPECT_THAT(over.str(), HasSubstr("last price paid  45.00 EUR\n"));
  a.set_bid_count(0);  // unsold: where the clock stopped
  std::ostringstream unsold;
  PrintAuction(a, unsold, {});
  EXPECT_THAT(unsold.str(), HasSubstr("current price  45.00 EUR\n"));
}

TEST(Render, AuctionTableRightAlignsPrices) {
  google::protobuf::RepeatedPtrField<v1::Auction> auctions;
  *auctions.Add() = EnglishAuction();
  v1::Auction* yen = auctions.Add();
  *yen = EnglishAuction();
  yen->set_auction_id("A10");
  yen->mutable_spec()->set_currency("JPY");
  yen->set_current_price_minor(1250);
  yen->clear_leading_bidder_id();
  std::ostringstream out;
  PrintAuctionTable(auctions, out);
  EXPECT_EQ(
      out.str(),
      "AUCTION  TITLE         SELLER  FORMAT   STATE      PRICE  BIDS  LEADER  ENDS AT (UTC)\n"
      "A3       Vintage lamp  alice   english  open   15.00 EUR     3  bob     "
      "2024-05-01T09:15:03Z\n"
      "A10      Vintage lamp  alice   english  open    1250 JPY     3  -       "
      "2024-05-01T09:15:03Z\n");
  std::ostringstream empty;
  PrintAuctionTable({}, empty);
  EXPECT_EQ(empty.str(), "no auctions\n");
}

TEST(Render, SettlementShowsWinnersAndTheBidLogWithHashes) {
  v1::Settlement s;
  s.set_auction_id("A3");
  s.set_seller_id("alice");
  s.mutable_spec()->set_currency("EUR");
  s.mutable_spec()->set_format(v1::ENGLISH);
  s.set_outcome(v1::SOLD);
  s.set_final_hash("ff00");
  s.set_spec_hash("aa11");
  s.mutable_created_at()->set_seconds(k091403 - 600);  // listed ten minutes before it closed
  s.mutable_closed_at()->set_seconds(k091403 + 60);
  v1::Winner* w = s.add_winners();
  w->set_bidder_id("bob");
  w->set_quantity(1);
  w->set_price_minor(1500);
  w->set_bid_id("A3-2");
  v1::BidRecord* b = s.add_bids();
  b->set_sequence(2);
  b->set_bid_id("A3-2");
  b->set_bidder_id("bob");
  b->set_amount_minor(2000);
  b->set_quantity(1);
  b->mutable_at()->set_seconds(k091403);
  b->set_result("ACCEPTED");
  b->set_hash("abcdef0123");
  std::ostringstream out;
  PrintSettlement(s, out);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("outcome     sold\n"));
  EXPECT_THAT(text, HasSubstr("final hash  ff00\n"));
  // created_at is when the seller listed it, shown before the close.
  EXPECT_THAT(text, HasSubstr("listed at   2024-05-01T09:04:03Z\n"
                              "closed at   2024-05-01T09:15:03Z\n"));
  EXPECT_THAT(text,
              HasSubstr("winners:\nBIDDER  QTY      PRICE  BID\nbob       1  15.00 EUR  A3-2\n"));
  EXPECT_THAT(
      text,
      HasSubstr("bids:\nSEQ  AT (UTC)              BID   BIDDER     AMOUNT  QTY  RESULT    HASH\n"
                "  2  2024-05-01T09:14:03Z  A3-2  bob     20.00 EUR    1  ACCEPTED  abcdef0123\n"));
}

}  // namespace
}  // namespace gavel::cli
