// The `gavel` command line end to end against an in-process fake server:
// exit codes, output lines, and the requests it sends.
#include "clients/cli/app.h"

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fake_gavel.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace gavel::cli {
namespace {

using ::gavel::testing::FakeGavel;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Result {
  int code;
  std::string out;
  std::string err;
};

class App : public ::testing::Test {
 protected:
  Result Run(const std::vector<std::string>& args) {
    Environment env;
    env.get_env = [this](absl::string_view name) -> std::optional<std::string> {
      auto it = env_vars_.find(std::string(name));
      if (it == env_vars_.end()) return std::nullopt;
      return it->second;
    };
    env.new_request_id = [this] { return absl::StrCat("req-", ++ids_); };
    env.connect = [this](const std::string& server, const std::string& token,
                         std::optional<absl::Duration> timeout) {
      server_ = server;
      token_ = token;
      timeout_ = timeout;
      return std::make_unique<client::GavelClient>(fake_.Channel(), token, timeout);
    };
    std::ostringstream out;
    std::ostringstream err;
    const int code = Main(args, env, out, err);
    return {code, out.str(), err.str()};
  }

  // Runs with a token and checks that nothing went to stderr when it worked.
  Result RunOk(std::vector<std::string> args) {
    args.insert(args.begin(), {"--token", "tok"});
    Result r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r;
  }

  // Serves GetAuction with `auction` (whatever id is asked for).
  void ServeAuction(const v1::Auction& auction) {
    fake_.handlers.get_auction = [auction](const v1::GetAuctionRequest& r, v1::Auction* out) {
      *out = auction;
      out->set_auction_id(r.auction_id());
      return grpc::Status::OK;
    };
  }

  static v1::Auction Auction(v1::Format format, const std::string& currency) {
    v1::Auction a;
    a.mutable_spec()->mutable_item()->set_title("Vintage lamp");
    a.mutable_spec()->set_format(format);
    a.mutable_spec()->set_currency(currency);
    a.set_seller_id("alice");
    a.set_state(v1::OPEN);
    return a;
  }

  int CallsTo(const std::string& method) {
    int n = 0;
    for (const testing::CallRecord& c : fake_.Calls()) n += c.method == method;
    return n;
  }

  FakeGavel fake_;
  std::map<std::string, std::string> env_vars_;
  int ids_ = 0;
  std::string server_;
  std::string token_;
  std::optional<absl::Duration> timeout_;
};

// ---- help and usage ----

TEST_F(App, HelpListsEveryCommandAndExitsZero) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"help"}, {"--help"}, {"-h"}}) {
    Result r = Run(args);
    EXPECT_EQ(r.code, kExitOk);
    for (const char* command :
         {"auction create", "auction show A", "auction list", "auction mine", "auction cancel A",
          "bid A [AMOUNT]", "order A buy|sell QTY @ PRICE", "order cancel A BID_ID", "watch A",
          "audit list", "audit show A", "audit verify A"}) {
      EXPECT_THAT(r.out, HasSubstr(absl::StrCat("gavel ", command, " "))) << command;
    }
    EXPECT_THAT(r.out, HasSubstr("exit codes:"));
  }
}

TEST_F(App, NoArgumentsPrintsHelpAndExitsTwo) {
  Result r = Run({});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("commands:"));
}

TEST_F(App, HelpForOneCommandOrGroup) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"help", "bid"}, {"bid", "--help"}, {"bid", "A1", "-h", "--bogus-is-fine-here=no"}}) {
    Result r = Run(args);
    if (args.size() == 4) {  // an unknown flag still fails, even with -h
      EXPECT_EQ(r.code, kExitUsage);
      continue;
    }
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_THAT(r.out,
                StartsWith("usage: gavel bid A [AMOUNT] [--quantity N] [--id CLIENT_BID_ID]\n"));
    EXPECT_THAT(r.out, HasSubstr("global flags:"));
  }
  Result group = Run({"auction", "--help"});
  EXPECT_EQ(group.code, kExitOk);
  EXPECT_THAT(group.out, StartsWith("gavel auction commands:\n"));
  EXPECT_THAT(group.out, HasSubstr("gavel auction cancel A"));
  Result unknown = Run({"help", "frob"});
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_THAT(unknown.err, StartsWith("error: unknown command 'frob'\n"));
}

