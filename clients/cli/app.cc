#include "clients/cli/app.h"

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "clients/cli/args.h"
#include "clients/cli/render.h"
#include "clients/cli/table.h"
#include "clients/cli/values.h"
#include "clients/client.h"
#include "engine/money.h"
#include "engine/types.h"
#include "google/protobuf/util/json_util.h"

namespace gavel::cli {
namespace {

using gavel::FormatAmount;
using client::GavelClient;
using gavel::ParseAmount;

constexpr absl::string_view kDefaultServer = "127.0.0.1:50051";
constexpr absl::string_view kDefaultTimeout = "10s";

// Everything a command needs while it runs.
struct Context {
  const CommandLine& cl;
  const CommandSpec& spec;
  const Environment& env;
  GavelClient& client;
  std::ostream& out;
  std::ostream& err;
  bool json;
};

using Handler = int (*)(Context&);

// ---- Output helpers ----

int UsageFailure(std::ostream& err, const CommandSpec* spec, absl::string_view message) {
  err << "error: " << message << "\n";
  if (spec != nullptr) {
    err << Usage(*spec) << "run 'gavel help " << spec->name << "' for details\n";
  } else {
    err << "run 'gavel help' for the commands\n";
  }
  return kExitUsage;
}

int UsageFailure(Context& c, absl::string_view message) {
  return UsageFailure(c.err, &c.spec, message);
}

int UsageFailure(Context& c, const absl::Status& status) {
  return UsageFailure(c, status.message());
}

// Codes after which the request may or may not have been applied: repeating
// it with the same idempotency key is the safe retry.
bool OutcomeUnknown(grpc::StatusCode code) {
  return code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::UNKNOWN || code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::CANCELLED;
}

// Prints "error: CODE: message". For a mutating call, `retry_flag` and
// `request_id` tell the user how to retry without doing it twice.
int RpcFailure(Context& c, const grpc::Status& status, absl::string_view retry_flag = "",
               absl::string_view request_id = "") {
  c.err << "error: " << StatusCodeName(status.error_code());
  if (!status.error_message().empty()) c.err << ": " << status.error_message();
  c.err << "\n";
  if (!retry_flag.empty() && OutcomeUnknown(status.error_code())) {
    c.err << "the request may or may not have been applied; to retry safely repeat it with "
          << retry_flag << " " << request_id << "\n";
  }
  return kExitRpcError;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      out += absl::StrFormat("\\u%04x", u);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// Writes the message as one line of JSON in the canonical proto3 mapping
// (lowerCamelCase names as grpcurl prints them, int64 as strings, enums by
// name) with every field present, and flushes, so a pipe sees each line at
// once. `request_id`, when given, is added as a top-level "requestId" so a
// script can retry the mutating call that produced the message. A message
// that has no JSON form (say, a time out of range) is reported on stderr and
// gives false.
bool WriteJson(Context& c, const google::protobuf::Message& message,
               absl::string_view request_id = "") {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    c.err << "error: the response has no JSON form: " << status.ToString() << "\n";
    return false;
  }
  if (!request_id.empty()) {
    json = absl::StrCat("{\"requestId\":", JsonString(request_id), json == "{}" ? "" : ",",
                        json.substr(1));
  }
  c.out << json << std::endl;
  return true;
}

// ---- Flag values ----

absl::StatusOr<int64_t> FlagAmount(Context& c, absl::string_view flag,
                                   const std::string& currency) {
  absl::StatusOr<int64_t> amount = ParseAmount(*c.cl.Get(flag), currency);
  if (!amount.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", amount.status().message()));
  }
  return amount;
}

absl::StatusOr<int32_t> PageSize(Context& c) {
  if (!c.cl.Has("page-size")) return 0;
  absl::StatusOr<int64_t> n =
      ParseFlagCount("--page-size", *c.cl.Get("page-size"), std::numeric_limits<int32_t>::max());
  if (!n.ok()) return n.status();
  return static_cast<int32_t>(*n);
}

// --page-size and --page-token of a list command, into its request.
template <typename Request>
absl::Status ReadPaging(Context& c, Request* request) {
  absl::StatusOr<int32_t> page_size = PageSize(c);
  if (!page_size.ok()) return page_size.status();
  request->set_page_size(*page_size);
  request->set_page_token(c.cl.GetOr("page-token", ""));
  return absl::OkStatus();
}

// An optional flag: when given, `parse`s its value and hands it to `set`.
template <typename Parse, typename Set>
absl::Status ReadOptional(Context& c, absl::string_view flag, Parse parse, Set set) {
  if (!c.cl.Has(flag)) return absl::OkStatus();
  auto value = parse(*c.cl.Get(flag));
  if (!value.ok()) return value.status();
  set(*value);
  return absl::OkStatus();
}

grpc::Status FetchAuction(Context& c, const std::string& auction_id, v1::Auction* auction) {
  v1::GetAuctionRequest request;
  request.set_auction_id(auction_id);
  return c.client.GetAuction(request, auction);
}

// Calls a paged list RPC once, or with --all until the last page, appending
// every page into `*all`. `*all`'s next_page_token is the one left to follow.
template <typename Request, typename Response>
grpc::Status FetchPages(Context& c, Request request,
                        const std::function<grpc::Status(const Request&, Response*)>& call,
                        Response* all) {
  const bool follow = c.cl.Has("all");
  for (;;) {
    Response page;
    grpc::Status status = call(request, &page);
    if (!status.ok()) return status;
    const std::string next = page.next_page_token();
    all->MergeFrom(page);
    all->set_next_page_token(next);
    if (!follow || next.empty()) return grpc::Status::OK;
    if (next == request.page_token()) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "the server returned the same page token twice; stopped paging");
    }
    request.set_page_token(next);
  }
}

