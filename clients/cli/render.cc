#include "clients/cli/render.h"

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "clients/cli/table.h"
#include "clients/cli/values.h"
#include "engine/money.h"

namespace gavel::cli {
namespace {

using gavel::FormatAmount;

constexpr size_t kTitleWidth = 32;
constexpr size_t kWinnersWidth = 32;

bool IsSet(const google::protobuf::Timestamp& t) { return t.seconds() != 0 || t.nanos() != 0; }

std::string Plural(int64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::string Reserve(const v1::Auction& a) {
  const std::string& currency = a.spec().currency();
  if (a.spec().reserve_price_minor() > 0) {  // the seller's own view shows the amount
    return absl::StrCat(FormatAmount(a.spec().reserve_price_minor(), currency),
                        a.reserve_met() ? ", met" : ", not met");
  }
  // A sealed auction cannot tell before its close whether the reserve is met.
  if (a.has_reserve() && IsSealed(a.spec().format()) &&
      (a.state() == v1::OPEN || a.state() == v1::SCHEDULED)) {
    return "hidden";
  }
  if (a.has_reserve()) return a.reserve_met() ? "hidden, met" : "hidden, not met";
  return "none";
}

std::string BuyNow(const v1::Auction& a) {
  if (a.spec().buy_now_price_minor() <= 0) return "none";
  return absl::StrCat(FormatAmount(a.spec().buy_now_price_minor(), a.spec().currency()),
                      a.buy_now_available() ? " (available)" : " (no longer available)");
}

std::string SoftCloseText(const v1::AuctionSpec& spec) {
  if (!spec.has_soft_close()) return "none";
  const v1::SoftClose& s = spec.soft_close();
  return absl::StrCat("window ", FormatDuration(s.window()), ", extension ",
                      FormatDuration(s.extension()), ", cap ", FormatDuration(s.cap()));
}

std::string DutchText(const v1::AuctionSpec& spec) {
  if (!spec.has_dutch()) return "";
  const v1::DutchClock& d = spec.dutch();
  return absl::StrCat("-", FormatAmount(d.decrement_minor(), spec.currency()), " every ",
                      FormatDuration(d.tick_interval()), ", floor ",
                      FormatAmount(d.floor_price_minor(), spec.currency()));
}

std::string IncrementText(const v1::AuctionSpec& spec) {
  std::vector<std::string> steps;
  for (const v1::IncrementStep& s : spec.increment_table()) {
    steps.push_back(absl::StrCat("from ", FormatAmount(s.from_minor(), spec.currency()), " +",
                                 FormatAmount(s.step_minor(), spec.currency())));
  }
  return absl::StrJoin(steps, "; ");
}

std::string QuantityText(const v1::Auction& a) {
  const int64_t quantity = a.spec().quantity() == 0 ? 1 : a.spec().quantity();
  if (quantity == 1) return "1";
  return absl::StrCat(quantity, " (", a.quantity_remaining(), " remaining)");
}

const google::protobuf::Timestamp& EndsAt(const v1::Auction& a) {
  return IsSet(a.ends_at()) ? a.ends_at() : a.spec().ends_at();
}

const google::protobuf::Timestamp& StartsAt(const v1::Auction& a) {
  return IsSet(a.starts_at()) ? a.starts_at() : a.spec().starts_at();
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

bool Live(const v1::Auction& a) { return a.state() == v1::OPEN || a.state() == v1::SCHEDULED; }

// An ascending or descending open auction has no price before its first bid
// (the next minimum shows where bidding starts); a sealed one has none until
// its close.
std::string PriceText(const v1::Auction& a) {
  const v1::Format f = a.spec().format();
  if (a.bid_count() == 0 && (f == v1::ENGLISH || f == v1::REVERSE_ENGLISH)) return "-";
  if (IsSealed(f) && Live(a)) return "sealed";
  return FormatAmount(a.current_price_minor(), a.spec().currency());
}

// A running Dutch clock: when it next moves, and to what.
std::string NextTickText(const v1::Auction& a) {
  if (a.spec().format() != v1::DUTCH || !a.has_next_tick_at() || a.state() != v1::OPEN) return "";
  const v1::DutchClock& clock = a.spec().dutch();
  const int64_t next =
      std::max(clock.floor_price_minor(), a.current_price_minor() - clock.decrement_minor());
  return absl::StrCat(FormatTime(a.next_tick_at()), " (then ",
                      FormatAmount(next, a.spec().currency()), ")");
}

// "bob at 15.00 EUR", "bob, 2 at 15.00 EUR" or, for several,
// "bob (2 at 15.00 EUR), carol (1 at 14.00 EUR)".
std::string WinnersText(const google::protobuf::RepeatedPtrField<v1::Winner>& winners,
                        const std::string& currency) {
  if (winners.size() == 1) {
    const v1::Winner& w = winners[0];
    const std::string price = FormatAmount(w.price_minor(), currency);
    if (w.quantity() <= 1) return absl::StrCat(w.bidder_id(), " at ", price);
    return absl::StrCat(w.bidder_id(), ", ", w.quantity(), " at ", price);
  }
  std::vector<std::string> parts;
  for (const v1::Winner& w : winners) {
    parts.push_back(absl::StrCat(w.bidder_id(), " (", w.quantity() == 0 ? 1 : w.quantity(), " at ",
                                 FormatAmount(w.price_minor(), currency), ")"));
  }
  return absl::StrJoin(parts, ", ");
}

std::string ClosedText(const v1::Closed& closed, const std::string& currency) {
  switch (closed.outcome()) {
    case v1::SOLD: {
      std::string text = "SOLD";
      if (!closed.winners().empty()) {
        absl::StrAppend(&text, " to ", WinnersText(closed.winners(), currency));
      } else if (closed.clearing_price_minor() > 0) {
        absl::StrAppend(&text, " at ", FormatAmount(closed.clearing_price_minor(), currency));
      }
      return text;
    }
    case v1::UNSOLD_NO_BIDS:
      return "UNSOLD (no bids)";
    case v1::UNSOLD_RESERVE_NOT_MET:
      return "UNSOLD (reserve not met)";
    case v1::CANCELLED_BY_SELLER:
      return "CANCELLED by the seller";
    default:
      return absl::StrCat("outcome ", OutcomeName(closed.outcome()));
  }
}

// The price column of a settlement summary: the clearing price, else the
// only winner's price; several winners at different prices show "-".
std::string SettlementPrice(const v1::Settlement& s) {
  if (s.clearing_price_minor() > 0)
    return FormatAmount(s.clearing_price_minor(), s.spec().currency());
  if (s.winners_size() == 1) return FormatAmount(s.winners(0).price_minor(), s.spec().currency());
  return "-";
}

std::string SettlementWinners(const v1::Settlement& s) {
  if (IsDouble(s.spec().format())) return Plural(s.trades_size(), "trade", "trades");
  std::vector<std::string> names;
  for (const v1::Winner& w : s.winners()) names.push_back(w.bidder_id());
  return OrDash(Truncate(absl::StrJoin(names, ", "), kWinnersWidth));
}

// A double auction's price rows: the last trade (continuous); where the call
// would clear now, or where it cleared (call market).
void AddDoublePrices(const v1::Auction& a, Details* d) {
  const std::string& currency = a.spec().currency();
  if (a.spec().format() == v1::DOUBLE_CONTINUOUS) {
    d->Add("last trade", a.current_price_minor() > 0
                             ? FormatAmount(a.current_price_minor(), currency)
                             : std::string("-"));
    return;
  }
  const bool open = a.state() == v1::OPEN || a.state() == v1::SCHEDULED;
  const std::string clearing =
      a.indicative_volume() > 0
          ? absl::StrCat(FormatAmount(a.indicative_price_minor(), currency), ", volume ",
                         a.indicative_volume())
          : std::string(open ? "none (no buy and sell cross)" : "none (nothing traded)");
  d->Add(open ? "indicative" : "clearing price", clearing);
}

// A double auction's book: buy and sell levels side by side, the best
// prices on the first row.
void PrintBook(const v1::Auction& a, std::ostream& out) {
  if (a.buy_levels().empty() && a.sell_levels().empty()) {
    out << "\nbook: empty\n";
    return;
  }
  const std::string& currency = a.spec().currency();
  out << "\nbook:\n";
  using A = Table::Align;
  Table t({{"ORDERS", A::kRight},
           {"QTY", A::kRight},
           {"BUY", A::kRight},
           {"SELL", A::kRight},
           {"QTY", A::kRight},
           {"ORDERS", A::kRight}});
  const int rows = std::max(a.buy_levels_size(), a.sell_levels_size());
  for (int i = 0; i < rows; ++i) {
    std::vector<std::string> row(6);
    if (i < a.buy_levels_size()) {
      const v1::BookLevel& l = a.buy_levels(i);
      row[0] = absl::StrCat(l.orders());
      row[1] = absl::StrCat(l.quantity());
      row[2] = FormatAmount(l.price_minor(), currency);
    }
    if (i < a.sell_levels_size()) {
      const v1::BookLevel& l = a.sell_levels(i);
      row[3] = FormatAmount(l.price_minor(), currency);
      row[4] = absl::StrCat(l.quantity());
      row[5] = absl::StrCat(l.orders());
    }
    t.AddRow(std::move(row));
  }
  t.Print(out);
}

}  // namespace

bool IsSealed(v1::Format format) {
  switch (format) {
    case v1::SEALED_FIRST_PRICE:
    case v1::SEALED_SECOND_PRICE:
    case v1::MULTI_UNIT_UNIFORM:
    case v1::MULTI_UNIT_PAY_AS_BID:
    case v1::REVERSE_SEALED:
      return true;
    default:
      return false;
  }
}

bool IsDouble(v1::Format format) {
  return format == v1::DOUBLE_CONTINUOUS || format == v1::DOUBLE_CALL;
}

void PrintAuction(const v1::Auction& a, std::ostream& out,
                  const std::vector<std::pair<std::string, std::string>>& extra) {
  const v1::AuctionSpec& spec = a.spec();
  const std::string& currency = spec.currency();
  Details d;
  d.Add("auction", a.auction_id());
  d.Add("title", spec.item().title());
  d.Add("description", spec.item().description());
  d.Add("category", spec.item().category());
  d.Add("seller", a.seller_id());
  d.Add("format", FormatName(spec.format()));
  d.Add("state", StateName(a.state()));
  d.Add("currency", currency);
  if (!IsDouble(spec.format())) d.Add("quantity", QuantityText(a));
  d.Add(IsDouble(spec.format()) ? "reference price" : "start price",
        FormatAmount(spec.start_price_minor(), currency));
  if (IsDouble(spec.format())) {
    AddDoublePrices(a, &d);
  } else if (IsSealed(spec.format()) && Live(a)) {
    // Sealed: while it runs, only the number of bids is public.
    d.Add("current price", "sealed until the close");
  } else {
    // A Dutch auction over with units sold shows the last price paid.
    const bool paid = spec.format() == v1::DUTCH && !Live(a) && a.bid_count() > 0;
    d.Add(paid ? "last price paid" : "current price", PriceText(a));
    d.Add("next tick", NextTickText(a));
    d.Add("leader", a.leading_bidder_id());
  }
  d.Add("bids", absl::StrCat(a.bid_count()));
  if (a.next_minimum_bid_minor() > 0 && spec.format() != v1::DUTCH) {
    // Reverse formats: the same field holds the most a bid may be.
    const bool reverse =
        spec.format() == v1::REVERSE_ENGLISH || spec.format() == v1::REVERSE_SEALED;
    d.Add(reverse ? "next maximum" : "next minimum",
          FormatAmount(a.next_minimum_bid_minor(), currency));
  }
  if (!IsDouble(spec.format())) {
    d.Add("reserve", Reserve(a));
    d.Add("buy now", BuyNow(a));
  }
  d.Add("starts at", FormatTime(StartsAt(a)));
  d.Add("ends at", FormatTime(EndsAt(a)));
  d.Add("soft close", SoftCloseText(spec));
  d.Add("dutch clock", DutchText(spec));
  d.Add("increments", IncrementText(spec));
  d.Add("sequence", absl::StrCat(a.sequence()));
  for (const auto& [key, value] : extra) d.Add(key, value);
  d.Print(out);
  if (IsDouble(spec.format())) PrintBook(a, out);
}

void PrintAuctionTable(const google::protobuf::RepeatedPtrField<v1::Auction>& auctions,
                       std::ostream& out) {
  if (auctions.empty()) {
    out << "no auctions\n";
    return;
  }
  using A = Table::Align;
  Table t({{"AUCTION"},
           {"TITLE"},
           {"SELLER"},
           {"FORMAT"},
           {"STATE"},
           {"PRICE", A::kRight},
           {"BIDS", A::kRight},
           {"LEADER"},
           {"ENDS AT (UTC)"}});
  for (const v1::Auction& a : auctions) {
    t.AddRow({a.auction_id(), Truncate(a.spec().item().title(), kTitleWidth), a.seller_id(),
              FormatName(a.spec().format()), StateName(a.state()),
              PriceText(a), absl::StrCat(a.bid_count()), OrDash(a.leading_bidder_id()),
              FormatTime(EndsAt(a))});
  }
  t.Print(out);
}

void PrintSettlement(const v1::Settlement& s, std::ostream& out) {
  const std::string& currency = s.spec().currency();
  Details d;
  d.Add("auction", s.auction_id());
  d.Add("title", s.spec().item().title());
  d.Add("seller", s.seller_id());
  d.Add("format", FormatName(s.spec().format()));
  d.Add("outcome", OutcomeName(s.outcome()));
  d.Add("currency", currency);
  if (s.clearing_price_minor() > 0) {
    d.Add("clearing price", FormatAmount(s.clearing_price_minor(), currency));
  }
  d.Add("listed at", FormatTime(s.created_at()));
  d.Add("closed at", FormatTime(s.closed_at()));
  d.Add("spec hash", s.spec_hash());
  d.Add("final hash", s.final_hash());
  d.Print(out);

  using A = Table::Align;
  if (!s.winners().empty()) {
    out << "\nwinners:\n";
    Table t({{"BIDDER"}, {"QTY", A::kRight}, {"PRICE", A::kRight}, {"BID"}});
    for (const v1::Winner& w : s.winners()) {
      t.AddRow({w.bidder_id(), absl::StrCat(w.quantity()), FormatAmount(w.price_minor(), currency),
                OrDash(w.bid_id())});
    }
    t.Print(out);
  }
  if (!s.trades().empty()) {
    out << "\ntrades:\n";
    Table t({{"BUYER"},
             {"SELLER"},
             {"QTY", A::kRight},
             {"PRICE", A::kRight},
             {"BUY BID"},
             {"SELL BID"}});
    for (const v1::Trade& tr : s.trades()) {
      t.AddRow({tr.buyer_id(), tr.seller_id(), absl::StrCat(tr.quantity()),
                FormatAmount(tr.price_minor(), currency), tr.buy_bid_id(), tr.sell_bid_id()});
    }
    t.Print(out);
  }
  out << "\nbids:\n";
  if (s.bids().empty()) {
    out << "no bids\n";
    return;
  }
  const bool sided = IsDouble(s.spec().format());
  std::vector<Table::Column> columns = {{"SEQ", A::kRight}, {"AT (UTC)"}, {"BID"}, {"BIDDER"}};
  if (sided) columns.push_back({"SIDE"});
  columns.insert(columns.end(), {{"AMOUNT", A::kRight}, {"QTY", A::kRight}, {"RESULT"}, {"HASH"}});
  Table t(std::move(columns));
  for (const v1::BidRecord& b : s.bids()) {
    std::vector<std::string> row = {absl::StrCat(b.sequence()), FormatTime(b.at()), b.bid_id(),
                                    b.bidder_id()};
    if (sided) row.push_back(SideName(b.side()));
    row.insert(row.end(), {FormatAmount(b.amount_minor(), currency), absl::StrCat(b.quantity()),
                           b.result(), b.hash()});
    t.AddRow(std::move(row));
  }
  t.Print(out);
}

void PrintSettlementTable(const google::protobuf::RepeatedPtrField<v1::Settlement>& settlements,
                          std::ostream& out) {
  if (settlements.empty()) {
    out << "no settlements\n";
    return;
  }
  using A = Table::Align;
  Table t({{"AUCTION"},
           {"TITLE"},
           {"SELLER"},
           {"FORMAT"},
           {"OUTCOME"},
           {"PRICE", A::kRight},
           {"WINNERS"},
           {"CLOSED AT (UTC)"}});
  for (const v1::Settlement& s : settlements) {
    t.AddRow({s.auction_id(), Truncate(s.spec().item().title(), kTitleWidth), s.seller_id(),
              FormatName(s.spec().format()), OutcomeName(s.outcome()), SettlementPrice(s),
              SettlementWinners(s), FormatTime(s.closed_at())});
  }
  t.Print(out);
}

std::string BidResult(const v1::PlaceBidRequest& request, const v1::PlaceBidResponse& response,
                      const v1::Auction& auction) {
  const std::string& currency = auction.spec().currency();
  if (response.outcome() != v1::ACCEPTED) {
    std::string line =
        response.outcome() == v1::REJECTED
            ? absl::StrCat("REJECTED (", RejectReasonName(response.reject_reason()), ")")
            : absl::StrCat("UNKNOWN OUTCOME (", static_cast<int>(response.outcome()), ")");
    if (!response.message().empty()) absl::StrAppend(&line, ": ", response.message());
    return line;
  }
  std::string line = "ACCEPTED: ";
  const bool sealed = IsSealed(auction.spec().format());
  if (sealed) {
    absl::StrAppend(&line, "sealed bid of ", FormatAmount(request.amount_minor(), currency));
    if (request.quantity() > 1) absl::StrAppend(&line, " for ", request.quantity());
    absl::StrAppend(&line, " recorded");
  } else if (auction.spec().format() == v1::DUTCH && response.fills_size() > 0) {
    // The fills say how many units the clock sold (maybe fewer than asked).
    int64_t bought = 0;
    for (const v1::Fill& f : response.fills()) bought += f.quantity();
    absl::StrAppend(&line, "you bought ", bought, " at ",
                    FormatAmount(response.fills(0).price_minor(), currency));
  } else if (response.leading()) {
    absl::StrAppend(&line, "you are leading at ",
                    FormatAmount(response.current_price_minor(), currency));
  } else {
    absl::StrAppend(&line, "you are not leading; the price is ",
                    FormatAmount(response.current_price_minor(), currency));
  }
  absl::StrAppend(&line, " (bid ", response.bid_id(), ")");
  // When leading, the first line says it all; otherwise the server's words say
  // why (a sealed bid never leads: there is nothing more to say).
  if (!sealed && !response.leading() && !response.message().empty()) {
    absl::StrAppend(&line, "\n  ", response.message());
  }
  return line;
}

std::string OrderResult(const v1::PlaceBidRequest& request, const v1::PlaceBidResponse& response,
                        const std::string& currency) {
  if (response.outcome() != v1::ACCEPTED) {
    std::string line = absl::StrCat("REJECTED (", RejectReasonName(response.reject_reason()), ")");
    if (!response.message().empty()) absl::StrAppend(&line, ": ", response.message());
    return line;
  }
  const int64_t quantity = request.quantity() == 0 ? 1 : request.quantity();
  int64_t filled = 0;
  for (const v1::Fill& f : response.fills()) filled += f.quantity();
  std::string line = absl::StrCat("ACCEPTED: ", SideName(request.side()), " ", quantity, " @ ",
                                  FormatAmount(request.amount_minor(), currency), " (order ",
                                  response.bid_id(), "): ");
  std::vector<std::string> parts;
  if (filled > 0) parts.push_back(absl::StrCat("filled ", filled));
  if (quantity > filled) {
    parts.push_back(request.immediate_or_cancel()
                        ? absl::StrCat(quantity - filled, " cancelled (immediate or cancel)")
                        : absl::StrCat(quantity - filled, " resting"));
  }
  absl::StrAppend(&line, absl::StrJoin(parts, ", "));
  for (const v1::Fill& f : response.fills()) {
    absl::StrAppend(&line, "\n  fill: ", f.quantity(), " @ ",
                    FormatAmount(f.price_minor(), currency), " against ", f.counter_bid_id());
  }
  if (!response.message().empty()) absl::StrAppend(&line, "\n  ", response.message());
  return line;
}

std::string EventLine(const v1::AuctionEvent& e, const std::string& currency) {
  std::string line = absl::StrCat("#", e.sequence(), " ", FormatClock(e.at()), " ");
  switch (e.event_case()) {
    case v1::AuctionEvent::kBidAccepted: {
      const v1::BidAccepted& b = e.bid_accepted();
      absl::StrAppend(&line, "bid accepted");
      std::vector<std::string> parts;
      if (b.price_minor() > 0) parts.push_back(FormatAmount(b.price_minor(), currency));
      if (!b.leading_bidder_id().empty())
        parts.push_back(absl::StrCat("leader ", b.leading_bidder_id()));
      if (!parts.empty()) absl::StrAppend(&line, ": ", absl::StrJoin(parts, ", "));
      absl::StrAppend(&line, " (", Plural(b.bid_count(), "bid", "bids"), ")");
      break;
    }
    case v1::AuctionEvent::kPriceTick:
      absl::StrAppend(&line, "price now ", FormatAmount(e.price_tick().price_minor(), currency));
      break;
    case v1::AuctionEvent::kExtended:
      absl::StrAppend(&line, "extended to ", FormatTime(e.extended().new_ends_at()));
      break;
    case v1::AuctionEvent::kTrade: {
      const v1::Trade& t = e.trade();
      absl::StrAppend(&line, "trade: ", t.quantity(), " @ ",
                      FormatAmount(t.price_minor(), currency), ", ", OrDash(t.buyer_id()),
                      " buys from ", OrDash(t.seller_id()), " (", t.buy_bid_id(), " / ",
                      t.sell_bid_id(), ")");
      break;
    }
    case v1::AuctionEvent::kClosed:
      absl::StrAppend(&line, "closed: ", ClosedText(e.closed(), currency));
      break;
    case v1::AuctionEvent::kIndicative:
      absl::StrAppend(&line, "indicative: ", FormatAmount(e.indicative().price_minor(), currency),
                      ", volume ", e.indicative().volume());
      break;
    case v1::AuctionEvent::kStateChanged:
      absl::StrAppend(&line, "state: ", StateName(e.state_changed()));
      break;
    case v1::AuctionEvent::EVENT_NOT_SET:
      absl::StrAppend(&line, "(an event this gavel does not know)");
      break;
  }
  return line;
}

}  // namespace gavel::cli
