// The server in-process on 127.0.0.1:0, without a database, driven through
// the generated stubs; time is a ManualClock so closing is deterministic.
#include "server/server.h"

#include <algorithm>
#include <filesystem>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/clock.h"
#include "gavel/v1/gavel.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "server/convert.h"
#include "server/runtime.h"
#include "tests/server/in_process_server.h"

namespace gavel {
namespace {

using v1::Auction;
using v1::CreateAuctionRequest;
using v1::PlaceBidRequest;
using v1::PlaceBidResponse;

const absl::Time kStart = testing::kServerStart;

class ServerTest : public testing::InProcessServerTest {
 protected:
  grpc::Status Bid(const std::string& token, const std::string& auction_id, int64_t amount,
                   const std::string& client_bid_id, PlaceBidResponse* resp) {
    PlaceBidRequest req;
    req.set_auction_id(auction_id);
    req.set_amount_minor(amount);
    req.set_client_bid_id(client_bid_id);
    return bidder_->PlaceBid(As(token).get(), req, resp);
  }

};

TEST_F(ServerTest, MissingOrUnknownTokenIsUnauthenticated) {
  Auction a;
  EXPECT_EQ(seller_->CreateAuction(As("").get(), EnglishRequest("r1"), &a).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(seller_->CreateAuction(As("forged").get(), EnglishRequest("r1"), &a).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::GetAuctionRequest get;
  get.set_auction_id("A1");
  EXPECT_EQ(auctions_->GetAuction(As("").get(), get, &a).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ServerTest, TwoAuthorizationHeadersAreRefusedWhateverTheirOrder) {
  const Auction a = Create(EnglishRequest("r1"));
  for (const auto& [first, second] :
       {std::pair<std::string, std::string>{"bob-token", "carol-token"},
        {"bob-token", "forged"},
        {"forged", "bob-token"}}) {
    auto ctx = As(first);
    ctx->AddMetadata("authorization", "Bearer " + second);
    PlaceBidRequest req;
    req.set_auction_id(a.auction_id());
    req.set_client_bid_id("b1");
    req.set_amount_minor(2000);
    PlaceBidResponse resp;
    const grpc::Status st = bidder_->PlaceBid(ctx.get(), req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << first << " " << second;
    EXPECT_EQ(st.error_message(),
              "several `authorization` metadata entries: send exactly one `Bearer <token>`");
  }
  v1::GetAuctionRequest get;
  get.set_auction_id(a.auction_id());
  Auction view;
  ASSERT_TRUE(auctions_->GetAuction(As("bob-token").get(), get, &view).ok());
  EXPECT_EQ(view.bid_count(), 0) << "no bid was placed";
}

// A page of 500 auctions with long descriptions would pass gRPC's default
// 4 MiB receive limit (the client would get RESOURCE_EXHAUSTED, whatever it
// retried): pages stop at kMaxPageBytes and carry on with the token.
TEST_F(ServerTest, ListPagesStayBelowTheDefaultReceiveLimit) {
  constexpr int kAuctions = 400;  // 400 x 10 kB: about 4 MB
  for (int i = 0; i < kAuctions; ++i) {
    CreateAuctionRequest req = EnglishRequest(absl::StrCat("long-", i));
    req.mutable_item()->set_description(std::string(10'000, 'd'));
    Create(req);
  }
  v1::ListAuctionsRequest req;
  req.set_page_size(500);
  std::set<std::string> seen;
  int pages = 0;
  for (;;) {
    v1::ListAuctionsResponse resp;
    const grpc::Status st = auctions_->ListAuctions(As("bob-token").get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ++pages;
    EXPECT_LE(resp.ByteSizeLong(), kMaxPageBytes + 16'000);
    for (const Auction& a : resp.auctions()) EXPECT_TRUE(seen.insert(a.auction_id()).second);
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kAuctions)) << "none lost, none twice";
  EXPECT_EQ(pages, 2);
}

TEST(KeepWhatFitsTest, KeepsAtLeastOneAndCutsBeforeTheBudget) {
  google::protobuf::RepeatedPtrField<Auction> items;
  for (int i = 0; i < 5; ++i) items.Add()->set_auction_id(std::string(100, 'a'));
  const size_t one = items.Get(0).ByteSizeLong() + 6;
  EXPECT_EQ(KeepWhatFits(&items, 3 * one), 3);
  EXPECT_EQ(items.size(), 3);
  EXPECT_EQ(KeepWhatFits(&items, 1), 1) << "one item is always kept";
  EXPECT_EQ(items.size(), 1);
  google::protobuf::RepeatedPtrField<Auction> none;
  EXPECT_EQ(KeepWhatFits(&none, 1), 0);
}

TEST_F(ServerTest, ListSettlementsRefusesTimesThatAreNotTimes) {
  for (int32_t nanos : {-1, 2'000'000'000}) {
    v1::ListSettlementsRequest list;
    list.mutable_closed_after()->set_seconds(1'800'000'000);
    list.mutable_closed_after()->set_nanos(nanos);
    v1::ListSettlementsResponse settlements;
    grpc::Status st = audit_->ListSettlements(As("audit-token").get(), list, &settlements);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << nanos;
    EXPECT_EQ(st.error_message(), "closed_after: is not a valid time") << nanos;
    list.clear_closed_after();
    list.mutable_closed_before()->set_seconds(300'000'000'000);  // after 9999
    st = audit_->ListSettlements(As("audit-token").get(), list, &settlements);
    EXPECT_EQ(st.error_message(), "closed_before: is not a valid time");
  }
}

TEST_F(ServerTest, WrongRoleIsPermissionDenied) {
  Auction a = Create(EnglishRequest("r1"));
  PlaceBidResponse resp;
  EXPECT_EQ(Bid("audit-token", a.auction_id(), 2000, "b1", &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  Auction b;
  EXPECT_EQ(seller_->CreateAuction(As("bob-token").get(), EnglishRequest("r2"), &b).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListSettlementsRequest list;
  v1::ListSettlementsResponse settlements;
  EXPECT_EQ(audit_->ListSettlements(As("bob-token").get(), list, &settlements).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ServerTest, MalformedRequestsNameTheField) {
  struct Case {
    std::string name;
    std::function<void(CreateAuctionRequest*)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {"no request id", [](CreateAuctionRequest* r) { r->clear_request_id(); }, "request_id"},
      {"no title", [](CreateAuctionRequest* r) { r->mutable_item()->clear_title(); },
       "item.title"},
      {"lower-case currency", [](CreateAuctionRequest* r) { r->set_currency("eur"); },
       "currency"},
      {"no format", [](CreateAuctionRequest* r) { r->set_format(v1::FORMAT_UNSPECIFIED); },
       "format"},
      {"zero start", [](CreateAuctionRequest* r) { r->set_start_price_minor(0); },
       "start_price_minor"},
      {"both end and duration",
       [](CreateAuctionRequest* r) { ToProto(kStart + absl::Hours(1), r->mutable_ends_at()); },
       "ends_at"},
      {"reserve below start", [](CreateAuctionRequest* r) { r->set_reserve_price_minor(500); },
       "reserve_price_minor"},
  };
  for (const Case& c : cases) {
    CreateAuctionRequest req = EnglishRequest("r-" + c.name);
    c.mutate(&req);
    Auction a;
    grpc::Status st = seller_->CreateAuction(As("seller-token").get(), req, &a);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_NE(st.error_message().find(c.field), std::string::npos)
        << c.name << ": " << st.error_message();
  }
  Auction a = Create(EnglishRequest("ok"));
  PlaceBidResponse resp;
  grpc::Status st = Bid("bob-token", a.auction_id(), 2000, "", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("client_bid_id"), std::string::npos);
  st = Bid("bob-token", "not-an-id", 2000, "b1", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("auction_id"), std::string::npos);
  PlaceBidRequest sided;
  sided.set_auction_id(a.auction_id());
  sided.set_client_bid_id("b3");
  sided.set_amount_minor(2000);
  sided.set_side(v1::BUY);
  st = bidder_->PlaceBid(As("bob-token").get(), sided, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("side"), std::string::npos) << st.error_message();
  st = Bid("bob-token", a.auction_id(), -5, "b2", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("amount_minor"), std::string::npos);
}

// A bad duration is refused naming the field the client sent, and saying
// what is wrong with it (it used to blame ends_at, a field not sent).
TEST_F(ServerTest, DurationsOverAYearNameTheirField) {
  struct Case {
    std::string name;
    std::function<void(CreateAuctionRequest*)> mutate;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"400 days", [](CreateAuctionRequest* r) { r->mutable_duration()->set_seconds(400 * 86400); },
       "duration: must be at most 366 days"},
      {"100 years",
       [](CreateAuctionRequest* r) { r->mutable_duration()->set_seconds(3'153'600'000); },
       "duration: must be at most 366 days"},
      {"a year and a nanosecond",
       [](CreateAuctionRequest* r) {
         r->mutable_duration()->set_seconds(366 * 86400);
         r->mutable_duration()->set_nanos(1);
       },
       "duration: must be at most 366 days"},
      {"negative", [](CreateAuctionRequest* r) { r->mutable_duration()->set_seconds(-5); },
       "duration: must not be negative"},
      {"nanos out of range",
       [](CreateAuctionRequest* r) {
         r->mutable_duration()->set_seconds(10);
         r->mutable_duration()->set_nanos(2'000'000'000);
       },
       "duration: is not a valid duration: nanos must be within ±999999999"},
      {"signs differ",
       [](CreateAuctionRequest* r) {
         r->mutable_duration()->set_seconds(5);
         r->mutable_duration()->set_nanos(-1);
       },
       "duration: is not a valid duration: seconds and nanos must have the same sign"},
      {"ends after 2200, from starts_at",
       [](CreateAuctionRequest* r) {
         r->mutable_starts_at()->set_seconds(7'258'118'400 - 100);  // 2199-12-31T23:58:20Z
         r->mutable_duration()->set_seconds(3600);
       },
       "duration: ends the auction too late: counted from starts_at, an auction must end before "
       "2200-01-01T00:00:00Z"},
      {"soft close cap",
       [](CreateAuctionRequest* r) {
         v1::SoftClose* sc = r->mutable_soft_close();
         sc->mutable_window()->set_seconds(60);
         sc->mutable_extension()->set_seconds(60);
         sc->mutable_cap()->set_seconds(4000LL * 86400);
       },
       "soft_close.cap: must be at most 366 days"},
      {"soft close cap of 0",
       [](CreateAuctionRequest* r) {
         v1::SoftClose* sc = r->mutable_soft_close();
         sc->mutable_window()->set_seconds(60);
         sc->mutable_extension()->set_seconds(60);
       },
       "soft_close.cap: must be positive: the most bids may extend the auction in all (0 would "
       "let none extend it; leave soft_close unset for a hard close)"},
  };
  for (const Case& c : cases) {
    CreateAuctionRequest req = EnglishRequest("dur-" + c.name);
    c.mutate(&req);
    Auction a;
    grpc::Status st = seller_->CreateAuction(As("seller-token").get(), req, &a);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_EQ(st.error_message(), c.expected) << c.name;
  }
  // A year exactly is allowed.
  CreateAuctionRequest year = EnglishRequest("dur-year");
  year.mutable_duration()->set_seconds(366 * 86400);
  Auction a;
  grpc::Status st = seller_->CreateAuction(As("seller-token").get(), year, &a);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// A second server on a port in use is refused (gRPC's default SO_REUSEPORT
// would let it start and take half the connections to its own engine), and
// so is a --listen that is not HOST:PORT with a port gRPC can bind.
TEST_F(ServerTest, ASecondServerOnThePortOrABadListenAddressIsRefused) {
  auto start = [](const std::string& listen) {
    absl::StatusOr<TokenTable> tokens = TokenTable::Parse(kTokens);
    EXPECT_TRUE(tokens.ok());
    ServerOptions options;
    options.listen = listen;
    options.shards = 1;
    absl::StatusOr<std::unique_ptr<GavelServer>> other =
        GavelServer::Start(options, *std::move(tokens));
    if (other.ok()) (*other)->Shutdown();
    return other.status();
  };
  absl::Status same_port = start(target_);
  EXPECT_EQ(same_port.code(), absl::StatusCode::kUnavailable) << same_port;
  EXPECT_EQ(same_port.message(),
            absl::StrCat("cannot listen on ", target_,
                         ": the port is in use, or the host is not an address of this machine"));
  for (const std::string bad : {"127.0.0.1:99999", "127.0.0.1:65536", "nonsense",
                                "127.0.0.1:", ":50051", "127.0.0.1:-1", "127.0.0.1:50x"}) {
    absl::Status st = start(bad);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.message(), absl::StrCat("--listen: \"", bad,
                                         "\" is not HOST:PORT with a port from 0 to 65535 "
                                         "(like 127.0.0.1:50051)"))
        << bad;
  }
  // The server already listening still answers.
  EXPECT_EQ(Create(EnglishRequest("still-here")).state(), v1::OPEN);
}

// ENGLISH has no clock: a dutch clock is refused like every other parameter
// a format has no use for, not ignored; an empty one is no clock.
TEST_F(ServerTest, AnEnglishAuctionWithADutchClockIsRefused) {
  CreateAuctionRequest req = EnglishRequest("english-clock");
  req.mutable_dutch()->set_decrement_minor(100);
  req.mutable_dutch()->mutable_tick_interval()->set_seconds(60);
  Auction a;
  grpc::Status st = seller_->CreateAuction(As("seller-token").get(), req, &a);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "dutch: does not apply to ENGLISH; only a DUTCH auction has a clock (leave it unset)");
  req.mutable_dutch()->Clear();
  st = seller_->CreateAuction(As("seller-token").get(), req, &a);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// Titles and categories with control characters, C1 controls or the
// bidirectional overrides are refused (they would reach other users'
// terminals and pages); a description may have newlines and tabs.
TEST_F(ServerTest, ControlCharactersInItemTextAreRefused) {
  struct Case {
    std::string name;
    std::function<void(CreateAuctionRequest*)> mutate;
    std::string expected;  // empty: accepted
  };
  const std::vector<Case> cases = {
      {"escape in title",
       [](CreateAuctionRequest* r) { r->mutable_item()->set_title("lamp\x1b[31mred"); },
       "item.title: must not contain control characters (U+001B at byte 4)"},
      {"newline in title", [](CreateAuctionRequest* r) { r->mutable_item()->set_title("a\nb"); },
       "item.title: must not contain control characters (U+000A at byte 1)"},
      {"right-to-left override in title",
       [](CreateAuctionRequest* r) { r->mutable_item()->set_title("abc\u202Etxt.exe"); },
       "item.title: must not contain control characters (U+202E at byte 3)"},
      {"isolate in category",
       [](CreateAuctionRequest* r) { r->mutable_item()->set_category("x\u2066"); },
       "item.category: must not contain control characters (U+2066 at byte 1)"},
      {"C1 control in category",
       [](CreateAuctionRequest* r) { r->mutable_item()->set_category("\u0085"); },
       "item.category: must not contain control characters (U+0085 at byte 0)"},
      {"bell in description",
       [](CreateAuctionRequest* r) { r->mutable_item()->set_description("ding\x07"); },
       "item.description: must not contain control characters (U+0007 at byte 4)"},
      {"lines and tabs in description",
       [](CreateAuctionRequest* r) {
         r->mutable_item()->set_description("Brass.\n\tHeight: 40 cm\nZoë \u2014 5 \u20ac");
       },
       ""},
  };
  for (const Case& c : cases) {
    CreateAuctionRequest req = EnglishRequest("ctl-" + c.name);
    c.mutate(&req);
    Auction a;
    grpc::Status st = seller_->CreateAuction(As("seller-token").get(), req, &a);
    if (c.expected.empty()) {
      EXPECT_TRUE(st.ok()) << c.name << ": " << st.error_message();
      EXPECT_EQ(a.spec().item().description(), req.item().description()) << c.name;
    } else {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
      EXPECT_EQ(st.error_message(), c.expected) << c.name;
    }
  }
}

// Any message longer than kMaxStatusMessageBytes is cut, at a character
// boundary, keeping its code.
TEST(ToGrpcTest, CutsLongMessagesAtACharacterBoundary) {
  // "é" is two bytes: one of them would straddle the limit.
  const std::string message = std::string(kMaxStatusMessageBytes - 1, 'x') + "\xc3\xa9 and more";
  grpc::Status st = ToGrpc(absl::InvalidArgumentError(message));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), std::string(kMaxStatusMessageBytes - 1, 'x') + "... (message cut)");
  const std::string short_message(kMaxStatusMessageBytes, 'y');
  EXPECT_EQ(ToGrpc(absl::NotFoundError(short_message)).error_message(), short_message);
  EXPECT_TRUE(ToGrpc(absl::OkStatus()).ok());
}

// A value echoed in an error is quoted short and escaped: a 9000-byte id
// used to come back whole, past gRPC's 8 KiB limit for trailers, so that
// the client saw RESOURCE_EXHAUSTED about metadata instead of the error.
TEST_F(ServerTest, LongOrBinaryIdsComeBackShortAndEscapedInTheError) {
  const std::string long_id = "A" + std::string(9000, '7') + "x";
  v1::GetAuctionRequest get;
  get.set_auction_id(long_id);
  Auction out;
  grpc::Status st = auctions_->GetAuction(As("bob-token").get(), get, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_NE(st.error_message().find("auction_id: \"A777"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("(9002 bytes)"), std::string::npos) << st.error_message();
  EXPECT_LT(st.error_message().size(), 200u);

  PlaceBidResponse resp;
  st = Bid("bob-token", "A1\x1b[31m\n", 2000, "b1", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("\"A1\\x1b[31m\\n\""), std::string::npos) << st.error_message();

  Auction a = Create(EnglishRequest("for-cancel"));
  v1::CancelBidRequest cancel;
  cancel.set_auction_id(a.auction_id());
  cancel.set_bid_id(a.auction_id() + "-" + std::string(20000, '1'));
  cancel.set_request_id("c1");
  v1::CancelBidResponse cancelled;
  st = bidder_->CancelBid(As("bob-token").get(), cancel, &cancelled);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_NE(st.error_message().find("bid_id"), std::string::npos) << st.error_message();
  EXPECT_LT(st.error_message().size(), 200u);
}

TEST_F(ServerTest, UnknownAuctionIsNotFound) {
  PlaceBidResponse resp;
  EXPECT_EQ(Bid("bob-token", "A999999", 2000, "b1", &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetAuctionRequest get;
  get.set_auction_id("A999999");
  Auction a;
  EXPECT_EQ(auctions_->GetAuction(As("bob-token").get(), get, &a).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::WatchAuctionRequest watch;
  watch.set_auction_id("A999999");
  auto ctx = As("bob-token");
  auto reader = auctions_->WatchAuction(ctx.get(), watch);
  v1::AuctionEvent e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, RepeatedClientBidIdReturnsTheFirstAnswer) {
  Auction a = Create(EnglishRequest("r1"));
  PlaceBidResponse first, again, other;
  ASSERT_TRUE(Bid("bob-token", a.auction_id(), 5000, "bob-1", &first).ok());
  EXPECT_EQ(first.outcome(), v1::ACCEPTED);
  ASSERT_TRUE(Bid("carol-token", a.auction_id(), 3000, "carol-1", &other).ok());
  // The retry with a different amount changes nothing and answers as before.
  ASSERT_TRUE(Bid("bob-token", a.auction_id(), 9000, "bob-1", &again).ok());
  EXPECT_EQ(again.bid_id(), first.bid_id());
  EXPECT_EQ(again.sequence(), first.sequence());
  EXPECT_EQ(again.current_price_minor(), first.current_price_minor());
  v1::GetAuctionRequest get;
  get.set_auction_id(a.auction_id());
  Auction now;
  ASSERT_TRUE(auctions_->GetAuction(As("bob-token").get(), get, &now).ok());
  EXPECT_EQ(now.bid_count(), 2);
  EXPECT_EQ(now.leading_bidder_id(), "bob");
  // Proxy: carol's 30.00 is beaten by one increment (3000 + 100).
  EXPECT_EQ(now.current_price_minor(), 3100);
  // The same key from another bidder is another bid.
  PlaceBidResponse carol_again;
  ASSERT_TRUE(Bid("carol-token", a.auction_id(), 6000, "bob-1", &carol_again).ok());
  EXPECT_NE(carol_again.bid_id(), first.bid_id());
  // CreateAuction is idempotent too.
  Auction again_created = Create(EnglishRequest("r1"));
  EXPECT_EQ(again_created.auction_id(), a.auction_id());
}

TEST_F(ServerTest, SealedBidAnswerRevealsNothingAboutOtherBids) {
  CreateAuctionRequest req = EnglishRequest("sealed");
  req.set_format(v1::SEALED_SECOND_PRICE);
  Auction a = Create(req);
  PlaceBidResponse first, second;
  ASSERT_TRUE(Bid("bob-token", a.auction_id(), 5000, "b1", &first).ok());
  ASSERT_TRUE(Bid("carol-token", a.auction_id(), 3000, "c1", &second).ok());
  for (const PlaceBidResponse& r : {first, second}) {
    EXPECT_EQ(r.outcome(), v1::ACCEPTED);
    EXPECT_FALSE(r.leading());
    EXPECT_EQ(r.current_price_minor(), 0);
    EXPECT_NE(r.message().find("sealed"), std::string::npos) << r.message();
    EXPECT_EQ(r.message().find("higher"), std::string::npos) << r.message();
  }
}

TEST_F(ServerTest, SellerBiddingWithAnotherTokenIsSelfBid) {
  Auction a = Create(EnglishRequest("r1"));
  PlaceBidResponse resp;
  ASSERT_TRUE(Bid("alice-bids", a.auction_id(), 2000, "x", &resp).ok());
  EXPECT_EQ(resp.outcome(), v1::REJECTED);
  EXPECT_EQ(resp.reject_reason(), v1::SELF_BID);
  EXPECT_FALSE(resp.message().empty());
}

TEST_F(ServerTest, LowBidIsRejectedWithTheMinimum) {
  Auction a = Create(EnglishRequest("r1"));
  PlaceBidResponse resp;
  ASSERT_TRUE(Bid("bob-token", a.auction_id(), 999, "x", &resp).ok());
  EXPECT_EQ(resp.outcome(), v1::REJECTED);
  EXPECT_EQ(resp.reject_reason(), v1::BID_TOO_LOW);
  EXPECT_NE(resp.message().find("10.00 EUR"), std::string::npos) << resp.message();
}

TEST_F(ServerTest, WatchReceivesEveryEventInOrderAndEndsAfterClose) {
  CreateAuctionRequest req = EnglishRequest("r1");
  v1::SoftClose* sc = req.mutable_soft_close();
  ToProto(absl::Minutes(2), sc->mutable_window());
  ToProto(absl::Minutes(2), sc->mutable_extension());
  ToProto(absl::Minutes(10), sc->mutable_cap());
  Auction a = Create(req);

  std::vector<v1::AuctionEvent> events;
  grpc::Status watch_status;
  auto watch_ctx = As("carol-token");
  watch_ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchAuctionRequest watch;
  watch.set_auction_id(a.auction_id());
  watch.set_from_sequence(1);  // from the start: includes the OPEN event
  std::thread watcher([&] {
    auto reader = auctions_->WatchAuction(watch_ctx.get(), watch);
    v1::AuctionEvent e;
    while (reader->Read(&e)) events.push_back(e);
    watch_status = reader->Finish();
  });

  PlaceBidResponse r;
  ASSERT_TRUE(Bid("bob-token", a.auction_id(), 2000, "b1", &r).ok());
  ASSERT_TRUE(Bid("carol-token", a.auction_id(), 1500, "c1", &r).ok());
  clock_.Advance(absl::Minutes(9));  // inside the soft-close window
  ASSERT_TRUE(Bid("carol-token", a.auction_id(), 3000, "c2", &r).ok());
  EXPECT_TRUE(r.leading());
  clock_.Advance(absl::Minutes(4));  // past the extended end (10 + 1 + ... )
  v1::GetAuctionRequest get;
  get.set_auction_id(a.auction_id());
  Auction closed;
  ASSERT_TRUE(auctions_->GetAuction(As("bob-token").get(), get, &closed).ok());
  EXPECT_EQ(closed.state(), v1::CLOSED);
  watcher.join();

  ASSERT_TRUE(watch_status.ok()) << watch_status.error_message();
  ASSERT_GE(events.size(), 6u);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i - 1].sequence(), events[i].sequence());
  }
  EXPECT_EQ(events[0].state_changed(), v1::OPEN);
  EXPECT_TRUE(events[1].has_bid_accepted());
  EXPECT_EQ(events[1].bid_accepted().leading_bidder_id(), "bob");
  EXPECT_TRUE(events[2].has_bid_accepted());
  // bob's proxy answers carol's 15.00 with 15.00 + inc(15.00) = 15.50.
  EXPECT_EQ(events[2].bid_accepted().price_minor(), 1550);
  EXPECT_TRUE(events[3].has_bid_accepted());
  EXPECT_EQ(events[3].bid_accepted().leading_bidder_id(), "carol");
  EXPECT_TRUE(events[4].has_extended());
  EXPECT_EQ(FromProto(events[4].extended().new_ends_at()), kStart + absl::Minutes(11));
  const v1::AuctionEvent& last = events.back();
  ASSERT_TRUE(last.has_closed());
  EXPECT_EQ(last.closed().outcome(), v1::SOLD);
  ASSERT_EQ(last.closed().winners_size(), 1);
  EXPECT_EQ(last.closed().winners(0).bidder_id(), "carol");
  // carol beats bob's 20.00 maximum by one step: 20.00 + 0.50.
  EXPECT_EQ(last.closed().winners(0).price_minor(), 2050);
}

TEST_F(ServerTest, ListsAuctionsWithFiltersAndPages) {
  for (int i = 0; i < 5; ++i) Create(EnglishRequest("r" + std::to_string(i)));
  v1::ListAuctionsRequest req;
  req.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    v1::ListAuctionsResponse resp;
    ASSERT_TRUE(auctions_->ListAuctions(As("bob-token").get(), req, &resp).ok());
    for (const auto& a : resp.auctions()) seen.push_back(a.auction_id());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen.size(), 5u);
  req.set_page_token("garbage");
  v1::ListAuctionsResponse resp;
  EXPECT_EQ(auctions_->ListAuctions(As("bob-token").get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServerTest, HealthServesAndAuditWithoutDatabaseSaysSo) {
  // grpc.health.v1.Health/Check with an empty HealthCheckRequest; the
  // answer HealthCheckResponse{status: SERVING (1)} encodes as 08 01.
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&done](grpc::Status st) { done.set_value(st); });
  ASSERT_TRUE(done.get_future().get().ok());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
  v1::GetSettlementRequest get;
  get.set_auction_id("A1");
  v1::Settlement s;
  EXPECT_EQ(audit_->GetSettlement(As("audit-token").get(), get, &s).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// The same server with several shards: auctions spread over them.
class ShardedServerTest : public ServerTest {
 protected:
  uint32_t Shards() const override { return 3; }
};

TEST_F(ShardedServerTest, ListsAuctionsFromEveryShardInIdOrder) {
  std::set<uint64_t> shards_used;
  for (int i = 0; i < 10; ++i) {
    Auction a = Create(EnglishRequest("r" + std::to_string(i)));
    shards_used.insert(*ParseAuctionId(a.auction_id()) % 3);
  }
  EXPECT_EQ(shards_used.size(), 3u);
  v1::ListAuctionsRequest req;
  req.set_page_size(3);
  std::vector<uint64_t> seen;
  for (int page = 0; page < 10; ++page) {
    v1::ListAuctionsResponse resp;
    ASSERT_TRUE(auctions_->ListAuctions(As("bob-token").get(), req, &resp).ok());
    for (const auto& a : resp.auctions()) seen.push_back(*ParseAuctionId(a.auction_id()));
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()).size(), 10u);
}

TEST_F(ShardedServerTest, BidStreamAnswersInRequestOrderAcrossShards) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Create(EnglishRequest("r" + std::to_string(i))).auction_id());
  auto ctx = As("bob-token");
  auto stream = bidder_->BidStream(ctx.get());
  constexpr int kBids = 1200;  // several times the server's window of 256
  std::thread writer([&] {
    for (int i = 0; i < kBids; ++i) {
      PlaceBidRequest req;
      req.set_auction_id(ids[i % ids.size()]);
      req.set_client_bid_id("s" + std::to_string(i));
      req.set_amount_minor(1000 + 100 * (i / static_cast<int>(ids.size())));
      if (!stream->Write(req)) break;
    }
    stream->WritesDone();
  });
  PlaceBidResponse resp;
  int n = 0;
  while (stream->Read(&resp)) {
    EXPECT_EQ(resp.client_bid_id(), "s" + std::to_string(n));
    EXPECT_EQ(resp.auction_id(), ids[n % ids.size()]);
    EXPECT_EQ(resp.outcome(), v1::ACCEPTED) << resp.message();
    ++n;
  }
  writer.join();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(n, kBids);
}

// Many streams, each far longer than the window, over auctions on every
// shard: the server keeps pausing and restarting its reads as the window
// fills and drains, from both the read callback and the write callback.
// Every answer must still be its own request's, in order.
TEST_F(ShardedServerTest, BidStreamsFarLongerThanTheWindowAnswerEveryRequestInOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(Create(EnglishRequest("r" + std::to_string(i))).auction_id());
  constexpr int kStreams = 4;
  constexpr int kBids = 6000;
  const char* const kBidders[kStreams] = {"bob-token", "carol-token", "dave-token", "alice-bids"};
  std::vector<std::thread> streams;
  std::vector<int> answered(kStreams, 0);
  std::vector<std::string> first_wrong(kStreams);
  for (int s = 0; s < kStreams; ++s) {
    streams.emplace_back([&, s] {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", std::string("Bearer ") + kBidders[s]);
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
      auto stream = bidder_->BidStream(&ctx);
      std::thread writer([&] {
        for (int i = 0; i < kBids; ++i) {
          PlaceBidRequest req;
          req.set_auction_id(ids[(i + s) % ids.size()]);
          // Longer than a string's inline buffer: each slot keeps its own copy.
          req.set_client_bid_id("stream-" + std::to_string(s) + "-request-" + std::to_string(i));
          // Each bidder's amounts rise on every auction; an answer may be
          // ACCEPTED or REJECTED (too low), but it must be this request's.
          req.set_amount_minor(1000 + 1000 * static_cast<int64_t>(i) + s);
          if (!stream->Write(req)) break;
        }
        stream->WritesDone();
      });
      PlaceBidResponse resp;
      int n = 0;
      while (stream->Read(&resp)) {
        const std::string want = "stream-" + std::to_string(s) + "-request-" + std::to_string(n);
        if (first_wrong[s].empty() &&
            (resp.client_bid_id() != want || resp.auction_id() != ids[(n + s) % ids.size()] ||
             resp.outcome() == v1::BID_OUTCOME_UNSPECIFIED)) {
          first_wrong[s] = "answer #" + std::to_string(n) + " is " + resp.ShortDebugString();
        }
        ++n;
      }
      writer.join();
      grpc::Status st = stream->Finish();
      if (!st.ok() && first_wrong[s].empty()) first_wrong[s] = st.error_message();
      answered[s] = n;
    });
  }
  for (auto& t : streams) t.join();
  for (int s = 0; s < kStreams; ++s) {
    EXPECT_EQ(first_wrong[s], "") << "stream " << s;
    EXPECT_EQ(answered[s], kBids) << "stream " << s;
  }
}

// A request that cannot be processed, malformed (caught as it is read) or
// for an auction that does not exist (caught on the shard, after the
// requests behind it were already handed on), is answered in its place with
// `error`; the stream goes on, and every other request is placed and
// answered in order.
TEST_F(ShardedServerTest, BidStreamAnswersAFailedRequestInItsPlaceAndGoesOn) {
  Auction a = Create(EnglishRequest("r1"));
  Auction b = Create(EnglishRequest("r2"));
  auto ctx = As("bob-token");
  auto stream = bidder_->BidStream(ctx.get());
  struct Sent {
    std::string auction_id;
    std::string key;
  };
  const std::vector<Sent> sent = {{a.auction_id(), "k0"}, {"A999", "k1"}, {b.auction_id(), "k2"},
                                  {a.auction_id(), ""},   {"A0x", "k4"},  {b.auction_id(), "k5"}};
  int64_t amount = 2000;
  for (const Sent& s : sent) {
    PlaceBidRequest req;
    req.set_auction_id(s.auction_id);
    req.set_client_bid_id(s.key);
    req.set_amount_minor(amount += 100);
    stream->Write(req);
  }
  stream->WritesDone();
  std::vector<PlaceBidResponse> answers;
  PlaceBidResponse resp;
  while (stream->Read(&resp)) answers.push_back(resp);
  grpc::Status st = stream->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(answers.size(), sent.size());
  for (size_t i : {0, 2, 5}) {
    EXPECT_FALSE(answers[i].has_error()) << i;
    EXPECT_EQ(answers[i].outcome(), v1::ACCEPTED) << i;
    EXPECT_EQ(answers[i].client_bid_id(), sent[i].key) << i;
  }
  EXPECT_EQ(answers[1].error().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(answers[1].error().message(), "request #2: auction A999 does not exist");
  EXPECT_EQ(answers[1].auction_id(), "A999");
  EXPECT_EQ(answers[1].client_bid_id(), "k1");
  EXPECT_EQ(answers[1].outcome(), v1::BID_OUTCOME_UNSPECIFIED);
  EXPECT_EQ(answers[3].error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(answers[3].error().message().find("request #4: client_bid_id"), std::string::npos)
      << answers[3].error().message();
  EXPECT_EQ(answers[3].auction_id(), a.auction_id());
  EXPECT_EQ(answers[4].error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(answers[4].auction_id(), "");  // not an id: not echoed
  EXPECT_EQ(answers[4].client_bid_id(), "k4");
  // Resent, the placed bids give their first answers.
  PlaceBidResponse again;
  ASSERT_TRUE(Bid("bob-token", b.auction_id(), 9999, "k5", &again).ok());
  EXPECT_EQ(again.bid_id(), answers[5].bid_id());
}

// With a journal, so that a restart shows what was placed.
class JournaledServerTest : public ServerTest {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/gavel-server-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    data_dir_ = dir;
    ServerTest::SetUp();
  }
  void TearDown() override {
    ServerTest::TearDown();
    server_.reset();
    std::filesystem::remove_all(data_dir_);
  }
  void Configure(ServerOptions* options) const override { options->data_dir = data_dir_; }

  // Stops the server and starts it again on the same data directory.
  void Restart() {
    server_->Shutdown();
    server_.reset();
    ServerTest::SetUp();
  }

  std::string data_dir_;
};

TEST_F(JournaledServerTest, BidStreamAtShutdownPlacesNothingMoreAndNamesTheRequest) {
  const Auction a = Create(EnglishRequest("r1"));
  auto bid = [&](auto& stream, int64_t amount, const std::string& key) {
    PlaceBidRequest req;
    req.set_auction_id(a.auction_id());
    req.set_client_bid_id(key);
    req.set_amount_minor(amount);
    return stream->Write(req);
  };
  auto ctx = As("bob-token");
  auto stream = bidder_->BidStream(ctx.get());
  PlaceBidResponse resp;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(bid(stream, 2000 + 100 * i, absl::StrCat("k", i)));
    ASSERT_TRUE(stream->Read(&resp));
    ASSERT_EQ(resp.outcome(), v1::ACCEPTED) << i;
  }
  // The open stream holds the shutdown in gRPC's grace period.
  std::thread stopper([&] { server_->Shutdown(); });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{stopper};
  const Runtime& runtime = server_->runtime_for_test();
  for (int i = 0; i < 5000 && !runtime.draining(); ++i) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE(runtime.draining());
  bid(stream, 9000, "k3");
  EXPECT_FALSE(stream->Read(&resp));
  const grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(),
            "request #4: the server is shutting down; this request and any after it were not "
            "placed: send them again once it is back");
  stopper.join();
  // Not placed: after a restart the auction holds bob's three bids only.
  Restart();
  v1::GetAuctionRequest get;
  get.set_auction_id(a.auction_id());
  Auction view;
  ASSERT_TRUE(auctions_->GetAuction(As("bob-token").get(), get, &view).ok());
  EXPECT_EQ(view.bid_count(), 3);
}

TEST_F(ServerTest, BidStreamNeedsABidderToken) {
  auto ctx = As("audit-token");
  auto stream = bidder_->BidStream(ctx.get());
  stream->WritesDone();
  PlaceBidResponse resp;
  EXPECT_FALSE(stream->Read(&resp));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace gavel