void PrintMoreHint(Context& c, const std::string& next_page_token) {
  if (next_page_token.empty()) return;
  c.out << "(more: add --page-token " << next_page_token << ", or --all)\n";
}

// ---- Commands ----

int AuctionCreate(Context& c) {
  v1::CreateAuctionRequest request;
  request.set_request_id(c.cl.Has("request-id") ? *c.cl.Get("request-id") : c.env.new_request_id());
  request.mutable_item()->set_title(*c.cl.Get("title"));
  request.mutable_item()->set_description(c.cl.GetOr("description", ""));
  request.mutable_item()->set_category(c.cl.GetOr("category", ""));

  absl::StatusOr<v1::Format> format = ParseFormatName(c.cl.GetOr("format", "english"));
  if (!format.ok()) return UsageFailure(c, format.status());
  request.set_format(*format);

  const std::string currency = absl::AsciiStrToUpper(c.cl.GetOr("currency", "EUR"));
  if (!gavel::IsCurrencyCode(currency)) {
    return UsageFailure(c, absl::StrCat("--currency \"", *c.cl.Get("currency"),
                                        "\" is not an ISO 4217 code (three letters, like EUR)"));
  }
  request.set_currency(currency);

  if (c.cl.Has("quantity")) {
    absl::StatusOr<int64_t> quantity =
        ParseFlagCount("--quantity", *c.cl.Get("quantity"), gavel::kMaxQuantity);
    if (!quantity.ok()) return UsageFailure(c, quantity.status());
    request.set_quantity(*quantity);
  }

  struct AmountFlag {
    absl::string_view flag;
    void (v1::CreateAuctionRequest::*set)(int64_t);
  };
  for (const AmountFlag& f :
       {AmountFlag{"start", &v1::CreateAuctionRequest::set_start_price_minor},
        AmountFlag{"reserve", &v1::CreateAuctionRequest::set_reserve_price_minor},
        AmountFlag{"buy-now", &v1::CreateAuctionRequest::set_buy_now_price_minor}}) {
    if (!c.cl.Has(f.flag)) continue;
    absl::StatusOr<int64_t> amount = FlagAmount(c, f.flag, currency);
    if (!amount.ok()) return UsageFailure(c, amount.status());
    (request.*f.set)(*amount);
  }

  if (c.cl.Has("duration") == c.cl.Has("ends-at")) {
    return UsageFailure(c, c.cl.Has("duration")
                               ? "give --duration or --ends-at, not both"
                               : "give --duration (like 2m) or --ends-at (an RFC 3339 time)");
  }
  if (c.cl.Has("duration")) {
    absl::StatusOr<absl::Duration> d = ParseFlagDuration("--duration", *c.cl.Get("duration"));
    if (!d.ok()) return UsageFailure(c, d.status());
    *request.mutable_duration() = ToProtoDuration(*d);
  } else {
    absl::StatusOr<absl::Time> t = ParseFlagTime("--ends-at", *c.cl.Get("ends-at"));
    if (!t.ok()) return UsageFailure(c, t.status());
    *request.mutable_ends_at() = ToProtoTime(*t);
  }
  if (c.cl.Has("starts-at")) {
    absl::StatusOr<absl::Time> t = ParseFlagTime("--starts-at", *c.cl.Get("starts-at"));
    if (!t.ok()) return UsageFailure(c, t.status());
    *request.mutable_starts_at() = ToProtoTime(*t);
  }
  if (c.cl.Has("soft-close")) {
    absl::StatusOr<v1::SoftClose> soft_close = ParseSoftClose(*c.cl.Get("soft-close"));
    if (!soft_close.ok()) return UsageFailure(c, soft_close.status());
    *request.mutable_soft_close() = *soft_close;
  }
  if (c.cl.Has("increment")) {
    absl::StatusOr<std::vector<v1::IncrementStep>> steps =
        ParseIncrementTable(*c.cl.Get("increment"), currency);
    if (!steps.ok()) return UsageFailure(c, steps.status());
    for (v1::IncrementStep& s : *steps) *request.add_increment_table() = std::move(s);
  }
  if (c.cl.Has("decrement")) {
    absl::StatusOr<int64_t> amount = FlagAmount(c, "decrement", currency);
    if (!amount.ok()) return UsageFailure(c, amount.status());
    request.mutable_dutch()->set_decrement_minor(*amount);
  }
  if (c.cl.Has("tick")) {
    absl::StatusOr<absl::Duration> d = ParseFlagDuration("--tick", *c.cl.Get("tick"));
    if (!d.ok()) return UsageFailure(c, d.status());
    *request.mutable_dutch()->mutable_tick_interval() = ToProtoDuration(*d);
  }
  if (c.cl.Has("floor")) {
    absl::StatusOr<int64_t> amount = FlagAmount(c, "floor", currency);
    if (!amount.ok()) return UsageFailure(c, amount.status());
    request.mutable_dutch()->set_floor_price_minor(*amount);
  }

  v1::Auction auction;
  grpc::Status status = c.client.CreateAuction(request, &auction);
  if (!status.ok()) return RpcFailure(c, status, "--request-id", request.request_id());
  if (c.json) {
    if (!WriteJson(c, auction, request.request_id())) return kExitRpcError;
  } else {
    PrintAuction(auction, c.out, {{"request id", request.request_id()}});
  }
  return kExitOk;
}