TEST_F(App, UsageErrorExitsTwoWithTheCommandsUsage) {
  Result r = Run({"--token", "t", "bid", "A1", "5", "--bogus"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err,
            "error: unknown flag --bogus for 'gavel bid' (run 'gavel help bid')\n"
            "usage: gavel bid A [AMOUNT] [--quantity N] [--id CLIENT_BID_ID]\n"
            "run 'gavel help bid' for details\n");
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(fake_.Calls().empty());
}

TEST_F(App, MissingTokenIsAUsageError) {
  Result r = Run({"auction", "show", "A1"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("error: no token: pass --token T or set GAVEL_TOKEN\n"));
  EXPECT_TRUE(fake_.Calls().empty());
}

TEST_F(App, ServerAndTokenComeFromFlagsThenEnvironmentThenDefault) {
  ServeAuction(Auction(v1::ENGLISH, "EUR"));
  env_vars_["GAVEL_TOKEN"] = "env-token";
  EXPECT_EQ(Run({"auction", "show", "A1"}).code, kExitOk);
  EXPECT_EQ(server_, "127.0.0.1:50051");
  EXPECT_EQ(token_, "env-token");
  EXPECT_EQ(timeout_, absl::Seconds(10));
  EXPECT_EQ(fake_.Calls().back().authorization, "Bearer env-token");

  env_vars_["GAVEL_SERVER"] = "env-host:1";
  EXPECT_EQ(Run({"auction", "show", "A1"}).code, kExitOk);
  EXPECT_EQ(server_, "env-host:1");

  EXPECT_EQ(Run({"auction", "show", "A1", "--server=flag-host:2", "--token", "flag-token",
                 "--timeout", "1m30s"})
                .code,
            kExitOk);
  EXPECT_EQ(server_, "flag-host:2");
  EXPECT_EQ(token_, "flag-token");
  EXPECT_EQ(timeout_, absl::Seconds(90));
}

TEST_F(App, BadTimeoutIsAUsageError) {
  Result r = Run({"--token", "t", "--timeout", "10", "auction", "show", "A1"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("error: --timeout \"10\" is not a duration"));
}

// ---- errors from the server ----

TEST_F(App, ServerErrorPrintsCodeNameAndExitsOne) {
  fake_.handlers.get_auction = [](const v1::GetAuctionRequest& r, v1::Auction*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "auction " + r.auction_id() + " not found");
  };
  Result r = Run({"--token", "t", "auction", "show", "A9"});
  EXPECT_EQ(r.code, kExitRpcError);
  EXPECT_EQ(r.err, "error: NOT_FOUND: auction A9 not found\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(App, UncertainOutcomeTellsHowToRetrySafely) {
  ServeAuction(Auction(v1::ENGLISH, "EUR"));
  fake_.handlers.place_bid = [](const v1::PlaceBidRequest&, v1::PlaceBidResponse*) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
  };
  Result r = Run({"--token", "t", "bid", "A1", "5"});
  EXPECT_EQ(r.code, kExitRpcError);
  EXPECT_EQ(r.err,
            "error: DEADLINE_EXCEEDED: Deadline Exceeded\n"
            "the request may or may not have been applied; to retry safely repeat it with --id "
            "req-1\n");
}

TEST_F(App, ResponseWithoutAJsonFormExitsOne) {
  v1::Auction broken = Auction(v1::ENGLISH, "EUR");
  broken.mutable_ends_at()->set_seconds(int64_t{1} << 50);  // beyond year 9999
  ServeAuction(broken);
  Result r = Run({"--token", "t", "--json", "auction", "show", "A1"});
  EXPECT_EQ(r.code, kExitRpcError);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("error: the response has no JSON form: "));
  EXPECT_EQ(Run({"--token", "t", "auction", "show", "A1"}).code, kExitOk);  // people still see it
}

// ---- bid ----

TEST_F(App, AcceptedBidPrintsTheLeadingLine) {
  ServeAuction(Auction(v1::ENGLISH, "EUR"));
  v1::PlaceBidRequest sent;
  fake_.handlers.place_bid = [&sent](const v1::PlaceBidRequest& r, v1::PlaceBidResponse* out) {
    sent = r;
    out->set_bid_id("A3-2");
    out->set_outcome(v1::ACCEPTED);
    out->set_leading(true);
    out->set_current_price_minor(1250);
    return grpc::Status::OK;
  };
  Result r = RunOk({"bid", "A3", "20.00", "--quantity", "1"});
  EXPECT_EQ(r.out, "ACCEPTED: you are leading at 12.50 EUR (bid A3-2)\n");
  EXPECT_EQ(sent.auction_id(), "A3");
  EXPECT_EQ(sent.amount_minor(), 2000);
  EXPECT_EQ(sent.quantity(), 1);
  EXPECT_EQ(sent.client_bid_id(), "req-1");
  EXPECT_EQ(sent.side(), v1::SIDE_UNSPECIFIED);
}

TEST_F(App, RejectedBidExitsThree) {
  ServeAuction(Auction(v1::ENGLISH, "EUR"));
  fake_.handlers.place_bid = [](const v1::PlaceBidRequest&, v1::PlaceBidResponse* out) {
    out->set_outcome(v1::REJECTED);
    out->set_reject_reason(v1::BID_TOO_LOW);
    out->set_message("the least you can bid is 15.50 EUR");
    return grpc::Status::OK;
  };
  Result r = Run({"--token", "t", "bid", "A3", "12.50", "--id", "my-bid-1"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.out, "REJECTED (BID_TOO_LOW): the least you can bid is 15.50 EUR\n");

  r = Run({"--token", "t", "--json", "bid", "A3", "12.50", "--id", "my-bid-1"});
  EXPECT_EQ(r.code, kExitRefused);
  v1::PlaceBidResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok()) << r.out;
  EXPECT_EQ(parsed.outcome(), v1::REJECTED);
  EXPECT_EQ(parsed.client_bid_id(), "my-bid-1");  // filled in for scripts
  EXPECT_THAT(r.out, HasSubstr("\"rejectReason\":\"BID_TOO_LOW\""));
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1);  // one line
}