int AuctionShow(Context& c) {
  v1::Auction auction;
  grpc::Status status = FetchAuction(c, c.cl.positionals[0], &auction);
  if (!status.ok()) return RpcFailure(c, status);
  if (c.json) {
    if (!WriteJson(c, auction)) return kExitRpcError;
  } else {
    PrintAuction(auction, c.out);
  }
  return kExitOk;
}

// Prints a list response: JSON, or a table plus the hint for more pages.
template <typename Response, typename PrintTable>
int PrintList(Context& c, const grpc::Status& status, const Response& all, PrintTable print_table) {
  if (!status.ok()) return RpcFailure(c, status);
  if (c.json) {
    if (!WriteJson(c, all)) return kExitRpcError;
  } else {
    print_table(all);
    PrintMoreHint(c, all.next_page_token());
  }
  return kExitOk;
}

int PrintAuctionList(Context& c, const grpc::Status& status, const v1::ListAuctionsResponse& all) {
  return PrintList(c, status, all, [&](const v1::ListAuctionsResponse& r) {
    PrintAuctionTable(r.auctions(), c.out);
  });
}

int AuctionList(Context& c) {
  v1::ListAuctionsRequest request;
  for (absl::Status st :
       {ReadPaging(c, &request),
        ReadOptional(c, "state", ParseStateName, [&](v1::AuctionState v) { request.set_state(v); }),
        ReadOptional(c, "format", ParseFormatName, [&](v1::Format v) { request.set_format(v); })}) {
    if (!st.ok()) return UsageFailure(c, st);
  }
  request.set_seller_id(c.cl.GetOr("seller", ""));
  v1::ListAuctionsResponse all;
  grpc::Status status = FetchPages<v1::ListAuctionsRequest, v1::ListAuctionsResponse>(
      c, request,
      [&](const v1::ListAuctionsRequest& r, v1::ListAuctionsResponse* page) {
        return c.client.ListAuctions(r, page);
      },
      &all);
  return PrintAuctionList(c, status, all);
}

int AuctionMine(Context& c) {
  v1::ListMyAuctionsRequest request;
  for (absl::Status st :
       {ReadPaging(c, &request), ReadOptional(c, "state", ParseStateName, [&](v1::AuctionState v) {
          request.set_state(v);
        })}) {
    if (!st.ok()) return UsageFailure(c, st);
  }
  v1::ListAuctionsResponse all;
  grpc::Status status = FetchPages<v1::ListMyAuctionsRequest, v1::ListAuctionsResponse>(
      c, request,
      [&](const v1::ListMyAuctionsRequest& r, v1::ListAuctionsResponse* page) {
        return c.client.ListMyAuctions(r, page);
      },
      &all);
  return PrintAuctionList(c, status, all);
}

int AuctionCancel(Context& c) {
  v1::CancelAuctionRequest request;
  request.set_request_id(c.cl.Has("request-id") ? *c.cl.Get("request-id") : c.env.new_request_id());
  request.set_auction_id(c.cl.positionals[0]);
  v1::Auction auction;
  grpc::Status status = c.client.CancelAuction(request, &auction);
  if (!status.ok()) return RpcFailure(c, status, "--request-id", request.request_id());
  if (c.json) {
    if (!WriteJson(c, auction, request.request_id())) return kExitRpcError;
  } else {
    PrintAuction(auction, c.out, {{"request id", request.request_id()}});
  }
  return kExitOk;
}

// Sends a bid or an order and prints the answer (`describe` makes the human
// line). A refused bid exits kExitRefused, so scripts can tell.
template <typename Describe>
int SendBid(Context& c, const v1::PlaceBidRequest& request, Describe describe) {
  v1::PlaceBidResponse response;
  grpc::Status status = c.client.PlaceBid(request, &response);
  if (!status.ok()) return RpcFailure(c, status, "--id", request.client_bid_id());
  if (response.auction_id().empty()) response.set_auction_id(request.auction_id());
  if (response.client_bid_id().empty()) response.set_client_bid_id(request.client_bid_id());
  if (c.json) {
    if (!WriteJson(c, response)) return kExitRpcError;
  } else {
    c.out << describe(response) << "\n";
  }
  return response.outcome() == v1::ACCEPTED ? kExitOk : kExitRefused;
}

int Bid(Context& c) {
  const std::string& auction_id = c.cl.positionals[0];
  v1::PlaceBidRequest request;
  request.set_auction_id(auction_id);
  request.set_client_bid_id(c.cl.Has("id") ? *c.cl.Get("id") : c.env.new_request_id());
  if (c.cl.Has("quantity")) {
    absl::StatusOr<int64_t> quantity =
        ParseFlagCount("--quantity", *c.cl.Get("quantity"), gavel::kMaxQuantity);
    if (!quantity.ok()) return UsageFailure(c, quantity.status());
    request.set_quantity(*quantity);
  }

  v1::Auction auction;
  grpc::Status status = FetchAuction(c, auction_id, &auction);
  if (!status.ok()) return RpcFailure(c, status);
  const v1::Format format = auction.spec().format();
  if (IsDouble(format)) {
    return UsageFailure(c, absl::StrCat("auction ", auction_id, " is a ", FormatName(format),
                                        " auction: place orders with 'gavel order ", auction_id,
                                        " buy|sell QTY @ PRICE'"));
  }
  if (c.cl.positionals.size() > 1) {
    absl::StatusOr<int64_t> amount = ParseAmount(c.cl.positionals[1], auction.spec().currency());
    if (!amount.ok()) return UsageFailure(c, amount.status());
    request.set_amount_minor(*amount);
  } else if (format != v1::DUTCH) {
    return UsageFailure(c,
                        "missing argument AMOUNT (only a Dutch auction takes a bid without one)");
  }

  return SendBid(c, request, [&](const v1::PlaceBidResponse& response) {
    return BidResult(request, response, auction);
  });
}

int Order(Context& c) {
  const std::vector<std::string>& p = c.cl.positionals;
  const std::string& auction_id = p[0];
  absl::StatusOr<v1::Side> side = ParseSideName(p[1]);
  if (!side.ok()) return UsageFailure(c, side.status());
  absl::StatusOr<int64_t> quantity = ParseFlagCount("QTY", p[2], gavel::kMaxQuantity);
  if (!quantity.ok()) return UsageFailure(c, quantity.status());
  if (p[3] != "@") {
    return UsageFailure(c, absl::StrCat("expected '@' between QTY and PRICE, not '", p[3],
                                        "' (like: gavel order A1 buy 10 @ 12.50)"));
  }

  v1::Auction auction;
  grpc::Status status = FetchAuction(c, auction_id, &auction);
  if (!status.ok()) return RpcFailure(c, status);
  if (!IsDouble(auction.spec().format())) {
    return UsageFailure(
        c, absl::StrCat("auction ", auction_id, " is ", FormatName(auction.spec().format()),
                        ", not a double auction: bid with 'gavel bid ", auction_id, " AMOUNT'"));
  }
  const std::string& currency = auction.spec().currency();
  absl::StatusOr<int64_t> price = ParseAmount(p[4], currency);
  if (!price.ok()) return UsageFailure(c, price.status());

  v1::PlaceBidRequest request;
  request.set_auction_id(auction_id);
  request.set_client_bid_id(c.cl.Has("id") ? *c.cl.Get("id") : c.env.new_request_id());
  request.set_side(*side);
  request.set_quantity(*quantity);
  request.set_amount_minor(*price);
  request.set_immediate_or_cancel(c.cl.Has("ioc"));

  return SendBid(c, request, [&](const v1::PlaceBidResponse& response) {
    return OrderResult(request, response, currency);
  });
}