TEST_F(App, BidAmountIsReadInTheAuctionsCurrency) {
  ServeAuction(Auction(v1::ENGLISH, "JPY"));
  v1::PlaceBidRequest sent;
  fake_.handlers.place_bid = [&sent](const v1::PlaceBidRequest& r, v1::PlaceBidResponse* out) {
    sent = r;
    out->set_outcome(v1::ACCEPTED);
    return grpc::Status::OK;
  };
  RunOk({"bid", "A1", "1250"});
  EXPECT_EQ(sent.amount_minor(), 1250);

  Result r = Run({"--token", "t", "bid", "A1", "12.5"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("error: 12.5 JPY: JPY has no decimal places\n"));
  EXPECT_EQ(CallsTo("PlaceBid"), 1);  // the bad one was never sent
}

TEST_F(App, BidWithoutAmountOnlyForDutch) {
  ServeAuction(Auction(v1::ENGLISH, "EUR"));
  Result r = Run({"--token", "t", "bid", "A1"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("missing argument AMOUNT (only a Dutch auction"));

  ServeAuction(Auction(v1::DUTCH, "EUR"));
  v1::PlaceBidRequest sent;
  sent.set_amount_minor(-1);
  fake_.handlers.place_bid = [&sent](const v1::PlaceBidRequest& r, v1::PlaceBidResponse* out) {
    sent = r;
    out->set_outcome(v1::ACCEPTED);
    out->set_leading(true);
    out->set_current_price_minor(4500);
    out->set_bid_id("A1-1");
    return grpc::Status::OK;
  };
  EXPECT_EQ(RunOk({"bid", "A1"}).out, "ACCEPTED: you are leading at 45.00 EUR (bid A1-1)\n");
  EXPECT_EQ(sent.amount_minor(), 0);
}

TEST_F(App, BidOnADoubleAuctionPointsToOrder) {
  ServeAuction(Auction(v1::DOUBLE_CONTINUOUS, "EUR"));
  Result r = Run({"--token", "t", "bid", "A5", "12"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("place orders with 'gavel order A5 buy|sell QTY @ PRICE'"));
}

// ---- order ----

TEST_F(App, OrderPlacesALimitOrder) {
  ServeAuction(Auction(v1::DOUBLE_CONTINUOUS, "EUR"));
  v1::PlaceBidRequest sent;
  fake_.handlers.place_bid = [&sent](const v1::PlaceBidRequest& r, v1::PlaceBidResponse* out) {
    sent = r;
    out->set_outcome(v1::ACCEPTED);
    out->set_bid_id("A5-7");
    v1::Fill* f = out->add_fills();
    f->set_quantity(10);
    f->set_price_minor(1240);
    f->set_counter_bid_id("A5-3");
    return grpc::Status::OK;
  };
  Result r = RunOk({"order", "A5", "buy", "10", "@", "12.50", "--ioc"});
  EXPECT_EQ(r.out,
            "ACCEPTED: buy 10 @ 12.50 EUR (order A5-7): filled 10\n"
            "  fill: 10 @ 12.40 EUR against A5-3\n");
  EXPECT_EQ(sent.side(), v1::BUY);
  EXPECT_EQ(sent.quantity(), 10);
  EXPECT_EQ(sent.amount_minor(), 1250);
  EXPECT_TRUE(sent.immediate_or_cancel());
}

TEST_F(App, OrderChecksItsWords) {
  ServeAuction(Auction(v1::DOUBLE_CONTINUOUS, "EUR"));
  EXPECT_THAT(Run({"--token", "t", "order", "A5", "buy", "10", "at", "12"}).err,
              StartsWith("error: expected '@' between QTY and PRICE, not 'at'"));
  EXPECT_THAT(Run({"--token", "t", "order", "A5", "hold", "10", "@", "12"}).err,
              StartsWith("error: unknown side \"hold\": use one of buy, sell"));
  EXPECT_THAT(Run({"--token", "t", "order", "A5", "sell", "0", "@", "12"}).err,
              StartsWith("error: QTY must be a whole number"));
  ServeAuction(Auction(v1::ENGLISH, "EUR"));
  Result r = Run({"--token", "t", "order", "A1", "sell", "1", "@", "12"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("is english, not a double auction"));
  EXPECT_EQ(CallsTo("PlaceBid"), 0);
}

TEST_F(App, OrderCancelThatCancelsNothingExitsThree) {
  v1::CancelBidRequest sent;
  fake_.handlers.cancel_bid = [&sent](const v1::CancelBidRequest& r, v1::CancelBidResponse* out) {
    sent = r;
    out->set_cancelled(false);
    out->set_message("order A5-7 is already filled");
    return grpc::Status::OK;
  };
  Result r = Run({"--token", "t", "order", "cancel", "A5", "A5-7"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.out, "NOT CANCELLED (order A5-7): order A5-7 is already filled\n");
  EXPECT_EQ(sent.auction_id(), "A5");
  EXPECT_EQ(sent.bid_id(), "A5-7");
  EXPECT_EQ(sent.request_id(), "req-1");
}

// A resent request_id is answered about the first request's order, which
// the CLI names instead of the one it sent.
TEST_F(App, OrderCancelNamesTheOrderTheAnswerIsAbout) {
  fake_.handlers.cancel_bid = [](const v1::CancelBidRequest&, v1::CancelBidResponse* out) {
    out->set_cancelled(true);
    out->set_quantity_cancelled(5);
    out->set_bid_id("A5-1");
    out->set_message("cancelled 5 unit(s)");
    return grpc::Status::OK;
  };
  Result r = Run({"--token", "t", "order", "cancel", "A5", "A5-2", "--request-id", "undo-1"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "CANCELLED: 5 cancelled (order A5-1): cancelled 5 unit(s)\n");
}

// ---- auction ----

TEST_F(App, AuctionCreateSendsEveryFlagExactly) {
  v1::CreateAuctionRequest sent;
  fake_.handlers.create_auction = [&sent](const v1::CreateAuctionRequest& r, v1::Auction* out) {
    sent = r;
    out->set_auction_id("A17");
    out->set_seller_id("alice");
    out->mutable_spec()->set_currency(r.currency());
    out->mutable_spec()->set_format(r.format());
    out->set_state(v1::OPEN);
    return grpc::Status::OK;
  };
  Result r = RunOk({"auction",
                    "create",
                    "--title",
                    "Vintage lamp",
                    "--description=Brass, 1950s",
                    "--category",
                    "lighting",
                    "--format",
                    "Sealed_Second-Price",
                    "--currency",
                    "kwd",
                    "--start",
                    "10.5",
                    "--reserve=50",
                    "--buy-now",
                    "100.125",
                    "--duration",
                    "1h30m",
                    "--starts-at",
                    "2030-01-01T10:00:00+01:00",
                    "--soft-close",
                    "30s,1m,5m",
                    "--increment",
                    "0:0.5,100:1",
                    "--quantity",
                    "3",
                    "--request-id",
                    "create-1"});
  EXPECT_EQ(sent.request_id(), "create-1");
  EXPECT_EQ(sent.item().title(), "Vintage lamp");
  EXPECT_EQ(sent.item().description(), "Brass, 1950s");
  EXPECT_EQ(sent.item().category(), "lighting");
  EXPECT_EQ(sent.format(), v1::SEALED_SECOND_PRICE);
  EXPECT_EQ(sent.currency(), "KWD");
  EXPECT_EQ(sent.start_price_minor(), 10500);
  EXPECT_EQ(sent.reserve_price_minor(), 50000);
  EXPECT_EQ(sent.buy_now_price_minor(), 100125);
  EXPECT_EQ(sent.duration().seconds(), 5400);
  EXPECT_FALSE(sent.has_ends_at());
  EXPECT_EQ(sent.starts_at().seconds(), 1893488400);  // 2030-01-01T09:00:00Z
  EXPECT_EQ(sent.soft_close().window().seconds(), 30);
  EXPECT_EQ(sent.soft_close().extension().seconds(), 60);
  EXPECT_EQ(sent.soft_close().cap().seconds(), 300);
  ASSERT_EQ(sent.increment_table_size(), 2);
  EXPECT_EQ(sent.increment_table(1).from_minor(), 100000);
  EXPECT_EQ(sent.increment_table(1).step_minor(), 1000);
  EXPECT_EQ(sent.quantity(), 3);
  EXPECT_FALSE(sent.has_dutch());
  EXPECT_THAT(r.out, HasSubstr("auction        A17\n"));
  EXPECT_THAT(r.out, HasSubstr("format         sealed-second-price\n"));
  EXPECT_THAT(r.out, HasSubstr("request id     create-1\n"));
}

TEST_F(App, AuctionCreateDutchClockAndEndsAt) {
  v1::CreateAuctionRequest sent;
  fake_.handlers.create_auction = [&sent](const v1::CreateAuctionRequest& r, v1::Auction* out) {
    sent = r;
    out->set_auction_id("A18");
    return grpc::Status::OK;
  };
  Result r = RunOk({"--json", "auction", "create", "--title=Tulips", "--format", "dutch", "--start",
                    "100", "--decrement", "5.00", "--tick", "10s", "--floor", "40", "--ends-at",
                    "2030-01-01T00:00:00Z"});
  EXPECT_EQ(sent.format(), v1::DUTCH);
  EXPECT_EQ(sent.currency(), "EUR");
  EXPECT_EQ(sent.dutch().decrement_minor(), 500);
  EXPECT_EQ(sent.dutch().tick_interval().seconds(), 10);
  EXPECT_EQ(sent.dutch().floor_price_minor(), 4000);
  EXPECT_EQ(sent.ends_at().seconds(), 1893456000);
  EXPECT_FALSE(sent.has_duration());
  EXPECT_EQ(sent.request_id(), "req-1");  // random by default; printed with --json
  EXPECT_THAT(r.out, StartsWith("{\"requestId\":\"req-1\",\"auctionId\":\"A18\","));
  v1::Auction parsed;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed, lenient).ok()) << r.out;
  EXPECT_EQ(parsed.auction_id(), "A18");
}

TEST_F(App, AuctionCreateChecksItsFlagsBeforeSending) {
  struct Case {
    std::vector<std::string> extra;
    const char* error;
  };
  const std::vector<Case> cases = {
      {{}, "error: give --duration (like 2m) or --ends-at (an RFC 3339 time)\n"},
      {{"--duration", "2m", "--ends-at", "2030-01-01T00:00:00Z"},
       "error: give --duration or --ends-at, not both\n"},
      {{"--duration", "2"},
       "error: --duration \"2\" is not a duration: use e.g. 30s, 5m, 2h, "
       "1h30m, 500ms\n"},
      {{"--duration", "2m", "--reserve", "1,000"},
       "error: --reserve: 1,000 EUR: leave out thousands separators, and use '.' as the decimal "
       "point (like 1234.50)\n"},
      {{"--duration", "2m", "--format", "swiss"}, "error: unknown format \"swiss\": use one of "},
      {{"--duration", "2m", "--currency", "EURO"},
       "error: --currency \"EURO\" is not an ISO 4217 code (three letters, like EUR)\n"},
      {{"--duration", "2m", "--quantity", "0"},
       "error: --quantity must be a whole number from 1 to 1000000000, not \"0\"\n"},
      {{"--duration", "2m", "--quantity", "1000000001"},
       "error: --quantity must be a whole number from 1 to 1000000000, not \"1000000001\"\n"},
      {{"--duration", "2m", "--soft-close", "30s"}, "error: --soft-close \"30s\" must be "},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--token", "t", "auction", "create",
                                     "--title", "x", "--start", "12.50"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    Result r = Run(args);
    EXPECT_EQ(r.code, kExitUsage) << c.error;
    EXPECT_THAT(r.err, StartsWith(c.error));
    EXPECT_THAT(r.err, HasSubstr("usage: gavel auction create --title T"));
  }
  Result r = Run({"--token", "t", "auction", "create", "--title", "x", "--start", "12.505",
                  "--duration", "2m"});
  EXPECT_THAT(r.err, StartsWith("error: --start: 12.505 EUR: EUR has 2 decimal places\n"));
  EXPECT_THAT(Run({"--token", "t", "auction", "create", "--duration", "2m", "--start", "1"}).err,
              StartsWith("error: missing flag --title T\n"));
  EXPECT_EQ(CallsTo("CreateAuction"), 0);
}

TEST_F(App, AuctionListShowsNoPriceBeforeTheFirstEnglishBid) {
  fake_.handlers.list_auctions = [](const v1::ListAuctionsRequest&,
                                    v1::ListAuctionsResponse* out) {
    *out->add_auctions() = Auction(v1::ENGLISH, "EUR");
    return grpc::Status::OK;
  };
  Result r = RunOk({"auction", "list"});
  EXPECT_THAT(r.out, HasSubstr("english  open       -     0"));
}

TEST_F(App, AuctionListSendsFiltersAndPrintsATable) {
  v1::ListAuctionsRequest sent;
  fake_.handlers.list_auctions = [&sent](const v1::ListAuctionsRequest& r,
                                         v1::ListAuctionsResponse* out) {
    sent = r;
    v1::Auction* a = out->add_auctions();
    *a = Auction(v1::ENGLISH, "EUR");
    a->set_auction_id("A1");
    a->set_current_price_minor(1250);
    a->set_bid_count(2);
    out->set_next_page_token("p2");
    return grpc::Status::OK;
  };
  Result r = RunOk({"auction", "list", "--state", "open", "--format", "vickrey", "--seller",
                    "alice", "--page-size", "10"});
  EXPECT_EQ(sent.state(), v1::OPEN);
  EXPECT_EQ(sent.format(), v1::SEALED_SECOND_PRICE);
  EXPECT_EQ(sent.seller_id(), "alice");
  EXPECT_EQ(sent.page_size(), 10);
  EXPECT_THAT(r.out, StartsWith("AUCTION  TITLE         SELLER  FORMAT   STATE      PRICE  BIDS"));
  EXPECT_THAT(r.out, HasSubstr("A1       Vintage lamp  alice   english  open   12.50 EUR     2"));
  EXPECT_THAT(r.out, HasSubstr("(more: add --page-token p2, or --all)\n"));
}

TEST_F(App, ListAllFollowsPageTokensToTheEnd) {
  std::vector<std::string> tokens_seen;
  fake_.handlers.list_auctions = [&tokens_seen](const v1::ListAuctionsRequest& r,
                                                v1::ListAuctionsResponse* out) {
    tokens_seen.push_back(r.page_token());
    const int page = r.page_token().empty() ? 1 : std::stoi(r.page_token().substr(1));
    out->add_auctions()->set_auction_id(absl::StrCat("A", page));
    if (page < 3) out->set_next_page_token(absl::StrCat("p", page + 1));
    return grpc::Status::OK;
  };
  Result r = RunOk({"auction", "list", "--all"});
  EXPECT_EQ(tokens_seen, (std::vector<std::string>{"", "p2", "p3"}));
  EXPECT_THAT(r.out, HasSubstr("\nA1 "));
  EXPECT_THAT(r.out, HasSubstr("\nA3 "));
  EXPECT_THAT(r.out, Not(HasSubstr("(more")));

  tokens_seen.clear();
  r = RunOk({"auction", "list", "--all", "--json"});
  v1::ListAuctionsResponse merged;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &merged).ok()) << r.out;
  EXPECT_EQ(merged.auctions_size(), 3);
  EXPECT_EQ(merged.next_page_token(), "");
}

TEST_F(App, ListStopsWhenTheServerRepeatsAPageToken) {
  fake_.handlers.list_auctions = [](const v1::ListAuctionsRequest&, v1::ListAuctionsResponse* out) {
    out->set_next_page_token("same");
    return grpc::Status::OK;
  };
  Result r = Run({"--token", "t", "auction", "list", "--all"});
  EXPECT_EQ(r.code, kExitRpcError);
  EXPECT_THAT(r.err, HasSubstr("same page token twice"));
}

TEST_F(App, AuctionMineAndCancel) {
  v1::ListMyAuctionsRequest mine;
  fake_.handlers.list_my_auctions = [&mine](const v1::ListMyAuctionsRequest& r,
                                            v1::ListAuctionsResponse*) {
    mine = r;
    return grpc::Status::OK;
  };
  EXPECT_EQ(RunOk({"auction", "mine", "--state", "scheduled"}).out, "no auctions\n");
  EXPECT_EQ(mine.state(), v1::SCHEDULED);

  v1::CancelAuctionRequest cancel;
  fake_.handlers.cancel_auction = [&cancel](const v1::CancelAuctionRequest& r, v1::Auction* out) {
    cancel = r;
    out->set_auction_id(r.auction_id());
    out->set_state(v1::CANCELLED);
    return grpc::Status::OK;
  };
  Result r = RunOk({"auction", "cancel", "A4"});
  EXPECT_EQ(cancel.auction_id(), "A4");
  EXPECT_EQ(cancel.request_id(), "req-1");
  EXPECT_THAT(r.out, HasSubstr("state          cancelled\n"));
}

// ---- watch ----

TEST_F(App, WatchPrintsOneLinePerEventAndExitsZeroAfterTheClose) {
  ServeAuction(Auction(v1::ENGLISH, "EUR"));
  v1::WatchAuctionRequest sent;
  fake_.handlers.watch_auction = [&sent](const v1::WatchAuctionRequest& r,
                                         std::vector<v1::AuctionEvent>* events) {
    sent = r;
    v1::AuctionEvent bid;
    bid.set_sequence(12);
    bid.mutable_at()->set_seconds(1714554843);  // 09:14:03Z
    bid.mutable_bid_accepted()->set_price_minor(1500);
    bid.mutable_bid_accepted()->set_leading_bidder_id("bob");
    bid.mutable_bid_accepted()->set_bid_count(3);
    events->push_back(bid);
    v1::AuctionEvent closed;
    closed.set_sequence(13);
    closed.mutable_at()->set_seconds(1714554903);
    closed.mutable_closed()->set_outcome(v1::SOLD);
    v1::Winner* w = closed.mutable_closed()->add_winners();
    w->set_bidder_id("bob");
    w->set_quantity(1);
    w->set_price_minor(1500);
    events->push_back(closed);
    return grpc::Status::OK;
  };
  Result r = RunOk({"watch", "A3", "--from", "5"});
  EXPECT_EQ(r.out,
            "#12 09:14:03 bid accepted: 15.00 EUR, leader bob (3 bids)\n"
            "#13 09:15:03 closed: SOLD to bob at 15.00 EUR\n");
  EXPECT_EQ(sent.auction_id(), "A3");
  EXPECT_EQ(sent.from_sequence(), 5u);

  r = RunOk({"watch", "A3", "--json"});
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  v1::AuctionEvent first;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(r.out.substr(0, r.out.find('\n')), &first).ok());
  EXPECT_EQ(first.sequence(), 12u);
}

TEST_F(App, WatchThatFailsExitsOne) {
  ServeAuction(Auction(v1::ENGLISH, "EUR"));
  fake_.handlers.watch_auction = [](const v1::WatchAuctionRequest&,
                                    std::vector<v1::AuctionEvent>*) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "watcher too slow");
  };
  Result r = Run({"--token", "t", "watch", "A3"});
  EXPECT_EQ(r.code, kExitRpcError);
  EXPECT_EQ(r.err, "error: RESOURCE_EXHAUSTED: watcher too slow\n");
}