int OrderCancel(Context& c) {
  v1::CancelBidRequest request;
  request.set_request_id(c.cl.Has("request-id") ? *c.cl.Get("request-id") : c.env.new_request_id());
  request.set_auction_id(c.cl.positionals[0]);
  request.set_bid_id(c.cl.positionals[1]);
  v1::CancelBidResponse response;
  grpc::Status status = c.client.CancelBid(request, &response);
  if (!status.ok()) return RpcFailure(c, status, "--request-id", request.request_id());
  // A resent request_id answers about the first request's order.
  const std::string& order = response.bid_id().empty() ? request.bid_id() : response.bid_id();
  if (c.json) {
    if (!WriteJson(c, response, request.request_id())) return kExitRpcError;
  } else if (response.cancelled()) {
    c.out << "CANCELLED: " << response.quantity_cancelled() << " cancelled (order " << order << ")";
    if (!response.message().empty()) c.out << ": " << response.message();
    c.out << "\n";
  } else {
    c.out << "NOT CANCELLED (order " << order << ")";
    if (!response.message().empty()) c.out << ": " << response.message();
    c.out << "\n";
  }
  return response.cancelled() ? kExitOk : kExitRefused;
}

int Watch(Context& c) {
  const std::string& auction_id = c.cl.positionals[0];
  v1::WatchAuctionRequest request;
  request.set_auction_id(auction_id);
  if (c.cl.Has("from")) {
    absl::StatusOr<uint64_t> from = ParseFlagSequence("--from", *c.cl.Get("from"));
    if (!from.ok()) return UsageFailure(c, from.status());
    request.set_from_sequence(*from);
  }
  std::string currency;
  if (!c.json) {  // human lines need the currency; JSON carries minor units as they are
    v1::Auction auction;
    grpc::Status status = FetchAuction(c, auction_id, &auction);
    if (!status.ok()) return RpcFailure(c, status);
    currency = auction.spec().currency();
  }
  bool printed = true;
  grpc::Status status = c.client.WatchAuction(request, [&](const v1::AuctionEvent& event) {
    if (c.json) {
      printed = WriteJson(c, event);
    } else {
      c.out << EventLine(event, currency) << std::endl;  // flush: a pipe sees each event live
    }
    return printed;
  });
  if (!status.ok()) return RpcFailure(c, status);
  return printed ? kExitOk : kExitRpcError;
}

int AuditList(Context& c) {
  v1::ListSettlementsRequest request;
  request.set_seller_id(c.cl.GetOr("seller", ""));
  auto after = [](const std::string& v) { return ParseFlagTime("--after", v); };
  auto before = [](const std::string& v) { return ParseFlagTime("--before", v); };
  for (absl::Status st :
       {ReadPaging(c, &request),
        ReadOptional(c, "format", ParseFormatName, [&](v1::Format v) { request.set_format(v); }),
        ReadOptional(c, "outcome", ParseOutcomeName,
                     [&](v1::SettlementOutcome v) { request.set_outcome(v); }),
        ReadOptional(c, "after", after,
                     [&](absl::Time t) { *request.mutable_closed_after() = ToProtoTime(t); }),
        ReadOptional(c, "before", before,
                     [&](absl::Time t) { *request.mutable_closed_before() = ToProtoTime(t); })}) {
    if (!st.ok()) return UsageFailure(c, st);
  }
  v1::ListSettlementsResponse all;
  grpc::Status status = FetchPages<v1::ListSettlementsRequest, v1::ListSettlementsResponse>(
      c, request,
      [&](const v1::ListSettlementsRequest& r, v1::ListSettlementsResponse* page) {
        return c.client.ListSettlements(r, page);
      },
      &all);
  return PrintList(c, status, all, [&](const v1::ListSettlementsResponse& r) {
    PrintSettlementTable(r.settlements(), c.out);
  });
}

int AuditShow(Context& c) {
  v1::GetSettlementRequest request;
  request.set_auction_id(c.cl.positionals[0]);
  v1::Settlement settlement;
  grpc::Status status = c.client.GetSettlement(request, &settlement);
  if (!status.ok()) return RpcFailure(c, status);
  if (c.json) {
    if (!WriteJson(c, settlement)) return kExitRpcError;
  } else {
    PrintSettlement(settlement, c.out);
  }
  return kExitOk;
}

int AuditVerify(Context& c) {
  v1::VerifySettlementRequest request;
  request.set_auction_id(c.cl.positionals[0]);
  v1::VerifySettlementResponse response;
  grpc::Status status = c.client.VerifySettlement(request, &response);
  if (!status.ok()) return RpcFailure(c, status);
  if (c.json) {
    if (!WriteJson(c, response)) return kExitRpcError;
  } else if (response.valid()) {
    c.out << "VALID: auction " << request.auction_id() << ", final hash "
          << response.recomputed_final_hash() << "\n";
  } else {
    c.out << "INVALID: auction " << request.auction_id();
    if (!response.message().empty()) c.out << ": " << response.message();
    c.out << "\n";
    Details d;
    if (response.first_bad_sequence() >= 0) {
      d.Add("first bad sequence", absl::StrCat(response.first_bad_sequence()));
    }
    d.Add("stored final hash", response.stored_final_hash());
    d.Add("recomputed", response.recomputed_final_hash());
    d.Print(c.out);
  }
  return response.valid() ? kExitOk : kExitInvalid;
}

// ---- The command table ----

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"server", "HOST:PORT", "the server (default 127.0.0.1:50051, or $GAVEL_SERVER)"},
      {"token", "T", "bearer token (default $GAVEL_TOKEN)"},
      {"json", "", "print responses as JSON (proto3 mapping), one object per line"},
      {"timeout", "DURATION", "deadline for each call (default 10s; a watch has none)"},
      {"help", "", "show help (also -h)"},
  };
  return *kFlags;
}

// Flags several commands share.
FlagSpec PageSizeFlag() {
  return {"page-size", "N", "results per page (the server's default: 50)"};
}
FlagSpec PageTokenFlag() { return {"page-token", "T", "continue from a previous page"}; }
FlagSpec AllFlag() { return {"all", "", "follow page tokens to the end"}; }
FlagSpec StateFlag() {
  return {"state", "S", "only this state: scheduled, open, closed, settled, cancelled"};
}
FlagSpec FormatFlag() {
  return {"format", "F", "only this format (see 'gavel help auction create')"};
}
FlagSpec RequestIdFlag() {
  return {"request-id", "ID", "idempotency key (default: random); repeat it to retry safely"};
}

struct Command {
  CommandSpec spec;
  Handler handler;
};

const std::vector<Command>& CommandTable() {
  static const auto* const kCommands = new std::vector<Command>{
      {{.name = "auction create",
        .summary = "List an item for sale; prints the new auction.",
        .flags =
            {
                {"title", "T", "the item's title", true},
                {"description", "D", "the item's description"},
                {"category", "C", "the item's category"},
                {"format", "F", "the auction format (default english; listed below)"},
                {"currency", "CODE", "ISO 4217 currency (default EUR)"},
                {"start", "AMOUNT", "start price; the reference price of a double auction", true},
                {"reserve", "AMOUNT", "hidden reserve price (default none)"},
                {"buy-now", "AMOUNT", "buy-it-now price (default none)"},
                {"duration", "DURATION", "how long it runs, like 2m or 1h30m"},
                {"ends-at", "TIME", "when it closes, RFC 3339 (instead of --duration)"},
                {"starts-at", "TIME", "when it opens, RFC 3339 (default now)"},
                {"soft-close", "WINDOW,EXTENSION,CAP",
                 "a bid within WINDOW of the end extends it by EXTENSION,\n"
                 "by CAP in all; like 30s,30s,5m (default: hard close)"},
                {"increment", "FROM:STEP,...", "increment table, like 0:0.50,100:1.00"},
                {"quantity", "N", "units for sale (default 1)"},
                {"decrement", "AMOUNT", "Dutch: how much the price drops per tick"},
                {"tick", "DURATION", "Dutch: time between drops"},
                {"floor", "AMOUNT", "Dutch: the lowest price"},
                RequestIdFlag(),
            },
        .details =
            "Formats: english, dutch, sealed-first-price, sealed-second-price (or vickrey),\n"
            "multi-unit-uniform, multi-unit-pay-as-bid, reverse-english, reverse-sealed,\n"
            "double-continuous, double-call (any case; '-' or '_').\n"
            "Amounts are decimals in --currency (12.50). Give exactly one of --duration and\n"
            "--ends-at. A Dutch auction's clock takes --decrement, --tick and --floor.\n"
            "Example: gavel auction create --title 'Vintage lamp' --start 10.00 --duration 2m"},
       &AuctionCreate},
      {{.name = "auction show",
        .positionals = {"A"},
        .min_positionals = 1,
        .summary = "Show auction A."},
       &AuctionShow},
      {{.name = "auction list",
        .summary = "List auctions.",
        .flags = {StateFlag(),
                  FormatFlag(),
                  {"seller", "S", "only this seller's auctions"},
                  PageSizeFlag(),
                  PageTokenFlag(),
                  AllFlag()}},
       &AuctionList},
      {{.name = "auction mine",
        .summary = "List your own auctions (seller).",
        .flags = {StateFlag(), PageSizeFlag(), PageTokenFlag(), AllFlag()}},
       &AuctionMine},
      {{.name = "auction cancel",
        .positionals = {"A"},
        .min_positionals = 1,
        .summary = "Cancel your auction A while it has no accepted bid.",
        .flags = {RequestIdFlag()}},
       &AuctionCancel},
      {{.name = "bid",
        .positionals = {"A", "AMOUNT"},
        .min_positionals = 1,
        .summary = "Bid AMOUNT (in the auction's currency) on auction A.",
        .flags = {{"quantity", "N", "units wanted (default 1)"},
                  {"id", "CLIENT_BID_ID",
                   "idempotency key (default: random); repeat it to retry safely"}},
        .details = "English: AMOUNT is your maximum; the server raises your bid for you up to it.\n"
                   "Sealed formats: AMOUNT is your bid. Dutch: leave AMOUNT out to take the\n"
                   "current price. Prints ACCEPTED: ... or REJECTED (REASON): ...; a rejected\n"
                   "bid exits with code 3."},
       &Bid},
      {{.name = "order",
        .positionals = {"A", "buy|sell", "QTY", "@", "PRICE"},
        .min_positionals = 5,
        .summary = "Place a limit order in double auction A.",
        .flags = {{"ioc", "", "immediate or cancel: what does not fill at once is cancelled"},
                  {"id", "CLIENT_BID_ID",
                   "idempotency key (default: random); repeat it to retry safely"}},
        .details = "Example: gavel order A1 buy 10 @ 12.50 (PRICE is the limit, in the auction's\n"
                   "currency). Prints ACCEPTED with the fills and what rests, or\n"
                   "REJECTED (REASON): ...; a rejected order exits with code 3."},
       &Order},
      {{.name = "order cancel",
        .positionals = {"A", "BID_ID"},
        .min_positionals = 2,
        .summary = "Cancel your resting order BID_ID in auction A.",
        .flags = {RequestIdFlag()},
        .details = "Exits with code 3 when nothing was cancelled."},
       &OrderCancel},
      {{.name = "watch",
        .positionals = {"A"},
        .min_positionals = 1,
        .summary = "Print auction A's events live until it closes.",
        .flags = {{"from", "SEQ", "replay from event sequence SEQ (default: new events only)"}},
        .details = "One line per event; exits 0 when the server ends the stream after the close."},
       &Watch},
      {{.name = "audit list",
        .summary = "List settlements (auditor).",
        .flags = {{"seller", "S", "only this seller's auctions"},
                  FormatFlag(),
                  {"outcome", "O", "sold, unsold-no-bids, unsold-reserve-not-met or cancelled"},
                  {"after", "TIME", "closed at or after TIME (RFC 3339)"},
                  {"before", "TIME", "closed before TIME (RFC 3339)"},
                  PageSizeFlag(),
                  PageTokenFlag(),
                  AllFlag()}},
       &AuditList},
      {{.name = "audit show",
        .positionals = {"A"},
        .min_positionals = 1,
        .summary = "Show a settlement: winners and bid log with hashes."},
       &AuditShow},
      {{.name = "audit verify",
        .positionals = {"A"},
        .min_positionals = 1,
        .summary = "Check auction A's audit hash chain.",
        .details = "Exits with code 4 when the chain does not check out."},
       &AuditVerify},
      {{.name = "help",
        .positionals = {"COMMAND"},
        .variadic = true,
        .summary = "Show help for all commands or for one."},
       nullptr},
  };
  return *kCommands;
}