// ---- audit ----

TEST_F(App, AuditListSendsFilters) {
  v1::ListSettlementsRequest sent;
  fake_.handlers.list_settlements = [&sent](const v1::ListSettlementsRequest& r,
                                            v1::ListSettlementsResponse* out) {
    sent = r;
    v1::Settlement* s = out->add_settlements();
    s->set_auction_id("A3");
    s->mutable_spec()->set_currency("EUR");
    s->set_outcome(v1::CANCELLED_BY_SELLER);
    return grpc::Status::OK;
  };
  Result r =
      RunOk({"audit", "list", "--seller", "alice", "--format", "english", "--outcome", "cancelled",
             "--after", "2024-05-01T00:00:00Z", "--before", "2024-06-01T00:00:00Z"});
  EXPECT_EQ(sent.seller_id(), "alice");
  EXPECT_EQ(sent.format(), v1::ENGLISH);
  EXPECT_EQ(sent.outcome(), v1::CANCELLED_BY_SELLER);
  EXPECT_EQ(sent.closed_after().seconds(), 1714521600);
  EXPECT_EQ(sent.closed_before().seconds(), 1717200000);
  EXPECT_THAT(r.out, HasSubstr("A3 "));
  EXPECT_THAT(r.out, HasSubstr(" cancelled "));
}