const std::vector<CommandSpec>& CommandSpecs() {
  static const auto* const kSpecs = [] {
    auto* specs = new std::vector<CommandSpec>;
    for (const Command& c : CommandTable()) specs->push_back(c.spec);
    return specs;
  }();
  return *kSpecs;
}

Handler FindHandler(const CommandSpec& spec) {
  for (const Command& c : CommandTable()) {
    if (c.spec.name == spec.name) return c.handler;
  }
  return nullptr;
}

// "  gavel bid A [AMOUNT]    Bid AMOUNT ..." for each command whose name
// starts with `prefix`.
std::string CommandList(absl::string_view prefix) {
  Table t({{""}, {""}});
  for (const CommandSpec& c : CommandSpecs()) {
    if (!absl::StartsWith(c.name, prefix)) continue;
    std::string left = absl::StrCat("  gavel ", c.name);
    for (size_t i = 0; i < c.positionals.size(); ++i) {
      const bool optional = i >= c.min_positionals;
      absl::StrAppend(&left, " ", optional ? "[" : "", c.positionals[i],
                      c.variadic && i + 1 == c.positionals.size() ? "..." : "",
                      optional ? "]" : "");
    }
    t.AddRow({left, c.summary});
  }
  if (t.empty()) return "";
  std::ostringstream out;
  t.Print(out, /*header=*/false);
  return out.str();
}

std::string TopLevelHelp() {
  std::string out = absl::StrCat(
      "gavel: the Gavel auction command line\n"
      "\n"
      "usage: gavel [global flags] COMMAND [arguments] [flags]\n"
      "\n"
      "commands:\n",
      CommandList(""),
      "\nglobal flags (before or after the command; --flag VALUE or --flag=VALUE):\n");
  Table g({{""}, {""}});
  for (const FlagSpec& f : GlobalFlags()) {
    g.AddRow({absl::StrCat("  --", f.name, f.TakesValue() ? " " : "", f.value_name), f.help});
  }
  std::ostringstream globals;
  g.Print(globals, /*header=*/false);
  absl::StrAppend(&out, globals.str());
  out +=
      "\n"
      "environment: GAVEL_SERVER (default for --server), GAVEL_TOKEN (default for --token)\n"
      "\n"
      "Amounts are decimals in the auction's currency (12.50 EUR, 1250 JPY), never with\n"
      "thousands separators. Times are RFC 3339 (2024-05-01T12:00:00Z) and print in UTC.\n"
      "Durations look like 30s, 5m, 1h30m, 500ms.\n"
      "\n"
      "exit codes:\n"
      "  0  done\n"
      "  1  the server answered with an error, or could not be reached\n"
      "  2  usage error: bad command line or flag value\n"
      "  3  refused: a bid or order REJECTED, an order not cancelled\n"
      "  4  audit verify: the hash chain does not check out\n"
      "\n"
      "Run 'gavel help COMMAND' for a command's flags, e.g. 'gavel help auction create'.\n";
  return out;
}

// `gavel help [WORDS...]`, `gavel WORDS... --help`.
int Help(const std::vector<std::string>& words, std::ostream& out, std::ostream& err) {
  if (words.empty()) {
    out << TopLevelHelp();
    return kExitOk;
  }
  const std::string name = absl::StrJoin(words, " ");
  for (const CommandSpec& c : CommandSpecs()) {
    if (c.name == name) {
      out << CommandHelp(c, GlobalFlags());
      return kExitOk;
    }
  }
  // A group such as "auction": its subcommands.
  if (const std::string list = CommandList(name + " "); !list.empty()) {
    out << "gavel " << name << " commands:\n" << list;
    return kExitOk;
  }
  return UsageFailure(err, nullptr, absl::StrCat("unknown command '", name, "'"));
}

std::string RandomRequestId() {
  static std::random_device* const device = new std::random_device;
  std::uniform_int_distribution<uint64_t> dist;
  return absl::StrFormat("cli-%016x%016x", dist(*device), dist(*device));
}

}  // namespace

Environment RealEnvironment() {
  Environment env;
  env.get_env = [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  env.new_request_id = &RandomRequestId;
  env.connect = [](const std::string& server, const std::string& token,
                   std::optional<absl::Duration> timeout) {
    return std::make_unique<GavelClient>(server, token, timeout);
  };
  return env;
}

int Main(absl::Span<const std::string> args, const Environment& env, std::ostream& out,
         std::ostream& err) {
  if (args.empty()) {
    err << TopLevelHelp();
    return kExitUsage;
  }
  const CommandSpec* matched = nullptr;
  absl::StatusOr<CommandLine> cl = ParseCommandLine(args, GlobalFlags(), CommandSpecs(), &matched);
  if (!cl.ok()) return UsageFailure(err, matched, cl.status().message());
  if (cl->command == nullptr) return Help(cl->positionals, out, err);  // only --help was given
  const CommandSpec& spec = *cl->command;
  if (spec.name == "help") return Help(cl->positionals, out, err);
  if (cl->help) {
    out << CommandHelp(spec, GlobalFlags());
    return kExitOk;
  }

  std::string server(kDefaultServer);
  if (cl->Has("server")) {
    server = *cl->Get("server");
  } else if (std::optional<std::string> s = env.get_env("GAVEL_SERVER"); s && !s->empty()) {
    server = *s;
  }
  if (server.empty()) return UsageFailure(err, &spec, "--server is empty (use HOST:PORT)");

  std::string token;
  if (cl->Has("token")) {
    token = *cl->Get("token");
  } else if (std::optional<std::string> t = env.get_env("GAVEL_TOKEN"); t) {
    token = *t;
  }
  if (token.empty()) return UsageFailure(err, &spec, "no token: pass --token T or set GAVEL_TOKEN");

  absl::StatusOr<absl::Duration> timeout =
      ParseFlagDuration("--timeout", cl->GetOr("timeout", kDefaultTimeout));
  if (!timeout.ok()) return UsageFailure(err, &spec, timeout.status().message());

  std::unique_ptr<GavelClient> client = env.connect(server, token, *timeout);
  Context context{*cl, spec, env, *client, out, err, cl->Has("json")};
  return FindHandler(spec)(context);
}

}  // namespace gavel::cli