TEST_F(App, AuditVerifyExitsFourWhenTheChainIsBroken) {
  fake_.handlers.verify_settlement = [](const v1::VerifySettlementRequest&,
                                        v1::VerifySettlementResponse* out) {
    out->set_valid(false);
    out->set_first_bad_sequence(7);
    out->set_stored_final_hash("aaaa");
    out->set_recomputed_final_hash("bbbb");
    out->set_message("bid 7's hash does not match");
    return grpc::Status::OK;
  };
  Result r = Run({"--token", "t", "audit", "verify", "A3"});
  EXPECT_EQ(r.code, kExitInvalid);
  EXPECT_EQ(r.out,
            "INVALID: auction A3: bid 7's hash does not match\n"
            "first bad sequence  7\n"
            "stored final hash   aaaa\n"
            "recomputed          bbbb\n");

  fake_.handlers.verify_settlement = [](const v1::VerifySettlementRequest&,
                                        v1::VerifySettlementResponse* out) {
    out->set_valid(true);
    out->set_first_bad_sequence(-1);
    out->set_recomputed_final_hash("cccc");
    out->set_stored_final_hash("cccc");
    return grpc::Status::OK;
  };
  EXPECT_EQ(RunOk({"audit", "verify", "A3"}).out, "VALID: auction A3, final hash cccc\n");
}

TEST_F(App, AuditShowPrintsTheSettlement) {
  fake_.handlers.get_settlement = [](const v1::GetSettlementRequest& r, v1::Settlement* out) {
    out->set_auction_id(r.auction_id());
    out->mutable_spec()->set_currency("EUR");
    out->set_outcome(v1::UNSOLD_NO_BIDS);
    out->set_final_hash("abcd");
    return grpc::Status::OK;
  };
  Result r = RunOk({"audit", "show", "A3"});
  EXPECT_THAT(r.out, HasSubstr("outcome     unsold-no-bids\n"));
  EXPECT_THAT(r.out, HasSubstr("final hash  abcd\n"));
  EXPECT_THAT(r.out, HasSubstr("bids:\nno bids\n"));
}

}  // namespace
}  // namespace gavel::cli
